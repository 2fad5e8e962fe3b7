"""Configuration: safe defaults for a laptop, overridden by ``WEBINARS_*`` variables.

Order: these defaults, then ``instance/config.py`` if present, then every
``WEBINARS_<NAME>`` environment variable (Flask's ``from_prefixed_env``, so
``WEBINARS_SMTP_URL=...`` sets ``SMTP_URL``), then the test config.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

DEFAULTS = {
    # SQLite in the instance folder when unset; postgresql+psycopg://... in production.
    "DATABASE_URL": None,
    # Absolute links in mails and calendars point here.
    "BASE_URL": "http://127.0.0.1:5000",
    # embedded: a thread in the web process; off: none (run `flask scheduler`).
    "SCHEDULER": "embedded",
    # smtp://user:pass@host:port (?starttls=1); unset: .eml files in instance/outbox/.
    "SMTP_URL": None,
    "MAIL_FROM": "Webinars <webinars@localhost>",
    # background: a thread per process sends right after each commit;
    # inline: send in the request itself (tests); manual: only the sweep sends.
    "MAIL_DELIVERY": "background",
    # Requests larger than this are refused with 413 before any parsing.
    "MAX_CONTENT_LENGTH": 256 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,
    # text (as Flask and gunicorn log) or json: one JSON object a line.
    "LOG_FORMAT": "text",
    # /healthz answers 503 when the scheduler's last heartbeat is older than
    # this many seconds; None reports its age without judging it.
    "HEALTH_SCHEDULER_MAX_AGE": None,
    # Addresses and networks (comma-separated: "10.0.0.0/8, 192.0.2.7") whose
    # requests may read /metrics without an organizer's API token.
    "METRICS_ALLOW": "",
    # Dead connections are found by webinars.core.db.ping_when_idle.
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    # Rate limits (webinars.web.limits; "N per minute; M per hour" strings).
    # false turns them off (load tests).
    "RATELIMIT_ENABLED": True,
    # memory:// counts per process; redis://host:6379 shares the counts
    # between every worker, as production needs.
    "RATELIMIT_STORAGE_URL": "memory://",
    # A room of participants may share one address (a university's NAT).
    "RATELIMIT_REGISTRATION_PER_IP": "20 per minute; 200 per hour",
    "RATELIMIT_REGISTRATION_PER_ADDRESS": "5 per hour; 10 per day",
    "RATELIMIT_SIGN_IN_PER_IP": "20 per minute; 100 per hour",
    "RATELIMIT_SIGN_IN_FAILURES": "5 per 15 minutes; 20 per day",
    # A registration form sent sooner than this after it was shown was sent
    # by a script (webinars.registrations.bots); people need far longer.
    "REGISTRATION_FORM_MIN_SECONDS": 3,
    # Which events make a registrant confirm their address by mail before a
    # seat is decided, when the event does not say (its verify_email):
    # "limited" (events with a capacity), "always" or "never".
    "VERIFY_EMAIL": "limited",
    # Days after an event ends after which its registrants' personal data is
    # erased (webinars.registrations.erasure.retain); an event may say
    # otherwise (its retention_days). 0 keeps it for ever.
    "RETENTION_DAYS": 365,
    # Proxies in front of the app whose X-Forwarded-For (and -Proto, -Host)
    # are believed (ProxyFix); 0: the socket's address is the client's.
    "TRUSTED_PROXIES": 0,
    # PostgreSQL settings for every session of this process (webinars.core.db.
    # apply_settings): what keeps a dead or frozen client from holding locks
    # that the living wait for. docs/operations.md says why each value.
    "DATABASE_SETTINGS": {
        # A client that died mid-statement is noticed within 2 s, not when
        # the statement ends (it ran 102 s once, holding its row locks).
        "client_connection_check_interval": "2s",
        # A transaction left open and idle (a frozen or cut-off client)
        # ends after 60 s, and its locks with it; nothing here idles so long.
        "idle_in_transaction_session_timeout": "60s",
    },
}


#: The values of VERIFY_EMAIL (webinars.registrations.queries.verifies_email).
VERIFY_RULES = ("limited", "always", "never")


def database_uri(url: str | None, instance_path: str) -> str:
    """The SQLAlchemy URI: the given URL, else SQLite in the instance folder."""
    if not url:
        return "sqlite:///" + str(Path(instance_path) / "webinars.sqlite3")
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver this project installs and tests.
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def engine_options(uri: str, base: dict) -> dict:
    """Engine options per backend: SQLite waits for the write lock instead of failing."""
    options = dict(base)
    if uri.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30, "check_same_thread": False}
    return options


def secret_key(instance_path: str) -> str:
    """The key in instance/secret_key, generated (mode 0600) on first use."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another worker wrote it first; use theirs so all workers agree.
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def allow_list(value, name: str = "WEBINARS_METRICS_ALLOW") -> tuple[Network, ...]:
    """IP addresses and networks from a comma-separated string (or a list).

    A bad entry stops the start with a ValueError that names the setting and
    the entry: an allow-list that silently lost a line would refuse the
    monitor, or worse, be taken for one that admits it.
    """
    if isinstance(value, str):
        value = value.split(",")
    networks = []
    for entry in value or ():
        text = str(entry).strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text))
        except ValueError as exc:
            raise ValueError(f"{name}: {text!r} is not an IP address or network "
                             f"(like 192.0.2.7 or 10.0.0.0/8): {exc}") from None
    return tuple(networks)


def allowed(address: str | None, networks: tuple[Network, ...]) -> bool:
    """Whether ``address`` (a client's, as the socket gave it) is in ``networks``."""
    if not address or not networks:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # an IPv4 client of a socket bound to [::]
    return any(ip in network for network in networks)
