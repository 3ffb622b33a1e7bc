"""a window's short business name for the hall board (`short_name` in the hall file)

The board, read from 10 m, has room for a few characters per window; a hall file may give
each window its business in at most six (docs/hall-config.md). Empty on existing windows: the
board then shortens the window's name by its rule (docs/board.md).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("windows") as batch:
        batch.add_column(sa.Column("short_name", sa.String(length=20), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("windows") as batch:
        batch.drop_column("short_name")
