"""village points: the points a town enrolled, the two logs of each, and where their sync stands

A village point (代办点, issue 18, docs/points.md) keeps its own ledger offline and syncs it
with its town's hall server. The town keeps, per hall: its enrolled points (`points`, with the
secret their sync proves itself with and the installation that first used the code), each
point's log as received (`point_up`, once by (hall, point, seq), with the town's clock and the
measured clock offset), the town's own log for each point (`point_down`) and the sync's state
(`point_sync`).

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

from queue_server.store.schema import UtcDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _log(name: str, *more: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("hall_id", sa.Integer(), nullable=False),
        sa.Column("point", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("seen", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("case_no", sa.String(length=40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        *more,
        sa.ForeignKeyConstraint(["hall_id"], ["halls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("hall_id", "point", "seq"),
    )
    op.create_index(f"ix_{name}_case", name, ["hall_id", "point", "case_no"])


def upgrade() -> None:
    op.create_table(
        "points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hall_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("installation", sa.String(length=64), nullable=True),
        sa.Column("enrolled_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["hall_id"], ["halls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_points_live", "points", ["hall_id", "code"], unique=True,
                    sqlite_where=sa.text("revoked_at IS NULL"),
                    postgresql_where=sa.text("revoked_at IS NULL"))
    _log("point_up", sa.Column("received_at", UtcDateTime(), nullable=False),
         sa.Column("clock_offset", sa.Integer(), nullable=True))
    _log("point_down")
    op.create_table(
        "point_sync",
        sa.Column("hall_id", sa.Integer(), nullable=False),
        sa.Column("point", sa.String(length=40), nullable=False),
        sa.Column("last_contact", UtcDateTime(), nullable=True),
        sa.Column("up_last", sa.Integer(), nullable=False),
        sa.Column("down_acked", sa.Integer(), nullable=False),
        sa.Column("clock_offset", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["hall_id"], ["halls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("hall_id", "point"),
    )


def downgrade() -> None:
    op.drop_table("point_sync")
    op.drop_table("point_down")
    op.drop_table("point_up")
    op.drop_index("ix_points_live", table_name="points")
    op.drop_table("points")
