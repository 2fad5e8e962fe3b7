"""Jinja filters and globals: how times and zones are shown on pages and in mails."""

from __future__ import annotations

import functools

from flask import Flask, has_request_context, request
from markupsafe import Markup

from ..core import languages, links, timezones
from .languages import switcher


def viewer_zone() -> str | None:
    """The zone the viewer asked for with ?tz=Area/City, if it is a real one."""
    name = request.args.get("tz", "")
    return timezones.canonical_zone(name)


def register_templating(app: Flask) -> None:
    """Install the filters the templates use."""
    app.jinja_env.filters.update(
        when=timezones.format_when,
        time_range=timezones.format_range,
        iso_utc=timezones.iso_utc,
        zone_city=timezones.city,
        zone_abbr=timezones.abbreviation,
        duration=timezones.duration_text,
        day=timezones.format_day,
    )
    app.jinja_env.globals.update(viewer_zone=viewer_zone, zone_options=zone_options,
                                 current_language=languages.current,
                                 privacy_url=links.privacy_url,
                                 language_links=language_links)


def language_links() -> list[dict]:
    """The switcher's links on a page; none in a mail (no request to link from)."""
    return switcher() if has_request_context() and request.endpoint else []


@functools.cache
def zone_options() -> Markup:
    """The <option>s of every IANA zone, built once: ~600 of them are on many pages."""
    option = Markup('<option value="{}">')  # format() escapes the name
    return Markup("").join(option.format(name) for name in sorted(timezones.known_zones()))

