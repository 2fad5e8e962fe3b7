"""Sign-ins end on the server, a cross-site form changes nothing, and every answer's
headers keep pages out of frames and tokens out of caches (issue 15)."""

import pytest
from conftest import make_app
from organizer_helpers import post, sign_in
from test_api_events import MEKONG

from webinars.web.headers import CONTENT_SECURITY_POLICY

SESSION = "session"


def cookie_of(client) -> str:
    return client.get_cookie(SESSION).value


def test_signing_out_ends_every_copy_of_the_session(app, client, organizer):
    assert sign_in(client).status_code == 303
    copied = cookie_of(client)
    other = app.test_client()
    other.set_cookie(SESSION, copied)
    assert other.get("/organizer/").status_code == 200  # the copy works while signed in

    post(client, "/organizer/logout")
    assert client.get("/organizer/").status_code == 302
    stolen = app.test_client()
    stolen.set_cookie(SESSION, copied)
    for url in ("/organizer/", "/organizer/events/mekong/registrations.csv"):
        answer = stolen.get(url)
        assert answer.status_code == 302 and "/organizer/login" in answer.headers["Location"]
    # Signing in again works, with a new key.
    assert sign_in(client).status_code == 303
    assert client.get("/organizer/").status_code == 200


def test_a_cross_site_post_neither_acts_nor_signs_the_organizer_out(app, client, organizer,
                                                                    auth):
    assert client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"),
                       headers=auth).status_code == 201
    assert sign_in(client).status_code == 303
    mine = cookie_of(client)
    # Another site's form: the browser sends no SameSite=Lax cookie with it.
    attacker = app.test_client()
    for url in ("/organizer/events/mekong/cancel", "/organizer/logout",
                "/organizer/events/mekong/capacity"):
        answer = attacker.post(url, data={"capacity": "1"})
        assert answer.status_code == 403, url
        assert "Set-Cookie" not in answer.headers, url  # nothing to overwrite theirs
    assert client.get_cookie(SESSION).value == mine
    assert client.get("/organizer/events/mekong").status_code == 200
    assert client.get("/api/v1/events/mekong").json["status"] == "published"


def test_an_expired_public_form_comes_back_as_typed_and_changes_nothing(app, client, auth):
    client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    client.get("/events/mekong")  # the visitor's session, whose form token went stale
    person = {"name": "Chan Sokha", "email": "sokha@example.org", "timezone": "Asia/Phnom_Penh"}
    form = client.post("/events/mekong/register", data={**person, "csrf_token": "stale"})
    page = form.get_data(as_text=True)
    assert form.status_code == 400 and "The form had expired" in page
    assert 'value="Chan Sokha"' in page and 'value="sokha@example.org"' in page
    assert client.get("/api/v1/events/mekong").json["seats_left"] is None  # unlimited: no row
    token = client.post("/api/v1/events/mekong/registrations", json=person).json["token"]
    cancel = client.post(f"/registrations/{token}/cancel", data={"csrf_token": "stale"})
    assert cancel.status_code == 303 and cancel.headers["Location"] == f"/registrations/{token}"
    assert "press Cancel again" in client.get(cancel.headers["Location"]).get_data(as_text=True)
    assert client.get(f"/api/v1/registrations/{token}").json["status"] == "confirmed"
    gone = client.post("/registrations/" + "x" * 32 + "/cancel", data={"csrf_token": "stale"})
    assert gone.status_code == 404
    # From another site (no session cookie): refused, and no cookie set.
    attacker = app.test_client()
    refused = attacker.post("/events/mekong/register", data=person)
    assert refused.status_code == 403 and "Set-Cookie" not in refused.headers


@pytest.mark.parametrize("url", ["/", "/events/mekong", "/organizer/login",
                                 "/api/v1/events", "/healthz", "/nowhere"])
def test_every_answer_keeps_out_of_frames_and_sniffing(client, auth, url):
    client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    answer = client.get(url)
    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Referrer-Policy"] == "same-origin"


def test_answers_carrying_a_token_or_someones_data_are_not_stored(client, auth):
    client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    registered = client.post("/api/v1/events/mekong/registrations",
                             json={"name": "Chan Sokha", "email": "sokha@example.org"})
    token = registered.json["token"]
    for answer in (registered, client.get(f"/api/v1/registrations/{token}"),
                   client.get(f"/registrations/{token}"),
                   client.get("/api/v1/events/mekong/registrations", headers=auth)):
        assert "no-store" in answer.headers["Cache-Control"], answer.request.path
    # What is public and meant to be cached says so itself.
    assert "no-store" not in client.get("/calendar.ics").headers["Cache-Control"]


@pytest.mark.parametrize(("base", "secure"), [("https://webinars.example.org", True),
                                              ("http://127.0.0.1:5000", False)])
def test_the_session_cookie_is_secure_behind_https(tmp_path, base, secure):
    app = make_app(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path / "instance",
                   BASE_URL=base)
    assert app.config["SESSION_COOKIE_SECURE"] is secure
