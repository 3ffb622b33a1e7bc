"""Saving a hall definition to the database and reading it back.

An import syncs each kind of record by its natural key (department code, category prefix,
window number, clerk badge, item code): present in both → updated if different, only in the
file → inserted, only in the database → deleted. So importing the same file twice changes
nothing, and nothing is ever duplicated. It all happens in one transaction with the file
already checked whole, so an import either lands completely or not at all.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import asdict, replace
from datetime import date, datetime
from typing import Any, ClassVar, Protocol

from sqlalchemy import Connection, delete, insert, select, update

from hall.service_calendar import parse_clock
from queue_server import catalogue
from queue_server.credentials import hash_pin, verify_pin
from queue_server.hall_definition import (
    BookingRules,
    Category,
    Clerk,
    Department,
    HallDefinition,
    HallInfo,
    Material,
    ServiceItem,
    Session,
    Window,
)
from queue_server.hall_toml import booking_settings, hall_settings
from queue_server.store import county_catalogue
from queue_server.store.schema import (
    CategoryRow,
    ClerkRow,
    DepartmentRow,
    HallRow,
    ItemRow,
    LoginGuardRow,
    WindowRow,
)


class Fenced(Exception):
    """The hall was taken by another server since this one took it (its epoch moved): this
    server must not write for it any more (queue_server.leadership)."""


def check_epoch(conn: Connection, hall_id: int, epoch: int) -> None:
    """`Fenced` if the hall's epoch is no longer `epoch`. A commit checks the epoch in its own
    statement (`event_log.append`); this tells, once that wrote nothing, whether the epoch
    was the reason."""
    now = conn.execute(select(HallRow.epoch).where(HallRow.id == hall_id)).scalar_one()
    if now != epoch:
        raise Fenced(f"大厅已由另一台服务器接管（纪元 {epoch} → {now}），本服务器不再写入")


class HallConflict(ValueError):
    """A hall file that cannot go into this database as it is (a second county hall)."""


class HallNotFound(LookupError):
    pass


def _settings(hall: HallInfo) -> dict[str, Any]:
    values = hall_settings(hall)
    values["holidays"] = [d.isoformat() for d in hall.holidays]
    values["makeup_workdays"] = [d.isoformat() for d in hall.makeup_workdays]
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def _hall_info(settings: dict[str, Any]) -> HallInfo:
    values = dict(settings)
    values["sessions"] = tuple(Session(parse_clock(a), parse_clock(b))
                               for a, b in values["sessions"])
    values["holidays"] = tuple(date.fromisoformat(d) for d in values["holidays"])
    values["makeup_workdays"] = tuple(date.fromisoformat(d) for d in values["makeup_workdays"])
    for key in ("working_weekdays", "rating_reasons", "rating_levels", "complaint_categories"):
        if key in values:   # the later keys: not in settings stored before them (the default)
            values[key] = tuple(values[key])
    return HallInfo(**values)


def _booking(settings: dict[str, Any] | None) -> BookingRules | None:
    if settings is None:
        return None
    return BookingRules(**{**settings, "sessions": tuple(
        Session(parse_clock(a), parse_clock(b)) for a, b in settings["sessions"])})


def _item_row(item: ServiceItem) -> dict[str, Any]:
    guide = asdict(item)
    row = {key: guide.pop(key) for key in ("code", "name", "department", "category")}
    row["guide"] = json.loads(json.dumps(guide, ensure_ascii=False))  # as the JSON column returns it
    return row


def _item(row: Any) -> ServiceItem:
    guide = dict(row.guide)
    guide["materials"] = tuple(Material(**m) for m in guide["materials"])
    for key in ("legal_basis", "conditions", "steps", "notes"):
        guide[key] = tuple(guide[key])
    guide["aliases"] = tuple(guide.get("aliases", ()))   # none in items stored before aliases
    return ServiceItem(code=row.code, name=row.name, department=row.department,
                       category=row.category, **guide)


# Each record kind's table and natural key.
_KINDS: dict[str, tuple[Any, str]] = {
    "departments": (DepartmentRow, "code"),
    "categories": (CategoryRow, "prefix"),
    "windows": (WindowRow, "number"),
    "clerks": (ClerkRow, "badge"),
    "items": (ItemRow, "code"),
}


def _rows(definition: HallDefinition) -> dict[str, list[dict[str, Any]]]:
    def plain(record: Any, drop: tuple[str, ...] = ()) -> dict[str, Any]:
        values = asdict(record)
        for key in drop:
            values.pop(key)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}

    def ordered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**row, "position": i} for i, row in enumerate(rows)]

    return {
        "departments": ordered([plain(d) for d in definition.departments]),
        "categories": ordered([{**plain(c, drop=("booking",)), "booking": (
            booking_settings(c.booking) if c.booking is not None else None)}
            for c in definition.categories]),
        "windows": [plain(w) for w in definition.windows],
        "clerks": ordered([plain(c, drop=("pin",)) for c in definition.clerks]),
        "items": _item_rows(definition.items),
    }


def _item_rows(items: Iterable[ServiceItem]) -> list[dict[str, Any]]:
    """Items as the `items` table holds them, in order."""
    return [{**_item_row(item), "position": i} for i, item in enumerate(items)]


def save_definition(conn: Connection, definition: HallDefinition, now: datetime) -> tuple[int, bool]:
    """Create or update the hall; return its id and whether anything changed.

    The items the county catalogue has take their shared fields from the county version the
    hall has applied (a new hall: the latest), not from the file (queue_server.catalogue)."""
    hall = definition.hall
    seat = county_hall(conn)
    if hall.level == "county" and seat is not None and seat.code != hall.code:
        raise HallConflict(f"数据库中已有县级政务服务中心 {seat.code}（{seat.name}）；一个数据库"
                           f"只能有一个 level = \"county\" 的大厅")
    existing = conn.execute(select(HallRow).where(HallRow.code == hall.code)
                            .with_for_update()).first()    # see `_lock_hall`
    settings = _settings(hall)
    county_version, county = county_catalogue_for(conn, hall.code)
    definition = replace(definition, items=catalogue.adopt(definition.items, county))
    if existing is None:
        hall_id = conn.execute(insert(HallRow).values(
            code=hall.code, name=hall.name, settings=settings, catalogue_version=1,
            county_version=county_version, updated_at=now,
            secret=secrets.token_hex(32)).returning(HallRow.id)).scalar_one()
        changed = True
    else:
        hall_id = existing.id
        changed = existing.name != hall.name or existing.settings != settings
    rows = _rows(definition)
    items_changed = existing is None
    for kind, kind_rows in rows.items():
        synced = _sync(conn, hall_id, kind, kind_rows)
        items_changed |= synced and kind == "items"
        changed |= synced
    changed |= _set_demo_pins(conn, hall_id, definition.clerks)
    if changed and existing is not None:
        conn.execute(update(HallRow).where(HallRow.id == hall_id).values(
            name=hall.name, settings=settings, updated_at=now,
            catalogue_version=HallRow.catalogue_version + 1,
            credentials_version=HallRow.credentials_version + 1))   # a clerk may be gone
        if existing.settings.get("level", "") != hall.level and "county" in (
                existing.settings.get("level"), hall.level):
            credentials_changed(conn, None)   # its county accounts gain or lose every hall
    if items_changed:   # a version whose items did not change reads its predecessor's
        county_catalogue.snapshot(conn, hall_id, catalogue_version(conn, hall_id),
                                  county_version, rows["items"], now)
    return hall_id, changed


def county_catalogue_for(conn: Connection, code: str) -> tuple[int, catalogue.CountyItems]:
    """The county catalogue version whose shared fields the hall's adopted items take, and its
    items: the version the hall has applied; for a hall not yet imported, the latest."""
    applied = conn.execute(select(HallRow.county_version).where(HallRow.code == code)).scalar()
    if applied is None:
        latest = county_catalogue.latest(conn)
        applied = latest[0] if latest else 0
    return applied, county_catalogue.items_of(conn, applied)


def apply_county_version(conn: Connection, hall_id: int, county_version: int,
                         epoch: int | None, now: datetime) -> int:
    """Bring the hall's adopted items to a county catalogue version, their local fields kept;
    return the hall's catalogue version after (one higher when an item changed). `Fenced`,
    and the transaction is to be rolled back, when the hall's fencing epoch is no longer
    `epoch` (another server leads it)."""
    _lock_hall(conn, hall_id)     # an import of the hall's file waits, and the reverse
    county = county_catalogue.items_of(conn, county_version)
    items = [_item(r) for r in conn.execute(
        select(ItemRow).where(ItemRow.hall_id == hall_id).order_by(ItemRow.position))]
    rows = _item_rows(catalogue.adopt(items, county))
    changed = _sync(conn, hall_id, "items", rows)
    version = county_catalogue.mark_applied(conn, hall_id, county_version, changed, epoch)
    if version is None:
        raise Fenced(f"大厅已由另一台服务器接管（纪元 {epoch} 已变），未应用县级目录第 {county_version} 版")
    if changed:
        county_catalogue.snapshot(conn, hall_id, version, county_version, rows, now)
    return version


def _lock_hall(conn: Connection, hall_id: int) -> None:
    """Hold the hall's row for the rest of the transaction (PostgreSQL; SQLite has one writer
    at a time anyway), so that an import and a county version applied at the same moment
    do not each write the items from what they read before the other's commit."""
    conn.execute(select(HallRow.id).where(HallRow.id == hall_id).with_for_update())


