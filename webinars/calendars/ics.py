"""Every iCalendar file the app serves or mails, built in one place with ``icalendar``.

* :func:`event_calendar` -- the public ``.ics`` of one event (METHOD:PUBLISH);
* :func:`feed` -- the subscribable feed of the upcoming events (METHOD:PUBLISH);
* :func:`registrant_calendar` -- a registrant's own copy, with the join link once
  their seat is confirmed (METHOD:PUBLISH);
* :func:`session_calendar` -- one session with its join link, for reminders;
* :func:`invitation` -- an iTIP REQUEST or CANCEL for one session, to ride in a
  mail (RFC 5546, RFC 6047).

Every file obeys RFC 5546's restriction table for its METHOD: each VEVENT
has UID, DTSTAMP, DTSTART, SUMMARY, SEQUENCE and ORGANIZER (the sender of
the programme's mail, MAIL_FROM, with its name as CN); ATTENDEE only in a
REQUEST or CANCEL, where it names the one registrant.

Every VEVENT is one session: its UID is ``session.uid`` (set once, so every
calendar that holds the session recognises each later version of it), its
SEQUENCE is ``session.sequence`` (grown by the event service on every change
a calendar must pick up), and its DTSTAMP comes from :func:`webinars.core.clock.now`.
DTSTART/DTEND are the UTC instants of the database shown as wall clock in the
event's zone, with a VTIMEZONE in the file, so that calendars show the
organizer's clock and follow its daylight-saving rules.

What the parsers this project did not write need (tests/test_calendar_parsers.py
reads every kind of file with vobject and with ical.js, Thunderbird's parser):

* A wall-clock time that happens twice (the hour repeated when clocks fall
  back) names the first occurrence in RFC 5545 (3.3.5), and vobject reads it
  so; ical.js reads the *second*. And no TZID form at all can name the second
  occurrence for vobject. Such instants are written in UTC instead
  (:func:`_timestamp`), which no parser reads two ways.
* icalendar's VTIMEZONE generator lists the later onsets of an observance in
  RDATE; ical.js (like libical, which it follows) then ignores the DTSTART
  onset, and read July 2027 in New York as EST in a file whose VTIMEZONE ran
  over 2027-2028. Each onset becomes its own observance, without RDATE
  (:func:`_one_onset_per_observance`).
* vobject keeps one definition per TZID for the whole process (the first
  VTIMEZONE it meets wins), and ignores a VTIMEZONE that looks like UTC between
  2000 and 2020 -- Europe/London built for 2027 does -- applying pytz's rules
  for the TZID instead. Both give the right instants for our files; the tests
  reset vobject's registry before each file so that each file is judged alone.
* VTIMEZONEs come before the VEVENTs, as in RFC 5545's examples, so that a
  parser reading in one pass knows a TZID when it meets it (vobject sorts
  anyway; ical.js looks them up).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext, lazy_gettext
from icalendar import Calendar, Timezone, vDuration
from icalendar import Event as VEvent

from ..core import clock, links, timezones
from ..models import (
    Event,
    EventSession,
    Registration,
    RegistrationStatus,
)

PRODID = "-//Webinars//Webinars calendars 1.0//EN"
FEED_NAME = lazy_gettext("Webinars: upcoming events")
# How often subscribers should fetch the feed again (RFC 7986 REFRESH-INTERVAL,
# and X-PUBLISHED-TTL, which Outlook and older Apple clients read instead).
FEED_REFRESH = timedelta(hours=1)
METHODS = ("REQUEST", "CANCEL")


# --- the public functions ---------------------------------------------------


def event_calendar(event: Event) -> bytes:
    """The public ``.ics`` of one event: every session, cancelled ones as STATUS:CANCELLED.

    Holds no join link (the file is public); METHOD:PUBLISH.
    """
    stamp = clock.now()
    description = _public_description(event)
    vevents = [_vevent(s, event, stamp=stamp, description=description)
               for s in _in_order(event.sessions)]
    return _render("PUBLISH", vevents)


def feed(events: Iterable[Event], *, stamp: datetime | None = None) -> bytes:
    """The subscribable feed of ``events`` (METHOD:PUBLISH), without join links.

    Cancelled sessions stay in as STATUS:CANCELLED so that subscribed
    calendars mark them instead of silently losing them. ``stamp`` is the
    DTSTAMP (default: now); the feed route passes the time the data last
    changed, so that the same data always gives the same bytes (its ETag is
    a strong one).
    """
    stamp = stamp or clock.now()
    vevents = []
    for event in events:
        description = _public_description(event)
        vevents.extend(_vevent(s, event, stamp=stamp, description=description)
                       for s in _in_order(event.sessions))
    base = links.base_url()
    return _render("PUBLISH", vevents, header=[
        ("NAME", str(FEED_NAME), {}),
        ("X-WR-CALNAME", str(FEED_NAME), {}),
        ("DESCRIPTION", gettext("Upcoming webinars and workshops published on %(site)s",
                                site=base), {}),
        ("URL", f"{base}/", {}),
        ("SOURCE", links.feed_url(), {"VALUE": "URI"}),
        # RFC 7986 requires the VALUE parameter here; icalendar leaves it out.
        ("REFRESH-INTERVAL", vDuration(FEED_REFRESH), {"VALUE": "DURATION"}),
        ("X-PUBLISHED-TTL", vDuration(FEED_REFRESH), {}),
    ])


def registrant_calendar(registration: Registration) -> bytes:
    """A registrant's own ``.ics``: every session of their event (METHOD:PUBLISH).

    The join link (DESCRIPTION and LOCATION) is there only while the
    registration is confirmed; the link to their manage page always is.
    """
    event = registration.event
    stamp = clock.now()
    description = _registrant_description(registration)
    location = _join_location(registration)
    vevents = [_vevent(s, event, stamp=stamp, description=description, location=location)
               for s in _in_order(event.sessions)]
    return _render("PUBLISH", vevents)


def session_calendar(session: EventSession) -> bytes:
    """One session for the people who hold a seat (METHOD:PUBLISH), join link included.

    The same UID and SEQUENCE as every other copy of the session, so that
    opening it updates the calendar entry rather than adding a second one.
    Nothing in it names a registrant, so one file serves every reminder of
    the session.
    """
    event = session.event
    description = "\n\n".join(p for p in (
        event.local_description,
        gettext("Join: %(url)s", url=event.join_url) if event.join_url else "",
        gettext("Event page: %(url)s", url=links.event_url(event.slug))) if p)
    vevent = _vevent(session, event, stamp=clock.now(), description=description,
                     location=event.join_url or "")
    return _render("PUBLISH", [vevent])


def invitation(session: EventSession, registration: Registration, method: str) -> bytes:
    """An iTIP message about one session for one registrant (RFC 5546, RFC 6047).

    ``method`` is ``"REQUEST"`` (STATUS:CONFIRMED; the join link when the
    registration is confirmed) or ``"CANCEL"`` (STATUS:CANCELLED). Exactly one
    VEVENT, since a mail may carry only one UID; ORGANIZER is MAIL_FROM and the
    one ATTENDEE is the registrant. SEQUENCE is the session's: the caller grows
    it before sending an update or a cancellation. A REQUEST for a session that
    no longer takes place is refused with ValueError (send a CANCEL).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    event = registration.event
    if method == "REQUEST" and session.called_off:
        raise ValueError("this session is cancelled: send a CANCEL, not a REQUEST")
    if method == "REQUEST":
        vevent = _vevent(session, event, stamp=clock.now(),
                         description=_registrant_description(registration),
                         location=_join_location(registration), status="CONFIRMED")
    else:
        vevent = _vevent(session, event, stamp=clock.now(),
                         description=_cancel_description(event), status="CANCELLED")
    vevent.add("ATTENDEE", *_attendee(registration))
    return _render(method, [vevent])


