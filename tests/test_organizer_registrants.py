"""Registrants for organizers: the table and filters, cancel and promote by hand,
check-in, per-country counts, the CSV export, messages, and the settings page."""

import csv
import io
import re
from datetime import UTC, datetime

import organizer_helpers
import pytest
import sqlalchemy as sa
from organizer_helpers import (
    form_values,
    outbox,
    post,
    sign_in,
    text_of,
)
from test_api_events import MEKONG, TCTP

from webinars.core.db import db
from webinars.models import (
    ApiToken,
    Attendance,
    AuditEntry,
    OutboxMessage,
    Registration,
    Reminder,
)

# The signed-in client fixture, shared by the organizer tests.
signed_in = organizer_helpers.signed_in

PEOPLE = [
    ("Sokha Chan", "KH", "Asia/Phnom_Penh", "Royal University"),
    ("Somchai Dee", "TH", "Asia/Bangkok", ""),
    ("Aung Kyaw", "MM", "Asia/Yangon", "=HYPERLINK(\"http://evil.example\")"),
    ("Nguyen Lan", "VN", "Asia/Ho_Chi_Minh", "+Vietnam Institute"),
    ("Keo Vanna", "KH", "Asia/Phnom_Penh", "@mention"),
]


@pytest.fixture
def small(client, auth):
    """A two-seat webinar with five people: two confirmed, three waiting."""
    assert client.post("/api/v1/events", json=dict(MEKONG, slug="small", capacity=2),
                       headers=auth).status_code == 201
    tokens = []
    for n, (name, country, zone, organization) in enumerate(PEOPLE, start=1):
        body = {"name": name, "email": f"p{n}@example.org", "country": country,
                "timezone": zone, "organization": organization}
        tokens.append(client.post("/api/v1/events/small/registrations", json=body).json["token"])
    return tokens


def registration(n: int) -> Registration:
    return db.session.scalar(sa.select(Registration).where(
        Registration.email == f"p{n}@example.org"))


def statuses() -> list[str]:
    db.session.expire_all()
    return [r.status for r in db.session.scalars(sa.select(Registration)
                                                 .order_by(Registration.id))]


def table_rows(page: str) -> list[str]:
    """The text of each row of the registrants table."""
    body = re.search(r'<table class="registrants">.*?<tbody>(.*?)</tbody>', page, re.S)[1]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


# --- the table ---------------------------------------------------------------------


def test_the_table_shows_status_place_country_and_time_in_my_zone(signed_in, small,
                                                                 frozen_clock):
    post(signed_in, "/organizer/settings/timezone", {"timezone": "Asia/Bangkok"},
         "/organizer/settings")
    rows = table_rows(signed_in.get("/organizer/events/small/registrations")
                      .get_data(as_text=True))
    assert rows[0].startswith("Sokha Chan p1@example.org Confirmed Cambodia Royal University "
                              "Sun, 10 Jan 2027, 19:00 0 of 1")  # 12:00 UTC in Bangkok
    assert rows[2].startswith("Aung Kyaw p3@example.org Waiting 1 Myanmar")
    assert rows[4].startswith("Keo Vanna p5@example.org Waiting 3 Cambodia @mention")


def test_filters_by_status(signed_in, small):
    registrants = "/organizer/events/small/registrations"
    assert len(table_rows(signed_in.get(registrants).get_data(as_text=True))) == 5
    waiting = table_rows(signed_in.get(f"{registrants}?status=waitlisted").get_data(as_text=True))
    assert [row.split(" p")[0] for row in waiting] == ["Aung Kyaw", "Nguyen Lan", "Keo Vanna"]
    confirmed = signed_in.get(f"{registrants}?status=confirmed").get_data(as_text=True)
    assert len(table_rows(confirmed)) == 2 and 'aria-current="page">Confirmed' in confirmed
    assert "Nobody with this status" in text_of(signed_in.get(f"{registrants}?status=cancelled"))
    # An unknown filter shows everyone rather than failing.
    assert len(table_rows(signed_in.get(f"{registrants}?status=x").get_data(as_text=True))) == 5


def test_per_country_counts(signed_in, small):
    page = text_of(signed_in.get("/organizer/events/small/registrations"))
    counts = page.split("By country")[1]
    assert "Country Confirmed Waiting Attended Cambodia 1 1 0 Thailand 1 0 0 " \
           "Myanmar (Burma) 0 1 0 Vietnam 0 1 0" in counts  # CLDR's names


