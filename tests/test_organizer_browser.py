"""The organizer's day in a real headless Chromium (Debian's), on a phone-sized screen:
sign in, create an event, see a registration arrive, export the CSV."""

import re

import pytest
import test_browser
from organizer_helpers import PASSWORD

# The Chromium fixture of test_browser.py, shared.
browser = test_browser.browser

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


def fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_sign_in_create_an_event_see_a_registration_and_export_it(browser, live_server,
                                                                   organizer, tmp_path):
    context = browser.new_context(viewport=PHONE, timezone_id="Asia/Phnom_Penh",
                                  accept_downloads=True)
    page = context.new_page()

    # An organizer page asks for a sign-in first, then comes back.
    page.goto(f"{live_server}/organizer/")
    page.wait_for_url(re.compile(r"/organizer/login\?next="))
    page.get_by_label("Email").fill("organizer@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/organizer/")
    assert "Signed in as organizer@example.org" in page.locator(".flash").inner_text()

    # A new event, typed in with the keyboard-reachable form; times are Phnom Penh's.
    page.get_by_role("link", name="New event").first.click()
    # Measured once the page has loaded: before its stylesheet applies, a select is
    # as wide as its longest option.
    page.wait_for_url(f"{live_server}/organizer/events/new")
    page.wait_for_load_state("load")
    assert fits_the_phone(page)
    page.get_by_label("Title", exact=True).fill("An Uncertain Future: Working Towards a "
                                                "Thriving Tonle Sap")
    page.get_by_label("Address (slug)").fill("tonle-sap")
    page.get_by_label("Time zone of the event").fill("Asia/Phnom_Penh")
    page.get_by_label("Capacity (seats)").fill("300")
    page.get_by_label("Starts").fill("2027-03-10T09:00")
    page.get_by_label("Ends").fill("2027-03-10T11:30")
    page.get_by_role("button", name="Create the event").click()
    page.wait_for_url(f"{live_server}/organizer/events/tonle-sap")
    assert "The event is created." in page.locator(".flash").inner_text()
    assert "Wed, 10 Mar 2027, 09:00–11:30 (Phnom Penh, +07)" in \
        page.locator(".when-event").first.inner_text()
    assert "Seats taken\n0 / 300" in page.locator(".stats").inner_text()

    # Someone registers on the public page, in another browser.
    visitor = browser.new_context(viewport=PHONE, timezone_id="Asia/Phnom_Penh")
    public = visitor.new_page()
    public.goto(f"{live_server}/events/tonle-sap")
    public.get_by_label("Full name").fill("ចាន់ សុខា")
    public.get_by_label("Email").fill("sokha@example.org")
    public.get_by_label("Organization (optional)").fill("=1+1")
    public.get_by_label("Country").select_option(label="Cambodia")
    public.get_by_role("button", name="Register").click()
    public.wait_for_url(re.compile(r"/registrations/"))
    visitor.close()

    # The organizer sees the registration arrive.
    page.reload()
    assert "Seats taken\n1 / 300" in page.locator(".stats").inner_text()
    page.get_by_role("link", name="Registrants", exact=True).click()
    row = page.locator("table.registrants tbody tr").first
    assert "ចាន់ សុខា" in row.inner_text() and "Cambodia" in row.inner_text()
    assert fits_the_phone(page)  # the wide table scrolls inside its wrapper

    # And exports it for the report.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download all as CSV").click()
    path = tmp_path / "export.csv"
    download.value.save_as(path)
    assert download.value.suggested_filename == "tonle-sap-registrations.csv"
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "ចាន់ សុខា,sokha@example.org,confirmed,,KH,Cambodia,'=1+1,Asia/Phnom_Penh" in text
    context.close()


def test_errors_are_announced_next_to_the_field_without_javascript(browser, live_server,
                                                                   organizer):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server}/organizer/login")
    page.get_by_label("Email").fill("organizer@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(f"{live_server}/organizer/")
    page.goto(f"{live_server}/organizer/events/new")
    page.get_by_label("Title", exact=True).fill("Skipped hour")
    page.get_by_label("Time zone of the event").fill("America/New_York")
    page.get_by_label("Starts").fill("2027-03-14T02:30")
    page.get_by_label("Ends").fill("2027-03-14T04:00")
    page.get_by_label("Ends").press("Enter")  # Enter saves; it does not add a row
    start = page.get_by_label("Starts")
    assert start.get_attribute("aria-invalid") == "true"
    described = start.get_attribute("aria-describedby")
    assert "skip that hour" in page.locator(f"#{described}").inner_text()
    assert page.get_by_label("Title", exact=True).input_value() == "Skipped hour"
    page.get_by_role("link", name="Go to the field").click()
    assert page.evaluate("location.hash") == "#sessions-0-start"
    context.close()
