"""Claim and send the reminders that are due.

The scheduler (webinars.worker.scheduler) only decides *when* to call
:func:`send_due`; anything it misses (downtime, a change made by another
process) is caught by its periodic sweep, which calls the same function.

Late and lost: a reminder found due after its session has started is
skipped and recorded (``note``); one found due before is sent late.

Exactly once: each sender thread claims a small batch (webinars.claims: the
rows belong to this live process until it lets them go or dies, however
slow the mail server), checks its fencing token just before each SMTP
transaction, and marks each reminder right after the server's answer.
What can still go out twice is a reminder whose 250 came but whose mark
did not land: one per sender thread (docs/operations.md).

In order: a reminder whose registrant still waits for earlier mail (the
confirmation, most often, retried after a refusal) waits a few seconds
behind it, and that mail is brought forward to go first
(:func:`_mail_first`).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext, ngettext

from .. import claims
from ..calendars import ics
from ..calendars.times import session_times
from ..core import clock, links
from ..core.db import UTCDateTime, db
from ..core.transactions import autocommit_connection, end_read, write_transaction
from ..mail import compose, pump, retries
from ..mail.transports import transport_for
from ..models import (
    Event,
    EventSession,
    EventStatus,
    OutboxMessage,
    RegistrationStatus,
    Reminder,
    ReminderStatus,
    SessionStatus,
)
from . import stopping

PENDING = ReminderStatus.PENDING
#: Reminders per claim and sender thread: small, so that a slow mail server
#: holds few while the other threads and processes go on with the rest.
BATCH = 50
#: How long after its registrant's earlier mail is next tried a reminder looks
#: again: short, since looking too soon only holds it once more.
BEHIND = timedelta(seconds=1)


@dataclass
class Report:
    """What one pass of :func:`send_due` did."""

    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    held: int = 0  # waiting behind earlier mail to the same registrant
    first_lateness: float | None = None  # seconds after due_at, for the benchmark
    last_lateness: float | None = None
    #: The relay did not answer: the senders stopped until the next try.
    unreachable: bool = False
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
    while not report.unreachable:
        claim = _claim(limit)
        if claim is None:
            return
        with claim:
            _send_batch(claim, report)


def due_now(now: datetime) -> sa.Select:
    """Every pending reminder due at ``now``, with its session's start: what is judged stale."""
    return (sa.select(Reminder.id, Reminder.registration_id, Reminder.session_id,
                      Reminder.due_at, Reminder.retry_at, Reminder.note,
                      EventSession.start_utc)
            .join(EventSession, EventSession.id == Reminder.session_id)
            .where(Reminder.status == PENDING, Reminder.due_at <= now))


# Ids per UPDATE when skipping: a few round trips for ten thousand, and well
# below every driver's limit on parameters.
_SKIP_CHUNK = 1000


def _skip_stale(report: Report) -> None:
    """Skip, and say why, what nobody should receive any more.

    After downtime: reminders of sessions that have started, and of two
    reminders for the same session both due now, the earlier one (a
    day-before reminder an hour before the start would only confuse).

    The due rows are read once and judged here, then skipped by id. Every
    form of this as one statement (a correlated EXISTS, a grouped subquery
    joined back) was planned as a nested loop over the due rows when the
    table's statistics were stale, as they are right after a burst of
    registrations: quadratic or worse (docs/performance.md, fan-out step 3
    and bench/stale_reminders.py). One read and updates by primary key
    stay linear whatever the planner believes.
    """
    with write_transaction():
        now = clock.now()
        started, refused, superseded, latest = [], [], [], {}
        for row in db.session.execute(due_now(now)):
            if row.start_utc <= now:
                # Tried and refused (a retry pending with the server's answer), or never tried.
                (refused if row.retry_at is not None and row.note else started).append(row.id)
                continue
            key = (row.registration_id, row.session_id)
            kept = latest.get(key)
            if kept is None:
                latest[key] = row
            elif (row.due_at, row.id) > (kept.due_at, kept.id):
                superseded.append(kept.id)
                latest[key] = row
            else:
                superseded.append(row.id)
        for ids, outcome, values in (
            (started, "skipped", {
                "status": ReminderStatus.SKIPPED,
                "note": "found due after the session had started (the sender was down)"}),
            # Failed, not skipped: the organizer sees it with the mail
            # server's last answer (webinars.registrations.deliveries).
            (refused, "failed", {
                "status": ReminderStatus.FAILED, "failed_at": now,
                "note": sa.func.substr(
                    "not delivered before the session started; last answer: " + Reminder.note,
                    1, 500)}),
            (superseded, "skipped", {
                "status": ReminderStatus.SKIPPED,
                "note": "superseded by a later reminder for the same session"}),
        ):
            for first in range(0, len(ids), _SKIP_CHUNK):
                result = db.session.execute(
                    sa.update(Reminder)
                    # Still pending and due: a reschedule may have moved it since the read.
                    .where(Reminder.id.in_(ids[first:first + _SKIP_CHUNK]),
                           Reminder.status == PENDING, Reminder.due_at <= now)
                    .values(**values, claimed_by=None, claim_token=None)
                    .execution_options(synchronize_session=False))
                # Before the sender threads start: no lock needed.
                setattr(report, outcome, getattr(report, outcome) + (result.rowcount or 0))


