"""Finding events for the doors: one event, the upcoming list, the feed and its version."""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext

from ..core import clock, validation
from ..core.db import db
from ..core.errors import NotFound
from ..models import Event, EventSession, EventStatus

# Changes whenever the bytes the feed gives for the same data change (a new
# property, other texts): part of the ETag, so that caches do not keep an
# older rendering after a deploy.
FEED_FORMAT = "feed-2"


def get_event(slug: str, *, include_drafts: bool = False) -> Event:
    """The event with this slug; drafts only when asked (organizers)."""
    # A path no event can have (a NUL byte, which PostgreSQL refuses to even
    # compare) is not found, not a database error.
    if not validation.is_slug(slug):
        raise NotFound(gettext("No such event."))
    event = db.session.scalar(sa.select(Event).where(Event.slug == slug))
    if event is None or (event.status == EventStatus.DRAFT and not include_drafts):
        raise NotFound(gettext("No such event."))
    return event


def upcoming_events(limit: int | None = None) -> list[Event]:
    """Published events that have not ended, soonest first; not those by invitation only."""
    query = (
        sa.select(Event)
        .where(Event.status == EventStatus.PUBLISHED, Event.ends_at > clock.now(),
               sa.not_(Event.invite_only))
        .order_by(Event.starts_at, Event.id)
        .options(sa.orm.selectinload(Event.sessions))
    )
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def in_feed():
    """The rule for the subscribable feed: published or cancelled, not yet ended.

    Cancelled events stay until their end so that subscribed calendars learn
    of the cancellation (STATUS:CANCELLED) instead of losing the entry.
    An event by invitation only is not advertised in it.
    """
    return sa.and_(Event.status.in_([EventStatus.PUBLISHED, EventStatus.CANCELLED]),
                   Event.ends_at > clock.now(), sa.not_(Event.invite_only))


def feed_events() -> list[Event]:
    """The events of the feed, soonest first, with their sessions loaded."""
    return list(db.session.scalars(
        sa.select(Event).where(in_feed()).order_by(Event.starts_at, Event.id)
        .options(sa.orm.selectinload(Event.sessions))))


def all_events() -> list[Event]:
    """Every event, drafts and cancelled ones included, with their sessions (organizers)."""
    return list(db.session.scalars(
        sa.select(Event).options(sa.orm.selectinload(Event.sessions))))


def current_and_past(events: list[Event]) -> tuple[list[Event], list[Event]]:
    """(current events soonest first, then drafts without a date; the rest latest first)."""
    now = clock.now()
    current = sorted((e for e in events if e.is_current(now)),
                     key=lambda e: (e.starts_at is None, e.starts_at or now, e.id))
    past = sorted((e for e in events if not e.is_current(now)),
                  key=lambda e: (e.starts_at or now, e.id), reverse=True)
    return current, past


def session_of(event: Event, session_id: int) -> EventSession:
    """One session of this event by id, or NotFound."""
    session = db.session.get(EventSession, session_id)
    if session is None or session.event_id != event.id:
        raise NotFound(gettext("No such session in this event."))
    return session


def feed_version() -> tuple[str, datetime | None]:
    """(ETag, Last-Modified) of the feed, from one aggregate query.

    The feed is a function of which events are upcoming (their count and
    ids), of their rows and of their sessions' rows. Every change to a row
    bumps its ``updated_at`` and a schedule change also a SEQUENCE. Last-Modified
    is the latest change to *any* event or session, so that an event leaving
    the feed by a change (cancelled, back to draft) moves it forward too, for
    clients that only send If-Modified-Since. Time passing only removes ended
    events, which the count and ids catch for the ETag.
    """
    upcoming = in_feed()
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
        FEED_FORMAT, current_app.config["BASE_URL"], current_app.config["MAIL_FROM"], *row[:4],
        *(t.isoformat() if t else "" for t in row[4:]),
    ))
    return hashlib.sha256(fingerprint.encode()).hexdigest()[:32], last_modified
