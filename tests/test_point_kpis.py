"""The 代办月报表's figures (queue_server.points.point_kpis, docs/kpis.md 代办月报表) on a small set
of cases worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from hall.service_calendar import Calendar
from hall.vocabulary import POINT_METRICS
from queue_server.points import ledger as L
from queue_server.points.point_kpis import rows

CALENDAR = Calendar("Asia/Shanghai", (), holidays=(date(2026, 12, 10),))
"""Working Monday to Friday; Thursday 2026-12-10 a holiday."""


class Logs:
    """A point's two logs, written in the order the calls come (each entry has seen the other
    log whole)."""

    def __init__(self, code: str, name: str) -> None:
        self.code, self.name = code, name
        self.up: list[L.Entry] = []
        self.down: list[L.Entry] = []

    def write(self, record: L.Record, at: str) -> None:
        mine, other = (self.up, self.down) if record.side == "up" else (self.down, self.up)
        mine.append(L.Entry(len(mine) + 1, at, len(other), record))

    def recorded(self, case: str, at: str, agent: str, item: str) -> str:
        names = {"X1": "低保申请", "X2": "医保报销"}
        self.write(L.CaseRecorded(case, "张三", "13800001111", item, names[item], ("身份证",),
                                  agent), at)
        return case

    def through(self, case: str, delivered: str, result: str | None = None,
                visit: str | None = None) -> None:
        """The town receives the papers (its clock), accepts, and maybe finishes; the point
        then feeds back, archives and calls back."""
        self.write(L.TownReceived(case, 1, "王五"), delivered)
        self.write(L.TownAccepted(case, "王五"), delivered)
        if result is None:
            return
        self.write(L.TownFinished(case, result, "", "王五"), "2026-12-16T10:00:00+08:00")
        self.write(L.CaseFedBack(case), "2026-12-16T15:00:00+08:00")
        self.write(L.CaseArchived(case), "2026-12-16T15:10:00+08:00")
        if visit is not None:
            self.write(L.CaseVisited(case, visit), "2026-12-17T09:00:00+08:00")

    def ledger(self) -> L.PointLedger:
        return L.PointLedger(self.code, self.name, L.fold(self.up, self.down))


def the_points() -> list[L.PointLedger]:
    """Two points, eight cases (hand-over within 3 working days, counted from the day after 受理):

    李庄村 P01:
    1. 李四, X1, recorded Fri 12-04; due Wed 12-09 (Mon 7, Tue 8, Wed 9); delivered 12-09:
       on time; 准予办理, fed back, archived, called back 满意.
    2. 李四, X2, recorded Tue 12-08; due Mon 12-14 (Wed 9, the holiday Thu 10 skipped, Fri 11,
       the weekend skipped, Mon 14); delivered Mon 12-14: on time (without the holiday it
       would be late); 不予办理, fed back, archived, called back 不满意.
    3. 赵六, X1, recorded Tue 12-08, due Mon 12-14; delivered Tue 12-15: LATE; in hand.
    王庄村 P02:
    4. 钱七, X1, recorded Wed 12-09; due Tue 12-15 (Fri 11, Mon 14, Tue 15); never delivered:
       overdue on 12-21.
    5. 钱七, X2, recorded Wed 12-09, withdrawn (not overdue: no longer to deliver).
    6. 钱七, X2, recorded Fri 12-18; due Wed 12-23: not delivered, not overdue on 12-21.
    7. 钱七, X1, recorded Mon 11-30 15:00 (Beijing): November's, not in the table.
    8. 钱七, X2, recorded 2026-11-30T23:30Z by a point's clock set to UTC: 12-01 07:30 in
       Beijing, December's; delivered 12-02, on time; 准予办理, fed back, archived, called back
       未接通 (a call that did not get through: not in 回访满意率).

    By point, on 2026-12-21:
    P01: 受理 3, 送达 3, 按期 2 (66.7 %), 超期未送达 0, 办结 2 (准予 1, 不予 1), 反馈 2, 归档 2,
         回访 2, 回访满意率 1 of 2 got through = 50.0 %, 撤回 0.
    P02: 受理 4 (4, 5, 6, 8), 送达 1, 按期 1 (100.0 %), 超期未送达 1, 办结 1 (准予 1), 反馈 1,
         归档 1, 回访 1, 回访满意率 none got through (—), 撤回 1.
    合计: 7, 4, 3 (75.0 %), 1, 3 (2, 1), 3, 3, 3, 1 of 2 = 50.0 %, 1.
    By agent: P01 李四 (1, 2): 2, 2, 2 (100.0 %), 0, 2 (1, 1), 2, 2, 2, 50.0 %, 0;
              P01 赵六 (3): 1, 1, 0 (0.0 %), 0, 0, …, —, 0; P02 钱七 as P02.
    By item: X1 (1, 3, 4): 3, 2, 1 (50.0 %), 1, 1 (1, 0), 1, 1, 1, 100.0 %, 0;
             X2 (2, 5, 6, 8): 4, 2, 2 (100.0 %), 0, 2 (1, 1), 2, 2, 2, 1 got through, not
             satisfied: 0.0 %, 1.
    """
    p01, p02 = Logs("P01", "李庄村"), Logs("P02", "王庄村")
    c1 = p01.recorded("P01-261204-001", "2026-12-04T10:00:00+08:00", "李四", "X1")
    c2 = p01.recorded("P01-261208-001", "2026-12-08T09:00:00+08:00", "李四", "X2")
    c3 = p01.recorded("P01-261208-002", "2026-12-08T11:00:00+08:00", "赵六", "X1")
    p01.through(c1, "2026-12-09T15:00:00+08:00", "done", "satisfied")
    p01.through(c2, "2026-12-14T09:00:00+08:00", "refused", "dissatisfied")
    p01.through(c3, "2026-12-15T09:00:00+08:00")
    c7 = p02.recorded("P02-261130-001", "2026-11-30T15:00:00+08:00", "钱七", "X1")
    c8 = p02.recorded("P02-261201-001", "2026-11-30T23:30:00+00:00", "钱七", "X2")
    p02.through(c7, "2026-12-01T10:00:00+08:00")
    p02.through(c8, "2026-12-02T10:00:00+08:00", "done", "unreached")
    p02.recorded("P02-261209-001", "2026-12-09T10:00:00+08:00", "钱七", "X1")
    c5 = p02.recorded("P02-261209-002", "2026-12-09T11:00:00+08:00", "钱七", "X2")
    p02.write(L.CaseWithdrawn(c5, "群众不办了"), "2026-12-09T12:00:00+08:00")
    p02.recorded("P02-261218-001", "2026-12-18T10:00:00+08:00", "钱七", "X2")
    return [p01.ledger(), p02.ledger()]


KEYS = [key for key, _, _ in POINT_METRICS]


def figures(*values: float | None) -> dict[str, float | None]:
    """A row's figures in the order of POINT_METRICS."""
    assert len(values) == len(KEYS)
    return dict(zip(KEYS, values, strict=True))


