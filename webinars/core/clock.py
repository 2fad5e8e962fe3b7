"""The one place that reads the current time.

Everything that needs "now" calls :func:`now`; tests (and the benchmarks)
replace the source with :func:`set_source` so that reminders, registration
deadlines and "upcoming" lists can be exercised without waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_source: Callable[[], datetime] | None = None


def now() -> datetime:
    """Return the current instant as an aware UTC datetime."""
    if _source is not None:
        return _source().astimezone(UTC)
    return datetime.now(UTC)


def set_source(source: Callable[[], datetime] | None) -> None:
    """Make :func:`now` return ``source()``; ``None`` goes back to the real clock."""
    global _source
    _source = source


def wall() -> datetime:
    """The real instant, whatever :func:`set_source` says.

    For what other processes judge: whether a process is alive
    (webinars.claims). A test's frozen clock must not make a live sender
    look dead to another process, nor a dead one alive.
    """
    return datetime.now(UTC)
