"""After the event: attendance from Zoom's and Teams' reports, the report, follow-up mail,
certificates in complex scripts; API, pages, CLI; SQLite and PostgreSQL, a real SMTP server."""

import io
import os
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime

import organizer_helpers
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from organizer_helpers import post, text_of
from test_api_events import TCTP

from webinars.core.db import db
from webinars.models import Attendance, Certificate
from webinars.registrations import followups

signed_in = organizer_helpers.signed_in

KHMER, BURMESE = "ចាន់ សុខា", "အောင်ကျော်"
AFTER = datetime(2027, 11, 10, tzinfo=UTC)  # the workshop is over

# Zoom's participant report: the meeting block, then one row per join. Chan Sokha
# joined twice (the second time from a phone, the address in capitals).
ZOOM = """Meeting ID,Topic,Start Time,End Time,User Email,Duration (Minutes),Participants
"812 3456 7890",TCTP Workshop,11/01/2027 09:00 AM,11/01/2027 11:30 AM,host@example.org,150,4

Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest
Chan Sokha,sokha@example.org,11/01/2027 09:01:00 AM,11/01/2027 09:41:00 AM,40,No
Chan Sokha (iPhone),SOKHA@EXAMPLE.ORG,11/01/2027 09:45:00 AM,11/01/2027 10:35:00 AM,50,No
Aung Kyaw,aung@example.org,11/01/2027 09:00:00 AM,11/01/2027 09:30:00 AM,30,No
Visitor,someone@elsewhere.org,11/01/2027 09:00:00 AM,11/01/2027 11:00:00 AM,120,Yes
"""

# Teams' attendance report: tab-separated UTF-16, a summary, the people, then each join.
TEAMS = "\n".join([
    "1. Summary", "Meeting title\tTCTP Cybersecurity Workshop", "Attended participants\t3",
    "Start time\t11/2/27, 9:00:00 AM", "End time\t11/2/27, 11:30:00 AM", "",
    "2. Participants",
    "Name\tFirst Join\tLast Leave\tIn-Meeting Duration\tEmail\tParticipant ID (UPN)\tRole",
    "Chan Sokha\t11/2/27, 9:00:00 AM\t11/2/27, 10:40:00 AM\t1h 30m 0s\tsokha@example.org\t"
    "sokha@example.org\tAttendee",
    "Aung Kyaw\t11/2/27, 9:05:00 AM\t11/2/27, 11:25:00 AM\t2h 20m 0s\tAUNG@EXAMPLE.ORG\t"
    "AUNG@EXAMPLE.ORG\tAttendee", "",
    "3. In-Meeting Activities", "Name\tJoin Time\tLeave Time\tDuration\tEmail\tRole",
    "Chan Sokha\t11/2/27, 9:00:00 AM\t11/2/27, 9:50:00 AM\t50m 0s\tsokha@example.org\tAttendee",
    "Chan Sokha\t11/2/27, 10:00:00 AM\t11/2/27, 10:40:00 AM\t40m 0s\tSOKHA@example.org\t"
    "Attendee",
    "Aung Kyaw\t11/2/27, 9:05:00 AM\t11/2/27, 11:25:00 AM\t2h 20m 0s\tAUNG@EXAMPLE.ORG\t"
    "Attendee",
    "Unknown Person\t11/2/27, 9:10:00 AM\t11/2/27, 10:10:00 AM\t1h 0m 0s\tunknown@else.org\t"
    "Attendee", ""]).encode("utf-16")


@pytest.fixture
def workshop(client, auth, frozen_clock):
    """The TCTP workshop with three registrants; certificates for two sessions of four."""
    answer = client.post("/api/v1/events", json=dict(
        TCTP, slug="tctp", verify_email=False, certificate_sessions=2,
        issuer="Mekong-U.S. Partnership"), headers=auth)
    assert answer.status_code == 201
    people = {}
    for key, name, email, country in (("sokha", KHMER, "sokha@example.org", "KH"),
                                      ("aung", BURMESE, "Aung@Example.org", "MM"),
                                      ("absent", "Nguyễn Thị Hương", "huong@example.org", "VN")):
        people[key] = client.post("/api/v1/events/tctp/registrations", json={
            "name": name, "email": email, "country": country, "language": "en"}).json
    frozen_clock.set(AFTER)
    sessions = client.get("/api/v1/events/tctp", headers=auth).json["sessions"]
    return {"people": people, "sessions": [s["id"] for s in sessions]}


