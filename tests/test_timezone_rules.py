"""When tzdata changes a zone's rules, the wall clock the organizer typed wins.

These tests store instants that today's rules disagree with (what an event
created under older tzdata holds after an update) and run the refresh the
way an operator does, with ``flask refresh-timezones``, and the way the
scheduler does at start-up.
"""

import email
from datetime import UTC, datetime, timedelta

import icalendar
import sqlalchemy as sa
from test_api_events import MEKONG

from webinars.core.db import db
from webinars.models import EventSession, OutboxMessage, Reminder
from webinars.worker import scheduler

# MEKONG: 2027-07-14 22:00-23:30 in New York (EDT), 02:00 UTC the next day.
START = datetime(2027, 7, 15, 2, 0, tzinfo=UTC)


def create(client, auth, **fields):
    response = client.post("/api/v1/events", json=dict(MEKONG, slug="mekong", **fields),
                           headers=auth)
    assert response.status_code == 201, response.json
    return response.json


def register(client, n=1):
    response = client.post("/api/v1/events/mekong/registrations", json={
        "name": f"Participant {n}", "email": f"p{n}@example.org", "timezone": "Asia/Yangon"})
    assert response.status_code == 201, response.json
    return response.json


def old_rules(session_id: int, shift: timedelta) -> None:
    """Make the stored instants (and the reminders planned from them) what older rules gave."""
    with db.engine.begin() as conn:
        row = conn.execute(sa.select(EventSession.start_utc, EventSession.end_utc)
                           .where(EventSession.id == session_id)).one()
        conn.execute(sa.update(EventSession).where(EventSession.id == session_id).values(
            start_utc=row.start_utc + shift, end_utc=row.end_utc + shift))
        for reminder in conn.execute(sa.select(Reminder.id, Reminder.due_at).where(
                Reminder.session_id == session_id)).all():
            conn.execute(sa.update(Reminder).where(Reminder.id == reminder.id)
                         .values(due_at=reminder.due_at + shift))
    db.session.rollback()


def in_the_skipped_hour(session_id: int) -> None:
    """Store the session as older rules allowed: 02:30 on 14 March 2027 in New York,
    an hour the clocks now skip."""
    with db.engine.begin() as conn:
        conn.execute(sa.update(EventSession).where(EventSession.id == session_id).values(
            start_local=datetime(2027, 3, 14, 2, 30), end_local=datetime(2027, 3, 14, 3, 30),
            start_utc=datetime(2027, 3, 14, 7, 30, tzinfo=UTC),
            end_utc=datetime(2027, 3, 14, 8, 30, tzinfo=UTC)))


def session(session_id: int) -> EventSession:
    db.session.rollback()  # a fresh read, not the snapshot of an earlier one
    return db.session.get(EventSession, session_id)


def updates_to(address: str) -> list[icalendar.Calendar]:
    rows = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.kind == "update", OutboxMessage.recipient == address)).all()
    calendars = []
    for row in rows:
        message = email.message_from_bytes(row.payload)
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                calendars.append(icalendar.Calendar.from_ical(part.get_payload(decode=True)))
    return calendars


def test_refresh_moves_a_session_its_reminders_and_tells_registrants(app, client, auth):
    event = create(client, auth)
    session_id = event["sessions"][0]["id"]
    register(client)
    # Older rules (New York on standard time all year, say) read 22:00 as 03:00 UTC.
    old_rules(session_id, timedelta(hours=1))
    before = session(session_id).sequence

    result = app.test_cli_runner().invoke(args=["refresh-timezones"])

    assert result.exit_code == 0, result.output
    assert "mekong: 1 session(s) moved" in result.output
    moved = session(session_id)
    assert (moved.start_utc, moved.end_utc) == (START, START + timedelta(minutes=90))
    assert moved.start_local == datetime(2027, 7, 14, 22, 0)  # the wall clock did not move
    assert moved.sequence == before + 1
    assert sorted(r.due_at for r in db.session.scalars(sa.select(Reminder))) == [
        START - timedelta(days=1), START - timedelta(hours=1)]
    [invitation] = updates_to("p1@example.org")
    [vevent] = invitation.walk("VEVENT")
    assert str(invitation["METHOD"]) == "REQUEST"
    assert vevent["SEQUENCE"] == before + 1
    assert vevent.decoded("DTSTART").astimezone(UTC) == START
    # The API shows the new instant; a second run finds nothing to do.
    assert client.get("/api/v1/events/mekong").json["sessions"][0]["start_utc"] == \
        "2027-07-15T02:00:00Z"
    again = app.test_cli_runner().invoke(args=["refresh-timezones"])
    assert again.exit_code == 0
    assert "agrees with today's time-zone rules" in again.output
    assert len(updates_to("p1@example.org")) == 1


