"""Scarce seats go to addresses that were confirmed, in the order they were (issue 15)."""

import re

import pytest
import sqlalchemy as sa
from organizer_helpers import csrf_token, event_form, post, sign_in
from test_api_events import MEKONG, TCTP
from test_registrations import outbox_mails, person, register, row_count

from webinars.core.db import db
from webinars.models import AuditEntry, Event, Registration, RegistrationRequest
from webinars.registrations import verification
from webinars.registrations.seats import CheckInbox
from webinars.worker import scheduler


@pytest.fixture
def tctp(app, client, auth):
    """The TCTP workshop (30 seats) under the installation's default rule."""
    app.config["VERIFY_EMAIL"] = "limited"
    answer = client.post("/api/v1/events", json=dict(TCTP, slug="tctp"), headers=auth)
    assert answer.status_code == 201 and answer.json["verify_email"] is True
    return "tctp"


def confirm_links(app) -> list[str]:
    """The confirmation links mailed so far, oldest first."""
    return [re.search(r"/registrations/confirm/([\w-]+)", m.get_body(("plain",)).get_content())[1]
            for m in outbox_mails(app) if "Confirm your registration" in m["Subject"]]


def test_an_unlimited_webinar_seats_at_once_and_a_workshop_waits_for_the_inbox(
        app, client, auth, tctp):
    webinar = client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    assert webinar.json["verify_email"] is False
    assert register(client, "mekong", person(1)).status_code == 201
    answer = register(client, tctp, person(2))
    assert answer.status_code == 202
    assert answer.json == {"status": "check_inbox", "message": CheckInbox.MESSAGE}
    db.session.rollback()
    assert row_count() == 1  # the webinar's: the workshop holds no seat for an unconfirmed address
    assert client.get(f"/api/v1/events/{tctp}").json["seats_left"] == 30


def test_new_repeated_and_registered_addresses_get_the_same_answer(app, client, tctp):
    new = register(client, tctp, person(1))
    repeated = register(client, tctp, person(1))
    [link, _] = confirm_links(app)
    assert client.post(f"/api/v1/confirmations/{link}").status_code == 201
    registered = register(client, tctp, person(1, name="Someone else"))
    assert new.status_code == repeated.status_code == registered.status_code == 202
    assert new.get_data() == repeated.get_data() == registered.get_data()
    # The owner gets the link to the registration they have; nothing was seated twice.
    assert outbox_mails(app)[-1]["Subject"] == "Your registration: TCTP Cybersecurity Workshop"
    db.session.rollback()
    assert row_count() == 1


def test_seats_go_in_the_order_addresses_are_confirmed(app, client, auth):
    app.config["VERIFY_EMAIL"] = "limited"
    client.post("/api/v1/events", json=dict(TCTP, slug="tctp", capacity=2), headers=auth)
    for n in (1, 2, 3):
        assert register(client, "tctp", person(n)).status_code == 202
    first, second, third = confirm_links(app)
    answers = [client.post(f"/api/v1/confirmations/{link}").json
               for link in (third, first, second)]
    assert [(a["email"], a["status"]) for a in answers] == [
        ("p3@example.org", "confirmed"), ("p1@example.org", "confirmed"),
        ("p2@example.org", "waitlisted")]
    assert answers[2]["waitlist_position"] == 1


def test_a_link_confirms_once_and_the_others_for_that_address_go_with_it(app, client, tctp):
    register(client, tctp, person(1))
    register(client, tctp, person(1, name="Typo"))
    first, second = confirm_links(app)
    assert client.post(f"/api/v1/confirmations/{second}").json["name"] == "Typo"
    for link in (first, second):
        answer = client.post(f"/api/v1/confirmations/{link}")
        assert answer.status_code == 404 and answer.json["error"] == verification.EXPIRED
    db.session.rollback()
    assert row_count() == 1 and row_count(RegistrationRequest) == 0


def test_a_request_expires_after_a_day_and_holds_nothing(app, client, tctp, frozen_clock):
    register(client, tctp, person(1))
    [link] = confirm_links(app)
    frozen_clock.advance(hours=24, seconds=1)
    assert client.post(f"/api/v1/confirmations/{link}").status_code == 404
    page = client.get(f"/registrations/confirm/{link}")
    assert page.status_code == 404 and "expired" in page.get_data(as_text=True)
    assert verification.forget_expired() == 1
    assert row_count(RegistrationRequest) == 0 and row_count() == 0


def test_the_mail_carries_no_word_the_stranger_typed(app, client, tctp):
    phish = "URGENT verify your account at https://phish.example/login"
    register(client, tctp, person(1, name=phish, organization=phish))
    [mail] = outbox_mails(app)
    assert mail["To"] == "p1@example.org"
    text = mail.get_body(("plain",)).get_content() + mail.get_body(("html",)).get_content()
    assert "phish" not in text and "URGENT" not in text
    assert "TCTP Cybersecurity Workshop" in mail["Subject"]


