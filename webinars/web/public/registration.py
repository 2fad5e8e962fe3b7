"""Register through the web form; the private manage page behind an unguessable token."""

from __future__ import annotations

import json

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from itsdangerous import BadData, URLSafeTimedSerializer

from ...core import clock
from ...core.errors import Conflict, Forbidden, NotFound, ValidationError
from ...events.queries import get_event
from ...models import RegistrationStatus
from ...registrations import (
    attendance,
    bots,
    erasure,
    invitations,
    queries,
    questions,
    seats,
    verification,
)
from .. import limits
from ..extensions import from_elsewhere, refused_from_elsewhere
from ..headers import PRIVATE
from ..languages import prefer
from ..templating import viewer_zone
from . import bp
from .forms import CancelForm, RegistrationForm


def render_event(event, form: RegistrationForm, status: int = 200, problem: str | None = None,
                 *, typed: dict | None = None, answer_errors: dict | None = None):
    """The event page with its registration form (and any errors).

    ``typed`` are the answers to the event's questions as submitted, shown
    again; ``answer_errors`` {question key: message}.
    """
    # A form opened from an invitation link stays in the invitee's language.
    invitation = invitations.by_token(event.id, form.invitation.data)
    prefer(registrant=invitation.language if invitation else None, event=event.language)
    form.shown.data = _shown().dumps(clock.now().timestamp())
    counted = queries.seats(event)
    return render_template("public/event.html", event=event, form=form, problem=problem,
                           registration_open=queries.is_open(event), seats_left=counted.left,
                           waitlist_count=counted.waiting,
                           questions=[questions.shown(q) for q in event.questions or []],
                           typed_answers=typed or {}, answer_errors=answer_errors or {}), status


def _typed_answers(event) -> dict:
    # A list for questions of several options (checkboxes), else the one value sent.
    typed = {}
    for question in event.questions or []:
        name = f"answers-{question['key']}"
        typed[question["key"]] = (request.form.getlist(name) if question["kind"] == "choices"
                                  else request.form.get(name, ""))
    return typed


def _shown() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="registration-form-shown")


def _seconds_on_page(form: RegistrationForm) -> float | None:
    """How long ago the form was shown, by its signed time; None if that cannot be trusted."""
    try:
        shown = float(_shown().loads(form.shown.data or "",
                                     max_age=current_app.config["WTF_CSRF_TIME_LIMIT"]))
    except (BadData, TypeError, ValueError):
        return None
    return clock.now().timestamp() - shown


@bp.get("/events/<slug>")
def event_page(slug: str):
    """One event: every session in its zone and the viewer's, and the form."""
    event = get_event(slug)  # NotFound is the app's 404 page
    return render_event(event, RegistrationForm(timezone=viewer_zone() or ""))


@bp.get("/events/<slug>/privacy")
def privacy(slug: str):
    """The event's privacy notice, as the organizer wrote it (404 when it has none)."""
    event = get_event(slug)
    if not event.privacy_notice:
        raise NotFound(gettext("This event has no privacy notice of its own."))
    prefer(event=event.language)
    return render_template("public/privacy.html", event=event)


@bp.post("/events/<slug>/register")
@limits.registration
def register(slug: str):
    """Take the form; land on the manage page, or show the form again with messages."""
    event = get_event(slug)  # NotFound is the app's 404 page
    form = RegistrationForm()  # its CSRF token was checked before this ran (form_expired)
    data = {key: form.data.get(key) for key in ("name", "email", "organization", "country",
                                                "timezone", "language", "invitation")}
    typed = data["answers"] = _typed_answers(event)
    try:
        bots.check_form(trap=form.fax.data or "", seconds_on_page=_seconds_on_page(form),
                        min_seconds=float(current_app.config["REGISTRATION_FORM_MIN_SECONDS"]))
        result = seats.register(event.slug, data)
    except ValidationError as exc:
        errors = {}
        if exc.field in form:
            form[exc.field].errors = [exc.message]
        elif (exc.field or "").startswith("answers."):
            errors[exc.field.removeprefix("answers.")] = exc.message
        return render_event(event, form, 422, exc.message, typed=typed, answer_errors=errors)
    except (Conflict, Forbidden) as exc:
        return render_event(event, form, exc.status, exc.message, typed=typed)
    if isinstance(result, seats.CheckInbox):
        # Nothing about the registration: whoever typed the address may not own it.
        flash(str(seats.CheckInbox.MESSAGE))
        return redirect(url_for("public.event_page", slug=event.slug), 303)
    return _landed(result)


def _landed(result: seats.Registered):
    if result.status == RegistrationStatus.PENDING:
        flash(gettext("Your application is received. The organizers will review it; we have "
                      "emailed you."))
    elif result.status == RegistrationStatus.CONFIRMED:
        flash(gettext("You are registered. A confirmation is on its way to your inbox."))
    else:
        flash(gettext("The event is full: you are on the waiting list. We have emailed you."))
    return redirect(url_for("public.manage", token=result.token), 303)


