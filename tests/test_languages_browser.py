"""Each language in a real Chromium: the page, the form, the mail; fonts, zones, axe (issue 16)."""

import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
import test_browser
from conftest import wait_until
from organizer_helpers import PASSWORD
from test_admission import GOOD, QUESTIONS
from test_api_events import MEKONG
from test_languages import month_name, translated
from test_registrations import person, register

from webinars.core.db import db
from webinars.core.languages import LANGUAGES
from webinars.models import Invitation, Registration, RegistrationRequest
from webinars.reminders import stopping

pytestmark = pytest.mark.browser

# The Chromium fixture of test_browser.py, shared.
browser = test_browser.browser

AXE = Path(__file__).resolve().parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
# A word of each script, and the font family Chromium must draw it with (None:
# Latin, any one font, but all of it: no accent left to a fallback).
SCRIPTS = {"km": ("ការចុះឈ្មោះ", "Khmer"), "lo": ("ການລົງທະບຽນ", "Lao"),
           "my": ("မှတ်ပုံတင်ခြင်း", "Myanmar"), "th": ("การลงทะเบียน", "Thai"),
           "vi": ("Đăng ký tham dự hội thảo", None)}


@pytest.fixture
def mekong(mail_app, client, auth):
    assert client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"),
                       headers=auth).status_code == 201
    return "mekong"


def month(code: str) -> str:
    """July, as the session's dates write it in ``code``."""
    return month_name(code, 7)


def say(code: str, message: str, **values) -> str:
    return (translated(code, message) if code != "en" else message) % values


