"""usage history, quota warnings, cleanup policies, node usage tokens

Revision ID: a8c1e5d2b7f4
Revises: a7c1e0d4b9f2
Create Date: 2026-11-28 13:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a8c1e5d2b7f4'
down_revision = 'a7c1e0d4b9f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'usage_sample',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mailbox_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('used_bytes', sa.BigInteger(), nullable=False),
        sa.Column('message_count', sa.Integer(), nullable=False),
        sa.Column('freed_messages', sa.Integer(), nullable=False),
        sa.Column('freed_bytes', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['mailbox_id'], ['mailbox.id'], name=op.f('fk_usage_sample_mailbox_id_mailbox'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_sample')),
        sa.UniqueConstraint('mailbox_id', 'day', name=op.f('uq_usage_sample_mailbox_id')),
    )
    with op.batch_alter_table('usage_sample', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_sample_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_sample_mailbox_id'), ['mailbox_id'], unique=False)
    op.create_table(
        'domain_traffic',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('domain_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('messages_in', sa.Integer(), nullable=False),
        sa.Column('messages_out', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['domain_id'], ['domain.id'], name=op.f('fk_domain_traffic_domain_id_domain'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_domain_traffic')),
        sa.UniqueConstraint('domain_id', 'day', name=op.f('uq_domain_traffic_domain_id')),
    )
    with op.batch_alter_table('domain_traffic', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_domain_traffic_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_domain_traffic_domain_id'), ['domain_id'], unique=False)
    with op.batch_alter_table('domain', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trash_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('archive_days', sa.Integer(), nullable=True))
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trash_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('archive_days', sa.Integer(), nullable=True))
    with op.batch_alter_table('mailbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quota_warning', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('node', schema=None) as batch_op:
        batch_op.add_column(sa.Column('usage_token_hash', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('node', schema=None) as batch_op:
        batch_op.drop_column('usage_token_hash')
    with op.batch_alter_table('mailbox', schema=None) as batch_op:
        batch_op.drop_column('quota_warning')
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_column('archive_days')
        batch_op.drop_column('trash_days')
    with op.batch_alter_table('domain', schema=None) as batch_op:
        batch_op.drop_column('archive_days')
        batch_op.drop_column('trash_days')
    op.drop_index(op.f('ix_domain_traffic_domain_id'), table_name='domain_traffic')
    op.drop_index(op.f('ix_domain_traffic_day'), table_name='domain_traffic')
    op.drop_table('domain_traffic')
    op.drop_index(op.f('ix_usage_sample_mailbox_id'), table_name='usage_sample')
    op.drop_index(op.f('ix_usage_sample_day'), table_name='usage_sample')
    op.drop_table('usage_sample')
