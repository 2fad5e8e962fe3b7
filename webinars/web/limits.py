"""Rate limits at the doors where strangers can make us work or mail: registration and sign-in.

Flask-Limiter counts sign-ins and confirmations; registration, the door a
burst of real participants goes through, counts its limits in one storage
round trip (:class:`Counters`). The limits are settings (``RATELIMIT_*``,
the README's table) read at each request. Counts are shared by every worker when
``RATELIMIT_STORAGE_URL`` names a Redis server (production); in memory,
each process counts alone (``flask run``, one process). The client's
address is the socket's, or, behind ``TRUSTED_PROXIES`` proxies, the one
they saw (ProxyFix, in create_app): never a header anyone can send.
"""

from __future__ import annotations

import functools
import heapq
import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis
from flask import Flask, current_app, request
from flask_babel import lazy_gettext
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import TooManyRequests

from .. import accounts

log = logging.getLogger(__name__)

# With its storage down (Redis restarting), the limiter counts in memory
# rather than failing every registration and sign-in with a 500. No
# X-RateLimit-* headers on every answer: reading the window back costs a
# storage round trip per limit on each request (docs/performance.md); only
# a refusal says when to come back (Retry-After, in wire).
limiter = Limiter(key_func=get_remote_address, headers_enabled=False,
                  in_memory_fallback_enabled=True)


def _setting(name: str):
    return lambda: current_app.config[name]


def _address() -> str:
    """The email address a registration is for (API body or form), case folded."""
    if request.is_json:
        body = request.get_json(silent=True)
        email = body.get("email") if isinstance(body, dict) else None
    else:
        email = request.form.get("email")
    return email.strip().lower()[:254] if isinstance(email, str) else ""


def _account() -> str:
    """The account a sign-in is for."""
    email = request.form.get("email", "")
    return email.strip().lower()[:254]


def _failed_sign_in(response) -> bool:
    # The sign-in form answers 200 with the form again when the password
    # was wrong, 303 when it was right: only failures count.
    return response.status_code == 200


TOO_MANY = lazy_gettext("Too many tries; please wait a little, then try again. "
                        "Nothing was saved.")


class Counters:
    """Fixed windows for every limit of a request: counted here, shared through Redis.

    Flask-Limiter sends one command per limit and walks its decorators on
    each request: with Redis, registration's four windows cost a burst 30%
    of its rate, one script for all of them still 15-19%
    (docs/performance.md). So each process counts in its own memory first,
    and asks Redis only for a key it has seen before in this window: the
    burst of a programme's participants, each from an address of their own,
    never waits for Redis, while one address trying again goes through the
    shared count from its second try in a process on. The price: each
    process may let one try per key and window through that Redis has not
    heard of yet, so with W workers a limit of N lets at most N + W - 1
    through. A key's local tries go to Redis with its next one
    (:data:`_HIT`), so nothing is lost. With memory storage, or while Redis
    is down, the process's own count decides. Keys carry Flask-Limiter's
    prefix, so its ``reset()`` clears them too.
    """

    def __init__(self, storage_url: str):
        # Flask-Limiter's name for a Redis on a Unix socket is redis+unix://; redis-py's unix://.
        url = storage_url.replace("redis+unix://", "unix://", 1)
        self.redis = (redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
                      if url.startswith(("redis://", "rediss://", "unix://")) else None)
        self.script = self.redis.register_script(_HIT) if self.redis is not None else None
        self.local: dict[str, _Local] = {}
        self.expiring: list[tuple[float, str]] = []  # a heap: (when, key)
        self.lock = threading.Lock()
        self.redis_down = False
        self.retry_redis_at = 0.0  # while it is down, tried again every RETRY_REDIS seconds

    def hit(self, windows: list[tuple[RateLimitItem, str, str]]) -> int | None:
        """Count one hit in each ``(limit, scope, key)``; seconds to wait if any is over."""
        now = time.monotonic()
        keys = [f"LIMITS:{item.key_for(scope, key)}" for item, scope, key in windows]
        with self.lock:
            self._forget_expired(now)
            counts = [self._count_here(k, item, now) for k, (item, _, _) in zip(
                keys, windows, strict=True)]
            seen_before = any(entry.total > 1 for entry in counts)
            unsent = [(k, item, entry, entry.unsent) for k, (item, _, _), entry in zip(
                keys, windows, counts, strict=True) if entry.unsent]
        answer = None
        if (self.redis is not None and seen_before and unsent
                and now >= self.retry_redis_at):
            answer = self._redis_hit(unsent)
        if answer is not None:
            with self.lock:  # another thread may have counted meanwhile: keep its tries
                for _, _, entry, sent in unsent:
                    entry.unsent -= sent
            totals = [(count, ttl, item) for (count, ttl), (_, item, _, _) in zip(
                answer, unsent, strict=True)]
        else:
            totals = [(entry.total, entry.expires - now, item)
                      for entry, (item, _, _) in zip(counts, windows, strict=True)]
        waits = [ttl for count, ttl, item in totals if count > item.amount]
        return max(1, math.ceil(max(waits))) if waits else None

    def _count_here(self, key: str, item: RateLimitItem, now: float) -> _Local:
        entry = self.local.get(key)
        if entry is None or entry.expires <= now:
            entry = self.local[key] = _Local(expires=now + item.get_expiry())
            heapq.heappush(self.expiring, (entry.expires, key))
        entry.total += 1
        entry.unsent += 1
        return entry

    def _forget_expired(self, now: float) -> None:
        while self.expiring and self.expiring[0][0] <= now:
            when, key = heapq.heappop(self.expiring)
            entry = self.local.get(key)
            if entry is not None and entry.expires == when:
                del self.local[key]

    def _redis_hit(self, unsent) -> list[tuple[int, float]] | None:
        args = []
        for _, item, _, sent in unsent:
            args += [sent, item.get_expiry()]
        try:
            answer = self.script(keys=[k for k, _, _, _ in unsent], args=args)
        except redis.RedisError:
            if not self.redis_down:
                log.warning("Rate limit storage unreachable: counting in memory meanwhile")
            self.redis_down = True
            self.retry_redis_at = time.monotonic() + RETRY_REDIS
            return None
        if self.redis_down:
            log.warning("Rate limit storage is back")
        self.redis_down = False
        return list(zip(answer[::2], answer[1::2], strict=True))


