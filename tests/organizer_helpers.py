"""Helpers for the organizer-page tests: sign in, CSRF tokens, forms, mails."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_api_events import MEKONG

PASSWORD = "correct horse battery"  # the conftest organizer's


def csrf_token(client, url: str = "/organizer/login") -> str:
    """The CSRF token of the form on ``url`` (fetched, as a browser would)."""
    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {url}"
    return match[1]


def sign_in(client, email: str = "organizer@example.org", password: str = PASSWORD,
            next_url: str | None = None):
    """Post the login form with its CSRF token; returns the response."""
    url = "/organizer/login" + (f"?next={next_url}" if next_url else "")
    token = csrf_token(client, url)
    data = {"csrf_token": token, "email": email, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(url, data=data)


def post(client, url: str, data: dict | None = None, form_url: str = "/organizer/"):
    """POST ``data`` plus a CSRF token fetched from ``form_url`` (a page of the session)."""
    return client.post(url, data={"csrf_token": csrf_token(client, form_url), **(data or {})})


def text_of(response) -> str:
    """The page's text without tags, entities resolved, spaces collapsed."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def outbox(app) -> list:
    """Every mail delivered to instance/outbox/, oldest first."""
    folder = Path(app.instance_path) / "outbox"
    return [message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(folder.glob("*.eml"))]


def event_form(**changes) -> dict:
    """A filled-in new-event form (the Mekong webinar), with changes."""
    data = {
        "title": MEKONG["title"], "slug": "mekong", "description": "", "timezone":
        "America/New_York", "status": "published", "capacity": "", "registration_closes_at": "",
        "join_url": MEKONG["join_url"], "reminder_offsets_minutes": "1440, 60",
        "sessions-0-id": "", "sessions-0-title": "", "sessions-0-start": "2027-07-14T22:00",
        "sessions-0-end": "2027-07-14T23:30", "action": "save",
    }
    data.update(changes)
    return data


@pytest.fixture
def signed_in(client, organizer):
    """The test client, signed in as the conftest organizer."""
    response = sign_in(client)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


class _FormReader(HTMLParser):
    """Collects the values a browser would submit for the form posting to ``action``."""

    def __init__(self, action: str):
        super().__init__(convert_charrefs=True)
        self.action = action
        self.inside = False
        self.values: dict[str, str] = {}
        self.textarea: str | None = None
        self.select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("action") == self.action
        if not self.inside or "name" not in attrs and tag != "option":
            return
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if kind not in ("submit", "button"):
                self.values[attrs["name"]] = attrs.get("value", "on" if kind == "checkbox"
                                                       else "")
        elif tag == "textarea":
            self.textarea = attrs["name"]
            self.values[self.textarea] = ""
        elif tag == "select":
            self.select = attrs["name"]
        elif tag == "option" and self.select and "selected" in attrs:
            self.values[self.select] = attrs.get("value", "")

    def handle_data(self, data):
        if self.textarea:
            self.values[self.textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self.textarea = None
        elif tag == "select":
            self.select = None


def form_values(client, page: str, action: str | None = None) -> dict[str, str]:
    """What the form on ``page`` (posting to ``action``, default: the page) would send."""
    reader = _FormReader(action or page)
    reader.feed(client.get(page).get_data(as_text=True))
    assert reader.values, f"no form posting to {action or page} on {page}"
    # A textarea's first newline belongs to the markup, as browsers read it.
    return {k: v.removeprefix("\r").removeprefix("\n") for k, v in reader.values.items()}
