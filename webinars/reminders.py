"""Plan, move, claim and send reminders.

Rows in ``reminders`` are the truth: one per registrant, session and offset,
written with the registrant's notice (webinars.notices; a promotion writes
them in its own transaction), moved in the transaction that moves the
session, deleted in the one that cancels. The
scheduler (:mod:`webinars.scheduler`) only decides *when* to call
:func:`send_due`; anything it misses (downtime, a change made by another
process) is caught by its periodic sweep, which calls the same function.

Late and lost: a reminder found due after its session has started is
skipped and recorded (``note``); one found due before is sent late.

Duplicates: a row is claimed (``claimed_until``) before the SMTP call and
marked sent right after the server's 250, one commit per message. A crash in
between is the one window where a reminder can go out twice (after its
claim expires), and it is one message wide. Two senders never take the same
row: the claim is a conditional UPDATE (with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from . import calendar, clock, mail
from .extensions import db
from .locking import begin_write, bookkeeping_connection, claim_for_sending
from .models import (
    Event,
    EventSession,
    EventStatus,
    Registration,
    RegistrationStatus,
    Reminder,
    ReminderStatus,
    SessionStatus,
    UTCDateTime,
)

PENDING = ReminderStatus.PENDING
CLAIM_SECONDS = 300
MAX_ATTEMPTS = 6
BATCH = 200


# --- planning (inside the caller's transaction) ------------------------------


def plan(registration: Registration) -> None:
    """Add the reminders still ahead for a newly confirmed registrant."""
    plan_for(registration.id, registration.event_id,
             registration.event.reminder_offsets_minutes or [])


def plan_for(registration_id: int, event_id: int, offsets: list[int], *,
             fresh: bool = False, since: datetime | None = None) -> None:
    """Add a registrant's reminders still ahead: two statements, no ORM objects.

    ``fresh`` (a row inserted in this transaction) skips the look-up of
    reminders the registration may have already. ``since`` (default: now) is
    the moment from which reminders count as ahead: the notice step passes
    the confirmation's time, so that one falling due in between is still
    planned, and sent late rather than never.
    """
    now = since or clock.now()
    sessions = db.session.execute(sa.select(EventSession.id, EventSession.start_utc).where(
        EventSession.event_id == event_id, EventSession.status == SessionStatus.SCHEDULED))
    existing = set() if fresh else {tuple(row) for row in db.session.execute(
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
            reminder.status, reminder.sent_at, reminder.claimed_until = PENDING, None, None
            reminder.attempts, reminder.note = 0, "moved with the session"
        elif reminder.status == PENDING:
            reminder.status = ReminderStatus.SKIPPED
            reminder.note = "the session moved and this reminder's time had passed"


# --- sending -----------------------------------------------------------------


@dataclass
class Report:
    """What one pass of :func:`send_due` did."""

    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    first_lateness: float | None = None  # seconds after due_at, for the benchmark
    last_lateness: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, outcome: str, lateness: float | None = None) -> None:
        """Count one outcome (several sender threads share a report)."""
        with self.lock:
            setattr(self, outcome, getattr(self, outcome) + 1)
            if lateness is not None:
                if self.first_lateness is None:
                    self.first_lateness = lateness
                self.last_lateness = lateness


def send_due(limit: int = BATCH, senders: int | None = None) -> Report:
    """Send every reminder that is due; returns counts.

    ``senders`` threads (config REMINDER_SENDERS, default 4) each claim
    batches and send them over their own SMTP connection: while one waits for
    the mail server's answer, another builds and marks, so a fan-out of
    thousands is bounded by the mail server rather than by our round trips.
    Claims keep them (and other processes) from ever taking the same row.
    """
    report = Report()
    _skip_stale(report)
    count = senders or int(current_app.config.get("REMINDER_SENDERS", 4))
    if count <= 1:
        _send_claimed(limit, report)
        return report
    app = current_app._get_current_object()
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            with app.app_context():
                try:
                    _send_claimed(limit, report)
                finally:
                    db.session.remove()
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=sender, name=f"reminders-{n}") for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return report


def _send_claimed(limit: int, report: Report) -> None:
    while True:
        claimed = _claim(limit)
        if not claimed:
            return
        _send_batch(claimed, report)


def _skip_stale(report: Report) -> None:
    """Skip, and say why, what nobody should receive any more.

    After downtime: reminders of sessions that have started, and of two
    reminders for the same session both due now, the earlier one (a
    day-before reminder an hour before the start would only confuse).
    """
    begin_write()
    now = clock.now()
    started = sa.select(EventSession.id).where(EventSession.start_utc <= now)
    # Grouped, not a correlated EXISTS: with fresh rows and stale statistics
    # PostgreSQL planned the EXISTS as a nested loop over all due reminders
    # squared (6 s for 10,000); the groups with more than one due reminder
    # are few, and this plan cannot go quadratic.
    due = sa.and_(Reminder.status == PENDING, Reminder.due_at <= now)
    crowded = (sa.select(Reminder.registration_id, Reminder.session_id,
                         sa.func.max(Reminder.due_at).label("latest"))
               .where(due).group_by(Reminder.registration_id, Reminder.session_id)
               .having(sa.func.count() > 1).subquery())
    superseded = Reminder.id.in_(
        sa.select(Reminder.id).join(crowded, sa.and_(
            Reminder.registration_id == crowded.c.registration_id,
            Reminder.session_id == crowded.c.session_id))
        .where(due, Reminder.due_at < crowded.c.latest))
    for condition, note in (
        (Reminder.session_id.in_(started),
         "found due after the session had started (the sender was down)"),
        (superseded, "superseded by a later reminder for the same session"),
    ):
        result = db.session.execute(
            sa.update(Reminder)
            .where(Reminder.status == PENDING, Reminder.due_at <= now, condition)
            .values(status=ReminderStatus.SKIPPED, note=note)
            .execution_options(synchronize_session=False))
        report.skipped += result.rowcount or 0
    db.session.commit()


def _claim(limit: int) -> list[int]:
    return claim_for_sending(
        Reminder, Reminder.status == PENDING, Reminder.due_at <= clock.now(),
        order_by=(Reminder.due_at, Reminder.id), limit=limit, seconds=CLAIM_SECONDS)


def _send_batch(ids: list[int], report: Report) -> None:
    rows = db.session.scalars(
        sa.select(Reminder).where(Reminder.id.in_(ids))
        .options(sa.orm.joinedload(Reminder.registration),
                 sa.orm.joinedload(Reminder.session).joinedload(EventSession.event)
                 .selectinload(Event.sessions))
        .order_by(Reminder.due_at, Reminder.id)).unique().all()
    composer = _Composer()
    transport = mail.transport_for(current_app)
    marks = bookkeeping_connection()
    try:
        for reminder in rows:
            if not _still_wanted(reminder, report, marks):
                continue
            # Built just before sending, so the first goes out at once.
            payload = composer.message(reminder)
            outcome, error = transport.send(reminder.registration.email, payload, "reminder",
                                            reminder.id)
            _record(marks, reminder.id, reminder.due_at, reminder.attempts, outcome, error,
                    report)
    finally:
        transport.close()
        marks.close()
        db.session.rollback()  # end the read transaction that loaded the batch


def _still_wanted(reminder: Reminder, report: Report, marks: sa.Connection) -> bool:
    registration, session = reminder.registration, reminder.session
    if (registration.status == RegistrationStatus.CONFIRMED
            and session.status == SessionStatus.SCHEDULED
            and session.event.status == EventStatus.PUBLISHED):
        return True
    marks.execute(sa.update(Reminder).where(Reminder.id == reminder.id).values(
        status=ReminderStatus.SKIPPED, note="no longer wanted (cancelled)", claimed_until=None))
    report.add("skipped")
    return False


def _record(marks: sa.Connection, reminder_id: int, due_at: datetime, attempts: int,
            outcome: str, error: str, report: Report) -> None:
    """Mark one reminder right after its SMTP answer: one autocommitted UPDATE."""
    now = clock.now()
    values: dict = {"claimed_until": None}
    if outcome == "temporary" and attempts >= MAX_ATTEMPTS:
        outcome = "permanent"
    if outcome == "sent":
        values.update(status=ReminderStatus.SENT, sent_at=now, note="")
        report.add("sent", (now - due_at).total_seconds())
    elif outcome == "temporary":
        # Stay claimed until the retry time: the backoff is the claim.
        values.update(note=error[:500],
                      claimed_until=now + timedelta(seconds=min(30 * 2 ** attempts, 900)))
        report.add("retried")
    else:
        values.update(status=ReminderStatus.FAILED, note=error[:500])
        report.add("failed")
    statement = _MARK_SENT if outcome == "sent" else \
        sa.update(Reminder).where(Reminder.id == reminder_id).values(**values)
    marks.execute(statement, {"reminder": reminder_id, "when": now})


# Built once: the hot path of a fan-out runs it ten thousand times.
_MARK_SENT = (sa.update(Reminder).where(Reminder.id == sa.bindparam("reminder"))
              .values(status=ReminderStatus.SENT, note="", claimed_until=None,
                      sent_at=sa.bindparam("when", type_=UTCDateTime())))


class _Composer:
    """Builds reminder mails; what many recipients share is built once per batch.

    The session's ``.ics`` (one per session and SEQUENCE) and its times in
    each registrant's zone are cached; per message only the two small
    templates are rendered and the MIME written (:func:`mail.compose`).
    """

    def __init__(self):
        self.base = current_app.config["BASE_URL"]
        self.domain = mail.domain()
        self.files: dict[tuple[int, int], bytes] = {}
        self.times: dict[tuple[int, str], dict] = {}
        self.text = current_app.jinja_env.get_template("emails/reminder.txt")
        self.html = current_app.jinja_env.get_template("emails/reminder.html")

    def message(self, reminder: Reminder) -> bytes:
        """The RFC 5322 bytes of one reminder."""
        from .notifications import session_times

        registration, session = reminder.registration, reminder.session
        event = registration.event
        zone = registration.timezone or "UTC"
        times = self.times.get((session.id, zone))
        if times is None:
            times = self.times[(session.id, zone)] = session_times(session, event, zone)
        ics = self.files.get((session.id, session.sequence))
        if ics is None:
            ics = self.files[(session.id, session.sequence)] = calendar.session_calendar(session)
        values = {
            "registration": registration, "event": event, "session": session, "t": times,
            "zone": zone, "lead": lead_time(_minutes_left(session, reminder.offset_minutes)),
            "manage_url": f"{self.base}/registrations/{registration.token}",
        }
        return mail.compose(
            kind="reminder", to_name=registration.name, to_email=registration.email,
            subject=f"Reminder: {event.title} starts {values['lead']}",
            text=self.text.render(values), html=self.html.render(values),
            attachment=(f"{event.slug}.ics", ics),
            # Deterministic: the same reminder for the same time has the same
            # Message-ID, so a duplicate (the crash window) is recognisable.
            message_id=f"<reminder-{reminder.id}-{reminder.due_at:%Y%m%dT%H%MZ}@{self.domain}>",
        ).payload


def _minutes_left(session: EventSession, offset: int) -> int:
    # Sent late (after downtime), the mail says how long is really left.
    left = int((session.start_utc - clock.now()).total_seconds() // 60)
    return offset if left >= offset - 5 else max(left, 1)


@functools.cache
def lead_time(minutes: int) -> str:
    """'in 24 hours', 'in 1 hour', 'in 30 minutes', 'in 2 days'."""
    if minutes % 1440 == 0 and minutes > 1440:
        return f"in {minutes // 1440} days"
    if minutes % 60 == 0:
        hours = minutes // 60
        return "in 1 hour" if hours == 1 else f"in {hours} hours"
    return "in 1 minute" if minutes == 1 else f"in {minutes} minutes"


# --- for operators -----------------------------------------------------------


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


def message_bytes(reminder: Reminder) -> bytes:
    """The mail a reminder sends (for the benchmark's message size)."""
    return _Composer().message(reminder)
