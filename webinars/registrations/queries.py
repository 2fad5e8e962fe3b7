"""Every rule that reads registrations, once: seats left, open or closed, the order of arrival.

Doors ask here instead of writing SQL; services call the same functions
inside their locked transactions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext

from ..core import clock, countries, validation
from ..core.db import db
from ..core.errors import NotFound
from ..models import (
    Event,
    EventStatus,
    Registration,
    RegistrationStatus,
)
from . import attendance

CONFIRMED = RegistrationStatus.CONFIRMED
WAITLISTED = RegistrationStatus.WAITLISTED
CANCELLED = RegistrationStatus.CANCELLED
PENDING = RegistrationStatus.PENDING
DECLINED = RegistrationStatus.DECLINED

#: The order of arrival, for every list and every door: the moment a person
#: joined the queue (a cancelled registration that comes back joins again at
#: the back), then the row id. The waiting list is this order too.
ARRIVAL = (Registration.queued_at, Registration.id)


@dataclass(frozen=True)
class Seats:
    """An event's seats: confirmed rows, people waiting, and the capacity (None: unlimited)."""

    confirmed: int
    waiting: int
    capacity: int | None

    @property
    def left(self) -> int | None:
        """Seats nobody holds (never below 0); None when the capacity is unlimited."""
        return None if self.capacity is None else max(self.capacity - self.confirmed, 0)

    @property
    def free(self) -> bool:
        """Whether one more person can be confirmed now."""
        return self.capacity is None or self.confirmed < self.capacity


def seats(event: Event) -> Seats:
    """The seats of one event, counted now."""
    return seats_of([event])[event.id]


def seats_of(events: list[Event]) -> dict[int, Seats]:
    """{event id: Seats} for many events, in one query."""
    if not events:
        return {}
    rows = db.session.execute(
        sa.select(Registration.event_id, Registration.status, sa.func.count())
        .where(Registration.event_id.in_([e.id for e in events]),
               Registration.status.in_([CONFIRMED, WAITLISTED]))
        .group_by(Registration.event_id, Registration.status))
    counts: Counter = Counter()
    for event_id, status, count in rows:
        counts[(event_id, status)] = count
    return {e.id: Seats(counts[(e.id, CONFIRMED)], counts[(e.id, WAITLISTED)], e.capacity)
            for e in events}


def pending_counts(event_ids: list[int]) -> dict[int, int]:
    """{event id: applications waiting for an organizer's decision}, in one query."""
    if not event_ids:
        return {}
    return dict(db.session.execute(
        sa.select(Registration.event_id, sa.func.count())
        .where(Registration.event_id.in_(event_ids), Registration.status == PENDING)
        .group_by(Registration.event_id)).all())


def confirmed_count(event_id: int) -> int:
    """Seats taken: the count of confirmed rows, the only truth about seats."""
    return db.session.scalar(sa.select(sa.func.count()).where(
        Registration.event_id == event_id, Registration.status == CONFIRMED))


def is_open(event: Event) -> bool:
    """Registration is open: published, and before the deadline."""
    return open_now(event.status, event.registration_closes_at, event.starts_at, event.ends_at)


def open_now(status: str, closes_at, starts_at, ends_at) -> bool:
    """The rule of :func:`is_open` on the columns themselves (for a locked row read as a tuple).

    Published, and before the deadline, which defaults to the first
    session's start, and is never after the last one's end
    (Event.registration_deadline says the same).
    :func:`open_clause` is the same rule in SQL, for the deciding statement.
    """
    deadline = Event.deadline(closes_at, starts_at, ends_at)
    return status == EventStatus.PUBLISHED and (deadline is None or clock.now() < deadline)


def can_promote(event: Event) -> bool:
    """Someone waiting may be given a seat: the event is published and not over.

    Unlike registration this holds after registration has closed: seats
    freed by cancellations are given then. (A seat must also be free:
    :attr:`Seats.free`.)
    """
    return event.status == EventStatus.PUBLISHED and not event.has_ended(clock.now())


def open_clause(now):
    """:func:`open_now` in SQL, at the instant ``now`` (a bind parameter)."""
    deadline = sa.func.coalesce(Event.registration_closes_at, Event.starts_at)
    return sa.and_(Event.status == EventStatus.PUBLISHED,
                   sa.or_(deadline.is_(None), deadline > now),
                   sa.or_(Event.ends_at.is_(None), Event.ends_at > now))


def verifies_email(event: Event) -> bool:
    """A registrant must confirm their address before a seat is decided.

    The event's own ``verify_email`` when the organizer set it, else the
    installation's rule: by default on when seats are limited (where a
    script could take them all with made-up addresses), off for unlimited
    webinars. :func:`verifies_clause` is the same rule in SQL.
    """
    if event.verify_email is not None:
        return event.verify_email
    return _by_rule(verify_rule(), event.capacity is not None)


def verifies_clause(rule: str):
    """:func:`verifies_email` in SQL, under the installation's rule ``rule``."""
    default = {"limited": Event.capacity.is_not(None), "always": sa.true(),
               "never": sa.false()}[rule]
    return sa.case((Event.verify_email.is_not(None), Event.verify_email), else_=default)


