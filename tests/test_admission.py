"""Registration that fits each programme, through the API and the CLI: questions, approval,
invitations and events by invitation only; on SQLite and PostgreSQL, mail on a real SMTP server."""

from datetime import UTC, datetime

import sqlalchemy as sa
from click.testing import CliRunner
from test_api_events import TCTP

from webinars.core.db import db
from webinars.models import AuditEntry, Invitation, Registration, RegistrationRequest

QUESTIONS = [
    {"key": "ministry", "kind": "text", "label": "Ministry or agency", "required": True,
     "help": "As on your nomination letter",
     "translations": {"km": {"label": "ក្រសួង ឬ ស្ថាប័ន"}}},
    {"key": "role", "kind": "choice", "label": "Your role", "required": True,
     "options": ["Policy", "Technical", "Legal"],
     "translations": {"km": {"label": "តួនាទី", "options": ["គោលនយោបាយ", "បច្ចេកទេស",
                                                          "ច្បាប់"]}}},
    {"key": "topics", "kind": "choices", "label": "Topics of interest",
     "options": ["Incident response", "Critical infrastructure", "Cyber diplomacy"]},
    {"key": "needs", "kind": "textarea", "label": "Accessibility or dietary needs"},
    {"key": "first_time", "kind": "yesno", "label": "Is this your first TCTP course?"},
    {"key": "privacy", "kind": "consent",
     "label": "I agree that my details are shared with the programme's partners."},
]

GOOD = {"ministry": "Ministry of Posts and Telecommunications", "role": "Technical",
        "topics": ["Cyber diplomacy", "Incident response"], "first_time": True,
        "privacy": True}


def workshop(client, auth, **extra):
    body = dict(TCTP, slug="tctp", questions=QUESTIONS, verify_email=False, **extra)
    answer = client.post("/api/v1/events", json=body, headers=auth)
    assert answer.status_code == 201, answer.json
    return answer.json


def person(n: int, **extra) -> dict:
    return {"name": f"Participant {n}", "email": f"p{n}@example.org", "country": "KH",
            "timezone": "Asia/Phnom_Penh", "answers": GOOD, **extra}


def register(client, body, slug="tctp"):
    return client.post(f"/api/v1/events/{slug}/registrations", json=body)


def rows(model=Registration):
    db.session.rollback()
    return db.session.scalars(sa.select(model).order_by(model.id)).all()


# --- questions ---------------------------------------------------------------


def test_event_carries_its_questions(client, auth):
    event = workshop(client, auth)
    assert [q["key"] for q in event["questions"]] == [q["key"] for q in QUESTIONS]
    assert event["questions"][1] == {
        "key": "role", "kind": "choice", "label": "Your role", "required": True,
        "options": ["Policy", "Technical", "Legal"],
        "translations": QUESTIONS[1]["translations"]}
    # A box that must be ticked is required, whatever was sent.
    assert event["questions"][5]["required"] is True
    assert event["admission"] == "open" and event["invite_only"] is False


def test_answers_are_checked_stored_and_shown(client, auth, smtp, mail_app):
    workshop(client, auth)
    answer = register(client, person(1))
    assert answer.status_code == 201, answer.json
    # Options in the order the event lists them, whatever order they came in.
    assert answer.json["answers"] == dict(GOOD, topics=["Incident response",
                                                        "Cyber diplomacy"])
    assert client.get(f"/api/v1/registrations/{answer.json['token']}").json["answers"] == \
        answer.json["answers"]
    [confirmation, *_] = smtp.to("p1@example.org")
    text = confirmation.get_body(("plain",)).get_content()
    assert "Your answers:" in text
    assert "- Ministry or agency: Ministry of Posts and Telecommunications" in text
    assert "- Topics of interest: Incident response, Cyber diplomacy" in text
    assert "- Is this your first TCTP course?: Yes" in text


def test_the_mail_summarises_answers_in_the_registrants_language(client, auth, smtp, mail_app):
    workshop(client, auth)
    register(client, person(1, language="km"))
    [confirmation, *_] = smtp.to("p1@example.org")
    text = confirmation.get_body(("plain",)).get_content()
    assert "- តួនាទី: បច្ចេកទេស" in text  # the role, and its option, in Khmer


def bad(answers_change: dict):
    return dict(GOOD, **answers_change)


