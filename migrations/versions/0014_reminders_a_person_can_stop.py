"""reminders a person can stop

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 19:50:00

A registrant may stop the reminders of their registration, from the
one-click link every reminder carries (RFC 8058) or their page, and turn
them on again; the seat stays. Existing registrations receive them.
"""
from alembic import op
import sqlalchemy as sa
import webinars.core.db


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminders_stopped_at', webinars.core.db.UTCDateTime(),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_column('reminders_stopped_at')
