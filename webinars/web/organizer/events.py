"""The dashboard, an event's page, and creating, editing, publishing and cancelling events.

The forms speak the API's language: each view turns its form into the body
the JSON API takes and calls the same service, so a rule lives in one place
(webinars/events/service.py). A DomainError's ``field`` (``sessions[1].start``)
puts its message next to the input it is about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext, ngettext

from ... import audit
from ...core import clock, timezones
from ...core.errors import DomainError
from ...core.languages import LANGUAGES, native_name
from ...events import queries as event_queries
from ...events import service
from ...models import Event
from ...registrations import attendance, certificates, deliveries, queries
from . import bp, event_or_404, me, my_zone
from .forms import ButtonForm, CapacityForm, EventForm

_SESSION_FIELD = re.compile(r"^sessions\[(\d+)\](?:\.(\w+))?$")
_LIST_FIELD = re.compile(r"^(\w+)\[\d+\]$")
_QUESTION_FIELD = re.compile(r"^questions\[(\w+)\]$")
_REGISTRATION_FIELD = re.compile(r"^registrations\[(\d+)\]\.(status|attended)(?:\[(\d+)\])?$")
# What each kind of mail (webinars.mail.compose.KINDS) is called for organizers.
MAIL_KINDS = {
    "confirmation": lazy_gettext("confirmation"), "waitlisted": lazy_gettext("waiting-list notice"),
    "promotion": lazy_gettext("seat offer"), "update": lazy_gettext("schedule change"),
    "cancellation": lazy_gettext("cancellation"), "reminder": lazy_gettext("reminder"),
    "message": lazy_gettext("organizers' message"),
    "manage-link": lazy_gettext("registration link"),
    "verify": lazy_gettext("address confirmation"), "lockout": lazy_gettext("sign-in warning"),
    "application": lazy_gettext("application received"),
    "approved": lazy_gettext("application approved"),
    "declined": lazy_gettext("application declined"), "invitation": lazy_gettext("invitation"),
    "follow-up": lazy_gettext("follow-up"), "certificate": lazy_gettext("certificate"),
}
FIELD_LABELS = {
    "event": lazy_gettext("Event"),
    "title": lazy_gettext("Title"),
    "slug": lazy_gettext("Address"),
    "description": lazy_gettext("Description"),
    "timezone": lazy_gettext("Time zone"),
    "capacity": lazy_gettext("Capacity"),
    "status": lazy_gettext("Status"),
    "registration_closes_at": lazy_gettext("Registration closes"),
    "verify_email": lazy_gettext("Addresses confirmed"),
    "admission": lazy_gettext("Admission"),
    "invite_only": lazy_gettext("By invitation only"),
    "allowed_domains": lazy_gettext("Domains that may register"),
    "admit_invited": lazy_gettext("Invited people admitted without review"),
    "invitations": lazy_gettext("Invitations"),
    "attendance_threshold": lazy_gettext("Attended from (percent of a session)"),
    "certificate_sessions": lazy_gettext("Sessions that earn a certificate"),
    "issuer": lazy_gettext("Issuer of certificates"),
    "privacy_notice": lazy_gettext("Privacy notice"),
    "retention_days": lazy_gettext("Data kept for (days after the end)"),
    "follow-up": lazy_gettext("Follow-up mail"),
    "certificates": lazy_gettext("Certificates"),
    "language": lazy_gettext("Language"),
    "join_url": lazy_gettext("Join link"),
    "reminder_offsets_minutes": lazy_gettext("Reminders (minutes before)"),
    "message": lazy_gettext("Message sent"),
    "mail": lazy_gettext("Mail"),
}


# --- the dashboard -------------------------------------------------------------


@bp.get("/")
def dashboard():
    """Every event: seats taken of capacity, waiting list, next session in my zone."""
    events = event_queries.all_events()
    current, past = event_queries.current_and_past(events)
    now = clock.now()
    counts = queries.seats_of(events)
    next_session = {e.id: e.next_session(now) for e in events}
    return render_template("organizer/dashboard.html", current=current, past=past,
                           counts=counts, next_session=next_session, zone=my_zone(),
                           pending=queries.pending_counts([e.id for e in events]))


# --- one event -----------------------------------------------------------------


def render_event(event: Event, *, capacity_form: CapacityForm | None = None,
                 status: int = 200):
    """The organizer's page of an event: numbers, actions, sessions and the audit trail."""
    counted = queries.seats(event)
    if capacity_form is None:
        capacity_form = CapacityForm(capacity="" if event.capacity is None
                                     else str(event.capacity))
    present = attendance.by_session(event.id)
    entries = audit.history(event.id)
    undelivered = deliveries.troubles(event.id)
    return render_template(
        "organizer/event.html", event=event, confirmed=counted.confirmed,
        waiting=counted.waiting, registration_open=queries.is_open(event),
        pending=queries.pending_counts([event.id]).get(event.id, 0),
        earned=len(certificates.earned(event)),
        capacity_form=capacity_form,
        button=ButtonForm(), zone=my_zone(), now=clock.now(),
        attended={s.id: len(present.get(s.id, ())) for s in event.sessions},
        entries=list(zip(entries, _entry_labels(entries, event), strict=True)),
        session_label=lambda s: _session_label(s, event), undelivered=undelivered,
        mail_kind=lambda kind: str(MAIL_KINDS.get(kind, kind))), status