def test_wrong_answers_are_422_naming_the_question_and_write_nothing(client, auth):
    workshop(client, auth)
    cases = [
        ({k: v for k, v in GOOD.items() if k != "ministry"}, "answers.ministry"),
        (bad({"role": "Astronaut"}), "answers.role"),
        (bad({"topics": "Cyber diplomacy"}), "answers.topics"),
        (bad({"topics": ["Cooking"]}), "answers.topics"),
        (bad({"first_time": "perhaps"}), "answers.first_time"),
        (bad({"privacy": False}), "answers.privacy"),
        ({k: v for k, v in GOOD.items() if k != "privacy"}, "answers.privacy"),
        (bad({"shoe_size": "42"}), "answers.shoe_size"),
        (bad({"ministry": "Posts\r\nBcc: everyone@example.org"}), "answers.ministry"),
        (bad({"needs": "x" * 5001}), "answers.needs"),
    ]
    for answers, field in cases:
        answer = register(client, person(1, answers=answers))
        assert (answer.status_code, answer.json.get("field")) == (422, field), answers
    answer = register(client, person(1, answers="Technical"))
    assert (answer.status_code, answer.json["field"]) == (422, "answers")
    assert rows() == []


def test_bad_question_definitions_are_422_and_change_nothing(client, auth):
    workshop(client, auth)
    cases = [
        ([{"kind": "choice", "label": "Role"}], "questions[0].options"),
        ([{"kind": "essay", "label": "Why"}], "questions[0].kind"),
        ([{"kind": "text", "label": ""}], "questions[0].label"),
        ([{"key": "Bad Key", "kind": "text", "label": "A"}], "questions[0].key"),
        ([{"key": "a", "kind": "text", "label": "A"}, {"key": "a", "kind": "text",
                                                      "label": "B"}], "questions[1].key"),
        ([{"kind": "choice", "label": "Role", "options": ["A", "B"],
           "translations": {"km": {"options": ["ក"]}}}], "questions[0].translations.km.options"),
        ([{"kind": "text", "label": "A", "translations": {"xx": {"label": "B"}}}],
         "questions[0].translations"),
    ]
    for questions, field in cases:
        answer = client.patch("/api/v1/events/tctp", json={"questions": questions},
                              headers=auth)
        assert (answer.status_code, answer.json.get("field")) == (422, field), questions
    assert [q["key"] for q in client.get("/api/v1/events/tctp").json["questions"]] == \
        [q["key"] for q in QUESTIONS]


def test_answers_outlive_a_changed_or_removed_question(client, auth, organizer):
    workshop(client, auth)
    register(client, person(1))
    changed = [dict(QUESTIONS[1], label="Your main role")] + QUESTIONS[2:]
    assert client.patch("/api/v1/events/tctp", json={"questions": changed},
                        headers=auth).status_code == 200
    [row] = rows()
    assert row.answers["ministry"] == "Ministry of Posts and Telecommunications"
    registrations = client.get("/api/v1/events/tctp/registrations", headers=auth).json
    assert registrations["registrations"][0]["answers"]["ministry"].startswith("Ministry")
    fields = {e.field: (e.old, e.new) for e in rows(AuditEntry)}
    assert fields["questions[ministry]"][1] == ""
    assert fields["questions[role]"] == ("choice, required: Your role (Policy / Technical / "
                                         "Legal)", "choice, required: Your main role (Policy "
                                         "/ Technical / Legal)")


def test_an_event_without_questions_takes_no_answers(client, auth):
    client.post("/api/v1/events", json=dict(TCTP, slug="plain"), headers=auth)
    answer = register(client, person(1, answers={"ministry": "MPTC"}), slug="plain")
    assert (answer.status_code, answer.json["field"]) == (422, "answers.ministry")
    assert register(client, person(1, answers={}), slug="plain").status_code == 201


# --- approval ----------------------------------------------------------------


