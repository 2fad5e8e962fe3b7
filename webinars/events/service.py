"""Create, edit, reschedule and cancel events: the one service every door calls.

Each public function validates its whole input before it writes anything,
makes its change in one write transaction under the event lock (registrants'
mail and reminders included: all or nothing) and raises a
:mod:`webinars.core.errors` error for the door to translate.

A session keeps what the organizer typed (wall clock in the event's zone)
and the UTC instant derived from it; the wall clock wins when a zone's rules
change (:func:`refresh_timezones`).
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext, ngettext
from sqlalchemy.exc import IntegrityError

from .. import audit, locks
from ..core import clock, languages, timezones, validation
from ..core.db import db
from ..core.errors import BadRequest, Conflict, DomainError, NotFound, ValidationError
from ..core.transactions import end_read, write_transaction
from ..models import Admission, Event, EventSession, EventStatus, Organizer, SessionStatus
from ..registrations import mails, queries, questions, seats
from ..reminders import planning

log = logging.getLogger(__name__)

MAX_SESSIONS = 50
MAX_SESSION_HOURS = 24 * 7
MAX_CAPACITY = 1_000_000
MAX_OFFSET_MINUTES = 60 * 24 * 60

EDITABLE = {
    "title", "slug", "description", "timezone", "capacity", "status",
    "registration_closes_at", "sessions", "join_url", "reminder_offsets_minutes",
    "verify_email", "language", "translations", "questions", "admission", "invite_only",
    "allowed_domains", "admit_invited", "attendance_threshold", "certificate_sessions",
    "issuer", "retention_days", "privacy_notice",
}
# Fields a client may send back unchanged from a GET; they are ignored.
READ_ONLY = {
    "seats_left", "waitlist_count", "url", "registration_open", "warnings",
}


@dataclass
class SessionSpec:
    """A validated session entry of a request."""

    id: int | None
    title: str
    start: timezones.Instant
    end: timezones.Instant


@dataclass
class Outcome:
    """What a change did: the event, and what the caller should tell people."""

    event: Event
    warnings: list[str] = field(default_factory=list)
    moved: list[EventSession] = field(default_factory=list)
    added: list[EventSession] = field(default_factory=list)
    cancelled: list[EventSession] = field(default_factory=list)
    promoted: list = field(default_factory=list)  # registrations moved up from the waiting list


def create_event(data: object, organizer: Organizer | None) -> Outcome:
    """Create an event from an API-shaped dict; see the README for the fields."""
    data = _check_body(data)
    _require(data, "title", "timezone", "sessions")
    zone_name = _zone_field(data["timezone"])
    warnings: list[str] = []
    event = Event(
        title=validation.text(data["title"], "title", max_length=200, required=True),
        description=validation.text(data.get("description"), "description",
                                    max_length=20_000, multiline=True),
        timezone=zone_name,
        capacity=validation.integer(data.get("capacity"), "capacity", minimum=1,
                                    maximum=MAX_CAPACITY, nullable=True),
        status=_status(data.get("status", EventStatus.PUBLISHED), creating=True),
        join_url=validation.url(data.get("join_url"), "join_url"),
        reminder_offsets_minutes=_offsets(data.get("reminder_offsets_minutes", [1440, 60])),
        verify_email=_verify_email(data.get("verify_email")),
        language=languages.language(data.get("language") or languages.DEFAULT),
        translations=_translations(data.get("translations") or {}),
        **_admission_fields(data),
        **_after_fields(data),
    )
    event.registration_closes_at = _closes_at(data.get("registration_closes_at"), zone_name,
                                              warnings)
    specs = _sessions(data["sessions"], zone_name, existing={})
    if "slug" in data and data["slug"] is not None:
        event.slug = validation.slug(data["slug"])
        _ensure_slug_free(event.slug)
    else:
        event.slug = _free_slug(validation.slugify(event.title))
    outcome = Outcome(event, warnings)
    for spec in specs:
        outcome.warnings.extend(w for w in (spec.start.warning, spec.end.warning) if w)
        session = _new_session(spec)
        event.sessions.append(session)
        outcome.added.append(session)
    refresh_span(event)
    organizer_id = organizer.id if organizer is not None else None
    with _slug_race(), write_transaction():
        if organizer_id is not None:
            event.organizer = db.session.get(Organizer, organizer_id)
        db.session.add(event)
        audit.record(event, "event", "", f"created ({event.status})", event.organizer)
    return outcome


def update_event(event: Event, data: object, *, actor: Organizer | None = None) -> Outcome:
    """Apply a PATCH: any editable field; ``sessions`` replaces the schedule.

    A session entry with an ``id`` updates that session (it keeps its UID),
    one without adds a session, and a scheduled session left out is
    cancelled (kept, so that calendars learn it is cancelled). Registrants
    hear of every change to their calendar in the same transaction, and the
    audit trail records each changed field with ``actor`` (None: the system).
    """
    data = _check_body(data)
    return _locked_update(event.id, lambda _current: data, actor)


def change_questions(event: Event, change, *, actor: Organizer | None = None) -> Outcome:
    """Edit the form's questions: ``change(questions)`` returns the new list.

    It is given the list as it is under the event's lock, so that two
    organizers editing questions at once each change what the other saved.
    """
    return _locked_update(event.id, lambda current: {
        "questions": change(list(current.questions or []))}, actor)


def close_registration(event: Event, *, actor: Organizer | None = None) -> Outcome:
    """Close registration now: ``registration_closes_at`` becomes the current minute.

    Conflict when registration is not open (a draft, a cancelled event, or
    a deadline already past), so that closing twice keeps the first time.
    """

    def closing_now(current: Event) -> dict:
        if current.status == EventStatus.DRAFT:
            raise Conflict(gettext("This event is a draft: nobody can register yet."))
        if current.status == EventStatus.CANCELLED:
            raise Conflict(gettext("This event is cancelled; registration is closed."))
        if not queries.is_open(current):
            raise Conflict(gettext("Registration for this event is closed already."))
        # The start of this minute: already past, so registration is closed at once.
        now = clock.now().replace(second=0, microsecond=0)
        return {"registration_closes_at": timezones.iso_local(now, current.timezone)}

    return _locked_update(event.id, closing_now, actor)


def _locked_update(event_id: int, data_for, actor: Organizer | None) -> Outcome:
    """Run one update under the event's lock; ``data_for(event)`` gives the PATCH body."""
    actor_id = actor.id if actor is not None else None
    with _slug_race(), write_transaction(locks.event(event_id)):
        event = db.session.get(Event, event_id)
        if event is None:
            raise NotFound(gettext("No such event."))
        outcome = Outcome(event)
        before = audit.describe(event)
        _apply_update(event, data_for(event), outcome)
        actor = db.session.get(Organizer, actor_id) if actor_id is not None else None
        audit.record_changes(event, before, audit.describe(event), actor)
        db.session.flush()  # a slug taken meanwhile fails here, inside the race guard
    return outcome


