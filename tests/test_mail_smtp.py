"""Mail through a real SMTP server: content, structure, retries, no duplicates."""

import socket
import threading

import pytest
import sqlalchemy as sa
from test_api_events import MEKONG, TCTP

from webinars.core.db import db
from webinars.mail import outbox as mail
from webinars.mail import pump, transports
from webinars.models import OutboxMessage
from webinars.worker import drain as delivery


def register(client, slug, **body):
    body = {"name": "Sok Dara", "email": "dara@example.org", "country": "KH",
            "timezone": "Asia/Phnom_Penh", **body}
    return client.post(f"/api/v1/events/{slug}/registrations", json=body)


def test_confirmation_reaches_the_smtp_server(mail_app, client, auth, smtp):
    client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    token = register(client, "mekong", name='Dara "ដារ៉ា" <Sok>').json["token"]
    [message] = smtp.to("dara@example.org")
    assert message["X-Webinars-Kind"] == "confirmation"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Subject"] == f"Registered: {MEKONG['title']}"
    assert message["To"].addresses[0].display_name == 'Dara "ដារ៉ា" <Sok>'
    assert message["From"].addresses[0].addr_spec == "programmes@webinars.test"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Thu, 15 Jul 2027, 09:00–10:30 (Phnom Penh, +07)" in text
    assert "Wed, 14 Jul 2027, 22:00–23:30 (New York, EDT)" in text
    assert f"http://webinars.test/registrations/{token}" in text
    assert "https://meet.example.org/mekong" in text
    assert "Dara &#34;ដារ៉ា&#34; &lt;Sok&gt;" in html  # escaped in HTML
    # RFC 6047 layout: mixed( alternative(text, html, calendar), attachment )
    assert message.get_content_type() == "multipart/mixed"
    alternative = next(message.iter_parts())
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == \
        ["text/plain", "text/html", "text/calendar"]
    calendar_part = list(alternative.iter_parts())[2]
    assert calendar_part.get_param("method") == "REQUEST"
    ics = calendar_part.get_content()
    assert "METHOD:REQUEST" in ics and ics.count("BEGIN:VEVENT") == 1
    attachments = [p.get_filename() for p in message.iter_attachments()]
    assert attachments == ["invite.ics"]


def test_workshop_sends_one_invitation_per_session(mail_app, client, auth, smtp):
    client.post("/api/v1/events", json=dict(TCTP, slug="tctp"), headers=auth)
    register(client, "tctp")
    messages = smtp.to("dara@example.org")
    assert len(messages) == 4
    uids = set()
    for message in messages:
        calendars = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        assert len(calendars) == 1
        ics = calendars[0].get_content()
        assert ics.count("BEGIN:VEVENT") == 1
        uids.add(next(line for line in ics.splitlines() if line.startswith("UID:")))
    assert len(uids) == 4
    assert [m["Subject"].split(":")[0] for m in messages[1:]] == \
        ["Invitation 2 of 4", "Invitation 3 of 4", "Invitation 4 of 4"]


def test_temporary_failure_is_retried_later_and_sent_once(mail_app, client, auth, smtp,
                                                          frozen_clock):
    client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    smtp.refuse_with = "451 4.3.0 Mailbox busy, try later"
    assert register(client, "mekong").status_code == 201  # the registration is not lost
    row = db.session.scalar(sa.select(OutboxMessage))
    assert row.sent_at is None and row.attempts == 1 and row.last_error.startswith("451")
    smtp.refuse_with = None
    assert mail.send_pending().sent == 0  # not due yet: backoff
    frozen_clock.advance(minutes=5)
    assert mail.send_pending().sent == 1
    assert mail.send_pending().sent == 0
    assert len(smtp.to("dara@example.org")) == 1


def test_permanent_failure_is_recorded_not_retried(mail_app, client, auth, smtp, frozen_clock):
    client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    smtp.refuse_with = "550 5.1.1 No such user"
    register(client, "mekong")
    row = db.session.scalar(sa.select(OutboxMessage))
    assert row.failed_at is not None and row.last_error.startswith("550")
    smtp.refuse_with = None
    frozen_clock.advance(days=1)
    assert mail.send_pending().sent == 0 and smtp.messages == []


def test_server_down_keeps_the_mail_for_later(app, client, auth, smtp, frozen_clock):
    from conftest import free_port

    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}?timeout=2"
    client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    assert register(client, "mekong").status_code == 201
    row = db.session.scalar(sa.select(OutboxMessage))
    assert row.sent_at is None and row.failed_at is None
    app.config["SMTP_URL"] = smtp.url
    frozen_clock.advance(minutes=5)
    assert mail.send_pending().sent == 1
    assert smtp.kinds("dara@example.org") == ["confirmation"]


def test_background_delivery_needs_no_scheduler(mail_app, client, auth, smtp):
    """The default mode: a thread in the web process sends right after the commit."""
    from conftest import wait_until

    mail_app.config["MAIL_DELIVERY"] = "background"
    client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    register(client, "mekong")
    try:
        wait_until(lambda: smtp.to("dara@example.org"), timeout=20)
    finally:
        pump.stop(mail_app)
    assert smtp.kinds("dara@example.org") == ["confirmation"]


def test_confirmation_survives_a_crash_after_the_seat_decision(mail_app, client, auth, smtp):
    """The seat and the promise of its mail commit together; the sweep keeps the promise."""
    mail_app.config["MAIL_DELIVERY"] = "manual"  # as if the process died after the commit
    client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    assert register(client, "mekong").json["status"] == "confirmed"
    assert smtp.messages == []
    assert delivery.drain().sent == 1  # the scheduler's sweep
    assert smtp.kinds("dara@example.org") == ["confirmation"]
    assert delivery.drain().sent == 0