def test_approval_holds_no_seat_until_an_organizer_admits(client, auth, smtp, mail_app):
    workshop(client, auth, admission="approval", capacity=1)
    first = register(client, person(1)).json
    second = register(client, person(2)).json
    assert (first["status"], second["status"]) == ("pending", "pending")
    event = client.get("/api/v1/events/tctp").json
    assert (event["seats_left"], event["waitlist_count"]) == (1, 0)
    [received] = smtp.to("p1@example.org")
    assert received["X-Webinars-Kind"] == "application"
    text = received.get_body(("plain",)).get_content()
    assert "no seat is held until they admit you" in text
    assert first["manage_url"] in text

    # Only an organizer decides.
    assert client.post(f"/api/v1/registrations/{first['token']}/approve").status_code == 401
    approved = client.post(f"/api/v1/registrations/{second['token']}/approve", headers=auth)
    assert approved.json["status"] == "confirmed"
    then = client.post(f"/api/v1/registrations/{first['token']}/approve", headers=auth)
    assert (then.json["status"], then.json["waitlist_position"]) == ("waitlisted", 1)
    again = client.post(f"/api/v1/registrations/{first['token']}/approve", headers=auth)
    assert again.status_code == 409
    [_, admitted, *invitations] = smtp.to("p2@example.org")
    assert admitted["X-Webinars-Kind"] == "approved"
    assert [p.get_content_type() for p in admitted.walk()].count("text/calendar") == 1
    assert len(invitations) == 3  # the workshop's other sessions, one invitation each
    [_, waiting] = smtp.to("p1@example.org")
    assert waiting["X-Webinars-Kind"] == "approved"
    assert "waiting list, number 1" in waiting.get_body(("plain",)).get_content()


def test_a_declined_applicant_is_told_politely_and_cannot_reapply(client, auth, smtp, mail_app):
    workshop(client, auth, admission="approval")
    applied = register(client, person(1)).json
    declined = client.post(f"/api/v1/registrations/{applied['token']}/decline", headers=auth)
    assert declined.json["status"] == "declined"
    [_, notice] = smtp.to("p1@example.org")
    assert notice["X-Webinars-Kind"] == "declined"
    assert notice["Subject"] == f"About your application: {TCTP['title']}"
    assert "cannot offer you a place" in notice.get_body(("plain",)).get_content()
    # Registering again is a repeat: the answer tells nothing, the registration stays.
    assert register(client, person(1)).status_code == 202
    assert client.delete(f"/api/v1/registrations/{applied['token']}").json["status"] == \
        "declined"
    assert [r.status for r in rows()] == ["declined"]


def test_an_applicant_can_withdraw(client, auth):
    workshop(client, auth, admission="approval")
    applied = register(client, person(1)).json
    assert client.delete(f"/api/v1/registrations/{applied['token']}").json["status"] == \
        "cancelled"
    assert client.post(f"/api/v1/registrations/{applied['token']}/approve",
                       headers=auth).status_code == 409


# --- invitations ----------------------------------------------------------


INVITEES = [
    {"name": "Chan Sophea", "email": "sophea@mfa.gov.kh", "language": "km", "country": "KH"},
    {"name": "Nguyễn Văn An", "email": "an@mofa.gov.vn", "language": "vi"},
    {"name": "", "email": "nobody@example.org"},
    {"name": "Bad Address", "email": "not-an-address"},
    {"name": "Again", "email": "SOPHEA@mfa.gov.kh"},
    {"name": "Aung Aung", "email": "aung@mofa.gov.mm", "language": "xx"},
    {"name": "Registered", "email": "p1@example.org"},
]


def test_import_plans_row_by_row_and_writes_exactly_that(client, auth, smtp, mail_app):
    workshop(client, auth)
    register(client, person(1))
    dry = client.post("/api/v1/events/tctp/invitations",
                      json={"invitees": INVITEES, "dry_run": True}, headers=auth)
    assert dry.status_code == 200
    assert [(r["line"], r["outcome"]) for r in dry.json["rows"]] == [
        (1, "new"), (2, "new"), (3, "invalid"), (4, "invalid"), (5, "invalid"), (6, "invalid"),
        (7, "registered")]
    reasons = [r["reason"] for r in dry.json["rows"]]
    assert reasons[2].startswith("Name: ") and reasons[3].startswith("Email: ")
    assert "twice" in reasons[4] and reasons[5].startswith("Language: ")
    assert rows(Invitation) == [] and smtp.to("sophea@mfa.gov.kh") == []

    done = client.post("/api/v1/events/tctp/invitations",
                       json={"invitees": INVITEES, "plan": dry.json["plan"]}, headers=auth)
    assert done.status_code == 201
    assert done.json["rows"] == dry.json["rows"] and done.json["dry_run"] is False
    assert [(i.email, i.language) for i in rows(Invitation)] == [
        ("sophea@mfa.gov.kh", "km"), ("an@mofa.gov.vn", "vi")]
    [invited] = smtp.to("sophea@mfa.gov.kh")
    assert invited["X-Webinars-Kind"] == "invitation"
    link = rows(Invitation)[0].token
    assert f"http://webinars.test/invitations/{link}" in invited.get_body(("plain",)).get_content()

    # Again: nobody is mailed twice; a stale preview is refused and writes nothing.
    again = client.post("/api/v1/events/tctp/invitations",
                        json={"invitees": INVITEES, "plan": dry.json["plan"]}, headers=auth)
    assert again.status_code == 409
    again = client.post("/api/v1/events/tctp/invitations", json={"invitees": INVITEES},
                        headers=auth)
    assert [r["outcome"] for r in again.json["rows"]][:2] == ["invited", "invited"]
    assert len(smtp.to("sophea@mfa.gov.kh")) == 1 and len(rows(Invitation)) == 2


