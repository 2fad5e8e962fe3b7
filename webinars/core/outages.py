"""Database outages: answer 503 with Retry-After, and log each outage once, not each request.

A restart, a failover or a network cut makes every request fail at once;
a traceback per request would bury the one line an operator needs. The
first failure of an outage is logged with the driver's words, the first
connection that succeeds afterwards logs the end.
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

_outage_lock = threading.Lock()
_outage_since: float | None = None  # monotonic time of the first failure, while it lasts


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
    (:func:`_outage_over`). Any other database error is not an outage.
    """
    if not isinstance(exc, sa.exc.DBAPIError) or not _unreachable(exc):
        return False
    global _outage_since
    with _outage_lock:
        if _outage_since is None:
            _outage_since = time.monotonic()
            reason = str(exc.orig or exc).strip().splitlines()[0][:300]
            log.error("the database cannot be reached; answering 503 until it can: %s", reason)
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
def _outage_over(_dbapi_connection, _record):
    global _outage_since
    with _outage_lock:
        if _outage_since is not None:
            log.warning("the database is reachable again, after %.0f s",
                        time.monotonic() - _outage_since)
            _outage_since = None
