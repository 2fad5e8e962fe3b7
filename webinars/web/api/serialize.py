"""The JSON shapes of the API, in one place."""

from __future__ import annotations

from ...core import links, timezones
from ...models import Event, EventSession, Registration
from ...registrations import attendance, deliveries, queries
from ...registrations.seats import Registered


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
               seats: queries.Seats | None = None) -> dict:
    """An event as the API shows it; ``seats`` when the caller counted them already."""
    if seats is None:
        seats = queries.seats(event)
    sessions = event.sessions if include_cancelled_sessions else event.scheduled_sessions
    closes = event.registration_deadline
    return {
        "slug": event.slug,
        "title": event.title,
        "description": event.description,
        "timezone": event.timezone,
        "status": event.status,
        "capacity": event.capacity,
        "seats_left": seats.left,
        "waitlist_count": seats.waiting,
        "registration_open": queries.is_open(event),
        "registration_closes_at": timezones.iso_utc(closes) if closes else None,
        "verify_email": queries.verifies_email(event),
        "language": event.language,
        "translations": event.translations or {},
        "questions": [question_dict(q) for q in event.questions or []],
        "admission": event.admission,
        "invite_only": event.invite_only,
        "attendance_threshold": event.attendance_threshold,
        "certificate_sessions": event.certificate_sessions,
        "issuer": event.issuer or "",
        "retention_days": event.retention_days,
        "privacy_notice": event.privacy_notice or "",
        "join_url": None,
        "reminder_offsets_minutes": list(event.reminder_offsets_minutes or []),
        "url": links.event_url(event.slug),
        "sessions": [session_dict(s, event.timezone) for s in sessions],
    }


def question_dict(question: dict) -> dict:
    """A question as the API shows it: options and help only where it has them."""
    shown = {key: question[key] for key in ("key", "kind", "label", "required")}
    if question.get("options"):
        shown["options"] = list(question["options"])
    if question.get("help"):
        shown["help"] = question["help"]
    if question.get("translations"):
        shown["translations"] = question["translations"]
    return shown


_ASK = object()  # registration_dict looks the bounce up itself


def registration_dict(registration: Registration | Registered, *,
                      event_slug: str | None = None, position: int | None = None,
                      mail_refused: str | None | object = _ASK,
                      attended: tuple[list[int], int] | None = None) -> dict:
    """A registration as its owner and organizers see it.

    ``event_slug``, ``position`` and ``mail_refused`` (the mail server's
    permanent refusal of the address, or None) save queries when the caller
    knows them. The answer to a registration call has no mail behind it yet.
    """
    if position is None and registration.status == queries.WAITLISTED:
        position = queries.waitlist_position(registration)
    if attended is None and not isinstance(registration, Registered):
        attended = attendance_of(registration)
    if mail_refused is _ASK:
        mail_refused = None if isinstance(registration, Registered) \
            else deliveries.bounce_of(registration.id)
    return {
        "token": registration.token,
        "status": registration.status,
        "waitlist_position": position,
        "manage_url": links.manage_url(registration.token),
        "event": event_slug or registration.event.slug,
        "name": registration.name,
        "email": registration.email,
        "organization": registration.organization,
        "country": registration.country,
        "timezone": registration.timezone,
        "language": registration.language,
        "answers": dict(registration.answers or {}),
        "created_at": timezones.iso_utc(registration.created_at),
        "mail_refused": mail_refused,
        "attended_sessions": attended[0] if attended else [],
        "minutes_attended": attended[1] if attended else 0,
    }


def attendance_of(registration: Registration, came: dict | None = None,
                  minutes: dict | None = None) -> tuple[list[int], int]:
    """(ids of the sessions attended, minutes the platforms counted) of one registration.

    ``came`` and ``minutes`` (attendance.by_session, .minutes_of) when the
    caller counted them once for a whole list.
    """
    came = attendance.by_session(registration.event_id) if came is None else came
    minutes = attendance.minutes_of(registration.event_id) if minutes is None else minutes
    return ([s for s, people in sorted(came.items()) if registration.id in people],
            minutes.get(registration.id, 0))
