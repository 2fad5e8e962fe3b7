"""Mail the server refused, in sight: the registrants table, the CSV, the API, mail-status."""

import csv
import io

import organizer_helpers
import pytest
import sqlalchemy as sa
from organizer_helpers import text_of
from test_api_events import MEKONG

signed_in = organizer_helpers.signed_in

REFUSED = "550 5.1.1 <nobody@example.org>: Recipient address rejected"


@pytest.fixture
def mekong(client, auth):
    assert client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"),
                       headers=auth).status_code == 201
    return "mekong"


def register(client, email: str) -> str:
    response = client.post("/api/v1/events/mekong/registrations",
                           json={"name": "Someone", "email": email})
    assert response.status_code == 201, response.json
    return response.json["token"]


def test_a_refused_address_is_flagged_at_every_door(mail_app, client, auth, smtp, signed_in,
                                                    mekong):
    smtp.refuse_with = REFUSED
    token = register(client, "nobody@example.org")
    smtp.refuse_with = None
    register(client, "sokha@example.org")

    listed = {r["email"]: r for r in client.get("/api/v1/events/mekong/registrations",
                                                headers=auth).json["registrations"]}
    assert listed["nobody@example.org"]["mail_refused"] == REFUSED
    assert listed["sokha@example.org"]["mail_refused"] is None
    assert client.get(f"/api/v1/registrations/{token}").json["mail_refused"] == REFUSED

    page = text_of(signed_in.get("/organizer/events/mekong/registrations"))
    assert "Mail refused" in page and "550 5.1.1" in page
    assert page.count("Mail refused") == 1

    sheet = signed_in.get("/organizer/events/mekong/registrations.csv").data.decode("utf-8-sig")
    rows = {r["Email"]: r for r in csv.DictReader(io.StringIO(sheet))}
    assert rows["nobody@example.org"]["Mail refused"] == REFUSED
    assert rows["sokha@example.org"]["Mail refused"] == ""

    result = mail_app.test_cli_runner().invoke(args=["mail-status"])
    assert result.exit_code == 0
    [line] = result.output.splitlines()
    assert "failed" in line and "confirmation" in line and "nobody@example.org" in line
    assert "event mekong" in line and REFUSED in line


def test_a_temporary_refusal_is_retrying_not_refused(mail_app, client, auth, smtp, mekong):
    smtp.refuse_with = "451 4.3.0 Mailbox busy, try later"
    token = register(client, "busy@example.org")
    assert client.get(f"/api/v1/registrations/{token}").json["mail_refused"] is None
    [line] = mail_app.test_cli_runner().invoke(args=["mail-status"]).output.splitlines()
    assert "retrying" in line and "451 4.3.0" in line and "attempts 1" in line


def test_mail_status_says_when_all_is_well(app):
    result = app.test_cli_runner().invoke(args=["mail-status"])
    assert result.exit_code == 0 and result.output.strip() == "No failed or retrying mail."