P01 = figures(3, 3, 2, 66.7, 0, 2, 1, 1, 2, 2, 2, 50.0, 0)
P02 = figures(4, 1, 1, 100.0, 1, 1, 1, 0, 1, 1, 1, None, 1)
TOTAL = figures(7, 4, 3, 75.0, 1, 3, 2, 1, 3, 3, 3, 50.0, 1)


def table(by: str) -> dict[tuple[str, str], dict[str, float | None]]:
    out = rows(the_points(), CALENDAR, 3, date(2026, 12, 1), date(2026, 12, 31), by,
               date(2026, 12, 21))
    return {(r["key"], r["name"]): {k: r[k] for k in KEYS} for r in out}


def test_the_month_by_point_as_worked_out_by_hand() -> None:
    assert table("point") == {("P01", "李庄村"): P01, ("P02", "王庄村"): P02, ("", "合计"): TOTAL}


def test_the_month_by_agent_as_worked_out_by_hand() -> None:
    assert table("agent") == {
        ("P01/李四", "李庄村 李四"): figures(2, 2, 2, 100.0, 0, 2, 1, 1, 2, 2, 2, 50.0, 0),
        ("P01/赵六", "李庄村 赵六"): figures(1, 1, 0, 0.0, 0, 0, 0, 0, 0, 0, 0, None, 0),
        ("P02/钱七", "王庄村 钱七"): P02, ("", "合计"): TOTAL}


def test_the_month_by_item_as_worked_out_by_hand() -> None:
    assert table("item") == {
        ("X1", "低保申请"): figures(3, 2, 1, 50.0, 1, 1, 1, 0, 1, 1, 1, 100.0, 0),
        ("X2", "医保报销"): figures(4, 2, 2, 100.0, 0, 2, 1, 1, 2, 2, 2, 0.0, 1),
        ("", "合计"): TOTAL}


def test_an_unknown_dimension_is_refused_in_chinese() -> None:
    with pytest.raises(ValueError, match="未知的统计维度"):
        rows(the_points(), CALENDAR, 3, date(2026, 12, 1), date(2026, 12, 31), "window",
             date(2026, 12, 21))
