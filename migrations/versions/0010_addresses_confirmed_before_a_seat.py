"""addresses confirmed before a seat

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:10:00

Anyone could take a seat with any address: a script filled a 30-seat
workshop in under a second, with addresses nobody owned. An event that
verifies addresses (``events.verify_email``; None follows the
installation's rule, on by default when seats are limited) keeps a request
in ``registration_requests`` until the mailed link is opened, and only then
decides the seat. Existing events keep None, so the rule applies to them
too.
"""
from alembic import op
import sqlalchemy as sa

import webinars.core.db


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verify_email', sa.Boolean(), nullable=True))
    op.create_table(
        'registration_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('email_key', sa.String(length=254), nullable=False),
        sa.Column('organization', sa.String(length=200), nullable=False),
        sa.Column('country', sa.String(length=8), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('created_at', webinars.core.db.UTCDateTime(), nullable=False),
        sa.Column('expires_at', webinars.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'],
                                name=op.f('fk_registration_requests_event_id_events'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_requests')),
        sa.UniqueConstraint('token', name=op.f('uq_registration_requests_token')),
    )
    with op.batch_alter_table('registration_requests', schema=None) as batch_op:
        batch_op.create_index('ix_registration_requests_event_email',
                              ['event_id', 'email_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_registration_requests_expires_at'),
                              ['expires_at'], unique=False)


def downgrade():
    op.drop_table('registration_requests')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('verify_email')
