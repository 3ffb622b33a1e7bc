"""A village point's own SQLite: its log (up), the town's log as received (down), its settings.

The point's log is its outbox: every entry it writes gets the next number, and the sync sends
the entries after the last one the town has (queue_server.points.sync), so nothing needs to be
marked as sent and nothing is sent twice in the ledger's eyes. The town's entries are stored by
their own number, once: receiving one again changes nothing. Each write is one transaction on a
file in WAL mode with `synchronous=FULL` (queue_server.store.database), so a case the agent was
told is recorded survives a power cut.

`meta` holds the enrolment (the point's identity, secret and the town's calendar), the current
catalogue and the sync's state, as JSON by key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from sqlalchemy import JSON, Column, Engine, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from queue_server.points.enrolment import CatalogueItem, Enrolment
from queue_server.points.ledger import Entry, Record, entry_from_wire
from queue_server.store.database import open_engine

metadata = MetaData()


def _log(name: str) -> Table:
    return Table(name, metadata,
                 Column("seq", Integer, primary_key=True, autoincrement=False),
                 Column("at", String(40), nullable=False),
                 Column("seen", Integer, nullable=False),
                 Column("kind", String(40), nullable=False),
                 Column("case_no", String(40), nullable=False, index=True),
                 Column("data", JSON, nullable=False))


up_log = _log("point_up")
down_log = _log("point_down")
meta = Table("point_meta", metadata,
             Column("key", String(40), primary_key=True),
             Column("value", JSON, nullable=False))


class NotEnrolled(Exception):
    """This database holds no point yet."""


class PointStore:
    def __init__(self, url: str) -> None:
        self.engine: Engine = open_engine(url)
        metadata.create_all(self.engine)

    # --- settings --------------------------------------------------------------------------

    def get(self, key: str) -> Any:
        with self.engine.connect() as db:
            return db.scalar(select(meta.c.value).where(meta.c.key == key))

    def put(self, key: str, value: Any) -> None:
        statement = sqlite_insert(meta).values(key=key, value=value)
        with self.engine.begin() as db:
            db.execute(statement.on_conflict_do_update(index_elements=[meta.c.key],
                                                       set_={"value": value}))

    def enrol(self, enrolment: Enrolment) -> None:
        """Make this database the point of `enrolment`; refused when it already is a point."""
        with self.engine.begin() as db:
            if db.scalar(select(meta.c.value).where(meta.c.key == "enrolment")) is not None:
                raise ValueError("本机已登记为代办点，不能再次登记（如需更换，请用新的数据库文件）")
            db.execute(insert(meta), [{"key": "enrolment", "value": asdict(enrolment)},
                                      {"key": "catalogue", "value": {
                                          "version": enrolment.catalogue_version,
                                          "items": [asdict(i) for i in enrolment.items]}},
                                      {"key": "sync", "value": {"town_has": enrolment.up_have}}])

    def enrolment(self) -> Enrolment:
        data = self.get("enrolment")
        if data is None:
            raise NotEnrolled("本机尚未登记为代办点：请先用乡镇给的登记码运行 queue-server point init")
        data = dict(data)
        items = tuple(CatalogueItem(i["code"], i["name"], tuple(i["materials"]))
                      for i in data.pop("items"))
        return Enrolment(**data, items=items)

    def catalogue(self) -> tuple[int, tuple[CatalogueItem, ...]]:
        data = self.get("catalogue")
        return data["version"], tuple(CatalogueItem(i["code"], i["name"], tuple(i["materials"]))
                                      for i in data["items"])

    # --- the two logs ----------------------------------------------------------------------

    def write(self, record: Record, at: str) -> Entry:
        """Append one entry of the point's own to its log, numbered next, with how much of the
        town's log it has seen; durable when this returns."""
        with self.engine.begin() as db:
            seq = (db.scalar(select(func.max(up_log.c.seq))) or 0) + 1
            seen = db.scalar(select(func.max(down_log.c.seq))) or 0
            entry = Entry(seq, at, seen, record)
            db.execute(insert(up_log).values(log_row(entry)))
        return entry

    def receive(self, entries: Iterable[Entry]) -> list[Entry]:
        """Store the town's entries not stored yet; returns those that were new."""
        entries = list(entries)
        rows = [log_row(e) for e in entries]
        if not rows:
            return []
        with self.engine.begin() as db:
            have = set(db.scalars(select(down_log.c.seq).where(
                down_log.c.seq.in_([r["seq"] for r in rows]))))
            new = [r for r in rows if r["seq"] not in have]
            if new:
                db.execute(insert(down_log), new)
        return [e for e in entries if e.seq not in have]

    def restore(self, entries: Iterable[Entry]) -> list[Entry]:
        """Store entries of the point's own log that the town gives back (queue_server.points.sync:
        its copy held more than this database), by their numbers: those after the log's last,
        which must follow it without a gap (ValueError, nothing stored); returns those stored.
        Receiving one again changes nothing."""
        with self.engine.begin() as db:
            last = db.scalar(select(func.max(up_log.c.seq))) or 0
            new = [e for e in entries if e.seq > last]
            if [e.seq for e in new] != list(range(last + 1, last + 1 + len(new))):
                raise ValueError(f"取回的台账记录不连续：本机已有第 {last} 条")
            if new:
                db.execute(insert(up_log), [log_row(e) for e in new])
        return new

    def town_ahead(self) -> int:
        """How many entries of this point's own log the town holds that this database lacks (the
        town's count at the last contact, kept in `sync`, minus the log's last): a PC re-enrolled
        with an empty log, or a database restored from an older backup. While there are, the
        point writes nothing: its next numbers are entries the town already holds."""
        town_has = (self.get("sync") or {}).get("town_has", 0)
        return max(0, int(town_has) - self.last()[0])

    def up(self, after: int = 0, limit: int | None = None) -> list[Entry]:
        return self._read(up_log, after, limit)

    def down(self, after: int = 0) -> list[Entry]:
        return self._read(down_log, after, None)

    def last(self) -> tuple[int, int]:
        """The last number of the point's log and of the town's log as stored here."""
        with self.engine.connect() as db:
            return (db.scalar(select(func.max(up_log.c.seq))) or 0,
                    db.scalar(select(func.max(down_log.c.seq))) or 0)

    def _read(self, table: Table, after: int, limit: int | None) -> list[Entry]:
        query = select(table.c.data).where(table.c.seq > after).order_by(table.c.seq)
        with self.engine.connect() as db:
            return [entry_from_wire(row) for row in db.scalars(query.limit(limit))]


def log_row(entry: Entry) -> dict[str, Any]:
    """An entry as a log's row holds it (the town's logs too: queue_server.store.point_logs)."""
    return {"seq": entry.seq, "at": entry.at, "seen": entry.seen, "kind": entry.record.tag,
            "case_no": entry.record.case, "data": entry.wire()}