@bp.get("/invitations/<token>")
def invited(token: str):
    """An invitee's personal link: the event's form, filled in with what the organizer gave."""
    invitation = invitations.by_link(token)  # NotFound for a link that is not one
    event = get_event(invitation.event.slug)
    prefer(registrant=invitation.language, event=event.language)
    form = RegistrationForm(timezone=viewer_zone() or "", name=invitation.name,
                            email=invitation.email, language=invitation.language,
                            country=invitation.country, invitation=invitation.token)
    body, status = render_event(event, form)
    return _private(body, status)


@bp.get("/registrations/confirm/<token>")
def confirm_page(token: str):
    """The mailed link: what was asked for, and the button that confirms it.

    Opening the link changes nothing (mail scanners open links too); the
    button's POST decides the seat.
    """
    return _confirm_page(token)


def _confirm_page(token: str, problem: str | None = None, status: int = 200):
    request = verification.pending(token)  # NotFound says the link expired
    prefer(registrant=request.language, event=request.event.language)
    response = render_template("public/confirm.html", request=request, event=request.event,
                               zone=request.timezone or viewer_zone() or "UTC",
                               form=CancelForm(), problem=problem)
    return _private(response, status)


@bp.post("/registrations/confirm/<token>")
@limits.limited(limits.confirmation)
def confirm(token: str):
    """Confirm the address: the seat is decided now, in the order people confirm.

    CSRFProtect has checked the button's token before this runs (form_expired).
    """
    try:
        result = seats.confirm_address(token)
    except Conflict as exc:  # registration closed since the request
        return _confirm_page(token, exc.message, 409)
    return _landed(result)


@bp.get("/registrations/<token>")
def manage(token: str):
    """Status, the sessions in the registrant's zone, and a cancel button."""
    registration = queries.by_token(token)
    prefer(registrant=registration.language, event=registration.event.language)
    given = registration.answers or {}
    response = render_template(
        "public/manage.html", registration=registration, event=registration.event,
        zone=viewer_zone() or registration.timezone,
        position=queries.waitlist_position(registration), form=CancelForm(),
        certificate=attendance.qualifies(registration.event, attendance.counts(
            registration.event_id).get(registration.id, 0)),
        answers=[(questions.shown(q).label, questions.answer_text(q, given[q["key"]]))
                 for q in registration.event.questions or [] if q["key"] in given])
    return _private(response)


@bp.get("/registrations/<token>/data.json")
def my_data(token: str):
    """Everything held about the registrant, as a JSON file to keep."""
    registration = queries.by_token(token)
    body = json.dumps(erasure.held_about(registration), ensure_ascii=False, indent=2)
    return Response(body, content_type="application/json; charset=utf-8", headers={
        "Content-Disposition": "attachment; filename=my-registration.json", **PRIVATE})


@bp.post("/registrations/<token>/erase")
def erase(token: str):
    """Delete the registration and the data held about the person (CSRF-checked)."""
    registration = queries.by_token(token)
    if request.form.get("confirm") != "yes":
        flash(gettext("Tick the box to confirm that your registration and data should be "
                      "deleted."), "error")
        return redirect(url_for("public.manage", token=token), 303)
    slug = registration.event.slug
    erasure.erase(registration.id, actor=erasure.THE_REGISTRANT)
    flash(gettext("Your registration and the data we held about you are deleted."))
    return redirect(url_for("public.event_page", slug=slug), 303)


@bp.post("/registrations/<token>/cancel")
def cancel(token: str):
    """Cancel from the manage page (CSRFProtect checked the button's token: form_expired)."""
    was_pending = queries.by_token(token).status == RegistrationStatus.PENDING
    seats.cancel(token)
    flash(gettext("Your application is withdrawn.") if was_pending
          else gettext("Your registration is cancelled. A confirmation is on its way."))
    return redirect(url_for("public.manage", token=token), 303)


@bp.errorhandler(CSRFError)
def form_expired(_exc: CSRFError):
    """A form whose CSRF token expired (a page left open for hours): shown again, as typed.

    Nothing was done. A form from another site is refused without a word
    to the session, which would sign a signed-in organizer out.
    """
    if from_elsewhere():
        return refused_from_elsewhere()
    args = request.view_args or {}
    try:
        if request.endpoint == "public.register":
            return render_event(get_event(args["slug"]), RegistrationForm(), 400,
                                gettext("The form had expired. Please submit it again."))
        if request.endpoint == "public.confirm":
            return _confirm_page(args["token"], gettext(
                "The page had expired; please press the button again."), 400)
        if request.endpoint == "public.cancel":
            queries.by_token(args["token"])
            flash(gettext("The page had expired; please press Cancel again."), "error")
            return redirect(url_for("public.manage", token=args["token"]), 303)
    except NotFound as exc:  # the event, the link or the registration is gone
        return render_template("error.html", title=gettext("Not found"),
                               message=exc.message), 404
    return render_template("error.html", title=gettext("Bad request"),
                           message=gettext("The form had expired. Please try again.")), 400


def _private(body: str, status: int = 200):
    return body, status, PRIVATE


