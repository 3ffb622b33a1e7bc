"""Reports as tables and files: the KPI table, and every ticket, rating and window interval of a
span, as CSV (UTF-8 with a BOM, so Excel opens the Chinese right), XLSX (one sheet per table)
or JSON. Used by `queue-server report` and by the reports page's downloads (`export`).

The tables come from `kpis.fold` over the event log, as the KPIs do (the closed days' folds
kept by `store.day_facts`), so an export and the KPI table always agree.
"""

from __future__ import annotations

import csv
import heapq
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

import xlsxwriter
from sqlalchemy import Connection, Engine

from hall import service_calendar as cal
from hall.vocabulary import (
    BOOKING_METRICS,
    CASE_MEASURE_NAMES,
    CASE_METRICS,
    CASE_STATUS_NAMES,
    COMPLAINT_CHANNEL_NAMES,
    COMPLAINT_KIND_NAMES,
    COMPLAINT_STATUS_NAMES,
    COMPLAINT_VERDICT_NAMES,
    CONTACT_PURGED,
    DIMENSION_NAMES,
    FOLLOW_UP_NAMES,
    METRICS,
    OUTCOME_NAMES,
    POINT_DIMENSION_NAMES,
    POINT_METRICS,
    POST_NAMES,
    PRESENCE_NAMES,
    PRIORITY_NAMES,
    REPORTS,
    TICKET_KIND_NAMES,
    TICKET_STATUS_NAMES,
    is_bad,
)
from queue_server import bookings as bk
from queue_server import complaint_contacts, kpis
from queue_server import events as ev
from queue_server.hall_definition import HORIZON_MAX_DAYS, HallDefinition, HallInfo
from queue_server.hall_service import rebuild
from queue_server.hall_state import Booking, Case, Complaint, HallState
from queue_server.lifecycle import CaseStatus
from queue_server.points import point_kpis
from queue_server.store import day_facts, event_log, point_logs

COMPLAINTS = "complaints"
"""The complaints register alone (`complaint_sheet`), as the 台账 holds it."""
COMPLAINT_SHEET = "投诉建议台账"
BOOKINGS = "bookings"
"""The appointments' KPI table (`kpis.booking_rows`)."""
ERRANDS = "errands"
"""The village points' 代办月报表 (`point_kpis.rows`): its own sheet, from the points' ledgers
rather than the hall's log (`errand_rows`, `errand_table`)."""
# An Excel sheet's name: a short title, not the reports page's wording (REPORT_NAMES).
TABLE_NAMES = {"kpis": "KPI", "tickets": "小票明细", "ratings": "评价明细", "presence": "窗口在岗记录",
               "cases": "差评工单指标", COMPLAINTS: COMPLAINT_SHEET, BOOKINGS: "预约指标",
               ERRANDS: "代办月报表"}
FORMATS = ("csv", "xlsx", "json")
LEDGER = "ledger"
"""The month's 好差评台账 (`ledger`): its own sheets, exported as XLSX or JSON, or as a page to
print (`web_pages.ledger_html`)."""
MAX_DAYS = 366 * 5

Table = tuple[list[str], list[list[Any]]]   # headers, rows


def load_facts(engine: Engine, hall_id: int, definition: HallDefinition, first: date,
               last: date, with_ratings: bool = True) -> kpis.Facts:
    """The facts of the service days `first` to `last`: exactly the fold of their events, read
    as the stored facts of the closed days and the fold of the others' events. The closed days
    folded here are stored for the next report, where the database takes writes. Without
    `with_ratings` the ratings' log is not read (`Facts.ratings` is None): the KPIs, the hourly
    figures and the rankings do not need it, and a year's takes a sixth of the reading."""
    check_span(first, last)
    with engine.connect() as conn:
        days, folded = day_facts.read(conn, hall_id, first, last, with_ratings)
        upheld = upheld_ratings(conn, hall_id, first, last)
    day_facts.store(engine, hall_id, folded)
    return kpis.without_upheld(day_facts.join(days, with_ratings), upheld)


