"""Each hall's live figures, as the server that leads it last wrote them (`hall_live`), and
the county's halls read with them, for `/county` on whichever server (queue_server.county)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from queue_server.store.schema import HallLiveRow, HallRow


def publish(conn: Connection, server: str, figures: dict[int, tuple[int, dict[str, Any]]],
            now: datetime) -> None:
    """Write the figures of the halls this server leads (hall id → the epoch it leads it
    with, and `views.hall_summary`). A hall's row written under a later epoch (by the server
    that took it since) is left as it is."""
    if not figures:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(HallLiveRow)
    conn.execute(statement.on_conflict_do_update(
        index_elements=[HallLiveRow.hall_id],
        set_={"server": statement.excluded.server, "epoch": statement.excluded.epoch,
              "at": statement.excluded.at, "data": statement.excluded.data},
        where=HallLiveRow.epoch <= statement.excluded.epoch),
        [{"hall_id": hall_id, "server": server, "epoch": epoch, "at": now, "data": data}
         for hall_id, (epoch, data) in figures.items()])


def read(conn: Connection) -> list[dict[str, Any]]:
    """Every hall of the database, the county's own first, then in the order they were added:
    its code, name, level and time zone, and its last figures (None if never written) with when and by
    which server they were written."""
    rows = conn.execute(select(HallRow.id, HallRow.code, HallRow.name, HallRow.settings,
                               HallLiveRow.server, HallLiveRow.at, HallLiveRow.data)
                        .outerjoin(HallLiveRow, HallLiveRow.hall_id == HallRow.id)
                        .order_by(HallRow.id))
    halls = [{"id": r.id, "code": r.code, "name": r.name, "level": r.settings.get("level", ""),
              "timezone": r.settings["timezone"],
              "server": r.server, "at": r.at, "figures": r.data} for r in rows]
    return sorted(halls, key=lambda h: h["level"] != "county")
