"""Wall clock <-> UTC, and time formatted for people.

Rules (one place for each):

* Everything is compared, sorted and scheduled in UTC; conversion happens
  only at the edges (forms, pages, mails, ``.ics``).
* A wall-clock time that does not exist in the zone (the hour skipped when
  clocks spring forward) is an error the organizer must fix.
* A wall-clock time that happens twice (the hour repeated when clocks fall
  back) is resolved by :data:`AMBIGUOUS_RULE`: an explicit UTC offset in the
  input picks the occurrence; without one the first occurrence is taken, as
  RFC 5545 section 3.3.5 prescribes for DATE-TIME values, and a warning says so.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_skeleton, get_timezone_location
from flask_babel import gettext

from . import languages
from .errors import ValidationError

# Spelled out in resolve()'s warning too, which is one message for translators.
AMBIGUOUS_RULE = "first occurrence (RFC 5545)"
FIRST_YEAR, LAST_YEAR = 1970, 2200


@functools.cache
def known_zones() -> frozenset[str]:
    """The zones a person may choose: every country's zones in tzdata's ``zone.tab``, and UTC.

    Not every name zoneinfo can load: ``localtime`` (this machine's),
    ``Factory``, ``posixrules`` and the old aliases are no place anyone
    lives in. Asia/Phnom_Penh and Asia/Vientiane stay themselves (tzdata
    links them to Bangkok, but a Cambodian reads "Phnom Penh").
    """
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    names = {line.split("\t")[2] for line in table.splitlines()
             if line and not line.startswith("#")}
    return frozenset(names | {"UTC"})


@functools.cache
def _aliases() -> dict[str, str]:
    # tzdata's links ("L target alias"): the old names, some of which
    # browsers still report (Chrome: Asia/Rangoon, Asia/Saigon, Asia/Calcutta).
    data = resources.files("tzdata").joinpath("zoneinfo", "tzdata.zi").read_text("utf-8")
    known = known_zones()
    links = [line.split()[1:] for line in data.splitlines() if line.startswith("L ")]
    return {alias: target for target, alias in links
            if alias not in known and target in known}


def canonical_zone(name: object) -> str | None:
    """The zone ``name`` stands for (itself, or what an old alias became); None if none."""
    if not isinstance(name, str):
        return None
    return name if name in known_zones() else _aliases().get(name)


def zone_name(value: object, field: str = "timezone") -> str:
    """The zone a person chose, as stored: :func:`canonical_zone`, or a ValidationError."""
    name = canonical_zone(value)
    if name is None:
        if isinstance(value, str) and len(value) <= 64:
            message = gettext("Unknown time zone %(zone)r: use an IANA name such as "
                              "Asia/Bangkok.", zone=value)
        else:
            message = gettext("Unknown time zone 'this value': use an IANA name such as "
                              "Asia/Bangkok.")
        raise ValidationError(message, field)
    return name


@functools.cache
def _loadable() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def get_zone(name: str) -> ZoneInfo:
    """The zone of a stored name (validated on the way in by :func:`zone_name`)."""
    if name not in _loadable():
        # Keeps path-like names away from the file lookup zoneinfo does.
        raise ValidationError(gettext("Unknown time zone %(zone)r.", zone=name[:64]),
                              "timezone")
    return _zone(name)


@dataclass(frozen=True)
class Instant:
    """A wall-clock time as the organizer meant it, and the UTC instant it is now."""

    local: datetime  # naive, wall clock in the zone
    utc: datetime  # aware, UTC
    warning: str | None = None


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$")


def resolve(value: object, zone_name: str, field: str) -> Instant:
    """Turn an ISO 8601 wall-clock string in ``zone_name`` into an :class:`Instant`.

    ``value`` may carry a UTC offset (``2027-11-07T01:30-05:00``); it must be
    one the zone really has at that wall-clock time, and picks the occurrence
    of an ambiguous time. Raises ValidationError naming ``field``.
    """
    zone = get_zone(zone_name)
    if not isinstance(value, str) or not _ISO.match(value.strip()):
        raise ValidationError(
            gettext("Expected a date and time such as 2027-07-14T22:00 (wall clock in the "
                    "event's time zone)."),
            field,
        )
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(gettext("%(value)s is not a real date and time.",
                                      value=value.strip()), field) from None
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        # Calendars (and their VTIMEZONEs) cannot be built for any year at all.
        raise ValidationError(gettext("Choose a date between %(first)s and %(last)s.",
                                      first=FIRST_YEAR, last=LAST_YEAR), field)
    if parsed.tzinfo is not None:
        local = parsed.replace(tzinfo=None)
        for fold in (0, 1):
            candidate = local.replace(tzinfo=zone, fold=fold)
            if candidate.utcoffset() == parsed.utcoffset() and _exists(local, zone):
                return Instant(local, candidate.astimezone(UTC))
        wall = f"{local:%Y-%m-%d %H:%M}"
        raise ValidationError(
            gettext("%(value)s is not a time %(zone)s has: at %(time)s its offset is "
                    "%(offset)s.", value=value, zone=zone_name, time=wall,
                    offset=_offset_text(local.replace(tzinfo=zone))),
            field,
        )
    wall = f"{parsed:%Y-%m-%d %H:%M}"
    if not _exists(parsed, zone):
        raise ValidationError(
            gettext("%(time)s does not exist in %(zone)s: the clocks skip that hour. Choose a "
                    "time before or after the change.", time=wall, zone=zone_name),
            field,
        )
    first = parsed.replace(tzinfo=zone, fold=0)
    second = parsed.replace(tzinfo=zone, fold=1)
    warning = None
    if first.utcoffset() != second.utcoffset():
        example = f"{parsed:%Y-%m-%dT%H:%M}{_offset_text(second)}"
        warning = gettext(
            "%(field)s: %(time)s happens twice in %(zone)s; took the first occurrence "
            "(RFC 5545), %(offset)s. Add an offset such as %(example)s to mean the second.",
            field=field, time=wall, zone=zone_name, offset=_offset_text(first),
            example=example,
        )
    return Instant(parsed, first.astimezone(UTC), warning)


def rule_change(local: datetime, stored: datetime, zone_name: str) -> datetime | None:
    """The instant a stored wall-clock time names under today's tzdata, if not ``stored``.

    None while ``stored`` is still one of the instants ``local`` names (for a
    time that happens twice, either: the organizer may have picked the
    second). Otherwise the instant by today's rules, with the rule for
    ambiguous times. ValidationError when the wall clock no longer exists
    (the zone now skips that hour): a person must choose another time.
    """
    zone = _zone(zone_name)
    readings = {local.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)}
    if _exists(local, zone) and stored in readings:
        return None
    if not _exists(local, zone):
        wall = f"{local:%Y-%m-%d %H:%M}"
        raise ValidationError(
            gettext("%(time)s no longer exists in %(zone)s: its rules changed and the clocks "
                    "now skip that hour. Choose another time.", time=wall, zone=zone_name),
            "sessions")
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _exists(local: datetime, zone: ZoneInfo) -> bool:
    aware = local.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local


def _offset_text(aware: datetime) -> str:
    total = int(aware.utcoffset().total_seconds() // 60)
    sign = "+" if total >= 0 else "-"
    hours, minutes = divmod(abs(total), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


# --- formatting for people -------------------------------------------------


def city(zone_name: str, locale: str | None = None) -> str:
    """The place a zone is named after, in the reader's language (CLDR): 'Phnom Penh', 'ភ្នំពេញ'."""
    return _city(zone_name, languages.formatting_locale(locale))


# CLDR still has the colonial name for Yangon in some languages; nobody there uses it.
_CITY_OVERRIDES = {("Asia/Yangon", "vi"): "Yangon"}


@functools.lru_cache(maxsize=4096)
def _city(zone_name: str, locale: str) -> str:
    override = _CITY_OVERRIDES.get((zone_name, locale.split("_")[0]))
    if override:
        return override
    if zone_name == "UTC":
        return "UTC"
    try:
        return get_timezone_location(zone_name, locale=locale, return_city=True)
    except (LookupError, ValueError):
        return zone_name.rsplit("/", 1)[-1].replace("_", " ")


def abbreviation(instant: datetime, zone_name: str) -> str:
    """'EDT' where the zone has a real abbreviation, else the offset ('+07', '+06:30')."""
    aware = instant.astimezone(_zone(zone_name))
    name = aware.tzname() or ""
    if not name or name[0] in "+-":
        text = _offset_text(aware)
        return text[:3] if text.endswith(":00") else text
    return name


def iso_local(instant: datetime, zone_name: str) -> str:
    """ISO 8601 with the zone's offset: '2027-07-14T22:00:00-04:00'."""
    return instant.astimezone(_zone(zone_name)).isoformat()


def parse_utc(text: str) -> datetime:
    """The instant :func:`iso_utc` wrote ('2027-11-01T01:00:00Z'), as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def iso_utc(instant: datetime) -> str:
    """ISO 8601 in UTC ending in Z: '2027-07-15T02:00:00Z'."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_when(instant: datetime, zone_name: str, *, with_year: bool = False,
                locale: str | None = None) -> str:
    """A moment as the reader's language writes it (CLDR): 'Thu, 15 Jul, 09:00'.

    ``locale`` defaults to the language of the page or mail being written
    (:func:`webinars.core.languages.formatting_locale`).
    """
    return _format_when(instant, zone_name, with_year, languages.formatting_locale(locale))