def load_tallied(engine: Engine, hall_id: int, first: date, last: date,
                 by: str) -> kpis.Tallied:
    """What the KPI rows by `by` of the service days `first` to `last` are made of
    (`kpis.rows`): as `kpis.kpi_rows` makes them of `load_facts`, but from the closed days'
    stored tallies, without making their tickets (a yearly table by window in under half the
    time). The closed days folded here are stored, as by `load_facts`."""
    check_span(first, last)
    kind = kpis.tally_kind(by)
    with engine.connect() as conn:
        days, folded = day_facts.read_counts(conn, hall_id, first, last, kind)
        upheld = upheld_ratings(conn, hall_id, first, last)
    day_facts.store(engine, hall_id, folded)
    return kpis.tally_without_upheld(day_facts.join_counts(days, kind), upheld)


def upheld_ratings(conn: Connection, hall_id: int, first: date,
                   last: date) -> list[kpis.UpheldRating]:
    """The 差评 of the service days `first` to `last` whose appeal has been upheld (申诉成立), on
    any day since: the KPIs leave them out (`kpis.without_upheld`, docs/kpis.md). The stored
    facts of a closed day keep its ratings as logged, so an appeal decided after the day closed
    needs nothing stored again; both kinds are rare, found by the index on kinds."""
    decided = {e.data.case for e in event_log.report_events(
        conn, hall_id, first, date.max, [ev.CaseAppealDecided.tag], rare=True) if e.data.upheld}
    if not decided:
        return []
    return [kpis.UpheldRating(e.day, d.ticket, d.score, d.window, d.clerk, d.category, d.service)
            for e in event_log.report_events(conn, hall_id, first, last, [ev.CaseOpened.tag],
                                             rare=True)
            if (d := e.data).case in decided]


def issued_by_service(engine: Engine, hall_id: int, first: date, last: date) -> dict[str, int]:
    """Tickets issued per service item (its code) over the service days `first` to `last`, from
    the same tallies as the KPI rows by service (`load_tallied`); tickets without an item are
    left out. What the kiosk's 常办事项 are chosen by (`views.popular_items`)."""
    issued: dict[str, int] = {}
    for (_, (_, service)), group in load_tallied(engine, hall_id, first, last, "service").tally.items():
        if service:
            issued[service] = issued.get(service, 0) + group.issued
    return issued


def check_span(first: date, last: date, most: int = MAX_DAYS) -> None:
    """A span of days a report may cover: in order, at most `most` days."""
    if last < first:
        raise ValueError("结束日期不能早于开始日期")
    if (last - first).days >= most:
        raise ValueError(f"一次最多统计 {most // 366} 年" if most >= 366 else
                         f"一次最多统计 {most} 天")


def month_span(text: str) -> tuple[date, date]:
    """The first and last day of a month given as 2026-11."""
    try:
        first = date.fromisoformat(text + "-01")
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    except ValueError:   # not a month, or December of the year 9999
        raise ValueError("month 应为月份，如 2026-11") from None
    return first, following - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class CaseBook:
    """The 差评 cases, the 投诉建议 and the bookings (预约) of a span as they stand now, and the
    service day by which the deadlines are judged (`kpis.case_kpis`, `kpis.complaint_kpis`,
    `kpis.booking_kpis`)."""

    cases: list[Case]
    today: date
    complaints: list[Complaint] = field(default_factory=list)
    bookings: list[Booking] = field(default_factory=list)
    """The bookings for the span's days (their slots'), whenever they were made."""
    contacts: dict[str, str] = field(default_factory=dict)
    """The complainant of each complaint that kept one, as the 台账 shows it: masked
    (`with_contacts`); none until read."""

    @classmethod
    def of(cls, state: HallState, first: date, last: date) -> CaseBook:
        """The cases of the ratings of the days `first` to `last`, the complaints that came
        in on them and the bookings for them, copied: the writer goes on changing the live ones
        while a report is made in a thread."""
        return cls([replace(c, follow_ups=list(c.follow_ups)) for c in state.cases.values()
                    if first <= c.day <= last], state.day,
                   [replace(c, follow_ups=list(c.follow_ups)) for c in state.complaints.values()
                    if first <= c.day <= last],
                   [replace(b) for b in state.bookings.values() if first <= b.day <= last])

    @classmethod
    def from_log(cls, engine: Engine, hall_id: int, definition: HallDefinition, first: date,
                 last: date, now: datetime) -> CaseBook:
        """`of` the hall's state rebuilt from the log, as a server starting now would hold it
        (`hall_service.rebuild`: the cases' and complaints' events of every day, the last
        day's whole): for `queue-server report`, beside the server or without it. Deadlines
        are judged on the hall's service day of `now`, or the log's last day if later (a hall
        on a simulated clock)."""
        state = rebuild(engine, hall_id, definition, now)
        book = with_bookings(cls.of(state, first, last), engine, hall_id, definition, first, last)
        return replace(book, today=max(book.today, cal.service_day(definition.hall, now)))


