"""the day's salt of the mobile 取号 page's phone keys, deleted when the day is over

The log's `phone_key` of a mobile ticket (`/take`) was an HMAC of the day and the number under
the hall's secret, kept in the same database: a dump of it let anyone test phone numbers
against the keys, for ever. Keys are now made with a random salt of their service day, kept in
`phone_salts` (so that a server taking the hall over in the day keeps the rule) and deleted
when the day is over (queue_server.store.phone_salts). The keys already in the log were made
the old way; no salt of theirs exists, and nothing reads them any more.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phone_salts",
        sa.Column("hall_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["hall_id"], ["halls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("hall_id", "day"),
    )


def downgrade() -> None:
    op.drop_table("phone_salts")
