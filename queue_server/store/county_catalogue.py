"""The county catalogue's versions, and a hall's catalogue versions, in the database.

`publish` keeps every version of the county's shared item fields (queue_server.catalogue);
`apply` brings one hall's adopted items to a version, in one transaction checked against the
fencing epoch of the server that leads the hall; `snapshot` keeps a hall's items at each of its
catalogue versions, for the guide a ticket was issued with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from queue_server import catalogue
from queue_server.hall_definition import HallDefinition
from queue_server.store.schema import CountyCatalogueRow, HallCatalogueRow, HallRow


@dataclass(frozen=True, slots=True)
class CountyVersion:
    version: int
    published_at: datetime
    note: str
    items: int
    """How many items it holds."""


def publish(conn: Connection, items: dict[str, dict[str, Any]], note: str,
            now: datetime) -> int | None:
    """Keep `items` as the next county version and return its number; None (and nothing
    written) when they are the same as the latest version's."""
    last = conn.execute(select(CountyCatalogueRow.version, CountyCatalogueRow.items)
                        .order_by(CountyCatalogueRow.version.desc()).limit(1)).first()
    if last is not None and last.items == items:
        return None
    version = 1 if last is None else last.version + 1
    conn.execute(insert(CountyCatalogueRow).values(version=version, published_at=now, note=note,
                                                   items=items))
    return version


def versions(conn: Connection) -> list[CountyVersion]:
    """Every published version, oldest first."""
    rows = conn.execute(select(CountyCatalogueRow).order_by(CountyCatalogueRow.version))
    return [CountyVersion(r.version, r.published_at, r.note, len(r.items)) for r in rows]


def latest(conn: Connection) -> tuple[int, datetime] | None:
    """The latest version's number and when it was published; one small read, made by every
    served hall on each tick."""
    row = conn.execute(select(CountyCatalogueRow.version, CountyCatalogueRow.published_at)
                       .order_by(CountyCatalogueRow.version.desc()).limit(1)).first()
    return None if row is None else (row.version, row.published_at)


def items_of(conn: Connection, version: int) -> dict[str, dict[str, Any]]:
    """A version's items (none for version 0: nothing published yet)."""
    if version == 0:
        return {}
    return conn.execute(select(CountyCatalogueRow.items).where(
        CountyCatalogueRow.version == version)).scalar_one()


def ever_published(conn: Connection) -> set[str]:
    """Every item code any version held."""
    codes: set[str] = set()
    for items in conn.execute(select(CountyCatalogueRow.items)).scalars():
        codes |= items.keys()
    return codes


def applied(conn: Connection, hall_id: int) -> int:
    return conn.execute(select(HallRow.county_version).where(HallRow.id == hall_id)).scalar_one()


def snapshot(conn: Connection, hall_id: int, version: int, county_version: int,
             rows: list[dict[str, Any]], now: datetime) -> None:
    """Keep the hall's items (`items` rows: code, name, department, category, guide) as they
    are at its catalogue `version`."""
    kept = [{k: row[k] for k in ("code", "name", "department", "category", "guide")}
            for row in rows]
    conn.execute(insert(HallCatalogueRow).values(hall_id=hall_id, version=version, made_at=now,
                                                 county_version=county_version, items=kept))


def snapshot_rows(conn: Connection, hall_id: int, version: int) -> list[Any] | None:
    """The hall's items at catalogue `version`, as rows `hall_records` reads: the snapshot of
    that version, or of the last one before it (a version is kept only when its items changed:
    a re-import that changed a clerk's PIN makes a version with its predecessor's items); None
    when no version up to it was kept (made before the hall's versions were)."""
    items = conn.execute(select(HallCatalogueRow.items).where(
        HallCatalogueRow.hall_id == hall_id, HallCatalogueRow.version <= version)
        .order_by(HallCatalogueRow.version.desc()).limit(1)).scalar()
    if items is None:
        return None
    return [_Row(**item) for item in items]


@dataclass(frozen=True, slots=True)
class _Row:
    code: str
    name: str
    department: str
    category: str
    guide: dict[str, Any]


@dataclass(frozen=True, slots=True)
class HallStatus:
    code: str
    name: str
    mode: str
    applied: int
    catalogue_version: int
    adopted: int
    dropped: list[str]
    """Codes the county no longer has that the hall still serves."""


def statuses(conn: Connection, halls: dict[int, HallDefinition]) -> list[HallStatus]:
    """Each hall's place in the county catalogue, for `queue-server catalogue status`;
    `halls`: each hall's definition by hall id (from `hall_records.load_definition`)."""
    ever = ever_published(conn)
    cache: dict[int, dict[str, dict[str, Any]]] = {}
    out = []
    for hall in conn.execute(select(HallRow).order_by(HallRow.id)):
        county = cache.setdefault(hall.county_version, items_of(conn, hall.county_version))
        items = halls[hall.id].items
        out.append(HallStatus(
            hall.code, hall.name, halls[hall.id].hall.catalogue_updates, hall.county_version,
            hall.catalogue_version, len(catalogue.adopted(items, county)),
            catalogue.dropped_by_county([i.code for i in items], county, ever)
            if hall.county_version else []))
    return out


def mark_applied(conn: Connection, hall_id: int, county_version: int, changed: bool,
                 epoch: int | None) -> int | None:
    """Record that the hall applied `county_version` (its catalogue version one higher when
    its items `changed`), if the hall is still led with `epoch` (None: no server leads it);
    the hall's catalogue version after, or None when the epoch moved and nothing was written."""
    where = [HallRow.id == hall_id]
    if epoch is not None:
        where.append(HallRow.epoch == epoch)
    values: dict[str, Any] = {"county_version": county_version}
    if changed:
        values["catalogue_version"] = HallRow.catalogue_version + 1
    if conn.execute(update(HallRow).where(*where).values(**values)).rowcount != 1:
        return None
    return conn.execute(select(HallRow.catalogue_version).where(HallRow.id == hall_id)).scalar_one()


def count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(CountyCatalogueRow)).scalar_one()