BOOKING_MOVES_AFTER = timedelta(days=31)
"""How long after its day a booking's last move is looked for in the log: its check-in, release
or withdrawal comes on its day, or at the first tick after it when the server was down then."""


def with_bookings(book: CaseBook, engine: Engine, hall_id: int, definition: HallDefinition,
                  first: date, last: date) -> CaseBook:
    """`book` with the bookings of the days `first` to `last` read from the log when the span
    begins before what the live state keeps (`bookings.kept_since`: the no-show rules' days);
    as it is otherwise. For a report on an older month, in a thread."""
    if first >= bk.kept_since(definition.hall, book.today):
        return book
    zone = definition.hall.zone
    made_from = first - timedelta(days=HORIZON_MAX_DAYS)
    moves = [kind.tag for kind in ev.BOOKING_KINDS if kind is not ev.BookingMade]
    with engine.connect() as conn:
        made = event_log.load_days(conn, hall_id, zone, made_from, last, [ev.BookingMade.tag])
        moved = event_log.load_days(conn, hall_id, zone, made_from, last + BOOKING_MOVES_AFTER,
                                    moves)
    state = HallState(definition, first, 0)   # no day starts in it: it keeps every booking
    ended: list[Booking] = []   # a code drawn again, months later (codes are unique only among
    for event in heapq.merge(made, moved, key=lambda e: e.seq):   # the bookings kept live)
        data = event.data
        if isinstance(data, ev.BookingMade) and data.booking in state.bookings:
            ended.append(state.bookings.pop(data.booking))   # the later moves are the new one's
        state.apply(event)
    return replace(book, bookings=[b for b in (*ended, *state.bookings.values())
                                   if first <= b.day <= last])


def with_contacts(book: CaseBook, engine: Engine, hall_id: int, hall: HallInfo) -> CaseBook:
    """`book` with its complaints' contacts read (`complaint_contacts`), each masked as any
    manager but the handler sees it (张* 138****5678), or `CONTACT_PURGED` once its keeping has ended
    (nothing while its row is still being written, just after the complaint came in)."""
    kept = [c for c in book.complaints if c.contact]
    with engine.connect() as conn:
        found = complaint_contacts.read_many(conn, hall_id, [c.number for c in kept])
    contacts = {}
    for c in kept:
        if c.number in found:
            masked = complaint_contacts.shown(*found[c.number], whole=False)
            contacts[c.number] = " ".join(filter(None, (masked["name"], masked["phone"])))
        elif complaint_contacts.past_keeping(hall, c, book.today):
            contacts[c.number] = CONTACT_PURGED
    return replace(book, contacts=contacts)


def table(facts: kpis.Facts, definition: HallDefinition, what: str, by: str = "hall",
          period: str = "month", book: CaseBook | None = None) -> Table:
    if what == "cases":
        assert book is not None, "the case KPIs need the span's cases"
        kind = kpis.case_tally_kind(by)
        return _case_kpi_table(kpis.case_rows(kpis.tally(facts.tickets, kind), book.cases,
                                              definition, by, period, book.today), by, period)
    if what == COMPLAINTS:
        assert book is not None, "the register needs the span's complaints"
        return complaint_sheet(definition, book)
    if what == BOOKINGS:
        assert book is not None, "the appointments' KPIs need the span's bookings"
        tallied = kpis.Tallied(kpis.tally_kind(by), kpis.tally(facts.tickets, kpis.tally_kind(by)),
                               facts.intervals)
        return _booking_kpi_table(kpis.booking_rows(tallied, book.bookings, definition, by,
                                                    period), by, period)
    if what == "kpis":
        return _kpi_table(kpis.kpi_rows(facts, definition, by, period), by, period)
    if what == "tickets":
        return _ticket_table(facts, definition)
    if what == "ratings":
        return _rating_table(facts, definition)
    if what == "presence":
        return _presence_table(facts, definition)
    raise ValueError(f"未知的报表：{what}（可选 {' / '.join(REPORTS)}）")