@bp.get("/events/<slug>")
def event_page(slug: str):
    """One event, for its organizers."""
    return render_event(event_or_404(slug))


@bp.route("/events/new", methods=["GET", "POST"])
def new_event():
    """Create an event and its sessions."""
    form = EventForm() if request.method == "POST" else EventForm(
        timezone=my_zone(), reminder_offsets_minutes="1440, 60")
    if request.method == "GET" or _adding_a_row(form):
        return _render_form(form, None)
    body, rows = _body_from_form(form, None)
    try:
        outcome = service.create_event(body, me())
    except DomainError as exc:
        return _render_form(form, None, exc, rows)
    _flash_outcome(gettext("The event is created."), outcome)
    return redirect(url_for("organizer.event_page", slug=outcome.event.slug), 303)


@bp.route("/events/<slug>/edit", methods=["GET", "POST"])
def edit_event(slug: str):
    """Edit an event; moving a session tells its registrants (the service does)."""
    event = event_or_404(slug)
    if request.method == "GET":
        return _render_form(EventForm(data=_form_data(event)), event)
    form = EventForm()
    if _adding_a_row(form):
        return _render_form(form, event)
    body, rows = _body_from_form(form, event)
    if not body:
        flash(gettext("Nothing was changed."))
        return redirect(url_for("organizer.event_page", slug=event.slug), 303)
    try:
        outcome = service.update_event(event, body, actor=me())
    except DomainError as exc:
        return _render_form(form, event_or_404(slug), exc, rows)
    if outcome.moved or outcome.added or outcome.cancelled:
        message = gettext("The changes are saved. Registrants are getting an updated invitation.")
    else:
        message = gettext("The changes are saved.")
    _flash_outcome(message, outcome)
    return redirect(url_for("organizer.event_page", slug=outcome.event.slug), 303)


@bp.post("/events/<slug>/publish")
def publish(slug: str):
    """Publish a draft: its page and registration open."""
    event = event_or_404(slug)
    return _act(event, lambda: service.update_event(event, {"status": "published"},
                                                    actor=me()), gettext("The event is published."))


@bp.post("/events/<slug>/unpublish")
def unpublish(slug: str):
    """Back to draft: the public page goes away and reminders pause."""
    event = event_or_404(slug)
    return _act(event, lambda: service.update_event(event, {"status": "draft"}, actor=me()),
                gettext("The event is a draft again; its public page is gone until you "
                        "publish it."))


@bp.post("/events/<slug>/close-registration")
def close_registration(slug: str):
    """Close registration now."""
    event = event_or_404(slug)
    return _act(event, lambda: service.close_registration(event, actor=me()),
                gettext("Registration is closed."))


@bp.post("/events/<slug>/capacity")
def change_capacity(slug: str):
    """Raise (the waiting list moves up, in order) or lower (never below the seats taken)."""
    event = event_or_404(slug)
    form = CapacityForm()
    try:
        outcome = service.update_event(event, {"capacity": _number(form.capacity.data)},
                                       actor=me())
    except DomainError as exc:
        form.capacity.errors = [exc.message]
        return render_event(event_or_404(slug), capacity_form=form, status=exc.status)
    moved_up = len(outcome.promoted)
    capacity = outcome.event.capacity
    message = gettext("The capacity is unlimited.") if capacity is None else ngettext(
        "The capacity is %(num)d seat.", "The capacity is %(num)d seats.", capacity)
    if moved_up > 0:
        message += " " + ngettext(
            "%(num)d from the waiting list got a seat and is being told.",
            "%(num)d from the waiting list got a seat and are being told.", moved_up)
    _flash_outcome(message, outcome)
    return redirect(url_for("organizer.event_page", slug=event.slug), 303)


