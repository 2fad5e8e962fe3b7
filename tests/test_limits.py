"""Rate limits: one client cannot fill a workshop, mail a victim in a loop, or guess a
password; the counts are shared by every worker through Redis (issue 15)."""

import json
import os
import shutil
import socket
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from conftest import POSTGRES_URL, free_port, make_app, wait_until
from organizer_helpers import PASSWORD, csrf_token
from test_api_events import MEKONG

from webinars import accounts
from webinars.core import clock
from webinars.core.db import db
from webinars.models import OutboxMessage, Registration
from webinars.web.limits import limiter

LIMITS = {"RATELIMIT_ENABLED": True, "RATELIMIT_REGISTRATION_PER_IP": "10 per minute",
          "RATELIMIT_REGISTRATION_PER_ADDRESS": "3 per hour",
          "RATELIMIT_SIGN_IN_PER_IP": "10 per minute",
          "RATELIMIT_SIGN_IN_FAILURES": "5 per 15 minutes"}


@pytest.fixture
def limited(database_url, tmp_path, frozen_clock):
    app = make_app(database_url, tmp_path / "instance", **LIMITS)
    with app.app_context():
        organizer = accounts.create_organizer("organizer@example.org", PASSWORD)
        token = accounts.create_token(organizer)
        client = app.test_client()
        assert client.post("/api/v1/events", json=dict(MEKONG, slug="tctp", capacity=30),
                           headers={"Authorization": f"Bearer {token}"}).status_code == 201
        yield app
        db.session.remove()
        db.engine.dispose()


def person(n: int) -> dict:
    return {"name": f"Bot {n}", "email": f"bot{n}@example.org", "timezone": "Asia/Bangkok"}


def publish_workshop(app, capacity: int | None = None) -> None:
    """An organizer and the event "tctp" in ``app``'s database, made through the API."""
    with app.app_context():
        organizer = accounts.create_organizer("o@example.org", PASSWORD)
        auth = {"Authorization": f"Bearer {accounts.create_token(organizer)}"}
        assert app.test_client().post("/api/v1/events", headers=auth, json=dict(
            MEKONG, slug="tctp", capacity=capacity)).status_code == 201


def register_in_turn(workers, numbers, address_of=None) -> list[int]:
    """Register person(n) for each n, through each worker in turn, as gunicorn hands them out.

    ``address_of(n)``: the client address of the n-th request (default: the test client's).
    """
    codes = []
    for n in numbers:
        worker = workers[n % len(workers)]
        environ = {"REMOTE_ADDR": address_of(n)} if address_of else {}
        with worker.app_context():
            codes.append(worker.test_client().post(
                "/api/v1/events/tctp/registrations", json=person(n),
                environ_base=environ).status_code)
            db.session.remove()
    return codes


def dispose(*apps) -> None:
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def seats_taken() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Registration))


def test_one_client_cannot_fill_a_workshop(limited):
    client = limited.test_client()
    answers = [client.post("/api/v1/events/tctp/registrations", json=person(n))
               for n in range(120)]
    codes = [a.status_code for a in answers]
    assert codes.count(201) == 10 and codes.count(429) == 110
    refused = answers[-1]
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json["error"].startswith("Too many tries")
    assert seats_taken() == 10
    # Participants elsewhere still get in.
    other = limited.test_client()
    assert other.post("/api/v1/events/tctp/registrations", json=person(500),
                      environ_base={"REMOTE_ADDR": "192.0.2.5"}).status_code == 201


def test_the_form_is_limited_too_and_says_so_in_words(limited):
    client = limited.test_client()
    token = csrf_token(client, "/events/tctp")
    codes = [client.post("/events/tctp/register", data={**person(n), "csrf_token": token})
             .status_code for n in range(12)]
    assert codes.count(303) == 10 and codes[-1] == 429
    page = client.post("/events/tctp/register", data={**person(99), "csrf_token": token})
    assert page.status_code == 429 and b"Too many tries" in page.data
    assert "Retry-After" in page.headers


def test_a_register_and_cancel_loop_stops_mailing_its_victim(limited):
    client = limited.test_client()
    victim = dict(person(0), email="victim@example.org", name="URGENT verify your account")
    for n in range(10):  # each round from another address, as a botnet would
        answer = client.post("/api/v1/events/tctp/registrations", json=victim,
                             environ_base={"REMOTE_ADDR": f"198.51.100.{n}"})
        if answer.status_code == 201:
            client.delete(f"/api/v1/registrations/{answer.json['token']}")
    db.session.rollback()
    mails = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.recipient == "victim@example.org"))
    assert mails <= 2 * 3  # a confirmation and a cancellation per allowed registration


