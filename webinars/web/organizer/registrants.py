"""Registrants of an event: the table, cancel and promote, check-in, the CSV, messages.

Organizer URLs name a registration by its row id, never by its manage token:
the token is the registrant's key and stays out of organizers' URLs and logs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext, ngettext

from ...core import countries, timezones
from ...core.errors import DomainError, NotFound
from ...events.queries import session_of
from ...models import Event, Registration, RegistrationStatus
from ...registrations import (
    attendance,
    broadcast,
    deliveries,
    erasure,
    queries,
    questions,
    seats,
)
from . import bp, event_or_404, me, my_zone
from .forms import AttendanceImportForm, ButtonForm, MessageForm

FILTERS = {
    "all": None,
    "pending": [RegistrationStatus.PENDING],
    "confirmed": [RegistrationStatus.CONFIRMED],
    "waitlisted": [RegistrationStatus.WAITLISTED],
    "cancelled": [RegistrationStatus.CANCELLED],
    "declined": [RegistrationStatus.DECLINED],
}
STATUS_WORDS = {"confirmed": lazy_gettext("Confirmed"), "waitlisted": lazy_gettext("Waiting"),
                "cancelled": lazy_gettext("Cancelled"), "pending": lazy_gettext("To review"),
                "declined": lazy_gettext("Declined")}
# Questions whose answers the table can be filtered by: a closed set of values.
FILTERABLE = ("choice", "choices", "yesno", "consent")
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP:
# CSV injection); a leading apostrophe makes it text. Tab and CR are on the list too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _rows(event: Event, status_filter: str) -> list[Registration]:
    """Registrations in the order they came (the waiting list's order), filtered."""
    rows = queries.in_arrival_order(event.id, FILTERS[status_filter])
    for key, wanted in _answer_filters(event).items():
        rows = [row for row in rows if _answered(row.answers or {}, key, wanted)]
    return rows


def _answer_filters(event: Event) -> dict[str, str]:
    """{question key: the value asked for} from ``?answer.<key>=...``."""
    filters = {}
    for question in event.questions or []:
        value = request.args.get(f"answer.{question['key']}", "")
        if value and question["kind"] in FILTERABLE:
            filters[question["key"]] = value
    return filters


def _answered(answers: dict, key: str, wanted: str) -> bool:
    given = answers.get(key)
    if isinstance(given, bool):
        return wanted == ("yes" if given else "no")
    if isinstance(given, list):
        return wanted in given
    return given == wanted


def _status_filter() -> str:
    value = request.args.get("status", "all")
    return value if value in FILTERS else "all"


def country_name(code: str) -> str:
    """'Cambodia' for 'KH'; 'Not given' for an empty code."""
    return countries.country_name(code) or code or gettext("Not given")


@bp.get("/events/<slug>/registrations")
def registrants(slug: str):
    """The table of registrants with status filters and per-country counts."""
    event = event_or_404(slug)
    status_filter = _status_filter()
    counted = queries.seats(event)
    rows = _rows(event, status_filter)
    return render_template(
        "organizer/registrations.html", event=event, rows=rows,
        columns=questions.columns(event.questions or [], queries.answer_sets(event.id)),
        answer_text=questions.answer_text, answer_filters=_answer_filters(event),
        filterable=[questions.shown(q) for q in event.questions or []
                    if q["kind"] in FILTERABLE],
        pending=queries.pending_counts([event.id]).get(event.id, 0),
        status_filter=status_filter, filters=list(FILTERS), status_words=STATUS_WORDS,
        positions=queries.waitlist_positions(event.id),
        attended=attendance.counts(event.id), sessions_held=len(event.scheduled_sessions),
        countries=queries.by_country(event.id), country_name=country_name,
        confirmed=counted.confirmed, waiting=counted.waiting, zone=my_zone(),
        button=ButtonForm(), free_seat=counted.free, can_promote=queries.can_promote(event),
        bounced=deliveries.bounced(event.id))


def _registration_of(event: Event, registration_id: int) -> Registration:
    try:
        return queries.of_event(event, registration_id)
    except NotFound:
        abort(404)


def _back(event: Event):
    # Back to the table with the filter the organizer was using.
    status_filter = request.form.get("status_filter", "all")
    params = {"status": status_filter} if status_filter in FILTERS and \
        status_filter != "all" else {}
    return redirect(url_for("organizer.registrants", slug=event.slug, **params), 303)


@bp.post("/events/<slug>/registrations/<any(approve, decline):decision>")
def decide(slug: str, decision: str):
    """Approve or decline applications: the ones ticked, or the one whose button was pressed.

    Those decided meanwhile (by another organizer) are left as they are and named.
    """
    event = event_or_404(slug)
    # A row's own button sends "only"; the button under the table, the ticked rows.
    chosen = request.form.getlist("only") or request.form.getlist("registration")
    try:
        ids = [int(value) for value in chosen]
    except ValueError:
        abort(400)
    if not ids:
        flash(gettext("Tick the applications to decide first."), "error")
        return _back(event)
    decide = seats.approve if decision == "approve" else seats.decline
    try:
        result = decide(event.id, ids, me())
    except DomainError as exc:
        flash(exc.message, "error")
        return _back(event)
    seated = sum(1 for r in result.decided if r.status == RegistrationStatus.CONFIRMED)
    if decision == "approve":
        flash(ngettext("%(num)d application approved", "%(num)d applications approved",
                      len(result.decided)) + ": " + gettext(
            "%(seated)s with a seat, %(waiting)s on the waiting list. They are being told.",
            seated=seated, waiting=len(result.decided) - seated))
    else:
        flash(ngettext("%(num)d application declined; the applicant is being told.",
                       "%(num)d applications declined; the applicants are being told.",
                       len(result.decided)))
    if result.skipped:
        flash(gettext("Decided already, so left as they are: %(names)s",
                      names=", ".join(r.name for r in result.skipped)), "warning")
    return _back(event)


@bp.post("/events/<slug>/registrations/<int:registration_id>/cancel")
def cancel_registration(slug: str, registration_id: int):
    """Cancel someone's registration; they are mailed, the first person waiting moves up."""
    return _act_on(slug, registration_id, lambda r: seats.cancel(r.token, actor=me()),
                   lambda name: gettext(
                       "The registration of %(name)s is cancelled; they are being told.",
                       name=name))


@bp.post("/events/<slug>/registrations/<int:registration_id>/erase")
def erase_registration(slug: str, registration_id: int):
    """Erase one person's data on their request: audited, without keeping what was erased."""
    return _act_on(slug, registration_id, lambda r: erasure.erase(r.id, actor=me()),
                   lambda name: gettext("The data of %(name)s is erased.", name=name))


@bp.post("/events/<slug>/registrations/<int:registration_id>/promote")
def promote_registration(slug: str, registration_id: int):
    """Give a free seat to someone on the waiting list, out of turn if need be."""
    return _act_on(slug, registration_id, lambda r: seats.promote(r.token, me()),
                   lambda name: gettext("%(name)s has a seat now and is being told.", name=name))


def _act_on(slug: str, registration_id: int, action, done: Callable[[str], str]):
    # The service decides; this door only reports its answer and goes back.
    # ``done`` says what was done, in words, given the registrant's name.
    event = event_or_404(slug)
    registration = _registration_of(event, registration_id)
    name = registration.name
    try:
        action(registration)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(done(name))
    return _back(event)


@bp.get("/events/<slug>/registrations.csv")
def registrations_csv(slug: str):
    """Everyone registered, for spreadsheets: UTF-8 with a BOM, formulas defused."""
    event = event_or_404(slug)
    zone = my_zone()
    sessions = event.scheduled_sessions
    present = attendance.by_session(event.id)
    positions = queries.waitlist_positions(event.id)
    refused = deliveries.bounced(event.id)
    rows = _rows(event, _status_filter())
    columns = questions.columns(event.questions or [], [row.answers for row in rows])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(heading) for heading in
        [gettext("Name"), gettext("Email"), gettext("Status"), gettext("Waiting-list position"),
         gettext("Country code"), gettext("Country"), gettext("Organization"),
         gettext("Time zone"), gettext("Registered at (%(zone)s)", zone=zone),
         gettext("Cancelled at (%(zone)s)", zone=zone), gettext("Mail refused")]
        + [gettext("Attended session %(number)s: %(title)s", number=n, title=s.title)
           if s.title else gettext("Attended session %(number)s", number=n)
           for n, s in enumerate(sessions, start=1)]
        + [column.label for column in columns]])
    attended = gettext("yes")
    for row in rows:
        answers = row.answers or {}
        writer.writerow([safe_cell(value) for value in [
            row.name, row.email, row.status, positions.get(row.id, ""), row.country,
            countries.country_name(row.country), row.organization, row.timezone,
            _spreadsheet_time(row.queued_at, zone), _spreadsheet_time(row.cancelled_at, zone),
            refused.get(row.id, ""),
        ] + [attended if row.id in present.get(s.id, ()) else "" for s in sessions]
          + [questions.answer_text(c.question, answers[c.key]) if c.key in answers else ""
             for c in columns]])
    # The BOM is how Excel knows the file is UTF-8 (Khmer, Lao, Burmese, Thai names).
    body = "\ufeff" + buffer.getvalue()
    return Response(body.encode("utf-8"), content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename={event.slug}-registrations.csv"})


def safe_cell(value) -> str:
    """A spreadsheet cell that is text, never a formula (see FORMULA_STARTS)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _spreadsheet_time(instant, zone: str) -> str:
    # A form every spreadsheet reads as a date and time.
    return timezones.iso_local(instant, zone)[:16].replace("T", " ") if instant else ""


@bp.route("/events/<slug>/sessions/<int:session_id>/attendance", methods=["GET", "POST"])
def session_attendance(slug: str, session_id: int):
    """Check people in for one session: a list of checkboxes, saved at once."""
    event = event_or_404(slug)
    try:
        session = session_of(event, session_id)
    except NotFound:
        abort(404)
    problem = None
    status = 200
    if request.method == "POST":
        try:
            wanted = {int(value) for value in request.form.getlist("present")}
        except ValueError:
            abort(400)
        try:
            added, removed = attendance.record(event.id, session_id, wanted, me())
        except DomainError as exc:
            problem, status = exc.message, exc.status
        else:
            flash(gettext("Attendance saved: %(added)s checked in, %(removed)s unchecked.",
                          added=added, removed=removed))
            return redirect(url_for("organizer.session_attendance", slug=event.slug,
                                    session_id=session_id), 303)
        event = event_or_404(slug)
        session = session_of(event, session_id)
    number = [s.id for s in event.sessions].index(session.id) + 1
    return render_template(
        "organizer/attendance.html", event=event, session=session, number=number,
        people=attendance.roll(event.id, session_id), present=attendance.present_ids(session_id),
        button=ButtonForm(), zone=my_zone(), problem=problem, country_name=country_name,
        cancelled=session.called_off, minutes=attendance.reported_minutes(session_id),
        import_form=AttendanceImportForm()), status


@bp.route("/events/<slug>/message", methods=["GET", "POST"])
def message(slug: str):
    """Write to every confirmed (or every waiting) registrant."""
    event = event_or_404(slug)
    form = MessageForm()
    problem = None
    status = 200
    if request.method == "POST":
        try:
            sent = broadcast.send_to_registrants(event.id, form.audience.data, form.subject.data,
                                                form.body.data, me())
        except DomainError as exc:
            problem, status = exc.message, exc.status
            if exc.field in ("audience", "subject", "body"):
                form[exc.field].errors = [exc.message]
            event = event_or_404(slug)
        else:
            flash(ngettext("Your message is on its way to %(num)d person.",
                           "Your message is on its way to %(num)d people.", sent.count))
            return redirect(url_for("organizer.event_page", slug=event.slug), 303)
    counted = queries.seats(event)
    return render_template("organizer/message.html", event=event, form=form, problem=problem,
                           confirmed=counted.confirmed, waiting=counted.waiting), status