def _apply_update(event: Event, data: dict, outcome: Outcome) -> None:
    if event.status == EventStatus.CANCELLED:
        raise Conflict(gettext("This event is cancelled and can no longer be changed."))
    zone_name = _zone_field(data["timezone"]) if "timezone" in data else event.timezone
    # Validate everything first so that a bad field changes nothing.
    new: dict = {}
    if "title" in data:
        new["title"] = validation.text(data["title"], "title", max_length=200, required=True)
    if "description" in data:
        new["description"] = validation.text(data["description"], "description",
                                             max_length=20_000, multiline=True)
    if "capacity" in data:
        new["capacity"] = validation.integer(data["capacity"], "capacity", minimum=1,
                                             maximum=MAX_CAPACITY, nullable=True)
        seats.check_capacity(event, new["capacity"])
    if "status" in data:
        new["status"] = _status(data["status"], creating=False)
    if "join_url" in data:
        new["join_url"] = validation.url(data["join_url"], "join_url")
    if "verify_email" in data:
        new["verify_email"] = _verify_email(data["verify_email"])
    if "language" in data:
        new["language"] = languages.language(data["language"])
    if "translations" in data:
        new["translations"] = _translations(data["translations"])
    new.update(_after_fields(data))
    new.update(_admission_fields({key: data[key] for key in _ADMISSION if key in data},
                                 answered=queries.answered_keys(event.id)))
    if "reminder_offsets_minutes" in data:
        new["reminder_offsets_minutes"] = _offsets(data["reminder_offsets_minutes"])
    if "slug" in data and data["slug"] != event.slug:
        new["slug"] = validation.slug(data["slug"])
        _ensure_slug_free(new["slug"])
    if "registration_closes_at" in data:
        new["registration_closes_at"] = _closes_at(data["registration_closes_at"], zone_name,
                                                   outcome.warnings)
    elif zone_name != event.timezone and event.registration_closes_at is not None:
        outcome.warnings.append(gettext("registration_closes_at kept its instant; check it in "
                                        "the new time zone."))
    existing = {s.id: s for s in event.sessions}
    if "sessions" in data:
        specs = _sessions(data["sessions"], zone_name, existing=existing)
    elif zone_name != event.timezone:
        # The organizer means the wall clock: keep it, in the new zone.
        specs = [
            SessionSpec(s.id, s.title,
                        timezones.resolve(s.start_local.isoformat(), zone_name,
                                          f"sessions[{i}].start"),
                        timezones.resolve(s.end_local.isoformat(), zone_name,
                                          f"sessions[{i}].end"))
            for i, s in enumerate(event.scheduled_sessions)
        ]
    else:
        specs = None

    # Now write.
    calendar_visible = any(
        key in new and new[key] != getattr(event, key) for key in ("title", "join_url")
    )
    for key, value in new.items():
        setattr(event, key, value)
    event.timezone = zone_name
    if specs is not None:
        _apply_sessions(event, specs, existing, outcome)
    if calendar_visible:
        for session in event.scheduled_sessions:
            if session not in outcome.moved and session not in outcome.added:
                session.sequence += 1
                outcome.moved.append(session)
    refresh_span(event)
    db.session.flush()
    _follow_schedule(event, outcome,
                     replan=bool({"reminder_offsets_minutes", "status"} & set(new)))
    if "capacity" in new or "registration_closes_at" in new:
        outcome.promoted = seats.fill_free_seats(event)