def test_an_organizer_sends_a_refused_mail_again_or_gives_up_on_one(
        mail_app, client, auth, smtp, signed_in, mekong, frozen_clock):
    from organizer_helpers import post

    from webinars.core.db import db
    from webinars.models import AuditEntry, OutboxMessage

    smtp.refuse_with = REFUSED
    register(client, "nobody@example.org")
    smtp.refuse_with = "451 4.3.0 Mailbox busy, try later"
    register(client, "busy@example.org")
    smtp.refuse_with = None
    page = text_of(signed_in.get("/organizer/events/mekong"))
    assert "Mail that did not arrive" in page
    assert "nobody@example.org" in page and "550 5.1.1" in page and "Failed" in page
    assert "busy@example.org" in page and "Retrying" in page

    def message_to(address):
        db.session.rollback()
        return db.session.scalar(sa.select(OutboxMessage).where(
            OutboxMessage.recipient == address))

    # The address was right after all (the server's problem): send it again.
    refused = message_to("nobody@example.org")
    response = post(signed_in, f"/organizer/events/mekong/mail/{refused.id}/retry",
                    form_url="/organizer/events/mekong")
    assert response.status_code == 303
    assert message_to("nobody@example.org").sent_at is not None
    assert smtp.kinds("nobody@example.org") == ["confirmation"]
    # Nobody will fix that mailbox: give up on it.
    busy = message_to("busy@example.org")
    post(signed_in, f"/organizer/events/mekong/mail/{busy.id}/give-up",
         form_url="/organizer/events/mekong")
    assert message_to("busy@example.org").failed_at is not None
    frozen_clock.advance(hours=2)
    mail_app.test_cli_runner().invoke(args=["send-mail"])
    assert smtp.kinds("busy@example.org") == []
    entries = db.session.scalars(sa.select(AuditEntry.new).where(AuditEntry.field == "mail"))
    assert sorted(entries) == ["given up", "sent again"]
    # One delivered already is not to be sent again.
    again = post(signed_in, f"/organizer/events/mekong/mail/{refused.id}/retry",
                 form_url="/organizer/events/mekong")
    assert "delivered already" in text_of(signed_in.get(again.headers["Location"]))


def test_a_message_a_sender_is_trying_is_left_to_it(mail_app, client, auth, smtp, signed_in,
                                                    mekong):
    from organizer_helpers import post

    from webinars.core.db import db
    from webinars.mail import outbox
    from webinars.models import OutboxMessage

    smtp.refuse_with = "451 4.3.0 Mailbox busy, try later"
    register(client, "busy@example.org")
    smtp.refuse_with = None
    db.session.rollback()
    row = db.session.scalar(sa.select(OutboxMessage))
    db.session.execute(sa.update(OutboxMessage).values(send_after=row.created_at))
    db.session.commit()
    with outbox._claim(10) as claim:  # a live sender has it now
        assert claim.ids == [row.id]
        for action in ("retry", "give-up"):
            answer = post(signed_in, f"/organizer/events/mekong/mail/{row.id}/{action}",
                          form_url="/organizer/events/mekong")
            assert "trying this message right now" in \
                text_of(signed_in.get(answer.headers["Location"]))
    db.session.rollback()
    assert db.session.get(OutboxMessage, row.id).failed_at is None
    # Let go (or dead), it is the organizer's again.
    answer = post(signed_in, f"/organizer/events/mekong/mail/{row.id}/give-up",
                  form_url="/organizer/events/mekong")
    assert "trying this message" not in text_of(signed_in.get(answer.headers["Location"]))
    db.session.rollback()
    assert db.session.get(OutboxMessage, row.id).failed_at is not None



def test_a_reminder_waits_for_its_confirmations_retries_without_using_them_up(
        mail_app, client, auth, smtp, mekong, frozen_clock):
    from datetime import UTC, datetime, timedelta

    from webinars.core.db import db
    from webinars.mail import retries
    from webinars.models import OutboxMessage
    from webinars.reminders import sending
    from webinars.worker import drain

    smtp.refuse_with = {"busy@example.org": "451 4.3.0 Mailbox busy, try later"}
    register(client, "busy@example.org")
    frozen_clock.set(datetime(2027, 7, 15, 2, 0, tzinfo=UTC) - timedelta(days=1))
    for _ in range(20):  # a minute of passes, as the scheduler makes them
        sending.send_due()
        drain.drain()
        frozen_clock.advance(seconds=3)
    db.session.rollback()
    confirmation = db.session.scalar(sa.select(OutboxMessage))
    # Hurried once when the reminder fell due, then at its own pace.
    assert confirmation.failed_at is None
    assert confirmation.attempts <= 4 < retries.MAX_ATTEMPTS
    assert smtp.kinds("busy@example.org") == []

    smtp.refuse_with = None
    for _ in range(40):
        sending.send_due()
        drain.drain()
        frozen_clock.advance(seconds=3)
    assert smtp.kinds("busy@example.org") == ["confirmation", "reminder"]
