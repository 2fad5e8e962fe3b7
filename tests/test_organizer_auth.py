"""Who may see the organizer pages and call the organizer API: sign-in, sessions, and
every route of the URL map refusing anyone else."""

import re
from urllib.parse import parse_qs, urlsplit

import organizer_helpers
import pytest
import sqlalchemy as sa
from flask import url_for
from organizer_helpers import csrf_token, post, sign_in, text_of
from test_api_events import MEKONG

from webinars import accounts
from webinars.core.db import db
from webinars.models import (
    ApiToken,
    AuditEntry,
    Event,
    EventStatus,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    Reminder,
)

# The signed-in client fixture, shared by the organizer tests.
signed_in = organizer_helpers.signed_in

PERSON = {"name": "Chan Sokha", "email": "sokha@example.org", "country": "KH",
          "timezone": "Asia/Phnom_Penh"}


def login_redirect(response) -> bool:
    return response.status_code == 302 and \
        urlsplit(response.headers["Location"]).path == "/organizer/login"


# --- signing in and out -------------------------------------------------------


def test_sign_in_lands_on_the_dashboard_and_the_session_lasts_eight_hours(client, organizer):
    response = sign_in(client)
    assert response.status_code == 303 and response.headers["Location"] == "/organizer/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Expires=" in cookie  # a permanent session: PERMANENT_SESSION_LIFETIME applies
    page = client.get("/organizer/")
    assert page.status_code == 200
    assert "Your events" in text_of(page) and "Sign out" in text_of(page)


def test_wrong_password_and_unknown_address_get_the_same_answer(client, organizer):
    def answer(email, password):
        response = sign_in(client, email, password)
        assert response.status_code == 200
        return re.sub(r'value="[^"]*"', "", response.get_data(as_text=True))

    wrong_password = answer("organizer@example.org", "not the password")
    unknown = answer("nobody@example.org", "not the password")
    assert "do not match an organizer account" in wrong_password
    assert wrong_password == unknown.replace("nobody@example.org", "organizer@example.org")
    assert "not the password" not in wrong_password  # the password is not sent back
    assert login_redirect(client.get("/organizer/"))


def test_sign_in_needs_the_csrf_token(client, organizer):
    fields = {"email": "organizer@example.org", "password": "correct horse battery"}
    # From another site (no session cookie at all): refused, nothing written.
    elsewhere = client.post("/organizer/login", data=fields)
    assert elsewhere.status_code == 403 and "Set-Cookie" not in elsewhere.headers
    client.get("/organizer/login")  # this site's page, then a token gone stale
    response = client.post("/organizer/login", data=fields)
    assert response.status_code == 303 and response.headers["Location"] == "/organizer/login"
    assert "The form had expired" in text_of(client.get("/organizer/login"))
    assert login_redirect(client.get("/organizer/"))


@pytest.mark.parametrize(("next_url", "landing"), [
    ("/organizer/settings", "/organizer/settings"),
    ("/organizer/events/new?x=1", "/organizer/events/new?x=1"),
    ("https://evil.example/organizer/", "/organizer/"),
    ("//evil.example/organizer/", "/organizer/"),
    ("/\\evil.example", "/organizer/"),
    ("javascript:alert(1)", "/organizer/"),
    ("/organizer/logout", "/organizer/"),  # not a page: POST only
    ("/no/such/page", "/organizer/"),
])
def test_next_only_leads_to_pages_of_this_site(client, organizer, next_url, landing):
    response = sign_in(client, next_url=next_url)
    assert response.status_code == 303
    assert response.headers["Location"] == landing


def test_an_organizer_page_sends_visitors_to_sign_in_and_back(client, organizer):
    response = client.get("/organizer/settings")
    assert login_redirect(response)
    next_url = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
    assert next_url == "/organizer/settings"
    assert sign_in(client, next_url=next_url).headers["Location"] == "/organizer/settings"


def test_sign_out_ends_the_session(signed_in):
    response = post(signed_in, "/organizer/logout")
    assert response.status_code == 303
    assert login_redirect(signed_in.get("/organizer/"))
    assert signed_in.get("/organizer/logout").status_code == 405  # no sign-out by a link


def test_the_session_expires_eight_hours_after_sign_in(signed_in, frozen_clock):
    frozen_clock.advance(hours=7, minutes=59)
    assert signed_in.get("/organizer/").status_code == 200
    frozen_clock.advance(minutes=2)
    response = signed_in.get("/organizer/")
    assert login_redirect(response)
    assert "session has expired" in text_of(signed_in.get(response.headers["Location"]))
    assert login_redirect(signed_in.get("/organizer/"))


def test_public_pages_offer_sign_in_and_show_no_registrant_data(client, auth):
    client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    client.post("/api/v1/events/mekong/registrations", json=PERSON)
    for url in ("/", "/events/mekong", "/calendar.ics", "/events/mekong.ics"):
        body = client.get(url).get_data(as_text=True)
        assert "sokha@example.org" not in body and "Chan Sokha" not in body
    assert 'href="/organizer/login"' in client.get("/").get_data(as_text=True)


# --- every organizer route refuses everyone else ----------------------------------


