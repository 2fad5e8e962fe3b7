"""Transactions that write, and the per-event lock that serialises seat decisions.

Locking rules (after pretix): lock what you consume, once per transaction,
as late as the reads that need it allow; never lock to free. Here the thing
consumed is an event's seats, so the lock is the event's row.

* PostgreSQL, three locks per event. Other events, and readers, are never
  held up.

  - the seat lock, ``FOR NO KEY UPDATE`` on the event's row: every seat
    decision (register, cancel, promote) takes it, so they happen one at a
    time;
  - the event lock, ``FOR UPDATE`` on the row and the event's planning lock
    (a transaction-level advisory lock) exclusively: an organizer's change
    to the event (its sessions, capacity, status) takes it, which also
    excludes seat decisions;
  - the reminder lock, the planning lock shared: the notice step takes it
    while it plans new registrants' reminders from the sessions. It waits
    for, and holds up, only the event lock, so a schedule change and the
    planning never miss each other, and a burst of registrations is not
    held up by the (slower, lower-priority) notice step. It is not a lock
    on the row: a row share-locked by a long notice batch turned every seat
    decision's lock and step on that row into a new multixact, 2.8 ms a
    decision instead of 0.5 ms measured serially (docs/performance.md).
* SQLite: ``BEGIN IMMEDIATE`` takes the database's single write lock at the
  start of the transaction; a deferred transaction that read first could
  otherwise fail with "database is locked" instead of waiting its turn.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import sqlalchemy as sa

from . import clock
from .extensions import db
from .models import Event


def begin_write(lock_event_id: int | None = None, *, seats_only: bool = False
                ) -> sa.Connection:
    """End the session's current transaction and start one that may write.

    With ``lock_event_id`` the new transaction holds that event's lock until
    it commits or rolls back: the event lock, or with ``seats_only`` the seat
    lock (see above). Objects loaded before are expired and reload, so every
    check made after this call sees the state the lock protects. Returns the
    transaction's connection, for Core statements.
    """
    db.session.rollback()  # nothing pending is lost: callers write only after this
    conn = db.session.connection(execution_options={"sqlite_immediate": True})
    if lock_event_id is not None:
        lock_event(conn, lock_event_id, seats_only=seats_only)
    return conn


# The advisory locks' first key: their name space, "we" for webinars. The
# second key is the event's id.
_PLANNING = 0x7765


def lock_event(conn: sa.Connection, event_id: int, *, seats_only: bool = False) -> None:
    """Take the event lock (or with ``seats_only`` the seat lock) in ``conn``'s transaction.

    Nothing on SQLite, where the transaction holds the database's write lock.
    """
    if conn.dialect.name == "sqlite":
        return
    conn.execute(sa.select(Event.id).where(Event.id == event_id)
                 .with_for_update(key_share=seats_only))
    if not seats_only:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PLANNING, event_id)))


def lock_for_reminders(conn: sa.Connection, event_ids: list[int]) -> None:
    """Take the reminder lock on each of ``event_ids``, in id order, in ``conn``'s transaction."""
    if conn.dialect.name == "sqlite":
        return
    for event_id in sorted(set(event_ids)):  # one order for everyone: no deadlock
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock_shared(_PLANNING, event_id)))


def claim_for_sending(model, *conditions, order_by, limit: int, seconds: int) -> list[int]:
    """Claim, in a transaction of its own, rows a sender is about to send.

    For the outbox and for reminders alike: rows matching ``conditions``
    whose earlier claim (``claimed_until``) is absent or ran out are claimed
    for ``seconds`` and counted as an attempt, then committed, so that the
    claim holds while the sender talks to the mail server.
    """
    begin_write()
    now = clock.now()
    ids = claim(model, *conditions,
                sa.or_(model.claimed_until.is_(None), model.claimed_until < now),
                order_by=order_by, limit=limit,
                values={"claimed_until": now + timedelta(seconds=seconds),
                        "attempts": model.attempts + 1})
    db.session.commit()
    return ids


@contextlib.contextmanager
def write_transaction(lock_event_id: int | None = None, *, seats_only: bool = False):
    """A service's writing transaction: begin, commit, then deliver the mail it queued.

    Starts as :func:`begin_write` (the same ``lock_event_id`` and
    ``seats_only``) and yields the connection. When the block ends, even by
    ``return``, it commits; if it raises, it rolls back and re-raises, so
    nothing is half written. After the commit the outbox is delivered as
    WEBINARS_MAIL_DELIVERY says (:func:`webinars.delivery.deliver_after_commit`).
    """
    from . import delivery  # delivery -> mail -> locking

    conn = begin_write(lock_event_id, seats_only=seats_only)
    try:
        yield conn
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    delivery.deliver_after_commit()


@contextlib.contextmanager
def statement_transaction():
    """A writing transaction for Core statements only, on a pooled connection of its own.

    For the registration burst's hot path, which loads no ORM object: the
    session's transaction bookkeeping cost as much of a web worker's CPU as
    the statements themselves (docs/performance.md). The session's current
    transaction ends first, so that what it reads afterwards sees this
    transaction's rows. Otherwise as :func:`write_transaction` without a
    lock: commits when the block ends, even by ``return``; rolls back and
    re-raises if it raises; then delivers the mail it queued.
    """
    from . import delivery  # delivery -> mail -> locking

    db.session.rollback()
    with db.engine.connect() as conn, conn.execution_options(sqlite_immediate=True).begin():
        yield conn
    delivery.deliver_after_commit()


def bookkeeping_connection() -> sa.Connection:
    """A connection of its own whose statements each commit at once, for senders' marks.

    A sender marks each message right after the mail server's answer, so
    that a crash can repeat at most the one message in flight. On the ORM
    session every such commit would expire the whole batch, and BEGIN and
    COMMIT would add two round trips to each mark. The caller closes it.
    """
    return db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def claim(model, *conditions, order_by, limit: int, values: dict) -> list[int]:
    """Take up to ``limit`` rows of ``model`` matching ``conditions`` for this process.

    One conditional ``UPDATE ... WHERE id IN (...) RETURNING id`` that sets
    ``values`` (a claim time, a flag), in the caller's transaction, so that
    no two processes ever take the same row. On PostgreSQL the inner select
    locks ``FOR UPDATE SKIP LOCKED``: concurrent claimers take different rows
    instead of queueing behind each other. On SQLite the caller's
    :func:`begin_write` already serialises them. Returns the ids, sorted.
    """
    chosen = sa.select(model.id).where(*conditions).order_by(*order_by).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True)
    ids = db.session.execute(
        sa.update(model).where(model.id.in_(chosen.scalar_subquery())).values(**values)
        .returning(model.id).execution_options(synchronize_session=False)).scalars().all()
    return sorted(ids)
