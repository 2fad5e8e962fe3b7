"""waiting-list length kept on the event

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 02:10:00

A new registration on the waiting list is told its place; counting the
queue for that while holding the event's lock made a burst's throughput fall
as the queue grew (docs/performance.md). The column starts from the rows.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waitlist_length', sa.Integer(), server_default='0',
                                      nullable=False))
    op.execute("UPDATE events SET waitlist_length = (SELECT count(*) FROM registrations "
               "WHERE registrations.event_id = events.id AND registrations.status = 'waitlisted')")


def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('waitlist_length')
