"""The demo programme: the three events of the announcement this project was born from.

Dates are the next future occurrence of the announced day, so that the demo
can always be registered for. The announcement gives no date for the Tonle
Sap symposium; it is set here on the next 10 March, 09:00-11:30 in Phnom Penh
(ahead of the dry-season low of the lake, when its future is discussed most).
"""

from __future__ import annotations

from datetime import date, datetime

from ..core import clock
from ..core.errors import NotFound
from . import queries, service

MEKONG_DELTA = {
    "slug": "sustainable-mekong-river-delta",
    "title": "Fostering Solutions and Collaboration for a Sustainable Mekong River Delta",
    "description": (
        "Global and regional experts discuss what threatens the Mekong River Delta, from "
        "rising saltwater intrusion to drought, and how governments, researchers and "
        "communities can work on solutions together.\n\n"
        "Mekong-U.S. Partnership webinar."
    ),
    "timezone": "America/New_York",
    "month_day": (7, 14),
    "times": [("22:00", "23:30")],
    "capacity": None,
    "join_url": "https://meet.example.org/mekong-delta",
}

TONLE_SAP = {
    "slug": "thriving-tonle-sap",
    "title": "An Uncertain Future: Working Towards a Thriving Tonle Sap",
    "description": (
        "The second Mekong Virtual Symposium brings together the people who work on the "
        "Tonle Sap Lake in Cambodia: fishing and fish migration, plastics, floods and "
        "droughts, sediment, and the effects of dams. With drought and dams delaying the "
        "Mekong's seasonal flow reversal year after year, the lake's future is uncertain.\n\n"
        "Hosted by the U.S. Department of State and the Sustainable Infrastructure "
        "Partnership."
    ),
    "timezone": "Asia/Phnom_Penh",
    "month_day": (3, 10),
    "times": [("09:00", "11:30")],
    "capacity": 300,
    "join_url": "https://meet.example.org/tonle-sap",
}

TCTP = {
    "slug": "tctp-cybersecurity-workshop",
    "title": "U.S.-Singapore Third Country Training Program: Cybersecurity Workshop",
    "description": (
        "A four-part virtual course co-hosted by the United States and Singapore for "
        "participants from every ASEAN member, Timor-Leste and the ASEAN Secretariat: "
        "whole-of-government cyber coordination, a risk-based approach to cybersecurity, "
        "and the framework of responsible state behaviour in cyberspace.\n\n"
        "Limited to 30 participants."
    ),
    "timezone": "Asia/Singapore",
    # Oct 26, 27, Nov 2, 3: sessions 1-2 and 3-4 fall on each side of the
    # first Sunday of November in most years, when US daylight saving ends.
    "month_day": (10, 26),
    "days": [(10, 26), (10, 27), (11, 2), (11, 3)],
    "times": [("09:00", "11:30")] * 4,
    "session_titles": ["Whole-of-government cyber coordination",
                       "A risk-based approach to cybersecurity",
                       "Responsible state behaviour in cyberspace",
                       "Bringing the lessons home"],
    "capacity": 30,
    "join_url": "https://meet.example.org/tctp-cyber",
}

PROGRAMME = (MEKONG_DELTA, TONLE_SAP, TCTP)


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
    return {key: spec[key] for key in ("slug", "title", "description", "timezone",
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
