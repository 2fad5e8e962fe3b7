"""questions, approval and invitations

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 18:20:00

Registration that fits each programme (issue 17): an event asks its own
questions (``events.questions``; the answers are kept with the registration
and with a request waiting for its address), may admit by approval
(``admission``: registrations wait as ``pending``), and may take only the
people it invites (``invite_only``, ``allowed_domains``, the ``invitations``
table). Existing events stay open to all and ask nothing more.
"""
from alembic import op
import sqlalchemy as sa

import webinars.core.db


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('questions', sa.JSON(), server_default='[]',
                                      nullable=False))
        batch_op.add_column(sa.Column('admission', sa.String(length=16), server_default='open',
                                      nullable=False))
        batch_op.add_column(sa.Column('invite_only', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('allowed_domains', sa.JSON(), server_default='[]',
                                      nullable=False))
        batch_op.add_column(sa.Column('admit_invited', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    for table in ('registrations', 'registration_requests'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('answers', sa.JSON(), server_default='{}',
                                          nullable=False))
    op.create_table(
        'invitations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('email_key', sa.String(length=254), nullable=False),
        sa.Column('country', sa.String(length=8), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('created_at', webinars.core.db.UTCDateTime(), nullable=False),
        sa.Column('mailed_at', webinars.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id', 'email_key', name='uq_invitations_event_email'),
        sa.UniqueConstraint('token'),
    )


def downgrade():
    op.drop_table('invitations')
    for table in ('registration_requests', 'registrations'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('answers')
    with op.batch_alter_table('events', schema=None) as batch_op:
        for column in ('admit_invited', 'allowed_domains', 'invite_only', 'admission',
                       'questions'):
            batch_op.drop_column(column)
