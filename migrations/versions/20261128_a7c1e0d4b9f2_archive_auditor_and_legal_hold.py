"""archive: auditor permission on users, legal hold on domains

Revision ID: a7c1e0d4b9f2
Revises: ed0fa3f5d99d
Create Date: 2026-11-28 13:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c1e0d4b9f2'
down_revision = 'ed0fa3f5d99d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auditor', sa.Boolean(), server_default='0', nullable=False))
    with op.batch_alter_table('domain', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_hold', sa.Boolean(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('domain', schema=None) as batch_op:
        batch_op.drop_column('legal_hold')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('auditor')
