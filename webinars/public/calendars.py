"""Calendar routes: an event's ``.ics``, a registrant's own copy, and the subscribable feed.

The files themselves are built by :mod:`webinars.calendar`; this module only
finds the data, answers conditional requests and sets the headers.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from flask import Response, current_app, request
from werkzeug.http import is_resource_modified

from .. import calendar, registrations
from .. import events as event_service
from ..extensions import db
from ..models import Event, EventSession
from . import bp

# Changes whenever the bytes the feed gives for the same data change (a new
# property, other texts): part of the ETag, so that caches do not keep an
# older rendering after a deploy.
FEED_FORMAT = "feed-1"
# Subscribers poll; a few minutes of shared caching spares the database, and
# the ETag makes each later poll a cheap 304.
FEED_CACHE_CONTROL = "public, max-age=300"


@bp.get("/events/<slug>.ics")
def event_ics(slug: str):
    """The public ``.ics`` of one published (or cancelled) event; drafts are 404."""
    event = event_service.get_event(slug)  # NotFound is the app's 404 page
    response = _ics(calendar.event_calendar(event), f"{event.slug}.ics")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/registrations/<token>.ics")
def registration_ics(token: str):
    """A registrant's own ``.ics`` (join link once confirmed), found by their token."""
    registration = registrations.by_token(token)
    response = _ics(calendar.registrant_calendar(registration), f"{registration.event.slug}.ics")
    # It holds the join link and the key to the manage page: no shared caches.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/calendar.ics")
def feed_ics():
    """The feed of upcoming events (cancelled ones too), with a strong ETag and Last-Modified.

    Both come from one aggregate query, so a poll that changed nothing is
    answered (304) without loading or rendering a single event.
    """
    etag, last_modified = _feed_version()
    if not is_resource_modified(request.environ, etag=etag, last_modified=last_modified):
        response = Response(status=304)
    else:
        body = calendar.feed(event_service.feed_events(), stamp=last_modified)
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
        "google_link": calendar.google_link,
        "outlook_link": calendar.outlook_link,
        "feed_urls": _feed_urls,
    }


def _feed_urls() -> dict:
    https = f"{current_app.config['BASE_URL']}/calendar.ics"
    return {"https": https, "webcal": "webcal://" + https.split("://", 1)[1]}


def _ics(body: bytes, filename: str, *, attachment: bool = True) -> Response:
    response = Response(body, content_type="text/calendar; charset=utf-8")
    # Subscribing clients follow the feed URL itself; a download gets a file name.
    disposition = "attachment" if attachment else "inline"
    response.headers["Content-Disposition"] = f"{disposition}; filename={filename}"
    return response


def _feed_version():
    """(ETag, Last-Modified) of the feed, from one aggregate query.

    The feed is a function of which events are upcoming (their count and
    ids), of their rows and of their sessions' rows. Every change to a row
    bumps its ``updated_at`` and a schedule change also a SEQUENCE. Last-Modified
    is the latest change to *any* event or session, so that an event leaving
    the feed by a change (cancelled, back to draft) moves it forward too, for
    clients that only send If-Modified-Since. Time passing only removes ended
    events, which the count and ids catch for the ETag.
    """
    upcoming = event_service.in_feed()
    event_in_feed = sa.case((upcoming, Event.id))
    row = db.session.execute(
        sa.select(
            sa.func.count(sa.distinct(event_in_feed)),
            sa.func.sum(sa.distinct(event_in_feed)),
            sa.func.count(sa.case((upcoming, EventSession.id))),
            sa.func.sum(sa.case((upcoming, EventSession.sequence))),
            sa.func.max(Event.updated_at),
            sa.func.max(EventSession.updated_at),
        )
        .select_from(Event)
        .outerjoin(EventSession, EventSession.event_id == Event.id)
    ).one()
    changed = [t for t in row[4:] if t is not None]
    last_modified = max(changed) if changed else None
    fingerprint = "|".join(str(v) for v in (
        FEED_FORMAT, current_app.config["BASE_URL"], *row[:4],
        *(t.isoformat() if t else "" for t in row[4:]),
    ))
    return hashlib.sha256(fingerprint.encode()).hexdigest()[:32], last_modified