def _follow_schedule(event: Event, outcome: Outcome, *, replan: bool = False) -> None:
    """Reminders and registrants follow a changed schedule, in the change's transaction."""
    changed = bool(outcome.moved or outcome.added or outcome.cancelled)
    if changed or replan:
        planning.replan(event, outcome.moved)
    if changed:
        mails.schedule_changed(event, outcome.moved, outcome.cancelled, outcome.added,
                               queries.concerned(event.id))


def _apply_sessions(event: Event, specs: list[SessionSpec], existing: dict[int, EventSession],
                    outcome: Outcome) -> None:
    kept: set[int] = set()
    for spec in specs:
        outcome.warnings.extend(w for w in (spec.start.warning, spec.end.warning) if w)
        if spec.id is None:
            session = _new_session(spec)
            event.sessions.append(session)
            outcome.added.append(session)
            continue
        session = existing[spec.id]
        kept.add(spec.id)
        changed = (
            session.start_local != spec.start.local
            or session.end_local != spec.end.local
            or session.start_utc != spec.start.utc
            or session.end_utc != spec.end.utc
            or session.title != spec.title
            or session.status != SessionStatus.SCHEDULED
        )
        if changed:
            session.start_local, session.start_utc = spec.start.local, spec.start.utc
            session.end_local, session.end_utc = spec.end.local, spec.end.utc
            session.title = spec.title
            session.status = SessionStatus.SCHEDULED
            session.sequence += 1
            outcome.moved.append(session)
    for session_id, session in existing.items():
        if session_id not in kept and session.status == SessionStatus.SCHEDULED:
            session.status = SessionStatus.CANCELLED
            session.sequence += 1
            outcome.cancelled.append(session)
    if not any(s.status == SessionStatus.SCHEDULED for s in event.sessions):
        raise ValidationError(gettext("An event needs at least one scheduled session."),
                              "sessions")


def refresh_span(event: Event) -> None:
    """Keep event.starts_at / ends_at equal to its scheduled sessions' span."""
    scheduled = [s for s in event.sessions if s.status == SessionStatus.SCHEDULED]
    event.starts_at = min((s.start_utc for s in scheduled), default=None)
    event.ends_at = max((s.end_utc for s in scheduled), default=None)


# --- helpers ---------------------------------------------------------------


def _check_body(data: object) -> dict:
    if not isinstance(data, dict):
        raise BadRequest(gettext("The request body must be a JSON object."))
    for key in data:
        if key not in EDITABLE and key not in READ_ONLY:
            raise ValidationError(gettext("Unknown field %(name)r.", name=str(key)[:40]),
                                  str(key)[:40])
    return data


