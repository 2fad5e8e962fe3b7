"""Registration routes of the JSON API."""

from __future__ import annotations

from flask import jsonify

from ...events.queries import get_event
from ...registrations import deliveries, queries, seats
from .. import limits
from . import bp, current_organizer, json_body, organizer_required
from .serialize import registration_dict


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
    return jsonify({"registrations": [
        registration_dict(row, event_slug=event.slug, position=positions.get(row.id),
                          mail_refused=refused.get(row.id))
        for row in rows]})
