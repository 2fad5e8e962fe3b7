"""The web's Flask extensions: CSRF on every form, and the organizer's sign-in session."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import gettext
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from .. import accounts
from ..models import Organizer

csrf = CSRFProtect()
login_manager = LoginManager()


@login_manager.user_loader
def _load_organizer(session_id: str) -> Organizer | None:
    return accounts.organizer_for_session(session_id)


def from_elsewhere() -> bool:
    """A form posted without this site's session cookie: from another site, most likely.

    The cookie is SameSite=Lax, so a cross-site POST arrives without it. An
    answer that wrote to the session (the sign-in page's "please sign in",
    a flash) would set a new cookie over the organizer's real one and sign
    them out: such a request is refused without touching the session.
    """
    return request.method not in ("GET", "HEAD", "OPTIONS") and \
        current_app.config["SESSION_COOKIE_NAME"] not in request.cookies


def refused_from_elsewhere():
    """The answer to :func:`from_elsewhere`: 403, the session left alone."""
    return render_template(
        "error.html", title=gettext("Not allowed"),
        message=gettext("This form did not come from this site, so nothing was done.")), 403
