"""Attendance routes of the JSON API: a platform's report in, the attendance report out."""

from __future__ import annotations

from flask import jsonify, request

from ...core.errors import ValidationError
from ...events.queries import get_event, session_of
from ...registrations import attendance, platform_reports
from . import bp, current_organizer, organizer_required


@bp.post("/events/<slug>/sessions/<int:session_id>/attendance")
@organizer_required
def import_attendance(slug: str, session_id: int):
    """Record a session's attendance from the platform's participant report.

    The body is the exported file itself (``text/csv``); ``?format=zoom``,
    ``teams`` or ``mapped`` (with ``?email=<column>`` and ``?duration=`` or
    ``?join=`` and ``?leave=``, ``?name=`` optionally); ``?dry_run=1`` only
    says what would be recorded. Answers person by person.
    """
    event = get_event(slug, include_drafts=True)
    session = session_of(event, session_id)
    dry_run = request.args.get("dry_run", "0")
    if dry_run not in ("0", "1", "true", "false"):
        raise ValidationError("Expected 1 or 0.", "dry_run")
    rows = platform_reports.read(request.get_data(cache=False),
                                 request.args.get("format", "zoom"),
                                 {key: request.args.get(key) for key in platform_reports.MAPPED})
    result = attendance.import_report(event.id, session.id, rows,
                                      dry_run=dry_run in ("1", "true"),
                                      actor=current_organizer())
    return jsonify({"dry_run": not result.done,
                    "counts": {key: result.count(key) for key in attendance.OUTCOMES},
                    "people": [p.as_dict() for p in result.people]}), \
        201 if result.done else 200


@bp.get("/events/<slug>/attendance")
@organizer_required
def attendance_report(slug: str):
    """The attendance report's figures: per session, in total, by country."""
    event = get_event(slug, include_drafts=True)
    report = attendance.report(event)

    def line(figures: attendance.Line) -> dict:
        return {"confirmed": figures.confirmed, "attended": figures.attended,
                "absent": figures.absent}

    return jsonify({
        "threshold_percent": event.attendance_threshold,
        "sessions": [dict(line(figures), id=s.id, title=s.title)
                     for s, figures in report.sessions],
        "total": line(report.total),
        "countries": [dict(line(total), country=code,
                           sessions={str(k): line(v) for k, v in per.items()})
                      for code, (per, total) in report.countries.items()],
    })
