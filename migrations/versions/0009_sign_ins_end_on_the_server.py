"""sign-ins end on the server

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 07:20:00

A signed-in organizer's session was only a signed cookie: signing out
deleted it from that browser, but a copy of the cookie (a shared computer,
a stolen laptop's profile) still opened the dashboard and the CSV until it
expired. Each sign-in now carries the organizer's ``session_key``, and
signing out gives the account a new one, which ends every copy of every
session of that account.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organizers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_key', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('organizers', schema=None) as batch_op:
        batch_op.drop_column('session_key')
