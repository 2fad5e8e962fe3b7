"""Mail as RFC 5322 bytes: what the outbox stores and the transports send.

Written directly rather than through ``email.message``, whose header registry
parses every header it is given: too slow for a burst of confirmations or a
reminder fan-out (docs/performance.md, fan-out step 1). Headers are
RFC 2047-encoded here; CR/LF never reach them (refused when the text was
accepted, by webinars.core.validation).
"""

from __future__ import annotations

import base64
import binascii
import email.policy
import functools
import re
import secrets
from dataclasses import dataclass
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from urllib.parse import urlsplit

from flask import current_app

from ..core import clock

KINDS = {"confirmation", "waitlisted", "promotion", "update", "cancellation", "reminder",
         "message", "manage-link", "verify", "lockout", "application", "approved", "declined",
         "invitation", "follow-up", "certificate"}


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
            message_id: str | None = None, headers: dict[str, str] | None = None) -> Outgoing:
    """A mail as calendar vendors expect it, written out as RFC 5322 bytes.

    ``multipart/mixed`` holding a ``multipart/alternative`` of text and HTML
    (quoted-printable); with an iTIP ``invitation``, also ``text/calendar;
    method=...`` in the alternative and the same ``.ics`` attached, for
    clients that only look there (RFC 6047); with ``attachment``
    (``(filename, ics bytes)``), a plain calendar file to open. ``headers``
    are more header fields, ASCII made by the app (never user text).

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
        *[f"{name}: {value}" for name, value in (headers or {}).items()],
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


def domain() -> str:
    """The host part of BASE_URL, for Message-IDs and UIDs."""
    return urlsplit(current_app.config["BASE_URL"]).hostname or "webinars.invalid"
