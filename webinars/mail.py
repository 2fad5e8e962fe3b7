"""Build mail, queue it in the database, and deliver it: SMTP or instance/outbox/.

Every mail is written to the ``outbox`` table in the same transaction as the
change it tells of, so a crash or an SMTP outage loses nothing: delivery
happens after the commit (see :mod:`webinars.delivery`) and the scheduler's
sweep retries what failed.

Delivery claims a message (``claimed_until``) before the SMTP call and marks
it sent right after the server's 250. A crash between that 250 and the commit
of ``sent_at`` is the one window in which a message can go out twice, and it
is one message wide: each is marked as soon as it is accepted.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email.policy
import functools
import logging
import os
import re
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import sqlalchemy as sa
from flask import Flask, current_app

from . import clock
from .extensions import db
from .locking import bookkeeping_connection, claim_for_sending
from .models import OutboxMessage, UTCDateTime

log = logging.getLogger(__name__)

KINDS = {"confirmation", "waitlisted", "promotion", "update", "cancellation", "reminder",
         "message"}
CLAIM_SECONDS = 300
MAX_ATTEMPTS = 8
BATCH = 200


@dataclass(frozen=True)
class Invitation:
    """An iTIP calendar object to carry in a mail (RFC 6047)."""

    method: str  # REQUEST or CANCEL, equal to the METHOD inside ``data``
    data: bytes
    filename: str = "invite.ics"


@dataclass(frozen=True)
class Outgoing:
    """A message ready for the outbox or the wire."""

    recipient: str
    message_id: str
    payload: bytes


def compose(*, kind: str, to_name: str, to_email: str, subject: str, text: str, html: str,
            invitation: Invitation | None = None, attachment: tuple[str, bytes] | None = None,
            message_id: str | None = None) -> Outgoing:
    """A mail as calendar vendors expect it, written out as RFC 5322 bytes.

    ``multipart/mixed`` holding a ``multipart/alternative`` of text and HTML
    (quoted-printable); with an iTIP ``invitation``, also ``text/calendar;
    method=...`` in the alternative and the same ``.ics`` attached, for
    clients that only look there (RFC 6047); with ``attachment``
    (``(filename, ics bytes)``), a plain calendar file to open.

    Written directly rather than through ``email.message``: its header
    registry parses every header it is given (about 2 ms a message), which a
    burst of registrations or a reminder fan-out cannot afford. Headers are
    RFC 2047-encoded here (:func:`_header`, :func:`_address_header`); CR/LF
    never reach them (refused when the text was accepted).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown mail kind {kind}")
    message_id = message_id or make_msgid(domain=domain())
    outer, inner = f"=_wbn_{secrets.token_hex(12)}", f"=_wbn_{secrets.token_hex(12)}"
    head = [
        f"From: {_from_header()}",
        f"To: {_address_header(to_name, to_email)}",
        f"Subject: {_header(subject, 'Subject')}",
        f"Date: {format_datetime(clock.now())}",
        f"Message-ID: {message_id}",
        f"X-Webinars-Kind: {kind}",
        # RFC 3834: no vacation or out-of-office replies to this.
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{outer}"',
        "",
        f"--{outer}",
        f'Content-Type: multipart/alternative; boundary="{inner}"',
        "",
        f"--{inner}",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: quoted-printable",
        "",
    ]
    parts = ["\r\n".join(head).encode(), b"\r\n", _qp(text), b"\r\n",
             f"--{inner}\r\nContent-Type: text/html; charset=\"utf-8\"\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode(), _qp(html), b"\r\n"]
    if invitation is not None:
        parts += [f"--{inner}\r\nContent-Type: text/calendar; charset=\"utf-8\"; "
                  f"method={invitation.method}\r\n"
                  "Content-Transfer-Encoding: base64\r\n\r\n".encode(),
                  _base64(invitation.data)]
    parts.append(f"--{inner}--\r\n".encode())
    files = []
    if invitation is not None:
        files.append(("application/ics", invitation.filename, invitation.data))
    if attachment is not None:
        files.append(('text/calendar; charset="utf-8"; method=PUBLISH', *attachment))
    for content_type, filename, data in files:
        parts += [f"--{outer}\r\nContent-Type: {content_type}\r\n"
                  f'Content-Disposition: attachment; filename="{filename}"\r\n'
                  "Content-Transfer-Encoding: base64\r\n\r\n".encode(), _base64(data)]
    parts.append(f"--{outer}--\r\n".encode())
    return Outgoing(to_email, message_id, b"".join(parts))


def _qp(text: str) -> bytes:
    body = text.replace("\r\n", "\n").encode("utf-8")
    return binascii.b2a_qp(body, istext=True).replace(b"\n", b"\r\n")


def _base64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


@functools.lru_cache(maxsize=1024)
def _header(value: str, name: str) -> str:
    if value.isascii() and len(value) + len(name) < 76:
        return value
    return Header(value, "utf-8", header_name=name).encode(linesep="\r\n")


def _from_header() -> str:
    return _sender_line(current_app.config["MAIL_FROM"])


@functools.lru_cache(maxsize=8)
def _sender_line(value: str) -> str:
    return _header_line("From", value)


_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')


def _address_header(name: str, address: str) -> str:
    if name.isascii():
        return formataddr((name, address))  # quotes punctuation itself
    if not _SPECIALS.search(name):
        return f"{Header(name, 'utf-8', header_name='To').encode(linesep=chr(13) + chr(10))} " \
               f"<{address}>"
    # A non-ASCII name with punctuation: let the email package quote and encode it.
    return _header_line("To", Address(display_name=name, addr_spec=address))


def _header_line(name: str, value) -> str:
    message = EmailMessage(policy=email.policy.SMTP)
    message[name] = value
    return message[name].fold(policy=email.policy.SMTP).split(":", 1)[1].strip()


def queue(message: Outgoing, kind: str, registration_id: int | None = None,
          send_after=None) -> OutboxMessage:
    """Add a message to the outbox in the current transaction (the caller commits)."""
    row = OutboxMessage(
        kind=kind,
        recipient=message.recipient,
        message_id=message.message_id,
        payload=message.payload,
        registration_id=registration_id,
        send_after=send_after or clock.now(),
        attempts=0,
        last_error="",
    )
    db.session.add(row)
    return row


@dataclass
class Report:
    """What one delivery pass did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


def send_pending(limit: int = BATCH) -> Report:
    """Claim due messages and deliver them over one connection; returns counts."""
    report = Report()
    ids = _claim(limit)
    if not ids:
        return report
    rows = db.session.execute(
        sa.select(OutboxMessage.id, OutboxMessage.recipient, OutboxMessage.payload,
                  OutboxMessage.kind, OutboxMessage.attempts)
        .where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)).all()
    db.session.rollback()  # end the read; each mark commits on its own
    transport = transport_for(current_app)
    marks = bookkeeping_connection()
    try:
        for row in rows:
            outcome, error = transport.send(row.recipient, row.payload, row.kind, row.id)
            _record(marks, row, outcome, error, report)
    finally:
        transport.close()
        marks.close()
    return report


def _claim(limit: int) -> list[int]:
    return claim_for_sending(
        OutboxMessage, OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None),
        OutboxMessage.send_after <= clock.now(),
        order_by=(OutboxMessage.send_after, OutboxMessage.id), limit=limit,
        seconds=CLAIM_SECONDS)


def _record(marks: sa.Connection, row, outcome: str, error: str, report: Report) -> None:
    """Mark one message right after the mail server's answer: one autocommitted UPDATE."""
    now = clock.now()
    if outcome == "sent":
        marks.execute(_MARK_SENT, {"message": row.id, "when": now})
        report.sent += 1
        return
    values: dict = {"claimed_until": None, "last_error": error[:500]}
    if outcome == "temporary" and row.attempts < MAX_ATTEMPTS:
        values["send_after"] = now + timedelta(seconds=min(60 * 2 ** row.attempts, 3600))
        report.retried += 1
    else:
        values["failed_at"] = now
        report.failed += 1
    marks.execute(sa.update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values))


