"""Reminders a person can stop: RFC 8058 one-click from a real reminder's header, the manage
page's switch; on SQLite and PostgreSQL, mail on a real SMTP server."""

import re
from datetime import timedelta

import sqlalchemy as sa
import test_reminders
from organizer_helpers import csrf_token
from test_reminders import START, register, rows, sent_reminders

from webinars.core.db import db
from webinars.models import Registration
from webinars.reminders import sending as reminders

mekong = test_reminders.mekong  # the fixture, shared


def stop_link(message) -> str:
    header = message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    return re.fullmatch(r"<http://webinars\.test(/reminders/stop/\d+/[0-9a-f]{32})>", header)[1]


def test_one_click_stops_the_later_reminders_and_keeps_the_seat(mail_app, client, mekong,
                                                                smtp, frozen_clock):
    token = register(client, mekong)["token"]
    frozen_clock.set(START - timedelta(days=1))
    assert reminders.send_due().sent == 1
    [first] = sent_reminders(smtp)
    link = stop_link(first)

    # A GET (a link checker) changes nothing; the mail provider's POST stops them.
    assert client.get(link).status_code == 200
    assert [r.status for r in rows()] == ["sent", "pending"]
    answer = client.post(link, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and "no more reminders" in answer.get_data(as_text=True)
    assert client.post(link, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert [r.status for r in rows()] == ["sent", "skipped"]

    frozen_clock.set(START - timedelta(minutes=59))
    assert reminders.send_due().sent == 0
    assert len(sent_reminders(smtp)) == 1
    assert client.get(f"/api/v1/registrations/{token}").json["status"] == "confirmed"


def test_a_forged_or_altered_link_changes_nothing(mail_app, client, mekong, smtp,
                                                  frozen_clock):
    register(client, mekong)
    other = register(client, mekong, n=2)
    frozen_clock.set(START - timedelta(days=1))
    reminders.send_due()
    link = stop_link(sent_reminders(smtp)[0])
    number, key = re.search(r"/stop/(\d+)/(\w+)$", link).groups()
    other_id = db.session.scalar(sa.select(Registration.id).where(
        Registration.token == other["token"]))
    for forged in (f"/reminders/stop/{number}/{'0' * 32}",
                   f"/reminders/stop/{other_id}/{key}",      # another person's number
                   f"/reminders/stop/{number}/{key[:-1]}",
                   f"/reminders/stop/99999/{key}",
                   f"/reminders/stop/{'9' * 30}/{key}"):
        # (a number too long for any route is not even routed: 405, and changes nothing)
        assert client.post(forged, data={"List-Unsubscribe": "One-Click"}).status_code in \
            (404, 405)
    assert all(r.status != "skipped" for r in rows())


def test_the_manage_page_stops_and_resumes_them(mail_app, client, mekong, smtp, frozen_clock):
    token = register(client, mekong)["token"]
    page = f"/registrations/{token}"
    assert "Stop the reminders" in client.get(page).get_data(as_text=True)
    client.post(f"{page}/reminders/stop", data={"csrf_token": csrf_token(client, page)})
    assert {r.status for r in rows()} == {"skipped"}
    assert "Send me reminders again" in client.get(page).get_data(as_text=True)
    client.post(f"{page}/reminders/resume", data={"csrf_token": csrf_token(client, page)})
    assert {r.status for r in rows()} == {"pending"}
    frozen_clock.set(START - timedelta(days=1))
    assert reminders.send_due().sent == 1
    # Without its form token the switch changes nothing.
    assert client.post(f"{page}/reminders/stop").status_code == 400
    assert {r.status for r in rows()} == {"sent", "pending"}