# A code column is kept only where a hall matches the table with other systems: a clerk's 工号
# (the personnel system) and an item's 事项编码 (the province's catalogue of 政务服务事项).
CODE_COLUMNS = {"clerk": "工号", "service": "事项编码"}


def _minutes(seconds: float | None) -> float | None:
    """A duration in minutes to one decimal, as the reports page shows it (reports.js)."""
    return None if seconds is None else round(seconds / 60, 1)


def _kpi_table(rows: list[dict[str, Any]], by: str = "hall", period: str = "month") -> Table:
    """The KPI rows: the dimension's name (and its code where `CODE_COLUMNS` keeps one), the
    period (a date for daily rows), durations in minutes as on the page."""
    code = CODE_COLUMNS.get(by)
    metrics = [(key, name, "分钟" if unit == "秒" else unit) for key, name, unit in METRICS]
    headers = ["周期", DIMENSION_NAMES.get(by, by)] + ([code] if code else []) + [
        f"{name}（{unit}）" for _, name, unit in metrics] + [f"{s}分" for s in range(5, 0, -1)]
    body = []
    for r in rows:
        when: Any = date.fromisoformat(r["period"]) if period == "day" else r["period"]
        values = [_minutes(r[k]) if unit == "秒" else r[k] for k, _, unit in METRICS]
        body.append([when, r["name"], *([r["key"]] if code else []), *values,
                     *(r["scores"][str(s)] for s in range(5, 0, -1))])
    return headers, body


def _case_kpi_table(rows: list[dict[str, Any]], by: str, period: str) -> Table:
    """The closed loop's KPI rows (`kpis.case_rows`): the period, the dimension's name, each
    of `CASE_METRICS` with its unit."""
    headers = ["周期", DIMENSION_NAMES.get(by, by)] + [f"{name}（{unit}）"
                                                      for _, name, unit in CASE_METRICS]
    return headers, [[date.fromisoformat(r["period"]) if period == "day" else r["period"],
                      r["name"], *(r[key] for key, _, _ in CASE_METRICS)] for r in rows]


def errand_rows(engine: Engine, hall_id: int, definition: HallDefinition, first: date,
                last: date, by: str, today: date) -> list[dict[str, Any]]:
    """The 代办月报表's rows of the span (docs/kpis.md): every point's ledger as the town holds
    it, judged on the town's calendar and `handover_days`, as the cases stand on `today`."""
    check_span(first, last)
    with engine.connect() as conn:
        points = point_logs.ledgers(conn, hall_id)
    return point_kpis.rows(points, definition.hall, definition.hall.handover_days, first, last,
                           by, today)


def errand_table(rows: list[dict[str, Any]], by: str) -> Table:
    """The 代办月报表 (`errand_rows`) as the page shows it: the dimension's name, its code, each
    of `POINT_METRICS` with its unit; the 合计 row last."""
    headers = [POINT_DIMENSION_NAMES[by], "编号"] + [f"{name}（{unit}）"
                                                    for _, name, unit in POINT_METRICS]
    return headers, [[r["name"], r["key"], *(r[key] for key, _, _ in POINT_METRICS)]
                     for r in rows]


