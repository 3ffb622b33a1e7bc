"""manager accounts, and the secret that signs citizens' ticket tokens

Revision ID: 0003
Revises: 0002
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("halls") as batch:
        batch.add_column(sa.Column("secret", sa.String(length=64), nullable=False,
                                   server_default=""))
    halls = sa.table("halls", sa.column("id", sa.Integer), sa.column("secret", sa.String))
    connection = op.get_bind()
    for (hall_id,) in connection.execute(sa.select(halls.c.id)).all():
        connection.execute(halls.update().where(halls.c.id == hall_id)
                           .values(secret=secrets.token_hex(32)))
    op.create_table(
        "managers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hall_id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["hall_id"], ["halls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hall_id", "user"),
    )


def downgrade() -> None:
    op.drop_table("managers")
    with op.batch_alter_table("halls") as batch:
        batch.drop_column("secret")