def test_confirming_through_the_pages(app, client, tctp):
    token = csrf_token(client, f"/events/{tctp}")
    form = {**person(1, name="Chan <b>Sokha</b>"), "csrf_token": token}
    answer = client.post(f"/events/{tctp}/register", data=form)
    assert answer.status_code == 303 and answer.headers["Location"] == f"/events/{tctp}"
    assert "Check your inbox" in client.get(f"/events/{tctp}").get_data(as_text=True)
    [link] = confirm_links(app)
    page = client.get(f"/registrations/confirm/{link}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    assert "Chan &lt;b&gt;Sokha&lt;/b&gt;" in html and "Confirm my registration" in html
    db.session.rollback()
    assert row_count() == 0  # opening the link (a mail scanner does) decides nothing
    without_csrf = client.post(f"/registrations/confirm/{link}")  # its token went stale
    assert without_csrf.status_code == 400 and row_count() == 0
    assert "press the button again" in without_csrf.get_data(as_text=True)
    done = client.post(f"/registrations/confirm/{link}",
                       data={"csrf_token": csrf_token(client, f"/registrations/confirm/{link}")})
    assert done.status_code == 303 and done.headers["Location"].startswith("/registrations/")
    manage = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "You are registered" in manage and "Confirmed" in manage


def test_confirming_after_registration_closed_keeps_the_request_and_says_so(
        app, client, auth, tctp):
    register(client, tctp, person(1))
    [link] = confirm_links(app)
    assert client.post(f"/api/v1/events/{tctp}/cancel", headers=auth).status_code == 200
    answer = client.post(f"/api/v1/confirmations/{link}")
    assert answer.status_code == 409 and "cancelled" in answer.json["error"]
    page = client.post(f"/registrations/confirm/{link}",
                       data={"csrf_token": csrf_token(client, f"/registrations/confirm/{link}")})
    assert page.status_code == 409 and "cancelled" in page.get_data(as_text=True)
    db.session.rollback()
    assert row_count() == 0 and row_count(RegistrationRequest) == 1


def test_organizers_decide_per_event(app, client, auth, tctp):
    assert client.patch(f"/api/v1/events/{tctp}", json={"verify_email": False},
                        headers=auth).json["verify_email"] is False
    assert register(client, tctp, person(1)).status_code == 201
    assert client.patch(f"/api/v1/events/{tctp}", json={"verify_email": "yes"},
                        headers=auth).status_code == 422
    unlimited = client.post("/api/v1/events", json=dict(MEKONG, slug="m", verify_email=True),
                            headers=auth)
    assert unlimited.json["verify_email"] is True
    assert register(client, "m", person(2)).status_code == 202
    event = db.session.scalar(sa.select(Event).where(Event.slug == tctp))
    assert ("verify_email", "when seats are limited", "no") in [
        (e.field, e.old, e.new) for e in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.event_id == event.id))]


def test_the_command_line_vouches_for_the_address_and_is_audited(app, client, tctp):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["register", tctp, "vanna@example.org", "--name", "Vanna"])
    assert result.exit_code == 0, result.output
    status, token = result.output.strip().splitlines()
    assert status == "confirmed"
    assert runner.invoke(args=["cancel-registration", token]).exit_code == 0
    db.session.rollback()
    registration = db.session.scalar(sa.select(Registration))
    entries = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.field == f"registrations[{registration.id}].status")
        .order_by(AuditEntry.id)).all()
    assert [(e.actor, e.old, e.new) for e in entries] == [
        ("command line", "", "confirmed"), ("command line", "confirmed", "cancelled")]


def test_a_stale_request_is_swept_by_the_scheduler(app, client, tctp, frozen_clock):
    register(client, tctp, person(1))
    frozen_clock.advance(days=2)
    scheduler.build(app, blocking=False).get_job("sweep").func()
    db.session.rollback()
    assert row_count(RegistrationRequest) == 0


def test_the_organizer_form_sets_it(app, client, organizer):
    sign_in(client)
    new = "/organizer/events/new"
    assert "Confirm addresses before a seat" in client.get(new).get_data(as_text=True)
    answer = post(client, new, event_form(capacity="30", verify_email="no"), form_url=new)
    assert answer.status_code == 303
    event = db.session.scalar(sa.select(Event).where(Event.slug == "mekong"))
    assert event.capacity == 30 and event.verify_email is False
    app.config["VERIFY_EMAIL"] = "limited"
    assert register(client, "mekong", person(1)).status_code == 201


def test_a_stranger_repeating_the_form_mails_its_owner_a_handful_of_links(
        app, client, tctp, frozen_clock):
    # The rate limits are off in these tests: the bound is the service's own.
    answers = [register(client, tctp, person(1)) for _ in range(8)]
    assert {a.status_code for a in answers} == {202}
    assert len({a.get_data() for a in answers}) == 1  # nothing tells the eighth from the first
    assert len(confirm_links(app)) == verification.MAX_WAITING
    frozen_clock.advance(hours=24, seconds=1)  # the links expired: the owner may ask again
    register(client, tctp, person(1))
    assert len(confirm_links(app)) == verification.MAX_WAITING + 1
