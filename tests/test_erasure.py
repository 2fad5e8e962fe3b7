"""A registrant's own data: the download holds every field, and deletion at each door frees
the seat for the first person waiting; on SQLite and PostgreSQL."""

from pathlib import Path

import organizer_helpers
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from organizer_helpers import post
from test_admission import GOOD, QUESTIONS

from webinars.core.db import db
from webinars.models import AuditEntry, OutboxMessage, Registration, Reminder

signed_in = organizer_helpers.signed_in

SMALL = {"title": "Tonle Sap symposium", "slug": "small", "timezone": "Asia/Phnom_Penh",
         "capacity": 1, "verify_email": False, "questions": QUESTIONS,
         "sessions": [{"start": "2027-03-10T09:00", "end": "2027-03-10T11:30"}]}


@pytest.fixture
def two(client, auth):
    assert client.post("/api/v1/events", json=SMALL, headers=auth).status_code == 201
    first = client.post("/api/v1/events/small/registrations", json={
        "name": "Chan Sokha", "email": "sokha@example.org", "organization": "MRC",
        "country": "KH", "answers": GOOD}).json
    second = client.post("/api/v1/events/small/registrations", json={
        "name": "Aung Kyaw", "email": "aung@example.org", "country": "MM",
        "answers": GOOD}).json
    assert (first["status"], second["status"]) == ("confirmed", "waitlisted")
    return first, second


def files(app) -> list[str]:
    return [p.read_text(errors="replace") for p in (Path(app.instance_path) / "outbox")
            .glob("*.eml")]


def erased(app, client, first, second):
    """What must hold after the first registration was erased."""
    db.session.rollback()
    row = db.session.scalar(sa.select(Registration).where(Registration.country == "KH"))
    assert (row.status, row.name, row.organization, row.answers) == ("cancelled", "", "", {})
    assert "sokha" not in row.email and row.token != first["token"]
    assert client.get(f"/api/v1/registrations/{first['token']}").status_code == 404
    # The seat went to the first person waiting, who was told.
    assert client.get(f"/api/v1/registrations/{second['token']}").json["status"] == "confirmed"
    assert db.session.scalars(sa.select(OutboxMessage.recipient)).all().count(
        "sokha@example.org") == 0
    assert not [f for f in files(app) if "sokha@example.org" in f]
    assert db.session.scalars(sa.select(Reminder).where(
        Reminder.registration_id == row.id)).all() == []
    history = db.session.scalars(sa.select(AuditEntry.new)).all()
    assert "erased on request" in history and not [h for h in history if "Sokha" in h]


def test_the_download_holds_every_field(client, two):
    first, _ = two
    data = client.get(f"/api/v1/registrations/{first['token']}/data").json
    assert data["registration"]["name"] == "Chan Sokha"
    assert data["registration"]["organization"] == "MRC"
    assert data["registration"]["answers"]["ministry"] == GOOD["ministry"]
    assert {m["kind"] for m in data["mail"]} == {"confirmation"}
    assert len(data["reminders"]) == 2 and data["event"]["slug"] == "small"
    page = client.get(f"/registrations/{first['token']}/data.json")
    assert page.headers["Content-Disposition"].startswith("attachment")
    assert page.json == data
    columns = set(Registration.__table__.c.keys()) - {
        "id", "event_id", "token", "email_key", "notice_due"}
    assert columns <= set(data["registration"]) | {"created_at"}


def test_deleting_through_the_api_frees_the_seat(app, client, two):
    first, second = two
    assert any("sokha@example.org" in f for f in files(app))
    answer = client.delete(f"/api/v1/registrations/{first['token']}/data")
    assert answer.status_code == 200
    erased(app, client, first, second)


def test_deleting_from_the_manage_page_needs_the_box_ticked(app, client, two):
    first, second = two
    page = f"/registrations/{first['token']}"
    post(client, f"{page}/erase", {}, page)
    assert client.get(f"/api/v1/registrations/{first['token']}").status_code == 200
    answer = post(client, f"{page}/erase", {"confirm": "yes"}, page)
    assert answer.status_code == 303 and answer.location.endswith("/events/small")
    erased(app, client, first, second)


def test_an_organizer_erases_one_person_on_request(app, client, two, signed_in):
    first, second = two
    row_id = db.session.scalar(sa.select(Registration.id).where(
        Registration.email_key == "sokha@example.org"))
    table = "/organizer/events/small/registrations"
    assert post(signed_in, f"/organizer/events/small/registrations/{row_id}/erase", {},
                table).status_code == 303
    erased(app, client, first, second)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.new == "erased on request"))
    assert entry.actor == "organizer@example.org"