def _booking_kpi_table(rows: list[dict[str, Any]], by: str, period: str) -> Table:
    """The appointments' KPI rows (`kpis.booking_rows`): the period, the dimension's name, each
    of `BOOKING_METRICS` with its unit, the waits in minutes as on the page."""
    headers = ["周期", DIMENSION_NAMES.get(by, by)] + [
        f"{name}（{'分钟' if unit == '秒' else unit}）" for _, name, unit in BOOKING_METRICS]
    return headers, [[date.fromisoformat(r["period"]) if period == "day" else r["period"],
                      r["name"], *(_minutes(r[key]) if unit == "秒" else r[key]
                                   for key, _, unit in BOOKING_METRICS)] for r in rows]


def _clock(moment: datetime | None, definition: HallDefinition) -> datetime | None:
    """A moment as the hall's local time to the second, without its zone (as Excel holds it)."""
    if moment is None:
        return None
    return moment.astimezone(definition.hall.zone).replace(tzinfo=None, microsecond=0)


class _Names:
    """The names the detail tables show instead of the codes the facts hold."""

    def __init__(self, definition: HallDefinition):
        self.windows = kpis.dimension_names(definition, "window")
        self.categories = {c.prefix: c.name for c in definition.categories}
        self.departments = kpis.dimension_names(definition, "department")
        self.clerks = {c.badge: c.name for c in definition.clerks}
        self.items = {i.code: i.name for i in definition.items}

    def window(self, number: int | None) -> str:
        return "" if number is None else self.windows.get(str(number), f"{number} 号窗口")

    def clerk(self, badge: str | None) -> str:
        return "" if not badge else self.clerks.get(badge, badge)

    def department(self, code: str | None) -> str:
        return self.departments.get(code or "", code or "")


def _ticket_table(facts: kpis.Facts, definition: HallDefinition) -> Table:
    headers = ["日期", "号码", "类别", "原类别", "事项编码", "事项", "部门", "类型", "优先",
               "状态", "结果", "取号时间", "首次叫号", "结束时间", "等候（分钟）", "办理（分钟）",
               "窗口", "工作人员", "工号", "岗位", "转移次数", "挂起次数", "重呼次数", "评分",
               "评价原因"]
    names = _Names(definition)
    body = []
    for t in facts.tickets:
        last = t.visits[-1] if t.visits else None
        # The clerk of its last visit: whoever ended it (after a takeover, not who called it).
        clerk, post = (None, None) if last is None else (
            (last.ended_by, last.ended_post) if last.ended_by else (last.clerk, last.post))
        body.append([
            t.day, t.number, names.categories.get(t.category, t.category),
            names.categories.get(t.issued_category, t.issued_category), t.service or "",
            names.items.get(t.service, "") if t.service else "",
            names.department(kpis.ticket_department(definition, t)),
            TICKET_KIND_NAMES.get(t.kind, t.kind), PRIORITY_NAMES.get(t.priority, t.priority),
            TICKET_STATUS_NAMES[t.status], OUTCOME_NAMES.get(t.outcome, "") if t.outcome else "",
            _clock(t.issued_at, definition), _clock(t.first_called_at, definition),
            _clock(t.ended_at, definition), _minutes(t.wait_seconds),
            _minutes(t.service_seconds), names.window(last.window if last else None),
            names.clerk(clerk), clerk or "", POST_NAMES.get(post or "", post or ""), t.transfers,
            t.holds, t.recalls, t.score, "、".join(t.rating_reasons)])
    return headers, body


def _rating_table(facts: kpis.Facts, definition: HallDefinition) -> Table:
    headers = ["日期", "时间", "号码", "评分", "原因", "渠道", "窗口", "工作人员", "工号", "岗位",
               "部门", "事项编码", "事项"]
    assert facts.ratings is not None, "loaded without their ratings (load_facts)"
    names = _Names(definition)
    body = []
    for r in facts.ratings:
        at = _clock(r["at"], definition)
        body.append([
            r["day"], None if at is None else at.time(), r["number"], r["score"],
            "、".join(r["reasons"]), "评价器" if r["channel"] == "pad" else "手机",
            names.window(r["window"]), names.clerk(r["clerk"]), r["clerk"] or "",
            POST_NAMES.get(r["post"], r["post"] or ""), names.department(r["department"]),
            r["service"] or "", names.items.get(r["service"], "") if r["service"] else ""])
    return headers, body


