"""The outbox: every mail is a row written in the transaction of the change it tells of.

So a crash or an SMTP outage loses nothing. :func:`queue` adds the row and
asks for delivery after the commit (webinars.mail.pump); :func:`send_pending`
claims due rows and hands them to a transport.

A sender claims a small batch (webinars.claims: owned by a live process,
never by a timer), checks its fencing token just before each SMTP
transaction and marks each message right after the server's answer. What
can still go out twice is a message whose 250 came but whose mark did not
land, one per sender (docs/operations.md, "The duplicate window"). When to
try again is webinars.mail.retries' to say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from .. import claims
from ..core import clock
from ..core.db import UTCDateTime, db
from ..core.transactions import after_commit, autocommit_connection, end_read
from ..models import OutboxMessage
from . import pump, retries
from .compose import Outgoing
from .transports import transport_for

#: Messages per claim: small, so that a slow mail server holds few of them
#: while the other senders go on with the rest.
BATCH = 20

#: Neither sent nor failed: what a sender may still send.
UNSENT = (OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))


def queue(message: Outgoing, kind: str, registration_id: int | None = None,
          about_at: datetime | None = None) -> OutboxMessage:
    """Add a message to the outbox in the open write transaction; delivered after the commit.

    ``about_at``: the start of the session the message tells of, which its
    retries hurry for.
    """
    row = OutboxMessage(
        kind=kind,
        recipient=message.recipient,
        message_id=message.message_id,
        payload=message.payload,
        registration_id=registration_id,
        send_after=clock.now(),
        about_at=about_at,
        attempts=0,
        last_error="",
    )
    db.session.add(row)
    after_commit(pump.wake)
    return row


@dataclass
class Report:
    """What one delivery pass did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    #: The relay did not answer: the pass stopped, and should be tried again soon.
    unreachable: bool = False
    #: Seconds until the soonest retry this pass set, if any (webinars.mail.pump waits that long).
    again_in: float | None = None

    def retry_at(self, when: datetime, now: datetime) -> None:
        """Note a retry set for ``when``."""
        seconds = max((when - now).total_seconds(), 0.0)
        self.again_in = seconds if self.again_in is None else min(self.again_in, seconds)


def send_pending(limit: int = BATCH) -> Report:
    """Claim due messages and deliver them over one connection; returns counts.

    Stops at the first message the relay does not answer for: the rest wait
    for the next pass, which tries the relay again.
    """
    report = Report()
    claim = _claim(limit)
    if claim is None:
        return report
    with claim:
        rows = db.session.execute(
            sa.select(OutboxMessage.id, OutboxMessage.recipient, OutboxMessage.payload,
                      OutboxMessage.kind, OutboxMessage.attempts, OutboxMessage.about_at)
            .where(OutboxMessage.id.in_(claim.ids)).order_by(OutboxMessage.id)).all()
        end_read()  # each mark commits on its own
        transport = transport_for(current_app)
        marks = autocommit_connection()
        try:
            for row in rows:
                if not claim.still_mine(marks, row.id, *UNSENT):
                    continue
                outcome, error = transport.send(row.recipient, row.payload, row.kind, row.id)
                _record(marks, claim, row, outcome, error, report)
                if outcome == "unreachable":
                    report.unreachable = True
                    break
        finally:
            transport.close()
            marks.close()
    return report


def _claim(limit: int) -> claims.Claim | None:
    return claims.take(
        OutboxMessage, *UNSENT, OutboxMessage.send_after <= clock.now(),
        order_by=(OutboxMessage.send_after, OutboxMessage.id), limit=limit)


def _record(marks: sa.Connection, claim: claims.Claim, row, outcome: str, error: str,
            report: Report) -> None:
    """Mark one message right after the mail server's answer: one autocommitted UPDATE."""
    now = clock.now()
    if outcome == "sent":
        marks.execute(_MARK_SENT, {"message": row.id, "token": claim.token, "when": now})
        report.sent += 1
        return
    values: dict = {"claimed_by": None, "claim_token": None, "last_error": error[:500]}
    if outcome == "unreachable":
        values["send_after"] = now + retries.RELAY_PROBE
        report.retry_at(values["send_after"], now)
    elif outcome == "temporary" and not retries.exhausted(row.attempts + 1):
        values["attempts"] = row.attempts + 1
        values["send_after"] = now + retries.delay(row.attempts + 1, now, row.about_at)
        report.retried += 1
        report.retry_at(values["send_after"], now)
    else:
        values.update(attempts=row.attempts + 1, failed_at=now)
        report.failed += 1
    marks.execute(sa.update(OutboxMessage).where(OutboxMessage.id == row.id, claim.mine())
                  .values(**values))


# Built once: a burst's confirmations run it thousands of times.
_MARK_SENT = (sa.update(OutboxMessage)
              .where(OutboxMessage.id == sa.bindparam("message"),
                     OutboxMessage.claim_token == sa.bindparam("token"))
              .values(claimed_by=None, claim_token=None, last_error="",
                      attempts=OutboxMessage.attempts + 1,
                      sent_at=sa.bindparam("when", type_=UTCDateTime())))


# --- for operators ---------------------------------------------------------

#: A message the mail server refused for good: failed, with a 5xx answer
#: (``_record`` writes the SMTP code first). A 4xx that ran out of attempts
#: failed too, but says nothing about the address.
BOUNCED = sa.and_(OutboxMessage.failed_at.is_not(None), OutboxMessage.last_error.like("5%"))

#: Not delivered, and not simply waiting for its first try: failed, or
#: refused or unreachable at least once and waiting to be tried again.
TROUBLED = sa.and_(OutboxMessage.sent_at.is_(None), sa.or_(
    OutboxMessage.failed_at.is_not(None), OutboxMessage.last_error != ""))


def state(row: OutboxMessage) -> str:
    """sent, failed, retrying (a try failed, another will come) or queued."""
    if row.sent_at is not None:
        return "sent"
    if row.failed_at is not None:
        return "failed"
    return "retrying" if row.last_error else "queued"


def troubled(*conditions, limit: int | None = None) -> list[OutboxMessage]:
    """Failed and retrying messages (that also meet ``conditions``), most recent trouble first."""
    return list(db.session.scalars(
        sa.select(OutboxMessage).where(TROUBLED, *conditions)
        .order_by(sa.func.coalesce(OutboxMessage.failed_at, OutboxMessage.send_after).desc(),
                  OutboxMessage.id.desc()).limit(limit)))
