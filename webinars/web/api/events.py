"""Event routes of the JSON API."""

from __future__ import annotations

from flask import jsonify

from ...events import queries, service
from ...registrations.queries import seats_of
from . import bp, current_organizer, json_body, organizer_required
from .serialize import event_dict


def _organizer_view(payload: dict, event) -> dict:
    # The join link is for organizers here; registrants get it in their mail.
    # So are the rules of who may register: which domains, who skips review.
    if current_organizer() is not None:
        payload["join_url"] = event.join_url
        payload["allowed_domains"] = list(event.allowed_domains or [])
        payload["admit_invited"] = event.admit_invited
    return payload


@bp.get("/events")
def list_events():
    """Published events that have not ended, soonest first."""
    events = queries.upcoming_events()
    counted = seats_of(events)
    return jsonify({"events": [event_dict(e, seats=counted[e.id]) for e in events]})


@bp.get("/events/<slug>")
def get_event(slug: str):
    """One event; drafts only for organizers."""
    organizer = current_organizer()
    event = queries.get_event(slug, include_drafts=organizer is not None)
    return jsonify(_organizer_view(event_dict(event, include_cancelled_sessions=organizer
                                              is not None), event))


@bp.post("/events")
@organizer_required
def create_event():
    """Create an event; times are wall clock in its time zone."""
    outcome = service.create_event(json_body(), current_organizer())
    body = _organizer_view(event_dict(outcome.event), outcome.event)
    body["warnings"] = outcome.warnings
    return jsonify(body), 201


@bp.patch("/events/<slug>")
@organizer_required
def update_event(slug: str):
    """Edit an event; a ``sessions`` list replaces the schedule."""
    event = queries.get_event(slug, include_drafts=True)
    outcome = service.update_event(event, json_body(), actor=current_organizer())
    body = _organizer_view(event_dict(outcome.event, include_cancelled_sessions=True),
                           outcome.event)
    body["warnings"] = outcome.warnings
    return jsonify(body)


@bp.post("/events/<slug>/cancel")
@organizer_required
def cancel_event(slug: str):
    """Cancel an event; its sessions stay listed as cancelled."""
    event = queries.get_event(slug, include_drafts=True)
    outcome = service.cancel_event(event, actor=current_organizer())
    return jsonify(_organizer_view(event_dict(outcome.event, include_cancelled_sessions=True),
                                   outcome.event))