def _presence_table(facts: kpis.Facts, definition: HallDefinition) -> Table:
    headers = ["日期", "窗口", "状态", "工作人员", "工号", "岗位", "原因", "开始", "结束"]
    names = _Names(definition)
    body = [[i.day, names.window(i.window), PRESENCE_NAMES[i.state], names.clerk(i.clerk),
             i.clerk or "", POST_NAMES.get(i.post or "", i.post or ""), i.reason,
             _clock(i.started_at, definition), _clock(i.ended_at, definition)]
            for i in facts.intervals]
    return headers, body


# --- the month's 好差评台账 ---------------------------------------------------------------------------

def ledger(facts: kpis.Facts, definition: HallDefinition, book: CaseBook) -> dict[str, Table]:
    """The 好差评台账 of a span (a month): every rating with a score, every case its 差评
    opened with all its handling, and every complaint or suggestion that came in (the
    complaints register, 投诉建议台账), as they stand."""
    return {"评价台账": _ledger_ratings(facts, definition, book),
            "差评工单台账": _ledger_cases(definition, book),
            COMPLAINT_SHEET: complaint_sheet(definition, book)}


def _ledger_ratings(facts: kpis.Facts, definition: HallDefinition, book: CaseBook) -> Table:
    headers = ["日期", "时间", "号码", "评价", "评分", "差评", "原因", "渠道", "窗口", "工作人员",
               "工号", "部门", "事项", "工单编号"]
    assert facts.ratings is not None, "loaded without their ratings (load_facts)"
    names = _Names(definition)
    opened = {(c.day, c.ticket): c.number for c in book.cases}
    body = []
    for r in facts.ratings:
        score = r["score"]
        if score is None:   # the pad's 未评: no rating to account for
            continue
        at = _clock(r["at"], definition)
        body.append([
            r["day"], None if at is None else at.time(), r["number"],
            definition.hall.score_name(score), score, "是" if is_bad(score) else "",
            "、".join(r["reasons"]), "评价器" if r["channel"] == "pad" else "手机",
            names.window(r["window"]), names.clerk(r["clerk"]), r["clerk"] or "",
            names.department(r["department"]),
            names.items.get(r["service"], "") if r["service"] else "",
            opened.get((r["day"], r["number"]), "")])
    return headers, body


LEDGER_CASE_HEADERS = [
    "工单编号", "评价日期", "号码", "评价", "原因", "部门", "窗口", "工作人员", "工号", "开单时间",
    "办理期限", "核实人", "核实时间", "处理方式", "核实情况", "公开答复", "整改完成时间", "整改情况",
    "回访结果", "回访次数", "回访人", "回访时间", "回访记录", "申诉人", "申诉时间", "申诉理由",
    "审核结论", "审核人", "审核意见", "状态", "办结日期", "是否按期"]


def on_time_text(item: Case | Complaint, today: date) -> str:
    """Whether a case or a complaint was, or still is, within its deadline, as the 台账 says
    it (the rule of `kpis._by_deadline`: closed by the service day of its deadline)."""
    if isinstance(item, Case) and item.status == CaseStatus.UPHELD:
        return "申诉成立，不计"
    if item.closed_on is not None:
        return "按期" if item.closed_on <= item.deadline else "超期"
    return "已超期" if today > item.deadline else "未到期"


def _shown_call(follow_ups: list[dict[str, Any]]) -> dict[str, Any]:
    """The 回访 call the 台账 shows: the one that got through, else the last (none: {})."""
    reached = [f for f in follow_ups if f["result"] != "unreached"]
    return (reached or follow_ups or [{}])[-1]


