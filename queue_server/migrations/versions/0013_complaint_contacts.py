"""complainants' names and phone numbers, beside the log so that they can be purged

A complaint of the register (投诉/建议) is logged without anything personal; the name and phone
number a citizen gives (when the hall keeps them, `complaint_keep_contact`) are a row here, and
the row is deleted `complaint_contact_days` after the complaint is closed
(queue_server.complaint_contacts). The event log stays append-only.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaint_contacts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hall_id", sa.Integer(), sa.ForeignKey("halls.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("complaint", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.UniqueConstraint("hall_id", "complaint"),
    )


def downgrade() -> None:
    op.drop_table("complaint_contacts")
