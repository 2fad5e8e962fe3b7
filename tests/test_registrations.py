"""Registration through the API: capacity, waiting list, repeats, cancel, closing."""

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_api_events import MEKONG

from webinars.core.db import db
from webinars.models import OutboxMessage, Registration

SMALL = dict(MEKONG, slug="small", capacity=2)


def person(n: int, **extra) -> dict:
    return {"name": f"Participant {n}", "email": f"p{n}@example.org", "country": "KH",
            "timezone": "Asia/Phnom_Penh", **extra}


def register(client, slug, body):
    return client.post(f"/api/v1/events/{slug}/registrations", json=body)


def outbox_mails(app) -> list:
    folder = Path(app.instance_path) / "outbox"
    return [message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(folder.glob("*.eml"))]


def row_count(model=Registration) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def small(client, auth):
    assert client.post("/api/v1/events", json=SMALL, headers=auth).status_code == 201
    return "small"


def test_seats_then_waiting_list_in_order(client, small):
    answers = [register(client, small, person(n)) for n in range(1, 6)]
    assert [a.status_code for a in answers] == [201] * 5
    assert [a.json["status"] for a in answers] == \
        ["confirmed", "confirmed", "waitlisted", "waitlisted", "waitlisted"]
    assert [a.json["waitlist_position"] for a in answers] == [None, None, 1, 2, 3]
    token = answers[0].json["token"]
    assert len(token) >= 32 and answers[0].json["manage_url"] == \
        f"http://webinars.test/registrations/{token}"
    event = client.get(f"/api/v1/events/{small}").json
    assert (event["seats_left"], event["waitlist_count"]) == (0, 3)


def manage_links() -> list[OutboxMessage]:
    db.session.rollback()
    return db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.kind == "manage-link")).all()


def test_registering_someone_elses_address_reveals_nothing_and_mails_its_owner(
        client, small, frozen_clock):
    first = register(client, small, person(1))
    token = first.json["token"]
    again = client.post(f"/api/v1/events/{small}/registrations",
                        json=person(1, email="P1@EXAMPLE.ORG", name="Someone else"))
    assert first.status_code == 201 and again.status_code == 202
    assert again.json["status"] == "check_inbox"
    assert token not in again.get_data(as_text=True)
    assert "Participant 1" not in again.get_data(as_text=True)
    assert row_count() == 1
    [mail] = manage_links()
    assert mail.recipient == "p1@example.org"
    # A loop of repeats mails the owner once a quarter of an hour, no more.
    for _ in range(5):
        client.post(f"/api/v1/events/{small}/registrations", json=person(1))
    assert len(manage_links()) == 1
    frozen_clock.advance(minutes=16)
    client.post(f"/api/v1/events/{small}/registrations", json=person(1))
    assert len(manage_links()) == 2
    # The form door: back to the event page, with no link to the registration.
    from organizer_helpers import csrf_token

    form = client.post(f"/events/{small}/register", data={
        **person(1), "csrf_token": csrf_token(client, f"/events/{small}")})
    assert form.status_code == 303 and token not in form.headers["Location"]
    page = client.get(form.headers["Location"]).get_data(as_text=True)
    assert "registered already" in page and token not in page


def test_cancel_promotes_the_first_waiting_and_tells_them(app, client, small):
    tokens = [register(client, small, person(n)).json["token"] for n in range(1, 5)]
    response = client.delete(f"/api/v1/registrations/{tokens[0]}")
    assert response.status_code == 200 and response.json["status"] == "cancelled"
    statuses = [client.get(f"/api/v1/registrations/{t}").json for t in tokens]
    assert [s["status"] for s in statuses] == ["cancelled", "confirmed", "confirmed",
                                               "waitlisted"]
    assert statuses[3]["waitlist_position"] == 1
    kinds = [(m["To"], m["X-Webinars-Kind"]) for m in outbox_mails(app)]
    assert ("Participant 3 <p3@example.org>", "promotion") in kinds
    assert ("Participant 1 <p1@example.org>", "cancellation") in kinds
    # Cancelling twice is harmless and promotes nobody else.
    assert client.delete(f"/api/v1/registrations/{tokens[0]}").json["status"] == "cancelled"
    assert client.get(f"/api/v1/registrations/{tokens[3]}").json["status"] == "waitlisted"