def _ledger_cases(definition: HallDefinition, book: CaseBook) -> Table:
    names = _Names(definition)
    body = []
    for c in sorted(book.cases, key=lambda c: c.number):
        handling, rectified, appeal, decision = (c.handling or {}, c.rectified or {},
                                                 c.appeal or {}, c.decision or {})
        call = _shown_call(c.follow_ups)
        body.append([
            c.number, c.day, c.ticket, definition.hall.score_name(c.score), "、".join(c.reasons),
            names.department(c.department), names.window(c.window), names.clerk(c.clerk), c.clerk,
            _clock(c.opened_at, definition), c.deadline, names.clerk(handling.get("by")),
            _clock(handling.get("at"), definition),
            CASE_MEASURE_NAMES.get(handling.get("measure", ""), ""), handling.get("finding", ""),
            handling.get("published", ""), _clock(rectified.get("at"), definition),
            rectified.get("note", ""), FOLLOW_UP_NAMES.get(call.get("result", ""), ""),
            len(c.follow_ups) or None, names.clerk(call.get("by")), _clock(call.get("at"), definition),
            call.get("note", ""), names.clerk(appeal.get("clerk") or appeal.get("by")),
            _clock(appeal.get("at"), definition), appeal.get("reason", ""),
            "" if not decision else ("申诉成立" if decision["upheld"] else "申诉驳回"),
            names.clerk(decision.get("by")), decision.get("reason", ""),
            CASE_STATUS_NAMES[c.status], c.closed_on, on_time_text(c, book.today)])
    return LEDGER_CASE_HEADERS, body


LEDGER_COMPLAINT_HEADERS = [
    "编号", "类型", "来源", "热线工单号", "类别", "内容", "涉及窗口", "涉及工作人员", "工号", "小票号码",
    "联系人", "登记时间", "登记人", "办理期限", "承办人", "承办时间", "答复", "核实结论", "答复人",
    "答复时间", "回访结果", "回访次数", "回访人", "回访时间", "回访记录", "办结人", "办结时间",
    "办结说明", "状态", "办结日期", "是否按期"]


def complaint_sheet(definition: HallDefinition, book: CaseBook) -> Table:
    """The complaints register of the span (投诉建议台账): every complaint and suggestion that
    came in, with its handling, as it stands; the complainant's name and phone only masked
    (`book.contacts`), never whole."""
    names = _Names(definition)
    body = []
    for c in sorted(book.complaints, key=lambda c: c.number):
        reply, closed = c.reply or {}, c.closed or {}
        call = _shown_call(c.follow_ups)
        body.append([
            c.number, COMPLAINT_KIND_NAMES[c.kind], COMPLAINT_CHANNEL_NAMES[c.channel],
            c.hotline_case or "", c.category, c.text, names.window(c.window), names.clerk(c.clerk),
            c.clerk or "", c.ticket or "", book.contacts.get(c.number, ""),
            _clock(c.at, definition), c.by or "", c.deadline, c.handler or "",
            _clock(c.assigned_at, definition), reply.get("reply", ""),
            "" if not reply else COMPLAINT_VERDICT_NAMES["valid" if reply["valid"] else "invalid"],
            reply.get("by", ""), _clock(reply.get("at"), definition),
            FOLLOW_UP_NAMES.get(call.get("result", ""), ""), len(c.follow_ups) or None,
            call.get("by", ""), _clock(call.get("at"), definition), call.get("note", ""),
            closed.get("by", ""), _clock(closed.get("at"), definition), closed.get("note", ""),
            COMPLAINT_STATUS_NAMES[c.status], c.closed_on, on_time_text(c, book.today)])
    return LEDGER_COMPLAINT_HEADERS, body


REGISTER_COLUMNS = ("编号", "状态", "是否按期", "类型", "来源", "类别", "内容", "办结日期", "承办人", "答复",
                    "核实结论", "回访结果")
"""The columns of the register the dashboard lists (`find_complaints`); its export has them all."""


def find_complaints(state: HallState, month: str, number: str, status: str | None) -> CaseBook:
    """The complaints a manager looks for on the dashboard, open or closed: those whose number
    holds `number` (any month; letters in any case), else those of `month` (2026-11), of
    `status` only if given."""
    number = number.strip().upper()
    first, last = (date.min, date.max) if number else month_span(month)
    book = CaseBook.of(state, first, last)
    return replace(book, cases=[], complaints=[
        c for c in book.complaints
        if number in c.number and (status is None or c.status == status)])