@pytest.mark.parametrize("code", LANGUAGES)
def test_a_participant_reads_registers_and_is_mailed_in_their_language(
        browser, live_server, mekong, smtp, code):
    context = browser.new_context(timezone_id="Asia/Yangon", locale="en-US",
                                  viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(f"{live_server}/events/{mekong}?lang={code}")
    assert page.evaluate("document.documentElement.lang") == code
    assert page.locator("h1").inner_text() == MEKONG["title"]
    sessions = page.locator(".when-event").first.inner_text()
    assert month(code) in sessions and "2027" in sessions
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "wider than the phone"
    # The script's line in the viewer's zone: in the page's language, or in digits
    # where the browser has no data for it, never in English words.
    yours = page.locator(".viewer-time").first.inner_text()
    assert page.locator(".viewer-time").first.get_attribute("data-zone") in (
        "Asia/Yangon", "Asia/Rangoon")  # browsers still say Rangoon
    if code != "en" and code != "vi":
        assert not re.search(r"[A-Za-z]{2,}", yours), yours

    page.get_by_label(say(code, "Full name"), exact=True).fill("Aung Aung")
    page.get_by_label(say(code, "Email"), exact=True).fill(f"aung-{code}@example.org")
    page.get_by_label(say(code, "Country"), exact=True).select_option("MM")
    page.get_by_role("button", name=say(code, "Register")).click()
    page.wait_for_url(re.compile(r"/registrations/[\w-]{32,}$"))
    assert page.evaluate("document.documentElement.lang") == code
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    [mail] = wait_until(lambda: smtp.to(f"aung-{code}@example.org"), timeout=20)
    assert mail["Subject"] == say(code, "Registered: %(title)s", title=MEKONG["title"])
    body = mail.get_body(("plain",)).get_content()
    assert month(code) in body
    assert say(code, "Hello %(name)s,", name="Aung Aung") in body
    context.close()


def test_every_script_is_drawn_with_a_font_of_its_own(browser, live_server, mekong):
    page = browser.new_context().new_page()
    page.goto(f"{live_server}/events/{mekong}")
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    for code, (word, _family) in SCRIPTS.items():
        page.evaluate("([code, word]) => { const p = document.createElement('p');"
                      " p.id = 'sample-' + code; p.lang = code; p.textContent = word;"
                      " document.body.append(p); }", [code, word])
    # Fonts are chosen when the text is laid out and painted: two frames on.
    page.evaluate("document.fonts.ready.then(() => new Promise(done =>"
                  " requestAnimationFrame(() => requestAnimationFrame(done))))")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    for code, (_word, family) in SCRIPTS.items():
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": f"#sample-{code}"})
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
        if family is None:  # Vietnamese: Latin with stacked accents, all from one font
            assert len(fonts) == 1 and fonts[0]["glyphCount"] > 0, fonts
            continue
        # Every glyph from the script's own font: none left for a fallback's boxes.
        assert [f["familyName"] for f in fonts if family in f["familyName"]], fonts
        assert sum(f["glyphCount"] for f in fonts if family not in f["familyName"]) == 0, fonts


def test_an_explicit_zone_wins_over_the_browsers(browser, live_server, mekong):
    context = browser.new_context(timezone_id="America/New_York")
    page = context.new_page()
    page.goto(f"{live_server}/events/{mekong}?tz=Asia/Bangkok")
    assert page.locator(".viewer-time").first.inner_text() == \
        "Thu, 15 Jul, 09:00–10:30 (Bangkok, +07)"
    page.goto(f"{live_server}/events/{mekong}")
    assert "(Eastern Time)" in page.locator(".viewer-time").first.inner_text()
    context.close()


PUBLIC_PAGES = ("/", "/events/mekong")
ORGANIZER_PAGES = ("/organizer/", "/organizer/events/new", "/organizer/events/mekong",
                   "/organizer/events/mekong/registrations",
                   "/organizer/events/mekong/message",
                   "/organizer/events/mekong/edit", "/organizer/events/mekong/cancel",
                   "/organizer/settings", "/organizer/events/mekong/questions",
                   "/organizer/events/mekong/questions/new",
                   "/organizer/events/mekong/questions/role/edit",
                   "/organizer/events/mekong/invitations",
                   "/organizer/events/mekong/attendance-report",
                   "/organizer/events/mekong/follow-ups")


def violations(page) -> list:
    """axe-core's serious and critical findings on the page as it is."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("code", LANGUAGES)
def test_every_page_passes_axe_in_every_language(browser, live_server, mekong, client, auth,
                                                 organizer, code):
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{AXE} is missing: scripts/test installs it with npm")
        pytest.skip("tests/js/node_modules is missing: run `npm install` in tests/js")
    token = register(client, mekong, person(1)).json["token"]  # lists with a row in them
    session_id = client.get(f"/api/v1/events/{mekong}").json["sessions"][0]["id"]
    attendance = f"/organizer/events/{mekong}/sessions/{session_id}/attendance"
    # A request waiting for its address, for the confirmation page.
    client.patch(f"/api/v1/events/{mekong}", json={"verify_email": True}, headers=auth)
    register(client, mekong, person(2))
    request = db.session.scalar(sa.select(RegistrationRequest))
    client.patch(f"/api/v1/events/{mekong}", json={"verify_email": None}, headers=auth)
    # Questions of every kind on the form, an application to review, an invitation.
    client.patch(f"/api/v1/events/{mekong}", json={"questions": QUESTIONS,
                                                   "admission": "approval"}, headers=auth)
    applied = register(client, mekong, dict(person(3), answers=GOOD)).json["token"]
    client.post(f"/api/v1/events/{mekong}/invitations", json={"invitees": [
        {"name": "Invited", "email": "invited@example.org"}]}, headers=auth)
    invitation = db.session.scalar(sa.select(Invitation))
    first = db.session.scalar(sa.select(Registration).where(Registration.token == token))
    private = (f"/registrations/{token}", f"/registrations/confirm/{request.token}",
               f"/registrations/{applied}", f"/invitations/{invitation.token}",
               f"/reminders/stop/{first.id}/{stopping.key(first.id, token)}",
               "/no-such-page")
    context = browser.new_context(bypass_csp=True, viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(f"{live_server}/organizer/login?lang={code}")
    assert violations(page) == []
    page.fill("#email", "organizer@example.org")
    page.fill("#password", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{live_server}/organizer/")
    for path in PUBLIC_PAGES + private + ORGANIZER_PAGES + (attendance,):
        page.goto(f"{live_server}{path}?lang={code}")
        assert page.evaluate("document.documentElement.lang") == code
        assert violations(page) == [], f"{path} in {code}"
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
    context.close()


def test_registering_with_the_keyboard_alone(browser, live_server, mekong, smtp):
    context = browser.new_context(timezone_id="Asia/Vientiane")
    page = context.new_page()
    page.goto(f"{live_server}/events/{mekong}?lang=lo")
    for _ in range(80):  # Tab through the page to the form, as a keyboard user does
        if page.evaluate("document.activeElement.id") == "name":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "name"
    page.keyboard.type("Khamla")
    page.keyboard.press("Tab")
    page.keyboard.type("khamla@example.org")
    page.keyboard.press("Tab")  # organization, left empty
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "country"
    page.keyboard.press("ArrowDown")  # the first country of the list
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "language"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/registrations/[\w-]{32,}$"))
    [mail] = wait_until(lambda: smtp.to("khamla@example.org"), timeout=20)
    assert mail["Subject"] == say("lo", "Registered: %(title)s", title=MEKONG["title"])
    context.close()