# The two sources of "Mail that did not arrive" (webinars.registrations.deliveries).
_SOURCES = {"mail": deliveries.MAIL, "reminders": deliveries.REMINDER}
_ACTIONS = {
    "retry": (deliveries.retry, {
        "mail": lazy_gettext("The message is being sent again."),
        "reminders": lazy_gettext("The reminder is being sent again.")}),
    "give-up": (deliveries.give_up, {
        "mail": lazy_gettext("Nothing will retry that message any more."),
        "reminders": lazy_gettext("Nothing will retry that reminder any more.")}),
}


@bp.post("/events/<slug>/<any(mail, reminders):source>/<int:row_id>/<any(retry, 'give-up'):action>")
def undelivered(slug: str, source: str, row_id: int, action: str):
    """Send a message or reminder that did not arrive again, now, or stop retrying it."""
    event = event_or_404(slug)
    act, success = _ACTIONS[action]
    try:
        act(event.id, _SOURCES[source], row_id, me())
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(str(success[source]))  # a plain str: flashes go in the session
    return redirect(url_for("organizer.event_page", slug=event.slug, _anchor="mail-heading"),
                    303)


@bp.route("/events/<slug>/cancel", methods=["GET", "POST"])
def cancel_event(slug: str):
    """Ask, then cancel: every registrant is mailed and reminders are dropped."""
    event = event_or_404(slug)
    if request.method == "GET":
        counted = queries.seats(event)
        return render_template("organizer/cancel.html", event=event, confirmed=counted.confirmed,
                               waiting=counted.waiting, button=ButtonForm())
    return _act(event, lambda: service.cancel_event(event, actor=me()),
                gettext("The event is cancelled. Its registrants are being told."))


# --- helpers ---------------------------------------------------------------


def _act(event: Event, action, success: str):
    """Run a one-button service call; say what happened on the event page."""
    slug = event.slug
    try:
        outcome = action()
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("organizer.event_page", slug=slug), 303)
    _flash_outcome(success, outcome)
    return redirect(url_for("organizer.event_page", slug=outcome.event.slug), 303)


def _flash_outcome(message: str, outcome: service.Outcome) -> None:
    flash(message)
    for warning in outcome.warnings:
        flash(warning, "warning")


def _adding_a_row(form: EventForm) -> bool:
    """"Add another session" (works without JavaScript): one more empty row, nothing saved."""
    if request.form.get("action") != "add-session":
        return False
    if len(form.sessions) < service.MAX_SESSIONS:
        form.sessions.append_entry()
    return True


def _render_form(form: EventForm, event: Event | None, error: DomainError | None = None,
                 rows: list[int] | None = None):
    """The event form, with a service's error put next to its field."""
    placed = _place_error(form, error, rows or []) if error else _Placement()
    cancelled = [s for s in event.sessions if s not in event.scheduled_sessions] if event else []
    status = error.status if error else 200
    return render_template("organizer/event_form.html", form=form, event=event,
                           problem=error.message if error else None, placed=placed,
                           cancelled_sessions=cancelled,
                           translation_languages=[(c, native_name(c)) for c in LANGUAGES[1:]]
                           ), status


@dataclass
class _Placement:
    """Where an error went: an input's id, or a session row (fieldset)."""

    target: str | None = None
    row_errors: dict[int, str] = field(default_factory=dict)
    sessions_error: str | None = None


