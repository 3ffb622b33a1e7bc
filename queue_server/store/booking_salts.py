"""The salts of the booking page's phone and ID keys (`/book`, queue_server.bookings).

A booking's event keeps `phone_key` and `id_key`, keyed hashes under the salt of the period
(`bookings.SALT_DAYS` days, from `since`) in which it was made: random, made by the period's
first booking, kept here, not in the log. A phone is matched (its bookings of a day, its
no-shows, a cancellation) by its keys under every salt still kept. A salt is deleted once no
booking made in its period can matter any more (`bookings.salts_needed_since`): from then on
nobody, not even with the whole live database and the hall's secret, can test a number against
the log's keys of that period (a backup made before keeps the salts it held: see
docs/appointments.md).
"""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from queue_server.store.schema import BookingSaltRow


def salts(conn: Connection, hall_id: int, since: date) -> tuple[str, tuple[str, ...]]:
    """The salt of the period from `since` (made now if it has none: whichever server makes it
    first, every server reads the same one), and every salt kept, that one included."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(BookingSaltRow).values(
        hall_id=hall_id, since=since, salt=secrets.token_hex(32)).on_conflict_do_nothing())
    rows = conn.execute(select(BookingSaltRow.since, BookingSaltRow.salt).where(
        BookingSaltRow.hall_id == hall_id).order_by(BookingSaltRow.since)).all()
    return next(salt for day, salt in rows if day == since), tuple(salt for _, salt in rows)


def forget_before(conn: Connection, hall_id: int, since: date) -> None:
    """Delete the salts of the periods that began before `since`: their keys become
    untestable."""
    conn.execute(delete(BookingSaltRow).where(BookingSaltRow.hall_id == hall_id,
                                              BookingSaltRow.since < since))