def items_at(conn: Connection, hall_id: int, version: int) -> tuple[ServiceItem, ...] | None:
    """The hall's items as they were at its catalogue `version`; None when not kept."""
    rows = county_catalogue.snapshot_rows(conn, hall_id, version)
    return None if rows is None else tuple(_item(r) for r in rows)


def _sync(conn: Connection, hall_id: int, kind: str, rows: list[dict[str, Any]]) -> bool:
    table, key = _KINDS[kind]
    columns = list(rows[0]) if rows else []
    current = {getattr(r, key): r for r in conn.execute(
        select(table).where(table.hall_id == hall_id))}
    wanted = {row[key]: row for row in rows}
    gone = [current[k].id for k in current.keys() - wanted.keys()]
    if gone:
        conn.execute(delete(table).where(table.id.in_(gone)))
    new = [{**row, "hall_id": hall_id} for k, row in wanted.items() if k not in current]
    if new:
        conn.execute(insert(table), new)
    changed = bool(gone or new)
    for k, row in wanted.items():
        old = current.get(k)
        if old is not None and any(getattr(old, c) != row[c] for c in columns):
            conn.execute(update(table).where(table.id == old.id).values(**row))
            changed = True
    return changed


def _set_demo_pins(conn: Connection, hall_id: int, clerks: tuple[Clerk, ...]) -> bool:
    changed = False
    for clerk in clerks:
        if not clerk.pin:
            continue
        stored = conn.execute(select(ClerkRow.pin_hash).where(
            ClerkRow.hall_id == hall_id, ClerkRow.badge == clerk.badge)).scalar_one()
        if not verify_pin(clerk.pin, stored):
            set_pin(conn, hall_id, clerk.badge, clerk.pin)
            changed = True
    return changed


