"""Heartbeats: each background process says it is alive, and /healthz reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ..core import clock
from ..core.db import db
from ..core.errors import Unavailable
from ..core.outages import is_outage
from ..core.transactions import end_read, write_transaction
from ..models import Heartbeat


def beat(name: str, detail: str = "") -> None:
    """Record that a process is alive."""
    with write_transaction():
        row = db.session.get(Heartbeat, name) or Heartbeat(name=name)
        row.beat_at = clock.now()
        row.detail = detail[:200]
        db.session.add(row)


@dataclass(frozen=True)
class Pulse:
    """The last beat of a process: when, how long ago, and what it said."""

    beat_at: datetime
    age_seconds: float
    detail: str


def last(name: str) -> Pulse | None:
    """The last beat of ``name``, or None if it never beat.

    Checks the database on the way, which is what /healthz needs to know:
    Unavailable when it cannot be reached.
    """
    try:
        db.session.execute(sa.text("SELECT 1"))
        row = db.session.get(Heartbeat, name)
    except SQLAlchemyError as exc:
        end_read()
        is_outage(exc)  # logged once per outage, not per probe
        raise Unavailable(f"The database cannot be reached: {exc}") from exc
    if row is None:
        return None
    return Pulse(row.beat_at, (clock.now() - row.beat_at).total_seconds(), row.detail)
