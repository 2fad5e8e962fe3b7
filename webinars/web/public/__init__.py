"""Public pages: the event list and one event (no login, no registrant data)."""

from __future__ import annotations

from flask import Blueprint, render_template

from ...events import queries as event_queries

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    """Upcoming published events."""
    return render_template("public/index.html", events=event_queries.upcoming_events())


from . import calendars, certificates, health, registration, reminders  # noqa: E402,F401  (routes register themselves on bp)
