"""The delivery work the pump runs: compose due notices, then send the outbox, until done.

Always in this order, because a notice queues mail: webinars.registrations.notices
turns new registrations into outbox rows (and reminders), webinars.mail.outbox
sends them.
"""

from __future__ import annotations

import threading

from flask import Flask

from ..mail import pump
from ..mail.outbox import Report, send_pending
from ..registrations.notices import process_due

# One delivery at a time per process (the pump's thread, the scheduler's
# jobs, an inline request): then at most one outbox message per process is
# inside an SMTP transaction at any moment, which is what bounds the
# duplicates a crash can cause (docs/operations.md, "Exactly once").
_one_at_a_time = threading.Lock()


def drain() -> Report:
    """Prepare every due notice and send every due message; returns the totals.

    Waits for a delivery already running in this process to end first.
    """
    total = Report()
    with _one_at_a_time, pump.delivering():
        while True:
            prepared = process_due()
            report = send_pending()
            total.sent += report.sent
            total.retried += report.retried
            total.failed += report.failed
            if report.again_in is not None:
                total.again_in = min(total.again_in or report.again_in, report.again_in)
            if report.unreachable:
                # Every message would meet the same closed door: try again
                # at the next pass (webinars.mail.retries.RELAY_PROBE).
                total.unreachable = True
                return total
            if not (prepared or report.sent or report.retried or report.failed):
                return total


def wire(app: Flask) -> None:
    """Make :func:`drain` what every commit that queued mail wakes (webinars.mail.pump)."""
    pump.install(app, drain)
