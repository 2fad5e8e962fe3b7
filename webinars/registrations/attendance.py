"""Who came: organizers check registrants in, and the meeting platform's report counts minutes.

Both feed one rule, :func:`attended`: a registrant attended a session when
an organizer checked them in, or when the platform's report counted them
present for at least the event's threshold (by default half) of the
session's length. Every count of attendance (the registrants table, the
report, the CSV, the API, certificates, follow-up mail) asks here.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

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
from .platform_reports import ReportRow


def session_minutes(session: EventSession) -> int:
    """A session's scheduled length in whole minutes."""
    return max(int((session.end_utc - session.start_utc).total_seconds() // 60), 1)


def attended(row: Attendance | None, session: EventSession, threshold: int) -> bool:
    """The rule: checked in, or present for at least ``threshold`` percent of the session."""
    if row is None:
        return False
    if row.checked_in:
        return True
    return row.minutes is not None and row.minutes * 100 >= threshold * session_minutes(session)


def _session_held(event_id: int, session_id: int, not_yet: str) -> tuple[Event, EventSession]:
    """The event and its session, once the session has started and if it takes place."""
    event = db.session.get(Event, event_id)
    session = db.session.get(EventSession, session_id)
    if event is None or session is None or session.event_id != event_id:
        raise NotFound(gettext("No such session in this event."))
    if session.called_off:
        raise Conflict(gettext("This session is cancelled."))
    if session.start_utc > clock.now():
        raise Conflict(not_yet)
    return event, session


def _rows_of(event_id: int) -> list[Attendance]:
    return list(db.session.scalars(
        sa.select(Attendance).join(EventSession, EventSession.id == Attendance.session_id)
        .where(EventSession.event_id == event_id)))


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
    """Registration ids an organizer checked in for a session (the check-in page's ticks)."""
    return set(db.session.scalars(
        sa.select(Attendance.registration_id).where(Attendance.session_id == session_id,
                                                    Attendance.checked_in)))


def reported_minutes(session_id: int) -> dict[int, int]:
    """{registration id: minutes the platform's report counted} for a session."""
    return dict(db.session.execute(
        sa.select(Attendance.registration_id, Attendance.minutes)
        .where(Attendance.session_id == session_id, Attendance.minutes.is_not(None))).all())


def counts(event_id: int) -> dict[int, int]:
    """{registration id: how many sessions they attended} for one event."""
    result: Counter = Counter()
    for registrations in by_session(event_id).values():
        result.update(registrations)
    return dict(result)


def by_session(event_id: int) -> dict[int, set[int]]:
    """{session id: registration ids that attended it} for one event, by :func:`attended`."""
    event = db.session.get(Event, event_id)
    # A session that did not take place was attended by nobody.
    sessions = {s.id: s for s in event.scheduled_sessions}
    result: dict[int, set[int]] = {}
    for row in _rows_of(event_id):
        if row.session_id in sessions and attended(row, sessions[row.session_id],
                                                   event.attendance_threshold):
            result.setdefault(row.session_id, set()).add(row.registration_id)
    return result


def minutes_of(event_id: int) -> dict[int, int]:
    """{registration id: minutes the platforms' reports counted, all sessions} for one event."""
    result: Counter = Counter()
    for row in _rows_of(event_id):
        result[row.registration_id] += row.minutes or 0
    return dict(result)


def record(event_id: int, session_id: int, present: Iterable[int],
           actor: Organizer | None) -> tuple[int, int]:
    """Make the check-ins of one session exactly ``present`` (registration ids).

    Only the people :func:`roll` lists can be checked in, and only once the
    session has started. Each change goes to the audit trail. Returns
    (checked in, unchecked).
    """
    wanted = set(present)
    with write_transaction(locks.event(event_id)):
        event, session = _session_held(event_id, session_id, gettext(
            "This session has not started yet; check people in once it has."))
        now = clock.now()
        people = {r.id: r for r in roll(event_id, session_id)}
        strangers = wanted - set(people)
        if strangers:
            raise Conflict(gettext("Someone on the list is no longer registered; reload the "
                                   "page and try again."))
        existing = present_ids(session_id)
        added, removed = wanted - existing, existing - wanted
        rows = {r.registration_id: r for r in db.session.scalars(
            sa.select(Attendance).where(Attendance.session_id == session_id))}
        for registration_id in sorted(added):
            row = rows.get(registration_id)
            if row is None:  # a row the platform's report made is ticked instead
                row = Attendance(registration_id=registration_id, session_id=session_id)
                db.session.add(row)
            row.checked_in, row.checked_in_at = True, now
            row.organizer_id = actor.id if actor is not None else None
        for registration_id in removed:
            row = rows[registration_id]
            if row.minutes is None:
                db.session.delete(row)
            else:  # the report's minutes stay; only the tick goes
                row.checked_in = False
        for registration_id in sorted(added | removed):
            came = registration_id in added
            audit.record(event, f"registrations[{registration_id}].attended[{session_id}]",
                         "no" if came else "yes", "yes" if came else "no", actor, at=now)
    return len(added), len(removed)



# --- the platform's report ---------------------------------------------------

_ON_THE_ROLL = (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED,
                RegistrationStatus.CANCELLED)

#: What an import does with a person of the report.
OUTCOMES = ("recorded", "unchanged", "unmatched", "ignored")


@dataclass(frozen=True)
class Person:
    """One address of a report: its rows summed, and whom it is (or would be) recorded for."""

    email: str
    name: str
    lines: list[int]
    minutes: int
    registration_id: int | None
    registrant: str
    outcome: str
    attended: bool

    def as_dict(self) -> dict:
        """The API's row."""
        return {"email": self.email, "name": self.name, "lines": self.lines,
                "minutes": self.minutes, "registration": self.registrant or None,
                "outcome": self.outcome, "attended": self.attended}


@dataclass(frozen=True)
class Imported:
    """What an import did (or, as a preview, would do), person by person."""

    people: list[Person] = field(default_factory=list)
    done: bool = False

    def count(self, outcome: str) -> int:
        """How many people have this outcome."""
        return sum(1 for person in self.people if person.outcome == outcome)


def import_report(event_id: int, session_id: int, report: list[ReportRow], *,
                  dry_run: bool, matches: dict[str, int | None] | None = None,
                  actor: Organizer | str | None = None) -> Imported:
    """Record the minutes of a platform's report for one session; a dry run only says what.

    Rows are matched to the event's registrants by address, compared as
    registration compares them (case-insensitive); the rows of one address
    (rejoins) are summed, and never count more than the session's length.
    ``matches`` {address: registration id, or None to ignore} are the
    organizer's choices for addresses the report has and no registration
    does (a personal address, a colleague's laptop). The minutes replace
    what an earlier import recorded, so importing the same file again
    changes nothing. Rows without an address cannot be matched and are
    listed as they are.
    """
    matches = {k.lower(): v for k, v in (matches or {}).items()}
    with write_transaction(locks.event(event_id)):
        event, session = _session_held(event_id, session_id, gettext(
            "This session has not started yet; import its report once it has."))
        # Whoever had a seat, or had one and cancelled; not applications, pending or declined.
        registrants = {r.email_key: r for r in db.session.scalars(
            sa.select(Registration).where(Registration.event_id == event_id,
                                          Registration.status.in_(_ON_THE_ROLL)))}
        by_id = {r.id: r for r in registrants.values()}
        existing = {r.registration_id: r for r in db.session.scalars(
            sa.select(Attendance).where(Attendance.session_id == session_id))}
        length = session_minutes(session)
        groups: dict[object, list[ReportRow]] = {}  # a registration's id, or an address
        how: dict[object, str | None] = {}
        for key, rows in _by_address(report).items():
            registration = registrants.get(key)
            outcome = None
            if registration is None and key in matches:
                registration = by_id.get(matches[key]) if matches[key] is not None else None
                outcome = None if registration is not None else "ignored"
            # Two addresses of one person (one matched by hand) add up.
            group = registration.id if registration is not None else key
            groups.setdefault(group, []).extend(rows)
            how.setdefault(group, outcome)
        people = []
        for group, rows in groups.items():
            minutes = min(math.floor(sum(r.minutes for r in rows) + 1e-9), length)
            registration = by_id.get(group) if isinstance(group, int) else None
            outcome = how[group]
            if registration is None:
                outcome = outcome or "unmatched"
            else:
                row = existing.get(registration.id)
                outcome = "unchanged" if row is not None and row.minutes == minutes \
                    else "recorded"
                if not dry_run and outcome == "recorded":
                    if row is None:
                        row = Attendance(registration_id=registration.id,
                                         session_id=session_id, checked_in=False)
                        db.session.add(row)
                        existing[registration.id] = row
                    row.minutes = minutes
            probe = Attendance(checked_in=False, minutes=minutes)
            came = registration is not None and (
                attended(existing.get(registration.id), session, event.attendance_threshold)
                or attended(probe, session, event.attendance_threshold))
            people.append(Person(rows[0].email.strip() or "", rows[0].name,
                                 [r.line for r in rows], minutes,
                                 registration.id if registration else None,
                                 registration.name if registration else "", outcome, came))
        recorded = sum(1 for p in people if p.outcome == "recorded")
        if not dry_run and recorded:
            audit.record(event, f"sessions[{session_id}].attendance", "",
                         f"{recorded} recorded from the platform's report", actor)
    return Imported(people, done=not dry_run)


def _by_address(report: list[ReportRow]) -> dict[str, list[ReportRow]]:
    grouped: dict[str, list[ReportRow]] = {}
    for row in report:
        key = row.email.strip().lower() or f"#{row.line}"  # no address: a row of its own
        grouped.setdefault(key, []).append(row)
    return grouped


# --- the report ----------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """Confirmed, attended and absent: of one session or the whole event, of one country."""

    confirmed: int
    attended: int

    @property
    def absent(self) -> int:
        """Confirmed and not there."""
        return max(self.confirmed - self.attended, 0)


@dataclass(frozen=True)
class Report:
    """The attendance report: per session, in total, and by country."""

    sessions: list[tuple[EventSession, Line]]
    total: Line
    #: {country code: (per session id: Line, total: Line)}
    countries: dict[str, tuple[dict[int, Line], Line]]


def report(event: Event) -> Report:
    """Who was confirmed and who attended, session by session and by country.

    "Attended" in total is at least one session; the confirmed are those
    confirmed now. Someone checked in who has since cancelled counts as
    attended, not as confirmed, so a session's attended may exceed the
    confirmed.
    """
    rows = db.session.execute(
        sa.select(Registration.id, Registration.country, Registration.status)
        .where(Registration.event_id == event.id)).all()
    confirmed = {r.id for r in rows if r.status == RegistrationStatus.CONFIRMED}
    country = {r.id: r.country for r in rows}
    came = by_session(event.id)
    sessions = event.scheduled_sessions
    anyone = set().union(*[came.get(s.id, set()) for s in sessions]) if sessions else set()

    def line(people: set[int], present: set[int]) -> Line:
        return Line(len(people & confirmed), len(present & people))

    everyone = set(country)
    countries = {}
    for code in sorted({country[i] for i in confirmed | anyone}):
        people = {i for i in everyone if country[i] == code}
        countries[code] = ({s.id: line(people, came.get(s.id, set())) for s in sessions},
                           line(people, anyone))
    return Report([(s, line(everyone, came.get(s.id, set()))) for s in sessions],
                  line(everyone, anyone), countries)


def qualifies(event: Event, attended_sessions: int) -> bool:
    """The certificate rule: attended at least the event's number of sessions."""
    needed = event.certificate_sessions
    return needed is not None and needed > 0 and attended_sessions >= needed
