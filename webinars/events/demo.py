"""The demo programme: the three events of the announcement this project was born from.

Dates are the next future occurrence of the announced day, so that the demo
can always be registered for. The announcement gives no date for the Tonle
Sap symposium; demo.toml sets it on the next 10 March, 09:00-11:30 in Phnom
Penh.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from pathlib import Path

from ..core import clock
from ..core.errors import NotFound
from . import queries, service

# The events themselves are data: demo.toml beside this file.
PROGRAMME = tuple(tomllib.loads(
    (Path(__file__).with_name("demo.toml")).read_text(encoding="utf-8"))["event"])


def _next_year_for(month: int, day: int, today: date) -> int:
    return today.year if (month, day) > (today.month, today.day) else today.year + 1


def payload(spec: dict, today: date) -> dict:
    """The API body that creates this demo event on its next future date."""
    days = spec.get("days", [spec["month_day"]])
    year = _next_year_for(*spec["month_day"], today)
    titles = spec.get("session_titles", [""] * len(days))
    sessions = [
        {"title": title,
         "start": f"{datetime(year, m, d):%Y-%m-%d}T{start}",
         "end": f"{datetime(year, m, d):%Y-%m-%d}T{end}"}
        for (m, d), (start, end), title in zip(days, spec["times"], titles, strict=True)
    ]
    return {key: spec.get(key) for key in ("slug", "title", "description", "timezone",
                                           "capacity", "join_url")} | {"sessions": sessions}


def seed(organizer=None) -> list[str]:
    """Create the demo events that do not exist yet; returns the slugs created."""
    created = []
    today = clock.now().date()
    for spec in PROGRAMME:
        try:
            queries.get_event(spec["slug"], include_drafts=True)
            continue
        except NotFound:
            pass
        service.create_event(payload(spec, today), organizer)
        created.append(spec["slug"])
    return created