def test_cancelled_person_can_register_again_at_the_back(client, small):
    tokens = [register(client, small, person(n)).json["token"] for n in range(1, 4)]
    client.delete(f"/api/v1/registrations/{tokens[0]}")  # 3 is promoted
    again = register(client, small, person(1))
    assert again.status_code == 201
    assert again.json["token"] == tokens[0]
    assert (again.json["status"], again.json["waitlist_position"]) == ("waitlisted", 1)


def test_raising_capacity_promotes_in_order_and_lowering_never_bumps(client, auth, small):
    tokens = [register(client, small, person(n)).json["token"] for n in range(1, 6)]
    low = client.patch(f"/api/v1/events/{small}", json={"capacity": 1}, headers=auth)
    assert low.status_code == 422 and low.json["field"] == "capacity"
    assert "2 seats are taken" in low.json["error"]
    assert client.patch(f"/api/v1/events/{small}", json={"capacity": 4},
                        headers=auth).status_code == 200
    statuses = [client.get(f"/api/v1/registrations/{t}").json["status"] for t in tokens]
    assert statuses == ["confirmed"] * 4 + ["waitlisted"]
    assert client.patch(f"/api/v1/events/{small}", json={"capacity": None},
                        headers=auth).status_code == 200
    assert client.get(f"/api/v1/registrations/{tokens[4]}").json["status"] == "confirmed"


def test_registration_closes_at_the_deadline(client, auth, frozen_clock):
    client.post("/api/v1/events", headers=auth, json=dict(
        MEKONG, slug="closing", registration_closes_at="2027-07-01T12:00"))
    assert register(client, "closing", person(1)).status_code == 201
    frozen_clock.set(datetime(2027, 7, 1, 16, 0, tzinfo=UTC))  # 12:00 in New York
    late = register(client, "closing", person(2))
    assert late.status_code == 409 and "closed" in late.json["error"]
    # A repeat still finds the registration made in time (and mails its link).
    assert register(client, "closing", person(1)).status_code == 202
    assert row_count() == 1


def test_default_deadline_is_the_first_session_start(client, auth, frozen_clock):
    client.post("/api/v1/events", json=dict(MEKONG, slug="m"), headers=auth)
    frozen_clock.set(datetime(2027, 7, 15, 2, 0, tzinfo=UTC))
    assert register(client, "m", person(1)).status_code == 409


def test_cancelled_event_refuses_registration(client, auth, small):
    client.post(f"/api/v1/events/{small}/cancel", headers=auth)
    response = register(client, small, person(1))
    assert response.status_code == 409 and "cancelled" in response.json["error"]


def test_unknown_or_draft_event_is_404(client, auth):
    client.post("/api/v1/events", json=dict(MEKONG, slug="draft", status="draft"), headers=auth)
    assert register(client, "nope", person(1)).status_code == 404
    assert register(client, "draft", person(1)).status_code == 404


@pytest.mark.parametrize(("change", "field"), [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "Dara\r\nBcc: everyone@example.org"}, "name"),
    ({"name": "Dara\x00"}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@b"}, "email"),
    ({"email": "a" * 250 + "@example.org"}, "email"),
    ({"email": "dara@example.org\r\nBcc: x@example.org"}, "email"),
    ({"email": None}, "email"),
    ({"organization": "o" * 201}, "organization"),
    ({"country": "XX"}, "country"),
    ({"country": ["KH"]}, "country"),
    ({"email": "ünïcode@example.org"}, "email"),  # would need SMTPUTF8 all the way
    ({"timezone": "Asia/Atlantis"}, "timezone"),
    ({"timezone": "../../etc/passwd"}, "timezone"),
])
def test_bad_input_is_422_and_writes_nothing(app, client, small, change, field):
    response = register(client, small, person(1, **change))
    assert response.status_code == 422, response.json
    assert response.json["field"] == field
    assert row_count() == 0 and row_count(OutboxMessage) == 0


