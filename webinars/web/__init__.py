"""The HTML and JSON doors: ``public`` pages, the ``organizer`` workspace, the ``api``.

Views read a request, call one service, and translate its answer or its
DomainError (a form message, JSON ``{"error", "field"}``, an error page).
No rule and no SQL lives here: queries are asked of the domain packages.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext
from werkzeug.routing import IntegerConverter

from .api import bp as api_bp
from .errorpages import register_error_pages
from .extensions import csrf, login_manager
from .headers import wire as wire_headers
from .languages import wire as wire_languages
from .limits import wire as wire_limits
from .metrics import bp as metrics_bp
from .organizer import bp as organizer_bp
from .public import bp as public_bp
from .templating import register_templating


class RowId(IntegerConverter):
    """``<int:…>`` in every route: a row id, so at most the largest a database keeps.

    A larger number is no row: 404, not a 500 from PostgreSQL's "integer
    out of range" on the look-up.
    """

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def register_web(app: Flask) -> None:
    """Blueprints, CSRF, the organizer sign-in, headers, templates' filters and error pages."""
    app.url_map.converters["int"] = RowId  # before any route is registered
    wire_headers(app)
    wire_languages(app)
    wire_limits(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "organizer.login"
    login_manager.login_message = lazy_gettext("Please sign in to see the organizer pages.")
    app.register_blueprint(public_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(organizer_bp)
    app.register_blueprint(metrics_bp)
    csrf.exempt(api_bp)  # token-authenticated JSON; see api/__init__.py
    register_templating(app)
    register_error_pages(app)