def upload(client, auth, session_id, body, report_format, dry_run=False, content="text/csv"):
    return client.post(f"/api/v1/events/tctp/sessions/{session_id}/attendance"
                       f"?format={report_format}&dry_run={int(dry_run)}",
                       data=body, content_type=content, headers=auth)


def outcome(answer) -> dict:
    return {(p["email"].lower() or p["lines"][0]): (p["minutes"], p["outcome"], p["attended"])
            for p in answer.json["people"]}


def registration(client, person):
    return client.get(f"/api/v1/registrations/{person['token']}").json


def test_zoom_and_teams_reports_are_previewed_recorded_and_idempotent(client, auth, workshop):
    first, second = workshop["sessions"][:2]
    preview = upload(client, auth, first, ZOOM, "zoom", dry_run=True)
    assert preview.status_code == 200 and preview.json["dry_run"] is True
    assert outcome(preview) == {
        "sokha@example.org": (90, "recorded", True),     # 40 + 50 of 150 minutes
        "aung@example.org": (30, "recorded", False),     # under half the session
        "someone@elsewhere.org": (120, "unmatched", False)}
    assert db.session.scalars(sa.select(Attendance)).all() == []  # a preview records nothing

    done = upload(client, auth, first, ZOOM, "zoom")
    assert done.status_code == 201 and outcome(done) == outcome(preview)
    teams = upload(client, auth, second, TEAMS, "teams", content="text/csv; charset=utf-16")
    assert outcome(teams) == {
        "sokha@example.org": (90, "recorded", True),     # two joins of the activities
        "aung@example.org": (140, "recorded", True),     # the registrant, in capitals
        "unknown@else.org": (60, "unmatched", False)}

    sokha = registration(client, workshop["people"]["sokha"])
    assert (sokha["attended_sessions"], sokha["minutes_attended"]) == ([first, second], 180)
    aung = registration(client, workshop["people"]["aung"])
    assert (aung["attended_sessions"], aung["minutes_attended"]) == ([second], 170)

    # The same files again change nothing.
    again = upload(client, auth, first, ZOOM, "zoom")
    assert {v[1] for v in outcome(again).values()} == {"unchanged", "unmatched"}
    assert {v[1] for v in outcome(upload(client, auth, second, TEAMS, "teams")).values()} == \
        {"unchanged", "unmatched"}
    rows = db.session.scalars(sa.select(Attendance).order_by(Attendance.id)).all()
    assert [(r.minutes, r.checked_in) for r in rows] == [(90, False), (30, False),
                                                         (90, False), (140, False)]


def test_a_report_of_the_wrong_kind_is_refused_and_records_nothing(client, auth, workshop):
    first = workshop["sessions"][0]
    assert upload(client, auth, first, ZOOM, "teams").status_code == 400
    assert upload(client, auth, first, "just,some\ncells,here\n", "zoom").status_code == 400
    assert upload(client, auth, first, ZOOM, "excel").status_code == 422
    assert upload(client, auth, first, b"\xff\x00\xfe", "zoom").status_code == 400
    assert client.post(f"/api/v1/events/tctp/sessions/{first}/attendance?format=zoom",
                       data=ZOOM).status_code == 401
    assert db.session.scalars(sa.select(Attendance)).all() == []


def test_a_mapped_report_and_a_check_in_feed_the_same_rule(client, auth, workshop, signed_in):
    first = workshop["sessions"][0]
    report = ("Participant,Mail,Minutes\n"
              "Chan Sokha,sokha@example.org,80\nAung,AUNG@example.org,70\n")
    answer = client.post(f"/api/v1/events/tctp/sessions/{first}/attendance?format=mapped"
                         "&name=Participant&email=Mail&duration=Minutes", data=report,
                         content_type="text/csv", headers=auth)
    assert outcome(answer) == {"sokha@example.org": (80, "recorded", True),
                               "aung@example.org": (70, "recorded", False)}
    # A tick on the check-in page makes Aung attended too, and keeps the minutes.
    aung_id = db.session.scalar(sa.select(Attendance.registration_id).where(
        Attendance.minutes == 70))
    sokha_id = db.session.scalar(sa.select(Attendance.registration_id).where(
        Attendance.minutes == 80))
    page = f"/organizer/events/tctp/sessions/{first}/attendance"
    assert "(70 min by the platform" in text_of(signed_in.get(page))
    post(signed_in, page, {"present": [str(aung_id)]}, page)
    assert registration(client, workshop["people"]["aung"])["attended_sessions"] == [first]
    post(signed_in, page, {}, page)  # unticked again: the report's minutes stay
    assert registration(client, workshop["people"]["aung"])["attended_sessions"] == []
    assert registration(client, workshop["people"]["aung"])["minutes_attended"] == 70
    assert sokha_id is not None


