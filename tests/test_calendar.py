"""Calendar files and links: routes, feed caching, iTIP invitations, time zones, RFC 5545 form.

Files are read back with icalendar here; tests/test_calendar_parsers.py reads
them with parsers this project did not write.
"""

import re
import secrets
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import icalendar
import pytest
import sqlalchemy as sa
from test_api_events import MEKONG, TCTP

from webinars.calendars import ics as calendar
from webinars.calendars import links as calendar_links
from webinars.core import clock
from webinars.core.db import db
from webinars.models import Event, EventSession, Registration

JOIN = MEKONG["join_url"]
ORGANIZER = "Mekong Programmes <programmes@webinars.test>"


# --- helpers ----------------------------------------------------------------


def create(client, auth, payload) -> dict:
    response = client.post("/api/v1/events", json=payload, headers=auth)
    assert response.status_code == 201, response.json
    return response.json


def event_row(slug: str) -> Event:
    return db.session.scalar(sa.select(Event).where(Event.slug == slug))


def add_registration(slug: str, *, status: str = "confirmed", name: str = "Sokha Chan",
                     email: str = "Sokha.Chan@example.org") -> Registration:
    """A registration row made directly (the registration service is not needed here)."""
    registration = Registration(
        event=event_row(slug), token=secrets.token_urlsafe(24), name=name, email=email,
        email_key=email.lower(), timezone="Asia/Bangkok", status=status,
        confirmed_at=clock.now() if status == "confirmed" else None,
    )
    db.session.add(registration)
    db.session.commit()
    return registration