def _place_error(form: EventForm, error: DomainError, rows: list[int]) -> _Placement:
    """Put ``error.message`` on the input its ``field`` names.

    ``rows[i]`` is the form row that became ``sessions[i]`` of the body
    (empty rows and cancelled sessions are left out of it).
    """
    name = error.field or ""
    placement = _Placement()
    words = re.match(r"^translations\.(\w+)\.(title|description)$", name)
    if words and words[1] in form.translations:
        target = form.translations[words[1]][words[2]]
        target.errors = [error.message]
        placement.target = target.id
        return placement
    match = _SESSION_FIELD.match(name)
    if match and int(match[1]) < len(rows):
        row = form.sessions[rows[int(match[1])]]
        if match[2] in ("title", "start", "end"):
            row[match[2]].errors = [error.message]
            placement.target = row[match[2]].id
        else:  # the entry as a whole, or its hidden id
            placement.row_errors[rows[int(match[1])]] = error.message
            placement.target = f"session-row-{rows[int(match[1])]}"
        return placement
    if name == "sessions" or match:
        placement.sessions_error = error.message
        placement.target = "sessions-heading"
        return placement
    list_match = _LIST_FIELD.match(name)
    if list_match:
        name = list_match[1]
    if name in form and name not in ("sessions", "csrf_token"):
        form[name].errors = [error.message]
        placement.target = form[name].id
    return placement


def _form_data(event: Event) -> dict:
    """The event as the form shows it: wall clock in the event's zone."""
    zone = event.timezone
    closes = event.registration_closes_at
    return {
        "title": event.title,
        "slug": event.slug,
        "description": event.description or "",
        "timezone": zone,
        "capacity": "" if event.capacity is None else str(event.capacity),
        "registration_closes_at": _wall_clock(closes, zone) if closes else "",
        "join_url": event.join_url or "",
        "verify_email": _VERIFY_CHOICE[event.verify_email],
        "language": event.language,
        "admission": event.admission,
        "invite_only": _YES_NO[event.invite_only],
        "allowed_domains": ", ".join(event.allowed_domains or []),
        "admit_invited": _YES_NO[event.admit_invited],
        "attendance_threshold": str(event.attendance_threshold),
        "certificate_sessions": "" if event.certificate_sessions is None
        else str(event.certificate_sessions),
        "issuer": event.issuer or "",
        "privacy_notice": event.privacy_notice or "",
        "retention_days": "" if event.retention_days is None else str(event.retention_days),
        "reminder_offsets_minutes": ", ".join(str(m) for m in
                                              event.reminder_offsets_minutes or []),
        "translations": _translations_shown(event.translations or {}),
        "sessions": [{"id": str(s.id), "title": s.title, "start": _wall_clock(s.start_utc, zone),
                      "end": _wall_clock(s.end_utc, zone), "remove": False}
                     for s in event.scheduled_sessions],
    }


def _translations_shown(given: dict) -> dict:
    """Every language's title and description, empty where none was given."""
    return {code: {"title": given.get(code, {}).get("title", ""),
                   "description": given.get(code, {}).get("description", "")}
            for code in LANGUAGES[1:]}


def _translations_submitted(form: EventForm) -> dict:
    """What the form's translation fields hold, as the API takes it (empty ones left out)."""
    submitted = {}
    for code in LANGUAGES[1:]:
        row = form.translations[code].form
        words = {"title": (row.title.data or "").strip(),
                 "description": (row.description.data or "").replace("\r\n", "\n").strip()}
        if words["title"] or words["description"]:
            submitted[code] = words
    return submitted


def _wall_clock(instant, zone: str) -> str:
    """'2027-07-14T22:00', what an <input type=datetime-local> holds."""
    return timezones.iso_local(instant, zone)[:16]


SIMPLE_FIELDS = ("title", "slug", "description", "timezone", "capacity",
                 "registration_closes_at", "verify_email", "language", "admission",
                 "invite_only", "allowed_domains", "admit_invited", "attendance_threshold",
                 "certificate_sessions", "issuer", "privacy_notice", "retention_days",
                 "join_url",
                 "reminder_offsets_minutes")
_VERIFY_CHOICE = {None: "", True: "yes", False: "no"}
_YES_NO = {True: "yes", False: "no"}


