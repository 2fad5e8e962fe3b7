"""Claims: a message a sender is about to send belongs to a live process, not to a timer.

Both senders (webinars.mail.outbox and webinars.reminders.sending) take
their rows with :func:`take`. A claim writes two things on the rows:

* ``claimed_by``, the sending process's name. The process proves it is
  alive with a heartbeat row of that name, beaten every BEAT_SECONDS by a
  thread of its own for as long as it holds a claim, however long its mail
  server takes to answer. Another sender takes such a row over only once
  that heartbeat is older than TAKEOVER_SECONDS (or gone): a killed
  process's work resumes within seconds, and a slow one's is never taken.
* ``claim_token``, a fencing token new with each claim. Just before each
  SMTP transaction the sender asks :meth:`Claim.still_mine`: is the row
  still carrying my token, and still unsent? A row taken over, cancelled,
  rescheduled or sent meanwhile fails the check and is not sent. The same
  check refuses when the process's own last beat has not reached the
  database for DOUBT_SECONDS: cut off from the database, it must assume
  that it is presumed dead, and stop before anyone takes over.

What is left: a message whose server answered 250 but whose mark did not
land (the process died in between) is sent again by the next owner, one
per sender thread at most (docs/operations.md, "The duplicate window").

Liveness is judged on the real clock (:func:`webinars.core.clock.wall`),
since it is another process that judges it.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app

from .core import clock
from .core.outages import is_outage
from .core.transactions import autocommit_connection, claim, write_transaction
from .models import Heartbeat

log = logging.getLogger(__name__)

#: How often a process holding claims says it is alive.
BEAT_SECONDS = 2.0
#: A sender whose heartbeat is older than this is dead: its rows may be taken over.
TAKEOVER_SECONDS = 10.0
#: A sender whose own beats have not landed for this long stops sending:
#: the others will soon take it for dead. Well below TAKEOVER_SECONDS, so
#: that it stops before anyone takes over, even on a clock a little apart.
DOUBT_SECONDS = 6.0
#: Heartbeats of senders gone this long are deleted (:func:`forget_gone`).
FORGET_AFTER = timedelta(hours=1)

PREFIX = "sender:"
_KEY = "webinars.claims"
_heartbeats = Heartbeat.__table__


def free(model, sender: _Sender | None = None) -> sa.ColumnElement[bool]:
    """Rows of ``model`` nobody alive holds: never claimed, released, or held by the dead.

    ``sender`` (the one about to claim) may also take back its own rows that
    no open claim of its holds: a release that failed (the database went
    away mid-batch) leaves them with its name, and its heartbeat, beating
    on, would keep them from everyone else for ever.
    """
    alive_since = clock.wall() - timedelta(seconds=TAKEOVER_SECONDS)
    # claimed_at as well as the heartbeat: on PostgreSQL a claimer whose
    # statement began before the owner's fresh beat committed still reads
    # the old beat, but it rereads a row claimed since (and its claimed_at).
    dead = sa.and_(sa.or_(model.claimed_at.is_(None), model.claimed_at < alive_since),
                   ~sa.exists().where(
                       Heartbeat.name == model.claimed_by, Heartbeat.beat_at > alive_since))
    if sender is None:
        return sa.or_(model.claimed_by.is_(None), dead)
    return sa.or_(model.claimed_by.is_(None), dead, sa.and_(
        model.claimed_by == sender.name, model.claim_token.not_in(sender.open_tokens())))


def held(model) -> sa.ColumnElement[bool]:
    """Rows of ``model`` a live sender holds now (an organizer's change must wait for it)."""
    return sa.not_(free(model))


def take(model, *conditions, order_by, limit: int) -> Claim | None:
    """Claim up to ``limit`` free rows of ``model`` matching ``conditions``, in order.

    Returns None when there are none. Otherwise use the claim as a context
    manager: while it is open this process beats for it, and at its end
    whatever it did not mark is released for others.
    """
    sender = _sender(current_app._get_current_object())
    token = secrets.token_hex(8)
    sender.hold(token)  # before the claim: a sibling thread must not take these back
    try:
        if sender.stale():  # the claim must not be older than its proof of life
            sender.beat()
        with write_transaction():
            ids = claim(model, *conditions, free(model, sender), order_by=order_by, limit=limit,
                        values={"claimed_by": sender.name, "claim_token": token,
                                "claimed_at": clock.wall()})
    except BaseException:
        sender.let_go(token)
        raise
    if not ids:
        sender.let_go(token)
        return None
    return Claim(model, ids, token, sender)


class Claim:
    """Rows one sender took at once, and the token that proves they are still its own."""

    def __init__(self, model, ids: list[int], token: str, sender: _Sender):
        self.model, self.ids, self.token, self.sender = model, ids, token, sender
        self._mine = sa.select(model.id).where(
            model.id == sa.bindparam("row"), model.claim_token == token)

    def still_mine(self, conn: sa.Connection, row_id: int, *conditions) -> bool:
        """Whether this sender may send row ``row_id`` now (and it meets ``conditions``).

        One SELECT on ``conn``, refused without asking when this process's
        own heartbeat has not landed for DOUBT_SECONDS.
        """
        if not self.sender.sure():
            return False
        return conn.execute(self._mine.where(*conditions), {"row": row_id}).first() is not None

    def mine(self) -> sa.ColumnElement[bool]:
        """The condition a mark adds, so that it never lands on a row taken over."""
        return self.model.claim_token == self.token

    def release(self, conn: sa.Connection, **values) -> None:
        """Give back every row still held under this claim, setting ``values`` on them."""
        conn.execute(sa.update(self.model).where(self.mine())
                     .values(claimed_by=None, claim_token=None, claimed_at=None, **values))

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            with autocommit_connection() as conn:
                self.release(conn)
        except Exception as exc:
            # Unreleased rows are this sender's next claim's to take back (free()).
            if not is_outage(exc):
                log.exception("could not release claimed rows; this process takes them back")
        finally:
            self.sender.let_go(self.token)


def forget_gone() -> int:
    """Delete the heartbeats of senders gone for FORGET_AFTER; returns how many (the sweep)."""
    with autocommit_connection() as conn:
        return conn.execute(sa.delete(_heartbeats).where(
            _heartbeats.c.name.startswith(PREFIX, autoescape=True),
            _heartbeats.c.beat_at < clock.wall() - FORGET_AFTER)).rowcount or 0


def stop(app: Flask) -> None:
    """Wait for this app's heartbeat thread to end (tests; it ends with the last claim)."""
    sender: _Sender | None = app.extensions.get(_KEY)
    if sender is not None:
        sender.join()


def _sender(app: Flask) -> _Sender:
    sender: _Sender | None = app.extensions.get(_KEY)
    if sender is None or sender.pid != os.getpid():
        # New after a fork: a forked worker is another sender, with a name of its own.
        sender = app.extensions[_KEY] = _Sender(app)
    return sender


class _Sender:
    """This process as a sender: its name, its heartbeat, and the thread that beats it."""

    def __init__(self, app: Flask):
        self.app = app
        self.pid = os.getpid()
        self.name = f"{PREFIX}{socket.gethostname()[:24]}:{self.pid}:{secrets.token_hex(4)}"
        self.lock = threading.Lock()
        self.beating = threading.Lock()  # one beat at a time: the first inserts the row
        self.holders: set[str] = set()  # the tokens of its open claims
        self.landed = float("-inf")  # monotonic time the last beat reached the database
        self.wakeup = threading.Event()
        self.thread: threading.Thread | None = None

    def hold(self, token: str) -> None:
        with self.lock:
            self.holders.add(token)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="webinars-claims",
                                               daemon=True)
                self.thread.start()

    def let_go(self, token: str) -> None:
        with self.lock:
            self.holders.discard(token)
            if not self.holders:
                self.wakeup.set()

    def open_tokens(self) -> list[str]:
        with self.lock:
            return sorted(self.holders)

    def join(self) -> None:
        self.wakeup.set()
        thread = self.thread
        if thread is not None:
            thread.join(timeout=30)

    def stale(self) -> bool:
        return time.monotonic() - self.landed > BEAT_SECONDS

    def sure(self) -> bool:
        return time.monotonic() - self.landed < DOUBT_SECONDS

    def beat(self) -> None:
        """Write this sender's heartbeat now (an UPDATE, or the first time an INSERT)."""
        with self.beating:
            started = time.monotonic()
            now: datetime = clock.wall()
            with autocommit_connection() as conn:
                updated = conn.execute(sa.update(_heartbeats).where(
                    _heartbeats.c.name == self.name).values(beat_at=now)).rowcount
                if not updated:
                    conn.execute(sa.insert(_heartbeats).values(
                        name=self.name, beat_at=now, detail=f"sending, pid {self.pid}"))
            self.landed = started

    def _run(self) -> None:
        with self.app.app_context():
            while True:
                self.wakeup.wait(BEAT_SECONDS)
                self.wakeup.clear()
                with self.lock:
                    if not self.holders:
                        self.thread = None
                        return
                try:
                    self.beat()
                except Exception as exc:
                    # Its senders stop by themselves once DOUBT_SECONDS pass.
                    if not is_outage(exc):
                        log.exception("%s could not beat", self.name)
