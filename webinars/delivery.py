"""After a commit: prepare what registrants must hear, then deliver the outbox.

Two steps, always in this order: :func:`webinars.notices.process_due` turns
new registrations into queued mail (and reminders), :func:`mail.send_pending`
sends the outbox. Who runs them is WEBINARS_MAIL_DELIVERY's choice:

* ``background`` (default): a daemon thread per process, woken right after
  each commit and every minute anyway, so mail goes out within seconds
  whether or not a scheduler process runs;
* ``inline``: in the caller's thread, before it returns (tests, the CLI);
* ``manual``: only the scheduler's sweep (and ``flask send-mail``).
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app

from . import mail, notices
from .extensions import db

log = logging.getLogger(__name__)


def drain() -> mail.Report:
    """Prepare every due notice and send every due message; returns the totals."""
    total = mail.Report()
    while True:
        prepared = notices.process_due()
        report = mail.send_pending()
        total.sent += report.sent
        total.retried += report.retried
        total.failed += report.failed
        if not (prepared or report.sent or report.retried or report.failed):
            return total


def deliver_after_commit() -> None:
    """Start the after-commit work as WEBINARS_MAIL_DELIVERY says."""
    mode = current_app.config.get("MAIL_DELIVERY", "background")
    if mode == "inline":
        try:
            drain()
        except Exception:
            # The change is committed: the person must get their answer, not
            # a 500; what was not sent stays queued for the sweep.
            log.exception("delivery after commit failed; the sweep will retry")
    elif mode == "background":
        _pump(current_app._get_current_object()).wake()


class _Pump:
    """A daemon thread that drains when woken, and every minute anyway."""

    def __init__(self, app: Flask):
        self.app = app
        self.wakeup = threading.Event()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.stopping = False

    def wake(self) -> None:
        with self.lock:
            # Started on first use, so that it runs in each forked worker.
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="webinars-mail",
                                               daemon=True)
                self.thread.start()
        self.wakeup.set()

    def stop(self) -> None:
        self.stopping = True
        self.wakeup.set()
        if self.thread is not None:
            self.thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            self.wakeup.wait(timeout=60)
            self.wakeup.clear()
            if self.stopping:
                return
            with self.app.app_context():
                try:
                    drain()
                except Exception:
                    log.exception("mail delivery failed; the sweep will retry")
                finally:
                    db.session.remove()


_pumps: dict[int, _Pump] = {}
_pumps_lock = threading.Lock()


def stop(app: Flask) -> None:
    """Stop this app's delivery thread (tests; a process exits without it)."""
    with _pumps_lock:
        pump = _pumps.pop(id(app), None)
    if pump is not None:
        pump.stop()


def _pump(app: Flask) -> _Pump:
    with _pumps_lock:
        return _pumps.setdefault(id(app), _Pump(app))
