"""When the hall serves: working days, sessions, and the "come back at …" a citizen is told.

Pure functions of the hall's settings and a time that the caller passes in; nothing here reads
the clock. All times are converted to the hall's own timezone first, so a server running in UTC
still opens at 08:30 Beijing time.

One rule in one place: the server decides with these whether a ticket may be issued
(`queue_server.hall_state`), and the kiosk with the very same functions says so before anyone
taps, from the calendar the server sends it (`calendar_from_view`). The rules take anything with
a hall's calendar fields (`HallCalendar`): the server's `HallCalendar`, or the kiosk's `Calendar`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import cached_property, lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Session:
    """One opening span of a working day, e.g. 08:30–12:00."""

    start: time
    end: time


class HallCalendar(Protocol):
    """What the rules read of a hall: its zone, sessions, working days and issue cut-off."""

    @property
    def zone(self) -> tzinfo: ...
    @property
    def sessions(self) -> tuple[Session, ...]: ...
    @property
    def working_weekdays(self) -> tuple[int, ...]: ...
    @property
    def holidays(self) -> tuple[date, ...]: ...
    @property
    def makeup_workdays(self) -> tuple[date, ...]: ...
    @property
    def issue_cutoff_minutes(self) -> int: ...


@dataclass(frozen=True)
class Calendar:
    """A hall's calendar as a device gets it on the wire (`calendar_from_view`)."""

    timezone: str
    sessions: tuple[Session, ...]
    working_weekdays: tuple[int, ...] = (1, 2, 3, 4, 5)
    holidays: tuple[date, ...] = ()
    makeup_workdays: tuple[date, ...] = ()
    issue_cutoff_minutes: int = 0

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def parse_clock(text: str) -> time:
    """A stored or sent "HH:MM" (or "24:00", the end of the day) back to a time."""
    return time.max if text == "24:00" else time.fromisoformat(text)


def clock_text(moment: time) -> str:
    return "24:00" if moment == time.max else moment.strftime("%H:%M")


def calendar_from_view(hall: Mapping[str, Any]) -> Calendar:
    """The calendar in a hall's view (`queue_server.views.hall_view`: `timezone`, `sessions`,
    `calendar`)."""
    more = hall.get("calendar", {})
    return Calendar(
        timezone=hall["timezone"],
        sessions=tuple(Session(parse_clock(a), parse_clock(b)) for a, b in hall.get("sessions", [])),
        working_weekdays=tuple(more.get("working_weekdays", (1, 2, 3, 4, 5))),
        holidays=tuple(date.fromisoformat(d) for d in more.get("holidays", [])),
        makeup_workdays=tuple(date.fromisoformat(d) for d in more.get("makeup_workdays", [])),
        issue_cutoff_minutes=int(more.get("issue_cutoff_minutes", 0)))

WEEKDAY_NAMES = "一二三四五六日"
LOOKAHEAD_DAYS = 60


