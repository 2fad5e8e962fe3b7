"""Registration routes of the JSON API."""

from __future__ import annotations

from flask import jsonify
from flask_babel import gettext

from ...core.errors import Conflict, ValidationError
from ...events.queries import get_event
from ...registrations import attendance, deliveries, erasure, invitations, queries, seats
from .. import limits
from . import bp, current_organizer, json_body, organizer_required
from .serialize import attendance_of, registration_dict


@bp.post("/events/<slug>/registrations")
@limits.registration
def register(slug: str):
    """Register: 201 with a new registration; 202 "check your inbox" otherwise.

    202 when the event verifies addresses (the link that confirms the
    request is mailed) and for a repeat, which answers nothing about the
    registration (the caller may not own the address): its link is mailed
    to the address. The answer to a new one
    comes from what the deciding statement returned: the hot path of a
    registration burst loads no ORM object (docs/performance.md).
    """
    result = seats.register(slug, json_body())
    if isinstance(result, seats.CheckInbox):
        return jsonify({"status": "check_inbox", "message": str(seats.CheckInbox.MESSAGE)}), 202
    return jsonify(registration_dict(result, event_slug=slug,
                                     position=result.waitlist_position)), 201


@bp.post("/confirmations/<token>")
@limits.limited(limits.confirmation)
def confirm(token: str):
    """Confirm a registration request by the token its mail carried: 201 with the registration.

    The seat is decided now, in the order people confirm. 404 for a token
    that is unknown, used or expired.
    """
    result = seats.confirm_address(token)
    return jsonify(registration_dict(result, event_slug=result.event_slug,
                                     position=result.waitlist_position)), 201


@bp.get("/registrations/<token>")
def get_registration(token: str):
    """The registration behind a manage token."""
    return jsonify(registration_dict(queries.by_token(token)))


@bp.delete("/registrations/<token>")
def cancel_registration(token: str):
    """Cancel; the freed seat goes to the first person waiting.

    Called with an organizer's token, it is the organizer's cancel: audited
    under their name, and the registrant is told who cancelled.
    """
    return jsonify(registration_dict(seats.cancel(token, actor=current_organizer())))


@bp.get("/events/<slug>/registrations")
@organizer_required
def list_registrations(slug: str):
    """Everyone registered for an event, in the order they came."""
    event = get_event(slug, include_drafts=True)
    rows = queries.in_arrival_order(event.id)
    positions = queries.waitlist_positions(event.id)
    refused = deliveries.bounced(event.id)
    # Attendance counted once for the event, not once per row.
    came = attendance.by_session(event.id)
    minutes = attendance.minutes_of(event.id)
    return jsonify({"registrations": [
        registration_dict(row, event_slug=event.slug, position=positions.get(row.id),
                          mail_refused=refused.get(row.id),
                          attended=attendance_of(row, came, minutes))
        for row in rows]})


def _decide(token: str, decide):
    registration = queries.by_token(token)
    decision = decide(registration.event_id, [registration.id], current_organizer())
    if decision.skipped:
        raise Conflict(gettext("This application was decided already; it is %(status)s.",
                               status=registration.status), "status")
    return jsonify(registration_dict(queries.by_token(token)))


@bp.post("/registrations/<token>/approve")
@organizer_required
def approve(token: str):
    """Admit a pending application: a seat if one is free, else the waiting list."""
    return _decide(token, seats.approve)


@bp.post("/registrations/<token>/decline")
@organizer_required
def decline(token: str):
    """Decline a pending application; the applicant is mailed a short notice."""
    return _decide(token, seats.decline)


@bp.post("/events/<slug>/invitations")
@organizer_required
def invite(slug: str):
    """Invite people: ``{invitees: [{name, email, language?, country?}], dry_run?, plan?}``.

    Answers row by row what was (or, with ``dry_run``, would be) done. With
    ``plan`` (the digest a dry run answered), the real run is refused (409)
    if it would do anything else.
    """
    event = get_event(slug, include_drafts=True)
    body = json_body()
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise ValidationError("Expected true or false.", "dry_run")
    expect = body.get("plan")
    plan = invitations.invite(event.id, body.get("invitees"), dry_run=dry_run,
                              actor=current_organizer(),
                              expect=expect if isinstance(expect, str) else None)
    return jsonify(plan.as_dict()), 200 if dry_run else 201


@bp.get("/registrations/<token>/data")
def registration_data(token: str):
    """Everything held about the person behind a manage token (for them to keep)."""
    return jsonify(erasure.held_about(queries.by_token(token)))


@bp.delete("/registrations/<token>/data")
def erase_registration(token: str):
    """Cancel the registration and erase the person's data; the seat goes to the next waiting.

    With an organizer's token it is the organizer's erasure on request, audited
    under their name (what was erased is not kept).
    """
    registration = queries.by_token(token)
    erasure.erase(registration.id, actor=current_organizer() or erasure.THE_REGISTRANT)
    return jsonify({"status": "erased"})
