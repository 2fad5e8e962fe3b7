"""When to try again a message the mail server did not take: soon, and sooner as its session nears.

For the outbox and for reminders alike. Two kinds of "not now":

* the server answered 4xx (greylisting, a full mailbox, a rate limit): the
  message itself is tried again after :func:`delay`, 15 s at first and
  doubling, but never later than a tenth of the time left before the
  session it tells of (so with ten minutes left, every minute at most), and
  given up after MAX_ATTEMPTS answers;
* the server did not answer at all (refused, dropped, timed out): the relay
  is down, not the message. It is tried again after RELAY_PROBE, with no
  attempt counted and no end, so that mail follows within seconds once the
  relay answers; the relay's outage is logged once (webinars.mail.transports).
"""

from __future__ import annotations

from datetime import datetime, timedelta

#: 4xx answers after which a message is given up (about three hours without a session near).
MAX_ATTEMPTS = 12
#: How soon a message is tried again when the relay did not answer.
RELAY_PROBE = timedelta(seconds=5)

_FIRST = 15.0
_CEILING = 1800.0
# A session in under 50 s still waits this long between tries: mail servers
# that greylist refuse anything sooner, and hammering them does not help.
_FLOOR = 5.0
# A session that has begun: its join link still matters until it ends.
_STARTED = 60.0


def delay(attempts: int, now: datetime, starts_at: datetime | None) -> timedelta:
    """How long to wait before the next try, after ``attempts`` 4xx answers."""
    wait = min(_FIRST * 2 ** max(attempts - 1, 0), _CEILING)
    if starts_at is not None:
        left = (starts_at - now).total_seconds()
        wait = min(wait, max(_FLOOR, left / 10) if left > 0 else _STARTED)
    return timedelta(seconds=wait)


def exhausted(attempts: int) -> bool:
    """Whether a message refused ``attempts`` times for now is to be given up."""
    return attempts >= MAX_ATTEMPTS
