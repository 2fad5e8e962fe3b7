"""The one way to write: commit or roll back as a whole, then what waited for the commit."""

import pytest
import sqlalchemy as sa

from webinars.core import clock
from webinars.core.db import db
from webinars.core.errors import Conflict
from webinars.core.transactions import after_commit, write_transaction
from webinars.models import Heartbeat, OutboxMessage


def beats() -> list[str]:
    db.session.rollback()
    return db.session.scalars(sa.select(Heartbeat.name).order_by(Heartbeat.name)).all()


def add_beat(name: str) -> None:
    db.session.add(Heartbeat(name=name, beat_at=clock.now(), detail=""))


@pytest.mark.parametrize("own_connection", [False, True])
def test_callbacks_run_once_after_the_commit_and_see_its_rows(app, own_connection):
    seen = []

    def look():
        seen.append(beats())

    with write_transaction(own_connection=own_connection) as conn:
        if own_connection:
            conn.execute(sa.insert(Heartbeat).values(name="a", beat_at=sa.func.now(), detail=""))
        else:
            add_beat("a")
        after_commit(look)
        after_commit(look)  # asked twice, runs once
        assert seen == []
    assert seen == [["a"]]


def test_an_error_rolls_back_everything_and_runs_no_callback(app):
    ran = []
    with pytest.raises(Conflict), write_transaction():
        add_beat("a")
        db.session.flush()
        after_commit(lambda: ran.append(True))
        raise Conflict("no")
    assert beats() == [] and ran == []


def test_a_return_inside_the_block_commits(app):
    def service():
        with write_transaction():
            add_beat("kept")
            return "done"

    assert service() == "done"
    assert beats() == ["kept"]


def test_transactions_do_not_nest_and_callbacks_need_one(app):
    with write_transaction(), pytest.raises(RuntimeError, match="does not nest"), \
            write_transaction():
        pass
    with pytest.raises(RuntimeError, match="needs an open write_transaction"):
        after_commit(lambda: None)


def test_mail_a_service_queues_is_delivered_after_its_commit_without_a_sweep(
        mail_app, client, auth, smtp):
    # The broadcast queues one message per registrant and never calls a sender:
    # the queue asks for delivery after the commit (inline in tests).
    from test_api_events import MEKONG

    from webinars.registrations import broadcast
    from webinars.registrations.queries import by_token

    assert client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"),
                       headers=auth).status_code == 201
    token = client.post("/api/v1/events/mekong/registrations", json={
        "name": "Sok", "email": "sok@example.org"}).json["token"]
    event_id = by_token(token).event_id
    smtp.messages.clear()
    broadcast.send_to_registrants(event_id, "confirmed", "Slides", "Here they are.", None)
    assert smtp.kinds("sok@example.org") == ["message"]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).where(
        OutboxMessage.sent_at.is_(None))) == 0
