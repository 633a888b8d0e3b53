"""participants may consent to their name in the minutes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 09:50:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Nobody who joined before this question existed is named."""
    op.add_column(
        "participants",
        sa.Column("named_in_minutes", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("participants") as batch_op:
        batch_op.drop_column("named_in_minutes")
