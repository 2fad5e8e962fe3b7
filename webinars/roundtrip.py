"""One round trip for a short transaction: its statements and its COMMIT, sent together.

A registration burst for one event is serialised on that event's lock, so
its rate is one over the time the lock is held. Sent one by one, each
statement waits for the web worker that holds the lock to be scheduled
again and send the next; on a busy machine that wait, not the database's
work, was most of the locked time (docs/performance.md). On PostgreSQL the
statements and the COMMIT go out in one psycopg pipeline, the server runs
them back to back, and the lock is held only while it works. SQLite runs
in-process: there the statements simply run in turn.

Statements are SQLAlchemy constructs, compiled once per process and dialect;
their parameters and the rows they return go through the same type
processing as any other execution. Only what the dialect's compiler renders
as named parameters is supported (no expanding IN lists).
"""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Sequence

import sqlalchemy as sa


def run_with_commit(conn: sa.Connection, steps: Sequence[tuple[sa.Executable, dict]]) -> list:
    """Run ``steps`` ((statement, parameters) pairs) in order; the rows each returned.

    On PostgreSQL the COMMIT travels with them; elsewhere the caller's
    ``session.commit()`` sends it (and on PostgreSQL then finds nothing left
    to do). A failing statement aborts the whole transaction, as usual.
    """
    if conn.dialect.name != "postgresql":
        return [conn.execute(statement, params).all() for statement, params in steps]
    raw = conn.connection.driver_connection
    sent = []
    try:
        with raw.pipeline():
            for statement, params in steps:
                prepared = _prepared(statement, conn.dialect)
                cursor = raw.cursor()
                cursor.execute(prepared.sql, prepared.bind(params))
                sent.append((cursor, prepared))
            raw.commit()
    except conn.dialect.loaded_dbapi.Error as exc:
        # Raised as SQLAlchemy raises the driver's errors everywhere else
        # (IntegrityError, OperationalError...), the connection marked
        # invalid if the error says it is gone.
        invalidated = conn.dialect.is_disconnect(exc, raw, None)
        if invalidated:
            conn.invalidate(exc)
        raise sa.exc.DBAPIError.instance(
            sent[-1][1].sql if sent else None, None, exc, conn.dialect.loaded_dbapi.Error,
            connection_invalidated=invalidated, dialect=conn.dialect) from exc
    return [[prepared.row(values) for values in cursor.fetchall()] for cursor, prepared in sent]


class _Prepared:
    """A statement compiled for one dialect, with its parameter and row processing."""

    def __init__(self, statement: sa.Executable, dialect):
        self.compiled = statement.compile(dialect=dialect)
        if self.compiled.escaped_bind_names:
            raise ValueError("parameter names that need escaping are not supported here")
        self.sql = self.compiled.string
        self.bind_processors = {}
        for key, bind in self.compiled.binds.items():
            processor = bind.type.bind_processor(dialect)
            if processor is not None:
                self.bind_processors[key] = processor
        columns = list(statement.exported_columns)
        self.result_processors = [c.type.result_processor(dialect, None) for c in columns]
        self.row_type = namedtuple("Row", [c.key for c in columns])

    def bind(self, params: dict) -> dict:
        values = self.compiled.construct_params(params)
        return {key: self.bind_processors[key](value) if key in self.bind_processors else value
                for key, value in values.items()}

    def row(self, values: tuple):
        return self.row_type(*(process(value) if process else value
                               for process, value in zip(self.result_processors, values,
                                                         strict=True)))


@functools.cache
def _prepared(statement: sa.Executable, dialect) -> _Prepared:
    return _Prepared(statement, dialect)
