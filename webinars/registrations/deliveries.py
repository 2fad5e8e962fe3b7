"""Mail to an event's registrants that did not arrive: what an organizer sees and can do.

A message is failed (the server refused it for good, or it ran out of
attempts) or retrying (refused for now, or the server was unreachable).
An organizer may send a failed one again (after the address was
corrected, say) or give up on one that keeps retrying; both are audited.
"""

from __future__ import annotations

import sqlalchemy as sa

from .. import audit, claims
from ..core import clock
from ..core.db import db
from ..core.errors import Conflict, NotFound
from ..core.transactions import after_commit, write_transaction
from ..mail import outbox, pump
from ..models import Event, Organizer, OutboxMessage, Registration


def troubles(event_id: int) -> list[OutboxMessage]:
    """Failed and retrying mail to the event's registrants, most recent trouble first."""
    return outbox.troubled(OutboxMessage.registration_id.in_(
        sa.select(Registration.id).where(Registration.event_id == event_id)))


def retry(event_id: int, message_id: int, actor: Organizer | None) -> OutboxMessage:
    """Send a failed or retrying message again now, with a fresh count of attempts."""
    with write_transaction():
        event, row = _of_event(event_id, message_id)
        audit.record(event, "mail", f"{row.kind} to {row.recipient}: {outbox.state(row)}",
                     "sent again", actor)
        row.failed_at, row.send_after, row.attempts = None, clock.now(), 0
        after_commit(pump.wake)
    return row


def give_up(event_id: int, message_id: int, actor: Organizer | None) -> OutboxMessage:
    """Stop retrying a message: it stays listed as failed."""
    with write_transaction():
        event, row = _of_event(event_id, message_id)
        if row.failed_at is not None:
            raise Conflict("This message has failed already; nothing will retry it.")
        audit.record(event, "mail", f"{row.kind} to {row.recipient}: retrying", "given up",
                     actor)
        row.failed_at = clock.now()
    return row


def _of_event(event_id: int, message_id: int) -> tuple[Event, OutboxMessage]:
    row = db.session.get(OutboxMessage, message_id)
    registration = db.session.get(Registration, row.registration_id) \
        if row is not None and row.registration_id is not None else None
    if registration is None or registration.event_id != event_id:
        raise NotFound("No such message for this event.")
    if row.sent_at is not None:
        raise Conflict("This message was delivered already.")
    if db.session.scalar(sa.select(claims.held(OutboxMessage)).where(
            OutboxMessage.id == row.id)):
        # Its sender would record its answer over ours.
        raise Conflict("A sender is trying this message right now; look again in a few "
                       "minutes.")
    return db.session.get(Event, event_id), row
