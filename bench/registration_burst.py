"""Registration burst: many clients register for one event of capacity C at once.

    .venv/bin/python bench/registration_burst.py [--clients 32] [--seconds 10]
        [--capacity 100] [--workers CORES] [--skip-sqlite]
    .venv/bin/python bench/registration_burst.py --limits [--limit-rounds 3]
        [--limits-storage redis://127.0.0.1:6379/9 | redis+unix:///path | memory://]

PostgreSQL: the app under gunicorn (WEBINARS_SCHEDULER=off, mail composed
and delivered to a local SMTP sink by one scheduler process; both at the
lowest CPU priority, see BACKGROUND), against two baselines measured in the
same run: the bare endpoint (bench/bare_app.py: Flask + one psycopg INSERT,
same gunicorn settings) and pgbench doing the same INSERT (the database's own
limit). SQLite: the app under the dev server (`flask run`, threaded). wrk
drives every HTTP run with the same Lua script, once the server is warm
(bench/common.warm_up: its workers booted, the scheduler beating), as a
burst meets a service that is already running. Each run ends with the
check that exactly C are confirmed, the rest wait in order, and the event's
kept waiting-list length matches the rows.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    ROOT,
    VENV_BIN,
    fmt_ms,
    free_port,
    machine,
    postgres_schema,
    running,
    smtp_sink,
    sqlalchemy_url,
    warm_up,
    wrk,
)

EVENT = {
    "title": "TCTP Cybersecurity Workshop (benchmark)", "slug": "bench",
    "timezone": "Asia/Singapore",
    "sessions": [{"start": "2099-11-01T09:00", "end": "2099-11-01T11:30"}],
}


def prepare(database_url: str, capacity: int) -> None:
    """Migrate the database and create the event (through the service, as the API would)."""
    from flask_migrate import upgrade

    from webinars import create_app
    from webinars.events import service as events

    with tempfile.TemporaryDirectory() as instance:
        app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench",
                          "SCHEDULER": "off"}, instance_path=instance)
        with app.app_context():
            upgrade()
            events.create_event(dict(EVENT, capacity=capacity), None)
            from webinars.core.db import db

            db.engine.dispose()


def check(database_url: str, capacity: int) -> dict:
    """Seats and order after the burst, straight from the database."""
    engine = sa.create_engine(sqlalchemy_url(database_url))
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT id, status FROM registrations ORDER BY id")).all()
        pending_mail = conn.execute(sa.text(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL")).scalar()
        kept_length = conn.execute(sa.text("SELECT waitlist_length FROM events")).scalar()
    engine.dispose()
    confirmed = [r.id for r in rows if r.status == "confirmed"]
    waiting = [r.id for r in rows if r.status == "waitlisted"]
    in_order = not (confirmed and waiting) or max(confirmed) < min(waiting)
    exact = (len(confirmed) == min(capacity, len(rows))
             and len(confirmed) + len(waiting) == len(rows)
             and kept_length == len(waiting))  # the length the event keeps
    return {"rows": len(rows), "confirmed": len(confirmed), "waitlisted": len(waiting),
            "ok": exact and in_order, "pending_mail": pending_mail}


def wait_for_mail(database_url: str, timeout: float = 120) -> float:
    """Seconds until every queued mail has reached the SMTP sink."""
    engine = sa.create_engine(sqlalchemy_url(database_url))
    start = time.monotonic()
    try:
        while time.monotonic() - start < timeout:
            with engine.connect() as conn:
                if not conn.execute(sa.text(
                        "SELECT count(*) FROM outbox WHERE sent_at IS NULL")).scalar():
                    return time.monotonic() - start
            time.sleep(0.2)
        return float("nan")
    finally:
        engine.dispose()


def gunicorn(app: str, port: int, workers: int, chdir: Path | None = None) -> list[str]:
    args = [str(VENV_BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
            "--log-level", "warning", "--backlog", "2048"]
    if chdir:
        args += ["--chdir", str(chdir)]
    return args + [app]


def pgbench(url: str, schema: str, clients: int, seconds: int) -> float:
    script = Path(tempfile.mkstemp(suffix=".sql")[1])
    script.write_text("INSERT INTO bare_registrations (event, name, email) "
                      "VALUES ('bench', 'Bench', 'pg' || random()::text);\n")
    base = url.split("?", 1)[0]
    result = subprocess.run(
        ["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), "-f",
         str(script), base],
        capture_output=True, text=True, check=True,
        env={**os.environ, "PGOPTIONS": f"-c search_path={schema}"})
    script.unlink()
    return float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))


# The production topology (README) runs the scheduler at the lowest CPU
# priority; the SMTP sink, which stands in for a mail server on another
# machine, runs there too. Neither may take CPU from the web workers, whose
# rate is compared with a bare endpoint that sends no mail at all.
BACKGROUND = 19


def run_postgres(args) -> None:
    with smtp_sink(BACKGROUND) as smtp_url, postgres_schema() as (url, schema):
        prepare(url, args.capacity)
        engine = sa.create_engine(sqlalchemy_url(url))
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE bare_registrations (id serial PRIMARY KEY, "
                                 "event text NOT NULL, name text NOT NULL, "
                                 "email text NOT NULL)"))
        engine.dispose()

        port = free_port()
        bare_env = {"BARE_DATABASE_URL": url}
        with running(gunicorn("bare_app:app", port, args.workers, ROOT / "bench"), bare_env,
                     port):
            warm_up(f"http://127.0.0.1:{port}")
            bare = wrk(f"http://127.0.0.1:{port}/api/v1/events/bench/registrations",
                       clients=args.clients, seconds=args.seconds, register=True)

        # The production topology (README): web workers that only decide seats,
        # and one scheduler process below their priority that composes and
        # sends the mail (polling every 2 s).
        port = free_port()
        app_env = {"WEBINARS_DATABASE_URL": url, "WEBINARS_SCHEDULER": "off",
                   "WEBINARS_MAIL_DELIVERY": "manual", "WEBINARS_MAIL_POLL_SECONDS": "2",
                   "WEBINARS_SMTP_URL": smtp_url, "WEBINARS_SECRET_KEY": "bench",
                   "WEBINARS_BASE_URL": f"http://127.0.0.1:{port}",
                   # One load generator on one address: measured without the
                   # limits (which a real burst from many addresses passes;
                   # --limits measures what they cost).
                   "WEBINARS_RATELIMIT_ENABLED": "false",
                   # The seat decision is measured: a burst of confirmed links
                   # ends in the same one (seats.confirm_address).
                   "WEBINARS_VERIFY_EMAIL": "never"}
        scheduler = ["nice", "-n", str(BACKGROUND), str(VENV_BIN / "flask"), "--app", "webinars",
                     "scheduler"]
        with running(scheduler, app_env) as scheduler_process, \
                running(gunicorn("webinars:create_app()", port, args.workers), app_env, port):
            warm_up(f"http://127.0.0.1:{port}", scheduler=scheduler_process)
            app = wrk(f"http://127.0.0.1:{port}/api/v1/events/bench/registrations",
                      clients=args.clients, seconds=args.seconds, register=True)
            drained = wait_for_mail(url)
        seats = check(url, args.capacity)
        tps = pgbench(url, schema, args.clients, args.seconds)

    print(f"\nPostgreSQL, gunicorn -w {args.workers}, {args.clients} clients for "
          f"{args.seconds} s, capacity {args.capacity}")
    for name, r in (("app (webinars)", app), ("bare endpoint", bare)):
        print(f"  {name:16} {r['rps']:8.1f} req/s   p50 {fmt_ms(r['p50_us']):>9}   "
              f"p95 {fmt_ms(r['p95_us']):>9}   p99 {fmt_ms(r['p99_us']):>9}   "
              f"errors {r['http_errors'] + r['socket_errors']}")
    print(f"  {'pgbench INSERT':16} {tps:8.1f} tx/s")
    print(f"  ratio app / bare endpoint: {app['rps'] / bare['rps']:.2f}   "
          f"app / database: {app['rps'] / tps:.3f}")
    # wrk counts answers it received before its time was up; a request still
    # in flight then is answered by the app but not counted.
    print(f"  seats: {seats['confirmed']} confirmed, {seats['waitlisted']} waiting, "
          f"{seats['rows']} rows for {app['requests']} answers "
          f"-> {'exactly C, in order' if seats['ok'] else 'WRONG'}; "
          f"all confirmation mails delivered {drained:.1f} s after the burst")


LIMITS_REDIS = "redis://127.0.0.1:6379/9"


def run_limits(args) -> None:
    """The rate with the limits on (Redis, as in production) against off, in turns.

    Every registration comes from an address of its own through one trusted
    proxy, as a real burst from many places does, so none is refused: what
    is measured is what counting costs. Runs alternate off, on, off, on...
    so that the machine's drift falls on both alike; the medians are
    compared.
    """
    import redis

    rates: dict[bool, list[float]] = {False: [], True: []}
    refused = 0
    with postgres_schema() as (url, _schema):
        prepare(url, args.capacity)
        for _ in range(args.limit_rounds):
            for enabled in (False, True):
                if args.limits_storage.startswith("redis"):
                    redis.Redis.from_url(
                        args.limits_storage.replace("redis+unix://", "unix://", 1)).flushdb()
                port = free_port()
                env = {"WEBINARS_DATABASE_URL": url, "WEBINARS_SCHEDULER": "off",
                       "WEBINARS_MAIL_DELIVERY": "manual", "WEBINARS_SECRET_KEY": "bench",
                       "WEBINARS_BASE_URL": f"http://127.0.0.1:{port}",
                       "WEBINARS_VERIFY_EMAIL": "never", "WEBINARS_TRUSTED_PROXIES": "1",
                       "WEBINARS_RATELIMIT_ENABLED": "true" if enabled else "false",
                       "WEBINARS_RATELIMIT_STORAGE_URL": args.limits_storage}
                with running(gunicorn("webinars:create_app()", port, args.workers), env,
                             port):
                    warm_up(f"http://127.0.0.1:{port}")
                    result = wrk(f"http://127.0.0.1:{port}/api/v1/events/bench/registrations",
                                 clients=args.clients, seconds=args.seconds, register=True,
                                 spread=True)
                rates[enabled].append(result["rps"])
                refused += result["http_errors"]
        seats = check(url, args.capacity)
    off, on = statistics.median(rates[False]), statistics.median(rates[True])
    print(f"\nRate limits, PostgreSQL, gunicorn -w {args.workers}, {args.clients} clients, "
          f"{args.limit_rounds} x {args.seconds} s each way, one client address per "
          f"registration")
    print(f"  limits off (baseline) {', '.join(f'{r:.0f}' for r in rates[False])} req/s, "
          f"median {off:.0f}")
    print(f"  limits on ({args.limits_storage.split(':')[0]:8})"
          f" {', '.join(f'{r:.0f}' for r in rates[True])} req/s, "
          f"median {on:.0f}")
    print(f"  on / off: {on / off:.3f} (a loss of {100 * (1 - on / off):.1f}%); "
          f"refused {refused}; seats {'exactly C, in order' if seats['ok'] else 'WRONG'}")


def run_sqlite(args) -> None:
    with smtp_sink(BACKGROUND) as smtp_url, tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.sqlite3"
        prepare(url, args.capacity)
        port = free_port()
        env = {"WEBINARS_DATABASE_URL": url, "WEBINARS_SCHEDULER": "off",
               "WEBINARS_SMTP_URL": smtp_url, "WEBINARS_SECRET_KEY": "bench",
               "WEBINARS_BASE_URL": f"http://127.0.0.1:{port}",
               "WEBINARS_RATELIMIT_ENABLED": "false", "WEBINARS_VERIFY_EMAIL": "never"}
        command = [str(VENV_BIN / "flask"), "--app", "webinars", "run", "--port", str(port),
                   "--with-threads", "--no-reload"]
        with running(command, env, port):
            warm_up(f"http://127.0.0.1:{port}")
            app = wrk(f"http://127.0.0.1:{port}/api/v1/events/bench/registrations",
                      clients=args.clients, seconds=args.seconds, register=True)
            drained = wait_for_mail(url)
        seats = check(url, args.capacity)
    print(f"\nSQLite, flask run (threaded dev server), {args.clients} clients for "
          f"{args.seconds} s, capacity {args.capacity}")
    print(f"  {'app (webinars)':16} {app['rps']:8.1f} req/s   p50 {fmt_ms(app['p50_us']):>9}   "
          f"p95 {fmt_ms(app['p95_us']):>9}   p99 {fmt_ms(app['p99_us']):>9}   "
          f"errors {app['http_errors'] + app['socket_errors']}")
    print(f"  seats: {seats['confirmed']} confirmed, {seats['waitlisted']} waiting -> "
          f"{'exactly C, in order' if seats['ok'] else 'WRONG'}; mail drained in {drained:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--capacity", type=int, default=100)
    # One sync worker per core, as the README's topology says; the app and its
    # baseline always run with the same number.
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--limits", action="store_true",
                        help="only the cost of the rate limits: on against off, in turns")
    parser.add_argument("--limit-rounds", type=int, default=3)
    parser.add_argument("--limits-storage", default=LIMITS_REDIS,
                        help="where the --limits runs count (memory:// for each worker alone)")
    args = parser.parse_args()
    print("Registration burst on", machine())
    if args.limits:
        run_limits(args)
        return
    run_postgres(args)
    if not args.skip_sqlite:
        run_sqlite(args)


if __name__ == "__main__":
    main()
