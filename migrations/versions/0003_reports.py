"""reports: coordinator link, facilitator name and written synthesis

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 08:55:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema.

    Plain ADD COLUMN and CREATE INDEX: no table is rebuilt, so databases with rows (and
    foreign keys on) upgrade in place.
    """
    op.add_column('events', sa.Column('coordinator_token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.create_index(op.f('ix_events_coordinator_token_hash'), 'events', ['coordinator_token_hash'], unique=True)
    op.add_column('tables', sa.Column('facilitator_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False, server_default=''))
    op.add_column('tables', sa.Column('synthesis', sqlmodel.sql.sqltypes.AutoString(length=20000), nullable=False, server_default=''))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column('tables', 'synthesis')
    op.drop_column('tables', 'facilitator_name')
    op.drop_index(op.f('ix_events_coordinator_token_hash'), table_name='events')
    op.drop_column('events', 'coordinator_token_hash')
