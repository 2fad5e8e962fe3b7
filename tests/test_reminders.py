"""Reminders with an injectable clock: planned, moved, dropped, sent once."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import at_once
from test_api_events import MEKONG, TCTP

from webinars.core.db import db
from webinars.models import Reminder
from webinars.reminders import sending as reminders
from webinars.worker import scheduler

# The Mekong webinar starts 2027-07-15 02:00 UTC (22:00 in New York).
START = datetime(2027, 7, 15, 2, 0, tzinfo=UTC)


def register(client, slug, n=1, **extra):
    body = {"name": f"Participant {n}", "email": f"p{n}@example.org",
            "timezone": "Asia/Yangon", **extra}
    response = client.post(f"/api/v1/events/{slug}/registrations", json=body)
    assert response.status_code in (200, 201), response.json
    return response.json


def sent_reminders(smtp, address="p1@example.org"):
    return [m for m in smtp.to(address) if m["X-Webinars-Kind"] == "reminder"]


def rows():
    db.session.expire_all()
    return db.session.scalars(sa.select(Reminder).order_by(Reminder.due_at, Reminder.id)).all()


@pytest.fixture
def mekong(client, auth):
    assert client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"),
                       headers=auth).status_code == 201
    return "mekong"


def test_default_offsets_a_day_and_an_hour_before(client, mekong):
    register(client, mekong)
    assert [(r.offset_minutes, r.due_at, r.status) for r in rows()] == [
        (1440, START - timedelta(days=1), "pending"),
        (60, START - timedelta(hours=1), "pending")]


def test_every_session_of_a_workshop_gets_its_reminders(client, auth):
    client.post("/api/v1/events", json=dict(TCTP, slug="tctp"), headers=auth)
    register(client, "tctp")
    assert len(rows()) == 8
    assert {r.session_id for r in rows()} == {s["id"] for s in client.get(
        "/api/v1/events/tctp").json["sessions"]}


def test_reminder_is_sent_once_when_due(mail_app, client, mekong, smtp, frozen_clock):
    token = register(client, mekong, name="Aung <Aung>")["token"]
    frozen_clock.set(START - timedelta(days=1, seconds=1))
    assert reminders.send_due().sent == 0
    frozen_clock.advance(seconds=1)
    assert reminders.send_due().sent == 1
    assert reminders.send_due().sent == 0
    [message] = sent_reminders(smtp)
    assert message["X-Webinars-Kind"] == "reminder"
    assert message["Subject"] == f"Reminder: {MEKONG['title']} starts in 24 hours"
    assert message["Message-ID"].startswith("<reminder-")
    text = message.get_body(("plain",)).get_content()
    assert "Thu, 15 Jul 2027, 08:30–10:00 (Yangon, +06:30)" in text
    assert "Wed, 14 Jul 2027, 22:00–23:30 (New York, EDT)" in text
    assert "https://meet.example.org/mekong" in text
    assert f"http://webinars.test/registrations/{token}" in text
    assert any(p.get_content_type() == "text/calendar" for p in message.walk())
    assert "Aung &lt;Aung&gt;" in message.get_body(("html",)).get_content()
    frozen_clock.set(START - timedelta(minutes=59))
    assert reminders.send_due().sent == 1
    assert sent_reminders(smtp)[1]["Subject"].endswith("starts in 1 hour")


def test_reschedule_moves_reminders(mail_app, client, auth, mekong, smtp, frozen_clock):
    register(client, mekong)
    session_id = client.get(f"/api/v1/events/{mekong}").json["sessions"][0]["id"]
    client.patch(f"/api/v1/events/{mekong}", headers=auth, json={"sessions": [
        {"id": session_id, "start": "2027-07-21T22:00", "end": "2027-07-21T23:30"}]})
    new_start = START + timedelta(days=7)
    assert [r.due_at for r in rows()] == [new_start - timedelta(days=1),
                                          new_start - timedelta(hours=1)]
    smtp.messages.clear()
    frozen_clock.set(START - timedelta(hours=1))  # the old time: nothing
    assert reminders.send_due().sent == 0
    frozen_clock.set(new_start - timedelta(days=1))
    assert reminders.send_due().sent == 1
    assert "Wed, 21 Jul 2027, 22:00–23:30 (New York, EDT)" in \
        sent_reminders(smtp)[0].get_body(("plain",)).get_content()


def test_sent_reminder_is_sent_again_when_the_session_moves_later(mail_app, client, auth,
                                                                   mekong, smtp, frozen_clock):
    register(client, mekong)
    frozen_clock.set(START - timedelta(hours=20))
    assert reminders.send_due().sent == 1  # the 24-hour one
    session_id = client.get(f"/api/v1/events/{mekong}").json["sessions"][0]["id"]
    client.patch(f"/api/v1/events/{mekong}", headers=auth, json={"sessions": [
        {"id": session_id, "start": "2027-07-21T22:00", "end": "2027-07-21T23:30"}]})
    frozen_clock.set(START + timedelta(days=6))
    assert reminders.send_due().sent == 1
    ids = {m["Message-ID"] for m in sent_reminders(smtp)}
    assert len(ids) == 2  # a new Message-ID for the new time


def test_cancel_drops_reminders(client, auth, mekong, frozen_clock):
    first = register(client, mekong, 1)
    register(client, mekong, 2)
    client.delete(f"/api/v1/registrations/{first['token']}")
    assert {r.registration.email for r in rows()} == {"p2@example.org"}
    client.post(f"/api/v1/events/{mekong}/cancel", headers=auth)
    assert rows() == []
    frozen_clock.set(START - timedelta(minutes=30))
    assert reminders.send_due().sent == 0


def test_dropped_session_loses_its_reminders(client, auth):
    created = client.post("/api/v1/events", json=dict(TCTP, slug="tctp"), headers=auth).json
    register(client, "tctp")
    keep = created["sessions"][:2]
    client.patch("/api/v1/events/tctp", headers=auth, json={"sessions": [
        {"id": s["id"], "start": s["start"][:16], "end": s["end"][:16]} for s in keep]})
    assert {r.session_id for r in rows()} == {s["id"] for s in keep}


def test_registering_after_a_reminder_time_skips_it(client, mekong, frozen_clock):
    frozen_clock.set(START - timedelta(hours=3))
    register(client, mekong)
    assert [r.offset_minutes for r in rows()] == [60]


def test_promotion_schedules_the_reminders_still_ahead(client, auth, frozen_clock):
    client.post("/api/v1/events", json=dict(MEKONG, slug="small", capacity=1), headers=auth)
    first = register(client, "small", 1)
    register(client, "small", 2)
    assert {r.registration.email for r in rows()} == {"p1@example.org"}
    frozen_clock.set(START - timedelta(hours=2))
    client.delete(f"/api/v1/registrations/{first['token']}")
    assert [(r.registration.email, r.offset_minutes) for r in rows()] == [
        ("p2@example.org", 60)]


def test_changed_offsets_replan(client, auth, mekong):
    register(client, mekong)
    client.patch(f"/api/v1/events/{mekong}", json={"reminder_offsets_minutes": [10080, 30]},
                 headers=auth)
    assert [r.offset_minutes for r in rows()] == [10080, 30]


def test_after_downtime_late_before_start_is_sent_and_after_start_skipped(
        mail_app, client, auth, smtp, frozen_clock):
    client.post("/api/v1/events", json=dict(TCTP, slug="tctp"), headers=auth)
    register(client, "tctp")
    # The sender was down from before the first reminder until 15 minutes
    # before session 2 (01:00 UTC on 2 November).
    frozen_clock.set(datetime(2027, 11, 2, 0, 45, tzinfo=UTC))
    report = reminders.send_due()
    assert (report.sent, report.skipped) == (1, 3)
    by_due = {r.due_at: r for r in rows()}
    # Session 1 had started: both its reminders are skipped, and say why.
    for due in (datetime(2027, 10, 31, 1, 0, tzinfo=UTC), datetime(2027, 11, 1, 0, 0,
                                                                   tzinfo=UTC)):
        assert by_due[due].status == "skipped" and "had started" in by_due[due].note
    # Session 2: the day-before one is superseded, the hour-before one goes out late.
    assert "superseded" in by_due[datetime(2027, 11, 1, 1, 0, tzinfo=UTC)].note
    late = by_due[datetime(2027, 11, 2, 0, 0, tzinfo=UTC)]
    assert (late.status, late.sent_at) == ("sent", frozen_clock())
    assert [m["Subject"] for m in sent_reminders(smtp)] == \
        [f"Reminder: {TCTP['title']} starts in 15 minutes"]


def test_of_three_reminders_due_at_once_only_the_latest_goes_to_each_person(
        mail_app, client, auth, smtp, frozen_clock):
    assert client.post("/api/v1/events", json=dict(MEKONG, slug="mekong",
                                                   reminder_offsets_minutes=[2880, 1440, 60]),
                       headers=auth).status_code == 201
    for n in (1, 2, 3):
        register(client, "mekong", n)
    frozen_clock.set(START - timedelta(minutes=40))  # the sender was down for two days
    report = reminders.send_due()
    assert (report.sent, report.skipped) == (3, 6)
    for n in (1, 2, 3):
        assert [m["Subject"] for m in sent_reminders(smtp, f"p{n}@example.org")] == \
            [f"Reminder: {MEKONG['title']} starts in 40 minutes"]
    assert sorted((r.offset_minutes, r.status) for r in rows()) == \
        [(60, "sent")] * 3 + [(1440, "skipped")] * 3 + [(2880, "skipped")] * 3
    assert reminders.send_due().sent == 0


def test_temporary_smtp_failure_retries_permanent_records(mail_app, client, mekong, smtp,
                                                          frozen_clock):
    register(client, mekong, 1)
    register(client, mekong, 2)
    smtp.messages.clear()
    frozen_clock.set(START - timedelta(days=1))
    smtp.refuse_with = "451 4.7.1 Greylisted, try again"
    report = reminders.send_due()
    assert (report.sent, report.retried) == (0, 2)
    smtp.refuse_with = None
    assert reminders.send_due().sent == 0  # backoff holds them
    frozen_clock.advance(minutes=2)
    assert reminders.send_due().sent == 2
    assert len(smtp.messages) == 2


def test_two_senders_at_once_send_each_reminder_once(mail_app, client, auth, smtp,
                                                     frozen_clock):
    client.post("/api/v1/events", json=dict(MEKONG, slug="big"), headers=auth)
    for n in range(40):
        register(client, "big", n)
    smtp.messages.clear()
    frozen_clock.set(START - timedelta(days=1))
    db.session.remove()
    reports = at_once(mail_app, lambda: reminders.send_due(limit=5))
    assert sum(r.sent for r in reports) == 40
    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(ids) == 40 and len(set(ids)) == 40


def test_a_reminder_planned_or_moved_elsewhere_gets_its_wake_up_at_the_next_mail_poll(
        app, client, auth, mekong):
    # The scheduler process learns of registrations and moves made by web
    # workers only through the database; its mail poll (every 2 s) sets the
    # one reminder job, so none waits for the minute's sweep.
    jobs = scheduler.build(app, blocking=False)
    jobs.start(paused=True)  # keeps its jobs, runs none
    try:
        jobs.get_job("sweep").func()  # a start's first: the time-zone refresh
        poll = jobs.get_job("mail").func
        poll()
        assert jobs.get_job(scheduler.NEXT_JOB) is None  # nothing pending

        register(client, mekong)
        poll()
        assert jobs.get_job(scheduler.NEXT_JOB).trigger.run_date == START - timedelta(days=1)

        session_id = client.get(f"/api/v1/events/{mekong}").json["sessions"][0]["id"]
        moved = client.patch(f"/api/v1/events/{mekong}", headers=auth, json={"sessions": [
            {"id": session_id, "start": "2027-07-13T22:00", "end": "2027-07-13T23:30"}]})
        assert moved.status_code == 200, moved.json
        poll()
        assert jobs.get_job(scheduler.NEXT_JOB).trigger.run_date == \
            START - timedelta(days=2)  # a day earlier, a day before
    finally:
        jobs.shutdown(wait=False)
