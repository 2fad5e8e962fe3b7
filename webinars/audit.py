"""The audit trail of an event: who changed what, and when.

Services call :func:`record` inside the transaction that makes the change
(the caller's write transaction), so a change and its entry are saved together or not at
all, whichever door asked for it. Values are stored as text people read;
:func:`describe` gives the texts the service layer compares before and after.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from .core import clock, timezones
from .core.db import db
from .models import AuditEntry, Event, EventSession, Organizer, SessionStatus

# What `registration_closes_at = None` means (see Event.registration_deadline).
AT_FIRST_SESSION = "when the first session starts"


#: The language the trail's values are written in: they are kept as text, and
#: one organizer's page language must not become another's history.
STORED = "en"

#: The actor of what an operator does on the server's command line.
COMMAND_LINE = "command line"


def record(event: Event, field: str, old: str, new: str, actor: Organizer | str | None, *,
           at: datetime | None = None) -> None:
    """Add one entry to the current transaction (the caller's write transaction).

    ``actor``: the organizer, or a label for an operator without an account
    (:data:`COMMAND_LINE`), or None for the system itself.
    """
    organizer = actor if isinstance(actor, Organizer) else None
    db.session.add(AuditEntry(
        event=event,
        at=at or clock.now(),
        organizer_id=organizer.id if organizer is not None else None,
        actor=organizer.email if organizer is not None else (actor or ""),
        field=field[:100],
        old=old,
        new=new,
    ))


def record_changes(event: Event, before: dict[str, str], after: dict[str, str],
                   actor: Organizer | None) -> None:
    """One entry per key whose text differs between two :func:`describe` snapshots."""
    # One time for the whole change, so that its entries read as one group.
    at = clock.now()
    for key in sorted(set(before) | set(after), key=_order):
        old, new = before.get(key, ""), after.get(key, "")
        if old != new:
            record(event, key, old, new, actor, at=at)


def describe(event: Event) -> dict[str, str]:
    """The audited fields of an event and its sessions, as text."""
    zone = event.timezone
    closes = event.registration_closes_at
    values = {
        "title": event.title,
        "slug": event.slug,
        "description": event.description or "",
        "timezone": zone,
        "capacity": "unlimited" if event.capacity is None else str(event.capacity),
        "status": str(event.status),
        "registration_closes_at": (timezones.format_moment(closes, zone, STORED)
                                   if closes else AT_FIRST_SESSION),
        "join_url": event.join_url or "",
        "verify_email": {None: "when seats are limited", True: "yes", False: "no"}[
            event.verify_email],
        "language": event.language,
        "admission": str(event.admission),
        "invite_only": "yes" if event.invite_only else "no",
        "allowed_domains": ", ".join(event.allowed_domains or []),
        "admit_invited": "yes" if event.admit_invited else "no",
        "attendance_threshold": f"{event.attendance_threshold}%",
        "certificate_sessions": "none" if event.certificate_sessions is None
        else str(event.certificate_sessions),
        "issuer": event.issuer or "",
        "privacy_notice": event.privacy_notice or "",
        "retention_days": "the installation's" if event.retention_days is None
        else str(event.retention_days),
        "reminder_offsets_minutes": ", ".join(
            str(m) for m in event.reminder_offsets_minutes or []) or "none",
    }
    for session in event.sessions:
        values[f"sessions[{session.id}]"] = session_text(session, zone)
    for question in event.questions or []:
        values[f"questions[{question['key']}]"] = question_text(question)
    return values


def question_text(question: dict) -> str:
    """'choice, required: Your role (Speaker / Participant)', for the history."""
    options = " / ".join(question.get("options") or [])
    required = ", required" if question.get("required") else ""
    return f"{question['kind']}{required}: {question['label']}" + (f" ({options})"
                                                                   if options else "")


def session_text(session: EventSession, zone: str) -> str:
    """'Part 1: Mon 1 Nov 2027, 09:00–11:30 (Singapore, +08)', or 'cancelled'."""
    if session.status != SessionStatus.SCHEDULED:
        return "cancelled"
    when = timezones.format_range(session.start_utc, session.end_utc, zone, with_year=True,
                                  locale=STORED)
    return f"{session.title}: {when}" if session.title else when


def history(event_id: int) -> list[AuditEntry]:
    """Every entry of an event, newest change first (a change's entries in their order)."""
    return list(db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.event_id == event_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id)))


def _order(key: str) -> tuple[int, int, str]:
    # Event fields first, then sessions in the order they were created.
    if key.startswith("sessions[") and key.endswith("]") and key[9:-1].isdigit():
        return (1, int(key[9:-1]), key)
    return (0, 0, key)
