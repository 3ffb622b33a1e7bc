"""The county's view (`/county`): every hall live, the county's KPIs and the halls ranked, and a
pass into any hall's dashboard, for the county's managers.

Who sees what (the scopes):

- **A county manager** is a manager account of the county's own hall (its file says
  `level = "county"`) with the scope `county` (`queue-server manager add USER --county`). It
  logs in at `/county` on any server, and from there opens any hall's dashboard with a pass.
- **A hall manager** (scope `hall`) sees only its own hall's dashboard: `/county` refuses it,
  even when its hall is the county's own.
- **A clerk** sees only the console of the window it signs into; no manager page takes a badge.

Any server answers `/county`, whichever halls it leads: what it shows is read from the
database. Each server writes the live figures of the halls it leads (`views.hall_summary`)
to `hall_live` every `LIVE_SECONDS`, in one transaction (`Publisher`); the page asks for them
as often. Figures older than `STALE_SECONDS` are shown as such, with their age: the hall's
server is gone and another has not taken it yet. The KPIs are the reports' own
(`kpis.county_rows`), read from the stored day facts of every hall.

A pass (`county_pass`) is sealed with the county hall's secret (queue_server.seals), which
every server reads from the database, so a hall led by another server takes it too. It names
one hall, the account and a digest of its stamp, and lasts `PASS_SECONDS`: it only carries the
login from the county's page to the dashboard it opens. There the hello with it is answered with
a resume token for that hall (`RESUME_SECONDS`), which that tab keeps for its reconnects. A
changed password or scope, or a removed account, makes both worthless at once, and ends the
sessions they opened (queue_server.revocation checks the county's accounts with every hall's).

`CountySession` is one `/county/ws` connection: hello, then the ops of `hall.protocol.OPS`
whose role is `county`. Every op first checks that the account is still what it logged in
with, so a county page whose account was removed or changed ends at its next refresh.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, select

from hall import service_calendar
from hall.protocol import (
    HALL_PATH,
    OPS,
    ProtocolError,
    Request,
    error_reply,
    ok_reply,
    parse_request,
)
from hall.vocabulary import METRICS, ROLE_NAMES
from queue_server import kpis, reports
from queue_server.hall_definition import HallDefinition
from queue_server.login_gate import LoginGate, LoginRefused
from queue_server.points import point_kpis
from queue_server.seals import Unsealed, seal, unseal
from queue_server.store import accounts, hall_live, hall_records, point_logs
from queue_server.store.schema import HallRow, ManagerRow

LIVE_SECONDS = 2.0
STALE_SECONDS = 10.0
PASS, PASS_SECONDS = "county-pass", 60          # in the address the county page opens
RESUME, RESUME_SECONDS = "county-resume", 12 * 3600   # kept by that tab, for its reconnects
MAX_KPI_DAYS = 366
ENDED = "县级管理账号已被更改或删除，请重新登录"
NO_COUNTY = "数据库中还没有县级政务服务中心（大厅文件 level = \"county\"），无法使用全县页面"
log = logging.getLogger("queue_server.county")


# --- passes into a hall's dashboard -----------------------------------------------------------

def _digest(stamp: tuple) -> str:
    return hashlib.sha256(repr(stamp).encode()).hexdigest()[:24]


def _county_secret(conn: Any) -> tuple[Any, str]:
    """The county's own hall and its secret, which seals the passes."""
    county = hall_records.county_hall(conn)
    if county is None:
        raise ValueError(NO_COUNTY)
    return county, hall_records.secret_of(conn, county.id)


def make_pass(secret: str, account_id: int, stamp: tuple, hall: str, now: float) -> str:
    """The pass into one hall's dashboard, good for `PASS_SECONDS` (it travels in an address)."""
    return seal(secret, PASS, {"account": account_id, "stamp": _digest(stamp), "hall": hall},
                now + PASS_SECONDS)


