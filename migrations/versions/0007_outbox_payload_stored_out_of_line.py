"""outbox payload stored out of line

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 05:10:00

A short mail (a waiting-list notice: about 1.5 kB compressed) was kept in
the outbox row itself, so claiming it and marking it sent wrote the whole
message to the WAL twice more. During a registration burst that volume made
every registration's commit flush slower (docs/performance.md). With a low
TOAST target PostgreSQL keeps the payload out of line, written once; the
row's updates then carry only a pointer to it. SQLite has no such setting.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE outbox SET (toast_tuple_target = 128)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE outbox RESET (toast_tuple_target)")
