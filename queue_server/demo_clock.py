"""Which clock the demo runs on: the real one while the hall issues tickets, else a simulated
one that starts at the hall's next opening, so that whoever runs the demo at night, at the
weekend or on a holiday still sees a working hall (`queue-server demo-clock`, `scripts/demo.sh`).

Pure: the hall's calendar and a time the caller passes in; the rules are
`hall.service_calendar`'s, the same the server and the kiosk use.
"""

from __future__ import annotations

from datetime import datetime

from hall import service_calendar as sc
from hall.service_calendar import HallCalendar


def demo_start(hall: HallCalendar, now: datetime) -> datetime | None:
    """None when the hall issues tickets at `now` (the demo runs on real time); else the hall's
    next opening (in its own time zone), where a simulated clock should start."""
    moment = sc.local(hall, now)
    if sc.issuing(hall, moment):
        return None
    start = sc.next_issuing_start(hall, moment)
    if start is None:
        raise ValueError(f"大厅在此后 {sc.LOOKAHEAD_DAYS} 天内没有办公时间，无法演示")
    return start


def closed_why(hall: HallCalendar, now: datetime) -> str:
    """In a few words, why the hall does not issue tickets at `now`: 节假日, 周六, 午间休息, …"""
    moment = sc.local(hall, now)
    day, clock = moment.date(), moment.time()
    weekday = f"周{sc.WEEKDAY_NAMES[day.weekday()]}"
    if day in hall.holidays and day not in hall.makeup_workdays:
        return f"{weekday}，法定节假日"
    if not sc.is_working_day(hall, day):
        return f"{weekday}，非工作日"
    sessions = hall.sessions
    if sessions and clock < sessions[0].start:
        return f"{weekday} {clock:%H:%M}，尚未开始办公"
    if sessions and clock >= sessions[-1].start and sc.session_at(hall, moment) is None:
        return f"{weekday} {clock:%H:%M}，已下班"
    if sc.session_at(hall, moment) is not None:
        return f"{weekday} {clock:%H:%M}，本时段已停止取号"
    return f"{weekday} {clock:%H:%M}，午间休息"


def demo_clock_line(hall: HallCalendar, now: datetime, start: datetime) -> str:
    """The one line `scripts/demo.sh` prints when the demo runs on a simulated clock."""
    return (f"现在大厅不在办公时间（{closed_why(hall, now)}），演示按模拟时钟从 "
            f"{start.month}月{start.day}日 {start:%H:%M} 开始运行 / the hall is closed now; "
            f"the demo runs on a simulated clock from {start:%Y-%m-%d %H:%M}")