def _body_from_form(form: EventForm, event: Event | None) -> tuple[dict, list[int]]:
    """The API-shaped body of a submitted form, and which row each session came from.

    Editing, only what changed is sent, so that saving a form unchanged
    changes nothing. A session row left as it was is sent with its UTC
    offset: a time that happens twice (autumn) keeps the occurrence it had.
    """
    current = _form_data(event) if event else None
    # Browsers send a textarea's line breaks as CRLF; the service stores LF.
    submitted = {name: (form[name].data or "").replace("\r\n", "\n").strip()
                 for name in SIMPLE_FIELDS}
    body: dict = {}
    for name, value in submitted.items():
        if current is not None and value == current[name]:
            continue
        if name == "slug" and not value and current is None:
            continue  # made from the title
        if name in ("language", "admission", "invite_only", "admit_invited") and not value:
            continue  # a form without the field (a script's) keeps it
        body[name] = _convert(name, value)
    if current is None:
        body["status"] = form.status.data or "published"
    translations = _translations_submitted(form)
    if translations != (event.translations or {} if event else {}):
        body["translations"] = translations

    zone_kept = current is not None and submitted["timezone"] == current["timezone"]
    known = {row["id"]: row for row in current["sessions"]} if current else {}
    sessions: list[dict] = []
    rows: list[int] = []
    changed = current is None
    for index, row in enumerate(form.sessions):
        values = {key: (row[key].data or "").strip() for key in ("id", "title", "start", "end")}
        if row.remove.data or not any(values.values()):
            changed = changed or bool(values["id"])
            continue
        entry: dict = {"title": values["title"], "start": values["start"], "end": values["end"]}
        before = known.get(values["id"])
        if values["id"]:
            entry["id"] = int(values["id"]) if values["id"].isdigit() else values["id"]
        if before is None or any(before[key] != values[key] for key in ("title", "start", "end")):
            changed = True
        if before is not None and zone_kept:
            # A time left as it was goes with its offset (see the docstring).
            stored = next(s for s in event.sessions if str(s.id) == values["id"])
            for key, instant in (("start", stored.start_utc), ("end", stored.end_utc)):
                if values[key] == before[key]:
                    entry[key] = timezones.iso_local(instant, event.timezone)
        sessions.append(entry)
        rows.append(index)
    if changed or (current is not None and len(sessions) != len(known)):
        body["sessions"] = sessions
    return body, rows


def _convert(name: str, value: str):
    """A form string as the API's type; what cannot be converted goes as typed,
    for the service to refuse with its message."""
    if name in ("capacity", "certificate_sessions", "attendance_threshold", "retention_days"):
        return _number(value)
    if name == "registration_closes_at":
        return value or None
    if name == "verify_email":
        return {"": None, "yes": True, "no": False}.get(value, value)
    if name == "reminder_offsets_minutes":
        return [_number(part) for part in re.split(r"[\s,;]+", value) if part]
    if name == "allowed_domains":
        return [part for part in re.split(r"[\s,;]+", value) if part]
    if name in ("invite_only", "admit_invited"):
        return {"yes": True, "no": False}.get(value, value)
    return value


def _number(value: str | None):
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return value


def _session_label(session, event: Event) -> str:
    number = next((n for n, s in enumerate(event.sessions, start=1) if s.id == session.id), 0)
    if session.title:
        return gettext("Session %(number)s: %(title)s", number=number, title=session.title)
    return gettext("Session %(number)s", number=number)


def _entry_labels(entries: list, event: Event) -> list[str]:
    """What each audit entry is about, in words: 'Session 2: Part 2', 'Registration of Sok'."""
    mentioned = {int(m[1]) for e in entries if (m := _REGISTRATION_FIELD.match(e.field))}
    names = queries.names(mentioned)
    sessions = {s.id: s for s in event.sessions}
    labels = []
    for entry in entries:
        label = str(FIELD_LABELS.get(entry.field, entry.field))
        session_match = _SESSION_FIELD.match(entry.field)
        registration_match = _REGISTRATION_FIELD.match(entry.field)
        question_match = _QUESTION_FIELD.match(entry.field)
        if question_match:
            label = gettext("Question %(key)s", key=question_match[1])
        elif session_match and not session_match[2] and int(session_match[1]) in sessions:
            label = _session_label(sessions[int(session_match[1])], event)
        elif registration_match:
            key = int(registration_match[1])
            name = names[key] if names.get(key) else gettext("registration %(id)s",
                                                           id=registration_match[1])
            session = sessions.get(int(registration_match[3] or 0))
            if registration_match[2] == "status":
                label = gettext("Registration of %(name)s", name=name)
            elif session:
                label = gettext("%(name)s attended %(session)s", name=name,
                                session=_session_label(session, event))
            else:
                label = gettext("%(name)s attended a session", name=name)
        labels.append(label)
    return labels
