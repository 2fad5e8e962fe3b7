"""Skipping stale reminders after downtime, on a fresh table PostgreSQL has never analysed.

    .venv/bin/python bench/stale_reminders.py [--people 300 5000] [--timeout 120]

Each registrant of one event has a day-before and an hour-before reminder,
both found due at once (the sender was down): the day-before one is
superseded. The rows are inserted into a fresh schema with autovacuum off
for the table, so the planner's statistics say the table is empty, as right
after a burst of registrations. Measured in the same run: the "superseded"
UPDATE as it was before (a grouped subquery joined back, bounded by
``--timeout``), ``reminders.sending._skip_stale`` as it is now, and a plain
count of the due rows as the baseline. Prints EXPLAIN ANALYZE of the new
statements.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, postgres_schema  # noqa: E402


def setup(people: int) -> datetime:
    """An event starting in an hour with ``people`` confirmed, both reminders due now."""
    from webinars.core.db import db
    from webinars.events import service as events
    from webinars.models import Registration, Reminder

    db.session.execute(sa.text("ALTER TABLE reminders SET (autovacuum_enabled = false)"))
    db.session.commit()
    start = datetime.now(UTC) + timedelta(minutes=30)
    local = start.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Singapore"))
    event = events.create_event({
        "title": "Stale reminders (benchmark)", "slug": "stale", "timezone": "Asia/Singapore",
        "sessions": [{"start": f"{local:%Y-%m-%dT%H:%M:%S}",
                      "end": f"{local + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}"}]}, None).event
    session_id = event.sessions[0].id
    now = datetime.now(UTC)
    db.session.execute(sa.insert(Registration), [
        {"event_id": event.id, "token": secrets.token_urlsafe(24), "name": f"P{n}",
         "email": f"p{n}@example.org", "email_key": f"p{n}@example.org", "organization": "",
         "country": "KH", "timezone": "Asia/Yangon", "status": "confirmed",
         "queued_at": now, "created_at": now, "confirmed_at": now} for n in range(people)])
    ids = db.session.scalars(sa.select(Registration.id)).all()
    db.session.execute(sa.insert(Reminder), [
        {"registration_id": rid, "session_id": session_id, "offset_minutes": offset,
         "due_at": start - timedelta(minutes=offset), "status": "pending", "attempts": 0,
         "note": ""} for rid in ids for offset in (1440, 60)])
    db.session.commit()
    return now


def old_superseded(now: datetime, timeout: int) -> float | None:
    """Seconds the former grouped UPDATE took, or None when it ran past ``timeout``."""
    from webinars.core.db import db
    from webinars.models import Reminder

    due = sa.and_(Reminder.status == "pending", Reminder.due_at <= now)
    crowded = (sa.select(Reminder.registration_id, Reminder.session_id,
                         sa.func.max(Reminder.due_at).label("latest"))
               .where(due).group_by(Reminder.registration_id, Reminder.session_id)
               .having(sa.func.count() > 1).subquery())
    superseded = Reminder.id.in_(
        sa.select(Reminder.id).join(crowded, sa.and_(
            Reminder.registration_id == crowded.c.registration_id,
            Reminder.session_id == crowded.c.session_id))
        .where(due, Reminder.due_at < crowded.c.latest))
    db.session.execute(sa.text(f"SET LOCAL statement_timeout = '{timeout}s'"))
    began = time.perf_counter()
    try:
        db.session.execute(sa.update(Reminder).where(due, superseded)
                           .values(status="skipped").execution_options(
                               synchronize_session=False))
    except sa.exc.OperationalError:
        return None
    finally:
        db.session.rollback()  # leave the rows for the new code
    return time.perf_counter() - began


def explain(statement) -> list[str]:
    """EXPLAIN ANALYZE of a select, its literal values inlined."""
    from webinars.core.db import db

    sql = statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    lines = db.session.execute(sa.text(f"EXPLAIN (ANALYZE, BUFFERS OFF) {sql}")).scalars().all()
    db.session.rollback()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, nargs="+", default=[300, 5000])
    parser.add_argument("--timeout", type=int, default=120)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from webinars import create_app
    from webinars.core.db import db
    from webinars.models import Reminder
    from webinars.reminders import sending

    print(machine())
    for people in args.people:
        with postgres_schema() as (url, _schema):
            app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "SCHEDULER": "off",
                              "MAIL_DELIVERY": "manual"}, instance_path="/tmp/bench-stale")
            with app.app_context():
                upgrade()
                now = setup(people)
                due = 2 * people
                began = time.perf_counter()
                counted = db.session.scalar(sa.select(sa.func.count()).where(
                    Reminder.status == "pending", Reminder.due_at <= now))
                scan = time.perf_counter() - began
                db.session.rollback()
                old = old_superseded(now, args.timeout)
                plan = explain(sending.due_now(now))
                report = sending.Report()
                began = time.perf_counter()
                sending._skip_stale(report)
                new = time.perf_counter() - began
                db.session.remove()
                db.engine.dispose()
        assert counted == due and report.skipped == people, (counted, report)
        old_text = f"{old:.3f} s" if old is not None else f"more than {args.timeout} s"
        print(f"\n{due} due reminders ({people} superseded), fresh unanalysed table:")
        print(f"  baseline, count the due rows:   {scan * 1000:8.1f} ms")
        print(f"  skip stale, as it is now:        {new * 1000:8.1f} ms")
        print(f"  'superseded' UPDATE as before:   {old_text}")
        print("  EXPLAIN ANALYZE of the new reading:")
        print("    " + "\n    ".join(plan))


if __name__ == "__main__":
    main()
