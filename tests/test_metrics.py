"""/metrics: Prometheus' text format, read back by prometheus_client's own parser; who may
read it; figures that follow the database and the mail relay; counters summed across
processes."""

import os
import runpy
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from conftest import Inbox, free_port, make_app
from prometheus_client.parser import text_string_to_metric_families
from test_api_events import MEKONG

from webinars.core import config
from webinars.worker import drain as delivery
from webinars.worker import heartbeat

ROOT = Path(__file__).resolve().parent.parent


def register(client, slug, email):
    return client.post(f"/api/v1/events/{slug}/registrations", json={
        "name": "Sok Dara", "email": email, "country": "KH", "timezone": "Asia/Phnom_Penh"})


def scrape(client, auth) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics: {(name, sorted labels): value}, parsed by prometheus_client."""
    response = client.get("/metrics", headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    assert "version=" in response.headers["Content-Type"]
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in samples, f"{key} twice"  # nothing counted twice
            samples[key] = sample.value
    return samples


def value(samples, name, **labels):
    return samples[(name, tuple(sorted(labels.items())))]


def test_metrics_parse_and_name_every_family(client, auth):
    samples = scrape(client, auth)
    names = {name for name, _ in samples}
    assert {"webinars_database_up", "webinars_registrations", "webinars_outbox_messages",
            "webinars_outbox_oldest_unsent_age_seconds", "webinars_reminders_due",
            "webinars_reminders_late_seconds", "webinars_smtp_failures_total"} <= names
    assert value(samples, "webinars_database_up") == 1
    for state in ("queued", "retrying", "failed"):
        assert value(samples, "webinars_outbox_messages", state=state) == 0
    assert value(samples, "webinars_outbox_oldest_unsent_age_seconds") == 0
    for kind in ("temporary", "permanent", "connection"):
        assert ("webinars_smtp_failures_total", (("class", kind),)) in samples
    # The scheduler never beat: no sample (alert on absent()), not a made-up age.
    assert "webinars_scheduler_heartbeat_age_seconds" not in names


def test_anyone_without_the_token_or_an_allowed_address_is_refused(app, client, token):
    for headers in ({}, {"Authorization": "Bearer wbn_" + "x" * 43},
                    {"Authorization": "Basic b3JnOnB3"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert "error" in response.json
        assert "webinars_" not in response.get_data(as_text=True)
    app.config["METRICS_ALLOW"] = config.allow_list("10.0.0.0/8, 2001:db8::/32")
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 401


def test_an_allowed_address_needs_no_token(app, client):
    app.config["METRICS_ALLOW"] = config.allow_list("10.0.0.0/8, 192.0.2.7, 2001:db8::/32")
    for address in ("10.1.2.3", "192.0.2.7", "::ffff:10.1.2.3", "2001:db8::5"):
        response = client.get("/metrics", environ_base={"REMOTE_ADDR": address})
        assert response.status_code == 200, address
        assert "webinars_registrations" in response.get_data(as_text=True)
    # Through a proxy the socket's address is the proxy's: the token it is, then.
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        response = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"},
                              headers={header: "203.0.113.9"})
        assert response.status_code == 401, header


@pytest.mark.parametrize("entry", ["10.0.0.0/8, intranet", "10.0.0.300", "10.0.0.1/8"])
def test_a_bad_allow_entry_stops_the_start(tmp_path, monkeypatch, entry):
    monkeypatch.setenv("WEBINARS_METRICS_ALLOW", entry)
    with pytest.raises(ValueError, match="WEBINARS_METRICS_ALLOW"):
        make_app(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path / "instance")


def test_registrations_by_status_follow_the_real_ones(client, auth):
    client.post("/api/v1/events", json=dict(MEKONG, slug="small", capacity=2), headers=auth)
    tokens = [register(client, "small", f"p{n}@example.org").json["token"] for n in range(3)]
    client.delete(f"/api/v1/registrations/{tokens[0]}")  # the one waiting moves up
    register(client, "small", "p3@example.org")
    samples = scrape(client, auth)
    assert value(samples, "webinars_registrations", status="confirmed") == 2
    assert value(samples, "webinars_registrations", status="waitlisted") == 1
    assert value(samples, "webinars_registrations", status="cancelled") == 1


def test_reminders_due_and_late_and_the_heartbeat(client, auth, frozen_clock):
    client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    register(client, "mekong", "dara@example.org")
    samples = scrape(client, auth)
    assert value(samples, "webinars_reminders_due") == 0
    assert value(samples, "webinars_reminders_late_seconds") == 0
    heartbeat.beat("scheduler", "pid 1")
    # The session starts 2027-07-15 02:00 UTC; its day-before reminder is due
    # at 2027-07-14 02:00 and nothing sends it (no scheduler runs here).
    frozen_clock.set(datetime(2027, 7, 14, 2, 10, tzinfo=UTC))
    samples = scrape(client, auth)
    assert value(samples, "webinars_reminders_due") == 1
    assert value(samples, "webinars_reminders_late_seconds") == 600
    beat = value(samples, "webinars_scheduler_heartbeat_age_seconds")
    assert beat == (frozen_clock.at - datetime(2027, 1, 10, 12, 0, tzinfo=UTC)).total_seconds()


def test_outbox_figures_move_while_the_relay_is_down(app, client, auth, frozen_clock):
    port = free_port()
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}?timeout=2"  # nothing listens yet
    client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    before = scrape(client, auth)
    failures = value(before, "webinars_smtp_failures_total", **{"class": "connection"})

    assert register(client, "mekong", "p0@example.org").status_code == 201  # delivery tried
    first = scrape(client, auth)
    assert value(first, "webinars_outbox_messages", state="retrying") == 1
    assert value(first, "webinars_outbox_oldest_unsent_age_seconds") == 0
    assert value(first, "webinars_smtp_failures_total", **{"class": "connection"}) > failures

    frozen_clock.advance(minutes=2)
    app.config["MAIL_DELIVERY"] = "manual"  # left to the sweep
    register(client, "mekong", "p1@example.org")
    # The sweep composes p1's confirmation, tries p0's again, meets the closed
    # door and stops: p1's waits for its first try.
    assert delivery.drain().unreachable
    frozen_clock.advance(minutes=1)
    down = scrape(client, auth)
    assert value(down, "webinars_outbox_messages", state="retrying") == 1
    assert value(down, "webinars_outbox_messages", state="queued") == 1
    assert value(down, "webinars_outbox_oldest_unsent_age_seconds") == 180
    assert value(down, "webinars_smtp_failures_total", **{"class": "connection"}) > \
        value(first, "webinars_smtp_failures_total", **{"class": "connection"})
    assert value(down, "webinars_outbox_messages", state="failed") == 0  # waiting, not lost

    inbox = Inbox()
    relay = Controller(inbox, hostname="127.0.0.1", port=port)
    relay.start()  # the relay comes back
    try:
        frozen_clock.advance(minutes=1)  # past the relay probe's wait
        assert delivery.drain().sent == 2
    finally:
        relay.stop()
    back = scrape(client, auth)
    for state in ("queued", "retrying", "failed"):
        assert value(back, "webinars_outbox_messages", state=state) == 0
    assert value(back, "webinars_outbox_oldest_unsent_age_seconds") == 0
    assert value(back, "webinars_smtp_failures_total", **{"class": "connection"}) == \
        value(down, "webinars_smtp_failures_total", **{"class": "connection"})


def test_an_unreachable_database_still_lets_the_counters_out(tmp_path):
    closed = free_port()
    broken = make_app(f"postgresql+psycopg://nobody@127.0.0.1:{closed}/none?connect_timeout=2",
                      tmp_path / "broken", METRICS_ALLOW="127.0.0.1")
    response = broken.test_client().get("/metrics")
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.get_data(as_text=True))}
    assert families["webinars_database_up"].samples[0].value == 0
    assert "webinars_smtp_failures" in families
    assert "webinars_registrations" not in families


SEND_ONCE = """
import sys
from webinars.mail.transports import SMTPTransport
transport = SMTPTransport(sys.argv[1], "programmes@webinars.test")
outcome, _ = transport.send("dara@example.org", b"Subject: x\\r\\n\\r\\nx\\r\\n", "test", 1)
assert outcome == "unreachable", outcome
"""


def test_counters_of_every_process_are_summed(app, client, auth, tmp_path, monkeypatch):
    """As under gunicorn -w 2 next to `flask scheduler`: each process sends, one scrape sums."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(folder), PYTHONPATH=str(ROOT))
    url = f"smtp://127.0.0.1:{free_port()}?timeout=2"
    for _ in range(2):  # two processes, one connection failure each
        subprocess.run([sys.executable, "-c", SEND_ONCE, url], env=env, check=True, timeout=60)
    assert len(list(folder.glob("counter_*.db"))) == 2
    # The scrape reads the folder (this test's own process keeps its counters
    # in memory, so only the two others are in it).
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    samples = scrape(client, auth)
    assert value(samples, "webinars_smtp_failures_total", **{"class": "connection"}) == 2
    assert value(samples, "webinars_smtp_failures_total", **{"class": "temporary"}) == 0
    # The database's figures come once, from the database, not once per process.
    assert value(samples, "webinars_registrations", status="confirmed") == 0
    assert value(samples, "webinars_database_up") == 1


def test_the_gunicorn_hook_forgets_a_dead_worker(tmp_path, monkeypatch):
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    seen = []
    monkeypatch.setattr(settings["multiprocess"], "mark_process_dead", seen.append)

    class Worker:
        pid = 4242

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    settings["child_exit"](None, Worker())
    assert seen == []  # single-process mode: nothing to forget
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    settings["child_exit"](None, Worker())
    assert seen == [4242]
