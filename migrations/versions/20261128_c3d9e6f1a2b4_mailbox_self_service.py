"""mailbox self-service: forwarding, vacation, app passwords

Revision ID: c3d9e6f1a2b4
Revises: a8c1e5d2b7f4
Create Date: 2026-11-28 13:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3d9e6f1a2b4'
down_revision = 'a8c1e5d2b7f4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('app_password',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mailbox_id'], ['mailbox.id'], name=op.f('fk_app_password_mailbox_id_mailbox'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_password')),
    sa.UniqueConstraint('mailbox_id', 'name', name=op.f('uq_app_password_mailbox_id'))
    )
    with op.batch_alter_table('app_password', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_app_password_mailbox_id'), ['mailbox_id'], unique=False)

    # Existing mailboxes: no forwarding, a kept copy, no vacation (server defaults fill the rows).
    with op.batch_alter_table('mailbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('forward_to', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('forward_keep_copy', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('vacation_enabled', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('vacation_subject', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('vacation_body', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('vacation_start', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('vacation_end', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('vacation_interval_days', sa.Integer(), nullable=False, server_default='7'))
    with op.batch_alter_table('mailbox', schema=None) as batch_op:
        for column in ('forward_to', 'forward_keep_copy', 'vacation_enabled', 'vacation_subject',
                       'vacation_body', 'vacation_interval_days'):
            batch_op.alter_column(column, server_default=None)


def downgrade():
    with op.batch_alter_table('mailbox', schema=None) as batch_op:
        for column in ('vacation_interval_days', 'vacation_end', 'vacation_start', 'vacation_body',
                       'vacation_subject', 'vacation_enabled', 'forward_keep_copy', 'forward_to'):
            batch_op.drop_column(column)

    with op.batch_alter_table('app_password', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_app_password_mailbox_id'))
    op.drop_table('app_password')
