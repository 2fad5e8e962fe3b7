"""Who came: organizers check registrants in, session by session."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import gettext

from .. import audit, locks
from ..core import clock
from ..core.db import db
from ..core.errors import Conflict, NotFound
from ..core.transactions import write_transaction
from ..models import (
    Attendance,
    Event,
    EventSession,
    Organizer,
    Registration,
    RegistrationStatus,
)


def roll(event_id: int, session_id: int) -> list[Registration]:
    """Who can be checked in for a session: the confirmed registrants, plus anyone
    already checked in (someone who cancelled after attending stays on the list)."""
    present = sa.select(Attendance.registration_id).where(Attendance.session_id == session_id)
    return list(db.session.scalars(
        sa.select(Registration)
        .where(Registration.event_id == event_id,
               sa.or_(Registration.status == RegistrationStatus.CONFIRMED,
                      Registration.id.in_(present)))
        .order_by(Registration.name, Registration.id)))


def present_ids(session_id: int) -> set[int]:
    """Registration ids checked in for a session."""
    return set(db.session.scalars(
        sa.select(Attendance.registration_id).where(Attendance.session_id == session_id)))


def counts(event_id: int) -> dict[int, int]:
    """{registration id: how many sessions they attended} for one event."""
    rows = db.session.execute(
        sa.select(Attendance.registration_id, sa.func.count())
        .join(Registration, Registration.id == Attendance.registration_id)
        .where(Registration.event_id == event_id)
        .group_by(Attendance.registration_id))
    return {registration_id: count for registration_id, count in rows}


def by_session(event_id: int) -> dict[int, set[int]]:
    """{session id: registration ids checked in} for one event."""
    result: dict[int, set[int]] = {}
    rows = db.session.execute(
        sa.select(Attendance.session_id, Attendance.registration_id)
        .join(EventSession, EventSession.id == Attendance.session_id)
        .where(EventSession.event_id == event_id))
    for session_id, registration_id in rows:
        result.setdefault(session_id, set()).add(registration_id)
    return result


def record(event_id: int, session_id: int, present: Iterable[int],
           actor: Organizer | None) -> tuple[int, int]:
    """Make the check-ins of one session exactly ``present`` (registration ids).

    Only the people :func:`roll` lists can be checked in, and only once the
    session has started. Each change goes to the audit trail. Returns
    (checked in, unchecked).
    """
    wanted = set(present)
    with write_transaction(locks.event(event_id)):
        event = db.session.get(Event, event_id)
        session = db.session.get(EventSession, session_id)
        if event is None or session is None or session.event_id != event_id:
            raise NotFound(gettext("No such session in this event."))
        if session.called_off:
            raise Conflict(gettext("This session is cancelled."))
        now = clock.now()
        if session.start_utc > now:
            raise Conflict(gettext("This session has not started yet; check people in once "
                                   "it has."))
        people = {r.id: r for r in roll(event_id, session_id)}
        strangers = wanted - set(people)
        if strangers:
            raise Conflict(gettext("Someone on the list is no longer registered; reload the "
                                   "page and try again."))
        existing = present_ids(session_id)
        added, removed = wanted - existing, existing - wanted
        for registration_id in sorted(added):
            db.session.add(Attendance(registration_id=registration_id, session_id=session_id,
                                      checked_in_at=now,
                                      organizer_id=actor.id if actor is not None else None))
        if removed:
            db.session.execute(sa.delete(Attendance).where(
                Attendance.session_id == session_id,
                Attendance.registration_id.in_(removed)))
        for registration_id in sorted(added | removed):
            came = registration_id in added
            audit.record(event, f"registrations[{registration_id}].attended[{session_id}]",
                         "no" if came else "yes", "yes" if came else "no", actor, at=now)
    return len(added), len(removed)