@pytest.fixture
def world(client, organizer, auth):
    """An event with a registrant and a check-in-able session, a live and a revoked token."""
    assert client.post("/api/v1/events", json=dict(MEKONG, slug="mekong", capacity=5,
                                                   questions=[{"key": "ministry",
                                                               "kind": "text",
                                                               "label": "Ministry"}]),
                       headers=auth).status_code == 201
    registration = client.post("/api/v1/events/mekong/registrations", json=PERSON).json
    revoked = accounts.create_token(organizer, "old")
    accounts.revoke_tokens(organizer.email)
    live = accounts.create_token(organizer, "live")
    event = db.session.scalar(sa.select(Event))
    row = db.session.scalar(sa.select(Registration))
    return {
        "values": {
            "slug": event.slug,
            "token": registration["token"],
            "registration_id": row.id,
            "session_id": event.sessions[0].id,
            "token_id": db.session.scalar(sa.select(ApiToken.id).where(
                ApiToken.revoked_at.is_(None))),
            "source": "reminders",
            "row_id": db.session.scalar(sa.select(Reminder.id).where(
                Reminder.registration_id == row.id).limit(1)),
            "action": "give-up",
            "decision": "approve",
            "move": "up",
            "key": "ministry",
        },
        "live": live,
        "revoked": revoked,
        "manage_token": registration["token"],
    }


def protected_routes(app) -> list[tuple[str, str, str]]:
    """(kind, method, rule) of every organizer page but the login page, and every API
    view marked organizer_only: read from the URL map, so a new route is covered."""
    routes = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.rule.startswith("/organizer") and rule.endpoint != "organizer.login":
            kind = "page"
        elif getattr(view, "organizer_only", False):
            kind = "api"
        else:
            continue
        routes += [(kind, method, rule) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


def test_the_route_list_is_complete(app):
    routes = protected_routes(app)
    pages = {rule.endpoint for kind, _, rule in routes if kind == "page"}
    api = {rule.endpoint for kind, _, rule in routes if kind == "api"}
    assert {"organizer.dashboard", "organizer.registrations_csv", "organizer.logout",
            "organizer.promote_registration", "organizer.revoke_token"} <= pages
    assert api == {"api.create_event", "api.update_event", "api.cancel_event",
                   "api.list_registrations", "api.approve", "api.decline", "api.invite",
                   "api.import_attendance", "api.attendance_report",
                   "metrics.metrics"}


def urls(app, world):
    with app.test_request_context():
        for kind, method, rule in protected_routes(app):
            missing = rule.arguments - set(world["values"])
            assert not missing, f"give the test a real value for {missing} of {rule.rule}"
            yield kind, method, url_for(rule.endpoint, **{
                name: world["values"][name] for name in rule.arguments})


def refused(kind: str, response) -> bool:
    if kind == "api":
        return response.status_code in (401, 403) and "error" in response.json
    return login_redirect(response)


@pytest.mark.parametrize("who", ["anonymous", "wrong token", "revoked token",
                                 "registrant's manage token"])
def test_every_organizer_route_refuses_anyone_else(app, client, world, who):
    header = {
        "anonymous": None,
        "wrong token": "wbn_" + "x" * 43,
        "revoked token": world["revoked"],
        "registrant's manage token": world["manage_token"],
    }[who]
    headers = {"Authorization": f"Bearer {header}"} if header else {}
    csrf = csrf_token(client)  # a valid form token: the refusal is about who asks
    checked = 0
    for kind, method, url in urls(app, world):
        if kind == "page":
            response = client.open(url, method=method, headers=headers,
                                   data={"csrf_token": csrf} if method == "POST" else None)
        else:
            response = client.open(url, method=method, headers=headers, json={})
        assert refused(kind, response), (who, method, url, response.status_code)
        assert "sokha@example.org" not in response.get_data(as_text=True)
        checked += 1
    assert checked >= 20
    # Nothing was done on anyone's behalf.
    db.session.expire_all()
    assert db.session.scalar(sa.select(Event.status)) == EventStatus.PUBLISHED
    assert db.session.scalar(sa.select(Registration.status)) == RegistrationStatus.CONFIRMED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken).where(
        ApiToken.revoked_at.is_(None))) == 1


def test_a_signed_in_browser_session_does_not_open_the_api(app, signed_in, world):
    # The API is exempt from CSRF because it never takes a cookie as authority.
    for kind, method, url in urls(app, world):
        if kind == "api":
            response = signed_in.open(url, method=method, json={})
            assert response.status_code == 401, (method, url)


def test_the_filled_in_urls_are_real(app, signed_in, world):
    # The refusals above are not 404s in disguise: the organizer gets each page.
    for kind, method, url in urls(app, world):
        if method != "GET":
            continue
        if kind == "page":
            assert signed_in.get(url).status_code == 200, url
        else:
            response = signed_in.get(url, headers={"Authorization": f"Bearer {world['live']}"})
            assert response.status_code == 200, url


def test_every_organizer_form_needs_its_csrf_token(app, signed_in, world):
    # Signed in, but the POST comes without the form's token (another site's form).
    entries = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    mails = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    posts = [url for kind, method, url in urls(app, world) if kind == "page" and method == "POST"]
    assert len(posts) >= 12
    for url in posts:
        response = signed_in.post(url, data={"capacity": "1", "subject": "x", "body": "x",
                                             "audience": "confirmed", "timezone": "UTC"})
        assert response.status_code == 303, url
        assert "The form had expired" in text_of(signed_in.get(response.headers["Location"]))
    db.session.expire_all()
    assert db.session.scalar(sa.select(Event.status)) == EventStatus.PUBLISHED
    assert db.session.scalar(sa.select(Registration.status)) == RegistrationStatus.CONFIRMED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == entries
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == mails
    assert signed_in.get("/organizer/").status_code == 200  # still signed in: no sign-out either
