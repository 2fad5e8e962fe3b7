"""Calendar routes: an event's ``.ics``, a registrant's own copy, and the subscribable feed.

The files themselves are built by :mod:`webinars.calendars.ics`; this module
only asks for the data, answers conditional requests and sets the headers.
"""

from __future__ import annotations

from flask import Response, request
from flask_babel import force_locale
from werkzeug.http import is_resource_modified

from ...calendars import ics, links
from ...core import links as addresses
from ...core.languages import DEFAULT
from ...events import queries as event_queries
from ...registrations import queries
from . import bp

# Subscribers poll; a few minutes of shared caching spares the database, and
# the ETag makes each later poll a cheap 304.
FEED_CACHE_CONTROL = "public, max-age=300"


@bp.get("/events/<slug>.ics")
def event_ics(slug: str):
    """The public ``.ics`` of one published (or cancelled) event; drafts are 404."""
    event = event_queries.get_event(slug)  # NotFound is the app's 404 page
    # Shared caches keep one copy: written in the event's own language.
    with force_locale(event.language):
        response = _ics(ics.event_calendar(event), f"{event.slug}.ics")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/registrations/<token>.ics")
def registration_ics(token: str):
    """A registrant's own ``.ics`` (join link once confirmed), found by their token."""
    registration = queries.by_token(token)
    with force_locale(registration.language):
        response = _ics(ics.registrant_calendar(registration),
                        f"{registration.event.slug}.ics")
    # It holds the join link and the key to the manage page: no shared caches.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/calendar.ics")
def feed_ics():
    """The feed of upcoming events (cancelled ones too), with a strong ETag and Last-Modified.

    Both come from one aggregate query, so a poll that changed nothing is
    answered (304) without loading or rendering a single event.
    """
    etag, last_modified = event_queries.feed_version()
    if not is_resource_modified(request.environ, etag=etag, last_modified=last_modified):
        response = Response(status=304)
    else:
        with force_locale(DEFAULT):  # one copy for every subscriber's cache
            body = ics.feed(event_queries.feed_events(), stamp=last_modified)
        response = _ics(body, "calendar.ics", attachment=False)
    response.set_etag(etag)
    if last_modified is not None:
        response.last_modified = last_modified
    response.headers["Cache-Control"] = FEED_CACHE_CONTROL
    return response


@bp.app_context_processor
def calendar_links() -> dict:
    """What templates/public/_calendar_links.html uses: the add-to-calendar links and the feed."""
    return {
        "google_link": links.google_link,
        "outlook_link": links.outlook_link,
        "feed_urls": _feed_urls,
    }


def _feed_urls() -> dict:
    https = addresses.feed_url()
    return {"https": https, "webcal": "webcal://" + https.split("://", 1)[1]}


def _ics(body: bytes, filename: str, *, attachment: bool = True) -> Response:
    response = Response(body, content_type="text/calendar; charset=utf-8")
    # Subscribing clients follow the feed URL itself; a download gets a file name.
    disposition = "attachment" if attachment else "inline"
    response.headers["Content-Disposition"] = f"{disposition}; filename={filename}"
    return response