def set_pin(conn: Connection, hall_id: int, badge: str, pin: str) -> bool:
    """Store a new PIN, which lifts a lockout and ends the sessions the old PIN opened; False
    when there is no such clerk."""
    result = conn.execute(update(ClerkRow).where(
        ClerkRow.hall_id == hall_id, ClerkRow.badge == badge).values(pin_hash=hash_pin(pin)))
    if result.rowcount != 1:
        return False
    lift_lock(conn, hall_id, "clerk", badge)
    credentials_changed(conn, hall_id)
    return True


def lift_lock(conn: Connection, hall_id: int, role: str, account: str) -> None:
    """Forget the wrong tries counted for an account name (see queue_server.store.accounts)."""
    conn.execute(delete(LoginGuardRow).where(LoginGuardRow.hall_id == hall_id,
                                             LoginGuardRow.role == role,
                                             LoginGuardRow.account == account))


def credentials_changed(conn: Connection, hall_id: int | None) -> None:
    """Say that a credential of the hall was revoked or changed: a running server reads the new
    `credentials_version` and checks every session it holds (queue_server.revocation). None:
    of every hall (a county account, which opens any hall's dashboard, was changed)."""
    which = update(HallRow) if hall_id is None else update(HallRow).where(HallRow.id == hall_id)
    conn.execute(which.values(credentials_version=HallRow.credentials_version + 1))


