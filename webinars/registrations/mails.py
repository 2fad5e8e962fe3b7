"""What registrants must hear, composed and queued in the caller's write transaction.

Every function here only adds rows to the outbox; they are delivered after
the commit (webinars.mail.outbox.queue). Invitations follow RFC 6047: one calendar
object (one UID) per message, so a four-session workshop sends each session's
invitation as its own message, the first riding on the main mail.
"""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale, gettext

from ..calendars import ics
from ..calendars.times import session_times
from ..core import clock, links
from ..mail.compose import Invitation, compose, domain
from ..mail.outbox import queue
from ..models import (
    Event,
    EventSession,
    Registration,
    RegistrationRequest,
    RegistrationStatus,
)
from ..models import Invitation as EventInvitation
from . import questions
from .queries import waitlist_position

# Every mail is written in the language of the person it goes to
# (Registration.language): subjects, bodies, dates, the invitation's text.


def registered(registration: Registration, position: int | None = None) -> None:
    """Confirmation (with invitations) or waiting-list notice (``position``: its place)."""
    with force_locale(registration.language):
        title = registration.event.local_title
        if registration.status == RegistrationStatus.PENDING:
            _send(registration, "application",
                  gettext("Application received: %(title)s", title=title))
        elif registration.status == RegistrationStatus.CONFIRMED:
            _with_invitations(registration, "confirmation",
                              gettext("Registered: %(title)s", title=title))
        elif position is not None:
            _send(registration, "waitlisted", gettext("Waiting list: %(title)s", title=title),
                  position=position)
        else:
            _send(registration, "waitlisted", gettext("Waiting list: %(title)s", title=title))


def manage_link(registration: Registration) -> None:
    """The address was registered again: its owner gets the link to the registration."""
    with force_locale(registration.language):
        _send(registration, "manage-link", gettext(
            "Your registration: %(title)s", title=registration.event.local_title))


def address_check(request: RegistrationRequest, *, hours: int) -> None:
    """The link that confirms a registration request (an event that verifies addresses).

    Addressed to the address alone, without the name typed with it: the
    mail goes out before anyone knows who owns the address, and must not
    carry a stranger's words to it. ``hours`` is how long the link works.
    """
    event = request.event
    zone = request.timezone or "UTC"
    with force_locale(request.language):
        values = {"event": event, "zone": zone,
                  "sessions": [session_times(s, event, zone) for s in event.scheduled_sessions],
                  "confirm_url": links.confirm_url(request.token),
                  "event_url": links.event_url(event.slug), "hours": hours}
        message = compose(kind="verify", to_name="", to_email=request.email,
                          subject=gettext("Confirm your registration: %(title)s",
                                          title=event.local_title),
                          text=render_template("emails/verify.txt", **values),
                          html=render_template("emails/verify.html", **values))
    upcoming = event.next_session(clock.now())
    queue(message, "verify", about_at=upcoming.start_utc if upcoming else None)


def approved(registration: Registration) -> None:
    """An organizer admitted the application: a seat (with the invitations), or a place in line."""
    with force_locale(registration.language):
        title = registration.event.local_title
        if registration.status == RegistrationStatus.CONFIRMED:
            _with_invitations(registration, "approved",
                              gettext("You are admitted: %(title)s", title=title))
        else:
            _send(registration, "approved",
                  gettext("Admitted to the waiting list: %(title)s", title=title))


def declined(registration: Registration) -> None:
    """An organizer declined the application."""
    with force_locale(registration.language):
        _send(registration, "declined", gettext(
            "About your application: %(title)s", title=registration.event.local_title))


def invited(invitation: EventInvitation) -> None:
    """An invitation to register, with the personal link that fills the form."""
    event = invitation.event
    zone = event.timezone
    with force_locale(invitation.language):
        values = {"event": event, "zone": zone, "invitation": invitation,
                  "sessions": [session_times(s, event, zone) for s in event.scheduled_sessions],
                  "invite_url": links.invitation_url(invitation.token),
                  "event_url": links.event_url(event.slug)}
        message = compose(kind="invitation", to_name=invitation.name, to_email=invitation.email,
                          subject=gettext("You are invited: %(title)s", title=event.local_title),
                          text=render_template("emails/invited.txt", **values),
                          html=render_template("emails/invited.html", **values))
    upcoming = event.next_session(clock.now())
    queue(message, "invitation", about_at=upcoming.start_utc if upcoming else None)


def promoted(registration: Registration) -> None:
    """A seat opened up: tell the person, with the invitations."""
    with force_locale(registration.language):
        _with_invitations(registration, "promotion", gettext(
            "A seat is yours: %(title)s", title=registration.event.local_title))


def cancelled(registration: Registration, *, was_confirmed: bool,
              by_organizer: bool = False) -> None:
    """A registration was cancelled (by its owner or an organizer): say so, clear calendars."""
    sessions = registration.event.scheduled_sessions if was_confirmed else []
    with force_locale(registration.language):
        subject = gettext("Cancelled: %(title)s", title=registration.event.local_title)
        _with_invitations(registration, "cancellation", subject, sessions=sessions,
                          method="CANCEL", by_organizer=by_organizer)