def test_table_escapes_names(signed_in, client, small):
    client.post("/api/v1/events/small/registrations", json={
        "name": "<b>Bold</b> & Co", "email": "bold@example.org", "country": "SG",
        "timezone": "Asia/Singapore"})
    html = signed_in.get("/organizer/events/small/registrations").get_data(as_text=True)
    assert "<b>Bold</b>" not in html and "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in html


# --- cancel and promote ------------------------------------------------------------


def test_cancel_one_moves_the_waiting_list_and_mails_them(app, signed_in, small):
    response = post(signed_in, f"/organizer/events/small/registrations/{registration(1).id}"
                    "/cancel", {"status_filter": "confirmed"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/organizer/events/small/registrations?status=confirmed"
    assert "The registration of Sokha Chan is cancelled" in text_of(
        signed_in.get(response.headers["Location"]))
    assert statuses() == ["cancelled", "confirmed", "confirmed", "waitlisted", "waitlisted"]
    kinds = [(m["To"].addresses[0].addr_spec, m["X-Webinars-Kind"]) for m in outbox(app)]
    assert ("p1@example.org", "cancellation") in kinds and ("p3@example.org", "promotion") in kinds
    [cancelled] = [m for m in outbox(app) if m["X-Webinars-Kind"] == "cancellation"]
    assert "The organizers of" in cancelled.get_body(("plain",)).get_content()
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.field.like("registrations%")))
    assert (entry.actor, entry.old, entry.new) == ("organizer@example.org", "confirmed",
                                                   "cancelled")
    assert "Registration of Sokha Chan confirmed cancelled" in text_of(
        signed_in.get("/organizer/events/small"))


def test_promote_is_refused_while_every_seat_is_taken(signed_in, small):
    response = post(signed_in, f"/organizer/events/small/registrations/{registration(4).id}"
                    "/promote")
    page = text_of(signed_in.get(response.headers["Location"]))
    assert "All 2 seats are taken. Raise the capacity first to let Nguyen Lan in" in page
    assert statuses() == ["confirmed", "confirmed", "waitlisted", "waitlisted", "waitlisted"]


def test_promote_by_hand_after_registration_closed(app, signed_in, client, small):
    # Closed: a cancellation frees a seat that nobody takes automatically...
    post(signed_in, "/organizer/events/small/close-registration")
    client.delete(f"/api/v1/registrations/{small[0]}")
    assert statuses() == ["cancelled", "confirmed", "waitlisted", "waitlisted", "waitlisted"]
    # ...so the organizer picks someone, out of turn if they wish.
    response = post(signed_in, f"/organizer/events/small/registrations/{registration(5).id}"
                    "/promote")
    assert "Keo Vanna has a seat now" in text_of(signed_in.get(response.headers["Location"]))
    assert statuses() == ["cancelled", "confirmed", "waitlisted", "waitlisted", "confirmed"]
    mail = [m for m in outbox(app) if m["X-Webinars-Kind"] == "promotion"]
    assert [m["To"].addresses[0].addr_spec for m in mail] == ["p5@example.org"]
    assert "https://meet.example.org/mekong" in mail[0].get_body(("plain",)).get_content()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reminder).where(
        Reminder.registration_id == registration(5).id)) == 2  # as fill_free_seats plans
    # Only from the waiting list, and only with a free seat.
    again = post(signed_in, f"/organizer/events/small/registrations/{registration(5).id}"
                 "/promote")
    assert "Keo Vanna is not on the waiting list" in text_of(
        signed_in.get(again.headers["Location"]))
    full = post(signed_in, f"/organizer/events/small/registrations/{registration(3).id}"
                "/promote")
    assert "Raise the capacity" in text_of(signed_in.get(full.headers["Location"]))


def test_a_registration_of_another_event_is_404(signed_in, client, auth, small):
    client.post("/api/v1/events", json=dict(MEKONG, slug="other"), headers=auth)
    response = post(signed_in, f"/organizer/events/other/registrations/{registration(1).id}"
                    "/cancel")
    assert response.status_code == 404
    assert statuses()[0] == "confirmed"


# --- check-in ------------------------------------------------------------------------