# Built once: a burst's confirmations run it thousands of times.
_MARK_SENT = (sa.update(OutboxMessage).where(OutboxMessage.id == sa.bindparam("message"))
              .values(claimed_until=None, last_error="",
                      sent_at=sa.bindparam("when", type_=UTCDateTime())))


def domain() -> str:
    """The host part of BASE_URL, for Message-IDs and UIDs."""
    return urlsplit(current_app.config["BASE_URL"]).hostname or "webinars.invalid"


# --- transports ------------------------------------------------------------


class SMTPTransport:
    """One SMTP connection for a batch, opened on first use and reopened after a drop."""

    def __init__(self, url: str, sender: str):
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.implicit_tls = parts.scheme == "smtps"
        self.starttls = query.get("starttls", "").lower() in ("1", "true", "yes")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if self.implicit_tls else 587 if self.starttls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = float(query.get("timeout", 30))
        self.sender = sender
        self.conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self.implicit_tls:
            conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                    context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                conn.starttls(context=ssl.create_default_context())
        if self.user:
            conn.login(self.user, self.password or "")
        return conn

    def send(self, recipient: str, payload: bytes, kind: str, row_id: int) -> tuple[str, str]:
        """Deliver one message: ('sent'|'temporary'|'permanent', error text)."""
        try:
            if self.conn is None:
                self.conn = self._connect()
            refused = self.conn.sendmail(self.sender, [recipient], payload)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients.get(recipient, (550, b"refused"))
            return _classify(code), f"{code} {_text(text)}"
        except smtplib.SMTPResponseException as exc:
            self.close()
            return _classify(exc.smtp_code), f"{exc.smtp_code} {_text(exc.smtp_error)}"
        except (smtplib.SMTPException, OSError) as exc:
            # Dropped connection, refused connection, timeout: try again later.
            self.close()
            return "temporary", f"{type(exc).__name__}: {exc}"
        if refused:
            code, text = refused[recipient]
            return _classify(code), f"{code} {_text(text)}"
        return "sent", ""

    def close(self) -> None:
        """Say QUIT if the connection is still up."""
        if self.conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.conn.quit()
            self.conn = None


class DirectoryTransport:
    """Writes each message as an .eml file: a laptop needs no mail server."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def send(self, recipient: str, payload: bytes, kind: str, row_id: int) -> tuple[str, str]:
        """Write the file atomically (temporary name, then rename)."""
        stamp = clock.now().strftime("%Y%m%dT%H%M%S")
        final = self.folder / f"{stamp}-{row_id:07d}-{kind}.eml"
        temporary = final.with_suffix(".tmp")
        temporary.write_bytes(payload)
        os.replace(temporary, final)
        return "sent", ""

    def close(self) -> None:
        """Nothing to close."""


def transport_for(app: Flask) -> SMTPTransport | DirectoryTransport:
    """SMTP when SMTP_URL is set, else instance/outbox/."""
    url = app.config.get("SMTP_URL")
    if url:
        from email.utils import parseaddr

        return SMTPTransport(url, parseaddr(app.config["MAIL_FROM"])[1])
    return DirectoryTransport(Path(app.instance_path) / "outbox")


def _classify(code: int) -> str:
    return "temporary" if 400 <= code < 500 else "permanent"


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
