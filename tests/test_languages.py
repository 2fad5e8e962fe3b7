"""Choosing the language, and what is kept of it: pages, the API, mails (issue 16)."""

import re
from datetime import timedelta

import pytest
import test_reminders
from babel import Locale
from babel.messages.pofile import read_po
from organizer_helpers import event_form, post, sign_in
from test_api_events import MEKONG, TCTP
from test_registrations import outbox_mails, person, register
from test_reminders import START
from test_reminders import register as register_for_reminders
from test_translations import CATALOGS

from webinars.core.languages import LANGUAGES, formatting_locale, native_name
from webinars.reminders import sending

# The Mekong webinar of tests/test_reminders.py, shared.
mekong = test_reminders.mekong


def translated(code: str, message: str) -> str:
    with (CATALOGS / code / "LC_MESSAGES" / "messages.po").open("rb") as file:
        string = read_po(file, locale=code).get(message).string
    return string[0] if isinstance(string, tuple) else string  # one form: no plurals here


def html_lang(response) -> str:
    return re.search(r'<html lang="([\w-]+)"', response.get_data(as_text=True))[1]


def test_the_order_of_choices(client, mekong):
    assert html_lang(client.get("/events/mekong")) == "en"
    lao = client.get("/events/mekong", headers={"Accept-Language": "lo,en;q=0.5"})
    assert html_lang(lao) == "lo"
    assert translated("lo", "Upcoming events") in lao.get_data(as_text=True)
    # ?lang= wins over the browser, and is remembered.
    khmer = client.get("/events/mekong?lang=km", headers={"Accept-Language": "lo"})
    assert html_lang(khmer) == "km" and "lang=km" in khmer.headers["Set-Cookie"]
    assert html_lang(client.get("/", headers={"Accept-Language": "lo"})) == "km"
    # Something that is no language of the site changes nothing.
    assert html_lang(client.get("/?lang=xx")) == "km"


def test_an_event_speaks_its_own_language_to_a_browser_that_says_nothing(client, auth):
    client.post("/api/v1/events", json=dict(MEKONG, slug="th", language="th"), headers=auth)
    assert html_lang(client.get("/events/th")) == "th"
    assert html_lang(client.get("/events/th", headers={"Accept-Language": "vi"})) == "vi"


def test_every_page_has_the_switcher_and_public_pages_their_alternates(client, mekong):
    html = client.get("/events/mekong?tz=Asia/Yangon").get_data(as_text=True)
    for code in LANGUAGES:
        assert f'lang="{code}" hreflang="{code}"' in html
        assert native_name(code) in html
        assert f'<link rel="alternate" hreflang="{code}" href="/events/mekong?tz=Asia/Yangon' \
            f'&amp;lang={code}">' in html
    assert [native_name(c) for c in LANGUAGES] == \
        ["English", "ខ្មែរ", "ລາວ", "မြန်မာ", "ไทย", "Tiếng Việt"]


def test_the_api_keeps_the_registrants_language(client, mekong):
    answer = register(client, mekong, person(1, language="my"))
    assert answer.status_code == 201 and answer.json["language"] == "my"
    token = answer.json["token"]
    assert client.get(f"/api/v1/registrations/{token}").json["language"] == "my"
    refused = register(client, mekong, person(2, language="fr"))
    assert refused.status_code == 422 and refused.json["field"] == "language"
    assert "en, km, lo, my, th, vi" in refused.json["error"]
    # Unsaid, it is the language the caller reads.
    assert register(client, mekong, person(3), ).json["language"] == "en"
    lao = client.post(f"/api/v1/events/{mekong}/registrations", json=person(4),
                      headers={"Accept-Language": "lo"})
    assert lao.json["language"] == "lo"


def test_the_manage_page_speaks_the_registrants_language(client, mekong):
    token = register(client, mekong, person(1, language="th")).json["token"]
    assert html_lang(client.get(f"/registrations/{token}")) == "th"
    # An explicit choice still wins.
    assert html_lang(client.get(f"/registrations/{token}?lang=vi")) == "vi"


