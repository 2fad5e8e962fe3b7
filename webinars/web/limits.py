"""Rate limits at the doors where strangers can make us work or mail: registration and sign-in.

Flask-Limiter counts; the limits are settings (``RATELIMIT_*``, the README's
table) read at each request. Counts are shared by every worker when
``RATELIMIT_STORAGE_URL`` names a Redis server (production); in memory,
each process counts alone (``flask run``, one process). The client's
address is the socket's, or, behind ``TRUSTED_PROXIES`` proxies, the one
they saw (ProxyFix, in create_app): never a header anyone can send.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask, current_app, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address

from .. import accounts

# With its storage down (Redis restarting), the limiter counts in memory
# rather than failing every registration and sign-in with a 500.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True,
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


#: On registration: per client address, and per registered address (the
#: second is what keeps a register/cancel loop from mailing a victim).
TOO_MANY = "Too many tries; please wait a little, then try again. Nothing was saved."

registration = [
    limiter.limit(_setting("RATELIMIT_REGISTRATION_PER_IP"), methods=["POST"],
                  scope="registration-ip", error_message=TOO_MANY),
    limiter.limit(_setting("RATELIMIT_REGISTRATION_PER_ADDRESS"), methods=["POST"],
                  key_func=_address, scope="registration-address", error_message=TOO_MANY),
]

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