def test_check_in_per_session(signed_in, client, auth, frozen_clock):
    client.post("/api/v1/events", json=dict(TCTP, slug="tctp"), headers=auth)
    for n, (name, country, zone, _) in enumerate(PEOPLE[:3], start=1):
        client.post("/api/v1/events/tctp/registrations", json={
            "name": name, "email": f"p{n}@example.org", "country": country, "timezone": zone})
    sessions = client.get("/api/v1/events/tctp").json["sessions"]
    url = f"/organizer/events/tctp/sessions/{sessions[0]['id']}/attendance"
    # Not before the session starts.
    early = post(signed_in, url, {"present": str(registration(1).id)}, url)
    assert early.status_code == 409 and "has not started yet" in text_of(early)
    assert "Check-in opens when the session starts" in text_of(signed_in.get(
        "/organizer/events/tctp"))

    frozen_clock.set(datetime(2027, 11, 1, 1, 15, tzinfo=UTC))  # 09:15 in Singapore
    sign_in(signed_in)  # months later: the earlier sign-in has expired
    values = form_values(signed_in, url)
    assert values == {"csrf_token": values["csrf_token"]}  # nobody ticked yet
    values["present"] = [str(registration(1).id), str(registration(3).id)]
    response = signed_in.post(url, data=values)
    assert response.status_code == 303
    assert "2 checked in, 0 unchecked" in text_of(signed_in.get(url))
    # Untick one: the form is the whole truth for the session.
    response = post(signed_in, url, {"present": str(registration(1).id)}, url)
    assert "0 checked in, 1 unchecked" in text_of(signed_in.get(response.headers["Location"]))
    assert set(db.session.scalars(sa.select(Attendance.registration_id))) == {registration(1).id}
    page = text_of(signed_in.get("/organizer/events/tctp"))
    assert "Check-in: 1 attended" in page
    assert "Aung Kyaw attended Session 1: Part 1 no yes" in page
    assert "Aung Kyaw attended Session 1: Part 1 yes no" in page
    counts = text_of(signed_in.get("/organizer/events/tctp/registrations")).split("By country")[1]
    assert "Cambodia 1 0 1" in counts
    # Someone who is not registered cannot be ticked.
    stranger = post(signed_in, url, {"present": "999999"}, url)
    assert stranger.status_code == 409
    assert set(db.session.scalars(sa.select(Attendance.registration_id))) == {registration(1).id}


# --- the CSV export ---------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    assert response.data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_csv_keeps_every_script_and_defuses_formulas(signed_in, client, small):
    names = ["ចាន់ សុខា", "ສົມພອນ ແກ້ວ", "အောင်ကျော်", "สมชาย ใจดี", "Nguyễn Thị Lan"]
    for n, name in enumerate(names, start=10):
        client.post("/api/v1/events/small/registrations", json={
            "name": name, "email": f"p{n}@example.org", "country": "KH",
            "timezone": "Asia/Phnom_Penh", "organization": "-1+1" if n == 10 else ""})
    client.post("/api/v1/events/small/registrations", json={
        "name": "=cmd|' /C calc'!A0", "email": "formula@example.org"})
    response = signed_in.get("/organizer/events/small/registrations.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment; filename=small-registrations.csv" in \
        response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    rows = read_csv(response)
    assert rows[0][:9] == ["Name", "Email", "Status", "Waiting-list position", "Country code",
                           "Country", "Organization", "Time zone", "Registered at (UTC)"]
    by_name = {row[0]: row for row in rows[1:]}
    assert set(names) <= set(by_name)
    assert by_name["Sokha Chan"][:9] == ["Sokha Chan", "p1@example.org", "confirmed", "", "KH",
                                         "Cambodia", "Royal University", "Asia/Phnom_Penh",
                                         "2027-01-10 12:00"]
    assert by_name["Aung Kyaw"][3] == "1"
    # Cells a spreadsheet would run as formulas start with an apostrophe.
    assert by_name["Aung Kyaw"][6] == "'=HYPERLINK(\"http://evil.example\")"
    assert by_name["Nguyen Lan"][6] == "'+Vietnam Institute"
    assert by_name["Keo Vanna"][6] == "'@mention"
    assert by_name["ចាន់ សុខា"][6] == "'-1+1"
    assert "'=cmd|' /C calc'!A0" in by_name


def test_csv_follows_the_filter(signed_in, small):
    rows = read_csv(signed_in.get("/organizer/events/small/registrations.csv?status=confirmed"))
    assert [row[0] for row in rows[1:]] == ["Sokha Chan", "Somchai Dee"]


# --- messages ------------------------------------------------------------------------------


def test_message_to_the_confirmed_only(app, signed_in, small):
    url = "/organizer/events/small/message"
    assert "Confirmed (2)" in text_of(signed_in.get(url))
    response = post(signed_in, url, {
        "audience": "confirmed", "subject": "Slides for <Thursday> & more",
        "body": "Dear all,\n\nthe slides: https://example.org/s\n<script>alert(1)</script>"}, url)
    assert response.status_code == 303
    assert "on its way to 2 people" in text_of(signed_in.get(response.headers["Location"]))
    mails = [m for m in outbox(app) if m["X-Webinars-Kind"] == "message"]
    assert sorted(m["To"].addresses[0].addr_spec for m in mails) == ["p1@example.org",
                                                                    "p2@example.org"]
    mail = mails[0]
    assert mail["Subject"] == "Slides for <Thursday> & more"
    assert "<script>alert(1)</script>" in mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "http://webinars.test/registrations/" in html
    assert "Message sent" in text_of(signed_in.get("/organizer/events/small"))


def test_message_to_the_waiting_list(app, signed_in, small):
    url = "/organizer/events/small/message"
    post(signed_in, url, {"audience": "waitlisted", "subject": "Hold on",
                          "body": "A seat may open."}, url)
    assert sorted(m["To"].addresses[0].addr_spec for m in outbox(app)
                  if m["X-Webinars-Kind"] == "message") == ["p3@example.org", "p4@example.org",
                                                            "p5@example.org"]


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"subject": "Hi\r\nBcc: everyone@example.org", "body": "x"}, "subject", "line breaks"),
    ({"subject": "", "body": "x"}, "subject", "required"),
    ({"subject": "Hi", "body": "  "}, "body", "required"),
    ({"subject": "Hi", "body": "x" * 20_001}, "body", "At most"),
])
def test_a_bad_message_is_refused_next_to_its_field_and_nothing_sent(signed_in, small, data,
                                                                     field, message):
    url = "/organizer/events/small/message"
    before = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    response = post(signed_in, url, dict(data, audience="confirmed"), url)
    assert response.status_code == 422
    error = re.search(rf'id="{field}-error">([^<]*)<', response.get_data(as_text=True))
    assert error and message in error[1]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == before


