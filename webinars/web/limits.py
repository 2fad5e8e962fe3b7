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
import logging
import math
import time
from datetime import UTC, datetime, timedelta

import redis
from flask import Flask, current_app, request
from flask_babel import lazy_gettext
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
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
    """Fixed windows for every limit of a request, counted in one storage round trip.

    Flask-Limiter sends one command per limit and walks its decorators on
    each request: with Redis, registration's four windows cost a burst 30%
    of its rate, one window still 18% (docs/performance.md). Here all of
    them are one script (:data:`_HIT`), on the same storage URL; with
    memory storage, or while Redis is down, the counts are this process's
    (as Flask-Limiter's fallback does).
    Keys carry Flask-Limiter's prefix, so its ``reset()`` clears them too.
    """

    def __init__(self, storage_url: str):
        # Flask-Limiter's name for a Redis on a Unix socket is redis+unix://; redis-py's unix://.
        url = storage_url.replace("redis+unix://", "unix://", 1)
        self.redis = (redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
                      if url.startswith(("redis://", "rediss://", "unix://")) else None)
        self.script = self.redis.register_script(_HIT) if self.redis is not None else None
        self.memory = MemoryStorage()
        self.redis_down = False
        self.retry_redis_at = 0.0  # while it is down, tried again every RETRY_REDIS seconds

    def hit(self, windows: list[tuple[RateLimitItem, str, str]]) -> int | None:
        """Count one hit in each ``(limit, scope, key)``; seconds to wait if any is over."""
        keys = [f"LIMITS:{item.key_for(scope, key)}" for item, scope, key in windows]
        counts = None
        if self.redis is not None and time.monotonic() >= self.retry_redis_at:
            counts = self._redis_hit(keys, windows)
        if counts is None:
            counts = [(self.memory.incr(k, item.get_expiry()),
                       self.memory.get_expiry(k) - time.time())
                      for k, (item, _, _) in zip(keys, windows, strict=True)]
        waits = [ttl for (count, ttl), (item, _, _) in zip(counts, windows, strict=True)
                 if count > item.amount]
        return max(1, math.ceil(max(waits))) if waits else None

    def _redis_hit(self, keys, windows) -> list[tuple[int, float]] | None:
        try:
            answer = self.script(keys=keys, args=[item.get_expiry() for item, _, _ in windows])
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


#: Seconds between tries of a Redis that was down (each may wait for its timeout).
RETRY_REDIS = 5

# Every window of a request, counted in one command: INCR, a new key's
# expiry, and the seconds left (atomic, as Redis runs a script alone).
_HIT = """
local out = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[i]) end
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