def _require(data: dict, *keys: str) -> None:
    for key in keys:
        if data.get(key) in (None, "", []):
            raise ValidationError(gettext("This field is required."), key)


def _zone_field(value: object) -> str:
    return timezones.zone_name(value)


def _status(value: object, *, creating: bool) -> str:
    allowed = {EventStatus.DRAFT, EventStatus.PUBLISHED}
    if not isinstance(value, str) or value not in allowed:
        if creating:
            message = gettext("status must be draft or published.")
        else:
            message = gettext("status must be draft or published (cancel with "
                              "POST /api/v1/events/<slug>/cancel).")
        raise ValidationError(message, "status")
    return EventStatus(value)


def _translations(value: object) -> dict[str, dict[str, str]]:
    """{"km": {"title": ..., "description": ...}}: the event's words in other languages."""
    if not isinstance(value, dict):
        raise ValidationError(gettext('Expected {"km": {"title": "...", "description": "..."}}.'),
                              "translations")
    kept: dict[str, dict[str, str]] = {}
    for code, words in value.items():
        field = f"translations.{code}"[:40]
        languages.language(code, field)
        if not isinstance(words, dict) or set(words) - {"title", "description"}:
            raise ValidationError(gettext("Expected a title and a description."), field)
        entry = {"title": validation.text(words.get("title"), f"{field}.title", max_length=200),
                 "description": validation.text(words.get("description"),
                                                f"{field}.description", max_length=20_000,
                                                multiline=True)}
        if entry["title"] or entry["description"]:
            kept[code] = entry
    return kept


_ADMISSION = ("questions", "admission", "invite_only", "allowed_domains", "admit_invited")
# A domain name in its ASCII form: labels of letters, digits and hyphens.
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
                     r"[a-z][a-z0-9-]{0,61}[a-z0-9]$")


def _admission_fields(data: dict, answered: set[str] = frozenset()) -> dict:
    """Who may register and what they are asked: the fields present in ``data``, checked.

    ``answered``: the question keys the event's registrations hold.
    """
    fields: dict = {}
    if "questions" in data:
        fields["questions"] = questions.read_questions(data["questions"] or [],
                                                       answered=answered)
    if "admission" in data:
        if not isinstance(data["admission"], str) or data["admission"] not in set(Admission):
            raise ValidationError(gettext("admission must be open or approval."), "admission")
        fields["admission"] = Admission(data["admission"])
    for key in ("invite_only", "admit_invited"):
        if key in data:
            if not isinstance(data[key], bool):
                raise ValidationError(gettext("Expected true or false."), key)
            fields[key] = data[key]
    if "allowed_domains" in data:
        fields["allowed_domains"] = _domains(data["allowed_domains"])
    return fields


def _after_fields(data: dict) -> dict:
    """What counts as attended and who earns a certificate: the fields present, checked."""
    fields: dict = {}
    if "attendance_threshold" in data:
        fields["attendance_threshold"] = validation.integer(
            data["attendance_threshold"], "attendance_threshold", minimum=1, maximum=100)
    if "certificate_sessions" in data:
        fields["certificate_sessions"] = validation.integer(
            data["certificate_sessions"], "certificate_sessions", minimum=1,
            maximum=MAX_SESSIONS, nullable=True)
    if "issuer" in data:
        fields["issuer"] = validation.text(data["issuer"], "issuer", max_length=200)
    if "privacy_notice" in data:
        fields["privacy_notice"] = validation.text(data["privacy_notice"], "privacy_notice",
                                                   max_length=10_000, multiline=True)
    if "retention_days" in data:
        fields["retention_days"] = validation.integer(
            data["retention_days"], "retention_days", minimum=0, maximum=3650, nullable=True)
    return fields


