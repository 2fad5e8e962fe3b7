"""Addresses confirmed before a seat: the request, its mailed link, and its expiry.

An event that verifies addresses (:func:`~webinars.registrations.queries.verifies_email`)
decides no seat when someone registers: it keeps what they typed as a
:class:`~webinars.models.RegistrationRequest` and mails a link to the
address. Opening the link and confirming
(:func:`webinars.registrations.seats.confirm_address`) decides the seat, in
the order people confirm. Until then the request holds nothing, and after
:data:`LIFETIME` it is gone.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext

from ..core import clock, validation
from ..core.db import db
from ..core.errors import NotFound
from ..core.transactions import write_transaction
from ..models import RegistrationRequest
from . import mails

#: How long a mailed link can be confirmed.
LIFETIME = timedelta(hours=24)

#: Links waiting at once for one address at one event; more requests mail nothing.
MAX_WAITING = 3

#: Said for a link that is unknown, used or expired alike.
EXPIRED = lazy_gettext("This confirmation link has expired or was used already. Register "
                       "again on the event's page to get a new one.")


def request(event_id: int, applicant) -> RegistrationRequest | None:
    """Keep a registration request and mail its link, in the caller's write transaction.

    Every request has its own link, so the one the owner confirms carries
    the details they typed, not a stranger's. While :data:`MAX_WAITING`
    links for the address wait unconfirmed, a further request is neither
    kept nor mailed (None): whatever the doors' rate limits, a stranger
    repeating the form sends its owner a handful of mails a day, no more.
    """
    now = clock.now()
    waiting = db.session.scalar(sa.select(sa.func.count()).select_from(RegistrationRequest).where(
        RegistrationRequest.event_id == event_id,
        RegistrationRequest.email_key == applicant.email.lower(),
        RegistrationRequest.expires_at > now))
    if waiting >= MAX_WAITING:
        return None
    row = RegistrationRequest(
        event_id=event_id, token=secrets.token_urlsafe(32), name=applicant.name,
        email=applicant.email, email_key=applicant.email.lower(),
        organization=applicant.organization, country=applicant.country,
        timezone=applicant.timezone, language=applicant.language,
        answers=applicant.answers, created_at=now,
        expires_at=now + LIFETIME)
    db.session.add(row)
    db.session.flush()
    mails.address_check(row, hours=int(LIFETIME.total_seconds() // 3600))
    return row


def pending(token: str) -> RegistrationRequest:
    """The request behind a mailed link, while it can be confirmed; else NotFound."""
    row = None
    if validation.is_token(token):
        row = db.session.scalar(sa.select(RegistrationRequest).where(
            RegistrationRequest.token == token, RegistrationRequest.expires_at > clock.now()))
    if row is None:
        raise NotFound(str(EXPIRED))
    return row


def settle(event_id: int, email_key: str) -> None:
    """Forget every request for this address at this event: one confirmation answers them all."""
    db.session.execute(sa.delete(RegistrationRequest).where(
        RegistrationRequest.event_id == event_id, RegistrationRequest.email_key == email_key))


def forget_expired() -> int:
    """Delete the requests nobody confirmed in time (the scheduler's sweep); returns how many."""
    with write_transaction():
        return db.session.execute(sa.delete(RegistrationRequest).where(
            RegistrationRequest.expires_at <= clock.now())).rowcount
