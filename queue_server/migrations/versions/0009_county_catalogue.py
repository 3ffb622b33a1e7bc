"""the county catalogue, its versions, and each hall's catalogue versions

Items and guides are maintained once at the county and pushed to its halls
(queue_server.catalogue). `county_catalogue` keeps every published version: the shared fields
of every county item, by code. `halls.county_version` says which version a hall's adopted items
have (0: none yet). `hall_catalogues` keeps a hall's items at each of its catalogue versions, so
that the guide a ticket was issued with can be shown later; the upgrade stores each hall's
present items as the snapshot of its present version.

Revision ID: 0009
Revises: 0008
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("halls") as batch:
        batch.add_column(sa.Column("county_version", sa.Integer(), nullable=False,
                                   server_default="0"))
    op.create_table(
        "county_catalogue",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    snapshots = op.create_table(
        "hall_catalogues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hall_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("county_version", sa.Integer(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["hall_id"], ["halls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hall_id", "version"),
    )
    conn = op.get_bind()
    halls = sa.table("halls", sa.column("id", sa.Integer()),
                     sa.column("catalogue_version", sa.Integer()))
    items = sa.table("items", sa.column("hall_id", sa.Integer()), sa.column("code", sa.String()),
                     sa.column("position", sa.Integer()), sa.column("name", sa.String()),
                     sa.column("department", sa.String()), sa.column("category", sa.String()),
                     sa.column("guide", sa.JSON()))
    now = datetime.now(UTC)
    if conn.dialect.name == "sqlite":   # as the store's UtcDateTime writes it there
        now = now.replace(tzinfo=None)
    for hall in conn.execute(sa.select(halls.c.id, halls.c.catalogue_version)).all():
        rows = conn.execute(sa.select(items.c.code, items.c.name, items.c.department,
                                      items.c.category, items.c.guide)
                            .where(items.c.hall_id == hall.id).order_by(items.c.position))
        op.bulk_insert(snapshots, [{
            "hall_id": hall.id, "version": hall.catalogue_version, "made_at": now,
            "county_version": 0, "items": [dict(row._mapping) for row in rows]}])


def downgrade() -> None:
    op.drop_table("hall_catalogues")
    op.drop_table("county_catalogue")
    with op.batch_alter_table("halls") as batch:
        batch.drop_column("county_version")
