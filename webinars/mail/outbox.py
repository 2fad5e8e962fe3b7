"""The outbox: every mail is a row written in the transaction of the change it tells of.

So a crash or an SMTP outage loses nothing. :func:`queue` adds the row and
asks for delivery after the commit (webinars.mail.pump); :func:`send_pending`
claims due rows and hands them to a transport.

Delivery claims a message (``claimed_until``) before the SMTP call and marks
it sent right after the server's 250. A crash between that 250 and the
mark is the one window in which a message can go out twice, and it is one
message per sender: each is marked as soon as it is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ..core import clock
from ..core.db import UTCDateTime, db
from ..core.transactions import (
    after_commit,
    autocommit_connection,
    claim_for_sending,
    end_read,
)
from ..models import OutboxMessage
from . import pump
from .compose import Outgoing
from .transports import transport_for

CLAIM_SECONDS = 300
MAX_ATTEMPTS = 8
BATCH = 200


def queue(message: Outgoing, kind: str, registration_id: int | None = None,
          send_after=None) -> OutboxMessage:
    """Add a message to the outbox in the open write transaction; delivered after the commit."""
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
    after_commit(pump.wake)
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
    end_read()  # each mark commits on its own
    transport = transport_for(current_app)
    marks = autocommit_connection()
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




# --- for operators ---------------------------------------------------------

#: A message the mail server refused for good: failed, with a 5xx answer
#: (``_record`` writes the SMTP code first). A 4xx that ran out of attempts
#: or a connection that never came failed too, but says nothing about the address.
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
