"""The organizer's event pages: create, edit, reschedule, publish, close, capacity, cancel,
and the audit trail that the pages and the API both write."""

import re
from datetime import UTC, datetime

import icalendar
import organizer_helpers
import sqlalchemy as sa
from organizer_helpers import event_form, form_values, outbox, post, text_of
from test_api_events import MEKONG, TCTP

from webinars.core.db import db
from webinars.models import (
    AuditEntry,
    Event,
    EventSession,
    OutboxMessage,
    Registration,
    Reminder,
)

# The signed-in client fixture, shared by the organizer tests.
signed_in = organizer_helpers.signed_in

NEW = "/organizer/events/new"


def person(n: int, zone: str = "Asia/Bangkok", country: str = "TH") -> dict:
    return {"name": f"Participant {n}", "email": f"p{n}@example.org", "country": country,
            "timezone": zone}


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def create(client, **changes):
    return post(client, NEW, event_form(**changes), form_url=NEW)


def trail(slug: str = "mekong") -> list[tuple[str, str, str, str]]:
    """(who, field, old, new) of an event's audit entries, oldest first."""
    event = db.session.scalar(sa.select(Event).where(Event.slug == slug))
    rows = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.event_id == event.id)
                              .order_by(AuditEntry.id)).all()
    return [(r.actor, r.field, r.old, r.new) for r in rows]


# --- create ---------------------------------------------------------------------


def test_create_an_event_with_the_form(signed_in):
    response = create(signed_in)
    assert response.status_code == 303
    assert response.headers["Location"] == "/organizer/events/mekong"
    page = text_of(signed_in.get("/organizer/events/mekong"))
    assert "The event is created." in page
    assert "Wed, 14 Jul 2027, 22:00–23:30 (New York, EDT)" in page
    assert "Seats taken 0 / no limit" in page
    # The public page is up, with the same times the API gives.
    assert signed_in.get("/events/mekong").status_code == 200
    api = signed_in.get("/api/v1/events/mekong").json
    assert api["sessions"][0]["start"] == "2027-07-14T22:00:00-04:00"
    assert api["reminder_offsets_minutes"] == [1440, 60]
    assert trail() == [("organizer@example.org", "event", "", "created (published)")]


def test_the_dashboard_counts_seats_in_my_zone(signed_in, client, auth):
    client.post("/api/v1/events", json=dict(TCTP, slug="tctp", capacity=2), headers=auth)
    for n in range(1, 4):
        client.post("/api/v1/events/tctp/registrations", json=person(n))
    post(signed_in, "/organizer/settings/timezone", {"timezone": "Asia/Yangon"},
         "/organizer/settings")
    page = text_of(signed_in.get("/organizer/"))
    row = re.search(r"TCTP Cybersecurity Workshop (.*?)(?= Times are in your zone)", page)[1]
    # Seats taken / capacity, waiting, and the next session in Yangon (+06:30).
    assert row.startswith("Published 2 / 2 1 Mon, 1 Nov 2027, 07:30–10:00 (Yangon, +06:30)")


def test_a_draft_then_publish(signed_in):
    create(signed_in, status="draft")
    assert signed_in.get("/events/mekong").status_code == 404
    assert "Draft" in text_of(signed_in.get("/organizer/"))
    response = post(signed_in, "/organizer/events/mekong/publish")
    assert response.status_code == 303
    assert "The event is published." in text_of(signed_in.get("/organizer/events/mekong"))
    assert signed_in.get("/events/mekong").status_code == 200
    post(signed_in, "/organizer/events/mekong/unpublish")
    assert signed_in.get("/events/mekong").status_code == 404
    assert [(f, o, n) for _, f, o, n in trail()][1:] == [
        ("status", "draft", "published"), ("status", "published", "draft")]