def schedule_changed(event: Event, moved: list[EventSession], cancelled_sessions:
                     list[EventSession], added: list[EventSession],
                     registrants: list[Registration]) -> None:
    """Sessions moved, were added or dropped: updated invitations (same UID, higher SEQUENCE)."""
    for registration in registrants:
        confirmed = registration.status == RegistrationStatus.CONFIRMED
        changes = [(s, "REQUEST") for s in moved + added] + \
                  [(s, "CANCEL") for s in cancelled_sessions]
        context = {"moved": moved, "added": added, "dropped": cancelled_sessions}
        with force_locale(registration.language):
            subject = gettext("Schedule change: %(title)s", title=event.local_title)
            if confirmed:
                _send_each(registration, "update", subject, changes, context)
            else:
                _send(registration, "update", subject, **context)


def event_cancelled(event: Event, registrants: list[Registration]) -> None:
    """The whole event is off: tell everyone; confirmed people get CANCEL for each session."""
    for registration in registrants:
        sessions = event.sessions if registration.status == RegistrationStatus.CONFIRMED else []
        with force_locale(registration.language):
            _with_invitations(registration, "cancellation",
                              gettext("Event cancelled: %(title)s", title=event.local_title),
                              sessions=list(sessions), method="CANCEL", event_cancelled=True)


def follow_up(registration: Registration, follow_up) -> None:
    """A follow-up (webinars.registrations.followups): once per person, by its Message-ID."""
    with force_locale(registration.language):
        _send(registration, "follow-up", follow_up.subject, template="message",
              body=follow_up.body,
              message_id=f"<follow-up-{follow_up.id}-{registration.id}@{domain()}>")


def certificate(registration: Registration, certificate_url: str, verify_url: str) -> None:
    """The link to the registrant's certificate (a link, not a large attachment)."""
    with force_locale(registration.language):
        _send(registration, "certificate", gettext(
            "Your certificate: %(title)s", title=registration.event.local_title),
            template="certificate", certificate_url=certificate_url, verify_url=verify_url)


def message(registration: Registration, subject: str, body: str) -> None:
    """An organizer's message to one registrant: their text as typed, escaped in the HTML part.

    The organizer's words go as written; the frame around them is in the
    registrant's language.
    """
    with force_locale(registration.language):
        _send(registration, "message", subject, template="message", body=body)


# --- composing -------------------------------------------------------------


def _with_invitations(registration: Registration, kind: str, subject: str, *,
                      sessions: list[EventSession] | None = None, method: str = "REQUEST",
                      **context) -> None:
    if sessions is None:
        sessions = registration.event.scheduled_sessions
    _send_each(registration, kind, subject, [(s, method) for s in sessions], context)


def _send_each(registration: Registration, kind: str, subject: str,
               items: list[tuple[EventSession, str]], context: dict) -> None:
    """The main mail carries the first invitation; each further one goes alone."""
    first, rest = (items[0], items[1:]) if items else (None, [])
    _send(registration, kind, subject, invitation=_invitation(registration, first), **context)
    total = len(items)
    for number, item in enumerate(rest, start=2):
        session, method = item
        title = registration.event.local_title
        subject = (gettext("Cancelled %(number)s of %(total)s: %(title)s", number=number,
                           total=total, title=title) if method == "CANCEL"
                   else gettext("Invitation %(number)s of %(total)s: %(title)s", number=number,
                                total=total, title=title))
        _send(registration, kind, subject,
              template="invitation", invitation=_invitation(registration, item),
              session=session, **context)


def _invitation(registration: Registration, item) -> Invitation | None:
    if item is None:
        return None
    session, method = item
    return Invitation(method, ics.invitation(session, registration, method),
                      "cancel.ics" if method == "CANCEL" else "invite.ics")


def _send(registration: Registration, kind: str, subject: str, *, template: str = "registration",
          invitation: Invitation | None = None, message_id: str | None = None,
          **context) -> None:
    event = registration.event
    zone = registration.timezone or "UTC"
    values = {
        "kind": kind,
        "registration": registration,
        "event": event,
        "confirmed": registration.status == RegistrationStatus.CONFIRMED,
        # A caller that knows the place (a batch of notices) passes it in context.
        "position": None if "position" in context else waitlist_position(registration),
        "sessions": [session_times(s, event, zone) for s in event.scheduled_sessions],
        "zone": zone,
        "manage_url": links.manage_url(registration.token),
        "ics_url": links.registrant_calendar_url(registration.token),
        "event_url": links.event_url(event.slug),
        "invitation": invitation,
        "times": lambda s: session_times(s, event, zone),
        "answers": _answers(registration),
        **context,
    }
    text = render_template(f"emails/{template}.txt", **values)
    html = render_template(f"emails/{template}.html", **values)
    message = compose(kind=kind, to_name=registration.name, to_email=registration.email,
                      subject=subject, text=text, html=html, invitation=invitation,
                      message_id=message_id)
    upcoming = event.next_session(clock.now())
    queue(message, kind, registration_id=registration.id,
          about_at=upcoming.start_utc if upcoming else None)


def _answers(registration: Registration) -> list[tuple[str, str]]:
    """(question, answer) of what the registrant answered, in the mail's language."""
    given = registration.answers or {}
    return [(questions.shown(q).label, questions.answer_text(q, given[q["key"]]))
            for q in registration.event.questions or [] if q["key"] in given]
