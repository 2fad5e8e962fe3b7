"""Reminder fan-out: 10,000 reminders fall due in the same minute.

    .venv/bin/python bench/reminder_fanout.py [--count 10000] [--sqlite]
        [--senders N] [--lead 40] [--switch-interval SECONDS]

Registrations and their reminders are inserted in bulk (the setup is not
what is measured), all due some seconds ahead. An APScheduler date job, as
in the scheduler process and with its interpreter setting
(`scheduler.prepare_process`), wakes `reminders.send_due()` at the due
time; the figures are the time until the last reminder was accepted by a
local SMTP server (aiosmtpd, in its own process) and how late the first and
last were.
The baseline, in the same run: plain smtplib sending the same number of
ready-made messages of the same size over one connection to the same server,
once while the reminders wait for their due time and once after they went
out; the ratio takes the mean of the two, because this shared machine's
speed drifts within a minute (a single baseline moved between 723 and
1,122/s in one afternoon).
"""

from __future__ import annotations

import argparse
import secrets
import smtplib
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, postgres_schema, smtp_sink  # noqa: E402

EVENT = {
    "title": "Fostering Solutions and Collaboration for a Sustainable Mekong River Delta",
    "slug": "fanout", "timezone": "America/New_York", "join_url": "https://meet.example.org/m",
    "reminder_offsets_minutes": [60],
}
ZONES = ["Asia/Phnom_Penh", "Asia/Vientiane", "Asia/Yangon", "Asia/Bangkok",
         "Asia/Ho_Chi_Minh", "Asia/Singapore", "America/New_York"]


def setup(count: int, lead_seconds: float):
    """Event whose one session starts an hour and a bit from now; count confirmed people."""
    import sqlalchemy as sa

    from webinars.core.db import db
    from webinars.events import service as events
    from webinars.models import Registration, Reminder

    start = (datetime.now(UTC) + timedelta(hours=1, seconds=lead_seconds)).replace(
        microsecond=0)
    local = start.astimezone(__import__("zoneinfo").ZoneInfo(EVENT["timezone"]))
    event = events.create_event(dict(EVENT, sessions=[{
        "start": f"{local:%Y-%m-%dT%H:%M:%S}",
        "end": f"{local + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}"}]), None).event
    session = event.sessions[0]
    now = datetime.now(UTC)
    people = [{"event_id": event.id, "token": secrets.token_urlsafe(24),
               "name": f"Participant {n}", "email": f"p{n}@example.org",
               "email_key": f"p{n}@example.org", "organization": "", "country": "KH",
               "timezone": ZONES[n % len(ZONES)], "status": "confirmed", "queued_at": now,
               "created_at": now, "confirmed_at": now} for n in range(count)]
    db.session.execute(sa.insert(Registration), people)
    ids = db.session.scalars(sa.select(Registration.id)).all()
    due = session.start_utc - timedelta(minutes=60)
    db.session.execute(sa.insert(Reminder), [
        {"registration_id": rid, "session_id": session.id, "offset_minutes": 60,
         "due_at": due, "status": "pending", "attempts": 0, "note": ""} for rid in ids])
    db.session.commit()
    return due


def baseline(smtp_url: str, count: int, size: int) -> float:
    """Seconds plain smtplib needs for count messages of this size over one connection."""
    parts = urlsplit(smtp_url)
    body = (b"Subject: baseline\r\nFrom: a@example.org\r\nTo: b@example.org\r\n\r\n"
            + b"x" * 70 + b"\r\n") * max(1, size // 140)
    started = time.perf_counter()
    with smtplib.SMTP(parts.hostname, parts.port) as smtp:
        for n in range(count):
            smtp.sendmail("webinars@example.org", [f"p{n}@example.org"], body)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--lead", type=float, default=40.0,
                        help="seconds between the end of the setup and the due time "
                             "(the first baseline runs in them)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--senders", type=int, default=None,
                        help="SMTP connections at once (default: the app's REMINDER_SENDERS)")
    parser.add_argument("--switch-interval", type=float, default=None,
                        help="Python's thread switch interval in seconds, to compare "
                             "(default: the scheduler process's)")
    args = parser.parse_args()
    print("Reminder fan-out on", machine())

    import sqlalchemy as sa
    from apscheduler.schedulers.background import BackgroundScheduler
    from flask_migrate import upgrade

    from webinars import create_app
    from webinars.core.db import db
    from webinars.models import Reminder
    from webinars.reminders import sending as reminders
    from webinars.worker.scheduler import prepare_process

    with smtp_sink() as smtp_url, tempfile.TemporaryDirectory() as folder, \
            (postgres_schema() if not args.sqlite else _sqlite(folder)) as (url, _):
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "SCHEDULER": "off",
                          "SMTP_URL": smtp_url}, instance_path=folder)
        prepare_process(app)  # this process stands in for `flask scheduler`
        if args.switch_interval is not None:
            sys.setswitchinterval(args.switch_interval)
        with app.app_context():
            upgrade()
            due = setup(args.count, args.lead)
            first = db.session.scalar(sa.select(Reminder).limit(1))
            size = len(reminders.Composer().message(first))
            db.session.remove()
        print(f"{args.count} reminders due at {due:%H:%M:%S} UTC")
        before = baseline(smtp_url, args.count, size)
        if datetime.now(UTC) >= due - timedelta(seconds=1):
            raise SystemExit("the first baseline ran into the due time: raise --lead")

        result, finished = {}, threading.Event()

        def fire():
            with app.app_context():
                result["report"] = reminders.send_due(senders=args.senders)
                result["finished_at"] = datetime.now(UTC)
                db.session.remove()
            finished.set()

        scheduler = BackgroundScheduler(timezone=UTC, job_defaults={"misfire_grace_time": None})
        scheduler.add_job(fire, "date", run_date=due, id="reminder:bench")
        scheduler.start()
        finished.wait()
        scheduler.shutdown()
        report = result["report"]
        with app.app_context():
            sent = db.session.scalar(sa.select(sa.func.count()).where(Reminder.status == "sent"))
            db.session.remove()
            db.engine.dispose()
        elapsed = (result["finished_at"] - due).total_seconds()
        after = baseline(smtp_url, args.count, size)

    rate, plain_rate = report.sent / elapsed, args.count / ((before + after) / 2)
    print(f"  webinars: {report.sent} sent ({sent} marked sent), {report.failed} failed, "
          f"last accepted {elapsed:.1f} s after the due time ({rate:.0f}/s); "
          f"first was {report.first_lateness:.2f} s late, last {report.last_lateness:.1f} s")
    print(f"  smtplib, same server, {args.count} messages of {size} bytes over one "
          f"connection: {before:.1f} s before, {after:.1f} s after ({plain_rate:.0f}/s "
          "for their mean)")
    print(f"  ratio webinars / smtplib: {rate / plain_rate:.2f}")


class _sqlite:
    def __init__(self, folder: str):
        self.url = f"sqlite:///{folder}/fanout.sqlite3"

    def __enter__(self):
        return self.url, None

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    main()
