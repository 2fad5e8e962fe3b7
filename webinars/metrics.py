"""What /metrics says, in Prometheus' text format: figures read from the database
at each scrape, and the counters this process (or every process) kept.

Two kinds of figure, kept apart on purpose:

* **Gauges read from the database** (:class:`DatabaseFigures`): registrations
  by status, the outbox, reminders due, the scheduler's heartbeat. One
  aggregate query per family, at scrape time. They describe the shared
  database, so whichever process answers gives the same figures, and they
  are never stored in a process (nor in PROMETHEUS_MULTIPROC_DIR), so they
  cannot be counted twice.
* **Counters kept by processes**: ``webinars_smtp_failures_total``
  (webinars.mail.transports), counted where the mail server's answer is
  judged, in whichever process sends: the scheduler, or a web worker's
  delivery thread. With ``PROMETHEUS_MULTIPROC_DIR`` set (it must be, in
  the environment of every process, before it starts: prometheus_client
  chooses its storage when its first metric is built) each process writes
  them to files there and a scrape sums every file
  (``MultiProcessCollector``), the scheduler's included. Without it, they
  are this process's own (one process: ``flask run``).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator
from datetime import datetime

import sqlalchemy as sa
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.exc import SQLAlchemyError

from .core import clock
from .core.db import db
from .core.errors import Unavailable
from .core.outages import is_outage
from .core.transactions import end_read
from .mail.outbox import UNSENT
from .models import OutboxMessage, Registration, RegistrationStatus, Reminder, ReminderStatus
from .worker import heartbeat

log = logging.getLogger(__name__)
CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def exposition() -> bytes:
    """The whole scrape: the database's figures, then the counters."""
    return generate_latest(_Scrape([DatabaseFigures(), _counters()]))


def _counters():
    path = os.environ.get(MULTIPROCESS_ENV)
    if path:
        # Every process's files, the dead ones' too: a counter never goes back.
        return MultiProcessCollector(None, path=path)
    return REGISTRY


class _Scrape:
    """Several collectors read as one registry, for one scrape (generate_latest only collects)."""

    def __init__(self, collectors: Iterable):
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def _age(now: datetime, then: datetime | None) -> float:
    return max((now - then).total_seconds(), 0.0) if then is not None else 0.0


class DatabaseFigures:
    """The gauges read from the database at each scrape (a prometheus_client collector).

    While the database cannot be reached it says so (``webinars_database_up 0``)
    and nothing else, so that the counters still get out.
    """

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("webinars_database_up",
                               "1 when this process could read the figures from the database")
        try:
            families = list(self._read())
        except (SQLAlchemyError, Unavailable) as exc:
            families = None
            # An outage is logged once, where it starts; anything else is a
            # fault of the code or the schema, logged with its traceback.
            if isinstance(exc, SQLAlchemyError) and not is_outage(exc):
                log.exception("could not read the figures for /metrics")
        finally:
            # A scrape writes nothing: no read transaction stays open (and a
            # dead connection is let go of without a fuss).
            with contextlib.suppress(SQLAlchemyError):
                end_read()
        up.add_metric([], 0 if families is None else 1)
        yield up
        yield from families or ()

    def _read(self) -> Iterator[Metric]:
        now = clock.now()
        session = db.session

        # The scheduler's heartbeat, read as /healthz reads it (and that checks
        # the database first: Unavailable when it cannot be reached).
        pulse = heartbeat.last("scheduler")
        beat = GaugeMetricFamily(
            "webinars_scheduler_heartbeat_age_seconds",
            "Seconds since the scheduler process last beat (no sample: it never did)")
        if pulse is not None:
            beat.add_metric([], max(pulse.age_seconds, 0.0))

        counts = dict(session.execute(
            sa.select(Registration.status, sa.func.count())
            .group_by(Registration.status)).all())
        registrations = GaugeMetricFamily(
            "webinars_registrations", "Registrations by status, all events", labels=["status"])
        for status in RegistrationStatus:
            registrations.add_metric([status.value], counts.get(status.value, 0))

        retrying = OutboxMessage.last_error != ""
        queued, waiting, failed, oldest = session.execute(sa.select(
            sa.func.count().filter(*UNSENT, sa.not_(retrying)),
            sa.func.count().filter(*UNSENT, retrying),
            sa.func.count().filter(OutboxMessage.sent_at.is_(None),
                                   OutboxMessage.failed_at.is_not(None)),
            sa.func.min(OutboxMessage.created_at).filter(*UNSENT),
        # Every figure is of unsent mail: ix_outbox_pending, not the whole table.
        ).where(OutboxMessage.sent_at.is_(None))).one()
        outbox = GaugeMetricFamily(
            "webinars_outbox_messages",
            "Mail not delivered: queued (not tried yet), retrying (a try failed, another "
            "will come), failed (given up)", labels=["state"])
        outbox.add_metric(["queued"], queued)
        outbox.add_metric(["retrying"], waiting)
        outbox.add_metric(["failed"], failed)
        oldest_age = GaugeMetricFamily(
            "webinars_outbox_oldest_unsent_age_seconds",
            "Age of the oldest mail still to be sent (queued or retrying); 0 when none")
        oldest_age.add_metric([], _age(now, oldest))

        due, first_due = session.execute(
            sa.select(sa.func.count(), sa.func.min(Reminder.due_at))
            .where(Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now)).one()
        reminders_due = GaugeMetricFamily(
            "webinars_reminders_due", "Reminders pending whose time has come")
        reminders_due.add_metric([], due)
        late = GaugeMetricFamily(
            "webinars_reminders_late_seconds",
            "How long the oldest due pending reminder has been due; 0 when none")
        late.add_metric([], _age(now, first_due))

        yield from (registrations, outbox, oldest_age, reminders_due, late, beat)
