"""organisation names: variants of an event's organisations unified for the register

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 04:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Events created before unify nothing: the automatic match alone, as until now."""
    op.add_column(
        "events",
        sa.Column(
            "organisation_names", sa.JSON(), nullable=False, server_default=sa.text("'{}'")
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_column("organisation_names")
