"""The database: Flask-SQLAlchemy's ``db``, the column types every model uses, and the
connection settings each backend needs (SQLite's pragmas and BEGIN, PostgreSQL's
idle ping). Bound to the app in :func:`webinars.create_app`."""

from __future__ import annotations

import select
import sqlite3
import time
from datetime import UTC

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so that Alembic can alter them on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)


class UTCDateTime(sa.TypeDecorator):
    """An aware UTC datetime on every backend (SQLite keeps no zone)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, _record):
    # pysqlite opens transactions lazily and on its own terms; take that over
    # so that SQLAlchemy's BEGIN is the one that runs (see _sqlite_on_begin),
    # and turn on what a multi-threaded web app needs: WAL lets readers go on
    # while one writer commits, and foreign keys are off by default in SQLite.
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    # A transaction that will decide on capacity asks for the write lock up
    # front (execution option ``sqlite_immediate``): a deferred transaction
    # that reads first and writes later can fail with "database is locked"
    # when another writer got in between, instead of waiting its turn.
    if conn.dialect.name != "sqlite":
        return
    options = conn.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return  # each statement commits by itself
    conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("sqlite_immediate") else "BEGIN")


def apply_settings(engine: Engine, settings: dict[str, str]) -> None:
    """Give every new PostgreSQL connection of ``engine`` these session settings.

    ``settings`` is read at each connect (one ``set_config`` round trip per
    new connection, none per checkout), so a process may add to it before
    its first connection (webinars.worker.scheduler.prepare_process).
    """
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "connect")
    def _settings(dbapi_connection, _record):
        if not settings:
            return
        calls = ", ".join("set_config(%s, %s, false)" for _ in settings)
        values = [part for pair in settings.items() for part in pair]
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SELECT {calls}", values)
        dbapi_connection.commit()


# A pooled connection unused for longer than this is checked before use.
IDLE_PING_SECONDS = 10.0


def ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection for life before use, without a round trip when it can.

    Like ``pool_pre_ping``, a connection the database dropped (a restart, an
    idle timeout, a terminated backend) is replaced before a request sees
    it: the pool retries the checkout when this raises DisconnectionError.
    Unlike it, a connection checked in less than IDLE_PING_SECONDS ago, with
    nothing waiting on its socket, is handed out as it is: an idle session
    receives nothing unless the server is closing it (it sends the reason,
    then closes), and a ping's round trip on every checkout took a
    measurable share of a registration burst's rate (docs/performance.md,
    burst step 6). SQLite files need no such check.
    """
    if engine.dialect.name == "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _fresh(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _idle(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, record, _proxy):
        recent = time.monotonic() - record.info.get("idle_since", 0.0) < IDLE_PING_SECONDS
        if recent and not _has_input(dbapi_connection):
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("the database dropped this connection") from exc
        if not alive:
            raise DisconnectionError("the database dropped this connection")


def _has_input(dbapi_connection) -> bool:
    """Something (or the end of the stream) is waiting on an idle connection's socket."""
    try:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True  # no usable socket: let the ping find out
    return bool(readable)

