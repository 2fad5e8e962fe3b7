"""A registrant's own data: everything held about them, and erasing it on request.

:func:`held_about` is what the registrant downloads (JSON). :func:`erase`
cancels the registration as a cancel would (a confirmed seat goes to the
first person waiting, in the same transaction) and removes what identifies
the person: the registration row keeps only what reports count (its status,
country, times and attendance), under a placeholder address; its mail
(outbox rows, and their files in instance/outbox/), reminders, certificate,
invitation and pending requests go. The audit trail records that an
erasure happened, not what was erased.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext

from .. import audit, locks
from ..core import timezones
from ..core.db import db
from ..core.errors import NotFound
from ..core.transactions import after_commit, write_transaction
from ..models import (
    Attendance,
    AuditEntry,
    Certificate,
    Invitation,
    OutboxMessage,
    Registration,
    RegistrationRequest,
    Reminder,
)
from . import seats

#: Who erased a registrant's data, when they did it themselves.
THE_REGISTRANT = "the registrant"


def _when(instant) -> str | None:
    return timezones.iso_utc(instant) if instant else None


def held_about(registration: Registration) -> dict:
    """Every field held about the person behind this registration, as JSON."""
    event = registration.event
    reminders = db.session.scalars(sa.select(Reminder).where(
        Reminder.registration_id == registration.id).order_by(Reminder.due_at))
    attendance = db.session.scalars(sa.select(Attendance).where(
        Attendance.registration_id == registration.id))
    mails = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.registration_id == registration.id).order_by(OutboxMessage.id))
    certificate = db.session.scalar(sa.select(Certificate).where(
        Certificate.registration_id == registration.id))
    invitation = db.session.scalar(sa.select(Invitation).where(
        Invitation.event_id == event.id, Invitation.email_key == registration.email_key))
    entries = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.event_id == event.id,
        AuditEntry.field.like(f"registrations[{registration.id}]%")).order_by(AuditEntry.at))
    return {
        "event": {"slug": event.slug, "title": event.title},
        "registration": {
            "name": registration.name, "email": registration.email,
            "organization": registration.organization, "country": registration.country,
            "timezone": registration.timezone, "language": registration.language,
            "answers": registration.answers or {}, "status": registration.status,
            "created_at": _when(registration.created_at),
            "queued_at": _when(registration.queued_at),
            "confirmed_at": _when(registration.confirmed_at),
            "cancelled_at": _when(registration.cancelled_at),
            "reminders_stopped_at": _when(registration.reminders_stopped_at),
        },
        "reminders": [{"session": r.session_id, "minutes_before": r.offset_minutes,
                       "due_at": _when(r.due_at), "status": r.status,
                       "sent_at": _when(r.sent_at)} for r in reminders],
        "attendance": [{"session": a.session_id, "checked_in": a.checked_in,
                        "minutes": a.minutes} for a in attendance],
        "mail": [{"kind": m.kind, "to": m.recipient, "created_at": _when(m.created_at),
                  "sent_at": _when(m.sent_at)} for m in mails],
        "certificate": None if certificate is None else {
            "code": certificate.code, "name": certificate.name,
            "issued_at": _when(certificate.issued_at)},
        "invitation": None if invitation is None else {
            "name": invitation.name, "email": invitation.email,
            "created_at": _when(invitation.created_at)},
        "history": [{"at": _when(e.at), "field": e.field, "old": e.old, "new": e.new}
                    for e in entries],
    }


def erase(registration_id: int, *, actor) -> None:
    """Cancel and erase one registration, in one transaction under the seat lock."""
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise NotFound(gettext("No such registration in this event."))
    event_id = registration.event_id
    with write_transaction(locks.seats(event_id)):
        registration = db.session.get(Registration, registration_id)
        seats.withdraw(registration, tell=False)
        key = registration.email_key
        files = [(row.id, row.kind) for row in db.session.execute(
            sa.delete(OutboxMessage).where(OutboxMessage.registration_id == registration_id)
            .returning(OutboxMessage.id, OutboxMessage.kind))]
        files += [(rid, "reminder") for rid in db.session.scalars(
            sa.delete(Reminder).where(Reminder.registration_id == registration_id)
            .returning(Reminder.id))]
        db.session.execute(sa.delete(Certificate).where(
            Certificate.registration_id == registration_id))
        for model in (Invitation, RegistrationRequest):
            db.session.execute(sa.delete(model).where(model.event_id == event_id,
                                                      model.email_key == key))
        placeholder = f"erased-{registration_id}@erased.invalid"
        registration.name, registration.email, registration.email_key = "", placeholder, \
            placeholder
        registration.organization, registration.answers = "", {}
        registration.timezone, registration.token = "UTC", secrets.token_urlsafe(24)
        audit.record(registration.event, f"registrations[{registration_id}]", "",
                     "erased on request", actor)
        folder = Path(current_app.instance_path) / "outbox"
        after_commit(lambda: _forget_files(folder, files))


def _forget_files(folder: Path, rows: list[tuple[int, str]]) -> None:
    """Delete the .eml copies instance/outbox/ keeps of the erased mail (no SMTP server)."""
    for row_id, kind in rows:
        for path in folder.glob(f"*-{row_id:07d}-{kind}.eml"):
            path.unlink(missing_ok=True)