def test_errors_sit_next_to_their_field_and_nothing_is_saved(signed_in):
    # Row 1 is left empty; row 2 ends before it starts: the service calls it
    # sessions[1].end, the form row 2.
    response = create(signed_in, **{
        "sessions-1-start": "", "sessions-1-end": "",
        "sessions-2-title": "Wrap-up", "sessions-2-start": "2027-07-15T22:00",
        "sessions-2-end": "2027-07-15T21:00"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'<input[^>]*aria-describedby="sessions-2-end-error"[^>]*aria-invalid="true"'
                     r'|<input[^>]*aria-invalid="true"[^>]*id="sessions-2-end"', html)
    assert re.search(r'id="sessions-2-end-error">The session must end after it starts', html)
    assert 'href="#sessions-2-end"' in html  # the summary at the top links to it
    # What was typed is all still there.
    assert 'value="Wrap-up"' in html and 'value="2027-07-15T21:00"' in html
    assert count(Event) == 0 and count(EventSession) == 0


def test_field_errors_for_the_zone_the_capacity_and_a_skipped_hour(signed_in):
    cases = [
        ({"timezone": "Mekong/Delta"}, "timezone", "Unknown time zone"),
        ({"capacity": "thirty"}, "capacity", "Expected a whole number"),
        ({"capacity": "0"}, "capacity", "from 1 to"),
        ({"reminder_offsets_minutes": "1440, soon"}, "reminder_offsets_minutes",
         "Expected a whole number"),
        ({"join_url": "meet.example.org"}, "join_url", "https://"),
        ({"title": ""}, "title", "required"),
        ({"sessions-0-start": "2027-03-14T02:30", "sessions-0-end": "2027-03-14T04:00"},
         "sessions-0-start", "the clocks skip that hour"),
    ]
    for change, field, message in cases:
        response = create(signed_in, **change)
        assert response.status_code == 422, change
        html = response.get_data(as_text=True)
        error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
        assert error and message in error[1], (change, error)
        assert re.search(rf'<input[^>]*id="{field}"[^>]*>', html)[0].count('aria-invalid="true"')
    assert count(Event) == 0


def test_the_slug_taken_is_a_message_next_to_the_slug(signed_in):
    create(signed_in)
    response = create(signed_in, title="Another")
    assert response.status_code == 409
    assert re.search(r'id="slug-error">The address /events/mekong is taken',
                     response.get_data(as_text=True))


def test_add_another_session_without_javascript(signed_in):
    response = create(signed_in, action="add-session")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="sessions-1-start"' in html and 'value="2027-07-14T22:00"' in html
    assert count(Event) == 0  # nothing saved yet


# --- edit and reschedule ------------------------------------------------------------


def test_moving_a_session_mails_registrants_their_new_time_and_moves_reminders(
        app, signed_in, client, auth):
    client.post("/api/v1/events", json=dict(TCTP, slug="tctp"), headers=auth)
    client.post("/api/v1/events/tctp/registrations", json=person(1, "Asia/Bangkok"))
    session = db.session.scalars(sa.select(EventSession).order_by(EventSession.start_utc)).first()
    uid = session.uid
    before = len(outbox(app))

    values = form_values(signed_in, "/organizer/events/tctp/edit")
    assert values["sessions-0-start"] == "2027-11-01T09:00"
    values.update({"sessions-0-start": "2027-11-01T13:00", "sessions-0-end": "2027-11-01T15:30",
                   "action": "save"})
    response = signed_in.post("/organizer/events/tctp/edit", data=values)
    assert response.status_code == 303
    assert "Registrants are getting an updated invitation" in text_of(
        signed_in.get(response.headers["Location"]))

    [update] = [m for m in outbox(app)[before:] if m["X-Webinars-Kind"] == "update"]
    text = update.get_body(("plain",)).get_content()
    assert "Mon, 1 Nov 2027, 12:00–14:30 (Bangkok, +07)" in text  # 13:00 in Singapore
    calendar = next(p for p in update.walk() if p.get_content_type() == "text/calendar")
    vevent = icalendar.Calendar.from_ical(calendar.get_payload(decode=True)).walk("VEVENT")[0]
    assert str(vevent["UID"]) == uid and int(vevent["SEQUENCE"]) == 1
    due = sorted(db.session.scalars(sa.select(Reminder.due_at).where(
        Reminder.session_id == session.id)))
    assert due == [datetime(2027, 10, 31, 5, 0, tzinfo=UTC), datetime(2027, 11, 1, 4, 0,
                                                                     tzinfo=UTC)]
    # The trail says who moved which session, from when to when, in Singapore time.
    assert ("organizer@example.org", f"sessions[{session.id}]",
            "Part 1: Mon, 1 Nov 2027, 09:00–11:30 (Singapore, +08)",
            "Part 1: Mon, 1 Nov 2027, 13:00–15:30 (Singapore, +08)") in trail("tctp")
    page = text_of(signed_in.get("/organizer/events/tctp"))
    assert "Session 1: Part 1 Part 1: Mon, 1 Nov 2027, 09:00–11:30 (Singapore, +08) Part 1: " \
           "Mon, 1 Nov 2027, 13:00–15:30 (Singapore, +08)" in page


def test_saving_the_form_unchanged_changes_nothing(app, signed_in, client, auth):
    client.post("/api/v1/events", json=dict(TCTP, slug="tctp", description="One.\n\nTwo."),
                headers=auth)
    client.post("/api/v1/events/tctp/registrations", json=person(1))
    mails, entries = count(OutboxMessage), count(AuditEntry)
    values = dict(form_values(signed_in, "/organizer/events/tctp/edit"), action="save")
    assert values["description"] == "One.\n\nTwo."
    values["description"] = "One.\r\n\r\nTwo."  # as a browser sends a textarea
    response = signed_in.post("/organizer/events/tctp/edit", data=values)
    assert response.status_code == 303
    assert "Nothing was changed." in text_of(signed_in.get(response.headers["Location"]))
    assert (count(OutboxMessage), count(AuditEntry)) == (mails, entries)


def test_renaming_keeps_a_second_occurrence_time(signed_in, client, auth):
    # 01:30 happens twice in New York on 7 November 2027; the API can pick the second.
    body = dict(MEKONG, slug="autumn", sessions=[
        {"start": "2027-11-07T01:30-05:00", "end": "2027-11-07T03:00", "title": "Night"}])
    assert client.post("/api/v1/events", json=body, headers=auth).status_code == 201
    values = form_values(signed_in, "/organizer/events/autumn/edit")
    values.update({"sessions-0-title": "Night owls", "action": "save"})
    assert signed_in.post("/organizer/events/autumn/edit", data=values).status_code == 303
    session = db.session.scalar(sa.select(EventSession))
    assert session.title == "Night owls"
    assert session.start_utc == datetime(2027, 11, 7, 6, 30, tzinfo=UTC)  # still the second


def test_cancelling_one_session_of_several(app, signed_in, client, auth):
    client.post("/api/v1/events", json=dict(TCTP, slug="tctp"), headers=auth)
    client.post("/api/v1/events/tctp/registrations", json=person(1))
    values = form_values(signed_in, "/organizer/events/tctp/edit")
    values.update({"sessions-3-remove": "y", "action": "save"})
    assert signed_in.post("/organizer/events/tctp/edit", data=values).status_code == 303
    statuses = [s["status"] for s in client.get("/api/v1/events/tctp",
                                                headers=auth).json["sessions"]]
    assert statuses == ["scheduled"] * 3 + ["cancelled"]
    [update] = [m for m in outbox(app) if m["X-Webinars-Kind"] == "update"]
    calendar = next(p for p in update.walk() if p.get_content_type() == "text/calendar")
    assert calendar.get_param("method") == "CANCEL"
    assert "Session 4: Part 4 Cancelled" in text_of(signed_in.get("/organizer/events/tctp"))


# --- registration, capacity, cancel ----------------------------------------------------


def test_close_registration_now(signed_in, client, frozen_clock):
    create(signed_in)
    frozen_clock.advance(seconds=42)
    response = post(signed_in, "/organizer/events/mekong/close-registration")
    assert response.status_code == 303
    page = text_of(signed_in.get("/organizer/events/mekong"))
    assert "Registration is closed." in page and "Closed since Sun, 10 Jan 2027, 12:00" in page
    late = client.post("/api/v1/events/mekong/registrations", json=person(1))
    assert late.status_code == 409
    assert "Registration for this event has closed." in text_of(client.get("/events/mekong"))
    assert trail()[-1] == ("organizer@example.org", "registration_closes_at",
                           "when the first session starts",
                           "Sun, 10 Jan 2027, 07:00 (New York, EST)")
    # Closing again keeps the first time.
    post(signed_in, "/organizer/events/mekong/close-registration")
    assert "closed already" in text_of(signed_in.get("/organizer/events/mekong"))
    assert len(trail()) == 2


def test_raising_capacity_promotes_in_order_and_lowering_is_refused(app, signed_in, client):
    create(signed_in, capacity="2")
    tokens = [client.post("/api/v1/events/mekong/registrations", json=person(n)).json["token"]
              for n in range(1, 6)]
    response = post(signed_in, "/organizer/events/mekong/capacity", {"capacity": "1"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="capacity-error">2 seats are taken already', html)
    assert 'aria-invalid="true"' in html
    response = post(signed_in, "/organizer/events/mekong/capacity", {"capacity": "4"})
    assert response.status_code == 303
    page = text_of(signed_in.get("/organizer/events/mekong"))
    assert "2 from the waiting list got a seat" in page
    statuses = [client.get(f"/api/v1/registrations/{t}").json["status"] for t in tokens]
    assert statuses == ["confirmed"] * 4 + ["waitlisted"]
    assert [m["X-Webinars-Kind"] for m in outbox(app)].count("promotion") == 2
    assert trail()[-1][1:] == ("capacity", "2", "4")


def test_cancel_the_event_after_confirming(app, signed_in, client):
    create(signed_in, capacity="1")
    client.post("/api/v1/events/mekong/registrations", json=person(1))
    client.post("/api/v1/events/mekong/registrations", json=person(2))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reminder)) == 2
    question = text_of(signed_in.get("/organizer/events/mekong/cancel"))
    assert "1 confirmed person and 1 on the waiting list will get a cancellation mail" in question
    response = post(signed_in, "/organizer/events/mekong/cancel")
    assert response.status_code == 303
    assert "Cancelled" in text_of(signed_in.get("/organizer/events/mekong"))
    kinds = [(m["To"].addresses[0].addr_spec, m["X-Webinars-Kind"]) for m in outbox(app)]
    assert kinds[-2:] == [("p1@example.org", "cancellation"), ("p2@example.org", "cancellation")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reminder)) == 0
    assert trail()[-1][1:] == ("status", "published", "cancelled")
    # A cancelled event offers nothing to change.
    page = signed_in.get("/organizer/events/mekong").get_data(as_text=True)
    assert "Change the capacity" not in page and "/edit" not in page


