"""Fixtures: an app per test on a real database (SQLite always, PostgreSQL when
WEBINARS_TEST_POSTGRES_URL is set), a movable clock, and an organizer token."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import shutil
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask_migrate import upgrade
from werkzeug.serving import make_server

from webinars import create_app
from webinars.core import clock
from webinars.core.db import db

POSTGRES_URL = os.environ.get("WEBINARS_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])

# The tests' "now": well before the dates the tests schedule in 2027.
START = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)


class FrozenClock:
    """A clock that only moves when the test says so."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at

    def advance(self, **delta) -> None:
        self.at += timedelta(**delta)


def with_search_path(url: str, schema: str) -> str:
    """The PostgreSQL URL with every connection's search_path set to ``schema``."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


def pytest_sessionstart(session):
    """Build the catalogs' .mo files when a .po is newer (scripts/test does; a bare pytest too)."""
    for po in (Path(__file__).resolve().parent.parent / "webinars" / "translations").glob(
            "*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source:
                catalog = read_po(source, locale=po.parent.parent.name)
            with mo.open("wb") as target:
                write_mo(target, catalog)


def make_app(database_url: str, instance_path, **extra):
    """An app for tests: its own instance folder, no scheduler, a fixed base URL."""
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "BASE_URL": "http://webinars.test",
        "SCHEDULER": "off",
        "SMTP_URL": None,
        "MAIL_DELIVERY": "inline",
        "MAIL_FROM": "Mekong Programmes <programmes@webinars.test>",
        # Tests register many people from one client; tests/test_limits.py
        # turns the limits on where they are the subject.
        "RATELIMIT_ENABLED": False,
        # Tests fill forms in no time; tests/test_bots.py sets a real minimum.
        "REGISTRATION_FORM_MIN_SECONDS": 0,
        # Seats are decided at once; tests/test_verification.py confirms addresses.
        "VERIFY_EMAIL": "never",
    }
    config.update(extra)
    return create_app(config, instance_path=str(instance_path))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A SQLite file built once by the migrations; each test gets a copy."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite3"
    app = make_app(f"sqlite:///{path}", folder / "instance")
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_schema():
    """A fresh schema for this run, migrated once, dropped at the end."""
    if not POSTGRES_URL:
        pytest.skip("WEBINARS_TEST_POSTGRES_URL is not set")
    schema = f"webinars_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
                             if POSTGRES_URL.startswith("postgresql://") else POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = with_search_path(POSTGRES_URL, schema)
    app = make_app(url, "/tmp/webinars-test-instance")
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "webinars.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def postgres_url(postgres_schema):
    """The run's PostgreSQL schema, emptied: what is left of earlier tests is gone."""
    engine = sa.create_engine(postgres_schema.replace("postgresql://", "postgresql+psycopg://", 1)
                              if postgres_schema.startswith("postgresql://") else postgres_schema)
    with engine.begin() as conn:
        tables = [name for name in sa.inspect(conn).get_table_names()
                  if name != "alembic_version"]
        if tables:
            conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                                 + " RESTART IDENTITY CASCADE"))
    engine.dispose()
    return postgres_schema


@pytest.fixture
def frozen_clock():
    """The app's clock, stopped at START; move it with .set() or .advance()."""
    source = FrozenClock(START)
    clock.set_source(source)
    yield source
    clock.set_source(None)


@pytest.fixture
def app(database_url, tmp_path, frozen_clock):
    """An app on a fresh database, with the clock frozen."""
    application = make_app(database_url, tmp_path / "instance")
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def organizer(app):
    from webinars import accounts

    return accounts.create_organizer("organizer@example.org", "correct horse battery", "Dara")


@pytest.fixture
def token(organizer):
    from webinars import accounts

    return accounts.create_token(organizer, "tests")


@pytest.fixture
def auth(token):
    """Headers of an organizer's API call."""
    return {"Authorization": f"Bearer {token}"}


# --- a real SMTP server ------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """What an aiosmtpd server on 127.0.0.1 received, parsed; can refuse on demand."""

    def __init__(self):
        self.messages = []
        # e.g. "451 4.3.0 Try again later" for every message, or
        # {address: answer} for some recipients only
        self.refuse_with = None
        self.delay = 0.0  # seconds before each answer: a slow relay (other connections go on)

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        if isinstance(self.refuse_with, dict):
            for address in envelope.rcpt_tos:
                if address in self.refuse_with:
                    return self.refuse_with[address]
        elif self.refuse_with:
            return self.refuse_with
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str):
        return [m for m in self.messages if address in m["To"]]

    def kinds(self, address: str | None = None):
        return [m["X-Webinars-Kind"] for m in self.messages
                if address is None or address in m["To"]]


@pytest.fixture
def smtp():
    """A real SMTP server on a free loopback port; ``smtp.url`` is its WEBINARS_SMTP_URL."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{port}"
    inbox.controller = controller
    yield inbox
    controller.stop()


@pytest.fixture
def mail_app(app, smtp):
    """The app, delivering to the test SMTP server."""
    app.config["SMTP_URL"] = smtp.url
    return app


# --- the app over real HTTP --------------------------------------------------


@pytest.fixture
def live_server(app):
    """The test app served by a threaded WSGI server on a loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def at_once(app, work, count: int = 2, timeout: float = 120.0) -> list:
    """Run ``work()`` in ``count`` threads at once, each in its own app context.

    Returns what each returned; an exception in any thread is raised here.
    """
    results, errors = [], []

    def run():
        try:
            with app.app_context():
                results.append(work())
                db.session.remove()
        except Exception as exc:  # raised in the test's thread below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if errors:
        raise errors[0]
    return results


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1):
    """Poll ``predicate`` until it returns something truthy, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {predicate}")
        time.sleep(interval)