@dataclass
class _Local:
    """One key's window in this process: its tries, and those Redis has not been told of."""

    expires: float
    total: int = 0
    unsent: int = 0


#: Seconds between tries of a Redis that was down (each may wait for its timeout).
RETRY_REDIS = 5

# Every window of a request, counted in one command: INCRBY the tries this
# process has not sent yet, a new key's expiry, and the seconds left
# (atomic, as Redis runs a script alone). ARGV holds (tries, seconds) pairs.
_HIT = """
local out = {}
for i, key in ipairs(KEYS) do
  local tries = tonumber(ARGV[2 * i - 1])
  local count = redis.call('INCRBY', key, tries)
  if count == tries then redis.call('EXPIRE', key, ARGV[2 * i]) end
  out[2 * i - 1] = count
  out[2 * i] = redis.call('TTL', key)
end
return out
"""


@functools.lru_cache(maxsize=32)
def _windows(setting: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(setting))


def registration(view):
    """Registration's limits: per client address, and per registered address.

    The second keeps a register/cancel loop, or a stranger repeating the
    form, from mailing one address over and over.
    """
    @functools.wraps(view)
    def limited_view(*args, **kwargs):
        config = current_app.config
        if request.method == "POST" and config["RATELIMIT_ENABLED"]:
            client, address = get_remote_address(), _address()
            windows = [(item, "registration-ip", client)
                       for item in _windows(config["RATELIMIT_REGISTRATION_PER_IP"])]
            windows += [(item, "registration-address", address)
                        for item in _windows(config["RATELIMIT_REGISTRATION_PER_ADDRESS"])]
            wait = current_app.extensions["webinars-counters"].hit(windows)
            if wait is not None:
                raise TooManyRequests(str(TOO_MANY), retry_after=wait)
        return view(*args, **kwargs)
    limited_view.counted_by_counters = True
    return limited_view


@limiter.request_filter
def _counted_elsewhere() -> bool:
    # Flask-Limiter has nothing to count at registration: without this its
    # own check of each request there cost a burst more than the counting.
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "counted_by_counters", False)


#: On confirming a mailed link: per client address, against guessing tokens.
confirmation = limiter.limit(_setting("RATELIMIT_REGISTRATION_PER_IP"), methods=["POST"],
                             scope="confirmation-ip", error_message=TOO_MANY)

def _locked_out(breach: RequestLimit) -> None:
    """The account's failures reached a limit: its owner is told, once per window."""
    accounts.warn_of_lockout(_account(), request.remote_addr or "an unknown address",
                             until=datetime.fromtimestamp(breach.reset_at, UTC),
                             window=timedelta(seconds=breach.limit.get_expiry()))


#: On sign-in: tries per client address, and failures per account. Once an
#: account's failures reach the limit even the right password waits, and
#: its owner gets a mail. Each limit of the setting holds on its own, so
#: the delays grow: with "5 per 15 minutes; 20 per day", the fifth failure
#: pauses sign-in for up to 15 minutes, the twentieth until the day's
#: window ends.
sign_in = [
    limiter.limit(_setting("RATELIMIT_SIGN_IN_PER_IP"), methods=["POST"], scope="sign-in-ip",
                  error_message=TOO_MANY),
    limiter.limit(_setting("RATELIMIT_SIGN_IN_FAILURES"), methods=["POST"], key_func=_account,
                  deduct_when=_failed_sign_in, scope="sign-in-account",
                  error_message=TOO_MANY, on_breach=_locked_out),
]


def limited(*limits):
    """Apply several of the limits above to one view."""
    def decorate(view):
        for limit in reversed(limits):
            view = limit(view)
        return view
    return decorate


def wire(app: Flask) -> None:
    """Start counting for ``app``, with its storage (RATELIMIT_STORAGE_URL)."""
    app.config["RATELIMIT_STORAGE_URI"] = app.config["RATELIMIT_STORAGE_URL"]
    limiter.init_app(app)
    app.extensions["webinars-counters"] = Counters(app.config["RATELIMIT_STORAGE_URL"])

    @app.after_request
    def retry_after(response):
        breached = limiter.current_limit if response.status_code == 429 else None
        if breached is not None:
            response.headers["Retry-After"] = str(max(1, math.ceil(
                breached.reset_at - time.time())))
        return response
