"""Reminders a person can stop: the one-click link of every reminder, and turning them back on.

Every reminder carries ``List-Unsubscribe`` (RFC 2369) with an https link
and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058): a
mail provider's button POSTs to the link and the registration's later
reminders stop; nothing else changes (the seat, the other mail). The link's
key is an HMAC of the registration under the app's secret key, so it needs
no column, cannot be guessed, and a forged or altered one changes nothing.
A GET of the link only asks (RFC 8058: a GET must not unsubscribe).
"""

from __future__ import annotations

import hashlib
import hmac

import sqlalchemy as sa
from flask import current_app

from ..core import clock, links
from ..core.db import db
from ..core.errors import NotFound
from ..core.transactions import write_transaction
from ..models import Registration, Reminder, ReminderStatus
from . import planning

#: The note of a reminder the registrant stopped.
STOPPED = "stopped by the registrant"


def key(registration_id: int, token: str) -> str:
    """The link's key for one registration: 32 hex digits of an HMAC-SHA256."""
    message = f"stop-reminders:{registration_id}:{token}".encode()
    return hmac.new(current_app.secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def link(registration: Registration) -> str:
    """The https link of the one-click stop."""
    return links.stop_reminders_url(registration.id, key(registration.id, registration.token))


def registration_for(registration_id: int, given: str) -> Registration:
    """The registration the link is for, if its key is right; NotFound otherwise."""
    # A number past PostgreSQL's integer is no row's (and would be its error, a 500).
    registration = db.session.get(Registration, registration_id) \
        if 0 < registration_id < 2**31 else None
    if registration is None or not hmac.compare_digest(
            key(registration.id, registration.token), str(given)[:64]):
        raise NotFound("No such link.")
    return registration


def stop(registration_id: int) -> None:
    """Stop the registration's reminders that have not gone yet (idempotent)."""
    with write_transaction():
        registration = db.session.get(Registration, registration_id)
        if registration.reminders_stopped_at is None:
            registration.reminders_stopped_at = clock.now()
        db.session.execute(sa.update(Reminder).where(
            Reminder.registration_id == registration_id,
            Reminder.status == ReminderStatus.PENDING).values(
            status=ReminderStatus.SKIPPED, note=STOPPED))


def resume(registration_id: int) -> None:
    """Send the registration's reminders again, those still ahead."""
    with write_transaction():
        registration = db.session.get(Registration, registration_id)
        registration.reminders_stopped_at = None
        db.session.execute(sa.update(Reminder).where(
            Reminder.registration_id == registration_id,
            Reminder.status == ReminderStatus.SKIPPED, Reminder.note == STOPPED,
            Reminder.due_at > clock.now()).values(status=ReminderStatus.PENDING, note=""))
        if registration.status == "confirmed":
            planning.plan(registration)