def test_a_session_that_started_keeps_its_instants(app, client, auth, frozen_clock):
    event = create(client, auth)
    session_id = event["sessions"][0]["id"]
    old_rules(session_id, timedelta(hours=1))
    frozen_clock.set(START + timedelta(hours=1, minutes=30))  # under the old instants, running

    result = app.test_cli_runner().invoke(args=["refresh-timezones"])

    assert result.exit_code == 0
    assert session(session_id).start_utc == START + timedelta(hours=1)


def test_the_second_occurrence_of_a_repeated_hour_is_not_moved_back(app, client, auth):
    # 01:30 happens twice in New York on 7 November 2027; the organizer chose
    # the second (EST) with an explicit offset. Both readings are today's
    # rules: nothing to refresh.
    event = create(client, auth, sessions=[{"start": "2027-11-07T01:30-05:00",
                                            "end": "2027-11-07T02:30-05:00"}])
    session_id = event["sessions"][0]["id"]
    before = session(session_id)
    assert before.start_utc == datetime(2027, 11, 7, 6, 30, tzinfo=UTC)

    result = app.test_cli_runner().invoke(args=["refresh-timezones"])

    assert result.exit_code == 0
    assert "agrees with today's time-zone rules" in result.output
    assert session(session_id).start_utc == before.start_utc


def test_a_wall_clock_the_zone_now_skips_is_reported_and_left_alone(app, client, auth):
    event = create(client, auth)
    session_id = event["sessions"][0]["id"]
    in_the_skipped_hour(session_id)

    result = app.test_cli_runner().invoke(args=["refresh-timezones"])

    assert result.exit_code == 1
    assert "mekong: a session was not moved" in result.output
    assert "no longer exists in America/New_York" in result.output
    assert session(session_id).start_utc == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)


def test_the_scheduler_refreshes_first_when_it_starts(app, client, auth, frozen_clock):
    event = create(client, auth)
    session_id = event["sessions"][0]["id"]
    register(client)
    # Under the old rules the session was an hour earlier, and so was its
    # hour-before reminder: at 01:30 UTC it looks due. By today's rules it is not.
    old_rules(session_id, timedelta(hours=-1))
    frozen_clock.set(START - timedelta(minutes=90))
    sweep = scheduler.build(app, blocking=False).get_job("sweep").func

    sweep()

    assert session(session_id).start_utc == START
    assert [r.status for r in db.session.scalars(sa.select(Reminder).where(
        Reminder.offset_minutes == 60))] == ["pending"]


def test_one_skipped_wall_clock_does_not_keep_the_other_sessions_on_old_rules(
        app, client, auth):
    event = create(client, auth, sessions=[
        {"start": "2027-07-14T22:00", "end": "2027-07-14T23:30"},
        {"start": "2027-07-15T22:00", "end": "2027-07-15T23:30"}])
    first, second = (s["id"] for s in event["sessions"])
    old_rules(second, timedelta(hours=1))
    in_the_skipped_hour(first)

    result = app.test_cli_runner().invoke(args=["refresh-timezones"])

    assert result.exit_code == 1
    assert "mekong: 1 session(s) moved" in result.output
    assert "no longer exists" in result.output
    assert session(second).start_utc == START + timedelta(days=1)
    assert session(first).start_utc == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)


def test_a_draft_moves_quietly_and_a_cancelled_event_not_at_all(app, client, auth):
    event = create(client, auth, status="draft")
    session_id = event["sessions"][0]["id"]
    old_rules(session_id, timedelta(hours=1))
    assert app.test_cli_runner().invoke(args=["refresh-timezones"]).exit_code == 0
    assert session(session_id).start_utc == START  # drafts have no registrants to tell

    assert client.post("/api/v1/events/mekong/cancel", headers=auth).status_code == 200
    old_rules(session_id, timedelta(hours=1))
    sequence = session(session_id).sequence
    result = app.test_cli_runner().invoke(args=["refresh-timezones"])
    assert "agrees with today's time-zone rules" in result.output
    assert session(session_id).sequence == sequence
