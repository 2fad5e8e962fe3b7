"""Error answers for the whole app: JSON under /api/ and at /metrics, a page elsewhere.

Never a bare 500.
"""

from __future__ import annotations

import contextlib

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from ..core.errors import DomainError
from ..core.outages import RETRY_AFTER_SECONDS, is_outage
from ..core.transactions import end_read

_TITLES = {
    400: ("Bad request", "The request could not be read."),
    404: ("Not found", "There is nothing at this address."),
    409: ("Not possible now", "This cannot be done in the current state."),
    405: ("Not allowed", "This address does not accept that kind of request."),
    413: ("Too large", "The request is larger than this site accepts."),
    429: ("Too many tries", "Please wait a little, then try again. Nothing was saved."),
}


def _wants_json() -> bool:
    # /metrics is read by programs too: refused as the API refuses.
    return request.path.startswith("/api/") or request.path == "/metrics"


def register_error_pages(app: Flask) -> None:
    """Install the handlers."""

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        end_read()
        if _wants_json():
            return jsonify(exc.as_dict()), exc.status
        title = _TITLES.get(exc.status, ("Sorry",))[0]
        return render_template("error.html", title=title, message=exc.message), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # A 429's Retry-After (werkzeug's TooManyRequests) says when to come back.
        headers = [(k, v) for k, v in exc.get_headers() if k == "Retry-After"]
        if _wants_json():
            return jsonify({"error": exc.description or exc.name}), exc.code, headers
        title, message = _TITLES.get(exc.code, (exc.name, exc.description))
        return render_template("error.html", title=title, message=message), exc.code, headers

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        if is_outage(exc):  # logged once per outage, not per request
            return unavailable()
        # Logged with its traceback; the person gets an answer, not a stack.
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        end_read()
        if _wants_json():
            return jsonify({"error": "Something went wrong on our side; nothing was saved."}), 500
        try:
            page = render_template("error.html", title="Something went wrong",
                                   message="Nothing was saved. Please try again in a minute.")
        except Exception:  # the page itself failed: answer in plain text
            page = InternalServerError.description
        return page, 500

    def unavailable():
        # The session's connection may be dead: drop it without a round trip.
        with contextlib.suppress(Exception):
            end_read()
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
        if _wants_json():
            return jsonify({"error": "The service is briefly unavailable; nothing was saved. "
                                     f"Try again in {RETRY_AFTER_SECONDS} seconds."}), 503, headers
        try:
            page = render_template("error.html", title="Briefly unavailable",
                                   message="Nothing was saved. Please try again in a few "
                                           "seconds.")
        except Exception:
            page = "Briefly unavailable. Nothing was saved; please try again in a few seconds."
        return page, 503, headers
