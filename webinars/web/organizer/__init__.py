"""The organizer workspace under /organizer: a thin HTML door over the services.

Every route here needs a signed-in organizer (Flask-Login session), checked
once for the whole blueprint in :func:`require_organizer`, so a new route
cannot forget it; the login page is the only exception. Forms carry CSRF
tokens (Flask-WTF's CSRFProtect covers every POST of the app). Pages are
private: never cached, never indexed.

Organizers of an installation work as one team: any organizer may manage
any event (as with the JSON API); the audit trail says who did what.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user, login_url, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ... import accounts
from ...core import clock
from ...core.errors import NotFound
from ...events.queries import get_event
from ...models import Event, Organizer
from ..extensions import from_elsewhere, login_manager, refused_from_elsewhere

bp = Blueprint("organizer", __name__, url_prefix="/organizer")

# The one endpoint of the blueprint open to visitors who are not signed in.
PUBLIC_ENDPOINTS = {"organizer.login"}
# Set at sign-in: the session ends this long after it, however active it was.
SIGNED_IN_AT = "organizer_signed_in_at"


@bp.before_request
def require_organizer():
    """Send anyone who is not a signed-in organizer to the login page."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        if from_elsewhere():
            return refused_from_elsewhere()
        return login_manager.unauthorized()
    if session_expired():
        sign_out(everywhere=False)
        # Said instead of the login manager's "please sign in", not besides it.
        flash(gettext("Your session has expired. Please sign in again."), "error")
        return redirect(login_url(login_manager.login_view, next_url=request.url))
    return None


def sign_out(*, everywhere: bool = True) -> None:
    """End the organizer's sign-in in this browser and, ``everywhere``, every copy of it.

    The CSRF token stays: it is not tied to the account. An expired sign-in
    ends only here (the organizer's other devices are not signed out by it).
    """
    if everywhere and current_user.is_authenticated:
        accounts.end_sessions(current_user.id)
    logout_user()
    session.pop(SIGNED_IN_AT, None)


def session_expired() -> bool:
    """True when the sign-in is older than PERMANENT_SESSION_LIFETIME.

    Flask renews the session cookie on every request; this makes the
    lifetime count from the sign-in, not from the last click.
    """
    signed_in_at = session.get(SIGNED_IN_AT)
    lifetime = current_app.permanent_session_lifetime
    if not isinstance(lifetime, timedelta):
        lifetime = timedelta(seconds=lifetime)
    return not isinstance(signed_in_at, int | float) or \
        clock.now().timestamp() - signed_in_at > lifetime.total_seconds()


@bp.after_request
def private(response):
    """Organizer pages hold registrants' data: no shared or browser caches, no indexing."""
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.errorhandler(CSRFError)
def form_expired(_exc: CSRFError):
    """A form without a valid CSRF token (expired, or sent from elsewhere): nothing is done."""
    if from_elsewhere():
        return refused_from_elsewhere()
    if not current_user.is_authenticated and request.endpoint not in PUBLIC_ENDPOINTS:
        return login_manager.unauthorized()
    flash(gettext("The form had expired, so nothing was changed. Please try again."), "error")
    return redirect(_same_page_or_dashboard(), 303)


def _same_page_or_dashboard() -> str:
    if "GET" in (request.url_rule.methods or set()):
        return request.path
    return url_for("organizer.dashboard")


def me() -> Organizer:
    """The signed-in organizer (the object itself, not Flask-Login's proxy)."""
    return current_user._get_current_object()


def my_zone() -> str:
    """The zone the signed-in organizer reads times in."""
    return current_user.timezone or "UTC"


def event_or_404(slug: str) -> Event:
    """Any event, drafts included (organizers see them all), or a 404 page."""
    try:
        return get_event(slug, include_drafts=True)
    except NotFound:
        abort(404)


def safe_next(value: str | None) -> str | None:
    """A path on this site that answers GET, or None: ``next`` never leaves the site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    try:
        current_app.url_map.bind("localhost").match(parts.path, method="GET")
    except HTTPException:  # no such page, not a GET page, or a redirect
        return None
    return value


from . import after, auth, events, invitations, questions, registrants, settings  # noqa: E402,F401  (routes register on bp)
