"""Every kind of .ics the app serves, read by parsers this project did not write.

* vobject (Python, on dateutil's VTIMEZONE reader), installed with the test extras;
* ical.js under node (the parser inside Thunderbird), from tests/js (npm install
  there; scripts/test does it). Without it the ical.js tests skip, or fail when
  the CI variable is set.

Each parser must read, for every session in every file, the UTC instants the
database holds, and the texts as typed: commas, semicolons, backslashes, line
breaks, and Thai, Khmer, Lao and Burmese script. The events cover the demo
programme, the TCTP workshop around the US change of November 2027, and
sessions on both sides of (and inside) the daylight-saving changes of New York
and London, plus Bangkok, Yangon (+06:30) and Singapore.
"""

import json
import os
import secrets
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import icalendar
import pytest
import sqlalchemy as sa
import vobject
import vobject.icalendar
from conftest import START

from webinars.calendars import ics as calendar
from webinars.core import clock
from webinars.core.db import db
from webinars.events import demo
from webinars.models import Event, EventStatus, Registration, SessionStatus

JS_DIR = Path(__file__).parent / "js"
KINDS = ["event", "feed", "registrant", "request", "cancel"]
PARSERS = ["vobject", "ical.js"]

TEXT = "Water, energy; food \\ nexus — ภาษาไทย ភាសាខ្មែរ ພາສາລາວ မြန်မာဘာသာ"
DESCRIPTION = (
    "Line one, with commas; semicolons and a backslash \\ here.\n"
    "Line two: C:\\path\\n is not a line break.\n\n"
    "ไทย: การประชุมออนไลน์\nខ្មែរ: សិក្ខាសាលាតាមអ៊ីនធឺណិត\n"
    "ລາວ: ກອງປະຊຸມອອນລາຍ\nမြန်မာ: အွန်လိုင်းအစည်းအဝေး"
)


def sessions(*times, titles=None):
    titles = titles or [""] * len(times)
    return [{"start": start, "end": end, "title": title}
            for (start, end), title in zip(times, titles, strict=True)]


EDGE_EVENTS = [
    {
        "slug": "new-york-spring", "timezone": "America/New_York",
        "title": "New York, spring change",
        "sessions": sessions(
            ("2027-03-13T10:00", "2027-03-13T11:30"),
            ("2027-03-14T01:00", "2027-03-14T03:30"),  # across the skipped hour
            ("2027-03-14T03:30", "2027-03-14T04:30"),  # just after it
            ("2027-03-15T10:00", "2027-03-15T11:30"),
            titles=["Saturday before", "Across the gap", "After the gap", "Monday after"]),
    },
    {
        "slug": "new-york-autumn", "timezone": "America/New_York",
        "title": "New York, autumn change",
        "sessions": sessions(
            ("2027-11-06T10:00", "2027-11-06T11:30"),
            ("2027-11-07T00:30", "2027-11-07T01:30"),  # ends in the repeated hour
            ("2027-11-07T01:30", "2027-11-07T03:00"),  # first 01:30 (EDT)
            ("2027-11-07T01:30-05:00", "2027-11-07T03:30"),  # second 01:30 (EST)
            ("2027-11-08T10:00", "2027-11-08T11:30"),
            titles=["Saturday before", "Into the repeated hour", "First 01:30",
                    "Second 01:30", "Monday after"]),
    },
    {
        "slug": "new-york-winter", "timezone": "America/New_York",
        "title": "New York, across the year",
        "sessions": sessions(("2027-12-15T09:00", "2027-12-15T10:00"),
                             ("2028-03-20T09:00", "2028-03-20T10:00"),
                             titles=["December", "March, after the 2028 change"]),
    },
    {
        "slug": "london", "timezone": "Europe/London",
        "title": "London, both changes",
        "sessions": sessions(
            ("2027-03-27T10:00", "2027-03-27T11:30"),
            ("2027-03-28T00:30", "2027-03-28T02:30"),  # across the skipped hour
            ("2027-03-29T10:00", "2027-03-29T11:30"),
            ("2027-10-30T10:00", "2027-10-30T11:30"),
            ("2027-10-31T01:30", "2027-10-31T02:30"),  # first 01:30 (BST)
            ("2027-10-31T01:30+00:00", "2027-10-31T03:00"),  # second 01:30 (GMT)
            ("2027-11-01T10:00", "2027-11-01T11:30"),
            titles=["Before spring", "Across the gap", "After spring", "Before autumn",
                    "First 01:30", "Second 01:30", "After autumn"]),
    },
    {
        "slug": "bangkok", "timezone": "Asia/Bangkok", "title": "Bangkok morning",
        "sessions": sessions(("2027-06-01T09:00", "2027-06-01T10:30")),
    },
    {
        "slug": "yangon", "timezone": "Asia/Yangon", "title": "Yangon, half an hour off",
        "sessions": sessions(("2027-06-01T09:00", "2027-06-01T10:30"),
                             ("2027-12-31T23:00", "2028-01-01T01:00"),
                             titles=["June", "Into the new year"]),
    },
    {
        # The TCTP workshop, hosted in Singapore, on each side of the US change.
        "slug": "tctp-2027", "timezone": "Asia/Singapore",
        "title": "U.S.-Singapore Third Country Training Program: Cybersecurity Workshop",
        "capacity": 30,
        "sessions": sessions(*[(f"2027-11-0{d}T09:00", f"2027-11-0{d}T11:30")
                               for d in (1, 2, 8, 9)],
                             titles=[f"Part {n}" for n in range(1, 5)]),
    },
    {
        "slug": "texts", "timezone": "Asia/Phnom_Penh", "title": TEXT,
        "description": DESCRIPTION,
        "sessions": sessions(("2027-05-05T14:00", "2027-05-05T15:30"),
                             ("2027-05-06T14:00", "2027-05-06T15:30"),
                             titles=["ภาษาไทย, ภาค ๑; \\ ភាសាខ្មែរ",
                                     "ພາສາລາວ; မြန်မာဘာသာ, \\ part 2"]),
    },
]


