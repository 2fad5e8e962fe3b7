"""One round trip for a short transaction: its statements and its COMMIT, sent together.

A registration burst for one event is serialised on that event's lock, so
its rate is one over the time the lock is held. Sent one by one, each
statement waits for the web worker that holds the lock to be scheduled
again and send the next; on a busy machine that wait, not the database's
work, was most of the locked time (docs/performance.md). On PostgreSQL the
transaction travels as one query string that the server runs back to back,
so the lock is held only while it works. SQLite runs in-process: there the
statements simply run in turn.

The string is ``BEGIN; EXECUTE a(...); EXECUTE b(...); COMMIT``: each
statement is prepared once per connection (``PREPARE``), because planning
the seat decision costs more than running it, and its values are quoted on
the client by psycopg (``ClientCursor``, the server's own escaping rules),
because a string of several statements cannot carry server-side
parameters. Measured against psycopg's pipeline mode, which sends each
statement as its own parse, bind and execute: a third of the client's CPU.
A session that lost its prepared statements (``DISCARD ALL``, a pooler
between us and the server), or whose statements a migration made stale,
has them prepared again.

Statements are SQLAlchemy constructs, compiled once per process and dialect;
their parameters and the rows they return go through the same type
processing as any other execution. Only what the dialect's compiler renders
as named parameters is supported (no expanding IN lists), and columns with
Python-side defaults (``default=``, ``onupdate=``) must be given values.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
from collections import namedtuple
from collections.abc import Sequence

import psycopg
import sqlalchemy as sa

log = logging.getLogger(__name__)

# Where a pooled connection remembers the statements prepared on it; the
# pool clears a record's info when it reconnects.
_PREPARED_KEY = "webinars_prepared"


def run_with_commit(conn: sa.Connection, steps: Sequence[tuple[sa.Executable, dict]]) -> list:
    """Run ``steps`` ((statement, parameters) pairs) in order; the rows each returned.

    They must be the first thing ``conn``'s transaction runs. On PostgreSQL
    the BEGIN and COMMIT travel with them; elsewhere the caller's commit
    sends the COMMIT (and on PostgreSQL then finds nothing left to do). A
    failing statement aborts the whole transaction, as usual, and is raised
    as SQLAlchemy raises driver errors.
    """
    if conn.dialect.name != "postgresql":
        return [conn.execute(statement, params).all() for statement, params in steps]
    raw = conn.connection.driver_connection
    prepared = [_prepared(statement, conn.dialect) for statement, _ in steps]
    known = conn.connection.info.setdefault(_PREPARED_KEY, set())
    # The string carries its own BEGIN: psycopg would otherwise send one
    # first, in a round trip of its own. Nothing has run in the caller's
    # transaction yet, so the connection may switch to autocommit.
    raw.autocommit = True
    try:
        try:
            _prepare(raw, prepared, known)
            results = _send(raw, prepared, steps)
        except _STALE as exc:
            log.info("preparing the statements again: %s", exc)
            raw.rollback()
            _forget(raw, known)
            _prepare(raw, prepared, known)
            results = _send(raw, prepared, steps)
    except psycopg.Error as exc:
        invalidated = conn.dialect.is_disconnect(exc, raw, None)
        if invalidated:
            conn.invalidate(exc)
        else:
            raw.rollback()  # the server skipped the rest of the string, COMMIT included
        raise sa.exc.DBAPIError.instance(
            None, None, exc, psycopg.Error, connection_invalidated=invalidated,
            dialect=conn.dialect) from exc
    finally:
        if not raw.closed:
            if raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                raw.autocommit = False
            else:  # never hand the pool a connection in autocommit or mid-transaction
                conn.invalidate()
    return [[p.row(values) for values in rows] for p, rows in zip(prepared, results, strict=True)]


# What the server says when our prepared statements no longer serve: they
# are gone (DISCARD ALL, a pooler switched server sessions), or a migration
# changed a table they return rows of ("cached plan must not change result
# type"). Both are cured by preparing them again.
_STALE = (psycopg.errors.InvalidSqlStatementName, psycopg.errors.FeatureNotSupported)


def _prepare(raw: psycopg.Connection, prepared: list[_Prepared], known: set[str]) -> None:
    # One at a time, each remembered as soon as it exists: a PREPARE is not
    # undone when a later one fails, and preparing it again would fail.
    for p in prepared:
        if p.name in known:
            continue
        # Left by an earlier attempt that failed after it: already there.
        with contextlib.suppress(psycopg.errors.DuplicatePreparedStatement):
            psycopg.ClientCursor(raw).execute(p.prepare_sql)
        known.add(p.name)


def _forget(raw: psycopg.Connection, known: set[str]) -> None:
    for name in known:
        with contextlib.suppress(psycopg.errors.InvalidSqlStatementName):  # gone already
            psycopg.ClientCursor(raw).execute(f"DEALLOCATE {name}")
    known.clear()


def _send(raw: psycopg.Connection, prepared: list[_Prepared], steps) -> list[list[tuple]]:
    """Run the statements in one transaction of one string; the rows of each."""
    cursor = psycopg.ClientCursor(raw)
    cursor.execute(_transaction_sql(tuple(prepared)),
                   [value for p, (_, params) in zip(prepared, steps, strict=True)
                    for value in p.bind(params)])
    results = []  # one per statement of the string: BEGIN, the steps, COMMIT
    while True:
        returned = cursor.pgresult.status == psycopg.pq.ExecStatus.TUPLES_OK
        results.append(cursor.fetchall() if returned else [])
        if not cursor.nextset():
            break
    return results[1:-1]


@functools.cache
def _transaction_sql(prepared: tuple[_Prepared, ...]) -> str:
    return ";".join(["BEGIN", *(p.execute_sql for p in prepared), "COMMIT"])


class _Prepared:
    """A statement compiled for PostgreSQL, with its parameter and row processing.

    Compiled with ``$n`` placeholders for ``PREPARE``; ``execute_sql`` takes
    the values in the same order, quoted on the client.
    """

    def __init__(self, statement: sa.Executable, dialect):
        numbered = type(dialect)(paramstyle="numeric_dollar")
        self.compiled = statement.compile(dialect=numbered)
        if self.compiled.escaped_bind_names:
            raise ValueError("parameter names that need escaping are not supported here")
        if self.compiled.insert_prefetch or self.compiled.update_prefetch:
            # Python-side defaults are filled in by SQLAlchemy's execution,
            # which this path skips: give such columns their values.
            raise ValueError("columns with Python-side defaults need explicit values here")
        sql = self.compiled.string
        self.name = "webinars_" + hashlib.sha256(sql.encode()).hexdigest()[:16]
        self.prepare_sql = f"PREPARE {self.name} AS {sql}"
        self.order = list(self.compiled.positiontup)
        self.execute_sql = (f"EXECUTE {self.name}({', '.join(['%s'] * len(self.order))})"
                            if self.order else f"EXECUTE {self.name}")
        self.bind_processors = {}
        for key, bind in self.compiled.binds.items():
            processor = bind.type.bind_processor(dialect)
            if processor is not None:
                self.bind_processors[key] = processor
        columns = list(statement.exported_columns)
        self.result_processors = [c.type.result_processor(dialect, None) for c in columns]
        self.row_type = namedtuple("Row", [c.key for c in columns])

    def bind(self, params: dict) -> list:
        values = self.compiled.construct_params(params)
        return [self.bind_processors[key](values[key]) if key in self.bind_processors
                else values[key] for key in self.order]

    def row(self, values: tuple):
        return self.row_type(*(process(value) if process else value
                               for process, value in zip(self.result_processors, values,
                                                         strict=True)))


@functools.cache
def _prepared(statement: sa.Executable, dialect) -> _Prepared:
    return _Prepared(statement, dialect)