def test_nobody_to_write_to(signed_in, client, auth):
    client.post("/api/v1/events", json=dict(MEKONG, slug="empty"), headers=auth)
    url = "/organizer/events/empty/message"
    response = post(signed_in, url, {"audience": "waitlisted", "subject": "Hi", "body": "x"}, url)
    assert response.status_code == 409 and "Nobody to send to" in text_of(response)


# --- settings: zone and tokens ------------------------------------------------------------


def test_tokens_are_shown_once_listed_and_revocable(signed_in, client):
    url = "/organizer/settings"
    response = post(signed_in, "/organizer/settings/tokens", {"name": "reporting"}, url)
    assert response.status_code == 200
    token = re.search(r'<code id="new-token">(wbn_[\w-]+)</code>', response.get_data(
        as_text=True))[1]
    assert token not in signed_in.get(url).get_data(as_text=True)  # shown once only
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "reporting"))
    listing = text_of(signed_in.get(url))
    assert f"reporting {token[:12]}… Sun, 10 Jan 2027, 12:00 never —" in listing

    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/events/nope", headers=headers).status_code == 404  # accepted
    assert f"reporting {token[:12]}… Sun, 10 Jan 2027, 12:00 Sun, 10 Jan 2027, 12:00 —" in \
        text_of(signed_in.get(url))

    response = post(signed_in, f"/organizer/settings/tokens/{row.id}/revoke", {}, url)
    assert response.status_code == 303
    assert "is revoked" in text_of(signed_in.get(url))
    assert client.post("/api/v1/events", headers=headers, json={}).status_code == 401


def test_another_organizers_token_cannot_be_revoked(signed_in):
    from webinars import accounts

    other = accounts.create_organizer("other@example.org", "another long password")
    accounts.create_token(other, "theirs")
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "theirs"))
    response = post(signed_in, f"/organizer/settings/tokens/{row.id}/revoke", {},
                    "/organizer/settings")
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).revoked_at is None
    assert "theirs" not in text_of(signed_in.get("/organizer/settings"))


def test_time_zone_setting(signed_in):
    url = "/organizer/settings"
    bad = post(signed_in, "/organizer/settings/timezone", {"timezone": "Asia/Atlantis"}, url)
    assert bad.status_code == 422
    assert re.search(r'id="timezone-error">Unknown time zone', bad.get_data(as_text=True))
    assert 'list="zone-names"' in bad.get_data(as_text=True)
    good = post(signed_in, "/organizer/settings/timezone", {"timezone": "Asia/Yangon"}, url)
    assert good.status_code == 303
    assert "Times are now shown in Asia/Yangon" in text_of(signed_in.get(url))