def admit(engine: Engine, token: str, hall: str, now: float) -> tuple[accounts.Login, str]:
    """Blocking: the county account a pass or a resume token for `hall` was made for, if it
    is ours, in time, and the account is still as it was when it was made; and a resume token
    for the dashboard to log in with again (reconnects, reloads of that tab)."""
    with engine.connect() as conn:
        try:
            county, secret = _county_secret(conn)
        except ValueError as missing:
            return accounts.Login(False, str(missing)), ""
        data, expired = None, False
        for purpose in (PASS, RESUME):
            try:
                data = unseal(secret, purpose, token, now)
                break
            except Unsealed as refused:
                expired |= refused.expired
        if data is None or data.get("hall") != hall:
            return accounts.Login(False, "县级登录凭据已过期，请回到全县页面重新进入" if expired
                                  else "县级登录凭据无效，请回到全县页面重新进入"), ""
        row = conn.execute(select(ManagerRow).where(
            ManagerRow.id == data.get("account"), ManagerRow.hall_id == county.id,
            ManagerRow.scope == "county")).first()
    if row is None or _digest(accounts.MANAGER.stamp(row)) != data.get("stamp"):
        return accounts.Login(False, ENDED), ""
    stamp = accounts.MANAGER.stamp(row)
    resume = seal(secret, RESUME, {"account": row.id, "stamp": _digest(stamp), "hall": hall},
                  now + RESUME_SECONDS)
    return accounts.Login(True, name=row.name, stamp=stamp, scope=row.scope,
                          account=row.user), resume


# --- the live figures -------------------------------------------------------------------------