# --- building the programme --------------------------------------------------------


@pytest.fixture
def programme(app, client, auth):
    """Every event above plus the demo programme, a dropped session, a cancelled
    event, and one confirmed registrant per event. Returns the events' slugs."""
    payloads = [demo.payload(spec, START.date()) for spec in demo.PROGRAMME]
    payloads += [dict(e, join_url=f"https://meet.example.org/{e['slug']}") for e in EDGE_EVENTS]
    payloads.append(dict(EDGE_EVENTS[-1], slug="called-off", title="Called off, sadly",
                         join_url="https://meet.example.org/called-off"))
    for payload in payloads:
        response = client.post("/api/v1/events", json=payload, headers=auth)
        assert response.status_code == 201, (payload["slug"], response.json)
    # The demo TCTP drops its last session: it stays in the files, cancelled.
    tctp = client.get("/api/v1/events/tctp-cybersecurity-workshop").json
    keep = [{"id": s["id"], "start": s["start"][:16], "end": s["end"][:16], "title": s["title"]}
            for s in tctp["sessions"][:-1]]
    assert client.patch("/api/v1/events/tctp-cybersecurity-workshop", json={"sessions": keep},
                        headers=auth).status_code == 200
    assert client.post("/api/v1/events/called-off/cancel", headers=auth).status_code == 200
    slugs = [p["slug"] for p in payloads]
    for slug in slugs:
        event = db.session.scalar(sa.select(Event).where(Event.slug == slug))
        email = f"participant-{slug}@example.org"
        db.session.add(Registration(
            event=event, token=secrets.token_urlsafe(24), name='Chan "Sok" Sokha, ចាន់ សុខា',
            email=email, email_key=email.lower(), timezone="Asia/Bangkok",
            status="confirmed", confirmed_at=clock.now()))
    db.session.commit()
    return slugs


def event_of(slug: str) -> Event:
    return db.session.scalar(sa.select(Event).where(Event.slug == slug))