def test_the_confirmation_is_mailed_in_the_registrants_language(app, client, mekong):
    register(client, mekong, person(1, language="km"))
    [mail] = outbox_mails(app)
    title = MEKONG["title"]
    assert mail["Subject"] == translated("km", "Registered: %(title)s") % {"title": title}
    body = mail.get_body(("plain",)).get_content()
    assert "កក្កដា" in body  # July, in Khmer (CLDR), in the session's date


def test_event_translations_round_trip_and_are_shown(client, auth):
    words = {"km": {"title": "ការដោះស្រាយបញ្ហាទន្លេមេគង្គ", "description": "សេចក្ដីពិពណ៌នា"}}
    created = client.post("/api/v1/events", json=dict(TCTP, slug="t", translations=words,
                                                       verify_email=False), headers=auth)
    assert created.status_code == 201, created.json
    assert created.json["translations"] == words and created.json["language"] == "en"
    assert words["km"]["title"] in client.get("/events/t?lang=km").get_data(as_text=True)
    assert words["km"]["title"] not in client.get("/events/t?lang=lo").get_data(as_text=True)
    for bad in ({"fr": {"title": "x"}}, {"km": {"summary": "x"}}, ["km"]):
        answer = client.patch("/api/v1/events/t", json={"translations": bad}, headers=auth)
        assert answer.status_code == 422, bad


@pytest.mark.parametrize("code", ["km", "th"])
def test_reminders_and_updates_are_mailed_in_the_registrants_language(
        mail_app, client, auth, mekong, smtp, frozen_clock, code):
    register_for_reminders(client, mekong, language=code)
    frozen_clock.set(START - timedelta(days=1))
    assert sending.send_due().sent == 1
    [reminder] = [m for m in smtp.messages if m["X-Webinars-Kind"] == "reminder"]
    lead = translated(code, "in %(num)s hour") % {"num": 24}
    assert reminder["Subject"] == translated(code, "Reminder: %(title)s starts %(lead)s") % {
        "title": MEKONG["title"], "lead": lead}
    assert month_name(code, 7) in reminder.get_body(("plain",)).get_content()

    session_id = client.get(f"/api/v1/events/{mekong}").json["sessions"][0]["id"]
    client.patch(f"/api/v1/events/{mekong}", headers=auth, json={"sessions": [
        {"id": session_id, "start": "2027-08-11T22:00", "end": "2027-08-11T23:30"}]})
    [update] = [m for m in smtp.messages if m["X-Webinars-Kind"] == "update"]
    assert update["Subject"] == translated(code, "Schedule change: %(title)s") % {
        "title": MEKONG["title"]}
    assert month_name(code, 8) in update.get_body(("plain",)).get_content()


def month_name(code: str, number: int) -> str:
    """The abbreviated month as CLDR writes it in ``code`` (as the mails do)."""
    return Locale.parse(formatting_locale(code)).months["format"]["abbreviated"][number]


def test_organizers_write_the_translations_in_the_form(app, client, organizer):
    sign_in(client)
    new = "/organizer/events/new"
    page = client.get(new).get_data(as_text=True)
    assert 'name="translations-km-title"' in page and 'lang="km"' in page
    answer = post(client, new, event_form(**{
        "translations-th-title": "การแก้ปัญหาแม่น้ำโขง", "translations-th-description": "",
        "language": "en"}), form_url=new)
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    assert client.get("/api/v1/events/mekong").json["translations"] == {
        "th": {"title": "การแก้ปัญหาแม่น้ำโขง", "description": ""}}
    assert "การแก้ปัญหาแม่น้ำโขง" in client.get("/events/mekong?lang=th").get_data(as_text=True)
    # Saving the edit form unchanged changes nothing; clearing the field removes it.
    edit = "/organizer/events/mekong/edit"
    fields = dict(event_form(**{"translations-th-title": ""}))
    assert post(client, edit, fields, form_url=edit).status_code == 303
    assert client.get("/api/v1/events/mekong").json["translations"] == {}