def live_rows(halls: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """`hall_live.read`'s halls as the page lists them: each with its path and whether its
    figures are fresh ("live"), too old ("stale", with their age) or never written ("none")."""
    rows = []
    for hall in halls:
        at = hall["at"]
        age = None if at is None else max(0, round((now - at).total_seconds()))
        state = "none" if age is None else "stale" if age > STALE_SECONDS else "live"
        rows.append({"code": hall["code"], "name": hall["name"], "level": hall["level"],
                     "timezone": hall["timezone"],
                     "path": HALL_PATH.format(code=hall["code"]), "state": state, "age_s": age,
                     "server": hall["server"], **(hall["figures"] or {})})
    return rows


def totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    """The county's sums over the halls whose figures are fresh."""
    fresh = [r for r in rows if r["state"] == "live"]
    return {"halls": len(rows), "live": len(fresh),
            **{key: sum(r[key] for r in fresh) for key in (
                "waiting", "windows", "windows_open", "serving", "warnings", "red_warnings",
                "issued", "finished")},
            "longest_wait_s": max((r["longest_wait_s"] for r in fresh), default=0)}


class Publisher:
    """Writes the live figures of the halls a server leads, every `LIVE_SECONDS`.

    `figures()` gives them (hall id → its epoch and summary), read on the event loop; the write runs on a
    thread. A failed write is logged and tried again next round: the county's view then shows
    the figures' age, never a made-up value."""

    def __init__(self, engine: Engine, server: Callable[[], str | None],
                 figures: Callable[[], Any]):
        self.engine, self.server, self.figures = engine, server, figures

    async def run(self) -> None:
        while True:
            try:
                figures = await self.figures()
                name = self.server()
                if figures and name is not None:
                    await asyncio.to_thread(self._write, name, figures)
            except Exception:   # the database is away: the next round writes again
                log.exception("writing the halls' live figures failed")
            await asyncio.sleep(LIVE_SECONDS)

    def _write(self, name: str, figures: dict[int, tuple[int, dict[str, Any]]]) -> None:
        with self.engine.begin() as conn:
            hall_live.publish(conn, name, figures, datetime.now(UTC))


# --- the KPIs -----------------------------------------------------------------------------------

class Definitions:
    """The halls' definitions, read once each and again when the hall was re-imported."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.known: dict[int, tuple[datetime, HallDefinition]] = {}

    def all(self) -> list[tuple[int, HallDefinition]]:
        """Blocking: every hall's id and definition, the county's own first."""
        with self.engine.connect() as conn:
            halls = conn.execute(select(HallRow.id, HallRow.updated_at).order_by(HallRow.id)).all()
            for hall in halls:
                kept = self.known.get(hall.id)
                if kept is None or kept[0] != hall.updated_at:
                    self.known[hall.id] = (hall.updated_at,
                                           hall_records.load_definition(conn, hall.id))
        made = [(hall.id, self.known[hall.id][1]) for hall in halls]
        return sorted(made, key=lambda pair: pair[1].hall.level != "county")


def kpi_report(engine: Engine, halls: list[tuple[int, HallDefinition]], first: date,
               last: date) -> dict[str, Any]:
    """Blocking: the county's KPI rows over the days `first` to `last` (one per hall, then the
    county's total) and the halls ranked."""
    reports.check_span(first, last, MAX_KPI_DAYS)
    rows = kpis.county_rows([(definition, reports.load_tallied(engine, hall_id, first, last,
                                                                "hall"))
                             for hall_id, definition in halls], "all")
    return {"from": first.isoformat(), "to": last.isoformat(), "rows": rows,
            "ranking": kpis.rank((r for r in rows if r["by"] == "hall"),
                                 kpis.HALL_RANKING_WEIGHTS),
            "formula": kpis.ranking_formula("所选时段内", kpis.HALL_RANKING_WEIGHTS),
            "metrics": [{"key": k, "name": n, "unit": u} for k, n, u in METRICS]}


# --- the village points (代办点) ------------------------------------------------------------------

POINT_FIGURES = ("recorded", "delivered", "delivered_on_time", "overdue", "finished", "visited")
"""The 代办月报表's figures (`POINT_METRICS`) the county's page shows per hall and in total."""


def points_report(engine: Engine, halls: list[tuple[int, HallDefinition]], month: str,
                  now: datetime) -> dict[str, Any]:
    """Blocking: each hall with village points, a line of the month's 代办月报表 (its 合计 row,
    `point_kpis.rows`, the cases as they stand on the hall's service day of `now`), its number of
    points and the one least recently seen (never seen first); then the county's totals."""
    first, last = reports.month_span(month)
    rows = []
    for hall_id, definition in halls:
        with engine.connect() as conn:
            enrolled = point_logs.list_points(conn, hall_id)
            if not enrolled:
                continue
            ledgers = point_logs.ledgers(conn, hall_id)
        total = point_kpis.rows(ledgers, definition.hall, definition.hall.handover_days, first,
                                last, "point", service_calendar.service_day(definition.hall, now))[-1]
        least = min(enrolled, key=lambda p: (p.last_contact is not None,
                                             p.last_contact or datetime.min.replace(tzinfo=UTC)))
        rows.append({"code": definition.hall.code, "name": definition.hall.name,
                     "timezone": definition.hall.timezone,
                     "points": len(enrolled), **{k: total[k] for k in POINT_FIGURES},
                     "on_time_pct": total["on_time_pct"], "least_seen": least.name,
                     "least_seen_at": None if least.last_contact is None else
                     least.last_contact.isoformat(timespec="seconds")})
    county = {k: sum(r[k] for r in rows) for k in ("points", *POINT_FIGURES)}
    return {"month": month, "halls": rows,
            "county": {**county, "halls": len(rows), "on_time_pct": kpis.pct(
                county["delivered_on_time"], county["delivered"])}}


# --- one /county connection ------------------------------------------------------------------

class CountySession:
    def __init__(self, engine: Engine, login_gate: LoginGate, definitions: Definitions,
                 address: str, servers: Callable[[], list[str]], end: Callable[[str], None],
                 clock: Callable[[], datetime] | None = None):
        self.engine, self.login_gate, self.definitions = engine, login_gate, definitions
        self.address, self.servers, self.end_connection = address, servers, end
        self.clock = clock or (lambda: datetime.now(UTC))
        self.name = ""
        self.account_id: int | None = None
        self.stamp: tuple = ()
        self.greeting = False
        self.ended: str | None = None

    async def handle(self, frame: str | bytes) -> dict[str, Any]:
        try:
            request = parse_request(frame)
        except ProtocolError as error:
            return error.reply()
        if self.ended:
            return error_reply(request.id, "unauthorized", self.ended)
        if request.op == "hello":
            if self.account_id is not None:
                return error_reply(request.id, "conflict", "本连接已经登录；如需更换账号请重新连接")
            self.greeting = True
            try:
                return ok_reply(request.id, **await self._hello(request))
            except ProtocolError as error:
                return error_reply(request.id, error.code, error.message)
            finally:
                self.greeting = False
        if self.account_id is None:
            return error_reply(request.id, "unauthorized", "请先登录（hello）")
        if "county" not in OPS[request.op].roles:
            return error_reply(request.id, "forbidden",
                               f"{ROLE_NAMES['county']}在全县页面不能执行 {request.op}；"
                               "请从全县页面进入该大厅的管理页面")
        try:
            valid = await asyncio.to_thread(self._still_valid)
        except Exception:
            log.exception("checking a county account failed")
            return error_reply(request.id, "internal", "服务器暂时无法读取账号，请稍后重试")
        if not valid:
            self.ended = ENDED
            self.end_connection(ENDED)
            return error_reply(request.id, "unauthorized", ENDED)
        try:
            return ok_reply(request.id, **await COUNTY_OPS[request.op](self, request))
        except ValueError as error:
            return error_reply(request.id, "bad_request", str(error))
        except Exception:   # the database is away, or a bug: said, and the page goes on
            log.exception("the county's %s failed", request.op)
            return error_reply(request.id, "internal", "服务器暂时无法读取全县数据，请稍后重试")

    async def _hello(self, request: Request) -> dict[str, Any]:
        p = request.params
        if p["role"] != "county":
            raise ProtocolError("forbidden", "此地址是全县页面，只接受县级管理账号（role county）")
        if not p.get("user") or not p.get("password"):
            raise ProtocolError("unauthorized", "请输入用户名和密码")

        def check() -> accounts.Login:
            return accounts.county_login(self.engine, p["user"], p["password"], datetime.now(UTC))

        try:
            result = await self.login_gate.check(self.address, check)
        except LoginRefused as refused:
            raise ProtocolError("rate_limited", str(refused)) from None
        if not result.ok:
            raise ProtocolError("unauthorized", result.message)
        self.name, self.stamp, self.account_id = result.name, result.stamp, result.stamp[1]
        return {"role": "county", "name": self.name, "servers": self.servers(),
                **await self._live(request)}

    def _still_valid(self) -> bool:
        with self.engine.connect() as conn:
            row = conn.execute(select(ManagerRow).where(ManagerRow.id == self.account_id)).first()
        return row is not None and accounts.MANAGER.stamp(row) == self.stamp

    async def _live(self, request: Request) -> dict[str, Any]:
        def read() -> list[dict[str, Any]]:
            with self.engine.connect() as conn:
                return hall_live.read(conn)

        rows = live_rows(await asyncio.to_thread(read), datetime.now(UTC))
        return {"at": self.clock().astimezone(UTC).isoformat(timespec="seconds"), "halls": rows,
                "totals": totals(rows)}

    async def _kpis(self, request: Request) -> dict[str, Any]:
        """The days asked for, by default this month up to today (the county hall's day)."""
        p = request.params

        def compute() -> dict[str, Any]:
            halls = self.definitions.all()
            now = self.clock()
            today = service_calendar.service_day(halls[0][1].hall, now) if halls else now.date()
            first, last = _day(p, "from", today.replace(day=1)), _day(p, "to", today)
            return kpi_report(self.engine, halls, first, last)

        return await asyncio.to_thread(compute)

    async def _points(self, request: Request) -> dict[str, Any]:
        """The halls' village points: the month asked for, by default the county hall's."""
        def compute() -> dict[str, Any]:
            halls = self.definitions.all()
            now = self.clock()
            today = service_calendar.service_day(halls[0][1].hall, now) if halls else now.date()
            return points_report(self.engine, halls, request.params.get("month")
                                 or f"{today:%Y-%m}", now)

        return await asyncio.to_thread(compute)

    async def _pass(self, request: Request) -> dict[str, Any]:
        code = request.params["hall"]

        def make() -> str:
            with self.engine.connect() as conn:
                hall_records.hall_id_for(conn, code)     # HallNotFound when there is none
                _, secret = _county_secret(conn)
            assert self.account_id is not None    # logged in: checked before any op
            return make_pass(secret, self.account_id, self.stamp, code, time.time())

        try:
            token = await asyncio.to_thread(make)
        except hall_records.HallNotFound as missing:
            raise ValueError(str(missing)) from None
        return {"url": f"{HALL_PATH.format(code=code)}/manager/#pass={token}",
                "expires_in_s": PASS_SECONDS}


def _day(params: dict[str, Any], name: str, default: date) -> date:
    if name not in params:
        return default
    try:
        return date.fromisoformat(params[name])
    except ValueError:
        raise ValueError(f"{name} 应为日期，如 2026-11-01") from None


COUNTY_OPS: dict[str, Callable[[CountySession, Request], Any]] = {
    "county_live": CountySession._live,
    "county_kpis": CountySession._kpis,
    "county_pass": CountySession._pass,
    "county_points": CountySession._points,
}
"""The county page's ops (`hall.protocol.OPS` says who may send them and with what)."""
