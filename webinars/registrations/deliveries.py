"""Mail to registrants that did not arrive: what organizers and operators see and can do.

Two kinds of mail reach a registrant: messages of the outbox (confirmation,
waiting list, cancellation…; webinars.mail.outbox) and reminders
(webinars.reminders). Either is failed (the server refused it for good, it
ran out of attempts, or a reminder was still refused when its session
started) or retrying (refused for now, or the server was unreachable).
Both are listed here as one :class:`Undelivered`, so that every door shows
the same list. An organizer may send a failed one again (after the address
was corrected, say) or give up on one that keeps retrying; both are audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext

from .. import audit, claims
from ..core import clock
from ..core.db import db
from ..core.errors import Conflict, NotFound
from ..core.transactions import after_commit, write_transaction
from ..mail import outbox, pump
from ..models import (
    Event,
    Organizer,
    OutboxMessage,
    Registration,
    Reminder,
    ReminderStatus,
)
from ..reminders import queries as reminder_queries

#: The two sources, as doors name them.
MAIL, REMINDER = "mail", "reminder"


@dataclass(frozen=True)
class Undelivered:
    """One message to a registrant that did not arrive."""

    source: str  # MAIL (an outbox row) or REMINDER (a reminder row)
    id: int  # the row's id within its source
    kind: str  # confirmation, waitlisted, … or reminder
    recipient: str
    state: str  # failed or retrying
    attempts: int
    answer: str  # the mail server's last answer, or the connection error
    at: datetime  # when it failed, or when it is tried next
    event_slug: str | None
    #: False for a reminder whose session has started: sending it now is pointless.
    can_retry: bool = True


def troubles(event_id: int) -> list[Undelivered]:
    """Failed and retrying mail to the event's registrants, most recent trouble first."""
    registrants = sa.select(Registration.id).where(Registration.event_id == event_id)
    return _listed(
        outbox.troubled(OutboxMessage.registration_id.in_(registrants)),
        reminder_queries.troubled(Reminder.registration_id.in_(registrants)))


def across_events(limit: int = 100) -> list[Undelivered]:
    """Failed and retrying mail of every event (for ``flask mail-status``), newest first."""
    return _listed(outbox.troubled(limit=limit), reminder_queries.troubled(limit=limit))[:limit]


def bounced(event_id: int) -> dict[int, str]:
    """{registration id: the mail server's answer} for registrants whose address was refused.

    A permanent refusal (5xx) of any mail to them, a reminder included: the
    organizer should check the address with the person, since nothing we
    send arrives.
    """
    answers: dict[int, str] = {}
    for model, answer, refused in ((OutboxMessage, OutboxMessage.last_error, outbox.BOUNCED),
                                   (Reminder, Reminder.note, reminder_queries.BOUNCED)):
        rows = db.session.execute(
            sa.select(model.registration_id, answer)
            .join(Registration, Registration.id == model.registration_id)
            .where(Registration.event_id == event_id, refused)
            .order_by(model.id))
        for registration_id, text in rows:
            answers.setdefault(registration_id, text)
    return answers


def bounce_of(registration_id: int) -> str | None:
    """The mail server's permanent refusal of this registrant's address, if any."""
    return db.session.scalar(
        sa.select(OutboxMessage.last_error)
        .where(OutboxMessage.registration_id == registration_id, outbox.BOUNCED)
        .order_by(OutboxMessage.id.desc()).limit(1)) or db.session.scalar(
        sa.select(Reminder.note)
        .where(Reminder.registration_id == registration_id, reminder_queries.BOUNCED)
        .order_by(Reminder.id.desc()).limit(1))


def retry(event_id: int, source: str, row_id: int, actor: Organizer | None) -> Undelivered:
    """Send a failed or retrying message again now, with a fresh count of attempts."""
    with write_transaction():
        event, row = _of_event(event_id, source, row_id)
        was = _undelivered(row, event.slug)
        if not was.can_retry:
            raise Conflict(gettext("The session has started: a reminder now would come too "
                                   "late."))
        audit.record(event, "mail", f"{was.kind} to {was.recipient}: {was.state}",
                     "sent again", actor)
        now = clock.now()
        if isinstance(row, OutboxMessage):
            row.failed_at, row.send_after, row.attempts = None, now, 0
        else:
            row.status, row.failed_at, row.retry_at, row.attempts = \
                ReminderStatus.PENDING, None, now, 0
        after_commit(pump.wake)
    return was


def give_up(event_id: int, source: str, row_id: int, actor: Organizer | None) -> Undelivered:
    """Stop retrying a message: it stays listed as failed."""
    with write_transaction():
        event, row = _of_event(event_id, source, row_id)
        was = _undelivered(row, event.slug)
        if was.state == "failed":
            raise Conflict(gettext("This message has failed already; nothing will retry it."))
        audit.record(event, "mail", f"{was.kind} to {was.recipient}: retrying", "given up",
                     actor)
        row.failed_at = clock.now()
        if isinstance(row, Reminder):
            row.status = ReminderStatus.FAILED
    return was


def _listed(messages: list[OutboxMessage], reminders: list[Reminder]) -> list[Undelivered]:
    registrations = {m.registration_id for m in messages if m.registration_id} | \
        {r.registration_id for r in reminders}
    slugs = dict(db.session.execute(
        sa.select(Registration.id, Event.slug).join(Event, Event.id == Registration.event_id)
        .where(Registration.id.in_(registrations))).all()) if registrations else {}
    rows = [_undelivered(row, slugs.get(row.registration_id)) for row in (*messages, *reminders)]
    return sorted(rows, key=lambda u: (u.at, u.source == MAIL, u.id), reverse=True)


def _undelivered(row: OutboxMessage | Reminder, slug: str | None) -> Undelivered:
    if isinstance(row, OutboxMessage):
        return Undelivered(MAIL, row.id, row.kind, row.recipient, outbox.state(row),
                           row.attempts, row.last_error, row.failed_at or row.send_after, slug)
    started = row.session.start_utc <= clock.now()
    return Undelivered(REMINDER, row.id, "reminder", row.registration.email,
                       reminder_queries.state(row), row.attempts, row.note,
                       row.failed_at or row.retry_at or row.due_at, slug,
                       can_retry=not started)


def _of_event(event_id: int, source: str, row_id: int) -> tuple[Event, OutboxMessage | Reminder]:
    model = {MAIL: OutboxMessage, REMINDER: Reminder}.get(source)
    # Locked until the change commits: a sender's claim (SKIP LOCKED) passes
    # it by meanwhile, so nothing can send it between the checks and the change.
    row = db.session.get(model, row_id, with_for_update=True, populate_existing=True) \
        if model is not None else None
    registration = db.session.get(Registration, row.registration_id) \
        if row is not None and row.registration_id is not None else None
    if registration is None or registration.event_id != event_id:
        raise NotFound(gettext("No such message for this event."))
    if row.sent_at is not None:
        raise Conflict(gettext("This message was delivered already."))
    if isinstance(row, Reminder) and reminder_queries.state(row) not in ("failed", "retrying"):
        raise Conflict(gettext("This reminder has not failed; it goes out at its time."))
    if db.session.scalar(sa.select(claims.held(model)).where(model.id == row.id)):
        # Its sender would record its answer over ours.
        raise Conflict(gettext("A sender is trying this message right now; look again in a "
                               "few minutes."))
    return db.session.get(Event, event_id), row
