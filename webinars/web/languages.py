"""Which language a page is shown in, and the switcher that changes it.

The order (issue 16): ``?lang=`` (then remembered in a cookie for a
year) → the registrant's own language on their manage page → the
browser's ``Accept-Language`` → the event's default language → English.
Views that know a registrant or an event say so with :func:`prefer`
before anything is rendered.
"""

from __future__ import annotations

from flask import Flask, g, has_request_context, request, url_for
from flask_babel import Babel, refresh

from ..core.languages import DEFAULT, LANGUAGES, native_name

COOKIE = "lang"
COOKIE_SECONDS = 365 * 24 * 3600

babel = Babel()


def select_locale() -> str:
    """The language of this request's page (Flask-Babel's locale selector).

    Without a request (the CLI, the scheduler) it is English, unless a mail
    forces its reader's language.
    """
    if not has_request_context():
        return DEFAULT
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    remembered = request.cookies.get(COOKIE)
    if remembered in LANGUAGES:
        return remembered
    if g.get("registrant_language") in LANGUAGES:
        return g.registrant_language
    accepted = request.accept_languages.best_match(LANGUAGES)
    if accepted:
        return accepted
    if g.get("event_language") in LANGUAGES:
        return g.event_language
    return DEFAULT


def prefer(*, registrant: str | None = None, event: str | None = None) -> None:
    """What the page knows of its reader: the registrant's language, the event's default."""
    if registrant:
        g.registrant_language = registrant
    if event:
        g.event_language = event
    refresh()  # a message translated before this was in the language chosen without it


def switcher() -> list[dict]:
    """The switcher's links: this page in each language, named in itself."""
    rule = request.url_rule
    if rule is not None and "GET" in (rule.methods or ()):
        endpoint = request.endpoint
        values = dict(request.view_args or {},
                      **{k: v for k, v in request.args.items() if k != "lang"})
    else:  # a form's answer, or an error page: the switch goes to the home page
        endpoint, values = "public.index", {}
    return [{"code": code, "name": native_name(code),
             "url": url_for(endpoint, **values, lang=code)} for code in LANGUAGES]


def wire(app: Flask) -> None:
    """Flask-Babel with the selector; remember a ``?lang=`` choice in a cookie."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    babel.init_app(app, locale_selector=select_locale)

    @app.before_request
    def choose_afresh():
        # Flask-Babel keeps the choice on ``g``, which outlives a request
        # wherever an app context was pushed around several (tests, scripts).
        g.pop("registrant_language", None)
        g.pop("event_language", None)
        refresh()

    @app.after_request
    def remember(response):
        asked = request.args.get("lang")
        if asked in LANGUAGES and request.cookies.get(COOKIE) != asked:
            response.set_cookie(COOKIE, asked, max_age=COOKIE_SECONDS, samesite="Lax",
                                secure=app.config["BASE_URL"].startswith("https://"),
                                httponly=True)
        return response