# A notice batch or a reminder fan-out writes the same sessions for hundreds
# of registrants in a handful of zones; Babel's formatting was a fifth of a
# notice's CPU. The result depends only on the arguments.
@functools.lru_cache(maxsize=4096)
def _format_when(instant: datetime, zone_name: str, with_year: bool, locale: str) -> str:
    zone = _zone(zone_name)
    date = format_skeleton("yMMMEd" if with_year else "MMMEd", instant, tzinfo=zone,
                           locale=locale)
    return _date_and_time(date, _clock(instant, zone, locale), locale)


def _clock(instant: datetime, zone, locale: str) -> str:
    return format_skeleton("Hm", instant, tzinfo=zone, locale=locale)


def _date_and_time(date: str, time: str, locale: str) -> str:
    # CLDR's glue, "{1}, {0}" in English; {0} is the time.
    pattern = str(Locale.parse(locale).datetime_formats["medium"]).replace("'", "")
    return pattern.replace("{1}", date).replace("{0}", time)


def format_day(instant: datetime, zone_name: str, locale: str | None = None) -> str:
    """The day of a moment in a zone, as the reader's language writes it: '4 December 2026'."""
    return format_skeleton("yMMMMd", instant, tzinfo=_zone(zone_name),
                           locale=languages.formatting_locale(locale))


