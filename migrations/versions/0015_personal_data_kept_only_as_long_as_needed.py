"""personal data kept only as long as needed

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 20:00:00

An event may keep its registrants' personal data for its own number of
days after it ends (``retention_days``; else the installation's
RETENTION_DAYS); ``personal_data_erased_at`` records when the retention
rule erased it, so the sweep looks at each event once.
"""
from alembic import op
import sqlalchemy as sa
import webinars.core.db


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retention_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('personal_data_erased_at', webinars.core.db.UTCDateTime(),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('personal_data_erased_at')
        batch_op.drop_column('retention_days')
