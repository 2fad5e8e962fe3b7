"""Error answers for the whole app: JSON under /api/ and at /metrics, a page elsewhere.

Never a bare 500.
"""

from __future__ import annotations

import contextlib

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

from ..core.errors import DomainError
from ..core.outages import RETRY_AFTER_SECONDS, is_outage
from ..core.transactions import end_read

_TITLES = {
    400: (_l("Bad request"), _l("The request could not be read.")),
    404: (_l("Not found"), _l("There is nothing at this address.")),
    409: (_l("Not possible now"), _l("This cannot be done in the current state.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    413: (_l("Too large"), _l("The request is larger than this site accepts.")),
    429: (_l("Too many tries"), _l("Please wait a little, then try again. Nothing was saved.")),
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
        title = _TITLES.get(exc.status, (gettext("Sorry"),))[0]
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
            return jsonify({"error": gettext(
                "Something went wrong on our side; nothing was saved.")}), 500
        try:
            page = render_template(
                "error.html", title=gettext("Something went wrong"),
                message=gettext("Nothing was saved. Please try again in a minute."))
        except Exception:  # the page itself failed: answer in plain text
            page = InternalServerError.description
        return page, 500

    def unavailable():
        # The session's connection may be dead: drop it without a round trip.
        with contextlib.suppress(Exception):
            end_read()
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
        if _wants_json():
            return jsonify({"error": gettext(
                "The service is briefly unavailable; nothing was saved. Try again in "
                "%(seconds)s seconds.", seconds=RETRY_AFTER_SECONDS)}), 503, headers
        try:
            page = render_template(
                "error.html", title=gettext("Briefly unavailable"),
                message=gettext("Nothing was saved. Please try again in a few seconds."))
        except Exception:
            page = "Briefly unavailable. Nothing was saved; please try again in a few seconds."
        return page, 503, headers
