"""Add to Google Calendar and Add to Outlook: links with the same UTC instants as the files."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from ..core import links, timezones
from ..models import Event, EventSession
from .ics import summary

# These links carry the description in the URL; a long one would make the
# URL too long for the calendar sites, so it is cut (the event page link
# that follows has the rest).
LINK_DETAILS_CHARS = 600


def google_link(session: EventSession, event: Event) -> str:
    """"Add to Google Calendar": the session's UTC instants, shown in the event's zone."""
    params = {
        "action": "TEMPLATE",
        "text": summary(session, event),
        "dates": f"{_compact_utc(session.start_utc)}/{_compact_utc(session.end_utc)}",
        "ctz": event.timezone,
        "details": _link_details(event),
    }
    return "https://calendar.google.com/calendar/render?" + _query(params)


def outlook_link(session: EventSession, event: Event) -> str:
    """"Add to Outlook" (outlook.live.com): the session's UTC instants, ending in Z."""
    params = {
        "rru": "addevent",
        "subject": summary(session, event),
        "startdt": timezones.iso_utc(session.start_utc),
        "enddt": timezones.iso_utc(session.end_utc),
        "body": _link_details(event),
    }
    return "https://outlook.live.com/calendar/0/action/compose?" + _query(params)


def _link_details(event: Event) -> str:
    text = event.local_description
    if len(text) > LINK_DETAILS_CHARS:
        text = text[:LINK_DETAILS_CHARS].rsplit(maxsplit=1)[0] + " …"
    details = f"Details and registration: {links.event_url(event.slug)}"
    return "\n\n".join(p for p in (text, details) if p)


def _query(params: dict) -> str:
    # %20 rather than "+" for spaces: Outlook shows a "+" in the subject as a
    # plus sign. "/" and ":" may stay as they are in a query, which keeps the
    # dates readable.
    return urlencode(params, quote_via=quote, safe="/:")


def _compact_utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
