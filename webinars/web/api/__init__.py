"""The JSON API under /api/v1: a thin door over the services.

It is exempt from CSRF because it never reads cookies for authority:
organizer calls carry ``Authorization: Bearer``, and the public calls accept
only ``application/json`` bodies, which a cross-site HTML form cannot send.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, request

from ... import accounts
from ...core.errors import BadRequest, Unauthorized

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def json_body() -> dict:
    """The request body as a JSON object, or BadRequest."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object (Content-Type: application/json).")
    return data


def current_organizer():
    """The organizer of the bearer token, if one was sent and is valid; else None."""
    # Cached on the request, not on g: g belongs to the app context, which
    # can outlive one request.
    if not hasattr(request, "webinars_organizer"):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        organizer = None
        if scheme.lower() == "bearer" and token.strip():
            organizer = accounts.organizer_for_token(token.strip())
        elif header:
            raise Unauthorized("Use Authorization: Bearer <token>.")
        request.webinars_organizer = organizer
    return request.webinars_organizer


def organizer_required(view):
    """Refuse the call with 401 unless a valid organizer token is sent."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_organizer() is None:
            raise Unauthorized("This call needs an organizer's API token "
                               "(Authorization: Bearer <token>).")
        return view(*args, **kwargs)

    wrapper.organizer_only = True
    return wrapper


from . import events, registrations  # noqa: E402,F401  (routes register themselves on bp)