def sign_in(client, password: str, address: str = "203.0.113.1"):
    token = csrf_token(client, "/organizer/login")
    return client.post("/organizer/login", data={
        "csrf_token": token, "email": "organizer@example.org", "password": password},
        environ_base={"REMOTE_ADDR": address})


def test_wrong_passwords_lock_the_account_for_a_while(limited, frozen_clock):
    client = limited.test_client()
    for n in range(5):  # from five addresses: the account's own limit
        assert sign_in(client, "wrong password!", f"203.0.113.{n}").status_code == 200
    locked = sign_in(client, PASSWORD, "203.0.113.200")
    assert locked.status_code == 429, "even the right password waits"
    assert b"Too many tries" in locked.data
    assert sign_in(client, PASSWORD, "203.0.113.201").status_code == 429
    # The organizer is told, once however long the guessing goes on.
    db.session.rollback()
    [mail] = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.kind == "lockout")).all()
    assert mail.recipient == "organizer@example.org"
    text = message_from_bytes(mail.payload, policy=policy.default).get_body(
        ("plain",)).get_content()
    assert "203.0.113.200" in text and "paused until" in text


def test_guessing_at_an_address_nobody_owns_mails_nobody(limited):
    client = limited.test_client()
    token = csrf_token(client, "/organizer/login")
    answers = [client.post("/organizer/login", data={
        "csrf_token": token, "email": "nobody@example.org", "password": "wrong password!"},
        environ_base={"REMOTE_ADDR": f"203.0.113.{n}"}).status_code for n in range(7)]
    assert answers == [200] * 5 + [429] * 2
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_one_address_cannot_guess_for_long(limited):
    client = limited.test_client()
    codes = [sign_in(client, f"guess {n}", "203.0.113.7").status_code for n in range(12)]
    assert 429 in codes[:11]


