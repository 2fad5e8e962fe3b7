"""attendance from the platform, follow-up mail and certificates

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 19:00:00

After the event (issue 18): an attendance row also keeps the minutes the
meeting platform's report counted (``minutes``; ``checked_in`` is the hand
check-in, true for every existing row, which was one); an event has the
share of a session that counts as attended, how many sessions earn a
certificate and who issues it; follow-up messages and issued certificates
have tables of their own.
"""
from alembic import op
import sqlalchemy as sa
import webinars.core.db


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attendance_threshold', sa.Integer(),
                                      server_default='50', nullable=False))
        batch_op.add_column(sa.Column('certificate_sessions', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('issuer', sa.String(length=200), server_default='',
                                      nullable=False))
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checked_in', sa.Boolean(), server_default=sa.true(),
                                      nullable=False))
        batch_op.add_column(sa.Column('minutes', sa.Integer(), nullable=True))
    op.create_table(
        'certificates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=True),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('event_title', sa.String(length=200), nullable=False),
        sa.Column('issuer', sa.String(length=200), nullable=False),
        sa.Column('sessions', sa.JSON(), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('issued_at', webinars.core.db.UTCDateTime(), nullable=False),
        sa.Column('mailed_at', webinars.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'],
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code'),
        sa.UniqueConstraint('registration_id'),
    )
    op.create_index('ix_certificates_event_id', 'certificates', ['event_id'])
    op.create_table(
        'follow_ups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('audience', sa.String(length=16), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('after_end_minutes', sa.Integer(), nullable=True),
        sa.Column('send_at', webinars.core.db.UTCDateTime(), nullable=False),
        sa.Column('sent_at', webinars.core.db.UTCDateTime(), nullable=True),
        sa.Column('recipients', sa.Integer(), nullable=True),
        sa.Column('organizer_id', sa.Integer(), nullable=True),
        sa.Column('created_at', webinars.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['organizer_id'], ['organizers.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_follow_ups_event_id', 'follow_ups', ['event_id'])
    op.create_index('ix_follow_ups_send_at', 'follow_ups', ['send_at'])


def downgrade():
    op.drop_index('ix_follow_ups_send_at', table_name='follow_ups')
    op.drop_index('ix_follow_ups_event_id', table_name='follow_ups')
    op.drop_table('follow_ups')
    op.drop_index('ix_certificates_event_id', table_name='certificates')
    op.drop_table('certificates')
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_column('minutes')
        batch_op.drop_column('checked_in')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('issuer')
        batch_op.drop_column('certificate_sessions')
        batch_op.drop_column('attendance_threshold')
