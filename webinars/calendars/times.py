"""A session's times as mails show them: in the reader's zone and in the event's."""

from __future__ import annotations

from ..core import timezones
from ..models import Event, EventSession


def session_times(session: EventSession, event: Event, zone: str) -> dict:
    """The registrant's clock and the event's, with the year, for one session."""
    return {
        "title": session.title,
        "yours": timezones.format_range(session.start_utc, session.end_utc, zone,
                                        with_year=True),
        "event": timezones.format_range(session.start_utc, session.end_utc, event.timezone,
                                        with_year=True),
        "same_zone": zone == event.timezone,
    }