def register_rows(definition: HallDefinition, book: CaseBook) -> Table:
    """`complaint_sheet` cut to `REGISTER_COLUMNS`, as JSON holds it."""
    headers, rows = complaint_sheet(definition, book)
    where = [headers.index(h) for h in REGISTER_COLUMNS]
    return list(REGISTER_COLUMNS), [[jsonable(row[i]) for i in where] for row in rows]


# --- files ------------------------------------------------------------------------------------------

def _text(value: Any) -> Any:
    """A cell as CSV and JSON write it: dates and times as local ISO-like text
    (2026-11-03, 09:12:05, 2026-11-03 09:12:05), nothing as ""."""
    if value is None:
        return ""
    if isinstance(value, datetime | date | time):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return value


def to_csv(data: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    headers, rows = data
    writer.writerow(headers)
    writer.writerows([_text(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


EXCEL_FORMATS = {datetime: "yyyy-mm-dd hh:mm:ss", date: "yyyy-mm-dd", time: "hh:mm:ss"}


def to_xlsx(sheets: dict[str, Table]) -> bytes:
    """A workbook with a sheet per table: bold frozen headers, columns sized to their text;
    dates and times are Excel's own (numbers with a date or time format, which sort, filter
    and subtract), not text. XlsxWriter writes a month of a county hall's tickets in about a
    second."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    formats = {kind: book.add_format({"num_format": shape}) for kind, shape in EXCEL_FORMATS.items()}
    for name, (headers, rows) in sheets.items():
        sheet = book.add_worksheet(name[:31])
        sheet.write_row(0, 0, headers, bold)
        for index, row in enumerate(rows, start=1):
            for column, value in enumerate(row):
                # each cell by its type, not through `write`'s guessing (a month's 台账 is some
                # 170,000 cells); nothing for an empty one
                kind = type(value)
                if kind is str:
                    if value:
                        sheet.write_string(index, column, value)
                elif kind is int or kind is float:
                    sheet.write_number(index, column, value)
                elif kind is datetime or kind is date or kind is time:
                    sheet.write_datetime(index, column, value, formats[kind])
                elif value is not None:
                    sheet.write(index, column, value)
        for column, header in enumerate(headers):
            width = max([len(str(header)) * 2] + [len(str(_text(r[column]))) for r in rows[:200]])
            sheet.set_column(column, column, min(40, width + 2))
        sheet.freeze_panes(1, 0)
    book.close()
    return out.getvalue()


def jsonable(value: Any) -> Any:
    """A cell as JSON holds it: dates and times as local ISO-like text."""
    return value.isoformat(sep=" ") if isinstance(value, datetime) else (
        value.isoformat() if isinstance(value, date | time) else value)


def to_json(sheets: dict[str, Table]) -> bytes:
    return json.dumps({name: [dict(zip(headers, map(jsonable, row), strict=True)) for row in rows]
                       for name, (headers, rows) in sheets.items()},
                      ensure_ascii=False, indent=1).encode("utf-8")


def export(facts: kpis.Facts, definition: HallDefinition, fmt: str, tables: Sequence[str],
           by: str = "hall", period: str = "month", book: CaseBook | None = None) -> bytes:
    """One file: CSV holds one table; XLSX and JSON hold each table asked for (the 台账,
    `LEDGER`, its own sheets)."""
    if list(tables) == [LEDGER]:
        assert book is not None, "the 台账 needs the span's cases"
        sheets = ledger(facts, definition, book)
    else:
        sheets = {TABLE_NAMES.get(w, w): table(facts, definition, w, by, period, book)
                  for w in tables}
    return to_file(sheets, fmt)


def to_file(sheets: dict[str, Table], fmt: str) -> bytes:
    """The sheets as one file of `fmt` (`FORMATS`); CSV holds one sheet only."""
    if fmt not in FORMATS:
        raise ValueError(f"未知的格式：{fmt}（可选 {' / '.join(FORMATS)}）")
    if fmt == "csv":
        if len(sheets) != 1:
            raise ValueError("CSV 每次只能导出一张表")
        return to_csv(next(iter(sheets.values())))
    return to_xlsx(sheets) if fmt == "xlsx" else to_json(sheets)


CONTENT_TYPES = {"csv": "text/csv; charset=utf-8",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "json": "application/json; charset=utf-8"}