def local(hall: HallCalendar, now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("times given to the hall core must carry a timezone")
    return now.astimezone(hall.zone)


def service_day(hall: HallCalendar, now: datetime) -> date:
    return local(hall, now).date()


def is_working_day(hall: HallCalendar, day: date) -> bool:
    if day in hall.makeup_workdays:
        return True
    if day in hall.holidays:
        return False
    return day.isoweekday() in hall.working_weekdays


def working_days_after(hall: HallCalendar, day: date, count: int) -> date:
    """The `count`-th working day after `day` (a deadline of `count` working days, counted from
    the day after): weekends and holidays are skipped, make-up working days (调休上班日) count.
    A hall with no working day within a year and a half counts calendar days instead."""
    found, current = 0, day
    for _ in range(count * 7 + 550):
        current += timedelta(days=1)
        if is_working_day(hall, current):
            found += 1
            if found == count:
                return current
    return day + timedelta(days=count)


def working_days_left(hall: HallCalendar, today: date, deadline: date) -> int:
    """The working days after `today` up to and including `deadline` (0 on the deadline day or
    past it)."""
    left, current = 0, today
    while current < deadline:
        current += timedelta(days=1)
        left += is_working_day(hall, current)
    return left


def session_at(hall: HallCalendar, moment: datetime) -> Session | None:
    """The session the hall is in at this (local) moment, or None when closed."""
    if not is_working_day(hall, moment.date()):
        return None
    clock = moment.time()
    for session in hall.sessions:
        if session.start <= clock < session.end:
            return session
    return None


def session_start(hall: HallCalendar, moment: datetime) -> datetime | None:
    session = session_at(hall, moment)
    if session is None:
        return None
    return datetime.combine(moment.date(), session.start, tzinfo=moment.tzinfo)


def issuing(hall: HallCalendar, moment: datetime) -> bool:
    """Whether a ticket may be issued now: in a session, before its cut-off."""
    return issuing_until(hall, moment) is not None


def issuing_until(hall: HallCalendar, moment: datetime) -> time | None:
    """While tickets are issued: the (local) time at which this session stops issuing them
    (its end less the cut-off); None when none is issued now."""
    session = session_at(hall, moment)
    if session is None:
        return None
    cutoff = _shift(session.end, -hall.issue_cutoff_minutes)
    return cutoff if moment.time() < cutoff else None


def next_issuing_start(hall: HallCalendar, moment: datetime) -> datetime | None:
    """The next moment after `moment` at which tickets are issued again."""
    day = moment.date()
    for offset in range(LOOKAHEAD_DAYS):
        current = day + timedelta(days=offset)
        if not is_working_day(hall, current):
            continue
        for session in hall.sessions:
            start = datetime.combine(current, session.start, tzinfo=moment.tzinfo)
            if start > moment:
                return start
    return None


def next_working_day_start(hall: HallCalendar, moment: datetime) -> datetime | None:
    """The first session of the next working day after `moment`'s day (for a reached cap)."""
    tomorrow = datetime.combine(moment.date() + timedelta(days=1), time(0), tzinfo=moment.tzinfo)
    return next_issuing_start(hall, tomorrow - timedelta(microseconds=1))


def come_back_text(moment: datetime, when: datetime | None) -> str:
    """"请于 14:00 后再来", "请明天 8:30 后再来", "请于 12月1日（周一）8:30 后再来"."""
    if when is None:
        return "近期暂无服务安排，请留意大厅公告"
    clock = f"{when.hour}:{when.minute:02d}"
    days = (when.date() - moment.date()).days
    if days == 0:
        return f"请于今天 {clock} 后再来"
    if days == 1:
        return f"请明天 {clock} 后再来"
    return f"请于 {when.month}月{when.day}日（周{WEEKDAY_NAMES[when.weekday()]}）{clock} 后再来"


def closed_reason(hall: HallCalendar, moment: datetime) -> str:
    """Why no ticket can be issued at `moment` (which must be outside issuing hours)."""
    back = come_back_text(moment, next_issuing_start(hall, moment))
    if not is_working_day(hall, moment.date()):
        return f"今天不是工作日，大厅不办理业务，{back}"
    clock = moment.time()
    sessions = hall.sessions
    if sessions and clock < sessions[0].start:
        return f"大厅尚未开始办公，{back}"
    if sessions and clock >= _shift(sessions[-1].end, -hall.issue_cutoff_minutes):
        return f"今日取号已结束，{back}"
    if session_at(hall, moment) is not None:   # in a session, after its cut-off: not yet a break
        return f"本时段取号已结束，{back}"
    return f"现在是休息时间，暂停取号，{back}"


@lru_cache(maxsize=64)
def _shift(clock: time, minutes: int) -> time:
    moment = datetime.combine(date(2000, 1, 1), clock) + timedelta(minutes=minutes)
    return moment.time()