def files(kind: str, client, slugs: list[str]) -> list[tuple[bytes, list, Registration | None]]:
    """(file, the sessions it must hold, the registration it is for) for every file of a kind."""
    result = []
    for slug in slugs:
        event = event_of(slug)
        registration = db.session.scalar(sa.select(Registration).where(
            Registration.event_id == event.id))
        if kind == "event":
            result.append((client.get(f"/events/{slug}.ics").data, event.sessions, None))
        elif kind == "registrant":
            data = client.get(f"/registrations/{registration.token}.ics").data
            result.append((data, event.sessions, registration))
        elif kind in ("request", "cancel"):
            method = kind.upper()
            for session in event.sessions:
                cancelled = session.status == SessionStatus.CANCELLED or \
                    event.status == EventStatus.CANCELLED
                if method == "REQUEST" and cancelled:
                    continue
                data = calendar.invitation(session, registration, method)
                result.append((data, [session], registration))
    if kind == "feed":
        # The feed keeps cancelled events (as STATUS:CANCELLED) until they end.
        upcoming = [event_of(slug) for slug in slugs
                    if event_of(slug).status in ("published", "cancelled")]
        result.append((client.get("/calendar.ics").data,
                       [s for e in upcoming for s in e.sessions], None))
    assert result
    return result


# --- the parsers ------------------------------------------------------------------


def read_with_vobject(data: bytes) -> dict:
    """What vobject understood, per UID."""
    # vobject keeps the first definition of a TZID it meets for the whole
    # process; start afresh so that this file is read with its own VTIMEZONEs.
    registry = vars(vobject.icalendar)["__tzidMap"]
    registry.clear()
    vobject.icalendar.registerTzid("UTC", vobject.icalendar.utc)
    cal = vobject.readOne(data.decode("utf-8"))
    result = {}
    for vevent in cal.contents.get("vevent", []):
        start, end = vevent.dtstart.value, vevent.dtend.value
        assert start.tzinfo is not None and end.tzinfo is not None, "read as floating time"
        result[vevent.uid.value] = {
            "summary": vevent.summary.value,
            "description": _vobject_text(vevent, "description"),
            "location": _vobject_text(vevent, "location"),
            "status": vevent.status.value,
            "sequence": int(vevent.sequence.value),
            "start": start.astimezone(UTC),
            "end": end.astimezone(UTC),
            "zone": None,
            "organizer_cn": _vobject_cn(vevent, "organizer"),
            "attendee_cns": [a.params.get("CN", [None])[0]
                             for a in vevent.contents.get("attendee", [])],
        }
    return {"method": _vobject_text(cal, "method"), "events": result}


def _vobject_text(component, name):
    line = component.contents.get(name)
    return line[0].value if line else None


def _vobject_cn(component, name):
    line = component.contents.get(name)
    return line[0].params.get("CN", [None])[0] if line else None


def read_with_icaljs(data: bytes) -> dict:
    """What ical.js understood, per UID (tests/js/parse-ics.mjs under node)."""
    node = shutil.which("node") or "/usr/bin/node"
    problem = None
    if not Path(node).exists():
        problem = "node is not installed"
    elif not (JS_DIR / "node_modules" / "ical.js").is_dir():
        problem = "tests/js/node_modules is missing: run `npm install` in tests/js " \
                  "(scripts/test does)"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    # A zone far from UTC, so that a time read as floating cannot pass by luck.
    env = dict(os.environ, TZ="Pacific/Chatham")
    run = subprocess.run([node, str(JS_DIR / "parse-ics.mjs")], input=data,
                         capture_output=True, timeout=60, env=env, cwd=JS_DIR)
    assert run.returncode == 0, run.stderr.decode()
    parsed = json.loads(run.stdout)
    result = {}
    for vevent in parsed["events"]:
        result[vevent["uid"]] = {
            "summary": vevent["summary"],
            "description": vevent["description"],
            "location": vevent["location"],
            "status": vevent["status"],
            "sequence": vevent["sequence"],
            "start": datetime.fromisoformat(vevent["start"]),
            "end": datetime.fromisoformat(vevent["end"]),
            "zone": {vevent["start_zone"], vevent["end_zone"]},
            "organizer_cn": (vevent["organizer"] or {}).get("cn"),
            "attendee_cns": [a.get("cn") for a in vevent["attendees"]],
        }
    return {"method": parsed["method"], "events": result}


READERS = {"vobject": read_with_vobject, "ical.js": read_with_icaljs}


# --- what each must read ------------------------------------------------------------


