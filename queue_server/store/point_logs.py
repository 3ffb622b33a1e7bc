"""The town's side of its village points (docs/points.md): who they are, both logs of each, and
where each one's sync stands.

A point is enrolled at one hall (`enrol`): its code, name and a random secret, which the town
keeps as it keeps the hall's own secret, because it verifies the point's HMAC proof with it
(queue_server.points.sync). The first installation that proves itself with the code is bound to
it; another one is refused.

The point's log arrives here (`store_up`) once and in order: an entry the town has changes
nothing; one that would leave a gap, that names another point's case, or that says it had seen
town entries that do not exist, is refused and nothing of its batch is stored. The town's own
entries for a point (`write_town_entry`) are checked against the case as both logs make it
(`ledger.problem`), so the town never writes an entry its own rules refuse.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from queue_server.points import ledger
from queue_server.points.point_store import log_row
from queue_server.store import hall_records
from queue_server.store.schema import PointDownRow, PointRow, PointSyncRow, PointUpRow

POINT_CODE = re.compile(r"[A-Za-z0-9_]{1,20}")
"""A point's code: it begins each of its case numbers (`<point>-<yymmdd>-<nnn>`), so it holds
no "-" (point A must not be able to name point A-1's cases)."""


class PointError(ValueError):
    """A refusal, said in Chinese."""


@dataclass(frozen=True, slots=True)
class Point:
    code: str
    name: str
    secret: str
    installation: str | None
    enrolled_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class PointSync:
    """A point as `queue-server point list` shows it."""

    code: str
    name: str
    enrolled_at: datetime
    installed: bool
    last_contact: datetime | None
    up_last: int
    down_last: int
    down_acked: int
    clock_offset: int | None

    @property
    def down_pending(self) -> int:
        """The town's entries the point has not confirmed yet."""
        return self.down_last - self.down_acked


def _point(row: Any) -> Point:
    return Point(row.code, row.name, row.secret, row.installation, row.enrolled_at,
                 row.revoked_at)


def enrol(conn: Connection, hall_id: int, code: str, name: str, now: datetime,
          again: bool = False) -> str:
    """Register the point and return its new secret (hex, 32 bytes). A point enrolled already
    is refused unless `again`: then its old enrolment is revoked (its installation, holding the
    old secret, can no longer sync) and a new one made."""
    if not POINT_CODE.fullmatch(code):
        raise PointError(f"代办点编号应为 1–20 个字母、数字或下划线（不能含 -），而不是 {code[:40]}")
    if not name.strip() or len(name) > 60:
        raise PointError("代办点名称不能为空，且不超过 60 个字")
    live = conn.execute(select(PointRow.id).where(
        PointRow.hall_id == hall_id, PointRow.code == code,
        PointRow.revoked_at.is_(None))).scalar()
    if live is not None:
        if not again:
            raise PointError(f"代办点 {code} 已登记过；如需为它重新生成登记码（旧电脑将不能再同步），"
                             "请加 --again")
        conn.execute(update(PointRow).where(PointRow.id == live).values(revoked_at=now))
    secret = secrets.token_hex(32)
    conn.execute(insert(PointRow).values(hall_id=hall_id, code=code, name=name.strip(),
                                         secret=secret, enrolled_at=now))
    return secret


def enrolments(conn: Connection, hall_id: int, code: str) -> list[Point]:
    """The point's enrolments, the live one (if any) first, then the revoked ones."""
    rows = conn.execute(select(PointRow).where(PointRow.hall_id == hall_id, PointRow.code == code)
                        .order_by(PointRow.revoked_at.is_not(None), PointRow.id.desc()))
    return [_point(r) for r in rows]


def bind_installation(conn: Connection, hall_id: int, code: str, installation: str) -> None:
    """The live enrolment's installation is this one from now on, if it has none yet; another
    one already bound is refused."""
    bound = conn.execute(update(PointRow).where(
        PointRow.hall_id == hall_id, PointRow.code == code, PointRow.revoked_at.is_(None),
        or_(PointRow.installation.is_(None), PointRow.installation == installation))
        .values(installation=installation)).rowcount
    if bound != 1:
        raise PointError("此登记码已被另一台电脑使用：如需更换电脑，请在乡镇重新生成登记码")


def list_points(conn: Connection, hall_id: int) -> list[PointSync]:
    """The hall's live points with their sync state."""
    points = conn.execute(select(PointRow).where(PointRow.hall_id == hall_id,
                                                 PointRow.revoked_at.is_(None))
                          .order_by(PointRow.code)).all()
    states = {r.point: r for r in conn.execute(select(PointSyncRow).where(
        PointSyncRow.hall_id == hall_id))}
    downs: dict[str, int] = {point: last for point, last in conn.execute(
        select(PointDownRow.point, func.max(PointDownRow.seq)).where(
            PointDownRow.hall_id == hall_id).group_by(PointDownRow.point))}
    out = []
    for p in points:
        state = states.get(p.code)
        out.append(PointSync(p.code, p.name, p.enrolled_at, p.installation is not None,
                             state.last_contact if state else None,
                             state.up_last if state else 0, downs.get(p.code, 0),
                             state.down_acked if state else 0,
                             state.clock_offset if state else None))
    return out


# --- the two logs ---------------------------------------------------------------------------

def last_seqs(conn: Connection, hall_id: int, point: str) -> tuple[int, int]:
    """The last entry of the point's log the town holds, and of the town's log for it."""
    return (conn.scalar(select(func.max(PointUpRow.seq)).where(
                PointUpRow.hall_id == hall_id, PointUpRow.point == point)) or 0,
            conn.scalar(select(func.max(PointDownRow.seq)).where(
                PointDownRow.hall_id == hall_id, PointDownRow.point == point)) or 0)


def store_up(conn: Connection, hall_id: int, point: str, entries: Sequence[ledger.Entry],
             received_at: datetime, clock_offset: int | None) -> int:
    """Store the point's entries not stored yet (one transaction: the caller's); returns the
    last number now held. Refused (PointError), with nothing stored: a gap, a town entry, a
    case of another point, a `seen` beyond the town's log."""
    held, down_last = last_seqs(conn, hall_id, point)
    new = [e for e in sorted(entries, key=lambda e: e.seq) if e.seq > held]
    for expected, entry in enumerate(new, held + 1):
        if entry.seq != expected:
            raise PointError(f"代办点台账记录不连续：乡镇已有第 {held} 条，收到第 {entry.seq} 条")
        if entry.side != "up":
            raise PointError(f"代办点不能写乡镇的台账记录（{entry.record.tag}）")
        if not entry.record.case.startswith(point + "-"):
            raise PointError(f"件号 {entry.record.case} 不属于代办点 {point}")
        if entry.seen > down_last:
            raise PointError(f"台账记录第 {entry.seq} 条称已收到乡镇第 {entry.seen} 条，乡镇只有 "
                             f"{down_last} 条")
    if new:
        conn.execute(insert(PointUpRow), [
            _row(hall_id, point, e) | {"received_at": received_at, "clock_offset": clock_offset}
            for e in new])
        held = new[-1].seq
    _sync(conn, hall_id, point, up_last=held)
    return held


def items_of(conn: Connection, hall_id: int, point: str, cases: Iterable[str]) -> set[str]:
    """The items of these cases of the point (one query, on the entries that recorded them: a
    case's item is fixed when it is recorded): whose windows a change of them concerns."""
    records = [ledger.entry_from_wire(d).record for d in conn.scalars(select(PointUpRow.data).where(
        PointUpRow.hall_id == hall_id, PointUpRow.point == point,
        PointUpRow.kind == ledger.CaseRecorded.tag, PointUpRow.case_no.in_(set(cases))))]
    return {r.item for r in records if isinstance(r, ledger.CaseRecorded)}


def up_entries(conn: Connection, hall_id: int, point: str, after: int = 0,
               limit: int | None = None) -> list[ledger.Entry]:
    return _read(conn, PointUpRow, hall_id, point, after, limit)


def down_entries(conn: Connection, hall_id: int, point: str, after: int = 0,
                 limit: int | None = None) -> list[ledger.Entry]:
    return _read(conn, PointDownRow, hall_id, point, after, limit)


def received(conn: Connection, hall_id: int, point: str) -> list[tuple[int, datetime, int | None]]:
    """Each stored entry of the point's log: its number, when the town received it (the town's
    clock) and the clock offset measured in that session."""
    return [(r.seq, r.received_at, r.clock_offset) for r in conn.execute(
        select(PointUpRow.seq, PointUpRow.received_at, PointUpRow.clock_offset).where(
            PointUpRow.hall_id == hall_id, PointUpRow.point == point).order_by(PointUpRow.seq))]


def fold(conn: Connection, hall_id: int, point: str,
         case: str | None = None) -> dict[str, ledger.Case]:
    """The point's ledger as the town holds it (or one case's): both logs folded."""
    def read(table: Any) -> list[ledger.Entry]:
        query = select(table.data).where(table.hall_id == hall_id, table.point == point)
        if case is not None:
            query = query.where(table.case_no == case)
        return [ledger.entry_from_wire(d) for d in conn.scalars(query.order_by(table.seq))]
    return ledger.fold(read(PointUpRow), read(PointDownRow))


def ledgers(conn: Connection, hall_id: int) -> list[ledger.PointLedger]:
    """Every point's ledger as the town holds it (the 代办月报表's, `point_kpis.rows`): each
    point enrolled at the hall, by its code, with the name of its latest enrolment; both logs of
    all of them read in two queries."""
    names: dict[str, str] = {}
    for code, name in conn.execute(select(PointRow.code, PointRow.name).where(
            PointRow.hall_id == hall_id).order_by(PointRow.id)):
        names[code] = name
    logs: dict[str, tuple[list[ledger.Entry], list[ledger.Entry]]] = {
        code: ([], []) for code in names}
    tables: tuple[Any, Any] = (PointUpRow, PointDownRow)
    for side, table in enumerate(tables):
        for point, data in conn.execute(select(table.point, table.data).where(
                table.hall_id == hall_id).order_by(table.point, table.seq)):
            if point in logs:
                logs[point][side].append(ledger.entry_from_wire(data))
    return [ledger.PointLedger(code, names[code], ledger.fold(*logs[code])) for code in sorted(names)]


def followed(conn: Connection, hall_id: int, case: str,
             key: str) -> tuple[str, ledger.Case | None] | None:
    """For the citizen's follow page (`/h/<hall>/p/<case>?k=<key>`): None when the key is not the
    one the point made for this case (`ledger.follow_key`, with the secret of any enrolment of
    the point: a receipt printed before `--again` still opens); else the point's name and the
    case as the town holds it (None while its entries have not reached the town)."""
    point = case.partition("-")[0]
    if not POINT_CODE.fullmatch(point) or len(case) > 40 or len(key) != ledger.FOLLOW_KEY_DIGITS:
        return None
    enrolled = next((p for p in enrolments(conn, hall_id, point) if hmac.compare_digest(
        key.encode(), ledger.follow_key(p.secret, case).encode())), None)
    if enrolled is None:
        return None
    return enrolled.name, fold(conn, hall_id, point, case).get(case)


def inbox(conn: Connection, hall_id: int,
          items: set[str] | None) -> list[tuple[PointSync, ledger.Case]]:
    """The cases of the hall's live points whose item is one of `items` (None: every item),
    each with its point: the 代办 inbox of the windows that serve those items."""
    out = []
    for point in list_points(conn, hall_id):
        out += [(point, case) for case in fold(conn, hall_id, point.code).values()
                if items is None or case.item in items]
    return out


def write_town_entry(engine: Engine, hall: str, point: str, record: ledger.Record,
                     at: datetime) -> ledger.Entry:
    """Append one entry of the town's to its log for `point`, after checking it against the
    case as both logs make it now; refused (PointError, in Chinese) where the written rules
    refuse it, e.g. receiving a case the point has withdrawn. A running server pushes it down
    at its next look (queue_server.points.sync.POLL_SECONDS)."""
    if record.side != "down":
        raise PointError("乡镇只能写乡镇一侧的台账记录")
    with engine.begin() as conn:
        hall_id = hall_records.hall_id_for(conn, hall)
        if not enrolments(conn, hall_id, point):
            raise PointError(f"没有编号为 {point} 的代办点")
        up_last, down_last = last_seqs(conn, hall_id, point)
        entry = ledger.Entry(down_last + 1, at.isoformat(timespec="seconds"), up_last, record)
        reason = ledger.problem(fold(conn, hall_id, point, record.case), entry)
        if reason is not None:
            raise PointError(f"件 {record.case}：{ledger.conflict_text(reason)}")
        conn.execute(insert(PointDownRow).values(_row(hall_id, point, entry)))
    return entry


# --- the sync's state -----------------------------------------------------------------------

def contact(conn: Connection, hall_id: int, point: str, now: datetime,
            clock_offset: int) -> tuple[int, int]:
    """A session of the point began now, with this clock offset; both logs' last numbers."""
    _sync(conn, hall_id, point, last_contact=now, clock_offset=clock_offset)
    return last_seqs(conn, hall_id, point)


def down_acked(conn: Connection, hall_id: int, point: str, last: int) -> None:
    _sync(conn, hall_id, point, down_acked=last)


def _sync(conn: Connection, hall_id: int, point: str, **values: Any) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(PointSyncRow).values(
        {"hall_id": hall_id, "point": point, "up_last": 0, "down_acked": 0} | values)
    conn.execute(statement.on_conflict_do_update(
        index_elements=[PointSyncRow.hall_id, PointSyncRow.point], set_=values))


def _row(hall_id: int, point: str, entry: ledger.Entry) -> dict[str, Any]:
    return {"hall_id": hall_id, "point": point, **log_row(entry)}


def _read(conn: Connection, table: Any, hall_id: int, point: str, after: int,
          limit: int | None) -> list[ledger.Entry]:
    query = select(table.data).where(table.hall_id == hall_id, table.point == point,
                                     table.seq > after).order_by(table.seq)
    return [ledger.entry_from_wire(d) for d in conn.scalars(query.limit(limit))]
