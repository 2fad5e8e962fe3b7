"""The JSON API under /api/v1: a thin door over the services.

It is exempt from CSRF because it never reads cookies for authority:
organizer calls carry ``Authorization: Bearer``, and the public calls accept
only ``application/json`` bodies, which a cross-site HTML form cannot send.
"""

from __future__ import annotations

import json
from functools import wraps

from flask import Blueprint, request

from ... import accounts
from ...core.errors import BadRequest, Unauthorized
from ...core.validation import SURROGATE

bp = Blueprint("api", __name__, url_prefix="/api/v1")


#: Deeper than any body this API takes (an event's sessions are 3 levels);
#: Python's parser gives up near 1,000 levels with a RecursionError.
MAX_DEPTH = 16


def json_body() -> dict:
    """The request body as a JSON object, or BadRequest.

    Refused too: nesting deeper than MAX_DEPTH, and text with a lone UTF-16
    surrogate (``"\\ud800"`` is valid JSON but no text a database can store).
    """
    data = None
    if request.is_json:
        try:
            data = json.loads(request.get_data(cache=True))
        except (ValueError, RecursionError):
            data = None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object (Content-Type: application/json).")
    _check_shape(data)
    return data


def _check_shape(data: dict) -> None:
    pending: list[tuple[object, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if SURROGATE.search(value):
                raise BadRequest("The request body has text with a broken character "
                                 "(a lone UTF-16 surrogate).")
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise BadRequest(f"The request body is nested more than {MAX_DEPTH} levels deep.")
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            pending.extend((item, depth + 1) for item in items)


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


from . import attendance, events, registrations  # noqa: E402,F401  (routes register themselves on bp)