def _domains(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 50:
        raise ValidationError(gettext("Expected a list of at most 50 domains."),
                              "allowed_domains")
    domains = []
    for n, item in enumerate(value):
        try:
            domain = item.strip().lstrip("@").lower().encode("idna").decode() \
                if isinstance(item, str) else ""
        except UnicodeError:
            domain = ""
        if not _DOMAIN.fullmatch(domain):
            raise ValidationError(gettext("Expected a domain such as mfa.gov.kh."),
                                  f"allowed_domains[{n}]")
        if domain not in domains:
            domains.append(domain)
    return domains


def _verify_email(value: object) -> bool | None:
    # None leaves it to the installation's rule (by default: on when seats are limited).
    if value is None or isinstance(value, bool):
        return value
    raise ValidationError(gettext("verify_email must be true, false or null (the "
                                  "installation's rule)."), "verify_email")


def _offsets(value: object) -> list[int]:
    if not isinstance(value, list) or len(value) > 10:
        raise ValidationError(gettext("Expected a list of at most 10 numbers of minutes."),
                              "reminder_offsets_minutes")
    result = [
        validation.integer(v, f"reminder_offsets_minutes[{i}]", minimum=1,
                           maximum=MAX_OFFSET_MINUTES)
        for i, v in enumerate(value)
    ]
    return sorted(set(result), reverse=True)


def _closes_at(value: object, zone_name: str, warnings: list[str]):
    if value in (None, ""):
        return None
    instant = timezones.resolve(value, zone_name, "registration_closes_at")
    if instant.warning:
        warnings.append(instant.warning)
    return instant.utc


def _sessions(raw: object, zone_name: str, existing: dict[int, EventSession]) -> list[SessionSpec]:
    if not isinstance(raw, list) or not raw:
        raise ValidationError(gettext("Give at least one session with a start and an end."),
                              "sessions")
    if len(raw) > MAX_SESSIONS:
        raise ValidationError(ngettext("At most %(num)s session per event.",
                                       "At most %(num)s sessions per event.", MAX_SESSIONS),
                              "sessions")
    specs: list[SessionSpec] = []
    seen: set[int] = set()
    for i, item in enumerate(raw):
        where = f"sessions[{i}]"
        if not isinstance(item, dict):
            raise ValidationError(gettext("Each session must be an object with start and end."),
                                  where)
        unknown = set(item) - {"id", "title", "start", "end", "start_utc", "end_utc", "status"}
        if unknown:
            name = sorted(map(str, unknown))[0][:40]
            raise ValidationError(gettext("Unknown field %(name)r.", name=name),
                                  f"{where}.{name}")
        session_id = item.get("id")
        if session_id is not None:
            if (not isinstance(session_id, int) or isinstance(session_id, bool)
                    or session_id not in existing or session_id in seen):
                raise ValidationError(gettext("No session with this id in this event."),
                                      f"{where}.id")
            seen.add(session_id)
        for key in ("start", "end"):
            if item.get(key) in (None, ""):
                raise ValidationError(gettext("This field is required."), f"{where}.{key}")
        start = timezones.resolve(item["start"], zone_name, f"{where}.start")
        end = timezones.resolve(item["end"], zone_name, f"{where}.end")
        if end.utc <= start.utc:
            raise ValidationError(gettext("The session must end after it starts."),
                                  f"{where}.end")
        if (end.utc - start.utc).total_seconds() > MAX_SESSION_HOURS * 3600:
            raise ValidationError(gettext("A session may last at most 7 days."), f"{where}.end")
        title = validation.text(item.get("title"), f"{where}.title", max_length=200)
        specs.append(SessionSpec(session_id, title, start, end))
    return specs


def _new_session(spec: SessionSpec) -> EventSession:
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "webinars.invalid"
    return EventSession(
        uid=f"{uuid.uuid4()}@{host}",
        title=spec.title,
        start_local=spec.start.local,
        end_local=spec.end.local,
        start_utc=spec.start.utc,
        end_utc=spec.end.utc,
        status=SessionStatus.SCHEDULED,
        sequence=0,
    )


def _ensure_slug_free(slug: str) -> None:
    if db.session.scalar(sa.select(Event.id).where(Event.slug == slug)) is not None:
        raise Conflict(gettext("The address /events/%(slug)s is taken by another event.",
                               slug=slug), "slug")


def _free_slug(base: str) -> str:
    taken = set(db.session.scalars(
        sa.select(Event.slug).where(sa.or_(Event.slug == base, Event.slug.like(f"{base}-%")))
    ))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


@contextlib.contextmanager
def _slug_race():
    """Two requests raced for the same slug: the unique index decided, and this one lost."""
    try:
        yield
    except IntegrityError as exc:
        if "slug" not in str(exc.orig):
            raise
        raise Conflict(gettext("That address was just taken by another event; try again."),
                       "slug") from None


@dataclass(frozen=True)
class Refreshed:
    """One event whose sessions a change of time-zone rules moved, or could not move."""

    slug: str
    moved: int
    problems: list[str] = field(default_factory=list)


def refresh_timezones() -> list[Refreshed]:
    """Make every future session's instants agree with its wall clock under today's tzdata.

    Organizers mean the wall clock ("22:00 in Washington"); the UTC instants
    were derived with the rules tzdata had then. Where today's rules read
    the wall clock as another instant, the session moves like any
    reschedule: its SEQUENCE grows, its reminders move, and registrants are
    mailed an update. A session whose wall clock no longer exists is left as
    it was and reported, for an organizer to choose a time; the event's
    other sessions move all the same. A session that has started, by either
    reading, keeps its instants. Each event is one transaction under its
    lock, checked again there; the audit trail records the change with no
    organizer. ``registration_closes_at`` is kept as an instant and does
    not follow (the organizer's form shows it in the event's zone).
    """
    end_read()  # judge what is stored now, not an older snapshot of it
    now = clock.now()
    results = []
    candidates = db.session.execute(sa.select(Event.id, Event.slug).where(
        Event.status != EventStatus.CANCELLED, Event.ends_at > now).order_by(Event.id)).all()
    for event_id, slug in candidates:
        try:
            moved, problems = _refresh_event(event_id, now)
        except Exception:
            # One event must not keep the others on the old rules.
            log.exception("event %s: the time-zone refresh failed", slug)
            results.append(Refreshed(slug, 0, [gettext("the refresh failed; see the log")]))
            continue
        for problem in problems:
            log.warning("event %s: %s", slug, problem)
        if moved:
            log.info("event %s: %d session(s) moved by new time-zone rules", slug, moved)
        if moved or problems:
            results.append(Refreshed(slug, moved, problems))
    return results


def _refresh_event(event_id: int, now) -> tuple[int, list[str]]:
    """Move one event's stale sessions under its lock; (how many moved, what could not move)."""
    event = db.session.get(Event, event_id)
    stale, problems = _stale_sessions(event, now) if event is not None else ({}, [])
    if not stale:
        return 0, problems  # the common case: nothing to move, no lock taken
    with write_transaction(locks.event(event_id)):
        event = db.session.get(Event, event_id)
        if event is None or event.status == EventStatus.CANCELLED or \
                event.ends_at is None or event.ends_at <= now:
            return 0, []  # cancelled or over since the scan
        stale, problems = _stale_sessions(event, now)
        outcome = Outcome(event)
        before = audit.describe(event)
        for session in event.sessions:
            if session.id in stale:
                session.start_utc, session.end_utc = stale[session.id]
                session.sequence += 1
                outcome.moved.append(session)
        if outcome.moved:
            refresh_span(event)
            db.session.flush()
            _follow_schedule(event, outcome)
            audit.record_changes(event, before, audit.describe(event), None)
    return len(outcome.moved), problems


def _stale_sessions(event: Event, now) -> tuple[dict[int, tuple], list[str]]:
    """Future sessions whose instants differ by today's rules: ({id: (start, end)}, problems)."""
    stale, problems = {}, []
    for session in event.scheduled_sessions:
        if session.start_utc <= now:
            continue
        try:
            start = timezones.rule_change(session.start_local, session.start_utc,
                                          event.timezone)
            end = timezones.rule_change(session.end_local, session.end_utc, event.timezone)
        except DomainError as exc:
            problems.append(exc.message)
            continue
        if (start or end) and (start or session.start_utc) > now:
            stale[session.id] = (start or session.start_utc, end or session.end_utc)
    return stale, problems


def cancel_event(event: Event, *, actor: Organizer | None = None) -> Outcome:
    """Cancel an event: registration closes, registrants are told, sessions leave calendars.

    The audit trail records the change of status with ``actor``.
    """
    event_id = event.id
    actor_id = actor.id if actor is not None else None
    with write_transaction(locks.event(event_id)):
        event = db.session.get(Event, event_id)
        actor = db.session.get(Organizer, actor_id) if actor_id is not None else None
        outcome = Outcome(event)
        if event.status == EventStatus.CANCELLED:
            return outcome
        was_published = event.status == EventStatus.PUBLISHED
        audit.record(event, "status", str(event.status), str(EventStatus.CANCELLED), actor)
        event.status = EventStatus.CANCELLED
        for session in event.scheduled_sessions:
            session.sequence += 1
            outcome.cancelled.append(session)
        db.session.flush()
        planning.replan(event, [])
        if was_published:
            mails.event_cancelled(event, queries.concerned(event.id))
    return outcome
