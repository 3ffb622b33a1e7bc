"""who leads each hall: a fencing epoch and the leader on the hall, and the servers' heartbeats

Several `serve` processes may run against one PostgreSQL; each hall is led by one of them
(queue_server.leadership). `halls.epoch` goes up each time a server takes a hall, and every
commit of the hall's events checks, in its own transaction, that it is still the epoch its
server took: a leader that was paused and comes back can never write. `halls.leader` names the
server that took it, and `servers` holds each server's address and when it was last heard of,
and the database session it leads from (`backend`, PostgreSQL's process id), so that the
others can send a hall's devices to its leader and see at once when a leader is gone.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("halls") as batch:
        batch.add_column(sa.Column("epoch", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("leader", sa.String(length=100), nullable=True))
    op.create_table(
        "servers",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=300), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("backend", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("servers")
    with op.batch_alter_table("halls") as batch:
        batch.drop_column("leader")
        batch.drop_column("epoch")