@functools.lru_cache(maxsize=256)
def vtimezone(zone_name: str, first_year: int, last_year: int) -> Timezone:
    """The VTIMEZONE of ``zone_name`` from 1 January ``first_year`` to the end of ``last_year``.

    icalendar derives it by searching tzdata for transitions, which is slow
    for zones without daylight saving (its search only stops at year 9999;
    docs/performance.md, "Figures behind the code"). The result is cached
    per zone and year range, so a mail or a feed request pays once per
    process, and a file whose sessions span more years gets (and caches) a
    wider VTIMEZONE. The component is shared between calendars: read-only.
    """
    generated = Timezone.from_tzid(zone_name, first_date=date(first_year, 1, 1),
                                   last_date=date(last_year + 1, 1, 1))
    return _one_onset_per_observance(generated, timezones.get_zone(zone_name))


def _one_onset_per_observance(generated: Timezone, zone: ZoneInfo) -> Timezone:
    """The same VTIMEZONE with each onset as its own STANDARD/DAYLIGHT, at the exact wall clock.

    icalendar puts the second and later onsets of an observance in RDATE;
    ical.js (as libical) then drops the DTSTART onset, and read July 2027 in
    New York as EST in a file whose VTIMEZONE ran over 2027-2028. One
    observance per onset, without RDATE, is read alike by every parser.
    icalendar also gives spring onsets in the new offset (03:00 in New York);
    RFC 5545 wants the wall clock of the old one (02:00), as tzdata has it.
    """
    result = Timezone()
    for name, value in generated.items():  # TZID, and the COMMENT on the range
        result.add(name, value)
    onsets = []
    for observance in generated.subcomponents:
        starts = [observance.DTSTART] + [start for start, _ in observance.rdates]
        for start in starts:
            onsets.append((_exact_onset(zone, start, observance.TZOFFSETFROM,
                                        observance.TZOFFSETTO), observance))
    for start, observance in sorted(onsets, key=lambda item: item[0]):
        single = type(observance)()
        single.add("DTSTART", start)
        single.add("TZNAME", observance["TZNAME"])
        single.add("TZOFFSETFROM", observance.TZOFFSETFROM)
        single.add("TZOFFSETTO", observance.TZOFFSETTO)
        result.add_component(single)
    return result