def expected(kind: str, session, registration) -> dict:
    """What the database says a reader must find for this session in this kind of file."""
    event = session.event
    cancelled = kind == "cancel" or session.status == SessionStatus.CANCELLED \
        or event.status == EventStatus.CANCELLED
    private = kind in ("registrant", "request") and registration.status == "confirmed"
    return {
        "summary": f"{event.title} — {session.title}" if session.title else event.title,
        "status": "CANCELLED" if cancelled else "CONFIRMED",
        "sequence": session.sequence,
        "start": session.start_utc,
        "end": session.end_utc,
        "location": event.join_url if private else None,
    }


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("kind", KINDS)
def test_parser_reads_every_session_as_the_database_has_it(kind, parser, client, programme):
    read = READERS[parser]
    for data, sessions_in_file, registration in files(kind, client, programme):
        ours = icalendar.Calendar.from_ical(data)
        theirs = read(data)
        assert theirs["method"] == str(ours["METHOD"])
        assert set(theirs["events"]) == {s.uid for s in sessions_in_file}
        if kind in ("request", "cancel"):
            assert len(theirs["events"]) == 1  # one UID per iTIP message
        own_descriptions = {str(v["UID"]): str(v["DESCRIPTION"]) for v in ours.walk("VEVENT")}
        for session in sessions_in_file:
            got = theirs["events"][session.uid]
            want = expected(kind, session, registration)
            assert {key: got[key] for key in want} == want, (parser, kind, session.event.slug,
                                                           session.title)
            # Descriptions: the reader agrees with icalendar, and the event's
            # own text is in it exactly as typed.
            assert got["description"] == own_descriptions[session.uid]
            if kind != "cancel":
                assert session.event.description in got["description"]
            if kind in ("event", "feed"):
                assert session.event.join_url not in got["description"]
            if got["zone"] is not None:  # ical.js says which zone it applied
                assert got["zone"] <= {session.event.timezone, "UTC"}, got["zone"]


@pytest.mark.parametrize("parser", PARSERS)
def test_parser_reads_organizer_and_attendee_of_invitations(parser, app, client, programme):
    app.config["MAIL_FROM"] = '"Mekong-U.S. Partnership, Secretariat" <programmes@webinars.test>'
    read = READERS[parser]
    for kind in ("request", "cancel"):
        data, [session], registration = files(kind, client, ["texts"])[0]
        got = read(data)["events"][session.uid]
        assert got["organizer_cn"] == "Mekong-U.S. Partnership, Secretariat"
        # The double quote became an apostrophe: vobject does not decode
        # RFC 6868's ^' inside a parameter.
        assert got["attendee_cns"] == ["Chan 'Sok' Sokha, ចាន់ សុខា"]


@pytest.mark.parametrize("parser", PARSERS)
def test_texts_come_back_unchanged(parser, client, programme):
    read = READERS[parser]
    data = client.get("/events/texts.ics").data
    event = event_of("texts")
    got = read(data)["events"]
    assert event.title == TEXT and event.description == DESCRIPTION
    for session in event.sessions:
        assert got[session.uid]["summary"] == f"{TEXT} — {session.title}"
        assert got[session.uid]["description"].startswith(DESCRIPTION + "\n\n")


@pytest.mark.parametrize("parser", PARSERS)
def test_tctp_workshop_reads_as_four_mornings_in_singapore(parser, client, programme):
    read = READERS[parser]
    got = read(client.get("/events/tctp-2027.ics").data)["events"]
    starts = sorted(e["start"] for e in got.values())
    # Singapore keeps no daylight saving: 09:00 there is 01:00 UTC every day,
    # before and after the US change of 7 November.
    assert starts == [datetime(2027, 11, d, 1, 0, tzinfo=UTC) for d in (1, 2, 8, 9)]


def test_the_demo_dates_are_the_ones_the_readers_see(client, programme):
    """The demo events land where the README says (a guard on the programme above)."""
    assert START.date() == date(2027, 1, 10)
    mekong = event_of("sustainable-mekong-river-delta").sessions[0]
    assert mekong.start_utc == datetime(2027, 7, 15, 2, 0, tzinfo=UTC)
    tonle_sap = event_of("thriving-tonle-sap").sessions[0]
    assert tonle_sap.start_utc == datetime(2027, 3, 10, 2, 0, tzinfo=UTC)


