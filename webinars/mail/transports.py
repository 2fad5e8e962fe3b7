"""Where mail goes: an SMTP server, or .eml files in instance/outbox/ on a laptop."""

from __future__ import annotations

import contextlib
import logging
import os
import smtplib
import ssl
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask
from prometheus_client import Counter

from ..core import clock
from ..core.outages import Outage

log = logging.getLogger(__name__)

#: Counted here, where each outcome is decided; in each process that sends
#: (web workers' delivery threads, the scheduler), summed across them through
#: PROMETHEUS_MULTIPROC_DIR (webinars.metrics).
SMTP_FAILURES = Counter("webinars_smtp_failures", "SMTP sends that did not end in a 250, "
                        "by class: temporary (4xx), permanent (5xx), connection (no answer)",
                        ["class"])
#: The outcome a send reports, and the class it is counted under.
FAILURE_CLASS = {"temporary": "temporary", "permanent": "permanent",
                 "unreachable": "connection"}
for _class in FAILURE_CLASS.values():
    SMTP_FAILURES.labels(_class)  # every class is exported from the start, at 0


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
        """Deliver one message: (outcome, the server's answer or the error).

        The outcome is 'sent', 'temporary' (a 4xx answer), 'permanent' (5xx)
        or 'unreachable' (no answer: the connection was refused, dropped or
        timed out; the message was not judged, the relay was).
        """
        outcome, answer = self._send(recipient, payload)
        if outcome != "sent":
            SMTP_FAILURES.labels(FAILURE_CLASS[outcome]).inc()
        return outcome, answer

    def _send(self, recipient: str, payload: bytes) -> tuple[str, str]:
        # The envelope and the message apart (what smtplib's sendmail does in
        # one call): a failure before DATA means nothing left us, and the
        # relay is at fault; a failure during DATA may follow a message the
        # relay took (its 250 lost), so it is an attempt of this message,
        # with backoff and a limit, not a free retry every few seconds.
        where = f"{self.host}:{self.port}"
        try:
            if self.conn is None:
                self.conn = self._connect()
            self.conn.ehlo_or_helo_if_needed()
            code, text = self.conn.mail(self.sender)
            if code == 250:
                code, text = self.conn.rcpt(recipient)
            if code not in (250, 251):
                self._reset()
                _relay.answered(where)
                return _classify(code), f"{code} {_text(text)}"
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            _relay.failed(where, f"{type(exc).__name__}: {exc}")
            return "unreachable", f"{type(exc).__name__}: {exc}"
        try:
            code, text = self.conn.data(payload)
        except smtplib.SMTPResponseException as exc:  # DATA itself refused
            self._reset()
            return _classify(exc.smtp_code), f"{exc.smtp_code} {_text(exc.smtp_error)}"
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            return "temporary", f"cut off during the message: {type(exc).__name__}: {exc}"
        _relay.answered(where)
        if code != 250:
            return _classify(code), f"{code} {_text(text)}"
        return "sent", ""

    def _reset(self) -> None:
        # After a refusal the transaction must be reset before the next message.
        try:
            self.conn.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        """Say QUIT if the connection is still up."""
        if self.conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.conn.quit()
            self.conn = None


# One line when this process can no longer reach the relay, one when it
# answers again: more use to an operator than a retry note on each message.
_relay = Outage(log, "the mail relay %s cannot be reached; mail waits for it: %s",
                "the mail relay %s answers again, after %.0f s")


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
        return SMTPTransport(url, parseaddr(app.config["MAIL_FROM"])[1])
    return DirectoryTransport(Path(app.instance_path) / "outbox")


def _classify(code: int) -> str:
    return "temporary" if 400 <= code < 500 else "permanent"


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
