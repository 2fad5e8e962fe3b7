"""every reader in their language

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:30:00

Pages, mails and invitations are translated (issue 16). A registrant's
language is kept with the registration (and with a request waiting for its
address to be confirmed), so that every mail to them uses it; an event has
the language its title and description are written in, and may carry them
in others (``translations``). Existing rows are English, as they were.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='en',
                                      nullable=False))
        batch_op.add_column(sa.Column('translations', sa.JSON(), server_default='{}',
                                      nullable=False))
    for table in ('registrations', 'registration_requests'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='en',
                                          nullable=False))


def downgrade():
    for table in ('registration_requests', 'registrations'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('language')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('translations')
        batch_op.drop_column('language')