def test_a_forged_forwarded_for_is_not_believed_without_a_trusted_proxy(limited):
    client = limited.test_client()
    codes = [client.post("/api/v1/events/tctp/registrations", json=person(n),
                         headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code
             for n in range(12)]
    assert codes.count(201) == 10


def test_behind_a_trusted_proxy_each_participant_has_their_own_count(database_url, tmp_path,
                                                                     frozen_clock):
    app = make_app(database_url, tmp_path / "instance", TRUSTED_PROXIES=1, **LIMITS)
    publish_workshop(app)
    with app.app_context():
        client = app.test_client()
        codes = [client.post("/api/v1/events/tctp/registrations", json=person(n),
                             headers={"X-Forwarded-For": f"10.0.{n // 250}.{n % 250}"})
                 .status_code for n in range(30)]
        assert codes == [201] * 30
        db.session.remove()
        db.engine.dispose()


@pytest.mark.skipif(not POSTGRES_URL, reason="the Redis runs go with the PostgreSQL runs")
def test_every_worker_shares_one_count_through_redis(database_url, tmp_path, frozen_clock):
    shared = {**LIMITS, "RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379/7"}
    workers = [make_app(database_url, tmp_path / f"worker{n}", **shared) for n in range(2)]
    limiter.reset()  # what an earlier run left in this test database of Redis
    publish_workshop(workers[0])
    codes = register_in_turn(workers, range(16))
    assert codes.count(201) == 10 and codes.count(429) == 6
    dispose(*workers)


def test_registration_goes_on_when_the_limits_storage_is_down(database_url, tmp_path,
                                                               frozen_clock):
    # A Redis outage must not turn every registration into a 500: the limits
    # count in memory meanwhile (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED).
    app = make_app(database_url, tmp_path / "instance", **LIMITS,
                   RATELIMIT_STORAGE_URL=f"redis://127.0.0.1:{free_port()}")
    publish_workshop(app)
    with app.app_context():
        client = app.test_client()
        codes = [client.post("/api/v1/events/tctp/registrations", json=person(n)).status_code
                 for n in range(12)]
        assert codes.count(201) == 10 and codes.count(429) == 2
        db.session.remove()
        db.engine.dispose()


def start_gunicorn(database_url: str, port: int, storage: str, folder) -> subprocess.Popen:
    env = dict(os.environ, WEBINARS_DATABASE_URL=database_url, WEBINARS_SECRET_KEY="limits",
               WEBINARS_BASE_URL="http://webinars.test", WEBINARS_SCHEDULER="off",
               WEBINARS_VERIFY_EMAIL="never", WEBINARS_MAIL_DELIVERY="manual",
               WEBINARS_RATELIMIT_STORAGE_URL=storage,
               WEBINARS_RATELIMIT_REGISTRATION_PER_IP="10 per minute",
               WEBINARS_RATELIMIT_REGISTRATION_PER_ADDRESS="3 per hour")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    # The access log names the worker (its pid) that answered each request.
    return subprocess.Popen([str(gunicorn), "-w", "3", "-b", f"127.0.0.1:{port}",
                             "--access-logfile", str(folder / "access.log"),
                             "--access-logformat", "%(p)s %(s)s", "webinars:create_app()"],
                            env=env, cwd=folder, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def three_at_once(port: int, requests: list[bytes]) -> list[int]:
    """Send requests three at a time, each held one byte short until all three are taken.

    A sync worker reads its request to the end before it takes another
    connection, so while one waits for the last byte the next connection
    goes to another worker: each of three workers serves one of every three.
    """
    codes = []
    for first in range(0, len(requests), 3):
        held = []
        for raw in requests[first:first + 3]:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(raw[:-1])
            held.append((sock, raw[-1:]))
        for sock, last in held:
            sock.sendall(last)
            with sock, sock.makefile("rb") as answer:
                codes.append(int(answer.readline().split()[1]))
    return codes


def registration_request(n: int) -> bytes:
    body = json.dumps(person(n)).encode()
    return (b"POST /api/v1/events/tctp/registrations HTTP/1.1\r\nHost: webinars.test\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body)


HEALTH = b"GET /healthz HTTP/1.1\r\nHost: webinars.test\r\nConnection: close\r\n\r\n"


def workers_that_answered(log: Path, statuses=("200", "201", "429")) -> set[str]:
    lines = log.read_text().splitlines() if log.exists() else []
    return {line.split()[0] for line in lines if line.split()[1] in statuses}


def all_three_workers_up(port: int, log: Path) -> bool:
    try:
        three_at_once(port, [HEALTH] * 3)
    except OSError:
        return False
    return len(workers_that_answered(log, ("200",))) == 3


@pytest.mark.slow
def test_three_gunicorn_workers_keep_one_count_in_redis(postgres_url, tmp_path):
    clock.set_source(None)  # real processes, real time
    app = make_app(postgres_url, tmp_path / "instance")
    publish_workshop(app, capacity=30)
    dispose(app)
    redis.Redis(host="127.0.0.1", port=6379, db=8).flushdb()
    port, log = free_port(), tmp_path / "access.log"
    server = start_gunicorn(postgres_url, port, "redis://127.0.0.1:6379/8", tmp_path)
    try:
        wait_until(lambda: all_three_workers_up(port, log), timeout=60, interval=0.2)
        codes = three_at_once(port, [registration_request(n) for n in range(21)])
    finally:
        server.terminate()
        server.wait(timeout=20)
    # The premise: each worker counted some of them.
    assert len(workers_that_answered(log, ("201", "429"))) == 3
    assert codes.count(201) == 10 and codes.count(429) == 11


@pytest.mark.skipif(not shutil.which("redis-server"), reason="no redis-server to start here")
def test_a_redis_on_a_unix_socket_is_shared_too(database_url, tmp_path, frozen_clock):
    # Flask-Limiter spells it redis+unix://; the registration counters must
    # read the same setting the same way, not fall back to counting alone.
    socket_path = tmp_path / "redis.sock"
    server = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", str(socket_path),
                               "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(socket_path.exists, timeout=20, interval=0.05)
        shared = {**LIMITS, "RATELIMIT_STORAGE_URL": f"redis+unix://{socket_path}"}
        workers = [make_app(database_url, tmp_path / f"worker{n}", **shared) for n in range(2)]
        publish_workshop(workers[0])
        codes = register_in_turn(workers, range(12))
        assert codes.count(201) == 10 and codes.count(429) == 2
        dispose(*workers)
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.skipif(not POSTGRES_URL, reason="the Redis runs go with the PostgreSQL runs")
def test_a_first_try_is_counted_at_home_and_the_bound_is_the_limit_plus_the_workers(
        database_url, tmp_path, frozen_clock):
    # Participants each from their own address never wait for Redis; one
    # address trying again is counted there from its second try in a worker
    # on, so two workers let at most one try more than the limit through.
    store = redis.Redis(host="127.0.0.1", port=6379, db=6)
    store.flushdb()
    shared = {**LIMITS, "RATELIMIT_REGISTRATION_PER_IP": "3 per minute",
              "RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379/6"}
    workers = [make_app(database_url, tmp_path / f"worker{n}", **shared) for n in range(2)]
    publish_workshop(workers[0])
    assert register_in_turn(workers, range(20), lambda n: f"198.51.100.{n}") == [201] * 20
    assert store.dbsize() == 0, "a burst from many addresses asked Redis nothing"
    codes = register_in_turn(workers, range(100, 110), lambda n: "203.0.113.9")
    assert 3 <= codes.count(201) <= 3 + 1 and codes.count(429) == 10 - codes.count(201)
    dispose(*workers)
