"""The 代办月报表: the figures of a hall's village points' cases by point, agent or item
(`hall.vocabulary.POINT_METRICS`, each defined in docs/kpis.md, 代办月报表). Pure: it takes the
ledgers as `ledger.fold` makes them and the day the figures are judged on.

A case belongs to the span of the day it was recorded (受理: the point's clock, read in the town
calendar's time zone). Every figure is of the span's cases as they stand on `today`: a case
recorded in November and finished in December counts as finished in November's table once it is.
On-time hand-over compares the town's day of receipt (送达: the town's clock) with the deadline
(`ledger.delivered_on_time`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from hall import service_calendar
from hall.vocabulary import FOLLOW_UP_SATISFIED, POINT_DIMENSIONS, POINT_METRICS
from queue_server.kpis import pct
from queue_server.points import ledger

COUNTS = tuple(key for key, _, unit in POINT_METRICS if unit == "件")


def _key(by: str, point: ledger.PointLedger, case: ledger.Case) -> tuple[str, str]:
    """A row's key and name for a case: the point; the agent at the point (an agent's name is
    the point's own); the item by its code."""
    if by == "point":
        return point.code, point.name
    if by == "agent":
        return f"{point.code}/{case.agent}", f"{point.name} {case.agent}"
    return case.item, case.item_name


def _counts(case: ledger.Case, calendar: service_calendar.HallCalendar, handover_days: int,
            today: date) -> dict[str, int]:
    at = case.at
    return {"recorded": 1, "delivered": "delivered" in at,
            "delivered_on_time": ledger.delivered_on_time(case, calendar, handover_days) is True,
            "overdue": ledger.handover_level(case, calendar, handover_days, today) == "red",
            "finished": "finished" in at, "done": case.result == "done",
            "refused": case.result == "refused", "fed_back": "fed_back" in at,
            "archived": "archived" in at, "visited": "visited" in at,
            "withdrawn": case.stage == "withdrawn"}


def rows(points: Iterable[ledger.PointLedger], calendar: service_calendar.HallCalendar,
         handover_days: int, first: date, last: date, by: str,
         today: date) -> list[dict[str, Any]]:
    """The rows of the span `first`–`last` by `by` (`POINT_DIMENSIONS`), sorted by key, then a
    total row (key ""): each row's `key`, `name` and every figure of `POINT_METRICS`."""
    if by not in POINT_DIMENSIONS:
        raise ValueError(f"未知的统计维度：{by}（可选 {' / '.join(POINT_DIMENSIONS)}）")
    groups: dict[tuple[str, str], dict[str, int]] = {}
    calls: dict[tuple[str, str], list[int]] = {}   # 回访 that got through, and satisfied
    for point in points:
        for case in point.cases.values():
            day = service_calendar.service_day(calendar, datetime.fromisoformat(case.recorded_at))
            if not first <= day <= last:
                continue
            key = _key(by, point, case)
            group = groups.setdefault(key, dict.fromkeys(COUNTS, 0))
            for name, value in _counts(case, calendar, handover_days, today).items():
                group[name] += value
            call = calls.setdefault(key, [0, 0])
            if case.visit is not None and case.visit != "unreached":
                call[0] += 1
                call[1] += case.visit in FOLLOW_UP_SATISFIED
    out = [_row(key, name, group, calls[(key, name)])
           for (key, name), group in sorted(groups.items())]
    total = {name: sum(g[name] for g in groups.values()) for name in COUNTS}
    return [*out, _row("", "合计", total, [sum(c[i] for c in calls.values()) for i in (0, 1)])]


def _row(key: str, name: str, counts: Mapping[str, int], call: list[int]) -> dict[str, Any]:
    """A row's figures: its counts and the two rates (None where nothing to divide by)."""
    return {"key": key, "name": name, **counts,
            "on_time_pct": pct(counts["delivered_on_time"], counts["delivered"]),
            "visit_satisfied_pct": pct(call[1], call[0])}
