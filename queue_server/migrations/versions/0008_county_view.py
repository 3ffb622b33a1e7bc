"""the county's view: county-wide manager accounts, and each hall's live figures in the database

A manager account of the county's own hall may have the scope `county`: it logs in to
`/county` and to any hall's dashboard. `hall_live` holds each hall's live figures, written by
the server that leads it every two seconds, so that `/county` on any server shows every hall.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("managers") as batch:
        batch.add_column(sa.Column("scope", sa.String(length=10), nullable=False,
                                   server_default="hall"))
    op.create_table(
        "hall_live",
        sa.Column("hall_id", sa.Integer(), nullable=False),
        sa.Column("server", sa.String(length=100), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["hall_id"], ["halls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("hall_id"),
    )


def downgrade() -> None:
    op.drop_table("hall_live")
    with op.batch_alter_table("managers") as batch:
        batch.drop_column("scope")