def test_promotion_supersedes_a_pending_waitlist_notice(mail_app, client, auth, smtp):
    mail_app.config["MAIL_DELIVERY"] = "manual"
    client.post("/api/v1/events", json=dict(MEKONG, slug="small", capacity=1), headers=auth)
    first = register(client, "small", email="first@example.org").json
    register(client, "small", email="second@example.org")
    client.delete(f"/api/v1/registrations/{first['token']}")  # promotes second
    delivery.drain()
    assert smtp.kinds("second@example.org") == ["promotion"]
    assert smtp.kinds("first@example.org") == ["cancellation"]  # cancelled before it went


def _calendar_of(message):
    import icalendar

    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    return part.get_param("method"), icalendar.Calendar.from_ical(
        part.get_payload(decode=True)).walk("VEVENT")[0]


def test_reschedule_and_cancel_reach_calendars_through_smtp(mail_app, client, auth, smtp):
    created = client.post("/api/v1/events", json=dict(MEKONG, slug="m", capacity=1),
                          headers=auth).json
    register(client, "m")
    register(client, "m", email="waiting@example.org")
    _, first = _calendar_of(smtp.to("dara@example.org")[0])

    session = created["sessions"][0]
    client.patch("/api/v1/events/m", headers=auth, json={"sessions": [
        {"id": session["id"], "start": "2027-07-15T22:00", "end": "2027-07-15T23:30"}]})
    [update] = [m for m in smtp.to("dara@example.org") if m["X-Webinars-Kind"] == "update"]
    method, moved = _calendar_of(update)
    assert method == "REQUEST" and moved["UID"] == first["UID"]
    assert moved["SEQUENCE"] > first["SEQUENCE"]
    assert "Thu, 15 Jul 2027, 22:00–23:30 (New York, EDT)" in update.get_body(
        ("plain",)).get_content()

    client.post("/api/v1/events/m/cancel", headers=auth)
    [gone] = [m for m in smtp.to("dara@example.org") if m["Subject"].startswith("Event ")]
    method, cancelled = _calendar_of(gone)
    assert (method, str(cancelled["STATUS"])) == ("CANCEL", "CANCELLED")
    assert cancelled["UID"] == first["UID"] and cancelled["SEQUENCE"] > moved["SEQUENCE"]
    # The person waiting hears of it too, with nothing to take off a calendar.
    waiting = [m for m in smtp.to("waiting@example.org") if m["X-Webinars-Kind"] ==
               "cancellation"]
    assert len(waiting) == 1
    assert not any(p.get_content_type() == "text/calendar" for p in waiting[0].walk())


def test_the_relay_going_down_and_coming_back_is_logged_once_each(
        app, client, auth, frozen_clock, caplog):
    import logging

    from aiosmtpd.controller import Controller
    from conftest import Inbox, free_port

    from webinars.mail import transports

    transports._relay.since = None
    caplog.set_level(logging.INFO, logger="webinars.mail.transports")
    inbox, port = Inbox(), free_port()
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"  # nothing listens there yet
    client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    for n in range(3):
        register(client, "mekong", email=f"p{n}@example.org")

    def relay_lines():
        return [r.getMessage() for r in caplog.records if r.name == "webinars.mail.transports"]

    [down] = relay_lines()
    assert "cannot be reached" in down and f"127.0.0.1:{port}" in down
    relay = Controller(inbox, hostname="127.0.0.1", port=port)
    relay.start()  # the relay comes (back)
    try:
        frozen_clock.advance(minutes=3)  # past the first backoff
        assert delivery.drain().sent == 3
    finally:
        relay.stop()
    assert len(relay_lines()) == 2 and "answers again" in relay_lines()[1]
    assert sorted(m["To"].addresses[0].addr_spec for m in inbox.messages) == \
        ["p0@example.org", "p1@example.org", "p2@example.org"]


class _Vanishing:
    """A relay that answers the envelope, then hangs up at ``at`` ('MAIL' or the end of DATA)."""

    def __init__(self, at: str):
        self.at = at
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        conn, _ = self.listener.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 relay\r\n")
            for line in lines:
                verb = line[:4].upper()
                if verb == b"MAIL" and self.at == "MAIL":
                    return
                if verb == b"DATA":
                    conn.sendall(b"354 go on\r\n")
                    for body in lines:
                        if body == b".\r\n":
                            return  # the message is in; its answer never comes
                conn.sendall(b"250 ok\r\n")


@pytest.mark.parametrize(("at", "outcome"), [("MAIL", "unreachable"), ("DATA", "temporary")])
def test_a_relay_that_hangs_up_mid_message_costs_an_attempt(at, outcome):
    # Before DATA nothing left us: the relay is at fault, and the message is
    # tried again every few seconds for free. After it, the relay may have
    # taken the message: that try counts, with backoff and a limit, so that
    # a lost 250 cannot deliver it every five seconds for ever.
    relay = _Vanishing(at)
    transport = transports.SMTPTransport(f"smtp://127.0.0.1:{relay.port}?timeout=5",
                                         "webinars@example.org")
    result, answer = transport.send("p@example.org", b"Subject: x\r\n\r\nhello\r\n",
                                    "confirmation", 1)
    transport.close()
    assert result == outcome, answer
