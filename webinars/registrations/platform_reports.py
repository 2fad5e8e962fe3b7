"""Read the participant reports meeting platforms export: Zoom, Microsoft Teams, or any CSV.

Zoom's participant report (Reports > Usage > Participants, "Export") is a
comma-separated file, sometimes with a block about the meeting first; its
participant header is ``Name (Original Name), User Email, Join Time, Leave
Time, Duration (Minutes), Guest`` (the "unique users" export has ``Total
Duration (Minutes)`` instead), one row per join. Teams' attendance report
is tab-separated UTF-16, in numbered sections: "2. Participants" (``Name,
First Join, Last Leave, In-Meeting Duration, Email, Participant ID (UPN),
Role``, one row per person) and "3. In-Meeting Activities" (``Name, Join
Time, Leave Time, Duration, Email, Role``, one row per join); durations read
"1h 27m 51s". Anything else is read with a column mapping.

Only what attendance needs is kept: who (email, name) and how many minutes
each row counted. Rows of one address are summed by the caller.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass

from dateutil import parser as dates
from flask_babel import gettext

from ..core.errors import BadRequest, ValidationError

FORMATS = ("zoom", "teams", "mapped")
MAX_BYTES = 2 * 1024 * 1024
#: What a mapping names: the columns of a report in another form.
MAPPED = ("name", "email", "join", "leave", "duration")

_ZOOM_DURATION = ("Duration (Minutes)", "Total Duration (Minutes)")
_HMS = re.compile(r"^\s*(?:(\d{1,4})\s*h)?\s*(?:(\d{1,6})\s*m(?:in)?)?\s*(?:(\d{1,8})\s*s)?\s*$",
                  re.I)
#: Longer than any session (a week); a report that says more is wrong.
_MAX_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class ReportRow:
    """One row of a report: a join (or a person), and the minutes it counted."""

    line: int
    name: str
    email: str
    minutes: float


def read(data: bytes | str, report_format: str, mapping: dict | None = None) -> list[ReportRow]:
    """The rows of a report; BadRequest when the file is not one of its kind."""
    if report_format not in FORMATS:
        raise ValidationError(gettext("Expected one of %(codes)s.", codes=", ".join(FORMATS)),
                              "format")
    lines = _lines(decode(data))
    if report_format == "zoom":
        return _zoom(lines)
    if report_format == "teams":
        return _teams(lines)
    return _mapped(lines, mapping or {})


def decode(data: bytes | str) -> str:
    """A report's text: UTF-16 (Teams) or UTF-8, without its byte order mark."""
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    if len(data) > MAX_BYTES:
        raise BadRequest(gettext("The file is larger than 2 MB."))
    try:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Teams writes UTF-16 with a BOM
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest(gettext("The file is not text in UTF-8 or UTF-16.")) from None


def _lines(text: str) -> list[list[str]]:
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        return [[cell.strip() for cell in row] for row in reader]
    except csv.Error:
        raise BadRequest(gettext("The file cannot be read as CSV near line %(line)s.",
                                 line=reader.line_num)) from None


def _find(lines: list[list[str]], wanted: set[str], start: int = 0) -> int | None:
    """The index of the first header row (from ``start``) holding every ``wanted`` column."""
    for index in range(start, len(lines)):
        cells = {cell.lower() for cell in lines[index]}
        if wanted <= cells:
            return index
    return None


def _rows(lines: list[list[str]], header: int):
    """(line number, {column: cell}) of the rows under a header, up to a blank line."""
    names = [cell.lower() for cell in lines[header]]
    for index in range(header + 1, len(lines)):
        row = lines[index]
        if not any(row):
            return
        yield index + 1, dict(zip(names, row, strict=False))


def _zoom(lines: list[list[str]]) -> list[ReportRow]:
    for duration in _ZOOM_DURATION:
        header = _find(lines, {"name (original name)", "user email", duration.lower()})
        if header is not None:
            return [ReportRow(n, row.get("name (original name)", ""), row.get("user email", ""),
                              _minutes(row.get(duration.lower(), ""), n))
                    for n, row in _rows(lines, header)]
    raise BadRequest(gettext("This is not a Zoom participant report: no row names the "
                             "columns %(columns)s.",
                             columns="Name (Original Name), User Email, Duration (Minutes)"))


def _teams(lines: list[list[str]]) -> list[ReportRow]:
    # One row per join where the report has them, else one per person; never both.
    header = _find(lines, {"name", "join time", "leave time", "duration", "email"})
    column = "duration"
    if header is None:
        header = _find(lines, {"name", "in-meeting duration", "email"})
        column = "in-meeting duration"
    if header is None:
        raise BadRequest(gettext("This is not a Teams attendance report: no row names the "
                                 "columns %(columns)s.",
                                 columns="Name, In-Meeting Duration, Email"))
    return [ReportRow(n, row.get("name", ""), row.get("email", ""),
                      _minutes(row.get(column, ""), n))
            for n, row in _rows(lines, header)]


def _mapped(lines: list[list[str]], mapping: dict) -> list[ReportRow]:
    given = {key: (mapping.get(key) or "").strip().lower() for key in MAPPED}
    if not given["email"] or not (given["duration"] or (given["join"] and given["leave"])):
        raise ValidationError(gettext("Name the column of the address, and either the "
                                      "duration or the join and leave times."), "mapping")
    header = _find(lines, {v for v in given.values() if v})
    if header is None:
        raise BadRequest(gettext("No row of the file names the columns given."))
    result = []
    for n, row in _rows(lines, header):
        if given["duration"]:
            minutes = _minutes(row.get(given["duration"], ""), n)
        else:
            minutes = _between(row.get(given["join"], ""), row.get(given["leave"], ""), n)
        result.append(ReportRow(n, row.get(given["name"], "") if given["name"] else "",
                                row.get(given["email"], ""), minutes))
    return result


def _minutes(value: str, line: int) -> float:
    """'57', '57.5' (minutes) or '1h 27m 51s' as minutes."""
    value = value.strip()
    if not value:
        return 0.0
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        if not math.isfinite(number) or not 0 <= number <= _MAX_MINUTES:
            raise BadRequest(gettext("Line %(line)s: %(value)s is not a duration.", line=line,
                                     value=value[:40]))
        return number
    match = _HMS.match(value)
    if match and any(match.groups()):
        hours, minutes, seconds = (int(part or 0) for part in match.groups())
        return hours * 60 + minutes + seconds / 60
    raise BadRequest(gettext("Line %(line)s: %(value)s is not a duration.", line=line,
                             value=value[:40]))


def _between(joined: str, left: str, line: int) -> float:
    try:
        start, end = dates.parse(joined), dates.parse(left)
        span = (end - start).total_seconds()
    except (ValueError, OverflowError, TypeError):
        raise BadRequest(gettext("Line %(line)s: the join or leave time cannot be read.",
                                 line=line)) from None
    return max(span / 60, 0.0)
