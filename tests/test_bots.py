"""The registration form tells scripts from people without a third-party CAPTCHA (issue 15)."""

import re

import pytest
import sqlalchemy as sa
from test_api_events import MEKONG

from webinars.core.db import db
from webinars.models import Registration

PERSON = {"name": "Chan Sokha", "email": "sokha@example.org", "timezone": "Asia/Phnom_Penh"}


@pytest.fixture
def tctp(app, client, auth):
    """An open event, and the form's minimum time as in production (tests set 0)."""
    app.config["REGISTRATION_FORM_MIN_SECONDS"] = 3
    assert client.post("/api/v1/events", json=dict(MEKONG, slug="tctp"),
                       headers=auth).status_code == 201


def the_form(client) -> dict:
    html = client.get("/events/tctp").get_data(as_text=True)
    hidden = dict(re.findall(r'name="(csrf_token|shown)"[^>]*value="([^"]+)"', html))
    assert set(hidden) == {"csrf_token", "shown"}
    return hidden


def registrations() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Registration))


def test_a_person_who_takes_a_few_seconds_gets_in(tctp, client, frozen_clock):
    fields = the_form(client)
    frozen_clock.advance(seconds=20)
    assert client.post("/events/tctp/register", data={**fields, **PERSON}).status_code == 303
    assert registrations() == 1


@pytest.mark.parametrize("trick", ["instant", "trap", "no time", "forged time"])
def test_a_script_is_refused_and_takes_no_seat(tctp, client, frozen_clock, trick):
    fields = the_form(client)
    frozen_clock.advance(seconds=0.5 if trick == "instant" else 20)
    data = {**fields, **PERSON}
    if trick == "trap":
        data["fax"] = "http://spam.example"
    elif trick == "no time":
        del data["shown"]
    elif trick == "forged time":
        data["shown"] = "1700000000.0"
    answer = client.post("/events/tctp/register", data=data)
    assert answer.status_code == 422
    assert "check the form and send it again" in answer.get_data(as_text=True)
    assert registrations() == 0


def test_the_trap_is_out_of_sight_of_people_and_their_screen_readers(client, tctp):
    html = client.get("/events/tctp").get_data(as_text=True)
    trap = re.search(r'<div class="trap" aria-hidden="true">.*?</div>', html, re.S)
    assert trap and 'tabindex="-1"' in trap[0] and 'autocomplete="off"' in trap[0]
    css = client.get("/static/style.css").get_data(as_text=True)
    assert re.search(r"\.trap \{ position: absolute; left: -9999px;", css)
