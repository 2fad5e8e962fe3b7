"""Compose a new registrant's confirmation (or waiting-list notice), after the seat lock.

:func:`webinars.registrations.seats.register` decides the seat and commits
with ``notice_due`` set; composing the mail (templates, calendar
invitations) and planning a confirmed seat's reminders take time that must
not be spent holding the event's seat lock, so they happen here, right after
the commit (the delivery work, webinars.worker.drain), or at the scheduler's
next sweep if the process died in between: the flag is the promise, kept in
the same commit as the seat.

A later change supersedes the notice: promotion and cancellation clear the
flag in their own transaction and send their own mail.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from .. import locks
from ..core.db import db
from ..core.transactions import claim, write_transaction
from ..models import Event, EventStatus, Registration, RegistrationStatus
from ..reminders import planning
from . import mails
from .queries import waitlist_positions

BATCH = 200
log = logging.getLogger(__name__)


def process_due(limit: int = BATCH) -> int:
    """Queue the mail of registrations whose notice is due, a batch per transaction.

    One claim (a conditional UPDATE; ``SKIP LOCKED`` on PostgreSQL, so two
    processes take different rows), one load, one bulk insert into the
    outbox and one commit for the whole batch: the promise and its mail
    change hands atomically. A confirmed seat's reminders are planned in
    the same transaction, under the events' reminder lock (see
    webinars.locks): an organizer's change to the schedule waits for the
    batch, or the batch for it, so reminders follow the sessions as they
    are; registrations are not held up. The events are locked before their
    registrations are claimed, in the order an organizer's change takes
    them (event, then rows that refer to its registrations); the other way
    round, each waited for the other.
    """
    with write_transaction() as conn:
        events = db.session.scalars(
            sa.select(Registration.event_id).where(Registration.notice_due).distinct()).all()
        locks.reminders(events)(conn)
        ids = claim(Registration, Registration.notice_due, Registration.event_id.in_(events),
                    order_by=(Registration.id,), limit=limit,
                    values={"notice_due": False}) if events else []
        if not ids:
            return 0
        _plan_reminders(ids)
        batch = db.session.scalars(
            sa.select(Registration).where(Registration.id.in_(ids))
            .options(sa.orm.joinedload(Registration.event).selectinload(Event.sessions))
            .order_by(Registration.id)).unique().all()
        positions: dict[int, dict[int, int]] = {}
        for registration in batch:
            if registration.status == RegistrationStatus.CANCELLED:
                continue
            places = positions.get(registration.event_id)
            if places is None:
                places = positions[registration.event_id] = \
                    waitlist_positions(registration.event_id)
            _compose(registration, places.get(registration.id))
    return len(ids)


def _plan_reminders(ids: list[int]) -> None:
    confirmed = db.session.execute(
        sa.select(Registration.id, Registration.event_id, Registration.confirmed_at)
        .where(Registration.id.in_(ids), Registration.status == RegistrationStatus.CONFIRMED)
    ).all()
    if not confirmed:
        return
    offsets = dict(db.session.execute(
        sa.select(Event.id, Event.reminder_offsets_minutes).where(
            Event.id.in_({row.event_id for row in confirmed}),
            Event.status == EventStatus.PUBLISHED)).all())
    for row in confirmed:
        if row.event_id in offsets:  # a cancelled event gets none
            planning.plan_for(row.id, row.event_id, offsets[row.event_id] or [],
                               since=row.confirmed_at)


def _compose(registration: Registration, position: int | None) -> None:
    # One registration whose mail cannot be built must not hold up the rest
    # of the batch for ever (its claim is kept, so it is not retried in a
    # loop); the error is logged with the registration's id for an operator.
    # Composing only adds outbox rows to the session, unflushed: dropping
    # those of a failed registration undoes it without a savepoint, whose
    # two round trips and flush per notice doubled the cost of a batch.
    before = set(db.session.new)
    try:
        with db.session.no_autoflush:
            mails.registered(registration, position)
    except Exception:
        for row in set(db.session.new) - before:
            db.session.expunge(row)
        log.exception("could not compose the notice of registration %s", registration.id)
