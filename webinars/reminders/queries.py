"""What is pending and what went: for the scheduler's jobs and for operators."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from ..core.db import db
from ..models import Reminder, ReminderStatus

PENDING = ReminderStatus.PENDING


def _aware(value: datetime) -> datetime:
    # min() over a UTCDateTime column comes back without the type's processing.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def overview(limit: int = 50) -> tuple[list[Reminder], list[Reminder]]:
    """(next pending reminders, most recently sent/skipped/failed ones)."""
    upcoming = db.session.scalars(
        sa.select(Reminder).where(Reminder.status == PENDING)
        .order_by(Reminder.due_at, Reminder.id).limit(limit)).all()
    recent = db.session.scalars(
        sa.select(Reminder).where(Reminder.status != PENDING)
        .order_by(sa.func.coalesce(Reminder.sent_at, Reminder.due_at).desc(),
                  Reminder.id.desc()).limit(limit)).all()
    return list(upcoming), list(recent)


def next_due() -> list[tuple[int, int, datetime]]:
    """(session id, offset, due_at) of every pending reminder group, soonest first."""
    first_due = sa.func.min(Reminder.due_at)
    rows = db.session.execute(
        sa.select(Reminder.session_id, Reminder.offset_minutes, first_due)
        .where(Reminder.status == PENDING)
        .group_by(Reminder.session_id, Reminder.offset_minutes)
        .order_by(first_due))
    return [(session_id, offset, _aware(due)) for session_id, offset, due in rows]
