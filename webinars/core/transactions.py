"""The one way to write: :func:`write_transaction`, and what runs after its commit.

Every service that changes the database does it inside ``with
write_transaction(...)``: the block begins a transaction that may write
(``BEGIN IMMEDIATE`` on SQLite, so that it waits for the database's write
lock instead of failing later with "database is locked"), takes the locks it
is given, commits when the block ends (even by ``return``), rolls back and
re-raises when it raises, and then runs the callbacks registered with
:func:`after_commit` during the block, in order, once each (one that fails
is logged; the others still run). That is how mail
leaves: queuing a message registers its delivery (``webinars.mail.outbox``),
so no service calls a sender and none commits by hand. The rules for locks
and the life of a registration are in docs/architecture.md.

Two shapes of the same contract:

* on the ORM session (the default): the session's current read transaction
  ends first, so every object loaded before is expired and reloads inside
  the block, under the locks; pass ids into a service, not loaded objects;
* ``own_connection=True``: a pooled connection of its own for Core
  statements only, for the registration's hot path (the ORM session's
  bookkeeping cost as much as its statements: docs/performance.md, step 9);
  on PostgreSQL :func:`webinars.core.roundtrip.run_with_commit` sends the
  statements with their BEGIN and COMMIT in one round trip.

Outside it there are only single-statement writes that commit by
themselves (:func:`autocommit_connection`, for senders' marks after each
SMTP answer) and :func:`claim`, which runs inside a write transaction.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Callable, Iterator

import sqlalchemy as sa

from .db import db

log = logging.getLogger(__name__)

#: A lock to take at the start of a transaction, given its connection
#: (see webinars.locks).
Lock = Callable[[sa.Connection], None]

# The callbacks of the transaction open in this thread (None: none is open).
_pending: contextvars.ContextVar[list[Callable[[], None]] | None] = \
    contextvars.ContextVar("webinars_after_commit", default=None)


@contextlib.contextmanager
def write_transaction(*locks: Lock, own_connection: bool = False) -> Iterator[sa.Connection]:
    """Begin a writing transaction, take ``locks`` in order, commit at the end.

    Yields the transaction's connection, for Core statements.

    Raises RuntimeError when a write transaction is already open in this
    thread: a service that needs another's writes calls its unlocked helper
    instead, so that each change is one transaction.
    """
    if _pending.get() is not None:
        raise RuntimeError("write_transaction does not nest")
    callbacks: list[Callable[[], None]] = []
    token = _pending.set(callbacks)
    try:
        with _begin(locks, own_connection) as conn:
            yield conn
    finally:
        _pending.reset(token)
    for callback in dict.fromkeys(callbacks):
        try:
            callback()
        except Exception:
            # The change is committed: the caller must hear of its success,
            # and the other callbacks must still run. What a failed delivery
            # left undone the scheduler's sweep finds.
            log.exception("an after-commit callback failed: %r", callback)


@contextlib.contextmanager
def _begin(locks: tuple[Lock, ...], own_connection: bool) -> Iterator[sa.Connection]:
    # Nothing pending is lost by the rollback: callers write only inside the block.
    db.session.rollback()
    if own_connection:
        with db.engine.connect() as conn, conn.execution_options(sqlite_immediate=True).begin():
            for lock in locks:
                lock(conn)
            yield conn
        return
    conn = db.session.connection(execution_options={"sqlite_immediate": True})
    try:
        for lock in locks:
            lock(conn)
        yield conn
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the open write transaction has committed (never if it rolls back).

    A callback registered twice runs once. Calling this outside
    :func:`write_transaction` is a programming error (RuntimeError): there
    would be no commit to wait for.
    """
    callbacks = _pending.get()
    if callbacks is None:
        raise RuntimeError("after_commit needs an open write_transaction")
    callbacks.append(callback)


def end_read() -> None:
    """End the session's read transaction (a door's answer is rendered; nothing was written)."""
    db.session.rollback()


def claim(model, *conditions, order_by, limit: int, values: dict) -> list[int]:
    """Take up to ``limit`` rows of ``model`` matching ``conditions`` for this process.

    One conditional ``UPDATE ... WHERE id IN (...) RETURNING id`` that sets
    ``values`` (a claim time, a flag), inside the caller's write
    transaction, so that no two processes ever take the same row. On
    PostgreSQL the inner select locks ``FOR UPDATE SKIP LOCKED``: concurrent
    claimers take different rows instead of queueing behind each other. On
    SQLite the transaction's write lock already serialises them. Returns the
    ids, sorted.
    """
    chosen = sa.select(model.id).where(*conditions).order_by(*order_by).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True)
    ids = db.session.execute(
        sa.update(model).where(model.id.in_(chosen.scalar_subquery())).values(**values)
        .returning(model.id).execution_options(synchronize_session=False)).scalars().all()
    return sorted(ids)


def autocommit_connection() -> sa.Connection:
    """A connection of its own whose statements each commit at once, for senders' marks.

    A sender marks each message right after the mail server's answer, so
    that a crash can repeat at most the one message in flight. In a
    transaction on the ORM session every mark would expire the whole batch
    and cost two more round trips (BEGIN, COMMIT). Each statement on it is
    a transaction of its own; the caller closes it.
    """
    return db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