def format_moment(instant: datetime, zone_name: str, locale: str | None = None) -> str:
    """'Mon, 1 Nov 2027, 09:00 (Singapore, +08)': one moment, with the place whose clock it is."""
    place = city(zone_name, locale)
    label = abbreviation(instant, zone_name)
    when = format_when(instant, zone_name, with_year=True, locale=locale)
    return f"{when} ({place if place == label else f'{place}, {label}'})"


def format_range(start: datetime, end: datetime, zone_name: str, *, with_year: bool = False,
                 locale: str | None = None) -> str:
    """'Thu, 15 Jul, 09:00–10:30 (Bangkok, +07)': a session as read in one zone."""
    return _format_range(start, end, zone_name, with_year, languages.formatting_locale(locale))


@functools.lru_cache(maxsize=4096)
def _format_range(start: datetime, end: datetime, zone_name: str, with_year: bool,
                  locale: str) -> str:
    zone = _zone(zone_name)
    same_day = start.astimezone(zone).date() == end.astimezone(zone).date()
    first = _format_when(start, zone_name, with_year, locale)
    last = _clock(end, zone, locale) if same_day else _format_when(end, zone_name, False, locale)
    label = abbreviation(start, zone_name)
    end_label = abbreviation(end, zone_name)
    if end_label != label:
        last = f"{last} {end_label}"
    place = _city(zone_name, locale)
    return f"{first}–{last} ({place if place == label else f'{place}, {label}'})"


def duration_text(start: datetime, end: datetime) -> str:
    """'1 h 30 min' for people."""
    minutes = int((end - start) / timedelta(minutes=1))
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"