def test_import_needs_an_organizer_and_a_list(client, auth):
    workshop(client, auth)
    assert client.post("/api/v1/events/tctp/invitations",
                       json={"invitees": INVITEES}).status_code == 401
    answer = client.post("/api/v1/events/tctp/invitations", json={"invitees": "x"},
                         headers=auth)
    assert answer.status_code == 400 and rows(Invitation) == []


def confirm_by_mail(client, email: str) -> dict:
    """Open the confirmation link the address was mailed and confirm (API)."""
    [request] = [r for r in rows(RegistrationRequest) if r.email_key == email.lower()]
    answer = client.post(f"/api/v1/confirmations/{request.token}")
    assert answer.status_code == 201, answer.json
    return answer.json


def test_invite_only_refuses_strangers_and_admits_the_invited(client, auth):
    workshop(client, auth, invite_only=True, allowed_domains=["MFA.gov.kh", "@mptc.gov.kh"])
    # Which domains get in is for organizers to read.
    assert "allowed_domains" not in client.get("/api/v1/events/tctp").json
    assert client.get("/api/v1/events/tctp", headers=auth).json["allowed_domains"] == \
        ["mfa.gov.kh", "mptc.gov.kh"]
    client.post("/api/v1/events/tctp/invitations",
                json={"invitees": [{"name": "Invited", "email": "invited@example.org"}]},
                headers=auth)
    stranger = register(client, person(1, email="stranger@example.org"))
    assert stranger.status_code == 403 and "by invitation only" in stranger.json["error"]
    lookalike = register(client, person(2, email="someone@notmfa.gov.kh"))
    assert lookalike.status_code == 403
    assert rows() == [] and rows(RegistrationRequest) == []
    # Typing an invited address, or one in a listed domain, is not enough (anyone can
    # type one, even with verify_email off): its owner confirms it from the mail.
    for n, email in ((3, "Invited@Example.org"), (4, "official@mfa.gov.kh"),
                     (5, "official@it.mptc.gov.kh")):
        assert register(client, person(n, email=email)).status_code == 202
        assert confirm_by_mail(client, email)["status"] == "confirmed"
    assert [r.email for r in rows()] == ["Invited@example.org", "official@mfa.gov.kh",
                                         "official@it.mptc.gov.kh"]
    # Not advertised: neither in the public list nor in the feed.
    assert client.get("/api/v1/events").json["events"] == []
    assert b"TCTP" not in client.get("/calendar.ics").data


def test_invited_people_skip_review_when_the_organizer_says_so(client, auth):
    workshop(client, auth, admission="approval", admit_invited=True)
    client.post("/api/v1/events/tctp/invitations",
                json={"invitees": [{"name": "Invited", "email": "invited@example.org"}]},
                headers=auth)
    typed = register(client, person(1, email="invited@example.org"))
    assert typed.status_code == 202  # skipping review needs the address proven
    assert confirm_by_mail(client, "invited@example.org")["status"] == "confirmed"
    link = rows(Invitation)[0].token
    client.delete(f"/api/v1/registrations/{rows()[0].token}")
    followed = register(client, person(1, email="invited@example.org", invitation=link))
    assert followed.json["status"] == "confirmed"
    assert register(client, person(2)).json["status"] == "pending"