def _exact_onset(zone: ZoneInfo, onset: datetime, offset_from: timedelta,
                 offset_to: timedelta) -> datetime:
    """When the offset really changes near ``onset``, as wall clock in the old offset."""
    guess = int((onset - offset_from).replace(tzinfo=UTC).timestamp())
    low, high = guess - 86_400, guess + 86_400

    def offset(seconds: int) -> timedelta:
        return datetime.fromtimestamp(seconds, UTC).astimezone(zone).utcoffset()

    if offset_from == offset_to or offset(low) != offset_from or offset(high) != offset_to:
        return onset  # the zone's start, or not one clean change: keep icalendar's
    while high - low > 1:
        middle = (low + high) // 2
        if offset(middle) == offset_from:
            low = middle
        else:
            high = middle
    return (datetime.fromtimestamp(high, UTC) + offset_from).replace(tzinfo=None)


# --- VEVENTs ----------------------------------------------------------------


def _vevent(session: EventSession, event: Event, *, stamp: datetime, description: str,
            location: str = "", status: str | None = None) -> VEvent:
    vevent = VEvent()
    vevent.add("UID", session.uid)
    vevent.add("DTSTAMP", stamp.astimezone(UTC))
    vevent.add("SEQUENCE", session.sequence or 0)
    vevent.add("DTSTART", _timestamp(session.start_utc, event.timezone))
    vevent.add("DTEND", _timestamp(session.end_utc, event.timezone))
    vevent.add("SUMMARY", summary(session, event))
    vevent.add("ORGANIZER", *_organizer())
    vevent.add("DESCRIPTION", description)
    if location:
        vevent.add("LOCATION", location)
    vevent.add("URL", links.event_url(event.slug))
    vevent.add("STATUS", status or ("CANCELLED" if session.called_off else "CONFIRMED"))
    modified = max((t for t in (session.updated_at, event.updated_at) if t), default=None)
    if modified:
        vevent.add("LAST-MODIFIED", modified.astimezone(UTC))
    return vevent


def _timestamp(instant: datetime, zone_name: str) -> datetime:
    """The instant as wall clock in the zone (TZID), or in UTC when that wall clock is ambiguous.

    In the hour repeated when clocks fall back, "01:30" names two instants:
    RFC 5545 (and vobject) take the first, ical.js the second, and nothing
    names the second for every parser (see the module docstring). Only UTC
    says such an instant unmistakably.
    """
    local = instant.astimezone(timezones.get_zone(zone_name))
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        return instant.astimezone(UTC)
    return local


def summary(session: EventSession, event: Event) -> str:
    """'Event — Session title', or 'Event (Part 2 of 4)' for untitled sessions of a series."""
    if session.title:
        return f"{event.local_title} — {session.title}"
    scheduled = event.scheduled_sessions
    if len(scheduled) > 1 and session in scheduled:
        return gettext("%(title)s (Part %(part)s of %(count)s)", title=event.local_title,
                       part=scheduled.index(session) + 1, count=len(scheduled))
    return event.local_title