def _claim(limit: int) -> claims.Claim | None:
    now = clock.now()
    return claims.take(
        Reminder, Reminder.status == PENDING, Reminder.due_at <= now,
        sa.or_(Reminder.retry_at.is_(None), Reminder.retry_at <= now),
        order_by=(Reminder.due_at, Reminder.id), limit=limit)


def _send_batch(claim: claims.Claim, report: Report) -> None:
    rows = db.session.scalars(
        sa.select(Reminder).where(Reminder.id.in_(claim.ids))
        .options(sa.orm.joinedload(Reminder.registration),
                 sa.orm.joinedload(Reminder.session).joinedload(EventSession.event)
                 .selectinload(Event.sessions))
        .order_by(Reminder.due_at, Reminder.id)).unique().all()
    # Kept as they are while the mail server takes its time, with no
    # transaction left open meanwhile (PostgreSQL ends one idle for long:
    # DATABASE_SETTINGS); everything the mail needs was loaded above.
    db.session.expunge_all()
    end_read()
    composer = Composer()
    transport = transport_for(current_app)
    marks = autocommit_connection()
    try:
        behind = _mail_first(marks, rows)
        for reminder in rows:
            if not claim.still_mine(marks, reminder.id, Reminder.status == PENDING):
                continue
            if not _still_wanted(reminder, claim, report, marks):
                continue
            if reminder.registration_id in behind:
                _hold(marks, claim, reminder.id, behind[reminder.registration_id], report)
                continue
            # Built just before sending, so the first goes out at once.
            payload = composer.message(reminder)
            outcome, error = transport.send(reminder.registration.email, payload, "reminder",
                                            reminder.id)
            _record(marks, claim, reminder, outcome, error, report)
            if outcome == "unreachable":
                report.unreachable = True  # the other threads stop at their next message
                return
            if report.unreachable:
                return
    finally:
        transport.close()
        marks.close()


#: The note of a reminder held behind earlier mail (listed with the undelivered).
HELD = "waiting for earlier mail to this person, which goes first"


