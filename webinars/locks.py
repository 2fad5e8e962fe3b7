"""The three locks on an event, to pass to :func:`webinars.core.transactions.write_transaction`.

Locking rules (after pretix): lock what you consume, once per transaction,
as late as the reads that need it allow; never lock to free. Here the thing
consumed is an event's seats, so the lock is the event's row.

* PostgreSQL, three locks per event. Other events, and readers, are never
  held up.

  - :func:`seats`, ``FOR NO KEY UPDATE`` on the event's row: every seat
    decision (register, cancel, promote) takes it, so they happen one at a
    time;
  - :func:`event`, ``FOR UPDATE`` on the row and the event's planning lock
    (a transaction-level advisory lock) exclusively: an organizer's change
    to the event (its sessions, capacity, status) takes it, which also
    excludes seat decisions;
  - :func:`reminders`, the planning lock shared: the notice step takes it
    while it plans new registrants' reminders from the sessions. It waits
    for, and holds up, only the event lock, so a schedule change and the
    planning never miss each other, and a burst of registrations is not
    held up by the (slower, lower-priority) notice step. It is not a lock
    on the row: a row share-locked by a long notice batch made every seat
    decision on that row create a multixact, several times slower
    (docs/performance.md, step 10).
* SQLite: the transaction's ``BEGIN IMMEDIATE`` holds the database's single
  write lock from its start, which serialises every writer; these do nothing.

Order: a transaction that takes several event locks takes them in id order,
and takes an event's lock before it claims rows that refer to the event.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from .core.transactions import Lock
from .models import Event

# The advisory locks' first key: their name space, "we" for webinars. The
# second key is the event's id.
_PLANNING = 0x7765

#: The seat lock by slug, as one statement: the registration's hot path
#: sends it in its single round trip (webinars.registrations.seats). It
#: returns what the uncommon cases need.
SEATS_BY_SLUG = (sa.select(Event.id, Event.status, Event.capacity, Event.registration_closes_at,
                           Event.starts_at, Event.ends_at)
                 .where(Event.slug == sa.bindparam("slug")).with_for_update(key_share=True))


def seats(event_id: int) -> Lock:
    """The seat lock: seat decisions on this event happen one at a time."""
    def take(conn: sa.Connection) -> None:
        if conn.dialect.name != "sqlite":
            conn.execute(sa.select(Event.id).where(Event.id == event_id)
                         .with_for_update(key_share=True))
    return take


def event(event_id: int) -> Lock:
    """The event lock: an organizer's change, excluding seat decisions and reminder planning."""
    def take(conn: sa.Connection) -> None:
        if conn.dialect.name != "sqlite":
            conn.execute(sa.select(Event.id).where(Event.id == event_id).with_for_update())
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PLANNING, event_id)))
    return take


def reminders(event_ids: Iterable[int]) -> Lock:
    """The reminder lock on each event, in id order: planning an organizer's change waits for."""
    ordered = sorted(set(event_ids))  # one order for everyone: no deadlock

    def take(conn: sa.Connection) -> None:
        if conn.dialect.name != "sqlite":
            for event_id in ordered:
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock_shared(_PLANNING, event_id)))
    return take
