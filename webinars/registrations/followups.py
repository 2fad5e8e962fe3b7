"""Follow-up mail: an organizer's message for after the event, to one audience, sent once.

A follow-up is written now and sent now or at a time relative to the
event's end (the recording is often ready a day later). Its audience is
decided when it is sent, by the attendance known then: ``attended`` (at
least one session, by webinars.registrations.attendance), ``absent``
(confirmed, and at none), or everyone ``confirmed``. The delivery work
(webinars.worker.drain) claims a due follow-up with a conditional update
in the transaction that queues its mails, so it goes out once however many
processes run; each mail's Message-ID names the follow-up and the person.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext, lazy_gettext

from .. import audit, locks
from ..core import clock, validation
from ..core.db import db
from ..core.errors import Conflict, NotFound, ValidationError
from ..core.transactions import end_read, write_transaction
from ..models import Event, EventStatus, FollowUp, Organizer, Registration, RegistrationStatus
from . import attendance, mails
from .broadcast import MAX_BODY

AUDIENCES = {
    "attended": lazy_gettext("Those who attended"),
    "absent": lazy_gettext("Those who were confirmed and did not attend"),
    "confirmed": lazy_gettext("Everyone confirmed"),
}
MAX_DELAY_MINUTES = 60 * 24 * 60


def schedule(event_id: int, audience: object, subject: object, body: object, *,
             after_end_minutes: object = None, actor: Organizer | str | None = None
             ) -> FollowUp:
    """Keep a follow-up: due now (``after_end_minutes`` None) or that long after the end."""
    if audience not in AUDIENCES:
        raise ValidationError(gettext("Choose who gets the message: %(codes)s.",
                                      codes=", ".join(AUDIENCES)), "audience")
    subject = validation.text(subject, "subject", max_length=200, required=True)
    body = validation.text(body, "body", max_length=MAX_BODY, required=True, multiline=True)
    delay = None if after_end_minutes in (None, "") else validation.integer(
        after_end_minutes, "after_end_minutes", minimum=0, maximum=MAX_DELAY_MINUTES)
    with write_transaction(locks.event(event_id)):
        event = db.session.get(Event, event_id)
        if event is None:
            raise NotFound(gettext("No such event."))
        if event.ends_at is None:
            raise Conflict(gettext("This event has no scheduled session."))
        send_at = clock.now() if delay is None else event.ends_at + timedelta(minutes=delay)
        row = FollowUp(event_id=event_id, audience=audience, subject=subject, body=body,
                       after_end_minutes=delay, send_at=send_at,
                       organizer_id=actor.id if isinstance(actor, Organizer) else None)
        db.session.add(row)
        if send_at <= clock.now():  # due already: its mails go with it, in this transaction
            db.session.flush()
            _queue(row, event, send_at)
        audit.record(event, "follow-up", "", f"{subject} (to {audience}, "
                     f"{'now' if delay is None else f'{delay} min after the end'})", actor)
    return row


def recipients(event: Event, audience: str) -> list[Registration]:
    """Who a follow-up to ``audience`` goes to, by the attendance known now."""
    came = set().union(*attendance.by_session(event.id).values())
    rows = db.session.scalars(sa.select(Registration).where(
        Registration.event_id == event.id).order_by(Registration.id))
    if audience == "attended":
        return [r for r in rows if r.id in came]
    confirmed = [r for r in rows if r.status == RegistrationStatus.CONFIRMED]
    if audience == "absent":
        return [r for r in confirmed if r.id not in came]
    return confirmed


def send_due(now: datetime | None = None) -> int:
    """Queue the mails of every due follow-up, each in its own claiming transaction.

    The scheduler's mail poll runs this (every two seconds); a follow-up
    due when written was sent with it.
    """
    now = now or clock.now()
    due = db.session.scalars(sa.select(FollowUp.id).where(
        FollowUp.sent_at.is_(None), FollowUp.send_at <= now).order_by(FollowUp.send_at)).all()
    end_read()  # each follow-up is claimed in a transaction of its own
    sent = 0
    for follow_up_id in due:
        with write_transaction():
            claimed = db.session.execute(
                sa.update(FollowUp).where(FollowUp.id == follow_up_id,
                                          FollowUp.sent_at.is_(None))
                .values(sent_at=now)).rowcount
            if not claimed:
                continue  # another process took it
            row = db.session.get(FollowUp, follow_up_id)
            event = db.session.get(Event, row.event_id)
            if event.status == EventStatus.CANCELLED:  # nothing to follow up
                row.recipients = 0
                continue
            if row.after_end_minutes is not None and event.ends_at is not None:
                # The sessions may have moved since it was written: after the end as it is.
                due = event.ends_at + timedelta(minutes=row.after_end_minutes)
                if due > now:
                    row.sent_at, row.send_at = None, due
                    continue
            _queue(row, event, now)
            sent += 1
    return sent


def _queue(row: FollowUp, event: Event, now: datetime) -> None:
    people = recipients(event, row.audience)
    for registration in people:
        mails.follow_up(registration, row)
    row.sent_at, row.recipients = now, len(people)


def of_event(event_id: int) -> list[FollowUp]:
    """An event's follow-ups, newest first."""
    return list(db.session.scalars(sa.select(FollowUp).where(
        FollowUp.event_id == event_id).order_by(FollowUp.send_at.desc(), FollowUp.id.desc())))
