"""/healthz: database reachable, scheduler heartbeat age."""

from webinars.worker import heartbeat


def test_health_reports_database_and_scheduler(client, frozen_clock):
    body = client.get("/healthz").json
    assert body == {"status": "ok", "database": "ok", "scheduler": {"state": "never seen"}}
    heartbeat.beat("scheduler", "pid 1")
    frozen_clock.advance(seconds=30)
    body = client.get("/healthz").json
    assert body["scheduler"]["state"] == "ok" and body["scheduler"]["age_seconds"] == 30
    frozen_clock.advance(minutes=10)
    response = client.get("/healthz")
    assert response.status_code == 200  # a web worker stays in the pool
    assert response.json["scheduler"]["state"] == "stale"


def test_health_is_503_when_the_database_is_gone(tmp_path):
    from conftest import make_app

    broken = make_app("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2",
                      tmp_path / "broken")
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unreachable"}


def test_a_connection_the_database_dropped_is_replaced_unseen(app, client, monkeypatch):
    """A restart or idle timeout kills pooled connections; requests must not see it."""
    import pytest
    import sqlalchemy as sa

    from webinars.core import db as extensions
    from webinars.core.db import db

    if db.engine.dialect.name == "sqlite":
        pytest.skip("a SQLite file has no server to drop the connection")
    pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
    db.session.remove()  # the pooled connection is idle now, and was used just now
    admin = sa.create_engine(db.engine.url)
    with admin.connect() as conn:  # returns once the backend is gone (PostgreSQL 14+)
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 10000)"),
                            {"pid": pid}).scalar()
    admin.dispose()
    assert client.get("/api/v1/events").status_code == 200
    assert db.session.scalar(sa.text("SELECT pg_backend_pid()")) != pid
    # And one that sat idle long enough is pinged (a server that vanished
    # without closing the socket would only be found that way).
    monkeypatch.setattr(extensions, "IDLE_PING_SECONDS", 0.0)
    assert client.get("/api/v1/events").status_code == 200


def test_health_judges_the_heartbeat_when_told_its_limit(app, client, frozen_clock):
    app.config["HEALTH_SCHEDULER_MAX_AGE"] = 180
    assert client.get("/healthz").status_code == 503  # never seen
    heartbeat.beat("scheduler", "pid 1")
    frozen_clock.advance(seconds=179)
    assert client.get("/healthz").status_code == 200
    frozen_clock.advance(seconds=2)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "scheduler late"
    assert response.json["scheduler"]["state"] == "stale"
    assert response.json["scheduler"]["max_age_seconds"] == 180


def test_json_logs_are_one_object_a_line(tmp_path, capfd):
    import json
    import logging

    from conftest import make_app

    root, ours = logging.getLogger(), logging.getLogger("webinars")
    saved = (root.handlers[:], root.level, ours.handlers[:], ours.propagate)
    make_app(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path / "instance", LOG_FORMAT="json")
    try:
        logging.getLogger("webinars.test").warning("the relay is down: %s", "421 bye")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("webinars.test").exception("it broke")
        lines = [json.loads(line) for line in capfd.readouterr().err.splitlines()]
    finally:
        root.handlers, root.level, ours.handlers, ours.propagate = saved
    assert lines[0]["level"] == "WARNING" and lines[0]["logger"] == "webinars.test"
    assert lines[0]["message"] == "the relay is down: 421 bye"
    assert lines[0]["time"].endswith("Z")
    assert lines[1]["message"] == "it broke" and "RuntimeError: boom" in lines[1]["exception"]
