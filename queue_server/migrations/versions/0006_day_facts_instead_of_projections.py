"""the folded facts of each closed day instead of the tickets, presence and ratings projections

Up to 0005 every command also updated three tables projected from its events (`tickets`,
`presence`, `ratings`), which nothing in the product read: every report folds the event log
(`kpis.fold`). Writing them was most of the cost of storing a command. They are dropped; the
events, the record of truth, are all kept. `day_facts` holds the fold of each closed service
day (`store.day_facts`), so that a yearly report reads a row per day; `database.migrate` fills
it for the days already in the log after upgrading.

The downgrade gives the projection tables back empty: they were derived, and the release that
wrote them reads them nowhere either.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_hall_issued")
    op.drop_table("tickets")
    with op.batch_alter_table("ratings") as batch:
        batch.drop_index("ix_ratings_hall_day")
    op.drop_table("ratings")
    with op.batch_alter_table("presence") as batch:
        batch.drop_index("ix_presence_hall_window_open")
    op.drop_table("presence")
    op.create_table(
        "day_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hall_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["hall_id"], ["halls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hall_id", "day"),
    )


def _keys() -> tuple[sa.Constraint, ...]:
    """The id and hall keys every table has (a constraint belongs to one table: made anew)."""
    return (sa.ForeignKeyConstraint(["hall_id"], ["halls.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"))


def downgrade() -> None:
    op.drop_table("day_facts")
    op.create_table(
        "presence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hall_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("clerk", sa.String(length=16), nullable=True),
        sa.Column("post", sa.String(length=1), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        *_keys(),
    )
    op.create_index("ix_presence_hall_window_open", "presence", ["hall_id", "window", "ended_at"])
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hall_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("ticket", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("window", sa.Integer(), nullable=True),
        sa.Column("clerk", sa.String(length=16), nullable=True),
        sa.Column("post", sa.String(length=1), nullable=True),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        *_keys(),
    )
    op.create_index("ix_ratings_hall_day", "ratings", ["hall_id", "day"])
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hall_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("number", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=2), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_called_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window", sa.Integer(), nullable=True),
        sa.Column("clerk", sa.String(length=16), nullable=True),
        sa.Column("post", sa.String(length=1), nullable=True),
        sa.Column("first_window", sa.Integer(), nullable=True),
        sa.Column("first_clerk", sa.String(length=16), nullable=True),
        sa.Column("target_window", sa.Integer(), nullable=True),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("recalls", sa.Integer(), nullable=False),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("hold_reason", sa.String(length=200), nullable=False),
        sa.Column("end_reason", sa.String(length=20), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        *_keys(),
        sa.UniqueConstraint("hall_id", "day", "number"),
    )
    op.create_index("ix_tickets_hall_issued", "tickets", ["hall_id", "issued_at"])
