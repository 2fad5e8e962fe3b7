"""a privacy notice per event

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 20:05:00

The organizer's words on how the programme uses registrants' data: shown
next to the form's button and linked from every mail. Empty for existing
events, which then show and link nothing.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('privacy_notice', sa.Text(), server_default='',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('privacy_notice')