def parse(data: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(data)


def vevents(data: bytes) -> list:
    return parse(data).walk("VEVENT")


def by_uid(data: bytes) -> dict:
    return {str(v["UID"]): v for v in vevents(data)}


def utc(vevent, name: str) -> datetime:
    return vevent.decoded(name).astimezone(UTC)


def db_sessions(slug: str) -> list[EventSession]:
    return list(event_row(slug).sessions)


def utc_z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- routes -----------------------------------------------------------------


def test_event_ics_is_a_calendar_download_with_every_session(client, auth):
    body = create(client, auth, TCTP)
    response = client.get(f"/events/{body['slug']}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == \
        f"attachment; filename={body['slug']}.ics"
    cal = parse(response.data)
    assert cal["VERSION"] == "2.0" and cal["PRODID"] and cal["METHOD"] == "PUBLISH"
    events = by_uid(response.data)
    sessions = db_sessions(body["slug"])
    assert set(events) == {s.uid for s in sessions}
    for session in sessions:
        vevent = events[session.uid]
        assert vevent["DTSTART"].params["TZID"] == "Asia/Singapore"
        assert vevent.decoded("DTSTART").strftime("%H:%M") == "09:00"
        assert (utc(vevent, "DTSTART"), utc(vevent, "DTEND")) == \
            (session.start_utc, session.end_utc)
        assert vevent["STATUS"] == "CONFIRMED"
        assert vevent["SEQUENCE"] == 0
        assert vevent["URL"] == f"http://webinars.test/events/{body['slug']}"
        # DTSTAMP comes from the app's clock.
        assert vevent.decoded("DTSTAMP") == clock.now()
    summaries = [str(v["SUMMARY"]) for v in vevents(response.data)]
    assert summaries == [f"TCTP Cybersecurity Workshop — Part {n}" for n in range(1, 5)]


def test_html_page_and_ics_share_a_prefix_but_not_a_view(client, auth):
    slug = create(client, auth, MEKONG)["slug"]
    page = client.get(f"/events/{slug}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    ics = client.get(f"/events/{slug}.ics")
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"
    assert ics.data.startswith(b"BEGIN:VCALENDAR\r\n")


def test_untitled_sessions_of_a_series_are_numbered(client, auth):
    payload = dict(TCTP, slug="series", sessions=[
        {"start": s["start"], "end": s["end"]} for s in TCTP["sessions"][:3]])
    slug = create(client, auth, payload)["slug"]
    summaries = [str(v["SUMMARY"]) for v in vevents(client.get(f"/events/{slug}.ics").data)]
    assert summaries == [f"TCTP Cybersecurity Workshop (Part {n} of 3)" for n in (1, 2, 3)]


def test_unknown_and_draft_events_have_no_ics(client, auth):
    create(client, auth, dict(MEKONG, slug="secret", status="draft"))
    assert client.get("/events/secret.ics").status_code == 404
    assert client.get("/events/no-such-event.ics").status_code == 404


def test_unknown_registration_token_is_404(client, auth):
    slug = create(client, auth, MEKONG)["slug"]
    add_registration(slug)
    assert client.get(f"/registrations/{secrets.token_urlsafe(24)}.ics").status_code == 404
    assert client.get(f"/registrations/{'x' * 300}.ics").status_code == 404


def test_public_files_never_hold_the_join_link(client, auth):
    slug = create(client, auth, dict(MEKONG, description="About the delta."))["slug"]
    for url in (f"/events/{slug}.ics", "/calendar.ics"):
        data = client.get(url).data
        assert JOIN.encode() not in data
        [vevent] = vevents(data)
        assert "LOCATION" not in vevent
        assert str(vevent["DESCRIPTION"]).startswith("About the delta.")


def test_registrant_copy_has_join_and_manage_links_once_confirmed(client, auth):
    slug = create(client, auth, MEKONG)["slug"]
    confirmed = add_registration(slug)
    response = client.get(f"/registrations/{confirmed.token}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "no-store" in response.headers["Cache-Control"]
    cal = parse(response.data)
    assert cal["METHOD"] == "PUBLISH"
    [vevent] = cal.walk("VEVENT")
    description = str(vevent["DESCRIPTION"])
    assert f"Join: {JOIN}" in description
    assert f"http://webinars.test/registrations/{confirmed.token}" in description
    assert vevent["LOCATION"] == JOIN
    assert vevent["UID"] == db_sessions(slug)[0].uid
    # The manage page at the same address without ".ics" is not a calendar.
    assert client.get(f"/registrations/{confirmed.token}").mimetype != "text/calendar"

    waiting = add_registration(slug, status="waitlisted", email="wait@example.org")
    data = client.get(f"/registrations/{waiting.token}.ics").data
    [vevent] = vevents(data)
    assert JOIN.encode() not in data and "LOCATION" not in vevent
    assert "waiting list" in str(vevent["DESCRIPTION"])
    assert f"/registrations/{waiting.token}" in str(vevent["DESCRIPTION"])


def test_registrant_copy_lists_every_session_of_the_workshop(client, auth):
    slug = create(client, auth, TCTP)["slug"]
    registration = add_registration(slug)
    events = by_uid(client.get(f"/registrations/{registration.token}.ics").data)
    assert set(events) == {s.uid for s in db_sessions(slug)}


# --- the feed -----------------------------------------------------------------


def test_feed_is_a_subscribable_calendar_of_published_upcoming_events(client, auth,
                                                                       frozen_clock):
    create(client, auth, dict(MEKONG, slug="later"))
    create(client, auth, dict(TCTP, slug="workshop"))
    create(client, auth, dict(MEKONG, slug="draft", status="draft"))
    create(client, auth, dict(MEKONG, slug="past", sessions=[
        {"start": "2026-07-14T22:00", "end": "2026-07-14T23:30"}]))
    response = client.get("/calendar.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    cal = parse(response.data)
    assert cal["METHOD"] == "PUBLISH"
    assert cal["NAME"] == cal["X-WR-CALNAME"] and str(cal["NAME"])
    text = response.data.decode()
    assert "\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in text
    assert "\r\nX-PUBLISHED-TTL:PT1H\r\n" in text
    urls = {str(v["URL"]) for v in cal.walk("VEVENT")}
    assert urls == {"http://webinars.test/events/later", "http://webinars.test/events/workshop"}
    assert len(cal.walk("VEVENT")) == 5
    assert "public" in response.headers["Cache-Control"]
    assert "max-age" in response.headers["Cache-Control"]


def test_feed_answers_conditional_requests_without_rendering(client, auth, monkeypatch):
    create(client, auth, MEKONG)
    first = client.get("/calendar.ics")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")  # a strong validator
    last_modified = first.headers["Last-Modified"]

    def must_not_render(*args, **kwargs):
        raise AssertionError("a 304 must not build the feed")

    monkeypatch.setattr(calendar, "feed", must_not_render)
    for headers in ({"If-None-Match": etag}, {"If-Modified-Since": last_modified},
                    {"If-None-Match": f'"other", {etag}'}):
        response = client.get("/calendar.ics", headers=headers)
        assert response.status_code == 304, headers
        assert response.data == b""
        assert response.headers["ETag"] == etag
        assert "max-age" in response.headers["Cache-Control"]
    monkeypatch.undo()
    # If-None-Match wins over If-Modified-Since when both are sent (RFC 9110).
    stale = client.get("/calendar.ics", headers={"If-None-Match": '"stale"',
                                                  "If-Modified-Since": last_modified})
    assert stale.status_code == 200 and stale.data == first.data


def test_feed_bytes_stay_the_same_while_the_data_does(client, auth, frozen_clock):
    create(client, auth, TCTP)
    first = client.get("/calendar.ics")
    frozen_clock.advance(minutes=30)
    second = client.get("/calendar.ics")
    # A strong ETag promises identical bytes, so nothing in the feed may
    # depend on the time of the request.
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.data == first.data


def test_feed_etag_changes_when_a_session_is_dropped(client, auth, frozen_clock):
    body = create(client, auth, TCTP)
    first = client.get("/calendar.ics")
    dropped = body["sessions"][1]
    frozen_clock.advance(minutes=5)
    keep = [dict(id=s["id"], start=s["start"][:16], end=s["end"][:16], title=s["title"])
            for s in body["sessions"] if s["id"] != dropped["id"]]
    response = client.patch(f"/api/v1/events/{body['slug']}", json={"sessions": keep},
                            headers=auth)
    assert response.status_code == 200, response.json

    again = client.get("/calendar.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200
    assert again.headers["ETag"] != first.headers["ETag"]
    session = db.session.get(EventSession, dropped["id"])
    vevent = by_uid(again.data)[session.uid]
    # Still in the feed, so that subscribed calendars mark it rather than guess.
    assert vevent["STATUS"] == "CANCELLED"
    assert vevent["SEQUENCE"] == 1
    assert [str(v["STATUS"]) for v in vevents(again.data)].count("CONFIRMED") == 3
    assert again.headers["Last-Modified"] != first.headers["Last-Modified"]


def test_feed_etag_changes_when_an_event_is_cancelled(client, auth):
    create(client, auth, dict(MEKONG, slug="stays"))
    create(client, auth, dict(TCTP, slug="goes"))
    first = client.get("/calendar.ics")
    assert client.post("/api/v1/events/goes/cancel", headers=auth).status_code == 200
    again = client.get("/calendar.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200
    # Kept until it would have ended, so subscribed calendars strike it out.
    statuses = {(str(v["URL"]), str(v["STATUS"])) for v in vevents(again.data)}
    assert statuses == {("http://webinars.test/events/stays", "CONFIRMED"),
                        ("http://webinars.test/events/goes", "CANCELLED")}


def test_feed_last_modified_moves_when_an_event_leaves_it(client, auth, frozen_clock):
    create(client, auth, dict(MEKONG, slug="stays"))
    create(client, auth, dict(TCTP, slug="goes"))
    first = client.get("/calendar.ics")
    frozen_clock.advance(minutes=1)
    client.post("/api/v1/events/goes/cancel", headers=auth)
    # A client that only sends If-Modified-Since must still learn of it.
    again = client.get("/calendar.ics",
                       headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert again.status_code == 200
    gone = [v for v in vevents(again.data) if str(v["URL"]).endswith("/goes")]
    assert gone and {str(v["STATUS"]) for v in gone} == {"CANCELLED"}


def test_empty_feed_is_still_a_calendar(client):
    response = client.get("/calendar.ics")
    assert response.status_code == 200
    assert parse(response.data)["METHOD"] == "PUBLISH"
    assert client.get("/calendar.ics", headers={
        "If-None-Match": response.headers["ETag"]}).status_code == 304


# --- changes: UID stays, SEQUENCE grows ------------------------------------------


def test_moving_a_session_keeps_its_uid_and_grows_its_sequence(client, auth):
    body = create(client, auth, MEKONG)
    slug, session = body["slug"], body["sessions"][0]
    [before] = vevents(client.get(f"/events/{slug}.ics").data)
    moved = {"id": session["id"], "start": "2027-07-15T22:00", "end": "2027-07-15T23:30"}
    assert client.patch(f"/api/v1/events/{slug}", json={"sessions": [moved]},
                        headers=auth).status_code == 200
    [after] = vevents(client.get(f"/events/{slug}.ics").data)
    assert after["UID"] == before["UID"]
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert utc(after, "DTSTART") == datetime(2027, 7, 16, 2, 0, tzinfo=UTC)
    [in_feed] = vevents(client.get("/calendar.ics").data)
    assert (in_feed["UID"], in_feed["SEQUENCE"]) == (after["UID"], after["SEQUENCE"])


def test_cancelled_event_lists_every_session_as_cancelled(client, auth):
    body = create(client, auth, TCTP)
    client.patch(f"/api/v1/events/{body['slug']}", headers=auth, json={"sessions": [
        dict(id=s["id"], start=s["start"][:16], end=s["end"][:16], title=s["title"])
        for s in body["sessions"][:3]]})
    assert client.post(f"/api/v1/events/{body['slug']}/cancel", headers=auth).status_code == 200
    data = client.get(f"/events/{body['slug']}.ics").data
    events = vevents(data)
    assert len(events) == 4
    assert {str(v["STATUS"]) for v in events} == {"CANCELLED"}
    assert all(v["SEQUENCE"] >= 1 for v in events)


# --- iTIP invitations (RFC 5546, RFC 6047) -----------------------------------------


def test_request_invitation_has_what_rfc_5546_requires(app, client, auth):
    app.config["MAIL_FROM"] = ORGANIZER
    slug = create(client, auth, TCTP)["slug"]
    registration = add_registration(slug, name='Sokha "Sok" Chan, Jr.')
    session = event_row(slug).sessions[2]
    data = calendar.invitation(session, registration, "REQUEST")
    cal = parse(data)
    assert cal["METHOD"] == "REQUEST"
    [vevent] = cal.walk("VEVENT")  # one UID per iTIP message
    assert vevent["UID"] == session.uid
    assert vevent["SEQUENCE"] == session.sequence
    assert vevent["STATUS"] == "CONFIRMED"
    assert vevent["ORGANIZER"] == "mailto:programmes@webinars.test"
    assert vevent["ORGANIZER"].params["CN"] == "Mekong Programmes"
    attendee = vevent["ATTENDEE"]
    assert attendee == "mailto:Sokha.Chan@example.org"
    # No double quote inside a parameter (vobject does not decode RFC 6868).
    assert attendee.params["CN"] == "Sokha 'Sok' Chan, Jr."
    assert attendee.params["PARTSTAT"] == "ACCEPTED"
    assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
    assert attendee.params["RSVP"] == "FALSE"
    assert (utc(vevent, "DTSTART"), utc(vevent, "DTEND")) == (session.start_utc, session.end_utc)
    assert "DTSTAMP" in vevent and str(vevent["SUMMARY"]).endswith("Part 3")
    assert [str(z["TZID"]) for z in cal.walk("VTIMEZONE")] == ["Asia/Singapore"]


def test_request_carries_the_join_link_only_for_a_confirmed_seat(app, client, auth):
    slug = create(client, auth, MEKONG)["slug"]
    session = event_row(slug).sessions[0]
    confirmed = add_registration(slug)
    [vevent] = vevents(calendar.invitation(session, confirmed, "REQUEST"))
    assert JOIN in str(vevent["DESCRIPTION"]) and vevent["LOCATION"] == JOIN

    waiting = add_registration(slug, status="waitlisted", email="wait@example.org")
    data = calendar.invitation(session, waiting, "REQUEST")
    [vevent] = vevents(data)
    assert JOIN.encode() not in data
    assert vevent["ATTENDEE"].params["PARTSTAT"] == "NEEDS-ACTION"


def test_cancel_invitation_has_what_rfc_5546_requires(app, client, auth):
    app.config["MAIL_FROM"] = ORGANIZER
    body = create(client, auth, TCTP)
    registration = add_registration(body["slug"])
    keep = [dict(id=s["id"], start=s["start"][:16], end=s["end"][:16], title=s["title"])
            for s in body["sessions"][1:]]
    client.patch(f"/api/v1/events/{body['slug']}", json={"sessions": keep}, headers=auth)
    session = db.session.get(EventSession, body["sessions"][0]["id"])
    assert session.sequence == 1
    data = calendar.invitation(session, registration, "CANCEL")
    cal = parse(data)
    assert cal["METHOD"] == "CANCEL"
    [vevent] = cal.walk("VEVENT")
    assert vevent["UID"] == session.uid
    assert vevent["SEQUENCE"] == 1
    assert vevent["STATUS"] == "CANCELLED"
    assert vevent["ORGANIZER"] == "mailto:programmes@webinars.test"
    assert vevent["ATTENDEE"] == "mailto:Sokha.Chan@example.org"
    assert "DTSTAMP" in vevent
    assert JOIN.encode() not in data


def test_invitation_refuses_what_it_cannot_say(app, client, auth):
    body = create(client, auth, TCTP)
    registration = add_registration(body["slug"])
    session = event_row(body["slug"]).sessions[0]
    with pytest.raises(ValueError):
        calendar.invitation(session, registration, "PUBLISH")
    client.post(f"/api/v1/events/{body['slug']}/cancel", headers=auth)
    with pytest.raises(ValueError):
        calendar.invitation(session, registration, "REQUEST")
    assert vevents(calendar.invitation(session, registration, "CANCEL"))[0]["STATUS"] == \
        "CANCELLED"


def test_organizer_without_display_name_has_no_cn(app, client, auth):
    app.config["MAIL_FROM"] = "webinars@example.org"
    slug = create(client, auth, MEKONG)["slug"]
    [vevent] = vevents(calendar.invitation(event_row(slug).sessions[0], add_registration(slug),
                                           "REQUEST"))
    assert vevent["ORGANIZER"] == "mailto:webinars@example.org"
    assert "CN" not in vevent["ORGANIZER"].params


# --- time zones ---------------------------------------------------------------------


def test_a_vtimezone_comes_first_for_every_zone_used(client, auth):
    create(client, auth, MEKONG)
    create(client, auth, TCTP)
    create(client, auth, dict(MEKONG, slug="yangon", timezone="Asia/Yangon"))
    create(client, auth, dict(MEKONG, slug="over-new-year", sessions=[
        {"start": "2027-12-31T23:00", "end": "2028-01-01T00:30"},
        {"start": "2028-07-01T09:00", "end": "2028-07-01T10:00"}]))
    data = client.get("/calendar.ics").data
    cal = parse(data)
    used = {v["DTSTART"].params["TZID"] for v in cal.walk("VEVENT")}
    assert used == {"America/New_York", "Asia/Singapore", "Asia/Yangon"}
    assert {str(z["TZID"]) for z in cal.walk("VTIMEZONE")} == used
    assert cal.get_missing_tzids() == set()
    # Every VTIMEZONE precedes the first VEVENT.
    assert data.rindex(b"END:VTIMEZONE") < data.index(b"BEGIN:VEVENT")
    # New York's covers 2027 and 2028, the years its sessions fall in.
    new_york = next(z for z in cal.walk("VTIMEZONE") if z["TZID"] == "America/New_York")
    onsets = {t.year for t in new_york.get_transitions()[0]}
    assert {2027, 2028} <= onsets


def test_vtimezone_is_built_once_and_reused(client, auth):
    slug = create(client, auth, dict(TCTP, slug="singapore"))["slug"]
    calendar.vtimezone.cache_clear()
    first = client.get(f"/events/{slug}.ics").data
    built = calendar.vtimezone.cache_info()
    assert (built.misses, built.hits) == (1, 0)
    second = client.get(f"/events/{slug}.ics").data
    client.get("/calendar.ics")
    again = calendar.vtimezone.cache_info()
    assert again.misses == 1 and again.hits == 2
    assert first == second  # the shared component is not changed by use


def test_vtimezone_gives_each_onset_its_own_observance_at_the_tzdata_wall_clock():
    # No RDATE: with one, ical.js ignores the observance's DTSTART onset.
    new_york = calendar.vtimezone("America/New_York", 2027, 2028)
    assert b"RDATE" not in new_york.to_ical()
    assert [(o.name, o.DTSTART, o.TZOFFSETTO.total_seconds() / 3600)
            for o in new_york.subcomponents] == [
        ("STANDARD", datetime(2027, 1, 1), -5),
        ("DAYLIGHT", datetime(2027, 3, 14, 2), -4),  # 02:00 EST, as RFC 5545 writes it
        ("STANDARD", datetime(2027, 11, 7, 2), -5),  # 02:00 EDT
        ("DAYLIGHT", datetime(2028, 3, 12, 2), -4),
        ("STANDARD", datetime(2028, 11, 5, 2), -5),
    ]
    london = calendar.vtimezone("Europe/London", 2027, 2027)
    assert [(o.name, o.DTSTART) for o in london.subcomponents[1:]] == [
        ("DAYLIGHT", datetime(2027, 3, 28, 1)), ("STANDARD", datetime(2027, 10, 31, 2))]


def test_an_event_kept_in_utc_needs_no_vtimezone(client, auth):
    slug = create(client, auth, dict(MEKONG, timezone="UTC"))["slug"]
    data = client.get(f"/events/{slug}.ics").data.decode()
    assert "\r\nDTSTART:20270714T220000Z\r\n" in data
    assert "VTIMEZONE" not in data


def test_a_wall_clock_that_happens_twice_is_written_in_utc(client, auth):
    # 01:30 on 7 November 2027 happens twice in New York; ical.js would read
    # the wall clock as the second occurrence, so the instant goes out in UTC.
    for slug, start, expected in (("first", "2027-11-07T01:30", "20271107T053000Z"),
                                  ("second", "2027-11-07T01:30-05:00", "20271107T063000Z")):
        create(client, auth, dict(MEKONG, slug=slug, sessions=[
            {"start": start, "end": "2027-11-07T03:00"}]))
        data = client.get(f"/events/{slug}.ics").data.decode()
        assert f"\r\nDTSTART:{expected}\r\n" in data
        assert "\r\nDTEND;TZID=America/New_York:20271107T030000\r\n" in data


# --- RFC 5545 form ------------------------------------------------------------------

TEXTY = dict(
    MEKONG, slug="texty",
    title='Water, energy; food \\ "nexus" — ภาษาไทย ភាសាខ្មែរ ພາສາລາວ မြန်မာဘာသာ',
    description="Line one, with commas; semicolons\nand a backslash \\ here.\n\n"
                + " ".join(["ภาษาไทย ភាសាខ្មែរ ພາສາລາວ မြန်မာဘာသာ"] * 8),
)


def every_kind_of_file(client, auth) -> dict[str, bytes]:
    slug = create(client, auth, TEXTY)["slug"]
    registration = add_registration(slug, name="Chan Sokha, ចាន់ សុខា")
    session = event_row(slug).sessions[0]
    return {
        "event": client.get(f"/events/{slug}.ics").data,
        "feed": client.get("/calendar.ics").data,
        "registrant": client.get(f"/registrations/{registration.token}.ics").data,
        "request": calendar.invitation(session, registration, "REQUEST"),
        "cancel": calendar.invitation(session, registration, "CANCEL"),
    }


def test_lines_end_in_crlf_and_fold_at_75_octets(client, auth):
    for kind, data in every_kind_of_file(client, auth).items():
        assert data.endswith(b"END:VCALENDAR\r\n"), kind
        lines = data.split(b"\r\n")[:-1]
        assert all(b"\n" not in line and b"\r" not in line for line in lines), kind
        assert max(len(line) for line in lines) <= 75, kind
        assert any(line.startswith(b" ") for line in lines), kind  # long text was folded
        for line in lines:
            line.decode("utf-8")  # folding never splits a UTF-8 sequence
        assert data.startswith(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:"), kind


def test_text_is_escaped_and_comes_back_unchanged(client, auth):
    for kind, data in every_kind_of_file(client, auth).items():
        unfolded = data.replace(b"\r\n ", b"").decode()
        assert "SUMMARY:Water\\, energy\\; food \\\\ \"nexus\"" in unfolded, kind
        [vevent] = vevents(data)
        assert str(vevent["SUMMARY"]) == TEXTY["title"]
        if kind != "cancel":
            assert str(vevent["DESCRIPTION"]).startswith(TEXTY["description"]), kind
            assert "DESCRIPTION:Line one\\, with commas\\; semicolons\\nand a backslash " \
                   "\\\\ here.\\n\\n" in unfolded, kind


# --- add-to-calendar links ------------------------------------------------------------


def test_google_and_outlook_links_carry_the_same_instants_as_the_ics(client, auth):
    slug = create(client, auth, dict(TCTP, description="Four mornings, online."))["slug"]
    event = event_row(slug)
    files = by_uid(client.get(f"/events/{slug}.ics").data)
    for session in event.sessions:
        vevent = files[session.uid]
        start, end = utc(vevent, "DTSTART"), utc(vevent, "DTEND")

        google = urlsplit(calendar_links.google_link(session, event))
        assert (google.scheme, google.netloc, google.path) == \
            ("https", "calendar.google.com", "/calendar/render")
        query = parse_qs(google.query)
        assert query["action"] == ["TEMPLATE"]
        assert query["text"] == [str(vevent["SUMMARY"])]
        assert query["ctz"] == ["Asia/Singapore"]
        first, last = query["dates"][0].split("/")
        assert (datetime.strptime(first, "%Y%m%dT%H%M%S%z"),
                datetime.strptime(last, "%Y%m%dT%H%M%S%z")) == (start, end)
        assert query["details"][0].startswith("Four mornings, online.")

        outlook = urlsplit(calendar_links.outlook_link(session, event))
        assert (outlook.netloc, outlook.path) == \
            ("outlook.live.com", "/calendar/0/action/compose")
        query = parse_qs(outlook.query)
        assert query["subject"] == [str(vevent["SUMMARY"])]
        assert (utc_z(query["startdt"][0]), utc_z(query["enddt"][0])) == (start, end)
        assert query["startdt"][0].endswith("Z")
        assert JOIN not in query["body"][0]


def test_event_page_offers_calendar_links(client, auth):
    slug = create(client, auth, MEKONG)["slug"]
    html = client.get(f"/events/{slug}").get_data(as_text=True)
    assert f'href="/events/{slug}.ics"' in html
    assert 'href="webcal://webinars.test/calendar.ics"' in html
    assert 'href="http://webinars.test/calendar.ics"' in html
    assert 'href="https://calendar.google.com/calendar/render?action=TEMPLATE&amp;' in html
    assert 'href="https://outlook.live.com/calendar/0/action/compose?' in html
    assert '<ul class="links"' in html
    # Plain links only: the page still loads nothing from other sites.
    assert not re.search(r'<(script|img|link|iframe)\b[^>]*(src|href)="(https?:)?//', html)


def test_event_page_links_each_session_of_a_series(client, auth):
    slug = create(client, auth, TCTP)["slug"]
    html = client.get(f"/events/{slug}").get_data(as_text=True)
    assert html.count("https://calendar.google.com/calendar/render?") == 4
    assert html.count("https://outlook.live.com/calendar/0/action/compose?") == 4
    assert "Download all sessions (.ics)" in html


def test_cancelled_event_page_offers_nothing_to_add(client, auth):
    slug = create(client, auth, MEKONG)["slug"]
    client.post(f"/api/v1/events/{slug}/cancel", headers=auth)
    html = client.get(f"/events/{slug}").get_data(as_text=True)
    assert "calendar.google.com" not in html and f"/events/{slug}.ics" not in html
