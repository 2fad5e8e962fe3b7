"""Plan and move reminders, inside the caller's write transaction.

Rows in ``reminders`` are the truth: one per registrant, session and offset,
written with the registrant's notice (webinars.registrations.notices; a
promotion writes them in its own transaction), moved in the transaction that
moves the session, deleted in the one that cancels.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ..core import clock
from ..core.db import db
from ..models import (
    Event,
    EventSession,
    EventStatus,
    Registration,
    RegistrationStatus,
    Reminder,
    ReminderStatus,
    SessionStatus,
)

PENDING = ReminderStatus.PENDING


def plan(registration: Registration) -> None:
    """Add the reminders still ahead for a newly confirmed registrant."""
    plan_for(registration.id, registration.event_id,
             registration.event.reminder_offsets_minutes or [])


def plan_for(registration_id: int, event_id: int, offsets: list[int], *,
             since: datetime | None = None) -> None:
    """Add a registrant's reminders still ahead: two statements, no ORM objects.

    ``since`` (default: now) is
    the moment from which reminders count as ahead: the notice step passes
    the confirmation's time, so that one falling due in between is still
    planned, and sent late rather than never.
    """
    now = since or clock.now()
    sessions = db.session.execute(sa.select(EventSession.id, EventSession.start_utc).where(
        EventSession.event_id == event_id, EventSession.status == SessionStatus.SCHEDULED))
    existing = {tuple(row) for row in db.session.execute(
        sa.select(Reminder.session_id, Reminder.offset_minutes)
        .where(Reminder.registration_id == registration_id))}
    rows = [
        {"registration_id": registration_id, "session_id": session_id, "offset_minutes": offset,
         "due_at": due, "status": PENDING, "attempts": 0, "note": ""}
        for session_id, start in sessions
        for offset in offsets
        if (due := start - timedelta(minutes=offset)) > now
        and (session_id, offset) not in existing
    ]
    if rows:
        db.session.execute(sa.insert(Reminder), rows)


def drop(registration_id: int) -> None:
    """Forget the unsent reminders of a cancelled registration."""
    db.session.execute(sa.delete(Reminder).where(Reminder.registration_id == registration_id,
                                                 Reminder.status == PENDING))


def replan(event: Event, moved: list[EventSession]) -> None:
    """Make the pending reminders match the event after an organizer's change.

    Moved sessions take their reminders with them (one already sent is sent
    again before the new time); dropped sessions, offsets no longer wanted,
    and a cancelled event lose theirs; new sessions and offsets gain them.
    """
    now = clock.now()
    session_ids = [s.id for s in event.sessions]
    offsets = list(event.reminder_offsets_minutes or [])
    scheduled = {s.id: s for s in event.scheduled_sessions}
    if event.status != EventStatus.PUBLISHED:
        scheduled = {}
    db.session.execute(sa.delete(Reminder).where(
        Reminder.session_id.in_(session_ids), Reminder.status == PENDING,
        sa.or_(Reminder.session_id.not_in(list(scheduled) or [-1]),
               Reminder.offset_minutes.not_in(offsets or [-1]))))
    for session in moved:
        if session.id in scheduled:
            _move(session, now)
    confirmed = db.session.scalars(sa.select(Registration.id).where(
        Registration.event_id == event.id,
        Registration.status == RegistrationStatus.CONFIRMED)).all()
    existing = {tuple(row) for row in db.session.execute(sa.select(
        Reminder.registration_id, Reminder.session_id, Reminder.offset_minutes).where(
        Reminder.session_id.in_(session_ids)))}
    rows = [
        {"registration_id": rid, "session_id": sid, "offset_minutes": offset, "due_at": due,
         "status": PENDING, "attempts": 0, "note": ""}
        for sid, session in scheduled.items()
        for offset in offsets
        if (due := session.start_utc - timedelta(minutes=offset)) > now
        for rid in confirmed
        if (rid, sid, offset) not in existing
    ]
    if rows:
        db.session.execute(sa.insert(Reminder), rows)


def _move(session: EventSession, now: datetime) -> None:
    for reminder in db.session.scalars(sa.select(Reminder).where(
            Reminder.session_id == session.id)):
        due = session.start_utc - timedelta(minutes=reminder.offset_minutes)
        if reminder.due_at == due:
            continue
        reminder.due_at = due
        if due > now:
            reminder.status, reminder.sent_at, reminder.retry_at = PENDING, None, None
            # A sender holding it loses it: its fencing check fails (webinars.claims).
            reminder.claimed_by, reminder.claim_token = None, None
            reminder.attempts, reminder.note = 0, "moved with the session"
        elif reminder.status == PENDING:
            reminder.status = ReminderStatus.SKIPPED
            reminder.note = "the session moved and this reminder's time had passed"
