"""Questions, approval and invitations in a real headless Chromium (Debian's), on a phone:
the organizer builds the form and invites, the invitee registers from the mailed link,
a stranger is refused, and the organizer approves."""

import re

import pytest
import sqlalchemy as sa
import test_browser
from organizer_helpers import PASSWORD, outbox
from test_api_events import TCTP

from webinars.core.db import db
from webinars.models import Invitation, Registration

browser = test_browser.browser

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


def fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def sign_in(page, live_server):
    page.goto(f"{live_server}/organizer/login")
    page.get_by_label("Email").fill("organizer@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/organizer/")


def test_questions_invitations_and_approval_end_to_end(browser, live_server, organizer, client,
                                                       auth, app):
    assert client.post("/api/v1/events", json=dict(TCTP, slug="tctp", verify_email=False),
                       headers=auth).status_code == 201
    db.session.commit()
    context = browser.new_context(viewport=PHONE, timezone_id="Asia/Singapore")
    page = context.new_page()
    sign_in(page, live_server)

    # Approval, by invitation only, with one ministry's domain.
    page.goto(f"{live_server}/organizer/events/tctp/edit")
    page.get_by_label("Admission").select_option("approval")
    page.get_by_label("Who may register").select_option("yes")
    page.get_by_label("Domains that may register without an invitation").fill("mfa.gov.kh")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"{live_server}/organizer/events/tctp")

    # Two questions: a choice, translated into Khmer, and a consent box.
    page.get_by_role("link", name="Questions of the form").click()
    assert "The form asks nothing more yet." in page.content()
    page.get_by_role("link", name="Add a question").click()
    page.wait_for_url(f"{live_server}/organizer/events/tctp/questions/new")
    page.wait_for_load_state("load")  # measured with its stylesheet applied
    assert fits_the_phone(page)
    page.get_by_label("Kind of answer").select_option("choice")
    page.get_by_label("Question", exact=True).fill("Your role")
    page.get_by_label("Options, one per line", exact=True).fill("Policy\nTechnical\nLegal")
    page.get_by_label("An answer is required").check()
    page.locator("summary", has_text="The question in other languages").click()
    page.get_by_label("Question in ខ្មែរ").fill("តួនាទី")
    page.get_by_label("Options in ខ្មែរ, one per line, in the same order").fill("ក\nខ")
    page.get_by_role("button", name="Save the question").click()
    # Two Khmer options for three: refused, next to the field, nothing saved.
    assert "Give as many options as in the event's language (3)" in page.content()
    page.get_by_label("Options in ខ្មែរ, one per line, in the same order").fill(
        "គោលនយោបាយ\nបច្ចេកទេស\nច្បាប់")
    page.get_by_role("button", name="Save the question").click()
    page.wait_for_url(f"{live_server}/organizer/events/tctp/questions")
    page.get_by_role("link", name="Add a question").click()
    page.get_by_label("Kind of answer").select_option("consent")
    page.get_by_label("Question", exact=True).fill(
        "I agree that my details go to the programme's partners.")
    page.get_by_role("button", name="Save the question").click()
    page.wait_for_url(f"{live_server}/organizer/events/tctp/questions")
    assert page.locator("ol.question-list > li").count() == 2

    # Invite two nominees from a pasted list; the preview says what will happen.
    page.goto(f"{live_server}/organizer/events/tctp/invitations")
    page.get_by_label("Paste the list").fill(
        "name,email,language,country\nChan Sophea,sophea@mptc.gov.kh,km,KH\n"
        "Nguyễn An,an@mofa.gov.vn,vi,VN\n,nobody@example.org,en,\n")
    page.get_by_role("button", name="Preview").click()
    rows = page.locator("tbody tr")
    assert rows.count() == 3
    assert "Will be invited" in rows.nth(0).inner_text()
    assert "Not imported" in rows.nth(2).inner_text()
    db.session.rollback()
    assert db.session.scalars(sa.select(Invitation)).all() == []
    page.get_by_role("button", name="Send 2 invitations").click()
    page.wait_for_url(f"{live_server}/organizer/events/tctp/invitations")
    assert "2 invitations are on their way." in page.locator(".flash").first.inner_text()

    # The invitee follows the mailed link: the form is filled in, in Khmer.
    [invited] = [m for m in outbox(app) if m["To"].addresses[0].addr_spec ==
                 "sophea@mptc.gov.kh"]
    link = re.search(r"http://webinars\.test(/invitations/\S+)",
                     invited.get_body(("plain",)).get_content())[1]
    nominee = browser.new_context(viewport=PHONE, timezone_id="Asia/Phnom_Penh")
    form = nominee.new_page()
    form.goto(f"{live_server}{link}")
    assert form.locator("html").get_attribute("lang") == "km"
    assert form.locator("input[name=email]").input_value() == "sophea@mptc.gov.kh"
    assert fits_the_phone(form)
    form.get_by_label("បច្ចេកទេស").check()
    form.locator("button[type=submit]").last.click()
    # The box that must be ticked was not: the form comes back as typed, saying so.
    consent = form.get_by_label("I agree that my details go to the programme's partners.")
    assert consent.get_attribute("aria-invalid") == "true"
    assert form.locator("form p.error").count() == 1
    assert form.get_by_label("បច្ចេកទេស").is_checked()
    consent.check()
    form.locator("button[type=submit]").last.click()
    form.wait_for_url(re.compile(r"/registrations/[\w-]{32,}$"))
    assert form.locator(".badge-pending").count() == 1
    assert "បច្ចេកទេស" in form.locator("dl.answers").inner_text()

    # A stranger is refused on the form; an address in the ministry's domain is not.
    stranger = nominee.new_page()
    for address, refused in (("someone@example.org", True), ("official@mfa.gov.kh", False)):
        stranger.goto(f"{live_server}/events/tctp?lang=en")
        stranger.get_by_label("Full name").fill("Someone")
        stranger.get_by_label("Email").fill(address)
        stranger.get_by_label("Technical").check()
        stranger.get_by_label("I agree that my details").check()
        stranger.get_by_role("button", name="Register").click()
        if refused:
            assert "by invitation only" in stranger.locator("#form-problem").inner_text()
        else:  # typing an address of the domain is not enough: its owner confirms it
            assert "Check your inbox" in stranger.locator(".flash").first.inner_text()
    [check] = [m for m in outbox(app) if m["To"].addresses[0].addr_spec ==
               "official@mfa.gov.kh"]
    confirm = re.search(r"http://webinars\.test(/registrations/confirm/\S+)",
                        check.get_body(("plain",)).get_content())[1]
    stranger.goto(f"{live_server}{confirm}")
    stranger.get_by_role("button", name="Confirm my registration").click()
    stranger.wait_for_url(re.compile(r"/registrations/[\w-]{32,}$"))
    assert stranger.locator(".badge-pending").count() == 1

    # The organizer approves both chosen applications at once.
    page.goto(f"{live_server}/organizer/events/tctp/registrations?status=pending")
    assert "2 applications to review" in page.content()
    page.get_by_label("Choose Chan Sophea").check()
    page.get_by_label("Choose Someone").check()
    page.get_by_role("button", name="Approve the chosen applications").click()
    assert "2 applications approved: 2 with a seat, 0 on the waiting list." in \
        page.locator(".flash").first.inner_text()
    db.session.rollback()
    assert sorted(r.status for r in db.session.scalars(sa.select(Registration))) == \
        ["confirmed", "confirmed"]
    context.close()
    nominee.close()
