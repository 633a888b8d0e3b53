"""privacy: the event's notice and retention; participants can be erased

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 22:10:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Events created before get no notice (the default one is shown) and 90 days."""
    op.add_column(
        "events",
        sa.Column("privacy", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )
    op.add_column(
        "events",
        sa.Column("retention_days", sa.Integer(), nullable=False, server_default="90"),
    )
    op.add_column(
        "participants",
        sa.Column("erased", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("participants") as batch_op:
        batch_op.drop_column("erased")
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_column("retention_days")
        batch_op.drop_column("privacy")
