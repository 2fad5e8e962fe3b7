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
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext

from .. import audit, locks
from ..core import clock, timezones
from ..core.db import db
from ..core.errors import NotFound
from ..core.transactions import after_commit, end_read, write_transaction
from ..models import (
    Attendance,
    AuditEntry,
    Certificate,
    Event,
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
        db.session.execute(sa.delete(Certificate).where(
            Certificate.registration_id == registration_id))
        _forget([registration])
        audit.record(registration.event, f"registrations[{registration_id}]", "",
                     "erased on request", actor)


def _forget(registrations: list[Registration], others: set[str] = frozenset()) -> None:
    """Remove what identifies these people of one event, in the caller's transaction.

    Their rows keep status, country, times and attendance (what the counts
    need) under a placeholder address; their mail (outbox rows, whoever they
    went to under their address, and the .eml copies), reminders (whose notes
    may quote a mail server naming the address), invitations and requests go.
    ``others``: more addresses whose mail goes (invited people who never registered).
    """
    ids = [r.id for r in registrations]
    addresses = {r.email for r in registrations} | {r.email_key for r in registrations} | \
        set(others)
    if not addresses:
        return
    files = [(row.id, row.kind) for row in db.session.execute(
        sa.delete(OutboxMessage).where(sa.or_(OutboxMessage.registration_id.in_(ids),
                                              OutboxMessage.recipient.in_(addresses)))
        .returning(OutboxMessage.id, OutboxMessage.kind))]
    files += [(rid, "reminder") for rid in db.session.scalars(
        sa.delete(Reminder).where(Reminder.registration_id.in_(ids)).returning(Reminder.id))]
    keys = [r.email_key for r in registrations]
    for model in (Invitation, RegistrationRequest):
        db.session.execute(sa.delete(model).where(model.email_key.in_(keys), *(
            [model.event_id == registrations[0].event_id] if registrations else [])))
    for registration in registrations:
        placeholder = f"erased-{registration.id}@erased.invalid"
        registration.name, registration.email, registration.email_key = "", placeholder, \
            placeholder
        registration.organization, registration.answers = "", {}
        registration.timezone, registration.token = "UTC", secrets.token_urlsafe(24)
    folder = Path(current_app.instance_path) / "outbox"
    after_commit(lambda: _forget_files(folder, files))


@dataclass(frozen=True)
class Retention:
    """What the retention rule erases (or, in a dry run, would): per event, how many people."""

    events: list[tuple[str, int]]


def retain(*, dry_run: bool = False) -> Retention:
    """Erase the personal data of every event past its retention period (the scheduler's sweep).

    An event ends, then keeps its registrants' data for its ``retention_days``
    (else RETENTION_DAYS; 0 keeps it for ever). Its certificates keep what
    they state, for their verification. ``dry_run`` lists and changes nothing.
    """
    default = int(current_app.config.get("RETENTION_DAYS") or 0)
    now = clock.now()
    candidates = db.session.scalars(sa.select(Event).where(
        Event.personal_data_erased_at.is_(None), Event.ends_at.is_not(None),
        Event.ends_at < now).order_by(Event.ends_at)).all()
    due = [e for e in candidates
           if (days := e.retention_days if e.retention_days is not None else default)
           and e.ends_at + timedelta(days=days) <= now]
    done = []
    for event in due:
        people = db.session.scalars(sa.select(Registration).where(
            Registration.event_id == event.id, Registration.name != "")).all()
        done.append((event.slug, len(people)))
        if dry_run:
            continue
        with write_transaction(locks.seats(event.id)):
            current = db.session.get(Event, event.id)
            others = set(db.session.scalars(sa.select(Invitation.email).where(
                Invitation.event_id == event.id))) | set(db.session.scalars(
                sa.select(RegistrationRequest.email).where(
                    RegistrationRequest.event_id == event.id)))
            _forget(list(db.session.scalars(sa.select(Registration).where(
                Registration.event_id == event.id))), others)
            db.session.execute(sa.delete(Invitation).where(Invitation.event_id == event.id))
            db.session.execute(sa.delete(RegistrationRequest).where(
                RegistrationRequest.event_id == event.id))
            current.personal_data_erased_at = now
            audit.record(current, "registrations", "",
                         f"personal data of {len(people)} registrants erased (retention)", None)
    if dry_run:
        end_read()
    return Retention(done)


def _forget_files(folder: Path, rows: list[tuple[int, str]]) -> None:
    """Delete the .eml copies instance/outbox/ keeps of the erased mail (no SMTP server)."""
    for row_id, kind in rows:
        for path in folder.glob(f"*-{row_id:07d}-{kind}.eml"):
            path.unlink(missing_ok=True)
