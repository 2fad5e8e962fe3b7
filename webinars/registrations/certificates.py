"""Certificates: who earned one, the PDF, its public verification, and sending them.

A registrant earns a certificate when they attended at least the event's
number of sessions (``Event.certificate_sessions``, by the attendance rule
of webinars.registrations.attendance). The certificate is issued once, the
first time it is asked for: what it states (the name as the person typed
it, the event, the sessions attended with their dates, the hours, the
issuer, the date of issue) is copied into its row then, with a random code
that is the key of its public verification page. The PDF is drawn from
that row by WeasyPrint, whose Pango and HarfBuzz shape Khmer, Lao, Burmese
and Thai (ReportLab does not), with the Noto fonts the setup installs.
"""

from __future__ import annotations

import io
import secrets
import zipfile

import sqlalchemy as sa
import weasyprint
from flask import render_template
from flask_babel import force_locale, gettext

from .. import audit, locks
from ..core import clock, links, timezones, validation
from ..core.db import db
from ..core.errors import Conflict, NotFound
from ..core.transactions import after_commit, write_transaction
from ..mail import pump
from ..models import Certificate, Event, Organizer, Registration
from . import attendance, mails
from .queries import by_token


def attended_sessions(event: Event, registration_id: int, came: dict | None = None) -> list:
    """The scheduled sessions this registrant attended, in order (``came``: by_session's)."""
    came = attendance.by_session(event.id) if came is None else came
    return [s for s in event.scheduled_sessions if registration_id in came.get(s.id, set())]


def earned(event: Event) -> list[Registration]:
    """Everyone who meets the event's certificate rule now."""
    if not event.certificate_sessions:
        return []
    counts = attendance.counts(event.id)
    return list(db.session.scalars(sa.select(Registration).where(
        Registration.event_id == event.id,
        Registration.id.in_([r for r, n in counts.items()
                             if attendance.qualifies(event, n)])).order_by(Registration.id)))


def for_registration(token: str) -> Certificate:
    """The certificate of the registration behind a manage token, issued now if need be.

    NotFound until the registrant meets the event's rule.
    """
    registration = by_token(token)
    with write_transaction(locks.event(registration.event_id)):
        issued = _issue(db.session.get(Registration, registration.id))
    if issued is None:
        raise NotFound(gettext("There is no certificate for this registration (yet)."))
    return issued


def _issue(registration: Registration, came: dict | None = None) -> Certificate | None:
    """The registration's certificate, made now if it earned one; in the caller's transaction.

    ``came`` is :func:`attendance.by_session` of the event, when the caller counted it.
    """
    existing = db.session.scalar(sa.select(Certificate).where(
        Certificate.registration_id == registration.id))
    if existing is not None:
        return existing
    event = registration.event
    sessions = attended_sessions(event, registration.id, came)
    if not attendance.qualifies(event, len(sessions)):
        return None
    row = Certificate(
        registration_id=registration.id, event_id=event.id,
        code=secrets.token_urlsafe(18), name=registration.name,
        language=registration.language, event_title=event.words(registration.language)[0],
        issuer=event.issuer or "", timezone=event.timezone, issued_at=clock.now(),
        sessions=[{"title": s.title, "start": timezones.iso_utc(s.start_utc),
                   "end": timezones.iso_utc(s.end_utc)} for s in sessions],
        minutes=sum(attendance.session_minutes(s) for s in sessions))
    db.session.add(row)
    db.session.flush()
    return row


def by_code(code: str) -> Certificate:
    """The certificate with this verification code, or NotFound (nothing else is said)."""
    row = None
    if validation.is_token(code) and len(code) <= 32:
        row = db.session.scalar(sa.select(Certificate).where(Certificate.code == code))
    if row is None:
        raise NotFound(gettext("No certificate has this code."))
    return row


def pdf(certificate: Certificate) -> bytes:
    """The certificate as a PDF, in the registrant's language, names as typed."""
    with force_locale(certificate.language):
        html = render_template("certificates/certificate.html", certificate=certificate,
                               sessions=_sessions(certificate),
                               verify_url=links.certificate_url(certificate.code))
    return weasyprint.HTML(string=html).write_pdf()


def _sessions(certificate: Certificate) -> list[dict]:
    return [dict(s, start_utc=timezones.parse_utc(s["start"]),
                 end_utc=timezones.parse_utc(s["end"])) for s in certificate.sessions]


def send_all(event_id: int, actor: Organizer | str | None) -> int:
    """Issue every earned certificate and mail each person its link, once; returns how many."""
    with write_transaction(locks.event(event_id)):
        event = db.session.get(Event, event_id)
        if event is None:
            raise NotFound(gettext("No such event."))
        if not event.certificate_sessions:
            raise Conflict(gettext("This event gives no certificates: set how many sessions "
                                   "earn one first."))
        mailed = 0
        came = attendance.by_session(event_id)
        for registration in earned(event):
            row = _issue(registration, came)
            if row is not None and row.mailed_at is None:
                mails.certificate(registration, links.certificate_pdf_url(registration.token),
                                  links.certificate_url(row.code))
                row.mailed_at = clock.now()
                mailed += 1
        if mailed:
            audit.record(event, "certificates", "", f"{mailed} mailed", actor)
            after_commit(pump.wake)
    return mailed


def zip_all(event_id: int) -> bytes:
    """Every earned certificate of an event as PDFs in one ZIP (issuing those not yet issued)."""
    with write_transaction(locks.event(event_id)):
        event = db.session.get(Event, event_id)
        came = attendance.by_session(event_id)
        rows = [row for row in (_issue(r, came) for r in earned(event)) if row is not None]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for row in rows:
            archive.writestr(f"certificate-{row.registration_id}.pdf", pdf(row))
    return buffer.getvalue()


def of_event(event_id: int) -> dict[int, Certificate]:
    """{registration id: certificate} issued for an event."""
    return {c.registration_id: c for c in db.session.scalars(
        sa.select(Certificate).where(Certificate.event_id == event_id))}
