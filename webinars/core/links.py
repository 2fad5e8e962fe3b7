"""The public addresses of the app's pages, for mails, calendars and API answers.

Mails and calendar files are built outside a request too (the scheduler,
the delivery thread), where ``url_for`` cannot make absolute URLs without
SERVER_NAME, which would also restrict which host names the app answers.
So the absolute form is BASE_URL plus the route's path, written here once;
tests/test_architecture.py checks each path against ``url_for``.
"""

from __future__ import annotations

from flask import current_app


def base_url() -> str:
    """BASE_URL without its trailing slash."""
    return current_app.config["BASE_URL"]


def manage_url(token: str) -> str:
    """A registrant's private page (status, sessions, cancel): the key to their registration."""
    return f"{base_url()}/registrations/{token}"


def confirm_url(token: str) -> str:
    """The mailed link that confirms a registration request (see verification)."""
    return f"{base_url()}/registrations/confirm/{token}"


def invitation_url(token: str) -> str:
    """An invitee's personal link: the event's form, filled in for them."""
    return f"{base_url()}/invitations/{token}"


def certificate_url(code: str) -> str:
    """A certificate's public verification page."""
    return f"{base_url()}/certificates/{code}"


def certificate_pdf_url(token: str) -> str:
    """A registrant's certificate (PDF), behind their manage token."""
    return f"{base_url()}/registrations/{token}/certificate.pdf"


def stop_reminders_url(registration_id: int, key: str) -> str:
    """The one-click link that stops a registration's reminders (RFC 8058)."""
    return f"{base_url()}/reminders/stop/{registration_id}/{key}"


def registrant_calendar_url(token: str) -> str:
    """A registrant's own ``.ics``."""
    return f"{base_url()}/registrations/{token}.ics"


def event_url(slug: str) -> str:
    """An event's public page."""
    return f"{base_url()}/events/{slug}"


def privacy_url(slug: str) -> str:
    """An event's privacy notice."""
    return f"{base_url()}/events/{slug}/privacy"


def feed_url() -> str:
    """The subscribable feed of upcoming events."""
    return f"{base_url()}/calendar.ics"