def test_an_unknown_event_is_a_404_page(signed_in):
    assert signed_in.get("/organizer/events/nope").status_code == 404
    assert post(signed_in, "/organizer/events/nope/publish").status_code == 404


# --- the audit trail, from the API too ---------------------------------------------


def test_api_changes_land_in_the_trail_with_who_made_them(signed_in, client, auth):
    client.post("/api/v1/events", json=dict(MEKONG, slug="mekong", capacity=10), headers=auth)
    session_id = client.get("/api/v1/events/mekong").json["sessions"][0]["id"]
    client.patch("/api/v1/events/mekong", headers=auth, json={
        "title": "Mekong Delta, rescheduled", "capacity": 20, "join_url": "https://meet.example.org/new",
        "reminder_offsets_minutes": [60],
        "sessions": [{"id": session_id, "start": "2027-07-15T08:00", "end": "2027-07-15T09:30"}]})
    client.post("/api/v1/events/mekong/cancel", headers=auth)
    assert trail()[1:] == [
        ("organizer@example.org", "capacity", "10", "20"),
        ("organizer@example.org", "join_url", "https://meet.example.org/mekong",
         "https://meet.example.org/new"),
        ("organizer@example.org", "reminder_offsets_minutes", "1440, 60", "60"),
        ("organizer@example.org", "title", MEKONG["title"], "Mekong Delta, rescheduled"),
        ("organizer@example.org", f"sessions[{session_id}]",
         "Wed, 14 Jul 2027, 22:00–23:30 (New York, EDT)",
         "Thu, 15 Jul 2027, 08:00–09:30 (New York, EDT)"),
        ("organizer@example.org", "status", "published", "cancelled"),
    ]
    page = text_of(signed_in.get("/organizer/events/mekong"))
    assert "Capacity 10 20" in page and "Session 1 Wed, 14 Jul 2027" in page


def test_the_trail_escapes_what_people_typed(signed_in, client, auth):
    client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    client.patch("/api/v1/events/mekong", headers=auth, json={"title": "<script>x()</script>"})
    html = signed_in.get("/organizer/events/mekong").get_data(as_text=True)
    assert "<script>x()" not in html and "&lt;script&gt;x()&lt;/script&gt;" in html


def test_a_registrant_is_never_written_by_an_edit(signed_in, client):
    # Editing and saving keeps every registration as it was (no bumps, no duplicates).
    create(signed_in, capacity="1")
    client.post("/api/v1/events/mekong/registrations", json=person(1))
    client.post("/api/v1/events/mekong/registrations", json=person(2))
    values = form_values(signed_in, "/organizer/events/mekong/edit")
    values.update({"title": "Renamed", "capacity": "1", "action": "save"})
    assert signed_in.post("/organizer/events/mekong/edit", data=values).status_code == 303
    assert [r.status for r in db.session.scalars(
        sa.select(Registration).order_by(Registration.id))] == ["confirmed", "waitlisted"]
