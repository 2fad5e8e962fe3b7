"""Pages under concurrent load: `/` and `/events/<slug>` of the demo programme.

    .venv/bin/python bench/pages.py [--clients 32] [--seconds 10] [--workers 4]

The app under gunicorn on PostgreSQL with the demo events (the TCTP workshop
page has four sessions, each shown in two zones); beside it, in the same run,
the bare endpoint's baseline for a GET that reads one row (bench/bare_app.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    ROOT,
    fmt_ms,
    free_port,
    machine,
    postgres_schema,
    running,
    warm_up,
    wrk,
)
from registration_burst import gunicorn  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    args = parser.parse_args()
    print("Pages on", machine())

    from flask_migrate import upgrade

    from webinars import create_app
    from webinars.core.db import db
    from webinars.events import demo

    results = {}
    with postgres_schema() as (url, _), tempfile.TemporaryDirectory() as folder:
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "SCHEDULER": "off"},
                         instance_path=folder)
        with app.app_context():
            upgrade()
            demo.seed()
            db.session.execute(db.text(
                "CREATE TABLE bare_registrations (id serial PRIMARY KEY, event text, "
                "name text, email text)"))
            db.session.execute(db.text(
                "INSERT INTO bare_registrations (event, name, email) VALUES ('x', 'y', 'z')"))
            db.session.commit()
            db.engine.dispose()
        port = free_port()
        env = {"WEBINARS_DATABASE_URL": url, "WEBINARS_SCHEDULER": "off",
               "WEBINARS_SECRET_KEY": "bench"}
        with running(gunicorn("webinars:create_app()", port, args.workers), env, port):
            base = f"http://127.0.0.1:{port}"
            pages = (("/", "/"),
                     ("/events/<webinar>", "/events/sustainable-mekong-river-delta"),
                     ("/events/<workshop>", "/events/tctp-cybersecurity-workshop"))
            warm_up(base, tuple(path for _, path in pages), seconds=1)
            for name, path in pages:
                results[name] = wrk(base + path, clients=args.clients, seconds=args.seconds)
        port = free_port()
        with running(gunicorn("bare_app:app", port, args.workers, ROOT / "bench"),
                     {"BARE_DATABASE_URL": url}, port):
            warm_up(f"http://127.0.0.1:{port}", ("/rows/1",), seconds=1)
            results["bare GET (1 row)"] = wrk(f"http://127.0.0.1:{port}/rows/1",
                                              clients=args.clients, seconds=args.seconds)

    print(f"\ngunicorn -w {args.workers} on PostgreSQL, {args.clients} clients for "
          f"{args.seconds} s each")
    for name, r in results.items():
        print(f"  {name:20} {r['rps']:8.1f} req/s   p50 {fmt_ms(r['p50_us']):>9}   "
              f"p99 {fmt_ms(r['p99_us']):>9}   errors {r['http_errors'] + r['socket_errors']}")


if __name__ == "__main__":
    main()
