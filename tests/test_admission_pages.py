"""The workspace and public pages of questions, approval and invitations (test client)."""

import csv
import io
import re

import organizer_helpers
import sqlalchemy as sa
from organizer_helpers import csrf_token, post, text_of
from test_admission import GOOD, QUESTIONS, person, register, rows, workshop

from webinars.core.db import db
from webinars.models import Invitation, OutboxMessage

LISTING = ("name,email,language,country\n"
           "Chan Sophea,sophea@mfa.gov.kh,km,KH\n"
           "Bad Row,not-an-address,en,KH\n"
           "Nguyễn An,an@mofa.gov.vn,vi,VN\n"
           "Someone,p1@example.org,en,KH\n")

INVITATIONS = "/organizer/events/tctp/invitations"

signed_in = organizer_helpers.signed_in


def preview(client, listing=LISTING):
    return post(client, f"{INVITATIONS}/preview", {"listing": listing}, INVITATIONS)


def test_pasted_list_is_previewed_then_sent_exactly_as_shown(signed_in, auth):
    workshop(signed_in, auth)
    register(signed_in, person(1))
    shown = preview(signed_in)
    assert shown.status_code == 200
    page = text_of(shown)
    assert "Will be invited: 2" in page and "Not imported: 1" in page
    assert "Registered already: not invited: 1" in page
    assert "Email: Enter a valid email address" in page
    assert rows(Invitation) == [] and _mails("invitation") == []
    digest = re.search(r'name="plan" value="([0-9a-f]+)"', shown.get_data(as_text=True))[1]

    sent = post(signed_in, INVITATIONS, {"listing": LISTING, "plan": digest}, INVITATIONS)
    assert sent.status_code == 303
    assert [i.email for i in rows(Invitation)] == ["sophea@mfa.gov.kh", "an@mofa.gov.vn"]
    assert sorted(_mails("invitation")) == ["an@mofa.gov.vn", "sophea@mfa.gov.kh"]
    listing = text_of(signed_in.get(INVITATIONS))
    assert "2 people invited" in listing and "Chan Sophea" in listing

    # The same preview again is stale now: a new preview, nothing sent twice.
    again = post(signed_in, INVITATIONS, {"listing": LISTING, "plan": digest}, INVITATIONS)
    assert again.status_code == 409
    assert "Invited already: not mailed again: 2" in text_of(again)
    assert len(_mails("invitation")) == 2


def test_an_uploaded_file_is_read_like_a_pasted_one(signed_in, auth):
    workshop(signed_in, auth)
    data = {"csrf_token": csrf_token(signed_in, INVITATIONS),
            "file": (io.BytesIO(("\ufeff" + LISTING).encode()), "nominees.csv")}
    shown = signed_in.post(f"{INVITATIONS}/preview", data=data,
                           content_type="multipart/form-data")
    assert "Will be invited: 3" in text_of(shown)


def test_an_empty_list_says_so_and_writes_nothing(signed_in, auth):
    workshop(signed_in, auth)
    answer = preview(signed_in, " \n")
    assert answer.status_code == 400 and "The list is empty." in text_of(answer)


def _mails(kind):
    db.session.rollback()
    return db.session.scalars(sa.select(OutboxMessage.recipient).where(
        OutboxMessage.kind == kind)).all()


def test_the_csv_has_a_column_per_question_with_formulas_defused(signed_in, auth):
    workshop(signed_in, auth)
    register(signed_in, person(1, answers=dict(GOOD, ministry='=HYPERLINK("http://x","y")',
                                                needs="Wheelchair\naccess")))
    register(signed_in, person(2, answers=dict(GOOD, role="Legal", first_time=False)))
    # The ministry question goes; its answers stay in the CSV.
    signed_in.patch("/api/v1/events/tctp", json={"questions": QUESTIONS[1:]}, headers=auth)
    body = signed_in.get("/organizer/events/tctp/registrations.csv").get_data(as_text=True)
    table = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    header = table[0]
    assert header[-6:] == ["Your role", "Topics of interest", "Accessibility or dietary needs",
                           "Is this your first TCTP course?",
                           "I agree that my details are shared with the programme's partners.",
                           "ministry (question removed)"]
    first = dict(zip(header, table[1], strict=True))
    assert first["ministry (question removed)"] == '\'=HYPERLINK("http://x","y")'
    assert first["Topics of interest"] == "Incident response, Cyber diplomacy"
    assert first["Accessibility or dietary needs"] == "Wheelchair\naccess"
    assert first["I agree that my details are shared with the programme's partners."] == \
        "Agreed"
    second = dict(zip(header, table[2], strict=True))
    assert (second["Your role"], second["Is this your first TCTP course?"]) == ("Legal", "No")

    # The table filters by an answer, and the CSV link keeps the filter.
    page = signed_in.get("/organizer/events/tctp/registrations?answer.role=Legal")
    assert "Participant 2" in text_of(page) and "Participant 1" not in text_of(page)
    assert "answer.role=Legal" in page.get_data(as_text=True)
    filtered = signed_in.get("/organizer/events/tctp/registrations.csv?answer.role=Legal")
    assert len(list(csv.reader(io.StringIO(filtered.get_data(as_text=True))))) == 2