def test_body_must_be_a_json_object(client, small):
    response = client.post(f"/api/v1/events/{small}/registrations", data="name=x",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert row_count() == 0


def test_text_is_kept_as_typed(client, small):
    body = person(1, name='Sok <b>"Dara"</b> & Co', organization="<script>x</script>")
    token = register(client, small, body).json["token"]
    stored = client.get(f"/api/v1/registrations/{token}").json
    assert stored["name"] == 'Sok <b>"Dara"</b> & Co'
    assert stored["organization"] == "<script>x</script>"


def test_unknown_token_is_404(client):
    assert client.get("/api/v1/registrations/" + "x" * 32).status_code == 404
    assert client.delete("/api/v1/registrations/short").status_code == 404


def test_organizers_list_registrations_with_positions(client, auth, small):
    for n in range(1, 5):
        register(client, small, person(n, organization=f"Org {n}"))
    assert client.get(f"/api/v1/events/{small}/registrations").status_code == 401
    listing = client.get(f"/api/v1/events/{small}/registrations", headers=auth).json
    rows = listing["registrations"]
    assert [(r["email"], r["status"], r["waitlist_position"]) for r in rows] == [
        ("p1@example.org", "confirmed", None), ("p2@example.org", "confirmed", None),
        ("p3@example.org", "waitlisted", 1), ("p4@example.org", "waitlisted", 2)]
    assert set(rows[0]) >= {"token", "name", "email", "organization", "country", "timezone",
                            "status", "waitlist_position", "created_at"}


def test_confirmation_and_waitlist_mails_in_the_outbox(app, client, small):
    for n in range(1, 4):
        register(client, small, person(n, timezone="Asia/Bangkok"))
    mails = outbox_mails(app)
    assert [m["X-Webinars-Kind"] for m in mails] == ["confirmation", "confirmation", "waitlisted"]
    for mail in mails:
        assert mail["Auto-Submitted"] == "auto-generated"
    confirmed_text = mails[0].get_body(("plain",)).get_content()
    assert "Thu, 15 Jul 2027, 09:00–10:30 (Bangkok, +07)" in confirmed_text
    assert "Wed, 14 Jul 2027, 22:00–23:30 (New York, EDT)" in confirmed_text
    assert "https://meet.example.org/mekong" in confirmed_text
    assert "http://webinars.test/registrations/" in confirmed_text
    waiting_text = mails[2].get_body(("plain",)).get_content()
    assert "number 1" in waiting_text
    assert "meet.example.org" not in waiting_text  # no join link while waiting
    assert not any(p.get_content_type() == "text/calendar" for p in mails[2].walk())


def test_international_domain_is_kept_in_ascii_and_mailed(app, client, small):
    response = register(client, small, person(1, email="dara@exämple.org"))
    assert response.status_code == 201
    assert response.json["email"] == "dara@xn--exmple-cua.org"
    assert [m["To"].addresses[0].addr_spec for m in outbox_mails(app)] == \
        ["dara@xn--exmple-cua.org"]


def test_waiting_list_length_follows_every_move_and_leaves_the_event_unmodified(
        app, client, auth, small, frozen_clock):
    # The event keeps the queue's length so that a newcomer learns its place
    # without counting the queue under the lock; it must match the rows after
    # each way onto or off the list, and is not a change calendars should see.
    from webinars.models import Event
    from webinars.registrations import queries

    def kept_and_counted():
        db.session.expire_all()
        event = db.session.scalar(sa.select(Event).where(Event.slug == small))
        return event.waitlist_length, queries.seats(event).waiting, event.updated_at

    _, _, modified = kept_and_counted()
    frozen_clock.advance(minutes=5)  # a bump of updated_at would show
    tokens = [register(client, small, person(n)).json["token"] for n in range(1, 7)]
    assert kept_and_counted() == (4, 4, modified)      # 2 seats, 4 waiting
    client.delete(f"/api/v1/registrations/{tokens[0]}")  # a seat frees: 3 moves up
    assert kept_and_counted()[:2] == (3, 3)
    client.delete(f"/api/v1/registrations/{tokens[5]}")  # someone waiting leaves
    assert kept_and_counted()[:2] == (2, 2)
    again = register(client, small, person(6))           # and comes back, at the back
    assert (again.json["status"], again.json["waitlist_position"]) == ("waitlisted", 3)
    assert kept_and_counted()[:2] == (3, 3)
    assert client.patch(f"/api/v1/events/{small}", json={"capacity": 3},
                        headers=auth).status_code == 200  # capacity raised: 4 moves up
    assert kept_and_counted()[:2] == (2, 2)
    client.delete(f"/api/v1/registrations/{tokens[1]}")  # 5 moves up
    assert kept_and_counted()[:2] == (1, 1)
    newcomer = register(client, small, person(7))
    assert newcomer.json["waitlist_position"] == 2
    assert kept_and_counted()[:2] == (2, 2)


def test_a_notice_that_cannot_be_composed_leaves_nothing_and_spares_the_batch(
        app, client, auth, monkeypatch):
    # The TCTP workshop's four sessions make a confirmation four messages; the
    # third fails to build. That registrant gets none (no half notice), the
    # other gets theirs, and the batch commits.
    from test_api_events import TCTP

    from webinars.registrations import mails as notifications
    from webinars.registrations import notices
    app.config["MAIL_DELIVERY"] = "manual"
    assert client.post("/api/v1/events", json=dict(TCTP, slug="tctp"),
                       headers=auth).status_code == 201
    unlucky = register(client, "tctp", person(1)).json
    lucky = register(client, "tctp", person(2)).json
    built = notifications.compose

    def compose(**kwargs):
        if kwargs["to_email"] == "p1@example.org" and "3 of 4" in kwargs["subject"]:
            raise RuntimeError("a template broke")
        return built(**kwargs)

    monkeypatch.setattr(notifications, "compose", compose)
    assert notices.process_due() == 2
    db.session.expire_all()
    queued = db.session.scalars(sa.select(OutboxMessage.recipient)).all()
    assert queued == ["p2@example.org"] * 4
    assert all(not r.notice_due for r in db.session.scalars(sa.select(Registration)))
    assert unlucky["status"] == lucky["status"] == "confirmed"


def test_a_clock_read_before_the_lock_still_queues_at_the_back(client, small, frozen_clock):
    # The time is read before the event's lock is taken: a worker that read
    # it earlier but got the lock later must still queue behind everyone the
    # lock let in first, as the place it is told says.
    for n in range(1, 4):
        register(client, small, person(n))        # 2 seats, 1 waiting
    frozen_clock.advance(seconds=-30)
    late = register(client, small, person(4)).json
    assert (late["status"], late["waitlist_position"]) == ("waitlisted", 2)
    assert client.get(f"/api/v1/registrations/{late['token']}").json["waitlist_position"] == 2


def test_a_confirmed_seat_gets_its_reminders_with_its_notice(app, client, small, frozen_clock):
    from webinars.models import Reminder
    from webinars.registrations import notices

    app.config["MAIL_DELIVERY"] = "manual"  # nobody prepares notices but the sweep
    seat = register(client, small, person(1)).json
    assert row_count(Reminder) == 0
    # The sweep comes late: a reminder that fell due meanwhile is still
    # planned (and sent late), since reminders count from the confirmation.
    session_start = datetime(2027, 7, 15, 2, 0, tzinfo=UTC)  # MEKONG, 10:00 PM EDT
    frozen_clock.set(session_start - timedelta(minutes=59))
    assert notices.process_due() == 1
    planned = db.session.scalars(sa.select(Reminder.offset_minutes)).all()
    assert sorted(planned) == [60, 1440]
    assert seat["status"] == "confirmed"
