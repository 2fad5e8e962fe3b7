"""When mail leaves after a commit: WEBINARS_MAIL_DELIVERY's choice, for every process.

:func:`wake` is what a write transaction runs after its commit when it
queued mail or promised some (``webinars.mail.outbox.queue``, a new
registration's notice). It runs the app's delivery work, which the worker
installs (:func:`install`; webinars.worker.drain: compose due notices, then
send the outbox), so this package needs to know nothing of what the work is:

* ``background`` (default): a daemon thread per process, woken right after
  each commit, when a retry it set falls due, and every minute anyway, so
  mail goes out within seconds whether or not a scheduler process runs;
* ``inline``: in the caller's thread, before it returns (tests; the CLI's
  commands that send mail switch ``background`` to it, webinars.cli);
* ``manual``: only the scheduler's sweep (and ``flask send-mail``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

from flask import Flask, current_app

from ..core.db import db
from ..core.outages import is_outage

log = logging.getLogger(__name__)

_KEY = "webinars.pump"
_IDLE_SECONDS = 60.0
# Set while this thread does the delivery work: the commits of that work
# wake nothing, since the work goes on until nothing is left.
_working = threading.local()


def install(app: Flask, work: Callable[[], object]) -> None:
    """Make ``work`` (called in an app context) what :func:`wake` runs for ``app``."""
    app.extensions[_KEY] = _Pump(app, work)


def wake() -> None:
    """Deliver what was just committed, as WEBINARS_MAIL_DELIVERY says."""
    pump: _Pump | None = current_app.extensions.get(_KEY)
    if pump is None or getattr(_working, "active", False):
        return
    mode = current_app.config.get("MAIL_DELIVERY", "background")
    if mode == "inline":
        try:
            pump.run_here()
        except Exception as exc:
            # The change is committed: the person must get their answer, not
            # a 500; what was not sent stays queued for the sweep.
            if not is_outage(exc):  # an outage is logged once, where it starts
                log.exception("delivery after commit failed; the sweep will retry")
    elif mode == "background":
        pump.wake()


@contextlib.contextmanager
def delivering() -> Iterator[None]:
    """Mark this thread as doing the delivery work: what it commits meanwhile wakes nothing."""
    before = getattr(_working, "active", False)
    _working.active = True
    try:
        yield
    finally:
        _working.active = before


def stop(app: Flask) -> None:
    """Stop this app's delivery thread (tests; a process exits without it)."""
    pump: _Pump | None = app.extensions.get(_KEY)
    if pump is not None:
        pump.stop()


class _Pump:
    """A daemon thread that does the work when woken, and every minute anyway.

    Sooner when the work says so: a result with ``again_in`` seconds (a
    retry it set, webinars.mail.outbox.Report) is woken then.
    """

    def __init__(self, app: Flask, work: Callable[[], object]):
        self.app = app
        self.work = work
        self.wakeup = threading.Event()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.stopping = False

    def run_here(self) -> object:
        with delivering():
            return self.work()

    def wake(self) -> None:
        with self.lock:
            # Started on first use, so that it runs in each forked worker.
            if self.thread is None or not self.thread.is_alive():
                self.stopping = False
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
        wait = _IDLE_SECONDS
        while True:
            self.wakeup.wait(timeout=wait)
            self.wakeup.clear()
            if self.stopping:
                return
            wait = _IDLE_SECONDS
            with self.app.app_context():
                try:
                    again_in = getattr(self.run_here(), "again_in", None)
                    if again_in is not None:
                        wait = min(max(again_in, 1.0), _IDLE_SECONDS)
                except Exception as exc:
                    if not is_outage(exc):  # an outage is logged once, where it starts
                        log.exception("mail delivery failed; the sweep will retry")
                finally:
                    db.session.remove()
