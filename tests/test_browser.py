"""The registration form in a real headless Chromium (Debian's), on a phone-sized screen."""

import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_api_events import MEKONG

from webinars.core.db import db
from webinars.models import Registration

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: scripts/test installs it with apt-get")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def mekong(client, auth):
    assert client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"),
                       headers=auth).status_code == 201
    db.session.commit()
    return "mekong"


def test_register_from_bangkok_on_a_phone(browser, live_server, mekong):
    context = browser.new_context(timezone_id="Asia/Bangkok", locale="en-US",
                                  viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(f"{live_server}/events/{mekong}")
    # The browser's zone replaces the server's UTC fallback.
    assert page.locator(".viewer-time").first.inner_text() == \
        "Thu, 15 Jul, 09:00–10:30 (Indochina Time)"  # Intl names the zone in the page's language
    assert "Wed, 14 Jul 2027, 22:00–23:30 (New York, EDT)" in page.locator(".when-event").first \
        .inner_text()
    # Nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.get_by_label("Full name").fill("Somchai <Test> & Co")
    page.get_by_label("Email").fill("somchai@example.org")
    page.get_by_label("Country").select_option(label="Thailand")
    page.get_by_role("button", name="Register").click()

    page.wait_for_url(re.compile(r"/registrations/[\w-]{32,}$"))
    assert "Confirmed" in page.locator(".badge").first.inner_text()
    assert "Thu, 15 Jul 2027, 09:00–10:30 (Bangkok, +07)" in page.content()
    assert "Somchai &lt;Test&gt; &amp; Co" in page.content()
    registration = db.session.scalar(sa.select(Registration))
    assert registration.timezone == "Asia/Bangkok"
    assert registration.country == "TH"
    context.close()


def test_form_works_without_javascript_and_shows_errors(browser, live_server, mekong):
    context = browser.new_context(java_script_enabled=False, timezone_id="Asia/Yangon")
    page = context.new_page()
    page.goto(f"{live_server}/events/{mekong}?tz=Asia/Yangon")
    assert page.locator(".viewer-time").first.inner_text() == \
        "Thu, 15 Jul, 08:30–10:00 (Yangon, +06:30)"
    page.get_by_label("Full name").fill("Aung")
    page.get_by_label("Email").fill("not an address")
    page.get_by_role("button", name="Register").click()
    error = page.locator("#email-error")
    assert "valid email" in error.inner_text()
    assert page.get_by_label("Full name").input_value() == "Aung"  # nothing typed is lost
    page.get_by_label("Email").fill("aung@example.org")
    page.get_by_role("button", name="Register").click()
    page.wait_for_url(re.compile(r"/registrations/"))
    assert "Thu, 15 Jul 2027, 08:30–10:00 (Yangon, +06:30)" in page.content()
    context.close()
