"""The real scheduler process: killed with SIGKILL before the reminders fall due,
restarted, and every reminder arrives exactly once."""

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from conftest import make_app, wait_until

from webinars import accounts
from webinars.core import clock
from webinars.core.db import db
from webinars.events import service as events
from webinars.models import Heartbeat, Reminder
from webinars.registrations import notices
from webinars.registrations import seats as registrations

pytestmark = pytest.mark.slow


def start_scheduler(database_url: str, smtp_url: str, instance: Path) -> subprocess.Popen:
    env = dict(os.environ, WEBINARS_DATABASE_URL=database_url, WEBINARS_SMTP_URL=smtp_url,
               WEBINARS_SCHEDULER_SWEEP_SECONDS="3", WEBINARS_SECRET_KEY="scheduler-test",
               WEBINARS_BASE_URL="http://webinars.test")
    flask = Path(sys.executable).with_name("flask")
    return subprocess.Popen([str(flask), "--app", "webinars", "scheduler"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=instance)


def heartbeat():
    db.session.rollback()
    row = db.session.get(Heartbeat, "scheduler")
    return row.beat_at if row else None


def test_sigkill_and_restart_send_each_reminder_once(database_url, tmp_path, smtp):
    clock.set_source(None)  # real time: a real process is involved
    app = make_app(database_url, tmp_path / "instance", MAIL_DELIVERY="manual")
    with app.app_context():
        organizer = accounts.create_organizer("o@example.org", "a long password 1")
        yangon = ZoneInfo("Asia/Yangon")
        start = (datetime.now(UTC) + timedelta(seconds=75)).astimezone(yangon)
        event = events.create_event({
            "title": "Reminder drill", "slug": "drill", "timezone": "Asia/Yangon",
            "reminder_offsets_minutes": [1],
            "sessions": [{"start": f"{start:%Y-%m-%dT%H:%M:%S}",
                          "end": f"{start + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}"}],
        }, organizer).event
        for n in range(3):
            registrations.register(event.slug, {"name": f"P{n}", "email": f"p{n}@example.org",
                                              "timezone": "Asia/Bangkok"})
        # The notices (and with them the reminders) are prepared right after
        # the commit by whoever delivers mail; here the test does it.
        assert notices.process_due() == 3
        [due] = {r.due_at for r in db.session.scalars(sa.select(Reminder))}
        assert due > datetime.now(UTC) + timedelta(seconds=5)

        first = start_scheduler(database_url, smtp.url, tmp_path)
        try:
            wait_until(heartbeat, timeout=60)
            assert datetime.now(UTC) < due
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            first.kill()

        second = start_scheduler(database_url, smtp.url, tmp_path)
        try:
            def all_sent():
                db.session.rollback()
                return all(r.status == "sent" for r in db.session.scalars(sa.select(Reminder)))

            wait_until(all_sent, timeout=150, interval=0.5)
            # Let the restarted scheduler sweep twice more: still nothing new.
            seen = heartbeat()
            wait_until(lambda: heartbeat() > seen, timeout=30)
            seen = heartbeat()
            wait_until(lambda: heartbeat() > seen, timeout=30)
        finally:
            second.terminate()
            second.wait(timeout=20)

        reminders_received = [m for m in smtp.messages if m["X-Webinars-Kind"] == "reminder"]
        assert sorted(m["To"].addresses[0].addr_spec for m in reminders_received) == \
            ["p0@example.org", "p1@example.org", "p2@example.org"]
        assert len({m["Message-ID"] for m in reminders_received}) == 3
        # Confirmations the killed process held were taken over, not left for minutes.
        confirmations = [m["Message-ID"] for m in smtp.messages
                         if m["X-Webinars-Kind"] == "confirmation"]
        assert len(confirmations) == len(set(confirmations)) == 3
        db.session.remove()
        db.engine.dispose()
