"""Whether a ticket can be taken now, for the hall and for each category, said in words before
anyone taps: pure functions of what the server sent (the hall's view, the live queues and
windows), the connection and the time.

Open or closed is the server's own rule (`hall.service_calendar`, the very functions that refuse
a ticket outside service hours) on the calendar in the hall's view; a category's numbers are gone
when today's `issued` reached its `daily_cap`, as the server counts them. The words are the
server's too (`closed_reason`, `come_back_text`), so the kiosk never says 可以取号 above a refusal.

Two callers say the same words from the same data: the kiosk, from what the server sent it, and
the server itself for the hall's mobile 取号 page (`/take`, queue_server.take_page), from its
own hall and live views.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hall import service_calendar as cal

OFFLINE = "暂时无法取号：与服务器的连接已断开，正在重新连接。办事指南仍可查看。"
NO_WINDOW = "该业务暂无窗口办理"
STAFFED = ("open", "paused")
"""A window whose clerk is signed in (serving or paused): it will call the category's numbers."""


@dataclass(frozen=True, slots=True)
class Availability:
    """`takeable`: 取号 is offered; `text`: what the screen says, in words; `ok`: the words are
    good news (shown with ✓), else a warning (shown with ⚠)."""

    takeable: bool
    text: str
    ok: bool


def hall_availability(hall: Mapping[str, Any], connected: bool, now: datetime) -> Availability:
    """The hall as a whole: connected, and in issuing hours (with until when), or why not."""
    if not connected:
        return Availability(False, OFFLINE, False)
    if "timezone" not in hall:                 # no hello yet: the server has not said
        return Availability(False, "正在连接服务器…", False)
    calendar = cal.calendar_from_view(hall)
    moment = cal.local(calendar, now)
    until = cal.issuing_until(calendar, moment)
    if until is None:
        return Availability(False, cal.closed_reason(calendar, moment), False)
    return Availability(True, f"大厅正在办公，今天 {cal.clock_text(until)} 前可以取号。"
                              "请选择您要办理的事项。", True)


def category_availability(hall: Mapping[str, Any], live: Mapping[str, Any], category: str,
                          connected: bool, now: datetime) -> Availability:
    """One category: the hall's state when no ticket can be taken at all; else 今日已取完 once
    today's numbers reached the cap (with when to come back, as the server says it), or
    该业务暂无窗口办理 when no window that serves it has a clerk signed in. A ticket is still
    issued then (the server issues it; clerks sign in after the kiosk opens): the citizen is told
    before the tap and decides."""
    whole = hall_availability(hall, connected, now)
    if not whole.takeable:
        return whole
    calendar = cal.calendar_from_view(hall)
    moment = cal.local(calendar, now)
    caps = {c["prefix"]: c.get("daily_cap") for c in hall.get("categories", [])}
    issued = {q["category"]: q.get("issued") for q in live.get("queues", [])}
    cap, count = caps.get(category), issued.get(category)
    today = live.get("day") == moment.date().isoformat()    # counts of another day say nothing
    if today and cap is not None and count is not None and count >= cap:
        back = cal.come_back_text(moment, cal.next_working_day_start(calendar, moment))
        return Availability(False, f"今日已取完，{back}", False)
    serving = {w["window"] for w in hall.get("windows", []) if category in w.get("categories", [])}
    staffed = [w for w in live.get("windows", [])
               if w["window"] in serving and w.get("status") in STAFFED]
    if not staffed:
        return Availability(True, f"{NO_WINDOW}，可先取号等候", False)
    return Availability(True, "可以取号", True)


def waiting_text(waiting: Mapping[str, int], category: str) -> str:
    """How many wait in this item's own category, saying so; empty until the server said."""
    count = waiting.get(category)
    return "" if count is None else f"本业务当前等候 {count} 人"
