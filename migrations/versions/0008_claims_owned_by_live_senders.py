"""claims owned by live senders, and retries that know the calendar

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 22:30:00

A claim was a time (``claimed_until``, 300 s): a crashed sender held its
rows for five minutes, and a slow mail server outlived the claim so that a
second sender sent the same rows (docs/operations.md). A claim now names
its owner (``claimed_by``, a sender whose heartbeat row says it is alive)
and carries a fencing token (``claim_token``) that the owner checks before
each SMTP transaction, and says when it was taken (``claimed_at``: a row
claimed a moment ago is nobody's to take over, whatever an older reading
of the owner's heartbeat said). Reminders used ``claimed_until`` as their retry
time as well; that is ``retry_at`` now. The outbox learns the start of the
session a message is about (``about_at``), so that its retries can hurry
as the session nears. A reminder that failed says when (``failed_at``),
as a message of the outbox does, for the organizer's page. The scheduler finds the next retry by
``ix_reminders_status_retry``, as it finds the next due reminder by
``ix_reminders_status_due``.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('about_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('retry_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_reminders_status_retry', ['status', 'retry_at'], unique=False)


def downgrade():
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index('ix_reminders_status_retry')
        batch_op.drop_column('failed_at')
        batch_op.drop_column('retry_at')
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claim_token')
        batch_op.drop_column('claimed_by')
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(), nullable=True))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('about_at')
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claim_token')
        batch_op.drop_column('claimed_by')
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(), nullable=True))