def _mail_first(marks: sa.Connection, rows: list[Reminder]) -> dict[int, datetime]:
    """{registration id: when its earlier mail is tried next} for those of ``rows`` with some.

    A reminder must never arrive before the confirmation it follows (the
    confirmation has the join link and the invitation). Such mail, waiting
    for a retry, is made due now the first time a reminder waits for it, so
    that it goes first; after that the reminder follows its retries rather
    than hurrying each one (each try of a refused message counts, and would
    use up its attempts in seconds).
    """
    if not rows:
        return {}
    now = clock.now()
    first_time = {r.registration_id for r in rows if r.note != HELD}
    waiting = dict(marks.execute(
        sa.select(OutboxMessage.registration_id, sa.func.max(OutboxMessage.send_after))
        .where(OutboxMessage.registration_id.in_({r.registration_id for r in rows}),
               OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
        .group_by(OutboxMessage.registration_id)).all())
    hurried = [registration_id for registration_id in waiting if registration_id in first_time]
    if hurried:
        marks.execute(sa.update(OutboxMessage).where(
            OutboxMessage.registration_id.in_(hurried), OutboxMessage.sent_at.is_(None),
            OutboxMessage.failed_at.is_(None), OutboxMessage.send_after > now)
            .values(send_after=now))
        waiting.update(dict.fromkeys(hurried, now))
        pump.wake()
    return {registration_id: max(when, now) for registration_id, when in waiting.items()}


def _hold(marks: sa.Connection, claim: claims.Claim, reminder_id: int, mail_at: datetime,
          report: Report) -> None:
    marks.execute(sa.update(Reminder).where(Reminder.id == reminder_id, claim.mine())
                  .values(retry_at=mail_at + BEHIND, claimed_by=None, claim_token=None,
                          note=HELD))
    report.add("held")


def _still_wanted(reminder: Reminder, claim: claims.Claim, report: Report,
                  marks: sa.Connection) -> bool:
    registration, session = reminder.registration, reminder.session
    if (registration.status == RegistrationStatus.CONFIRMED
            and registration.reminders_stopped_at is None
            and session.status == SessionStatus.SCHEDULED
            and session.event.status == EventStatus.PUBLISHED):
        return True
    marks.execute(sa.update(Reminder).where(Reminder.id == reminder.id, claim.mine()).values(
        status=ReminderStatus.SKIPPED, note="no longer wanted (cancelled)", claimed_by=None,
        claim_token=None))
    report.add("skipped")
    return False


def _record(marks: sa.Connection, claim: claims.Claim, reminder: Reminder, outcome: str,
            error: str, report: Report) -> None:
    """Mark one reminder right after its SMTP answer: one autocommitted UPDATE."""
    now = clock.now()
    if outcome == "sent":
        marks.execute(_MARK_SENT, {"reminder": reminder.id, "token": claim.token, "when": now})
        report.add("sent", (now - reminder.due_at).total_seconds())
        return
    attempts = reminder.attempts + 1
    values: dict = {"claimed_by": None, "claim_token": None, "note": error[:500]}
    if outcome == "unreachable":
        values["retry_at"] = now + retries.RELAY_PROBE  # the relay's fault: no attempt counted
    elif outcome == "temporary" and not retries.exhausted(attempts):
        values.update(attempts=attempts,
                      retry_at=now + retries.delay(attempts, now, reminder.session.start_utc))
        report.add("retried")
    else:
        values.update(attempts=attempts, status=ReminderStatus.FAILED, failed_at=now)
        report.add("failed")
    marks.execute(sa.update(Reminder).where(Reminder.id == reminder.id, claim.mine())
                  .values(**values))


# Built once: the hot path of a fan-out runs it ten thousand times.
_MARK_SENT = (sa.update(Reminder)
              .where(Reminder.id == sa.bindparam("reminder"),
                     Reminder.claim_token == sa.bindparam("token"))
              .values(status=ReminderStatus.SENT, note="", claimed_by=None, claim_token=None,
                      retry_at=None, attempts=Reminder.attempts + 1,
                      sent_at=sa.bindparam("when", type_=UTCDateTime())))


class Composer:
    """Builds reminder mails; what many recipients share is built once per batch.

    The session's ``.ics`` (one per session and SEQUENCE) and its times in
    each registrant's zone are cached; per message only the two small
    templates are rendered and the MIME written
    (:func:`webinars.mail.compose.compose`).
    """

    def __init__(self):
        self.domain = compose.domain()
        self.files: dict[tuple[int, int, str], bytes] = {}
        self.times: dict[tuple[int, str, str], dict] = {}
        self.text = current_app.jinja_env.get_template("emails/reminder.txt")
        self.html = current_app.jinja_env.get_template("emails/reminder.html")

    def message(self, reminder: Reminder) -> bytes:
        """The RFC 5322 bytes of one reminder, in the registrant's language."""
        with force_locale(reminder.registration.language):
            return self._message(reminder)

    def _message(self, reminder: Reminder) -> bytes:
        registration, session = reminder.registration, reminder.session
        event = session.event
        zone = registration.timezone or "UTC"
        language = registration.language
        times = self.times.get((session.id, zone, language))
        if times is None:
            times = self.times[(session.id, zone, language)] = session_times(session, event,
                                                                              zone)
        file = self.files.get((session.id, session.sequence, language))
        if file is None:
            file = self.files[(session.id, session.sequence, language)] = \
                ics.session_calendar(session)
        lead = lead_time(_minutes_left(session, reminder.offset_minutes), language)
        values = {
            "registration": registration, "event": event, "session": session, "t": times,
            "zone": zone, "lead": lead, "manage_url": links.manage_url(registration.token),
        }
        return compose.compose(
            kind="reminder", to_name=registration.name, to_email=registration.email,
            subject=gettext("Reminder: %(title)s starts %(lead)s", title=event.local_title,
                            lead=lead),
            text=self.text.render(values), html=self.html.render(values),
            attachment=(f"{event.slug}.ics", file),
            # One click in the mail client stops this registration's later reminders.
            headers={"List-Unsubscribe": f"<{stopping.link(registration)}>",
                     "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
            # Deterministic: the same reminder for the same time has the same
            # Message-ID, so a duplicate (the crash window) is recognisable.
            message_id=f"<reminder-{reminder.id}-{reminder.due_at:%Y%m%dT%H%MZ}@{self.domain}>",
        ).payload


def _minutes_left(session: EventSession, offset: int) -> int:
    # Sent late (after downtime), the mail says how long is really left.
    left = int((session.start_utc - clock.now()).total_seconds() // 60)
    return offset if left >= offset - 5 else max(left, 1)


@functools.cache
def lead_time(minutes: int, language: str) -> str:
    """'in 24 hours', 'in 1 hour', 'in 30 minutes', 'in 2 days', in ``language``."""
    with force_locale(language):
        if minutes % 1440 == 0 and minutes > 1440:
            return ngettext("in %(num)s day", "in %(num)s days", minutes // 1440)
        if minutes % 60 == 0:
            return ngettext("in %(num)s hour", "in %(num)s hours", minutes // 60)
        return ngettext("in %(num)s minute", "in %(num)s minutes", minutes)