def test_questions_are_added_edited_moved_and_removed_in_the_workspace(signed_in, auth):
    workshop(signed_in, auth)
    page = "/organizer/events/tctp/questions"
    added = post(signed_in, f"{page}/new", {
        "kind": "choice", "label": "Session format", "options": "Online\r\nIn person\r\n",
        "required": "y", "translations-th-label": "รูปแบบ",
        "translations-th-options": "ออนไลน์\r\nในสถานที่"}, f"{page}/new")
    assert added.status_code == 303
    questions = signed_in.get("/api/v1/events/tctp").json["questions"]
    assert questions[-1] == {"key": "session_format", "kind": "choice",
                             "label": "Session format", "required": True,
                             "options": ["Online", "In person"],
                             "translations": {"th": {"label": "รูปแบบ",
                                                     "options": ["ออนไลน์", "ในสถานที่"]}}}
    bad = post(signed_in, f"{page}/new", {"kind": "choice", "label": "Empty"}, f"{page}/new")
    assert bad.status_code == 422 and "Give the options" in text_of(bad)
    assert post(signed_in, f"{page}/session_format/up", {}, page).status_code == 303
    keys = [q["key"] for q in signed_in.get("/api/v1/events/tctp").json["questions"]]
    assert keys[-2:] == ["session_format", "privacy"]
    assert post(signed_in, f"{page}/role/remove", {}, page).status_code == 303
    keys = [q["key"] for q in signed_in.get("/api/v1/events/tctp").json["questions"]]
    assert "role" not in keys
    history = text_of(signed_in.get("/organizer/events/tctp"))
    assert "Question role choice, required: Your role (Policy / Technical / Legal)" in history


def test_the_public_form_asks_in_the_readers_language_and_escapes_labels(client, auth):
    workshop(client, auth)
    client.patch("/api/v1/events/tctp", json={"questions": [
        dict(QUESTIONS[1], label="Role <script>alert(1)</script>")]}, headers=auth)
    english = client.get("/events/tctp?lang=en").get_data(as_text=True)
    assert "Role &lt;script&gt;alert(1)&lt;/script&gt;" in english
    assert "<script>alert(1)" not in english
    khmer = text_of(client.get("/events/tctp?lang=km"))
    assert "តួនាទី" in khmer and "បច្ចេកទេស" in khmer


def test_a_form_with_a_wrong_answer_comes_back_as_typed(client, auth):
    workshop(client, auth)
    token = csrf_token(client, "/events/tctp")
    answer = client.post("/events/tctp/register", data={
        "csrf_token": token, "name": "Dara", "email": "dara@example.org", "country": "KH",
        "answers-ministry": "MPTC", "answers-role": "Technical",
        "answers-topics": ["Cyber diplomacy"], "answers-first_time": "yes"})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert 'value="MPTC"' in html
    assert re.search(r'value="Cyber diplomacy"\s+checked', html)
    assert "Tick this box to continue." in html
    assert rows() == []


def test_invite_only_events_refuse_strangers_on_the_form_and_are_not_listed(client, auth):
    workshop(client, auth, invite_only=True)
    token = csrf_token(client, "/events/tctp")
    answer = client.post("/events/tctp/register", data={
        "csrf_token": token, "name": "Stranger", "email": "stranger@example.org",
        "answers-ministry": "X", "answers-role": "Legal", "answers-privacy": "yes"})
    assert answer.status_code == 403
    assert "by invitation only" in text_of(answer)
    assert rows() == []
    assert "TCTP" not in text_of(client.get("/"))
    assert client.get("/invitations/" + "x" * 32).status_code == 404


def test_the_dashboard_counts_applications_to_review(signed_in, auth):
    workshop(signed_in, auth, admission="approval")
    register(signed_in, person(1))
    register(signed_in, person(2))
    dashboard = text_of(signed_in.get("/organizer/"))
    assert "To review" in dashboard and "2 applications" in dashboard
    assert "Applications to review 2" in text_of(signed_in.get("/organizer/events/tctp"))


def test_a_list_that_is_not_csv_is_refused_plainly(signed_in, auth):
    workshop(signed_in, auth)
    answer = preview(signed_in, 'name,email\nA,"' + "x" * 140_000 + "\n")
    assert answer.status_code == 400 and "check its quotes" in text_of(answer)
    assert rows(Invitation) == []
