"""Calendar feed: /calendar.ics with 1,000 published events.

    .venv/bin/python bench/feed.py [--events 1000] [--postgres]

Measured at the server (Flask's test client, no network): a full render,
a conditional request answered 304, and beside them the baseline: building
the same calendar (same VEVENT properties, same VTIMEZONEs) with the
icalendar package alone, from data already in memory.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, postgres_schema  # noqa: E402

ZONES = ["America/New_York", "Asia/Bangkok", "Asia/Yangon", "Asia/Singapore",
         "Asia/Phnom_Penh", "Europe/London"]


def median_ms(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def populate(count: int) -> None:
    from webinars.events import service as events

    for n in range(count):
        day = 1 + n % 28
        month = 1 + (n // 28) % 12
        events.create_event({
            "title": f"Mekong webinar {n}: saltwater, sediment & the delta",
            "description": "Experts on drought, dams and fisheries.\nQuestions welcome.",
            "timezone": ZONES[n % len(ZONES)], "slug": f"event-{n}",
            "sessions": [{"start": f"2099-{month:02d}-{day:02d}T09:00",
                          "end": f"2099-{month:02d}-{day:02d}T10:30"}],
        }, None)


def icalendar_alone(rows: list[tuple]) -> bytes:
    """The same calendar from plain data with icalendar only (VTIMEZONEs built each time)."""
    from icalendar import Calendar, Event, Timezone

    calendar = Calendar()
    for name, value in (("PRODID", "-//bench//EN"), ("VERSION", "2.0"), ("METHOD", "PUBLISH"),
                        ("NAME", "Webinars"), ("X-WR-CALNAME", "Webinars")):
        calendar.add(name, value)
    for zone in sorted({row[3] for row in rows}):
        calendar.add_component(Timezone.from_tzid(zone, first_date=datetime(2099, 1, 1).date(),
                                                  last_date=datetime(2100, 1, 1).date()))
    stamp = datetime.now(UTC)
    for uid, start, end, zone, title, description, url, sequence in rows:
        event = Event()
        event.add("UID", uid)
        event.add("DTSTAMP", stamp)
        event.add("SEQUENCE", sequence)
        event.add("DTSTART", start.astimezone(ZoneInfo(zone)))
        event.add("DTEND", end.astimezone(ZoneInfo(zone)))
        event.add("SUMMARY", title)
        event.add("DESCRIPTION", description)
        event.add("URL", url)
        event.add("STATUS", "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    print("Calendar feed on", machine())

    import contextlib

    from flask_migrate import upgrade

    from webinars import create_app
    from webinars.core.db import db
    from webinars.models import Event

    with tempfile.TemporaryDirectory() as folder, (
            postgres_schema() if args.postgres else
            contextlib.nullcontext((f"sqlite:///{folder}/feed.sqlite3", None))) as (url, _):
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "SCHEDULER": "off"},
                         instance_path=folder)
        with app.app_context():
            upgrade()
            populate(args.events)
            rows = [(s.uid, s.start_utc, s.end_utc, e.timezone, e.title, e.description,
                     f"http://x/events/{e.slug}", s.sequence)
                    for e in db.session.query(Event).all() for s in e.sessions]
            db.session.remove()
        client = app.test_client()
        first = client.get("/calendar.ics")
        etag = first.headers["ETag"]
        full = median_ms(lambda: client.get("/calendar.ics"), args.repeat)
        not_modified = median_ms(
            lambda: client.get("/calendar.ics", headers={"If-None-Match": etag}),
            args.repeat * 10)
        assert client.get("/calendar.ics", headers={"If-None-Match": etag}).status_code == 304
        baseline = median_ms(lambda: icalendar_alone(rows), args.repeat)
        with app.app_context():
            db.engine.dispose()

    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"  {args.events} events on {backend}, feed of {len(first.data) / 1e6:.1f} MB")
    print(f"  full render of /calendar.ics:       {full:8.1f} ms (median of {args.repeat})")
    print(f"  conditional request answered 304:   {not_modified:8.2f} ms "
          f"(median of {args.repeat * 10})")
    print(f"  icalendar alone, same calendar:     {baseline:8.1f} ms")
    print(f"  ratio full render / icalendar alone: {full / baseline:.2f}")


if __name__ == "__main__":
    main()
