"""After the event: attendance from the platform's report, the attendance report,
follow-up mail and certificates. Each view calls the service every door calls."""

from __future__ import annotations

import csv
import io
import math

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext

from ...core.errors import DomainError, NotFound
from ...events.queries import session_of
from ...registrations import attendance, certificates, followups, platform_reports, queries
from . import bp, event_or_404, me, my_zone
from .forms import AttendanceImportForm, ButtonForm, FollowUpForm
from .registrants import country_name, safe_cell

#: The chart's geometry, in SVG user units (it scales to the page's width).
BAR, GAP, LABEL, WIDTH = 22, 14, 96, 360


def _session(event, session_id: int):
    try:
        return session_of(event, session_id)
    except NotFound:
        abort(404)


@bp.post("/events/<slug>/sessions/<int:session_id>/attendance/import")
def import_attendance(slug: str, session_id: int):
    """Preview (nothing recorded) or record a platform's report for one session.

    The preview carries the file's text back in the form, with a choice for
    each address the report has and no registration does: a registrant, or
    ignore. "Record" sends both again.
    """
    event = event_or_404(slug)
    session = _session(event, session_id)
    form = AttendanceImportForm()
    upload = form.file.data
    text = upload.read() if upload else (form.report.data or "")
    record = request.form.get("action") == "record"
    matches = {}
    for name, value in request.form.items():
        if name.startswith("match:") and value:
            matches[name[6:]] = None if value == "ignore" else _int(value)
    try:
        rows = platform_reports.read(text, form.report_format.data or "zoom",
                                     {key: form[key].data for key in platform_reports.MAPPED})
        result = attendance.import_report(event.id, session.id, rows, dry_run=not record,
                                          matches=matches, actor=me())
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("organizer.session_attendance", slug=slug,
                                session_id=session_id), 303)
    if record:
        flash(ngettext("Attendance recorded for %(num)d person.",
                       "Attendance recorded for %(num)d people.", result.count("recorded")))
        return redirect(url_for("organizer.session_attendance", slug=slug,
                                session_id=session_id), 303)
    if isinstance(text, bytes):
        text = platform_reports.decode(text)
    return render_template(
        "organizer/attendance_preview.html", event=event, session=session, result=result,
        report=text, form=form, matches=matches, button=ButtonForm(),
        registrants=queries.in_arrival_order(event.id))


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


@bp.get("/events/<slug>/attendance-report")
def attendance_report(slug: str):
    """Per session and in total: confirmed, attended, absent, by country; with a chart."""
    event = event_or_404(slug)
    report = attendance.report(event)
    return render_template("organizer/attendance_report.html", event=event, report=report,
                           chart=_chart(report), country_name=country_name, zone=my_zone())


def _chart(report: attendance.Report) -> dict:
    """The bars of the chart: one group per session, attended and absent side by side."""
    biggest = max([line.confirmed for _s, line in report.sessions]
                  + [line.attended for _s, line in report.sessions] + [1])
    scale = (WIDTH - LABEL - 84) / biggest  # room for the words after the bar
    groups = []
    for number, (session, line) in enumerate(report.sessions):
        top = number * (2 * BAR + GAP)
        groups.append({"session": session, "number": number + 1, "y": top,
                       "attended": line.attended, "absent": line.absent,
                       "attended_width": line.attended * scale,
                       "absent_width": line.absent * scale})
    return {"groups": groups, "bar": BAR, "label": LABEL, "width": WIDTH,
            "height": max(len(groups) * (2 * BAR + GAP), BAR)}


@bp.get("/events/<slug>/attendance-report.csv")
def attendance_report_csv(slug: str):
    """The report's figures for spreadsheets: a row per session, the total, and per country."""
    event = event_or_404(slug)
    report = attendance.report(event)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([gettext("Session"), gettext("Country"), gettext("Confirmed"),
                     gettext("Attended"), gettext("Absent")])
    names = {s.id: s.title or gettext("Session %(number)s", number=n)
             for n, (s, _line) in enumerate(report.sessions, start=1)}
    for session, line in report.sessions:
        writer.writerow([safe_cell(names[session.id]), "", line.confirmed, line.attended,
                         line.absent])
    total = gettext("All sessions")
    writer.writerow([total, "", report.total.confirmed, report.total.attended,
                     report.total.absent])
    for code, (per, line) in report.countries.items():
        for session_id, figures in per.items():
            writer.writerow([safe_cell(names[session_id]), safe_cell(country_name(code)),
                             figures.confirmed, figures.attended, figures.absent])
        writer.writerow([total, safe_cell(country_name(code)), line.confirmed, line.attended,
                         line.absent])
    return Response(("\ufeff" + buffer.getvalue()).encode("utf-8"),
                    content_type="text/csv; charset=utf-8", headers={
                        "Content-Disposition":
                        f"attachment; filename={event.slug}-attendance.csv"})


@bp.route("/events/<slug>/follow-ups", methods=["GET", "POST"])
def follow_ups(slug: str):
    """Write a follow-up (the recording, the slides) to one audience, now or after the end."""
    event = event_or_404(slug)
    form = FollowUpForm()
    problem, status = None, 200
    if request.method == "POST":
        delay = None
        if form.when.data == "later":
            hours = (form.hours_after.data or "").strip()
            delay = int(float(hours) * 60) if _number(hours) else hours or None
        try:
            row = followups.schedule(event.id, form.audience.data, form.subject.data,
                                     form.body.data, after_end_minutes=delay, actor=me())
        except DomainError as exc:
            problem, status = exc.message, exc.status
            field = {"after_end_minutes": "hours_after"}.get(exc.field, exc.field)
            if field in form:
                form[field].errors = [exc.message]
        else:
            flash(ngettext("Your message is on its way to %(num)d person.",
                           "Your message is on its way to %(num)d people.", row.recipients)
                  if row.sent_at else gettext("Your message will be sent after the event."))
            return redirect(url_for("organizer.follow_ups", slug=slug), 303)
        event = event_or_404(slug)
    return render_template("organizer/follow_ups.html", event=event, form=form,
                           problem=problem, sent=followups.of_event(event.id),
                           audiences=followups.AUDIENCES, zone=my_zone()), status


def _number(text: str) -> bool:
    try:
        return math.isfinite(float(text)) and float(text) >= 0
    except ValueError:
        return False


@bp.post("/events/<slug>/certificates/send")
def send_certificates(slug: str):
    """Mail everyone who earned a certificate its link (once each)."""
    event = event_or_404(slug)
    try:
        mailed = certificates.send_all(event.id, me())
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(ngettext("%(num)d certificate is on its way.",
                       "%(num)d certificates are on their way.", mailed))
    return redirect(url_for("organizer.event_page", slug=slug), 303)


@bp.get("/events/<slug>/certificates.zip")
def certificates_zip(slug: str):
    """Every earned certificate, as PDFs in one ZIP."""
    event = event_or_404(slug)
    return Response(certificates.zip_all(event.id), content_type="application/zip", headers={
        "Content-Disposition": f"attachment; filename={event.slug}-certificates.zip"})