def test_answers_wait_with_a_request_until_the_address_is_confirmed(client, auth):
    workshop(client, auth, admission="approval")
    client.patch("/api/v1/events/tctp", json={"verify_email": True}, headers=auth)
    assert register(client, person(1)).status_code == 202
    [request] = rows(RegistrationRequest)
    confirmed = client.post(f"/api/v1/confirmations/{request.token}")
    assert confirmed.status_code == 201
    assert confirmed.json["status"] == "pending"
    assert confirmed.json["answers"]["ministry"] == GOOD["ministry"]


def test_an_invitation_link_proves_the_address(client, auth, app):
    # The event verifies addresses; the invitation link was mailed to the address.
    workshop(client, auth, invite_only=True)
    client.patch("/api/v1/events/tctp", json={"verify_email": True}, headers=auth)
    client.post("/api/v1/events/tctp/invitations",
                json={"invitees": [{"name": "Invited", "email": "invited@example.org"}]},
                headers=auth)
    link = rows(Invitation)[0].token
    typed = register(client, person(1, email="invited@example.org"))
    assert typed.status_code == 202  # without the link: confirm the address first
    followed = register(client, person(1, email="invited@example.org", invitation=link))
    assert followed.status_code == 201 and followed.json["status"] == "confirmed"


# --- the command line ----------------------------------------------------------


