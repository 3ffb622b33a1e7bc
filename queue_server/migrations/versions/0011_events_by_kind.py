"""the log's events found by kind, for the 差评 cases a restart replays from every day

A 差评 case (差评工单) outlives its service day: a server rebuilding its state replays the case
events of every earlier day before the last day's events (`hall_service.rebuild`). Without this
index that read scans every event of the hall (0.23 s for two years of a busy town hall, growing
each year); with it, ten milliseconds.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_hall_kind", "events", ["hall_id", "kind", "day"])


def downgrade() -> None:
    op.drop_index("ix_events_hall_kind", table_name="events")