def test_unmatched_rows_are_matched_by_hand_in_the_workspace(client, auth, workshop,
                                                             signed_in):
    first = workshop["sessions"][0]
    page = f"/organizer/events/tctp/sessions/{first}/attendance"
    data = {"csrf_token": organizer_helpers.csrf_token(signed_in, page),
            "file": (io.BytesIO(ZOOM.encode()), "participants.csv"), "report_format": "zoom"}
    preview = signed_in.post(f"{page}/import", data=data, content_type="multipart/form-data")
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "No registrant with this address: 1" in text_of(preview)
    assert db.session.scalars(sa.select(Attendance)).all() == []
    # The visitor was the absent registrant on a colleague's account.
    huong = db.session.scalar(sa.text("select id from registrations where email_key = "
                                      "'huong@example.org'"))
    report = re.search(r'name="report" value="([^"]*)"', html)[1]
    recorded = post(signed_in, f"{page}/import", {
        "report": report.replace("&#34;", '"').replace("&#39;", "'"),
        "report_format": "zoom", "match:someone@elsewhere.org": str(huong),
        "action": "record"}, page)
    assert recorded.status_code == 303
    minutes = dict(db.session.execute(sa.select(Attendance.registration_id,
                                                Attendance.minutes)).all())
    assert minutes[huong] == 120


def test_the_report_counts_per_session_total_and_country(client, auth, workshop, signed_in):
    first, second = workshop["sessions"][:2]
    upload(client, auth, first, ZOOM, "zoom")
    upload(client, auth, second, TEAMS, "teams")
    figures = client.get("/api/v1/events/tctp/attendance", headers=auth).json
    assert [(s["confirmed"], s["attended"], s["absent"]) for s in figures["sessions"]] == \
        [(3, 1, 2), (3, 2, 1), (3, 0, 3), (3, 0, 3)]
    assert figures["total"] == {"confirmed": 3, "attended": 2, "absent": 1}
    assert {c["country"]: c["attended"] for c in figures["countries"]} == \
        {"KH": 1, "MM": 1, "VN": 0}
    page = signed_in.get("/organizer/events/tctp/attendance-report")
    html = page.get_data(as_text=True)
    assert "<svg" in html and 'role="img"' in html and "2 attended" in html
    assert "1 absent" in html and "http" not in html.split("<svg")[1].split("</svg>")[0] \
        .replace("http://www.w3.org", "")
    body = signed_in.get("/organizer/events/tctp/attendance-report.csv").get_data(as_text=True)
    assert "All sessions,,3,2,1" in body


