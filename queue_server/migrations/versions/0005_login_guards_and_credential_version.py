"""login guards for every account name tried, and a credentials version per hall

The lockout counter moves from the clerk and manager rows to `login_guards`, one row per
(hall, role, account name) tried, known or not: an unknown badge is then counted and locked
exactly like a real one, so the answers cannot tell them apart, and a login reserves its try
in one atomic statement there before the slow hash. `halls.credentials_version` goes up with
every revoked device, reset PIN and changed or removed manager, so that a running server sees
the change with one cheap read and ends the sessions those credentials opened.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_guards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hall_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_try_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["hall_id"], ["halls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hall_id", "role", "account"),
    )
    guards = sa.table("login_guards", sa.column("hall_id"), sa.column("role"),
                      sa.column("account"), sa.column("failures"), sa.column("locked_until"),
                      sa.column("last_try_at"))
    for table, role, account in (("clerks", "clerk", "badge"), ("managers", "manager", "user")):
        rows = sa.table(table, sa.column("hall_id"), sa.column(account),
                        sa.column("failed_logins"), sa.column("locked_until"))
        op.execute(guards.insert().from_select(
            ["hall_id", "role", "account", "failures", "locked_until", "last_try_at"],
            sa.select(rows.c.hall_id, sa.literal(role), rows.c[account], rows.c.failed_logins,
                      rows.c.locked_until, sa.func.coalesce(rows.c.locked_until,
                                                            sa.func.current_timestamp()))
            .where(sa.or_(rows.c.failed_logins > 0, rows.c.locked_until.is_not(None)))))
        with op.batch_alter_table(table) as batch:
            batch.drop_column("failed_logins")
            batch.drop_column("locked_until")
    with op.batch_alter_table("halls") as batch:
        batch.add_column(sa.Column("credentials_version", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("halls") as batch:
        batch.drop_column("credentials_version")
    for table in ("clerks", "managers"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False,
                                       server_default="0"))
            batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.drop_table("login_guards")
