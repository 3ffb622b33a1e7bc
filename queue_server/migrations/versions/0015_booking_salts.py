"""the salts of the booking phone and ID keys, each deleted once nothing needs its keys

A booking's `phone_key` and `id_key` (`booking_made`) were HMACs under the hall's secret, kept
in the same database and for ever in the append-only log: a dump let anyone test phone numbers
(and, with a booking's code, the four ID digits) against them. Keys are now made under a random
salt of the period the booking was made in (`bookings.SALT_DAYS` days), kept in
`booking_salts` and deleted once no booking made in that period can count towards a no-show
block any more (queue_server.store.booking_salts). The keys of bookings made before this
migration were made the old way; they serve the bookings still pending, and the rule that
matches a phone against the live salts simply never matches them again.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "booking_salts",
        sa.Column("hall_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["hall_id"], ["halls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("hall_id", "since"),
    )


def downgrade() -> None:
    op.drop_table("booking_salts")
