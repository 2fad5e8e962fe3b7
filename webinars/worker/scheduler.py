"""APScheduler wiring: it decides *when* the senders run, never *what* they send.

Jobs: one ``date`` job, ``reminder:next``, at the moment the next pending
reminder falls due or is retried, set again after every pass and at every
``mail`` poll (so a reminder planned or moved by another process, a web
worker most often, gets its wake-up within a poll, not at the next sweep);
an ``interval`` sweep that first, once per start, moves sessions whose
zone's rules changed (a tzdata update arrives with a deploy, so a start is
when it can have happened, and it must come before any reminder is judged
due), then sends whatever is due (downtime, claims of a dead process),
forgets dead senders and registration requests nobody confirmed in time;
a ``heartbeat`` job as often, on its own so that a long fan-out or a slow
relay does not make the scheduler look dead to
/healthz; and the short ``mail`` poll (every MAIL_POLL_SECONDS, default 2)
that delivers what web workers queued.

The scheduler runs in UTC with aware datetimes. Misfire policy: jobs have no
grace limit (``misfire_grace_time=None``) and coalesce, because lateness is
judged by :func:`webinars.reminders.sending.send_due` itself: late but before the
session starts, send; after it starts, skip and record. The job store is in
memory on purpose: the database rows are the truth and are read again at
every start, so nothing is lost with the process.

Where it runs: ``flask --app webinars scheduler`` (its own process, for
production next to gunicorn workers started with WEBINARS_SCHEDULER=off), or
a background thread of ``flask run`` with WEBINARS_SCHEDULER=embedded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import click
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from .. import claims
from ..core.db import db
from ..core.outages import is_outage
from ..events.service import refresh_timezones
from ..registrations import erasure, followups, verification
from ..reminders import queries as reminder_queries
from ..reminders.sending import send_due
from . import drain, heartbeat

log = logging.getLogger(__name__)
NEXT_JOB = "reminder:next"

# The reminder senders (send_due) are threads that mostly wait for the mail
# server and the database. Each wait ends with the thread asking for the GIL
# back, and at Python's default switch interval it can wait a whole interval
# whenever another thread runs Python for longer (loading a batch, most
# likely), while the mail server sits idle: fan-out step 5 in
# docs/performance.md.
SWITCH_INTERVAL = 0.0005


# No statement of the scheduler's runs for long (the largest, the stale
# reminders of a 10,000-row fan-out, takes 0.2 s: docs/performance.md); one
# that does is stuck behind a lock or a plan gone wrong, and holds up every
# reminder behind it. Cut it off and let the next run try again.
STATEMENT_TIMEOUT = "60s"


def prepare_process(app: Flask) -> None:
    """Tune a process that runs only the scheduler: GIL handover and its database sessions.

    Sets the switch interval to SWITCH_INTERVAL for the whole process, which
    suits ``flask scheduler`` (it serves no requests), and a statement
    timeout on its PostgreSQL sessions. Never call it in a web worker, under
    ``flask run`` (the embedded scheduler) or in tests.
    """
    sys.setswitchinterval(SWITCH_INTERVAL)
    app.config["DATABASE_SETTINGS"]["statement_timeout"] = STATEMENT_TIMEOUT
    with app.app_context():
        db.engine.dispose()  # connections made before the change would lack it


class Runner:
    """The jobs, each run inside an app context with its own database session."""

    def __init__(self, app: Flask, scheduler: BaseScheduler):
        self.app = app
        self.scheduler = scheduler
        self.refreshed = False  # the time-zone refresh of this start is done
        # One reminder pass at a time (the sweep's or the wake-up's): a pass
        # sends everything due, and then at most REMINDER_SENDERS threads of
        # this process are inside an SMTP transaction (docs/operations.md).
        # While it runs, what it is sending still looks due: no wake-up then;
        # the pass sets the next one when it ends.
        self.sending = threading.Lock()
        self.woken_for: datetime | None = None

    @contextlib.contextmanager
    def _job(self) -> Iterator[None]:
        # Each job runs in an app context, with a database session of its own.
        # During a database outage it gives up quietly (the outage is logged
        # once, where it starts) and the next run tries again.
        with self.app.app_context():
            try:
                yield
            except Exception as exc:
                if not is_outage(exc):
                    raise
            finally:
                db.session.remove()

    def beat(self) -> None:
        """Say this scheduler runs jobs (for /healthz), however long a pass or delivery takes."""
        with self._job():
            heartbeat.beat("scheduler", f"pid {os.getpid()}")

    def sweep(self) -> None:
        """Refresh time zones once, send what is due, forget dead senders and stale requests."""
        with self._job():
            if not self.refreshed:
                refresh_timezones()
                self.refreshed = True
            self._send_due()
            claims.forget_gone()
            verification.forget_expired()
            erasure.retain()
            self.wake(after_pass=True)

    def mail(self) -> None:
        """Compose due confirmations, deliver the outbox, and see when reminders are next due."""
        with self._job():
            self.wake()  # first: a long delivery must not hold up a reminder's wake-up
            followups.send_due()  # here, not in the pump's drain: a burst need not ask
            drain.drain()

    def fire(self) -> None:
        """Reminders fell due: send every due reminder, then wait for the next."""
        with self._job():
            self._send_due()
            self.wake(after_pass=True)

    def _send_due(self) -> None:
        if not self.sending.acquire(blocking=False):
            return  # the running pass sends what is due, and sets the next wake-up
        try:
            report = send_due()
        finally:
            self.sending.release()
        if report.sent or report.skipped or report.failed or report.retried:
            log.info("reminders: %s", report)

    def wake(self, *, after_pass: bool = False) -> None:
        """Keep ``reminder:next`` at the moment the next reminder falls due or is retried.

        A reminder still due right after a pass is another live sender's
        (or its claim is being taken over): the next mail poll, not this
        pass, runs again for it, so that waiting costs a pass per poll
        rather than a busy loop.
        """
        if self.sending.locked() or not self.refreshed:
            return  # no pass before this start's time-zone refresh (see the sweep)
        when = reminder_queries.next_wake()
        if when is None or after_pass and when <= datetime.now(UTC):
            return
        if when == self.woken_for and self.scheduler.get_job(NEXT_JOB):
            return
        self.woken_for = when
        self.scheduler.add_job(self.fire, "date", run_date=max(when, datetime.now(UTC)),
                               id=NEXT_JOB, replace_existing=True)


def build(app: Flask, *, blocking: bool) -> BaseScheduler:
    """A UTC scheduler with the sweep job, not started."""
    kind = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = kind(timezone=UTC, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
    runner = Runner(app, scheduler)
    sweep_seconds = int(app.config.get("SCHEDULER_SWEEP_SECONDS", 60))
    scheduler.add_job(runner.beat, "interval", seconds=sweep_seconds, id="heartbeat",
                      next_run_time=datetime.now(UTC))
    scheduler.add_job(runner.sweep, "interval", seconds=sweep_seconds, id="sweep",
                      next_run_time=datetime.now(UTC))
    # Web workers started with WEBINARS_MAIL_DELIVERY=manual leave their mail
    # to this poll: they then spend nothing but the seat decision on a request.
    scheduler.add_job(runner.mail, "interval",
                      seconds=float(app.config.get("MAIL_POLL_SECONDS", 2)), id="mail")
    return scheduler


_embedded: BackgroundScheduler | None = None
_embedded_lock = threading.Lock()


def start_embedded(app: Flask) -> None:
    """Start the background-thread scheduler, once per process."""
    global _embedded
    with _embedded_lock:
        if _embedded is None:
            _embedded = build(app, blocking=False)
            _embedded.start()
            log.info("embedded scheduler started in pid %s", os.getpid())


def wire(app: Flask) -> None:
    """Start the embedded scheduler when this process will serve requests.

    Under ``flask run`` it starts now, in the process that serves (with the
    debug reloader, the child, never the watching parent). Under another
    server (gunicorn with WEBINARS_SCHEDULER=embedded) it starts with the
    first request. CLI commands and tests never start one.
    """
    if app.config.get("SCHEDULER") != "embedded" or app.testing:
        return
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.info_name == "run":
        reloading = ctx.params.get("reload")
        if reloading is None:
            reloading = app.debug
        if not reloading or os.environ.get("WERKZEUG_RUN_MAIN") == "true":
            start_embedded(app)
        return
    if ctx is not None:
        return  # another CLI command: no scheduler
    app.before_request(lambda: start_embedded(app))