def test_cli_doors_check_invitations_answers_and_decide(app, client, auth, tmp_path, smtp,
                                                       mail_app):
    workshop(client, auth, invite_only=True, admission="approval", capacity=1)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(app.cli, list(args), catch_exceptions=False)

    answers = ["--answer", "ministry=MPTC", "--answer", "role=Technical", "--answer",
               "topics=Cyber diplomacy", "--answer", "topics=Incident response",
               "--answer", "privacy=yes"]
    refused = run("register", "tctp", "stranger@example.org", "--name", "Stranger", *answers)
    assert refused.exit_code == 1 and "by invitation only" in refused.output
    assert rows() == []

    listing = tmp_path / "nominees.csv"
    listing.write_text("Email,Name,Language\nsophea@mfa.gov.kh,Chan Sophea,km\n"
                       "an@mofa.gov.vn,Nguyễn Văn An,vi\nbroken,Someone,en\n",
                       encoding="utf-8-sig")
    dry = run("invite", "tctp", str(listing), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "line 2: new" in dry.output and "line 4: invalid" in dry.output
    assert "2 would be invited; 1 bad row(s)." in dry.output and rows(Invitation) == []
    done = run("invite", "tctp", str(listing))
    assert "2 invited; 1 bad row(s)." in done.output
    assert [i.email for i in rows(Invitation)] == ["sophea@mfa.gov.kh", "an@mofa.gov.vn"]

    missing = run("register", "tctp", "sophea@mfa.gov.kh", "--name", "Chan Sophea")
    assert missing.exit_code == 1 and "needs an answer" in missing.output
    added = run("register", "tctp", "sophea@mfa.gov.kh", "--name", "Chan Sophea", *answers)
    # The operator vouches for the person: admitted without review.
    assert added.output.startswith("confirmed"), added.output
    assert rows()[0].answers["topics"] == ["Incident response", "Cyber diplomacy"]

    assert register(client, person(2, email="an@mofa.gov.vn")).status_code == 202
    assert confirm_by_mail(client, "an@mofa.gov.vn")["status"] == "pending"
    decided = run("approve", "tctp", "AN@mofa.gov.vn", "nobody@example.org")
    assert decided.exit_code == 1
    assert "an@mofa.gov.vn: waitlisted" in decided.output
    assert "nobody@example.org: no registration for this event" in decided.output
    assert [m["X-Webinars-Kind"] for m in smtp.to("an@mofa.gov.vn")] == [
        "invitation", "verify", "application", "approved"]
    assert run("decline", "tctp", "an@mofa.gov.vn").exit_code == 1  # not pending any more


def test_applicants_hear_of_a_moved_session_and_a_cancelled_event(client, auth, smtp, mail_app):
    workshop(client, auth, admission="approval")
    register(client, person(1))
    sessions = client.get("/api/v1/events/tctp", headers=auth).json["sessions"]
    moved = [{"id": s["id"], "start": s["start"][:16], "end": s["end"][:16]} for s in sessions]
    moved[0].update(start="2027-11-01T10:00", end="2027-11-01T12:30")
    client.patch("/api/v1/events/tctp", json={"sessions": moved}, headers=auth)
    client.post("/api/v1/events/tctp/cancel", headers=auth)
    kinds = [m["X-Webinars-Kind"] for m in smtp.to("p1@example.org")]
    assert kinds == ["application", "update", "cancellation"]


def test_confirming_checks_the_answers_against_the_form_as_it_is_now(client, auth):
    workshop(client, auth)
    client.patch("/api/v1/events/tctp", json={"verify_email": True}, headers=auth)
    assert register(client, person(1)).status_code == 202
    [request] = rows(RegistrationRequest)
    new = dict(QUESTIONS[0], key="passport", label="Passport number")
    client.patch("/api/v1/events/tctp", json={"questions": QUESTIONS + [new]}, headers=auth)
    refused = client.post(f"/api/v1/confirmations/{request.token}")
    assert refused.status_code == 409 and "form changed" in refused.json["error"]
    assert rows() == []


def test_approval_never_jumps_people_already_waiting(client, auth, frozen_clock):
    workshop(client, auth, admission="approval", capacity=1,
             registration_closes_at="2027-10-20T09:00")
    tokens = [register(client, person(n)).json["token"] for n in range(3)]
    for token in tokens:
        client.post(f"/api/v1/registrations/{token}/approve", headers=auth)
    assert [client.get(f"/api/v1/registrations/{t}").json["status"] for t in tokens] == \
        ["confirmed", "waitlisted", "pending"][:2] + ["waitlisted"]
    frozen_clock.set(datetime(2027, 10, 25, tzinfo=UTC))  # registration has closed
    client.delete(f"/api/v1/registrations/{tokens[0]}")  # a seat is free; nobody moves up
    late = register(client, person(9))
    assert late.status_code == 409
    # An application approved now goes behind the two waiting, not into the free seat.
    db.session.rollback()
    waiting = client.get(f"/api/v1/registrations/{tokens[2]}").json
    assert (waiting["status"], waiting["waitlist_position"]) == ("waitlisted", 2)


def test_a_pending_applicants_calendar_says_so(client, auth):
    workshop(client, auth, admission="approval")
    token = register(client, person(1)).json["token"]
    ics = client.get(f"/registrations/{token}.ics").get_data(as_text=True)
    assert "under review" in ics.replace("\r\n ", "")


def test_odd_values_are_422_not_500(client, auth):
    workshop(client, auth)
    for change, field in (({"questions": [{"kind": [], "label": "x"}]}, "questions[0].kind"),
                          ({"admission": []}, "admission"),
                          ({"invite_only": "yes"}, "invite_only"),
                          ({"allowed_domains": ["not a domain"]}, "allowed_domains[0]")):
        answer = client.patch("/api/v1/events/tctp", json=change, headers=auth)
        assert (answer.status_code, answer.json.get("field")) == (422, field), change
    odd = client.post("/api/v1/events/tctp/invitations", json={"dry_run": True, "invitees": [
        {"name": "A", "email": "a@example.org", "language": 5, "country": ["KH"]}, 7]},
        headers=auth)
    assert odd.status_code == 200
    assert [r["outcome"] for r in odd.json["rows"]] == ["new", "invalid"]


def test_invitations_wait_for_a_published_event(client, auth):
    workshop(client, auth, status="draft")
    answer = client.post("/api/v1/events/tctp/invitations", json={"invitees": [
        {"name": "A", "email": "a@example.org"}]}, headers=auth)
    assert answer.status_code == 409 and rows(Invitation) == []


def test_a_new_question_never_takes_the_key_of_a_removed_one_with_answers(client, auth):
    workshop(client, auth)
    register(client, person(1))
    # "Ministry or agency" goes; a new question with the same words comes, without a key.
    remaining = [q for q in QUESTIONS if q["key"] != "ministry"]
    client.patch("/api/v1/events/tctp", json={"questions": remaining}, headers=auth)
    again = remaining + [{"kind": "text", "label": "Ministry"}]
    answer = client.patch("/api/v1/events/tctp", json={"questions": again}, headers=auth)
    assert answer.json["questions"][-1]["key"] == "ministry_2"
    assert rows()[0].answers["ministry"] == GOOD["ministry"]  # the old answers stay theirs