def verify_rule() -> str:
    """The installation's VERIFY_EMAIL rule (checked when the app starts)."""
    return current_app.config["VERIFY_EMAIL"]


def _by_rule(rule: str, limited: bool) -> bool:
    return rule == "always" or (rule == "limited" and limited)


def by_token(token: str) -> Registration:
    """The registration with this manage token, or NotFound."""
    registration = None
    if validation.is_token(token):
        registration = db.session.scalar(sa.select(Registration).where(
            Registration.token == token))
    if registration is None:
        raise NotFound(gettext("No registration with this link. It may have been mistyped."))
    return registration


def of_event(event: Event, registration_id: int) -> Registration:
    """One registration of this event by its row id (organizers' URLs), or NotFound."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.event_id != event.id:
        raise NotFound(gettext("No such registration in this event."))
    return registration


def by_addresses(event_id: int, emails: list[str]) -> list[Registration]:
    """This event's registrations of these addresses (compared as registration does)."""
    keys = {email.lower() for email in emails}
    return list(db.session.scalars(sa.select(Registration).where(
        Registration.event_id == event_id, Registration.email_key.in_(keys))
        .order_by(*ARRIVAL)))


def answered_keys(event_id: int) -> set[str]:
    """The question keys anyone at this event has answered, the removed questions' too."""
    return {key for answers in db.session.scalars(
        sa.select(Registration.answers).where(Registration.event_id == event_id))
        for key in answers or {}}


def answer_sets(event_id: int) -> list[dict]:
    """Every registration's answers at this event (for the columns of removed questions)."""
    return list(db.session.scalars(
        sa.select(Registration.answers).where(Registration.event_id == event_id)))


def in_arrival_order(event_id: int, statuses: list[str] | None = None) -> list[Registration]:
    """An event's registrations (of ``statuses``, default all) in the order of arrival."""
    query = sa.select(Registration).where(Registration.event_id == event_id)
    if statuses:
        query = query.where(Registration.status.in_(statuses))
    return list(db.session.scalars(query.order_by(*ARRIVAL)))


def active(event_id: int) -> list[Registration]:
    """Confirmed and waiting registrations of an event, in the order of arrival."""
    return in_arrival_order(event_id, [CONFIRMED, WAITLISTED])


def concerned(event_id: int) -> list[Registration]:
    """Everyone a change of the event concerns: confirmed, waiting, and applications
    still under review; in the order of arrival."""
    return in_arrival_order(event_id, [CONFIRMED, WAITLISTED, PENDING])


def waitlist_position(registration: Registration) -> int | None:
    """1 for the first person waiting; None when not waiting."""
    if registration.status != WAITLISTED:
        return None
    ahead = db.session.scalar(sa.select(sa.func.count()).where(
        Registration.event_id == registration.event_id,
        Registration.status == WAITLISTED,
        sa.tuple_(*ARRIVAL) < sa.tuple_(registration.queued_at, registration.id)))
    return ahead + 1


def waitlist_positions(event_id: int) -> dict[int, int]:
    """{registration id: place on the waiting list} for one event, in one query."""
    waiting = db.session.scalars(
        sa.select(Registration.id)
        .where(Registration.event_id == event_id, Registration.status == WAITLISTED)
        .order_by(*ARRIVAL))
    return {registration_id: n for n, registration_id in enumerate(waiting, start=1)}


def first_waiting(event_id: int, limit: int) -> list[Registration]:
    """The first ``limit`` people on the waiting list, in order."""
    return list(db.session.scalars(
        sa.select(Registration)
        .where(Registration.event_id == event_id, Registration.status == WAITLISTED)
        .order_by(*ARRIVAL).limit(limit)))


def names(registration_ids: set[int]) -> dict[int, str]:
    """{registration id: the registrant's name}, for labels in the audit trail."""
    if not registration_ids:
        return {}
    return dict(db.session.execute(
        sa.select(Registration.id, Registration.name)
        .where(Registration.id.in_(registration_ids))).all())


@dataclass(frozen=True)
class CountryCount:
    """One country's line in the participation report."""

    code: str
    confirmed: int
    waiting: int
    attended: int


def by_country(event_id: int) -> list[CountryCount]:
    """Confirmed, waiting and attended-at-least-once per country code, biggest first."""
    rows = db.session.execute(
        sa.select(Registration.id, Registration.country, Registration.status)
        .where(Registration.event_id == event_id)).all()
    came = set().union(*attendance.by_session(event_id).values())
    confirmed, waiting, attended = Counter(), Counter(), Counter()
    for registration_id, country, status in rows:
        if status == CONFIRMED:
            confirmed[country] += 1
        elif status == WAITLISTED:
            waiting[country] += 1
        if registration_id in came:
            attended[country] += 1
    codes = set(confirmed) | set(waiting) | set(attended)
    # Ties in the order of the country's English name, as the report shows
    # it; registrants who gave no country come after them.
    return sorted((CountryCount(code, confirmed[code], waiting[code], attended[code])
                   for code in codes),
                  key=lambda c: (-c.confirmed, -c.waiting, not c.code,
                                 countries.country_name(c.code, "en") or c.code))