def county_hall(conn: Connection) -> Any:
    """The county's own hall (`level = "county"` in its file): its id, code and name; None
    when the database holds no such hall."""
    for row in conn.execute(select(HallRow.id, HallRow.code, HallRow.name, HallRow.settings)):
        if row.settings.get("level") == "county":
            return row
    return None


def hall_codes(conn: Connection, wanted: list[str] | None = None) -> list[str]:
    """The codes of the halls in the database, in the order they were added; or those of
    `wanted`, each checked to be there."""
    codes = list(conn.execute(select(HallRow.code).order_by(HallRow.id)).scalars())
    if not codes:
        raise HallNotFound("数据库中还没有大厅，请先运行 queue-server import-hall 文件.toml")
    for code in wanted or ():
        if code not in codes:
            raise HallNotFound(f"数据库中没有编码为 {code} 的大厅；已有：{'、'.join(codes)}")
    return wanted or codes


def hall_ids(conn: Connection) -> list[int]:
    """Every hall's id, in the order they were added."""
    return list(conn.execute(select(HallRow.id).order_by(HallRow.id)).scalars())


def secret_of(conn: Connection, hall_id: int) -> str:
    """The hall's own secret: it seals the ticket tokens, passes and posters, and keys the daily
    code of the mobile 取号 page."""
    return conn.execute(select(HallRow.secret).where(HallRow.id == hall_id)).scalar_one()


def hall_name(conn: Connection, code: str) -> str:
    return conn.execute(select(HallRow.name).where(HallRow.code == code)).scalar_one()


def hall_id_for(conn: Connection, code: str | None) -> int:
    """The hall named by `code`, or the only hall in the database when no code is given."""
    rows = conn.execute(select(HallRow.id, HallRow.code)).all()
    if code is not None:
        for row in rows:
            if row.code == code:
                return row.id
        known = "、".join(r.code for r in rows) or "（无）"
        raise HallNotFound(f"数据库中没有编码为 {code} 的大厅；已有：{known}")
    if not rows:
        raise HallNotFound("数据库中还没有大厅，请先运行 queue-server import-hall 文件.toml")
    if len(rows) > 1:
        raise HallNotFound("数据库中有多个大厅，请用 --hall 指定："
                           + "、".join(r.code for r in rows))
    return rows[0].id


class _Record(Protocol):
    """A dataclass of the hall definition, made from a row's columns of the same names."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    def __init__(self, **fields: Any) -> None: ...


def load_definition(conn: Connection, hall_id: int) -> HallDefinition:
    hall = conn.execute(select(HallRow).where(HallRow.id == hall_id)).one()

    def rows(table: Any, order: Any) -> list[Any]:
        return list(conn.execute(select(table).where(table.hall_id == hall_id).order_by(order)))

    def record(cls: type[_Record], row: Any, **overrides: Any) -> Any:
        fields = {name: getattr(row, name) for name in cls.__dataclass_fields__
                  if name not in overrides and hasattr(row, name)}
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
        return cls(**fields, **overrides)

    return HallDefinition(
        hall=_hall_info(hall.settings),
        departments=tuple(record(Department, r) for r in rows(DepartmentRow, DepartmentRow.position)),
        categories=tuple(record(Category, r, booking=_booking(r.booking))
                         for r in rows(CategoryRow, CategoryRow.position)),
        windows=tuple(record(Window, r) for r in rows(WindowRow, WindowRow.number)),
        clerks=tuple(record(Clerk, r) for r in rows(ClerkRow, ClerkRow.position)),
        items=tuple(_item(r) for r in rows(ItemRow, ItemRow.position)),
    )


def catalogue_version(conn: Connection, hall_id: int) -> int:
    return conn.execute(select(HallRow.catalogue_version).where(HallRow.id == hall_id)).scalar_one()
