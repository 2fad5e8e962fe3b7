"""One round trip for a short transaction (webinars.core.roundtrip), on both databases."""

import pytest
import sqlalchemy as sa
from test_api_events import MEKONG

from webinars.core.db import db
from webinars.core.roundtrip import run_with_commit
from webinars.models import Event

BY_SLUG = sa.select(Event.id, Event.title).where(Event.slug == sa.bindparam("slug"))
RENAME = (sa.update(Event).where(Event.slug == sa.bindparam("s"))
          .values(title=sa.bindparam("new"), updated_at=Event.updated_at)
          .returning(Event.title))


SLUG = "mekong-delta"


@pytest.fixture
def event_id(client, auth):
    assert client.post("/api/v1/events", json=dict(MEKONG, slug=SLUG),
                       headers=auth).status_code == 201
    return db.session.scalar(sa.select(Event.id))


def _run(steps):
    with db.engine.connect() as conn, conn.begin():
        return run_with_commit(conn, steps)


def test_statements_run_in_order_and_commit_together(app, event_id):
    title = "Tonle Sap: it's 100% \"quoted\"; DROP TABLE events; --"
    found, renamed, again = _run([(BY_SLUG, {"slug": SLUG}),
                                  (RENAME, {"s": SLUG, "new": title}),
                                  (BY_SLUG, {"slug": SLUG})])
    assert found[0].id == event_id and found[0].title == MEKONG["title"]
    assert renamed[0].title == title  # the value arrives as typed, quotes and all
    assert again[0].title == title
    db.session.rollback()  # a fresh snapshot
    assert db.session.get(Event, event_id).title == title


def test_a_failing_statement_leaves_nothing_and_the_connection_usable(app, event_id):
    with pytest.raises(sa.exc.IntegrityError):
        _run([(RENAME, {"s": SLUG, "new": "renamed"}),
              (RENAME, {"s": SLUG, "new": None})])  # a title is required
    db.session.rollback()
    assert db.session.get(Event, event_id).title == MEKONG["title"]
    assert _run([(BY_SLUG, {"slug": SLUG})])[0][0].id == event_id


def test_statements_the_server_forgot_are_prepared_again(app, event_id):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL prepares them")
    with db.engine.connect() as conn:
        conn.begin()
        assert run_with_commit(conn, [(BY_SLUG, {"slug": SLUG})])[0][0].id == event_id
        conn.commit()
        # As after DISCARD ALL, or a pooler handing over another server session.
        for (name,) in conn.exec_driver_sql(
                "SELECT name FROM pg_prepared_statements WHERE name LIKE 'webinars_%%'").all():
            conn.exec_driver_sql(f"DEALLOCATE {name}")
        conn.commit()
        conn.begin()
        assert run_with_commit(conn, [(BY_SLUG, {"slug": SLUG})])[0][0].id == event_id
        conn.commit()


def test_python_side_defaults_are_refused_not_left_empty(app, event_id):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's statements go through SQLAlchemy's own execution")
    touch = sa.update(Event).where(Event.id == sa.bindparam("event")).values(title="x")
    with pytest.raises(ValueError, match="Python-side defaults"):
        _run([(touch, {"event": event_id})])


PROBE = sa.Table("roundtrip_probe", sa.MetaData(), sa.Column("id", sa.Integer),
                 sa.Column("v", sa.String(10)))
READ_PROBE = sa.select(PROBE.c.v).where(PROBE.c.id == sa.bindparam("probe"))


@pytest.fixture
def probe_table(app):
    """A scratch table the test may change under prepared statements."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL prepares them")
    PROBE.drop(db.engine, checkfirst=True)
    yield
    PROBE.drop(db.engine, checkfirst=True)


def test_a_statement_that_could_not_be_prepared_is_prepared_once_it_can(
        app, event_id, probe_table):
    # As when new code meets a database one migration behind: the first
    # statement is prepared, the second fails, and neither may be stuck.
    steps = [(BY_SLUG, {"slug": SLUG}), (READ_PROBE, {"probe": 1})]
    with pytest.raises(sa.exc.ProgrammingError, match="roundtrip_probe"):
        _run(steps)
    PROBE.create(db.engine)
    with db.engine.begin() as conn:
        conn.execute(PROBE.insert().values(id=1, v="ok"))
    found, probed = _run(steps)
    assert found[0].id == event_id and probed[0].v == "ok"


def test_a_migration_under_prepared_statements_does_not_stop_them(app, probe_table):
    PROBE.create(db.engine)
    with db.engine.begin() as conn:
        conn.execute(PROBE.insert().values(id=1, v="before"))
    assert _run([(READ_PROBE, {"probe": 1})])[0][0].v == "before"
    with db.engine.begin() as conn:  # the result's type changes under the prepared plan
        conn.exec_driver_sql("ALTER TABLE roundtrip_probe ALTER COLUMN v TYPE varchar(20)")
        conn.execute(PROBE.update().values(v="after, and longer"))
    assert _run([(READ_PROBE, {"probe": 1})])[0][0].v == "after, and longer"