def test_the_command_line_erases_by_address(app, client, two):
    first, second = two
    result = CliRunner().invoke(app.cli, ["erase", "SOKHA@example.org", "--event", "small"])
    assert result.exit_code == 0 and "Erased." in result.output
    erased(app, client, first, second)
    again = CliRunner().invoke(app.cli, ["erase", "sokha@example.org", "--event", "small"])
    assert again.exit_code != 0


def identifying(app, needles) -> list[str]:
    """Every table cell and .eml file that holds any of ``needles`` (names, addresses...)."""
    found = []
    db.session.rollback()
    for table in db.metadata.sorted_tables:
        if table.name in ("certificates", "organizers", "api_tokens"):
            continue  # a certificate keeps what it states; organizers are not registrants
        for row in db.session.execute(sa.select(table)).all():
            text = " ".join(str(v) for v in row)
            found += [f"{table.name}: {n}" for n in needles if n in text]
    for content in files(app):
        found += [f"outbox file: {n}" for n in needles if n in content]
    return found


def test_past_the_retention_period_nothing_identifies_a_registrant(app, client, auth, two,
                                                                   frozen_clock, signed_in):
    from datetime import UTC, datetime

    from webinars.registrations import erasure

    first, second = two
    # A check-in, a question answered, an invitation and a request: all kinds of trace.
    client.post("/api/v1/events/small/invitations", json={"invitees": [
        {"name": "Invited Person", "email": "invitee@example.org"}]}, headers=auth)
    needles = ["Chan Sokha", "sokha@example.org", "Aung Kyaw", "aung@example.org", "MRC",
               GOOD["ministry"], "Invited Person", "invitee@example.org"]
    assert identifying(app, needles)
    counts = client.get("/api/v1/events/small", headers=auth).json
    by_country = sorted(db.session.execute(sa.select(Registration.status,
                                                     Registration.country)).all())

    frozen_clock.set(datetime(2028, 3, 9, tzinfo=UTC))  # 364 days after the end: kept
    assert erasure.retain(dry_run=True).events == []
    frozen_clock.set(datetime(2028, 3, 11, tzinfo=UTC))  # a year and a day
    dry = CliRunner().invoke(app.cli, ["retention", "--dry-run"])
    assert "small: 2 registrants' personal data would be erased" in dry.output
    assert identifying(app, needles)  # the dry run changed nothing

    done = CliRunner().invoke(app.cli, ["retention"])
    assert "small: 2 registrants' personal data erased" in done.output
    assert identifying(app, needles) == []
    after = client.get("/api/v1/events/small", headers=auth).json
    assert (after["seats_left"], after["waitlist_count"]) == \
        (counts["seats_left"], counts["waitlist_count"])
    assert sorted(db.session.execute(sa.select(Registration.status,
                                               Registration.country)).all()) == by_country
    assert erasure.retain().events == []  # once per event


def test_an_event_keeps_its_data_as_long_as_it_says(app, client, auth, two, frozen_clock):
    from datetime import UTC, datetime

    from webinars.registrations import erasure

    client.patch("/api/v1/events/small", json={"retention_days": 30}, headers=auth)
    frozen_clock.set(datetime(2027, 4, 10, tzinfo=UTC))
    assert erasure.retain().events == [("small", 2)]
    client.patch("/api/v1/events/small", json={"retention_days": -1}, headers=auth)
    assert client.patch("/api/v1/events/small", json={"retention_days": "x"},
                        headers=auth).status_code == 422


NOTICE = ("The Mekong-U.S. Partnership keeps your name, address and answers to run this "
          "symposium.\n\nThey are erased a year after it <ends>.")


def test_the_privacy_notice_is_by_the_button_and_linked_from_every_mail(app, client, auth):
    assert client.post("/api/v1/events", json=dict(SMALL, slug="noted", privacy_notice=NOTICE),
                       headers=auth).status_code == 201
    page = client.get("/events/noted").get_data(as_text=True)
    form = page[page.index('id="register"'):]
    assert form.index("They are erased a year after it &lt;ends&gt;.") < \
        form.index('type="submit"')
    client.post("/api/v1/events/noted/registrations", json={
        "name": "Chan Sokha", "email": "sokha@example.org", "answers": GOOD})
    [mail] = [f for f in files(app) if "sokha@example.org" in f]
    assert "http://webinars.test/events/noted/privacy" in mail
    assert "erased a year after" in client.get("/events/noted/privacy").get_data(as_text=True)
    client.post("/api/v1/events", json=SMALL, headers=auth)
    assert client.get("/events/small").status_code == 200
    assert client.get("/events/small/privacy").status_code == 404  # no notice of its own
