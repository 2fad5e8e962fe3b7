"""A burst of registrations through the real HTTP stack never sells seat 31.

SQLite: one process, many threads (the dev server). PostgreSQL: several
gunicorn worker processes writing at once.
"""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from conftest import free_port, wait_until
from test_api_events import TCTP

from webinars.core.db import db
from webinars.models import Registration

CAPACITY = 30
PEOPLE = 200
REPEATS = 40  # the same people pressing the button again, at the same time


@pytest.fixture
def server(request, app, database_url):
    """Base URL of a server on this test's database: threads or processes."""
    if database_url.startswith("sqlite"):
        yield request.getfixturevalue("live_server")
        return
    port = free_port()
    env = dict(os.environ, WEBINARS_DATABASE_URL=database_url, WEBINARS_SCHEDULER="off",
               WEBINARS_MAIL_DELIVERY="manual", WEBINARS_SECRET_KEY="burst",
               WEBINARS_RATELIMIT_ENABLED="false",  # one client, 240 registrations
               WEBINARS_VERIFY_EMAIL="never",  # the seat decision under races is the subject
               WEBINARS_BASE_URL=f"http://127.0.0.1:{port}")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "-w", "4", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         "webinars:create_app()"], env=env)
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(f"{base}/api/v1/events", timeout=2).ok
        except (requests.ConnectionError, requests.Timeout):  # still starting
            assert process.poll() is None, "gunicorn exited"
            return False

    wait_until(up, timeout=60)
    yield base
    process.terminate()
    process.wait(timeout=30)


@pytest.mark.slow
def test_burst_fills_exactly_the_capacity(client, auth, server):
    event = dict(TCTP, slug="tctp", capacity=CAPACITY)
    assert client.post("/api/v1/events", json=event, headers=auth).status_code == 201
    db.session.commit()
    bodies = [{"name": f"Participant {n}", "email": f"person{n}@example.org",
               "country": "SG", "timezone": "Asia/Singapore"} for n in range(PEOPLE)]
    bodies += [dict(bodies[n], email=bodies[n]["email"].upper()) for n in range(REPEATS)]

    def post(body):
        response = requests.post(f"{server}/api/v1/events/tctp/registrations", json=body,
                                 timeout=120)
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(post, bodies))

    assert {code for code, _ in answers} <= {201, 202}, answers
    assert sum(code == 201 for code, _ in answers) == PEOPLE  # one new row per person
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Registration).order_by(Registration.id)).all()
    assert len(rows) == PEOPLE
    assert len({r.email_key for r in rows}) == PEOPLE
    confirmed = [r for r in rows if r.status == "confirmed"]
    waiting = [r for r in rows if r.status == "waitlisted"]
    assert len(confirmed) == CAPACITY and len(waiting) == PEOPLE - CAPACITY
    # Decisions were made one at a time: every confirmed row came before every waiting one.
    assert max(r.id for r in confirmed) < min(r.id for r in waiting)
    # A repeat learnt nothing of the registration (its link goes to the inbox);
    # each new one got its own row's token.
    by_email = {r.email_key: r for r in rows}
    for code, body in answers:
        if code == 202:
            assert body["status"] == "check_inbox" and "token" not in body
        else:
            assert by_email[f"person{_number(body)}@example.org"].token == body["token"]
    listing = client.get("/api/v1/events/tctp/registrations", headers=auth).json
    positions = [r["waitlist_position"] for r in listing["registrations"]
                 if r["status"] == "waitlisted"]
    assert positions == list(range(1, PEOPLE - CAPACITY + 1))


def _number(body) -> int:
    return int(body["name"].rsplit(" ", 1)[1])


def test_reminder_planning_holds_up_schedule_changes_not_registrations(app, client, auth):
    """The three locks on an event (webinars.locks), seen from three connections."""
    from webinars import locks
    from webinars.models import Event

    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one lock for the whole database")
    assert client.post("/api/v1/events", json=dict(TCTP, slug="tctp"),
                       headers=auth).status_code == 201
    engine = sa.create_engine(db.engine.url)
    planner, seats, organizer = (engine.connect() for _ in range(3))
    try:
        event_id = planner.scalar(sa.select(Event.id).where(Event.slug == "tctp"))
        locks.reminders([event_id])(planner)
        for conn in (seats, organizer):
            conn.execute(sa.text("SET lock_timeout = '300ms'"))
        # A seat decision is not held up by the notice step's planning...
        assert seats.execute(locks.SEATS_BY_SLUG, {"slug": "tctp"}).one()
        seats.rollback()
        # ...a change of the schedule is, until the planning commits.
        with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
            locks.event(event_id)(organizer)
        organizer.rollback()
        planner.commit()
        organizer.execute(sa.text("SET lock_timeout = '300ms'"))
        locks.event(event_id)(organizer)  # no longer waits
        organizer.rollback()
    finally:
        for conn in (planner, seats, organizer):
            conn.close()
        engine.dispose()


def test_notice_step_and_an_organizer_change_never_wait_for_each_other(app, client, auth):
    """An organizer's change locks the event, then writes rows that refer to its
    registrations (mail, reminders, promotions). The notice step must take the
    event before it claims registrations, or each waits for the other."""
    import threading

    from webinars import locks
    from webinars.models import Event, OutboxMessage, Reminder
    from webinars.registrations import notices

    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one lock for the whole database")
    app.config["MAIL_DELIVERY"] = "manual"
    assert client.post("/api/v1/events", json=dict(TCTP, slug="tctp"),
                       headers=auth).status_code == 201
    seat = client.post("/api/v1/events/tctp/registrations",
                       json={"name": "Dara", "email": "dara@example.org"}).json
    registration_id = db.session.scalar(sa.select(Registration.id))
    db.session.remove()

    engine = sa.create_engine(db.engine.url)
    organizer = engine.connect()
    outcome = {}

    def notice_step():
        with app.app_context():
            try:
                outcome["prepared"] = notices.process_due()
            except Exception as exc:  # reported below
                outcome["error"] = exc
            finally:
                db.session.remove()

    try:
        organizer.execute(sa.text("SET lock_timeout = '5s'"))
        locks.event(organizer.scalar(sa.select(Event.id).where(Event.slug == "tctp")))(organizer)
        step = threading.Thread(target=notice_step)
        step.start()
        # The notice step is waiting for the organizer's lock.
        wait_until(lambda: organizer.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))")).scalar() == 1, timeout=20)
        # The organizer's mail to this registrant: a row referring to it.
        organizer.execute(sa.insert(OutboxMessage).values(
            kind="message", recipient="dara@example.org", message_id="<m1@test>",
            payload=b"x", registration_id=registration_id))
        organizer.commit()
        step.join(timeout=30)
    finally:
        organizer.close()
        engine.dispose()
    assert outcome == {"prepared": 1}
    assert seat["status"] == "confirmed"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reminder)) == 8
