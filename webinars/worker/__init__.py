"""Background work: the APScheduler wiring, the delivery work the pump runs, heartbeats.

It decides *when* things run; what they do lives in the domain packages.
"""

from __future__ import annotations

from flask import Flask

from . import drain, scheduler


def wire(app: Flask) -> None:
    """Install the delivery work behind every commit's mail, and start the embedded scheduler."""
    drain.wire(app)
    scheduler.wire(app)
