"""What is pending and what went: for the scheduler's jobs and for operators."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..core.db import db
from ..models import Reminder, ReminderStatus

PENDING = ReminderStatus.PENDING
FAILED = ReminderStatus.FAILED

#: Not delivered, and not simply waiting for its time: failed, or refused
#: or unreachable at least once and waiting for its retry (``note`` holds
#: the mail server's last answer; webinars.reminders.sending._record).
TROUBLED = sa.or_(Reminder.status == FAILED, sa.and_(
    Reminder.status == PENDING, Reminder.retry_at.is_not(None), Reminder.note != ""))

#: Refused for good: failed with a 5xx answer (an address that does not
#: work), as webinars.mail.outbox.BOUNCED is for the outbox.
BOUNCED = sa.and_(Reminder.status == FAILED, Reminder.note.like("5%"))


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


def state(reminder: Reminder) -> str:
    """pending, sent, skipped, failed, or retrying (a try failed, another will come)."""
    if reminder.status == PENDING and reminder.retry_at is not None and reminder.note:
        return "retrying"
    return reminder.status


def troubled(*conditions, limit: int | None = None) -> list[Reminder]:
    """Failed and retrying reminders (that also meet ``conditions``), most recent trouble first."""
    return list(db.session.scalars(
        sa.select(Reminder).where(TROUBLED, *conditions)
        # The lists show each one's address and judge its session's start:
        # loaded at once, not one query per row when a relay outage lists thousands.
        .options(sa.orm.joinedload(Reminder.registration), sa.orm.joinedload(Reminder.session))
        .order_by(sa.func.coalesce(Reminder.failed_at, Reminder.retry_at).desc(),
                  Reminder.id.desc()).limit(limit)))


def next_wake() -> datetime | None:
    """When the scheduler should next run :func:`~webinars.reminders.sending.send_due`.

    The soonest due time of a pending reminder not set aside for a retry,
    or the soonest retry; ``None`` when nothing is pending. Two index
    look-ups (``ix_reminders_status_due``, ``ix_reminders_status_retry``),
    cheap enough for every mail poll.
    """
    first_due = db.session.scalar(
        sa.select(sa.func.min(Reminder.due_at))
        .where(Reminder.status == PENDING, Reminder.retry_at.is_(None)))
    first_retry = db.session.scalar(
        sa.select(sa.func.min(Reminder.retry_at))
        .where(Reminder.status == PENDING, Reminder.retry_at.is_not(None)))
    times = [value for value in (first_due, first_retry) if value is not None]
    return min(times, default=None)
