"""The migrations build the schema the models describe, on every backend."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from webinars.core.db import db


def test_migrations_match_the_models(app):
    # The app fixture's database was built by `upgrade()` alone.
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_downgrade_to_nothing_and_back(app):
    downgrade(revision="base")
    with db.engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == ["alembic_version"]
    upgrade()
    with db.engine.connect() as conn:
        assert {"events", "sessions", "organizers", "api_tokens"} <= set(
            sa.inspect(conn).get_table_names())
