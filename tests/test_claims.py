"""Claims belong to live senders: taken over when the owner dies, never while it lives,
and a sender that lost its claim sends nothing (webinars.claims)."""

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from conftest import at_once, wait_until
from test_api_events import MEKONG
from test_mail_smtp import register

from webinars import claims
from webinars.core import clock
from webinars.core.db import db
from webinars.mail import outbox
from webinars.models import Heartbeat, OutboxMessage
from webinars.registrations import notices


@pytest.fixture
def queued(mail_app, client, auth):
    """Three confirmations in the outbox, not yet sent."""
    mail_app.config["MAIL_DELIVERY"] = "manual"
    client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    for n in range(3):
        register(client, "mekong", email=f"p{n}@example.org")
    assert notices.process_due() == 3
    yield
    claims.stop(mail_app)


def held_by(name: str, beat_seconds_ago: float) -> None:
    """Every unsent message held by the sender ``name``, which last beat that long ago."""
    db.session.rollback()
    db.session.merge(Heartbeat(name=name, detail="another process",
                               beat_at=clock.wall() - timedelta(seconds=beat_seconds_ago)))
    db.session.execute(sa.update(OutboxMessage).values(claimed_by=name, claim_token="theirs"))
    db.session.commit()


def test_a_live_senders_claim_is_left_to_it_however_long_it_takes(queued, smtp):
    held_by("sender:elsewhere:1:aa", beat_seconds_ago=1)
    assert outbox.send_pending().sent == 0
    assert smtp.messages == []


def test_a_dead_senders_claim_is_taken_over_once_its_heartbeat_is_old(queued, smtp):
    held_by("sender:elsewhere:1:aa", beat_seconds_ago=claims.TAKEOVER_SECONDS + 1)
    assert outbox.send_pending().sent == 3
    assert sorted(m["To"] for m in smtp.messages) == [
        f"Sok Dara <p{n}@example.org>" for n in range(3)]
    held_by("sender:gone:2:bb", beat_seconds_ago=0)  # a claim on sent mail changes nothing
    assert outbox.send_pending().sent == 0


def test_a_claim_with_no_heartbeat_at_all_is_taken_over(queued, smtp):
    db.session.execute(sa.update(OutboxMessage).values(claimed_by="sender:never:3:cc",
                                                       claim_token="theirs"))
    db.session.commit()
    assert outbox.send_pending().sent == 3


def test_a_sender_whose_claim_was_taken_over_sends_nothing(queued, smtp, monkeypatch):
    real = claims.take

    def take_then_lose(*args, **kwargs):
        claim = real(*args, **kwargs)
        # Between the claim and the sending, another sender takes the rows over.
        with db.engine.begin() as conn:
            conn.execute(sa.update(OutboxMessage).values(claim_token="theirs"))
        return claim

    monkeypatch.setattr(claims, "take", take_then_lose)
    assert outbox.send_pending().sent == 0
    assert smtp.messages == []
    db.session.rollback()
    # Its marks did not land on the rows it lost, nor did its release.
    assert set(db.session.scalars(sa.select(OutboxMessage.claim_token))) == {"theirs"}


def test_a_sender_cut_off_from_the_database_stops_before_it_is_taken_for_dead(
        queued, smtp, monkeypatch):
    real = claims.take

    def take_then_doubt(*args, **kwargs):
        claim = real(*args, **kwargs)
        claim.sender.landed -= claims.DOUBT_SECONDS  # its beats stopped landing
        return claim

    monkeypatch.setattr(claims, "take", take_then_doubt)
    assert outbox.send_pending().sent == 0
    assert smtp.messages == []


def test_the_owner_beats_while_it_holds_a_claim_and_stops_after(queued, mail_app):
    claim = claims.take(OutboxMessage, order_by=(OutboxMessage.id,), limit=1)
    name = claim.sender.name

    def beat_at():
        db.session.rollback()
        return db.session.scalar(sa.select(Heartbeat.beat_at).where(Heartbeat.name == name))

    first = beat_at()
    with claim:
        wait_until(lambda: beat_at() > first, timeout=claims.BEAT_SECONDS * 5)
    claims.stop(mail_app)
    assert claim.sender.thread is None  # no thread outlives the last claim
    db.session.rollback()
    row = db.session.get(OutboxMessage, claim.ids[0])
    assert (row.claimed_by, row.claim_token) == (None, None)  # released at the end


def test_a_slow_relay_outliving_the_takeover_time_causes_no_duplicate(
        mail_app, client, auth, smtp, monkeypatch):
    """Two senders at once, each message slower than the takeover time would allow
    a timed claim: every message arrives once."""
    monkeypatch.setattr(claims, "BEAT_SECONDS", 0.1)
    monkeypatch.setattr(claims, "DOUBT_SECONDS", 0.6)
    monkeypatch.setattr(claims, "TAKEOVER_SECONDS", 1.0)
    mail_app.config["MAIL_DELIVERY"] = "manual"
    client.post("/api/v1/events", json=dict(MEKONG, slug="mekong"), headers=auth)
    for n in range(6):
        register(client, "mekong", email=f"p{n}@example.org")
    assert notices.process_due() == 6
    smtp.delay = 0.4  # 6 messages take 2.4 s, over twice the takeover time
    def sender():
        while outbox.send_pending(limit=3).sent:
            pass

    at_once(mail_app, sender, timeout=60)
    claims.stop(mail_app)
    ids = Counter(m["Message-ID"] for m in smtp.messages)
    assert len(ids) == 6 and set(ids.values()) == {1}


def test_a_sender_takes_back_the_rows_it_could_not_release(queued, smtp, monkeypatch):
    # The database went away mid-batch: neither the marks nor the release
    # landed, and the rows still bear this live sender's name. Its own next
    # claim takes them back; nobody else could, since it beats on.
    def cut_off(self, conn, **values):
        raise RuntimeError("the database went away")

    with monkeypatch.context() as patch:
        patch.setattr(claims.Claim, "release", cut_off)
        with outbox._claim(10) as claim:
            assert len(claim.ids) == 3
    db.session.rollback()
    assert {r.claimed_by for r in db.session.scalars(sa.select(OutboxMessage))} == {
        claim.sender.name}

    assert outbox.send_pending().sent == 3
    assert len(smtp.messages) == 3


def test_a_claim_taken_a_moment_ago_is_nobodys_to_take_over(queued, smtp):
    # An owner that had been idle beats, then claims; a claimer that still
    # read its old heartbeat must not take the fresh claim (claimed_at).
    held_by("sender:elsewhere:1:aa", beat_seconds_ago=claims.TAKEOVER_SECONDS + 5)
    db.session.execute(sa.update(OutboxMessage).values(claimed_at=clock.wall()))
    db.session.commit()
    assert outbox.send_pending().sent == 0
