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

from ..core import clock
from ..core.db import db
from ..core.errors import NotFound
from ..core.transactions import write_transaction
from ..models import RegistrationRequest
from . import mails

#: How long a mailed link can be confirmed.
LIFETIME = timedelta(hours=24)

#: Said for a link that is unknown, used or expired alike.
EXPIRED = lazy_gettext("This confirmation link has expired or was used already. Register "
                       "again on the event's page to get a new one.")


def request(event_id: int, applicant) -> RegistrationRequest:
    """Keep a registration request and mail its link, in the caller's write transaction.

    Every request has its own link, so the one the owner confirms carries
    the details they typed, not a stranger's; how often an address is
    mailed is bounded by the per-address limit on registrations
    (webinars.web.limits).
    """
    now = clock.now()
    row = RegistrationRequest(
        event_id=event_id, token=secrets.token_urlsafe(32), name=applicant.name,
        email=applicant.email, email_key=applicant.email.lower(),
        organization=applicant.organization, country=applicant.country,
        timezone=applicant.timezone, language=applicant.language, created_at=now,
        expires_at=now + LIFETIME)
    db.session.add(row)
    db.session.flush()
    mails.address_check(row, hours=int(LIFETIME.total_seconds() // 3600))
    return row


def pending(token: str) -> RegistrationRequest:
    """The request behind a mailed link, while it can be confirmed; else NotFound."""
    row = None
    if isinstance(token, str) and 16 <= len(token) <= 64:
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
