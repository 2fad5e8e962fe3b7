"""Public pages: the event list and one event (no login, no registrant data)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from .. import events as event_service
from ..errors import NotFound

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    """Upcoming published events."""
    return render_template("public/index.html", events=event_service.upcoming_events())


@bp.get("/events/<slug>")
def event_page(slug: str):
    """One event with every session in its zone and the viewer's."""
    try:
        event = event_service.get_event(slug)
    except NotFound:
        abort(404)
    return render_template("public/event.html", event=event)


from . import calendars  # noqa: E402,F401  (.ics routes register themselves on bp)
