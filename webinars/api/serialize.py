"""The JSON shapes of the API, in one place."""

from __future__ import annotations

from flask import current_app, url_for

from .. import registrations, timezones
from ..models import Event, EventSession, Registration


def session_dict(session: EventSession, zone_name: str) -> dict:
    """A session with its times in the event's zone and in UTC."""
    return {
        "id": session.id,
        "title": session.title,
        "status": session.status,
        "start": timezones.iso_local(session.start_utc, zone_name),
        "end": timezones.iso_local(session.end_utc, zone_name),
        "start_utc": timezones.iso_utc(session.start_utc),
        "end_utc": timezones.iso_utc(session.end_utc),
    }


def event_dict(event: Event, *, include_cancelled_sessions: bool = False,
               counts: tuple[int, int] | None = None) -> dict:
    """An event as the API shows it; ``counts`` is (confirmed, waitlisted) when known."""
    if counts is None:
        counts = registrations.seat_counts([event.id])[event.id]
    confirmed, waiting = counts
    sessions = event.sessions if include_cancelled_sessions else event.scheduled_sessions
    closes = event.registration_deadline
    base = current_app.config["BASE_URL"]
    return {
        "slug": event.slug,
        "title": event.title,
        "description": event.description,
        "timezone": event.timezone,
        "status": event.status,
        "capacity": event.capacity,
        "seats_left": None if event.capacity is None else max(event.capacity - confirmed, 0),
        "waitlist_count": waiting,
        "registration_open": registrations.is_open(event),
        "registration_closes_at": timezones.iso_utc(closes) if closes else None,
        "join_url": None,
        "reminder_offsets_minutes": list(event.reminder_offsets_minutes or []),
        "url": base + url_for("public.event_page", slug=event.slug),
        "sessions": [session_dict(s, event.timezone) for s in sessions],
    }


def registration_dict(registration: Registration | registrations.Registered, *,
                      event_slug: str | None = None, position: int | None = None) -> dict:
    """A registration as its owner and organizers see it.

    ``event_slug`` and ``position`` save queries when the caller knows the
    event and the waiting-list place.
    """
    base = current_app.config["BASE_URL"]
    if position is None and registration.status == registrations.WAITLISTED:
        position = registrations.waitlist_position(registration)
    return {
        "token": registration.token,
        "status": registration.status,
        "waitlist_position": position,
        "manage_url": f"{base}/registrations/{registration.token}",
        "event": event_slug or registration.event.slug,
        "name": registration.name,
        "email": registration.email,
        "organization": registration.organization,
        "country": registration.country,
        "timezone": registration.timezone,
        "created_at": timezones.iso_utc(registration.created_at),
    }
