"""A database outage: 503 with Retry-After at every door, one log line for the outage.

The outage is real: connections are refused by a closed port, or cut by a
TCP relay to the test PostgreSQL that the test stops and starts again.
"""

from __future__ import annotations

import logging

import pytest
from conftest import free_port, make_app
from faults import DbProxy
from test_api_events import MEKONG

from webinars import accounts
from webinars.core import outages

PERSON = {"name": "Sokha", "email": "sokha@example.org", "timezone": "Asia/Phnom_Penh"}


@pytest.fixture(autouse=True)
def no_outage_yet():
    outages.database.since = None
    yield
    outages.database.since = None


def outage_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "webinars.core.outages"]


def test_an_unreachable_database_answers_503_and_logs_once(tmp_path, frozen_clock, caplog):
    closed = free_port()  # nothing listens: every connection is refused at once
    app = make_app(f"postgresql+psycopg://postgres@127.0.0.1:{closed}/test",
                   tmp_path / "instance")
    client = app.test_client()
    caplog.set_level(logging.INFO)
    answers = [client.post("/api/v1/events/mekong/registrations", json=PERSON)
               for _ in range(10)]
    page = client.get("/events/mekong")
    listing = client.get("/api/v1/events")

    for answer in answers + [listing]:
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == str(outages.RETRY_AFTER_SECONDS)
        assert "nothing was saved" in answer.json["error"]
    assert page.status_code == 503 and b"Briefly unavailable" in page.data
    [line] = outage_records(caplog)
    assert line.levelno == logging.ERROR and "cannot be reached" in line.getMessage()
    assert not [r for r in caplog.records if r.exc_info], "no traceback per request"


def test_an_outage_and_its_end_are_each_logged_once(postgres_url, tmp_path, frozen_clock,
                                                    caplog):
    url = postgres_url  # skips the test when there is no test PostgreSQL
    relay = DbProxy().start()
    app = make_app(relay.url(url), tmp_path / "instance")
    client = app.test_client()
    caplog.set_level(logging.INFO)
    with app.app_context():
        organizer = accounts.create_organizer("o@example.org", "a long password 1")
        token = accounts.create_token(organizer)
    auth = {"Authorization": f"Bearer {token}"}
    try:
        assert client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"),
                           headers=auth).status_code == 201
        relay.cut()
        during = [client.post("/api/v1/events/mekong/registrations",
                              json=dict(PERSON, email=f"p{n}@example.org")).status_code
                  for n in range(5)]
        relay.restore()
        after = client.post("/api/v1/events/mekong/registrations", json=PERSON)
    finally:
        relay.cut()
    assert during == [503] * 5
    assert after.status_code == 201, "nothing of the outage is left behind"
    messages = [r.getMessage() for r in outage_records(caplog)]
    assert len(messages) == 2
    assert "cannot be reached" in messages[0] and "reachable again" in messages[1]
    assert not [r for r in caplog.records if r.exc_info]


def test_an_error_of_the_code_or_schema_is_no_outage(tmp_path, frozen_clock, caplog):
    # A database without its tables (migrations not run): a real error, not
    # an outage. It stays a 500 with its traceback in the log.
    app = make_app(f"sqlite:///{tmp_path / 'empty.sqlite3'}", tmp_path / "instance")
    caplog.set_level(logging.INFO)
    response = app.test_client().get("/api/v1/events")
    assert response.status_code == 500 and "Retry-After" not in response.headers
    assert outage_records(caplog) == []
    assert [r for r in caplog.records if r.exc_info and "no such table" in str(r.exc_info[1])]
