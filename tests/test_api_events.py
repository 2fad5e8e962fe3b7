"""The events API: success and error paths, on SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from webinars.core.db import db
from webinars.models import Event, EventSession

MEKONG = {
    "title": "Fostering Solutions and Collaboration for a Sustainable Mekong River Delta",
    "timezone": "America/New_York",
    "sessions": [{"start": "2027-07-14T22:00", "end": "2027-07-14T23:30"}],
    "join_url": "https://meet.example.org/mekong",
}

# The TCTP workshop's four sessions, moved to 2027 so that the US change
# (Sunday 7 November 2027) falls between the second and the third.
TCTP = {
    "title": "TCTP Cybersecurity Workshop",
    "timezone": "Asia/Singapore",
    "capacity": 30,
    "sessions": [
        {"start": f"2027-11-0{d}T09:00", "end": f"2027-11-0{d}T11:30", "title": f"Part {i}"}
        for i, d in enumerate((1, 2, 8, 9), start=1)
    ],
}


def counts():
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Event)),
            db.session.scalar(sa.select(sa.func.count()).select_from(EventSession)))


def test_create_webinar_returns_both_clocks(client, auth):
    response = client.post("/api/v1/events", json=MEKONG, headers=auth)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["slug"] == "fostering-solutions-and-collaboration-for-a-sustainable"
    assert body["status"] == "published"
    assert body["capacity"] is None
    assert body["warnings"] == []
    [session] = body["sessions"]
    assert session["start"] == "2027-07-14T22:00:00-04:00"
    assert session["end"] == "2027-07-14T23:30:00-04:00"
    assert session["start_utc"] == "2027-07-15T02:00:00Z"
    assert session["end_utc"] == "2027-07-15T03:30:00Z"
    # Registration closes when the session starts unless told otherwise.
    assert body["registration_closes_at"] == "2027-07-15T02:00:00Z"

    public = client.get(f"/api/v1/events/{body['slug']}").json
    assert public["sessions"] == body["sessions"]
    assert public["join_url"] is None  # the link is for registrants


def test_workshop_across_us_dst_end_keeps_singapore_wall_clock(client, auth):
    body = client.post("/api/v1/events", json=TCTP, headers=auth).json
    starts = [s["start"] for s in body["sessions"]]
    assert starts == ["2027-11-01T09:00:00+08:00", "2027-11-02T09:00:00+08:00",
                      "2027-11-08T09:00:00+08:00", "2027-11-09T09:00:00+08:00"]
    # Singapore keeps no DST: every session starts at 01:00 UTC ...
    assert {s["start_utc"][11:] for s in body["sessions"]} == {"01:00:00Z"}
    # ... so New York sees the start move from 21:00 EDT to 20:00 EST.
    page = client.get(f"/events/{body['slug']}?tz=America/New_York").get_data(as_text=True)
    assert "Sun, 31 Oct, 21:00–23:30 (New York, EDT)" in page
    assert "Mon, 1 Nov, 21:00–23:30 (New York, EDT)" in page
    assert "Sun, 7 Nov, 20:00–22:30 (New York, EST)" in page
    assert "Mon, 8 Nov, 20:00–22:30 (New York, EST)" in page


def test_sessions_come_back_in_start_order(client, auth):
    payload = dict(TCTP, sessions=list(reversed(TCTP["sessions"])))
    body = client.post("/api/v1/events", json=payload, headers=auth).json
    assert [s["title"] for s in body["sessions"]] == ["Part 1", "Part 2", "Part 3", "Part 4"]


def test_event_list_is_published_upcoming_soonest_first(client, auth, frozen_clock):
    client.post("/api/v1/events", json=dict(MEKONG, slug="later"), headers=auth)
    client.post("/api/v1/events", json=dict(TCTP, slug="draft", status="draft"), headers=auth)
    client.post("/api/v1/events", json=dict(TCTP, slug="workshop"), headers=auth)
    client.post("/api/v1/events", json=dict(
        MEKONG, slug="earlier", sessions=[{"start": "2027-02-01T10:00",
                                           "end": "2027-02-01T11:00"}]), headers=auth)
    assert [e["slug"] for e in client.get("/api/v1/events").json["events"]] == \
        ["earlier", "later", "workshop"]
    frozen_clock.set(datetime(2027, 2, 1, 16, 0, tzinfo=UTC))  # "earlier" has ended
    assert [e["slug"] for e in client.get("/api/v1/events").json["events"]] == \
        ["later", "workshop"]


def test_draft_is_for_organizers_only(client, auth):
    client.post("/api/v1/events", json=dict(MEKONG, slug="secret", status="draft"), headers=auth)
    assert client.get("/api/v1/events/secret").status_code == 404
    assert client.get("/events/secret").status_code == 404
    assert client.get("/api/v1/events/secret", headers=auth).json["status"] == "draft"


def test_past_event_can_be_created_for_the_record(client, auth):
    payload = dict(MEKONG, slug="mekong-2020",
                   sessions=[{"start": "2020-07-14T22:00", "end": "2020-07-14T23:30"}])
    response = client.post("/api/v1/events", json=payload, headers=auth)
    assert response.status_code == 201
    assert response.json["sessions"][0]["start_utc"] == "2020-07-15T02:00:00Z"


def test_ambiguous_time_takes_first_occurrence_and_says_so(client, auth):
    payload = dict(MEKONG, sessions=[{"start": "2027-11-07T01:30", "end": "2027-11-07T03:00"}])
    body = client.post("/api/v1/events", json=payload, headers=auth).json
    assert body["sessions"][0]["start_utc"] == "2027-11-07T05:30:00Z"
    assert len(body["warnings"]) == 1 and "happens twice" in body["warnings"][0]

    payload["slug"] = "second-occurrence"
    payload["sessions"] = [{"start": "2027-11-07T01:30-05:00", "end": "2027-11-07T03:00"}]
    body = client.post("/api/v1/events", json=payload, headers=auth).json
    assert body["sessions"][0]["start_utc"] == "2027-11-07T06:30:00Z"
    assert body["warnings"] == []


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"timezone": "Mars/Olympus"}, 422, "timezone"),
        ({"timezone": None}, 422, "timezone"),
        ({"title": ""}, 422, "title"),
        ({"title": "   "}, 422, "title"),
        ({"title": "x" * 201}, 422, "title"),
        ({"title": "Line\r\nBcc: victim@example.org"}, 422, "title"),
        ({"title": ["not", "text"]}, 422, "title"),
        ({"description": "y" * 20_001}, 422, "description"),
        ({"capacity": 0}, 422, "capacity"),
        ({"capacity": "30"}, 422, "capacity"),
        ({"capacity": True}, 422, "capacity"),
        ({"status": "cancelled"}, 422, "status"),
        ({"slug": "Not A Slug"}, 422, "slug"),
        ({"slug": "mekong\n"}, 422, "slug"),
        ({"join_url": "javascript:alert(1)"}, 422, "join_url"),
        ({"sessions": []}, 422, "sessions"),
        ({"sessions": "soon"}, 422, "sessions"),
        ({"sessions": [{"start": "2027-07-14T22:00"}]}, 422, "sessions[0].end"),
        ({"sessions": [{"start": "2027-07-14T22:00", "end": "2027-07-14T21:00"}]}, 422,
         "sessions[0].end"),
        ({"sessions": [{"start": "2027-03-14T02:30", "end": "2027-03-14T04:00"}]}, 422,
         "sessions[0].start"),
        ({"sessions": [{"start": "14/07/2027 22:00", "end": "2027-07-14T23:00"}]}, 422,
         "sessions[0].start"),
        ({"sessions": [{"start": "2027-07-14T22:00", "end": "2027-07-14T23:00", "id": 99}]}, 422,
         "sessions[0].id"),
        ({"registration_closes_at": "someday"}, 422, "registration_closes_at"),
        ({"sessions": [{"start": "9999-12-31T22:00", "end": "9999-12-31T23:00"}]}, 422,
         "sessions[0].start"),
        ({"reminder_offsets_minutes": [60, -5]}, 422, "reminder_offsets_minutes[1]"),
        ({"colour": "red"}, 422, "colour"),
    ],
)
def test_bad_fields_are_422_and_write_nothing(client, auth, change, status, field):
    before = counts()
    response = client.post("/api/v1/events", json=dict(MEKONG, **change), headers=auth)
    assert response.status_code == status, response.json
    assert response.json["field"] == field
    assert response.json["error"]
    assert counts() == before


@pytest.mark.parametrize("body", ["not json", "[1, 2]", "null", '"text"', "{bad json"])
def test_body_that_is_not_a_json_object_is_400(client, auth, body):
    response = client.post("/api/v1/events", data=body, headers=auth,
                           content_type="application/json")
    assert response.status_code == 400
    assert "JSON object" in response.json["error"]
    assert counts() == (0, 0)


def test_huge_body_is_refused_before_parsing(client, auth):
    payload = dict(MEKONG, description="z" * 1_000_000)
    response = client.post("/api/v1/events", json=payload, headers=auth)
    assert response.status_code == 413
    assert "error" in response.json
    assert counts() == (0, 0)


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc", "Bearer "])
def test_organizer_calls_need_a_valid_token(client, header):
    headers = {"Authorization": header} if header else {}
    assert client.post("/api/v1/events", json=MEKONG, headers=headers).status_code == 401
    assert client.patch("/api/v1/events/x", json={}, headers=headers).status_code == 401
    assert counts() == (0, 0)


def test_revoked_token_is_refused(app, client, auth, organizer):
    from webinars import accounts

    assert client.post("/api/v1/events", json=MEKONG, headers=auth).status_code == 201
    accounts.revoke_tokens(organizer.email)
    assert client.post("/api/v1/events", json=dict(MEKONG, slug="again"),
                       headers=auth).status_code == 401


def test_taken_slug_is_409_and_generated_slugs_do_not_collide(client, auth):
    first = client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    assert first.status_code == 201
    taken = client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    assert taken.status_code == 409 and taken.json["field"] == "slug"
    one = client.post("/api/v1/events", json=MEKONG, headers=auth).json["slug"]
    two = client.post("/api/v1/events", json=MEKONG, headers=auth).json["slug"]
    assert two == one + "-2"


def test_unknown_event_is_404(client, auth):
    assert client.get("/api/v1/events/nope").status_code == 404
    response = client.patch("/api/v1/events/nope", json={"title": "x"}, headers=auth)
    assert response.status_code == 404
    assert response.json == {"error": "No such event."}


def test_a_path_no_slug_can_have_is_404_at_every_door(client, auth):
    # PostgreSQL refuses to compare text with a NUL byte at all.
    assert client.post("/api/v1/events", json=dict(MEKONG, slug="m"), headers=auth
                       ).status_code == 201
    for path in ("/api/v1/events/m%00x", "/events/m%00x", "/events/m%00x.ics"):
        assert client.get(path).status_code == 404, path
    answer = client.post("/api/v1/events/m%00x/registrations",
                         json={"name": "Dara", "email": "dara@example.org"})
    assert (answer.status_code, answer.json) == (404, {"error": "No such event."})


def test_patch_replaces_the_schedule_keeping_session_identity(app, client, auth):
    created = client.post("/api/v1/events", json=TCTP, headers=auth).json
    ids = [s["id"] for s in created["sessions"]]
    uids = {s.id: s.uid for s in db.session.scalars(sa.select(EventSession))}
    response = client.patch(f"/api/v1/events/{created['slug']}", headers=auth, json={
        "sessions": [
            {"id": ids[0], "start": "2027-11-01T09:00", "end": "2027-11-01T11:30",
             "title": "Part 1"},                                         # unchanged
            {"id": ids[1], "start": "2027-11-02T14:00", "end": "2027-11-02T16:30",
             "title": "Part 2"},                                         # moved
            {"start": "2027-11-10T09:00", "end": "2027-11-10T11:30", "title": "Part 5"},  # new
        ],                                                               # 3 and 4 dropped
    })
    assert response.status_code == 200, response.json
    db.session.expire_all()
    by_id = {s.id: s for s in db.session.scalars(sa.select(EventSession))}
    assert by_id[ids[0]].sequence == 0 and by_id[ids[0]].status == "scheduled"
    assert by_id[ids[1]].sequence == 1
    assert by_id[ids[1]].start_utc == datetime(2027, 11, 2, 6, 0, tzinfo=UTC)
    assert by_id[ids[2]].status == by_id[ids[3]].status == "cancelled"
    assert by_id[ids[2]].sequence == 1
    assert all(by_id[i].uid == uids[i] for i in ids)  # identity kept
    public = client.get(f"/api/v1/events/{created['slug']}").json
    assert [s["title"] for s in public["sessions"]] == ["Part 1", "Part 2", "Part 5"]


def test_patch_title_bumps_every_session_sequence(client, auth):
    created = client.post("/api/v1/events", json=TCTP, headers=auth).json
    client.patch(f"/api/v1/events/{created['slug']}", json={"title": "TCTP 2027"}, headers=auth)
    db.session.expire_all()
    assert {s.sequence for s in db.session.scalars(sa.select(EventSession))} == {1}


def test_patch_timezone_keeps_the_wall_clock(client, auth):
    created = client.post("/api/v1/events", json=MEKONG, headers=auth).json
    body = client.patch(f"/api/v1/events/{created['slug']}", json={"timezone": "Asia/Bangkok"},
                        headers=auth).json
    assert body["sessions"][0]["start"] == "2027-07-14T22:00:00+07:00"
    assert body["sessions"][0]["start_utc"] == "2027-07-14T15:00:00Z"


def test_bad_patch_changes_nothing(client, auth):
    created = client.post("/api/v1/events", json=TCTP, headers=auth).json
    slug = created["slug"]
    response = client.patch(f"/api/v1/events/{slug}", headers=auth, json={
        "title": "Renamed",
        "sessions": [{"start": "2027-11-01T09:00", "end": "2027-11-01T08:00"}],
    })
    assert response.status_code == 422
    after = client.get(f"/api/v1/events/{slug}").json
    assert after["title"] == TCTP["title"] and len(after["sessions"]) == 4


def test_cancelled_event_keeps_its_sessions_as_cancelled(client, auth):
    created = client.post("/api/v1/events", json=MEKONG, headers=auth).json
    body = client.post(f"/api/v1/events/{created['slug']}/cancel", headers=auth).json
    assert body["status"] == "cancelled"
    assert client.patch(f"/api/v1/events/{created['slug']}", json={"title": "x"},
                        headers=auth).status_code == 409
    assert created["slug"] not in [e["slug"] for e in client.get("/api/v1/events").json["events"]]
