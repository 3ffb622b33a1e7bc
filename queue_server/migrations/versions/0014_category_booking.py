"""a category's appointments (预约): its `[categories.booking]` rules as JSON

A category that takes bookings has its slots' sessions, length, places and check-in limits in
the hall file (docs/appointments.md); they are kept with the category, as the file gives them.
NULL: the category takes no bookings (every category before).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("categories") as batch:
        batch.add_column(sa.Column("booking", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("categories") as batch:
        batch.drop_column("booking")
