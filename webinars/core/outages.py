"""Outages of what the app depends on: logged once when they start and once when they end.

A restart, a failover or a network cut makes every request (or every
message) fail at once; a traceback or a line for each would bury the one an
operator needs. :class:`Outage` keeps that state for one dependency: the
database here (a request that meets its outage is answered 503 with
Retry-After), the mail relay in webinars.mail.transports.
"""

from __future__ import annotations

import logging
import threading
import time

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

#: What a request that met an outage tells the client: try again in this many seconds.
RETRY_AFTER_SECONDS = 5



class Outage:
    """Whether one dependency is down, as this process last saw it; logs each change once."""

    def __init__(self, logger: logging.Logger, down: str, up: str):
        self.log, self.down_message, self.up_message = logger, down, up
        self.lock = threading.Lock()
        self.since: float | None = None  # monotonic time of the first failure, while it lasts

    def failed(self, *args) -> None:
        """A failure: the first of an outage logs ``down`` % args at ERROR."""
        with self.lock:
            if self.since is None:
                self.since = time.monotonic()
                self.log.error(self.down_message, *args)

    def answered(self, *args) -> None:
        """A success: the first after an outage logs ``up`` % (args, seconds) at WARNING."""
        if self.since is None:  # the usual case, without taking the lock
            return
        with self.lock:
            if self.since is not None:
                self.log.warning(self.up_message, *args, time.monotonic() - self.since)
                self.since = None


database = Outage(log, "the database cannot be reached; answering 503 until it can: %s",
                  "the database is reachable again, after %.0f s")


# PostgreSQL's SQLSTATEs for a server that is going away or full: connection
# exceptions (class 08), admin/crash shutdown, cannot connect now, too many
# connections. A lock timeout, a deadlock or a constraint is not an outage:
# those are the code's to handle, and keep their traceback.
_POSTGRES_OUTAGES = ("08", "57P01", "57P02", "57P03", "53300")
_SQLITE_OUTAGES = ("unable to open database file", "disk i/o error")


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached now (down, restarting, cut off).

    The first such error of an outage is logged, once, with the driver's
    words; later ones are not (a traceback per request would bury the log).
    A new connection that succeeds ends the outage and says so
    (:func:`_connected`). Any other database error is not an outage.
    """
    if not isinstance(exc, sa.exc.DBAPIError) or not _unreachable(exc):
        return False
    database.failed(str(exc.orig or exc).strip().splitlines()[0][:300])
    return True


def _unreachable(exc: sa.exc.DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", False)
    if sqlstate is None:  # psycopg: the connection itself failed (refused, reset, gone)
        return True
    if sqlstate:
        return sqlstate.startswith(_POSTGRES_OUTAGES)
    return str(exc.orig).lower().startswith(_SQLITE_OUTAGES)


@event.listens_for(Engine, "connect")
def _connected(_dbapi_connection, _record):
    database.answered()
