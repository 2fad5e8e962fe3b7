"""What a stranger or a careless script sends: a clear 4xx and nothing changed (issue 15)."""

from datetime import timedelta

import organizer_helpers
import pytest
import sqlalchemy as sa
from organizer_helpers import csrf_token
from test_api_events import MEKONG

from webinars import accounts
from webinars.core.db import db
from webinars.core.errors import ValidationError
from webinars.models import AuditEntry, Event, Registration

signed_in = organizer_helpers.signed_in

PERSON = {"name": "Chan Sokha", "email": "sokha@example.org", "timezone": "Asia/Phnom_Penh"}


@pytest.fixture
def mekong(client, auth):
    assert client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"),
                       headers=auth).status_code == 201
    return "mekong"


def registrations():
    db.session.rollback()
    return db.session.scalars(sa.select(Registration)).all()


def raw_json(client, url, body: str, **headers):
    return client.post(url, data=body, content_type="application/json", headers=headers)


@pytest.mark.parametrize("body", [
    '{"name": "\\ud800", "email": "a@example.org"}',  # a lone surrogate
    '{"name": "A", "email": "a@example.org", "organization": "\\udfff x"}',
    '{"name": ' + "[" * 1000 + "]" * 1000 + "}",  # Python's parser recurses out
    '{"name": ' + "[" * 20 + "]" * 20 + ', "email": "a@example.org"}',
])
def test_a_body_no_database_can_store_is_a_400(client, mekong, body):
    answer = raw_json(client, "/api/v1/events/mekong/registrations", body)
    assert answer.status_code == 400 and answer.json["error"]
    assert registrations() == []


@pytest.mark.parametrize("change", [
    {"status": []}, {"status": {}}, {"status": 1}, {"capacity": []},
    {"sessions": [{"id": [1], "start": "2027-07-14T22:00", "end": "2027-07-14T23:30"}]},
    {"sessions": [{"id": {"a": 1}, "start": "2027-07-14T22:00", "end": "2027-07-14T23:30"}]},
    {"timezone": ["Asia/Bangkok"]},
])
def test_an_organizers_odd_values_are_422_and_change_nothing(client, auth, mekong, change):
    before = client.get("/api/v1/events/mekong").json
    answer = client.patch("/api/v1/events/mekong", json=change, headers=auth)
    assert answer.status_code == 422, answer.json
    assert answer.json["field"]
    assert client.get("/api/v1/events/mekong").json == before
    created = client.post("/api/v1/events", json=dict(MEKONG, slug="other", **change),
                          headers=auth)
    assert created.status_code == 422
    assert client.get("/api/v1/events/other").status_code == 404


@pytest.mark.parametrize("name", [
    "\u200b\u200b",  # zero-width spaces
    "\u202e\u2066",  # bidi controls alone
    "\u0301",  # a combining mark with nothing to sit on
    "Sokha\u202egnp.exe",  # an override that reverses what follows
    "\u2067Sokha",
])
def test_a_name_must_show_and_not_reorder_what_follows(client, mekong, name):
    answer = client.post("/api/v1/events/mekong/registrations", json=dict(PERSON, name=name))
    assert answer.status_code == 422 and answer.json["field"] == "name"
    form = client.post("/events/mekong/register", data={
        **PERSON, "name": name, "csrf_token": csrf_token(client, "/events/mekong")})
    assert form.status_code == 422
    assert registrations() == []


@pytest.mark.parametrize("name", ["Chan Sokha", "សុខា ចាន់", "ສົມພອນ", "အောင်ကို",
                                  "สมชาย", "Nguyễn Thị Hoa", "محمد"])
def test_names_in_every_script_are_welcome(client, mekong, name):
    answer = client.post("/api/v1/events/mekong/registrations", json=dict(PERSON, name=name))
    assert answer.status_code == 201, answer.json


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "../etc/passwd",
                                  "Asia/Nowhere"])
def test_a_zone_nobody_lives_in_is_refused_at_every_door(client, auth, organizer, mekong, zone):
    answer = client.post("/api/v1/events/mekong/registrations", json=dict(PERSON, timezone=zone))
    assert answer.status_code == 422 and answer.json["field"] == "timezone"
    created = client.post("/api/v1/events", json=dict(MEKONG, slug="z", timezone=zone),
                          headers=auth)
    assert created.status_code == 422 and created.json["field"] == "timezone"
    with pytest.raises(ValidationError, match="time zone"):
        accounts.set_timezone(organizer, zone)


@pytest.mark.parametrize(("sent", "stored"), [
    ("Asia/Rangoon", "Asia/Yangon"),  # what Chrome still reports in Yangon
    ("Asia/Saigon", "Asia/Ho_Chi_Minh"),
    ("Asia/Phnom_Penh", "Asia/Phnom_Penh"),  # tzdata links it to Bangkok; it stays itself
    ("Asia/Vientiane", "Asia/Vientiane"),
    ("US/Eastern", "America/New_York"),
    ("UTC", "UTC"),
])
def test_the_names_browsers_send_are_stored_as_the_zone_they_mean(client, mekong, sent, stored):
    answer = client.post("/api/v1/events/mekong/registrations", json=dict(PERSON, timezone=sent))
    assert answer.status_code == 201, answer.json
    [row] = registrations()
    assert row.timezone == stored


def test_registration_closes_when_the_event_ends_whatever_the_deadline_says(
        client, auth, frozen_clock):
    body = dict(MEKONG, slug="late", registration_closes_at="2027-12-31T00:00")
    assert client.post("/api/v1/events", json=body, headers=auth).status_code == 201
    event = client.get("/api/v1/events/late").json
    ends = event["sessions"][-1]["end_utc"]
    assert event["registration_closes_at"] == ends  # said as it is applied
    token = csrf_token(client, "/events/late")  # the form as it was, open
    db.session.rollback()
    frozen_clock.set(db.session.scalar(sa.select(Event.ends_at)) + timedelta(minutes=1))
    api = client.post("/api/v1/events/late/registrations", json=PERSON)
    assert api.status_code == 409
    form = client.post("/events/late/register", data={**PERSON, "csrf_token": token})
    assert form.status_code == 409
    assert registrations() == []


def test_an_organizers_cancels_through_the_api_are_audited(client, auth, mekong):
    token = client.post("/api/v1/events/mekong/registrations", json=PERSON).json["token"]
    mine = client.post("/api/v1/events/mekong/registrations",
                       json=dict(PERSON, email="own@example.org")).json["token"]
    assert client.delete(f"/api/v1/registrations/{token}", headers=auth).status_code == 200
    assert client.delete(f"/api/v1/registrations/{mine}").status_code == 200  # their own
    assert client.post("/api/v1/events/mekong/cancel", headers=auth).status_code == 200
    db.session.rollback()
    entries = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.actor == "organizer@example.org").order_by(AuditEntry.id)).all()
    assert [(e.old, e.new) for e in entries][-2:] == [
        ("confirmed", "cancelled"), ("published", "cancelled")]
    assert len([e for e in entries if e.new == "cancelled"]) == 2


def test_an_id_beyond_any_row_is_a_404_not_a_500(client, auth, signed_in, mekong):
    from organizer_helpers import post

    for action in ("retry", "give-up"):
        answer = post(signed_in, f"/organizer/events/mekong/mail/99999999999/{action}",
                      form_url="/organizer/events/mekong")
        assert answer.status_code == 404
    page = signed_in.get("/organizer/events/mekong/registrations/99999999999/cancel")
    assert page.status_code in (404, 405)