def _in_order(sessions: Iterable[EventSession]) -> list[EventSession]:
    # The relationship is ordered by start already; the id breaks ties so that
    # the same data always gives the same bytes.
    return sorted(sessions, key=lambda s: (s.start_utc, s.id or 0))


# --- texts ------------------------------------------------------------------


def _public_description(event: Event) -> str:
    parts = [event.local_description,
             gettext("Details and registration: %(url)s", url=links.event_url(event.slug))]
    return "\n\n".join(p for p in parts if p)


def _registrant_description(registration: Registration) -> str:
    event = registration.event
    status = registration.status
    if status == RegistrationStatus.CONFIRMED:
        state = gettext("Join: %(url)s", url=event.join_url) if event.join_url else \
            gettext("Your seat is confirmed; the organizer will send the link to join.")
    elif status == RegistrationStatus.WAITLISTED:
        state = gettext("You are on the waiting list: the link to join comes by mail if a "
                        "seat opens.")
    elif status == RegistrationStatus.PENDING:
        state = gettext("Your application is under review: no seat is held until the "
                        "organizers admit you.")
    elif status == RegistrationStatus.DECLINED:
        state = gettext("Your application was not accepted this time.")
    else:
        state = gettext("Your registration is cancelled.")
    parts = [
        event.local_description,
        state,
        gettext("Manage your registration: %(url)s", url=links.manage_url(registration.token)),
        gettext("Event page: %(url)s", url=links.event_url(event.slug)),
    ]
    return "\n\n".join(p for p in parts if p)


def _cancel_description(event: Event) -> str:
    return "\n\n".join((gettext("This session is off your calendar."),
                        gettext("Event page: %(url)s", url=links.event_url(event.slug))))


def _join_location(registration: Registration) -> str:
    if registration.status == RegistrationStatus.CONFIRMED:
        return registration.event.join_url or ""
    return ""


# --- people -----------------------------------------------------------------


def _organizer() -> tuple[str, dict]:
    # RFC 5546 wants an ORGANIZER in PUBLISH, REQUEST and CANCEL alike: the
    # programme's sender, whose address replies and calendar updates come from.
    name, address = parseaddr(current_app.config["MAIL_FROM"])
    return f"mailto:{address}", _cn(name)


def _attendee(registration: Registration) -> tuple[str, dict]:
    confirmed = registration.status == RegistrationStatus.CONFIRMED
    params = _cn(registration.name) | {
        "ROLE": "REQ-PARTICIPANT",
        "PARTSTAT": "ACCEPTED" if confirmed else "NEEDS-ACTION",
        "RSVP": "FALSE",
    }
    return f"mailto:{registration.email}", params


def _cn(name: str) -> dict:
    # A parameter value cannot hold a double quote: icalendar writes RFC 6868's
    # ^' for it, which ical.js decodes but vobject shows as is. An apostrophe
    # reads the same everywhere.
    name = (name or "").replace('"', "'").strip()
    return {"CN": name} if name else {}


# --- files ------------------------------------------------------------------


def _render(method: str, vevents: list[VEvent],
            header: list[tuple[str, object, dict]] | None = None) -> bytes:
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", method)
    for name, value, params in header or []:
        calendar.add(name, value, parameters=params or None)
    for zone in _timezones_for(vevents):
        calendar.add_component(zone)
    for vevent in vevents:
        calendar.add_component(vevent)
    # icalendar writes CRLF line ends, folds lines at 75 octets (never inside
    # a UTF-8 sequence) and escapes TEXT values; tests/test_calendar.py checks.
    return calendar.to_ical()


def _timezones_for(vevents: list[VEvent]) -> list[Timezone]:
    """One VTIMEZONE per zone used, covering every year in which the file uses it."""
    years: dict[str, set[int]] = {}
    for vevent in vevents:
        for name in ("DTSTART", "DTEND"):
            # The TZID parameter, not the tzinfo: icalendar writes zones that
            # are UTC (Africa/Abidjan, Etc/UTC) with a Z, and those need none.
            zone = vevent[name].params.get("TZID")
            if zone:
                years.setdefault(zone, set()).add(vevent.decoded(name).year)
    return [vtimezone(zone, min(found), max(found)) for zone, found in sorted(years.items())]
