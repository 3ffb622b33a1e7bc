"""first call times of the tickets projection, stored in UTC like every other time

Up to 0.1.0 a ticket's first call time went into the `tickets` projection as the hall's local
wall time on SQLite (every other time there is UTC). The event log was always right; this
rewrites the column from it: a ticket's first call is its earliest `ticket_called` event.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    events = sa.table("events", sa.column("hall_id"), sa.column("day"), sa.column("ticket"),
                      sa.column("kind"), sa.column("at"))
    tickets = sa.table("tickets", sa.column("hall_id"), sa.column("day"), sa.column("number"),
                       sa.column("first_called_at"))
    first_call = (sa.select(sa.func.min(events.c.at))
                  .where(events.c.hall_id == tickets.c.hall_id, events.c.day == tickets.c.day,
                         events.c.ticket == tickets.c.number, events.c.kind == "ticket_called")
                  .scalar_subquery())
    op.execute(tickets.update().where(tickets.c.first_called_at.is_not(None))
               .values(first_called_at=first_call))


def downgrade() -> None:
    pass   # the corrected times are right for every version