def pdf_text(pdf: bytes, tmp_path, tool: str, *args) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    return subprocess.run([tool, *args, str(path), "-"] if tool == "pdftotext"
                          else [tool, *args, str(path)], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def poppler():
    if not shutil.which("pdftotext"):
        if os.environ.get("CI"):
            pytest.fail("pdftotext is missing: scripts/test installs poppler-utils")
        pytest.skip("poppler-utils is not installed (scripts/test installs it)")


def test_certificates_in_khmer_and_burmese_are_shaped_and_verifiable(
        client, auth, workshop, tmp_path, poppler, signed_in):
    first, second = workshop["sessions"][:2]
    upload(client, auth, first, ZOOM, "zoom")
    upload(client, auth, second, TEAMS, "teams")
    # Aung attended one session by the reports; a check-in for the first makes two.
    aung_id = db.session.scalar(sa.select(Attendance.registration_id).where(
        Attendance.minutes == 140))
    page = f"/organizer/events/tctp/sessions/{first}/attendance"
    post(signed_in, page, {"present": [str(aung_id)]}, page)

    absent = workshop["people"]["absent"]["token"]
    assert client.get(f"/registrations/{absent}/certificate.pdf").status_code == 404
    for key, name, script_font in (("sokha", KHMER, "NotoSansKhmer"),
                                   ("aung", BURMESE, "NotoSansMyanmar")):
        token = workshop["people"][key]["token"]
        answer = client.get(f"/registrations/{token}/certificate.pdf")
        assert answer.status_code == 200 and answer.content_type == "application/pdf"
        text = pdf_text(answer.data, tmp_path, "pdftotext")
        # poppler may split a run of glyphs with a space; the characters are the name's.
        assert "".join(name.split()) in "".join(text.split())
        assert "Mekong-U.S. Partnership" in text and "Total: 5 hours" in text
        fonts = pdf_text(answer.data, tmp_path, "pdffonts").replace("-", "")
        assert script_font in fonts
        subprocess.run(["pdftoppm", "-r", "40", "-png", "-singlefile",
                        str(tmp_path / "certificate.pdf"), str(tmp_path / key)], check=True)
        assert (tmp_path / f"{key}.png").stat().st_size > 1000
        code = re.search(r"Verification code: (\S+)", text)[1]
        check = client.get(f"/certificates/{code}")
        assert check.status_code == 200
        assert name in check.get_data(as_text=True)
        assert "TCTP Cybersecurity Workshop" in text_of(check)
    # The same certificate every time: issued once.
    assert len(db.session.scalars(sa.select(Certificate)).all()) == 2
    for guess in ("A" * 24, "x", "../../etc", workshop["people"]["sokha"]["token"]):
        assert client.get(f"/certificates/{guess}").status_code == 404


def test_certificates_are_sent_once_and_zipped(client, auth, workshop, signed_in, smtp,
                                                mail_app):
    first, second = workshop["sessions"][:2]
    upload(client, auth, first, ZOOM, "zoom")
    upload(client, auth, second, TEAMS, "teams")
    assert post(signed_in, "/organizer/events/tctp/certificates/send", {},
                "/organizer/events/tctp").status_code == 303
    post(signed_in, "/organizer/events/tctp/certificates/send", {}, "/organizer/events/tctp")
    [mail] = [m for m in smtp.to("sokha@example.org") if m["X-Webinars-Kind"] == "certificate"]
    token = workshop["people"]["sokha"]["token"]
    assert f"/registrations/{token}/certificate.pdf" in mail.get_body(("plain",)).get_content()
    assert not [m for m in smtp.to("aung@example.org")
                if m["X-Webinars-Kind"] == "certificate"]
    archive = signed_in.get("/organizer/events/tctp/certificates.zip")
    with zipfile.ZipFile(io.BytesIO(archive.data)) as zipped:
        names = zipped.namelist()
        assert len(names) == 1 and zipped.read(names[0]).startswith(b"%PDF")


def test_a_follow_up_reaches_only_its_segment_once(client, auth, workshop, signed_in, smtp,
                                                   mail_app, frozen_clock, app):
    first, second = workshop["sessions"][:2]
    upload(client, auth, first, ZOOM, "zoom")
    frozen_clock.set(datetime(2027, 11, 9, 4, 0, tzinfo=UTC))  # the last session's end
    answer = post(signed_in, "/organizer/events/tctp/follow-ups", {
        "audience": "absent", "subject": "The recording", "when": "later",
        "hours_after": "24", "body": "Here is what you missed: https://video.example.org/1"},
        "/organizer/events/tctp/follow-ups")
    assert answer.status_code == 303
    assert followups.send_due() == 0  # not yet due
    frozen_clock.advance(hours=24, minutes=1)
    assert followups.send_due() == 1
    assert followups.send_due() == 0  # claimed: never twice
    from webinars.worker import drain
    drain.drain()
    recording = [m for m in smtp.messages if m["Subject"] == "The recording"]
    assert sorted(m["To"].addresses[0].addr_spec for m in recording) == \
        ["Aung@example.org", "huong@example.org"]
    assert all(m["X-Webinars-Kind"] == "follow-up" for m in recording)
    # Now, to those who attended: at once.
    post(signed_in, "/organizer/events/tctp/follow-ups", {
        "audience": "attended", "subject": "The slides", "when": "now",
        "body": "Thank you for coming."}, "/organizer/events/tctp/follow-ups")
    slides = [m for m in smtp.messages if m["Subject"] == "The slides"]
    assert [m["To"].addresses[0].addr_spec for m in slides] == ["sokha@example.org"]
    assert "Thank you for coming." in slides[0].get_body(("plain",)).get_content()


def test_the_command_line_imports_reports_and_makes_certificates(app, client, auth, workshop,
                                                                  tmp_path):
    first = workshop["sessions"][0]
    report = tmp_path / "zoom.csv"
    report.write_text(ZOOM, encoding="utf-8")
    runner = CliRunner()
    dry = runner.invoke(app.cli, ["import-attendance", "tctp", str(first), str(report),
                                  "--dry-run"], catch_exceptions=False)
    assert "sokha@example.org: 90 min, recorded, attended" in dry.output
    assert "2 would be recorded, 0 unchanged, 1 not matched" in dry.output
    assert db.session.scalars(sa.select(Attendance)).all() == []
    done = runner.invoke(app.cli, ["import-attendance", "tctp", str(first), str(report)])
    assert "2 recorded" in done.output
    shown = runner.invoke(app.cli, ["attendance-report", "tctp"])
    assert "in total: confirmed 3, attended 1, absent 2" in shown.output
    made = runner.invoke(app.cli, ["certificates", "tctp", "--zip", str(tmp_path / "c.zip")])
    assert "0 earned a certificate." in made.output  # one session of the two required


def test_hostile_reports_and_codes_are_refused_plainly(client, auth, workshop):
    first, second = workshop["sessions"][:2]
    header = "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes)\n"
    for duration in ("nan", "inf", "1e999", "9" * 5000 + "h", "-5"):
        answer = upload(client, auth, first, f"{header}A,sokha@example.org,x,y,{duration}\n",
                        "zoom")
        assert answer.status_code == 400, duration
    assert upload(client, auth, first, b"\xff\xfeA", "teams").status_code == 400
    assert db.session.scalars(sa.select(Attendance)).all() == []
    for code in ("%00" * 20, "a" * 20 + "%00", "<script>" * 3):
        assert client.get(f"/certificates/{code}").status_code == 404
        assert client.get(f"/registrations/{code}/certificate.pdf").status_code == 404


def test_two_addresses_of_one_person_add_up_and_cancelled_sessions_count_for_nobody(
        client, auth, workshop):
    first, second = workshop["sessions"][:2]
    report = ("Participant,Mail,Minutes\n"
              "Chan Sokha,sokha@example.org,40\nChan Sokha,sokha.personal@example.org,40\n")
    url = (f"/api/v1/events/tctp/sessions/{first}/attendance?format=mapped"
           "&name=Participant&email=Mail&duration=Minutes")
    registration_id = db.session.scalar(sa.text(
        "select id from registrations where email_key = 'sokha@example.org'"))
    from webinars.registrations import attendance, platform_reports
    rows = platform_reports.read(report, "mapped", {"name": "Participant", "email": "Mail",
                                                    "duration": "Minutes"})
    event_id = db.session.scalar(sa.text("select id from events where slug = 'tctp'"))
    result = attendance.import_report(event_id, first, rows, dry_run=False,
                                      matches={"sokha.personal@example.org": registration_id})
    [person] = [p for p in result.people if p.registration_id == registration_id]
    assert (person.minutes, person.attended) == (80, True)
    assert client.post(url, data=report, content_type="text/csv", headers=auth).status_code \
        == 201
    # The second session is cancelled after its report was imported: nobody attended it.
    upload(client, auth, second, TEAMS, "teams")
    sessions = client.get("/api/v1/events/tctp", headers=auth).json["sessions"]
    kept = [{"id": s["id"], "start": s["start"][:16], "end": s["end"][:16]}
            for s in sessions if s["id"] != second]
    client.patch("/api/v1/events/tctp", json={"sessions": kept}, headers=auth)
    assert second not in registration(client, workshop["people"]["sokha"])["attended_sessions"]
    assert upload(client, auth, second, TEAMS, "teams").status_code == 409


def test_a_follow_up_after_the_end_follows_a_moved_session(client, auth, workshop,
                                                           frozen_clock):
    frozen_clock.set(datetime(2027, 11, 9, 4, 0, tzinfo=UTC))
    event_id = db.session.scalar(sa.text("select id from events where slug = 'tctp'"))
    row = followups.schedule(event_id, "confirmed", "Thanks", "Thank you.",
                             after_end_minutes=60)
    sessions = client.get("/api/v1/events/tctp", headers=auth).json["sessions"]
    moved = [{"id": s["id"], "start": s["start"][:16], "end": s["end"][:16]} for s in sessions]
    moved[-1].update(start="2027-11-16T09:00", end="2027-11-16T11:30")  # a week later
    frozen_clock.set(datetime(2027, 11, 9, 5, 1, tzinfo=UTC))  # the old end plus an hour
    # (a real organizer could not move a session once the event is over; the clock is ours)
    client.patch("/api/v1/events/tctp", json={"sessions": moved}, headers=auth)
    assert followups.send_due() == 0
    db.session.expire_all()
    assert db.session.get(type(row), row.id).send_at == datetime(2027, 11, 16, 4, 30,
                                                                 tzinfo=UTC)
