"""The day's salt of the mobile 取号 page's phone keys (`/take`, queue_server.take_page).

A mobile ticket's event keeps `phone_key`, a keyed hash of the phone number under the salt of
its service day: random, made by the first mobile ticket of the day, kept here, not in the log,
and deleted once the day is over (`forget_before`, when the hall's day starts; also when a
server takes the hall). So the log's keys serve the rule "one ticket per phone per category"
for their day, also for a server that takes the hall over in the day (it reads the same row),
and afterwards nobody, not even with the whole database and the hall's secret, can tell which
number a key was of.
"""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from queue_server.store.schema import PhoneSaltRow


def salt_for(conn: Connection, hall_id: int, day: date) -> str:
    """The salt of the hall's `day`, made now if it has none: whichever server makes it first,
    every server reads the same one."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(PhoneSaltRow).values(
        hall_id=hall_id, day=day, salt=secrets.token_hex(32)).on_conflict_do_nothing())
    return conn.execute(select(PhoneSaltRow.salt).where(
        PhoneSaltRow.hall_id == hall_id, PhoneSaltRow.day == day)).scalar_one()


def forget_before(conn: Connection, hall_id: int, day: date) -> None:
    """Delete the salts of the hall's days before `day`: their keys become meaningless."""
    conn.execute(delete(PhoneSaltRow).where(PhoneSaltRow.hall_id == hall_id,
                                            PhoneSaltRow.day < day))
