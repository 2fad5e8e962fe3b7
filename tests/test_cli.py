"""The CLI door: organizers, tokens and the demo programme."""

from datetime import UTC, datetime

import sqlalchemy as sa

from webinars.core.db import db
from webinars.models import Event, Organizer


def test_create_organizer_reads_password_from_stdin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-organizer", "Nara@Example.org", "--password-stdin"],
                           input="a long enough password\n")
    assert result.exit_code == 0, result.output
    organizer = db.session.scalar(sa.select(Organizer))
    assert organizer.email == "Nara@example.org"
    assert organizer.password_hash and "a long enough password" not in organizer.password_hash
    again = runner.invoke(args=["create-organizer", "nara@example.org", "--password-stdin"],
                          input="a long enough password\n")
    assert again.exit_code != 0 and "exists already" in again.output


def test_short_password_is_refused(app):
    result = app.test_cli_runner().invoke(
        args=["create-organizer", "x@example.org", "--password-stdin"], input="short\n")
    assert result.exit_code != 0 and "at least" in result.output


def test_created_token_is_the_last_line_and_works(app, organizer, client):
    result = app.test_cli_runner().invoke(args=["create-token", organizer.email])
    token = result.output.strip().splitlines()[-1]
    response = client.post("/api/v1/events", headers={"Authorization": f"Bearer {token}"},
                           json={"title": "T", "timezone": "UTC",
                                 "sessions": [{"start": "2027-05-01T10:00",
                                               "end": "2027-05-01T11:00"}]})
    assert response.status_code == 201
    revoke = app.test_cli_runner().invoke(args=["revoke-tokens", organizer.email])
    assert "Revoked 1" in revoke.output
    assert client.get("/api/v1/events/t", headers={"Authorization": f"Bearer {token}"}) \
        .status_code == 401


def test_seed_demo_is_idempotent_and_uses_the_real_local_times(app, client):
    runner = app.test_cli_runner()
    assert "Created" in runner.invoke(args=["seed-demo"]).output
    assert "exist already" in runner.invoke(args=["seed-demo"]).output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 3

    # The test clock says 10 January 2027: the next 14 July is in 2027.
    mekong = client.get("/api/v1/events/sustainable-mekong-river-delta").json
    assert mekong["sessions"][0]["start"] == "2027-07-14T22:00:00-04:00"
    assert mekong["sessions"][0]["start_utc"] == "2027-07-15T02:00:00Z"

    tctp = client.get("/api/v1/events/tctp-cybersecurity-workshop").json
    assert tctp["capacity"] == 30 and tctp["timezone"] == "Asia/Singapore"
    assert [s["start"][:10] for s in tctp["sessions"]] == \
        ["2027-10-26", "2027-10-27", "2027-11-02", "2027-11-03"]

    tonle = client.get("/api/v1/events/thriving-tonle-sap").json
    assert tonle["timezone"] == "Asia/Phnom_Penh"
    assert tonle["sessions"][0]["start"] == "2027-03-10T09:00:00+07:00"


def test_seed_demo_moves_to_next_year_once_the_date_has_passed(app, client, frozen_clock):
    frozen_clock.set(datetime(2027, 7, 20, tzinfo=UTC))
    app.test_cli_runner().invoke(args=["seed-demo"])
    mekong = client.get("/api/v1/events/sustainable-mekong-river-delta").json
    assert mekong["sessions"][0]["start"] == "2028-07-14T22:00:00-04:00"


def test_register_and_cancel_from_the_cli(app, client):
    runner = app.test_cli_runner()
    runner.invoke(args=["seed-demo"])
    result = runner.invoke(args=["register", "tctp-cybersecurity-workshop", "vanna@example.org",
                                 "--name", "Vanna", "--country", "KH",
                                 "--timezone", "Asia/Phnom_Penh"])
    assert result.exit_code == 0, result.output
    status, token = result.output.strip().splitlines()
    assert status == "confirmed"
    again = runner.invoke(args=["register", "tctp-cybersecurity-workshop", "VANNA@example.org",
                                "--name", "Vanna"])
    assert again.output.strip().splitlines() == [
        "Registered already; the link to the registration was mailed to VANNA@example.org."]
    assert token not in again.output
    bad = runner.invoke(args=["register", "tctp-cybersecurity-workshop", "x@example.org",
                              "--name", "X", "--timezone", "Mars/Base"])
    assert bad.exit_code != 0 and "Unknown time zone" in bad.output
    assert runner.invoke(args=["cancel-registration", token]).exit_code == 0
    dashed = runner.invoke(args=["cancel-registration", "-dZvQBk2OI8jlQxdlwOUyQDeT5_a5vcw"])
    assert "No registration with this link" in dashed.output  # a token may begin with "-"
    assert client.get(f"/api/v1/registrations/{token}").json["status"] == "cancelled"
