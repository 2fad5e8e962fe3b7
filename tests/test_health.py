"""/healthz: database reachable, scheduler heartbeat age."""

from webinars import scheduler


def test_health_reports_database_and_scheduler(client, frozen_clock):
    body = client.get("/healthz").json
    assert body == {"status": "ok", "database": "ok", "scheduler": {"state": "never seen"}}
    scheduler.beat("scheduler", "pid 1")
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