# --- RFC 5546's restriction tables ---------------------------------------------------

# For each METHOD, how many of each VEVENT property RFC 5546 (3.2.1, 3.2.2,
# 3.2.5) allows: (least, most); None for "any number". Properties not listed
# here and not in ALLOWED are not allowed at all.
RESTRICTIONS = {
    "PUBLISH": {"ATTENDEE": (0, 0), "DTSTAMP": (1, 1), "DTSTART": (1, 1),
                "ORGANIZER": (1, 1), "SUMMARY": (1, 1), "UID": (1, 1), "SEQUENCE": (0, 1),
                "REQUEST-STATUS": (0, 0)},
    "REQUEST": {"ATTENDEE": (1, None), "DTSTAMP": (1, 1), "DTSTART": (1, 1),
                "ORGANIZER": (1, 1), "SUMMARY": (1, 1), "UID": (1, 1), "SEQUENCE": (0, 1),
                "REQUEST-STATUS": (0, 0)},
    "CANCEL": {"ATTENDEE": (0, None), "DTSTAMP": (1, 1), "ORGANIZER": (1, 1),
               "SEQUENCE": (1, 1), "UID": (1, 1), "DTSTART": (0, 1), "SUMMARY": (0, 1),
               "REQUEST-STATUS": (0, 0)},
}
# 0 or 1 in all three methods.
ALLOWED = {"DESCRIPTION", "DTEND", "LAST-MODIFIED", "LOCATION", "STATUS", "URL"}
STATUSES = {"PUBLISH": {"TENTATIVE", "CONFIRMED", "CANCELLED"},
            "REQUEST": {"TENTATIVE", "CONFIRMED"}, "CANCEL": {"CANCELLED"}}


def restriction_problems(data: bytes) -> list[str]:
    """Where a file breaks RFC 5546's restriction table for its METHOD, as read by vobject."""
    vobject.icalendar.registerTzid("UTC", vobject.icalendar.utc)
    cal = vobject.readOne(data.decode("utf-8"))
    problems = [f"VCALENDAR has {len(cal.contents.get(name, []))} {name}"
                for name in ("method", "prodid", "version") if len(cal.contents.get(name, [])) != 1]
    method = cal.method.value
    rules = RESTRICTIONS[method]
    zones = {z.tzid.value for z in cal.contents.get("vtimezone", [])}
    for vevent in cal.contents["vevent"]:
        uid = vevent.uid.value
        names = {name.upper() for name in vevent.contents}
        for name in sorted(names | set(rules)):
            count = len(vevent.contents.get(name.lower(), []))
            least, most = rules.get(name, (0, 1) if name in ALLOWED else (0, 0))
            if count < least or (most is not None and count > most):
                problems.append(f"{method} {uid}: {count} {name}")
        if "STATUS" in names and vevent.status.value not in STATUSES[method]:
            problems.append(f"{method} {uid}: STATUS {vevent.status.value}")
        for name in ("dtstart", "dtend"):
            tzid = getattr(vevent, name).params.get("TZID") if name in vevent.contents else None
            if tzid and tzid[0] not in zones:
                problems.append(f"{method} {uid}: TZID {tzid[0]} without a VTIMEZONE")
    return problems


@pytest.mark.parametrize("kind", KINDS)
def test_every_file_obeys_the_restriction_table_of_its_method(kind, client, programme):
    for data, _sessions, _registration in files(kind, client, programme):
        assert restriction_problems(data) == []
        organizer = vobject.readOne(data.decode()).vevent.organizer
        assert organizer.value == "mailto:programmes@webinars.test"
        assert organizer.params["CN"] == ["Mekong Programmes"]


def test_the_reminders_file_obeys_it_too(client, programme):
    for slug in programme:
        for session in event_of(slug).sessions:
            assert restriction_problems(calendar.session_calendar(session)) == []


def test_the_restriction_check_catches_a_file_without_organizer(client, programme):
    data, _, _ = files("event", client, programme)[0]
    stripped = b"".join(line for line in data.splitlines(keepends=True)
                        if not line.startswith(b"ORGANIZER"))
    assert any("0 ORGANIZER" in problem for problem in restriction_problems(stripped))
