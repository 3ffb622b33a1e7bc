"""Reading and writing the hall definition file (TOML), with errors a hall's staff can act on.

The file is checked whole before anything is built: every problem is collected, each with the
line it is on, the field's path (arrays count from 1, as people do) and what was expected, so a
bad file is rejected at once with the full list and never half-imported. `tomllib` gives no
positions for values, so `key_lines` scans the text for table headers and keys to find them.

Everything in the file is bounded, because it ends up on every device (a hall's name is in
every `hello`): the file's size (`MAX_FILE_BYTES`), the length of every text field and the
number of entries of every array; the limits are in docs/hall-config.md.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hall import missed_call
from hall.service_calendar import clock_text
from hall.vocabulary import COMPLAINT_CATEGORIES, HALL_LEVELS, SCORES, TICKET_KINDS
from hall.voice.call_queue import DEFAULT_BOUND, DEFAULT_REPEAT
from hall.voice.espeak import DEFAULT_PACE
from queue_server.hall_definition import (
    CATALOGUE_UPDATES,
    HANDLING_MODES,
    HORIZON_MAX_DAYS,
    ITEM_TYPES,
    MATERIAL_FORMS,
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

NO_FEE = "不收费"
FREE_WORDS = (NO_FEE, "免费", "免收")

MAX_FILE_BYTES = 8 * 1024 * 1024
"""The county example (142 windows, 369 items with full guides) is under 1 MB; a city hall's
catalogue of a few thousand items fits too. Checked before the file is parsed."""

# Length limits of text fields, in characters (docs/hall-config.md lists them per field).
NAME = 60            # the hall's, a department's, a category's and a window's name
ITEM_NAME = 100
PERSON = 40          # a clerk's name
TEXT = 200           # an address, a certificate, a material's name
NOTE = 500           # a material's note
PHONE = 40
URL = 300            # the hall's public address
PLACE = 40           # a window's zone and floor
SHORT_NAME = 6       # a window's business as the hall board shows it, read from 10 m
ALIAS = 20           # an item's alias, what citizens call it (社保卡, 低保)
ALIASES = 10         # aliases of an item
PATH = 300           # a clerk's photo file
LINE = 1000          # one entry of a guide list: legal basis, condition, step, note
SUMMARY = 3000
FEE = 300
REASON = 40          # a rating reason, a button on the pad
LEVEL = 6            # a rating level's name: a button of five side by side on the pad
ADVICE = 40          # the missed-call advice, one line under every ticket
CODE = 40            # hall and department codes, and references to departments
BADGE = 16
PREFIX = 2
GUIDE_ENTRIES = 50   # entries of each list of a guide, and materials of an item
CATEGORIES = 300     # categories of a hall, so also of one window


@dataclass(frozen=True, slots=True)
class Problem:
    line: int | None
    field: str
    message: str

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.field}: {self.message}"


class HallFileInvalid(Exception):
    """The file cannot be imported; `problems` lists every reason."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = sorted(problems, key=lambda p: (p.line or 0, p.field))
        super().__init__(self.render())

    def render(self) -> str:
        head = f"大厅配置文件有 {len(self.problems)} 处错误，未导入任何内容："
        return "\n".join([head, *(p.render(self.source) for p in self.problems)])


# --- where things are in the text -----------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+)\s*=")


def key_lines(text: str) -> dict[str, int]:
    """Map each table and key path ("windows[3].a_post", 1-based) to its line number."""
    lines: dict[str, int] = {}
    counts: dict[str, int] = {}
    table = ""
    in_multiline: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if raw.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        header = _HEADER.match(raw)
        if header and not _KEY.match(raw):
            names = [part.strip().strip("\"'") for part in header.group(2).split(".")]
            parent = _resolve(names[:-1], counts)
            base = f"{parent}.{names[-1]}" if parent else names[-1]
            if header.group(1) == "[[":
                counts[base] = counts.get(base, 0) + 1
                table = f"{base}[{counts[base]}]"
            else:
                table = base
            lines.setdefault(table, number)
            continue
        key = _KEY.match(raw)
        if key:
            name = key.group(1).strip("\"'")
            lines.setdefault(f"{table}.{name}" if table else name, number)
            rest = raw[key.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote
    return lines


def _resolve(names: list[str], counts: dict[str, int]) -> str:
    path = ""
    for name in names:
        base = f"{path}.{name}" if path else name
        path = f"{base}[{counts[base]}]" if base in counts else base
    return path


def _line_of(lines: dict[str, int], path: str) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


# --- checking values --------------------------------------------------------------------------

_TYPE_NAMES = {str: "文本", int: "整数", bool: "true 或 false", list: "数组", dict: "表"}


class _Checker:
    """Collects problems while reading one file; every read returns a usable default."""

    def __init__(self, lines: dict[str, int]):
        self.lines = lines
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(_line_of(self.lines, path), path, message))

    def failed(self, path: str) -> bool:
        """Whether `path` already has a problem (so that a later check need not add another)."""
        return any(p.field == path for p in self.problems)

    def known_keys(self, table: dict, path: str, allowed: Iterable[str]) -> None:
        allowed = list(allowed)
        for key in table:
            if key not in allowed:
                self.fail(f"{path}.{_clip(key)}", f"未知字段；此处可用的字段有：{', '.join(allowed)}")

    def too_long(self, path: str, value: str, limit: int) -> bool:
        if len(value) <= limit:
            return False
        self.fail(path, f"太长：最多 {limit} 个字符，实际 {len(value)} 个字符")
        return True

    def too_many(self, path: str, values: list, limit: int) -> bool:
        if len(values) <= limit:
            return False
        self.fail(path, f"太多：最多 {limit} 项，实际 {len(values)} 项")
        return True

    def value(self, table: dict, path: str, key: str, kind: type, required: bool, default: Any):
        where = f"{path}.{key}"
        if key not in table:
            if required:
                self.fail(where, f"缺少必填字段（应为{_TYPE_NAMES[kind]}）")
            return default
        value = table[key]
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            self.fail(where, f"应为{_TYPE_NAMES[kind]}，实际为 {_show(value)}")
            return default
        return value

    def text(self, table, path, key, *, limit: int, required=True, pattern: str | None = None,
             hint: str = "") -> str:
        value = self.value(table, path, key, str, required, "")
        if self.too_long(f"{path}.{key}", value, limit):
            return ""
        if required and key in table and isinstance(value, str) and not value.strip():
            self.fail(f"{path}.{key}", "不能为空")
        if value and pattern and not re.fullmatch(pattern, value):
            self.fail(f"{path}.{key}", f"格式不对：{hint}，实际为 {_show(value)}")
        return value

    def integer(self, table, path, key, low: int, high: int, *, required=True,
                default: int = 0) -> int:
        value = self.value(table, path, key, int, required, default)
        if not low <= value <= high:
            self.fail(f"{path}.{key}", f"应为 {low} 到 {high} 之间的整数，实际为 {value}")
            return default
        return value

    def choice(self, table, path, key, choices: Iterable[str], *, required=True,
               default: str = "") -> str:
        choices = tuple(choices)
        value = self.value(table, path, key, str, required, default)
        if key in table and value not in choices:
            self.fail(f"{path}.{key}", f"应为 {' / '.join(choices)} 之一，实际为 {_show(value)}")
            return default
        return value

    def texts(self, table, path, key, *, limit: int, max_items: int, required=True,
              min_items=0, choices: Iterable[str] | None = None,
              default=()) -> tuple[str, ...]:
        values = self.value(table, path, key, list, required, list(default))
        if self.too_many(f"{path}.{key}", values, max_items):
            values = values[:max_items]
        good = []
        allowed = tuple(choices) if choices is not None else None
        for i, value in enumerate(values, start=1):
            if not isinstance(value, str) or not value.strip():
                self.fail(f"{path}.{key}[{i}]", f"应为非空文本，实际为 {_show(value)}")
            elif self.too_long(f"{path}.{key}[{i}]", value, limit):
                pass
            elif allowed is not None and value not in allowed:
                self.fail(f"{path}.{key}[{i}]",
                          f"应为 {' / '.join(allowed)} 之一，实际为 {_show(value)}")
            else:
                good.append(value)
        if key in table and len(values) < min_items:
            self.fail(f"{path}.{key}", f"至少需要 {min_items} 项")
        return tuple(good)

    def dates(self, table, path, key, *, max_items: int) -> tuple[date, ...]:
        values = self.value(table, path, key, list, False, [])
        if self.too_many(f"{path}.{key}", values, max_items):
            values = values[:max_items]
        good = []
        for i, value in enumerate(values, start=1):
            if isinstance(value, date) and not hasattr(value, "hour"):
                good.append(value)
            else:
                self.fail(f"{path}.{key}[{i}]",
                          f"应为日期（不加引号，如 2026-10-01），实际为 {_show(value)}")
        return tuple(sorted(set(good)))

    def tables(self, data: dict, key: str, *, required: bool,
               max_items: int) -> list[tuple[str, dict]]:
        values = data.get(key)
        if values is None:
            if required:
                self.fail(key, f"缺少 [[{key}]]，至少需要一项")
            return []
        if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
            self.fail(key, f"应写成 [[{key}]] 表数组")
            return []
        if self.too_many(key, values, max_items):
            values = values[:max_items]
        return [(f"{key}[{i}]", value) for i, value in enumerate(values, start=1)]

    def unique(self, records: list[tuple[str, Any]], key: str, what: str) -> None:
        seen: dict[Any, str] = {}
        for path, value in records:
            if value in seen:
                self.fail(f"{path}.{key}", f"{what} {_show(value)} 重复，已在 {seen[value]} 出现")
            else:
                seen[value] = path


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{_clip(value)}"' + (f"（共 {len(value)} 个字符）" if len(value) > 40 else "")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "一个表"
    return str(value)


def _parse_clock(checker: _Checker, path: str, value: Any) -> time | None:
    if value == "24:00":
        return time.max      # the end of the day, for a hall open until midnight
    if isinstance(value, str) and re.fullmatch(r"\d{2}:\d{2}", value):
        hour, minute = int(value[:2]), int(value[3:])
        if hour < 24 and minute < 60:
            return time(hour, minute)
    checker.fail(path, f'应为 "HH:MM" 形式的时间，如 "08:30"（一天结束可写 "24:00"），实际为 {_show(value)}')
    return None


# --- reading the tables -------------------------------------------------------------------------

_HALL_KEYS = ("code", "name", "address", "consultation_phone", "complaint_phone", "timezone",
              "sessions", "working_weekdays", "holidays", "makeup_workdays", "priority_ratio",
              "issue_cutoff_minutes", "unattended_after_minutes", "transfer_return_minutes",
              "wait_yellow_minutes", "wait_red_minutes", "service_warning_minutes",
              "service_level_minutes", "rating_reasons", "rating_levels",
              "case_deadline_days", "case_near_days", "complaint_categories",
              "complaint_deadline_days", "complaint_keep_contact", "complaint_contact_days",
              "handover_days", "booking_no_show_limit", "booking_no_show_days", "booking_block_days",
              "demo", "mobile_share", "public_url",
              "catalogue_updates", "level", "missed_call", "voice_wait_seconds", "voice_pace",
              "voice_repeat")
_TOP_KEYS = ("hall", "departments", "categories", "clerks", "windows", "items")
_CODE = r"[a-z0-9][a-z0-9_\-]{0,39}"
_CODE_HINT = "小写字母、数字、- 或 _，不超过 40 个字符"
PUBLIC_URL = r"https?://[^\s/?#]+(/[^\s?#]*[^\s?#/])?"
PUBLIC_URL_HINT = "应为 http:// 或 https:// 开头、不以 / 结尾的地址，如 https://paidui.example.gov.cn/h/qingshan-town"


def _read_hall(c: _Checker, data: dict) -> HallInfo | None:
    table = data.get("hall")
    if not isinstance(table, dict):
        c.fail("hall", "缺少 [hall] 表（大厅名称、地址、电话、服务时段等）")
        return None
    c.known_keys(table, "hall", _HALL_KEYS)
    timezone = c.text(table, "hall", "timezone", required=False, limit=64) or "Asia/Shanghai"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        c.fail("hall.timezone", f"未知时区 {_show(timezone)}；中国大陆应为 \"Asia/Shanghai\"")
        timezone = "Asia/Shanghai"
    wait_red = c.integer(table, "hall", "wait_red_minutes", 0, 600, required=False, default=60)
    yellow = table.get("wait_yellow_minutes", 30)
    if isinstance(yellow, int) and 0 < wait_red < yellow:
        c.fail("hall.wait_red_minutes", "红色等候预警的分钟数不能小于黄色预警（wait_yellow_minutes）")
    weekdays = c.value(table, "hall", "working_weekdays", list, False, [1, 2, 3, 4, 5])
    if any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7 for d in weekdays):
        c.fail("hall.working_weekdays", "应为 1 到 7 的整数数组（1 = 星期一）")
        weekdays = [1, 2, 3, 4, 5]
    return HallInfo(
        code=c.text(table, "hall", "code", limit=CODE, pattern=_CODE, hint=_CODE_HINT),
        name=c.text(table, "hall", "name", limit=NAME),
        address=c.text(table, "hall", "address", limit=TEXT),
        consultation_phone=c.text(table, "hall", "consultation_phone", limit=PHONE),
        complaint_phone=c.text(table, "hall", "complaint_phone", limit=PHONE),
        timezone=timezone,
        sessions=_read_sessions(c, table),
        working_weekdays=tuple(sorted(set(weekdays))),
        holidays=c.dates(table, "hall", "holidays", max_items=400),
        makeup_workdays=c.dates(table, "hall", "makeup_workdays", max_items=400),
        priority_ratio=c.integer(table, "hall", "priority_ratio", 1, 10, required=False,
                                 default=2),
        issue_cutoff_minutes=c.integer(table, "hall", "issue_cutoff_minutes", 0, 120,
                                       required=False, default=0),
        unattended_after_minutes=c.integer(table, "hall", "unattended_after_minutes", 0, 240,
                                           required=False, default=10),
        transfer_return_minutes=c.integer(table, "hall", "transfer_return_minutes", 1, 240,
                                          required=False, default=15),
        wait_yellow_minutes=c.integer(table, "hall", "wait_yellow_minutes", 0, 600,
                                      required=False, default=30),
        wait_red_minutes=wait_red,
        service_warning_minutes=c.integer(table, "hall", "service_warning_minutes", 0, 600,
                                          required=False, default=30),
        service_level_minutes=c.integer(table, "hall", "service_level_minutes", 1, 600,
                                        required=False, default=30),
        rating_reasons=c.texts(table, "hall", "rating_reasons", required=False, limit=REASON,
                               max_items=12),
        rating_levels=_read_rating_levels(c, table),
        case_deadline_days=c.integer(table, "hall", "case_deadline_days", 1, 60,
                                     required=False, default=5),
        case_near_days=c.integer(table, "hall", "case_near_days", 0, 30, required=False,
                                 default=1),
        complaint_categories=c.texts(table, "hall", "complaint_categories", required=False,
                                     limit=REASON, max_items=12, min_items=1,
                                     default=COMPLAINT_CATEGORIES),
        complaint_deadline_days=c.integer(table, "hall", "complaint_deadline_days", 1, 60,
                                          required=False, default=5),
        complaint_keep_contact=c.value(table, "hall", "complaint_keep_contact", bool, False,
                                       True),
        complaint_contact_days=c.integer(table, "hall", "complaint_contact_days", 1, 3650,
                                         required=False, default=180),
        handover_days=c.integer(table, "hall", "handover_days", 1, 30, required=False,
                                default=3),
        booking_no_show_limit=c.integer(table, "hall", "booking_no_show_limit", 0, 100,
                                        required=False, default=3),
        booking_no_show_days=c.integer(table, "hall", "booking_no_show_days", 1, 365,
                                       required=False, default=30),
        booking_block_days=c.integer(table, "hall", "booking_block_days", 1, 365,
                                     required=False, default=30),
        voice_wait_seconds=c.integer(table, "hall", "voice_wait_seconds", 5, 120,
                                     required=False, default=DEFAULT_BOUND),
        voice_pace=c.integer(table, "hall", "voice_pace", 70, 150, required=False,
                             default=DEFAULT_PACE),
        voice_repeat=c.integer(table, "hall", "voice_repeat", 1, 3, required=False,
                               default=DEFAULT_REPEAT),
        demo=c.value(table, "hall", "demo", bool, False, False),
        mobile_share=c.integer(table, "hall", "mobile_share", 1, 100, required=False,
                               default=50),
        public_url=c.text(table, "hall", "public_url", required=False, limit=URL,
                          pattern=PUBLIC_URL, hint=PUBLIC_URL_HINT) or "",
        catalogue_updates=c.choice(table, "hall", "catalogue_updates", CATALOGUE_UPDATES,
                                   required=False, default="next_day"),
        level=c.choice(table, "hall", "level", HALL_LEVELS, required=False),
        missed_call=_read_missed_call(c, table),
    )


def _read_rating_levels(c: _Checker, table: dict) -> tuple[str, ...]:
    """The five levels' names, best first; the national names unless the hall says otherwise."""
    default = tuple(name for _, name in SCORES)
    if "rating_levels" not in table:
        return default
    names = c.texts(table, "hall", "rating_levels", limit=LEVEL, max_items=len(SCORES),
                    min_items=len(SCORES))
    if len(names) != len(SCORES):   # too few, too many or a bad one: `texts` said which
        return default
    if len(set(names)) != len(names):
        c.fail("hall.rating_levels", "评价等级名称不能重复")
        return default
    return names


def _read_missed_call(c: _Checker, table: dict) -> str:
    """The hall's missed-call advice: one line that says what to do after 过号."""
    if "missed_call" not in table:
        return missed_call.DEFAULT
    if not isinstance(table["missed_call"], str):
        c.value(table, "hall", "missed_call", str, True, "")   # says what it should be
        return missed_call.DEFAULT
    value = c.text(table, "hall", "missed_call", limit=ADVICE)
    if not value.strip():
        return missed_call.DEFAULT   # already a problem: empty or too long
    if any(ch in value for ch in "\r\n"):
        c.fail("hall.missed_call", "应为一行文字，不能换行（它印在小票的一行上）")
    elif "过号" not in value:
        c.fail("hall.missed_call",
               f'应说明过号后怎么办，须含“过号”二字，如 "{missed_call.DEFAULT}"，实际为 {_show(value)}')
    return value


def _read_sessions(c: _Checker, table: dict, where: str = "hall") -> tuple[Session, ...]:
    """`sessions` of [hall], or of a category's [categories.booking] (`where`)."""
    raw = c.value(table, where, "sessions", list, True, [])
    if c.too_many(f"{where}.sessions", raw, 12):
        raw = raw[:12]
    sessions: list[Session] = []
    for i, pair in enumerate(raw, start=1):
        path = f"{where}.sessions[{i}]"
        if not isinstance(pair, list) or len(pair) != 2:
            c.fail(path, f'应为 ["开始", "结束"]，如 ["08:30", "12:00"]，实际为 {_show(pair)}')
            continue
        start, end = _parse_clock(c, path, pair[0]), _parse_clock(c, path, pair[1])
        if start is None or end is None:
            continue
        if start >= end:
            c.fail(path, f"开始时间 {pair[0]} 应早于结束时间 {pair[1]}")
        elif sessions and start < sessions[-1].end:
            c.fail(path, "服务时段应按时间先后排列且互不重叠")
        else:
            sessions.append(Session(start, end))
    if "sessions" in table and not raw:
        c.fail(f"{where}.sessions", "至少需要一个服务时段")
    return tuple(sessions)


def _read_departments(c: _Checker, data: dict) -> list[tuple[str, Department]]:
    out = []
    for path, t in c.tables(data, "departments", required=True, max_items=300):
        c.known_keys(t, path, ("code", "name", "phone"))
        out.append((path, Department(
            code=c.text(t, path, "code", limit=CODE, pattern=_CODE, hint=_CODE_HINT),
            name=c.text(t, path, "name", limit=NAME),
            phone=c.text(t, path, "phone", required=False, limit=PHONE),
        )))
    c.unique([(p, d.code) for p, d in out], "code", "部门编码")
    return out


def _read_categories(c: _Checker, data: dict) -> list[tuple[str, Category]]:
    out = []
    for path, t in c.tables(data, "categories", required=True, max_items=CATEGORIES):
        c.known_keys(t, path, ("prefix", "name", "daily_cap", "kinds", "department", "booking"))
        out.append((path, Category(
            prefix=c.text(t, path, "prefix", limit=PREFIX, pattern=r"[A-Z]{1,2}",
                          hint="1 到 2 个大写英文字母，如 \"A\""),
            name=c.text(t, path, "name", limit=NAME),
            daily_cap=c.integer(t, path, "daily_cap", 1, 999, default=999),
            kinds=c.texts(t, path, "kinds", required=False, min_items=1, choices=TICKET_KINDS,
                          default=TICKET_KINDS, limit=10, max_items=len(TICKET_KINDS)),
            department=c.text(t, path, "department", required=False, limit=CODE),
            booking=_read_booking(c, t, path),
        )))
    c.unique([(p, cat.prefix) for p, cat in out], "prefix", "号段前缀")
    return out


_BOOKING_KEYS = ("sessions", "slot_minutes", "capacity", "share", "horizon_days",
                 "per_phone_per_day", "early_minutes", "late_minutes")


def _read_booking(c: _Checker, category: dict, path: str) -> BookingRules | None:
    """A category's `[categories.booking]` (docs/appointments.md), or None without one."""
    if "booking" not in category:
        return None
    where = f"{path}.booking"
    table = category["booking"]
    if not isinstance(table, dict):
        c.fail(where, "应写成 [categories.booking] 表（预约时段、每段名额等）")
        return None
    c.known_keys(table, where, _BOOKING_KEYS)
    sessions = _read_sessions(c, table, where)
    slot = c.integer(table, where, "slot_minutes", 5, 240, required=False, default=30)
    if sessions and all((datetime.combine(date.min, s.end) - datetime.combine(date.min, s.start))
                        < timedelta(minutes=slot) for s in sessions):
        c.fail(f"{where}.slot_minutes", f"每个预约时段长 {slot} 分钟，比所有预约时间段都长，一个号源也排不出")
    return BookingRules(
        sessions=sessions, slot_minutes=slot,
        capacity=c.integer(table, where, "capacity", 1, 999, required=False, default=4),
        share=c.integer(table, where, "share", 1, 100, required=False, default=50),
        horizon_days=c.integer(table, where, "horizon_days", 0, HORIZON_MAX_DAYS, required=False,
                               default=7),
        per_phone_per_day=c.integer(table, where, "per_phone_per_day", 1, 10, required=False,
                                    default=1),
        early_minutes=c.integer(table, where, "early_minutes", 0, 240, required=False,
                                default=30),
        late_minutes=c.integer(table, where, "late_minutes", 0, 240, required=False,
                               default=15))


def _read_clerks(c: _Checker, data: dict, demo: bool) -> list[tuple[str, Clerk]]:
    out = []
    for path, t in c.tables(data, "clerks", required=True, max_items=3000):
        c.known_keys(t, path, ("badge", "name", "photo", "department", "pin"))
        pin = c.text(t, path, "pin", required=False, limit=8, pattern=r"\d{4,8}",
                     hint="4 到 8 位数字")
        if "pin" in t and not demo:
            c.fail(f"{path}.pin", "PIN 只能写在演示文件中（[hall] demo = true）；"
                                  "正式大厅请用 queue-server clerk set-pin 设置")
        out.append((path, Clerk(
            badge=c.text(t, path, "badge", limit=BADGE, pattern=r"[0-9A-Za-z]{1,16}",
                         hint="1 到 16 位数字或字母"),
            name=c.text(t, path, "name", limit=PERSON),
            photo=c.text(t, path, "photo", required=False, limit=PATH),
            department=c.text(t, path, "department", required=False, limit=CODE),
            pin=pin,
        )))
    c.unique([(p, clerk.badge) for p, clerk in out], "badge", "工号")
    return out


def _read_windows(c: _Checker, data: dict) -> list[tuple[str, Window]]:
    out = []
    for path, t in c.tables(data, "windows", required=True, max_items=999):
        c.known_keys(t, path, ("number", "name", "department", "categories", "a_post",
                               "b_posts", "zone", "floor", "short_name"))
        out.append((path, Window(
            number=c.integer(t, path, "number", 1, 999),
            name=c.text(t, path, "name", limit=NAME),
            department=c.text(t, path, "department", limit=CODE),
            categories=c.texts(t, path, "categories", min_items=1, limit=PREFIX,
                               max_items=CATEGORIES),
            a_post=c.text(t, path, "a_post", limit=BADGE),
            b_posts=c.texts(t, path, "b_posts", required=False, limit=BADGE, max_items=100),
            zone=c.text(t, path, "zone", required=False, limit=PLACE),
            floor=c.text(t, path, "floor", required=False, limit=PLACE),
            short_name=c.text(t, path, "short_name", required=False, limit=SHORT_NAME),
        )))
    c.unique([(p, w.number) for p, w in out], "number", "窗口号")
    return out


_ITEM_KEYS = ("code", "name", "summary", "department", "category", "handling", "type",
              "legal_basis", "conditions", "steps", "statutory_days", "promised_days", "fee",
              "fee_basis", "certificate", "phone", "notes", "materials", "aliases")


def _read_items(c: _Checker, data: dict) -> list[tuple[str, ServiceItem]]:
    out = []
    for path, t in c.tables(data, "items", required=False, max_items=3000):
        c.known_keys(t, path, _ITEM_KEYS)
        item = ServiceItem(
            code=c.text(t, path, "code", limit=64, pattern=r"[0-9A-Za-z_\-.]{1,64}",
                        hint="字母、数字、-、_ 或 .，不超过 64 个字符"),
            name=c.text(t, path, "name", limit=ITEM_NAME),
            summary=c.text(t, path, "summary", required=False, limit=SUMMARY),
            department=c.text(t, path, "department", limit=CODE),
            category=c.text(t, path, "category", limit=PREFIX),
            handling=c.choice(t, path, "handling", HANDLING_MODES, default="direct"),
            type=c.choice(t, path, "type", ITEM_TYPES, default="instant"),
            legal_basis=c.texts(t, path, "legal_basis", min_items=1, limit=LINE,
                                max_items=GUIDE_ENTRIES),
            conditions=c.texts(t, path, "conditions", min_items=1, limit=LINE,
                               max_items=GUIDE_ENTRIES),
            steps=c.texts(t, path, "steps", min_items=1, limit=LINE, max_items=GUIDE_ENTRIES),
            statutory_days=c.integer(t, path, "statutory_days", 0, 365),
            promised_days=c.integer(t, path, "promised_days", 0, 365),
            fee=c.text(t, path, "fee", limit=FEE),
            fee_basis=c.text(t, path, "fee_basis", required=False, limit=LINE),
            certificate=c.text(t, path, "certificate", required=False, limit=TEXT),
            phone=c.text(t, path, "phone", required=False, limit=PHONE),
            notes=c.texts(t, path, "notes", required=False, limit=LINE,
                          max_items=GUIDE_ENTRIES),
            materials=tuple(_read_materials(c, t, path)),
            aliases=c.texts(t, path, "aliases", required=False, limit=ALIAS, max_items=ALIASES),
        )
        if item.promised_days > item.statutory_days:
            c.fail(f"{path}.promised_days", f"承诺时限（{item.promised_days} 个工作日）"
                   f"不能长于法定时限（{item.statutory_days} 个工作日）")
        if item.type == "instant" and item.promised_days != 0:
            c.fail(f"{path}.promised_days", "即办件（type = \"instant\"）的承诺时限应为 0")
        if item.type == "promised" and "promised_days" in t and item.promised_days == 0:
            c.fail(f"{path}.promised_days", "承诺件（type = \"promised\"）的承诺时限至少为 1 个工作日")
        if item.fee and item.fee not in FREE_WORDS and not item.fee_basis:
            c.fail(f"{path}.fee_basis", f"收费事项必须写明收费依据（fee 不是 \"{NO_FEE}\"）")
        out.append((path, item))
    c.unique([(p, i.code) for p, i in out], "code", "事项编码")
    return out


def _read_materials(c: _Checker, item: dict, item_path: str) -> list[Material]:
    raw = item.get("materials")
    if raw is None:
        c.fail(f"{item_path}.materials", "缺少申请材料，至少需要一项 [[items.materials]]")
        return []
    if not isinstance(raw, list) or not all(isinstance(m, dict) for m in raw):
        c.fail(f"{item_path}.materials", "应写成 [[items.materials]] 表数组")
        return []
    if not raw:
        c.fail(f"{item_path}.materials", "至少需要一项申请材料")
    if c.too_many(f"{item_path}.materials", raw, GUIDE_ENTRIES):
        raw = raw[:GUIDE_ENTRIES]
    out = []
    for i, t in enumerate(raw, start=1):
        path = f"{item_path}.materials[{i}]"
        c.known_keys(t, path, ("name", "form", "copies", "notes"))
        out.append(Material(
            name=c.text(t, path, "name", limit=TEXT),
            form=c.choice(t, path, "form", MATERIAL_FORMS, default="original"),
            copies=c.integer(t, path, "copies", 1, 20, required=False, default=1),
            notes=c.text(t, path, "notes", required=False, limit=NOTE),
        ))
    return out


def _check_references(c: _Checker, departments, categories, clerks, windows, items) -> None:
    dept_codes = {d.code for _, d in departments}
    prefixes = {cat.prefix for _, cat in categories}
    badges = {clerk.badge for _, clerk in clerks}

    def department(path: str, code: str, required: bool) -> None:
        if (code or required) and code not in dept_codes and not c.failed(path):
            c.fail(path, f"部门编码 {_show(code)} 不在 [[departments]] 中")

    for path, cat in categories:
        department(f"{path}.department", cat.department, False)
    for path, clerk in clerks:
        department(f"{path}.department", clerk.department, False)
    served: set[str] = set()
    for path, w in windows:
        department(f"{path}.department", w.department, True)
        for i, prefix in enumerate(w.categories, start=1):
            if prefix not in prefixes:
                c.fail(f"{path}.categories[{i}]", f"号段前缀 {_show(prefix)} 不在 [[categories]] 中")
            served.add(prefix)
        if len(set(w.categories)) != len(w.categories):
            c.fail(f"{path}.categories", "同一号段不能重复列出")
        if w.a_post and w.a_post not in badges:
            c.fail(f"{path}.a_post", f"工号 {_show(w.a_post)} 不在 [[clerks]] 中；A岗必须是已登记的工作人员")
        for i, badge in enumerate(w.b_posts, start=1):
            if badge not in badges:
                c.fail(f"{path}.b_posts[{i}]", f"工号 {_show(badge)} 不在 [[clerks]] 中")
            if badge == w.a_post:
                c.fail(f"{path}.b_posts[{i}]", f"工号 {_show(badge)} 已是本窗口的A岗，不能同时是B岗")
    for path, cat in categories:
        if cat.prefix not in served:
            c.fail(f"{path}.prefix", f"号段 {_show(cat.prefix)} 没有任何窗口办理；"
                                     "请在某个窗口的 categories 中加入它，否则取到的号无人叫")
    for path, item in items:
        department(f"{path}.department", item.department, True)
        if item.category and item.category not in prefixes:
            c.fail(f"{path}.category", f"号段前缀 {_show(item.category)} 不在 [[categories]] 中")


# --- entry points --------------------------------------------------------------------------------

def _check_booking_hours(c: _Checker, hall: HallInfo, categories: list[tuple[str, Category]]
                         ) -> None:
    """Booking runs only while the hall is open: each booking session within a hall session."""
    for path, category in categories:
        for i, span in enumerate(category.booking.sessions if category.booking else (), start=1):
            if not any(h.start <= span.start and span.end <= h.end for h in hall.sessions):
                c.fail(f"{path}.booking.sessions[{i}]",
                       f"预约时间段 {clock_text(span.start)}–{clock_text(span.end)} 不在大厅的服务时段"
                       "（[hall] sessions）之内")


def parse_hall(text: str, source: str = "<hall>") -> HallDefinition:
    """Parse and check a hall file's text; raise `HallFileInvalid` listing every problem."""
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise HallFileInvalid(source, [_too_big()])
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise HallFileInvalid(source, [_syntax_problem(error, text)]) from None
    c = _Checker(key_lines(text))
    c.known_keys(data, "(文件顶层)", _TOP_KEYS)
    hall = _read_hall(c, data)
    departments = _read_departments(c, data)
    categories = _read_categories(c, data)
    clerks = _read_clerks(c, data, demo=bool(hall and hall.demo))
    windows = _read_windows(c, data)
    items = _read_items(c, data)
    _check_references(c, departments, categories, clerks, windows, items)
    if hall is not None:
        _check_booking_hours(c, hall, categories)
    if c.problems or hall is None:
        raise HallFileInvalid(source, c.problems)
    return HallDefinition(
        hall=hall,
        departments=tuple(d for _, d in departments),
        categories=tuple(cat for _, cat in categories),
        windows=tuple(sorted((w for _, w in windows), key=lambda w: w.number)),
        clerks=tuple(clerk for _, clerk in clerks),
        items=tuple(i for _, i in items),
    )


def load_hall(path: str | Path) -> HallDefinition:
    """Read and check a hall file: UTF-8, with or without the BOM that Windows Notepad writes."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise HallFileInvalid(str(path), [Problem(None, "(文件)", "文件不存在")]) from None
    if len(data) > MAX_FILE_BYTES:
        raise HallFileInvalid(str(path), [_too_big()])
    return parse_hall(_decode(data, str(path)), source=str(path))


def _too_big() -> Problem:
    return Problem(None, "(文件)", f"文件太大：超过 {MAX_FILE_BYTES // (1024 * 1024)} MB 的上限；"
                   "大厅配置文件通常不到 1 MB，请检查是否选错了文件")


def _decode(data: bytes, source: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise HallFileInvalid(source, [Problem(None, "(文件)", "文件是 UTF-16 编码（记事本的“Unicode”）；"
                                                "请另存为 UTF-8 编码后再试")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = error.object[:error.start]     # (after a BOM, if there is one)
        line = before.count(b"\n") + 1
        if before.isascii() and _decodes(error.object, "gbk"):
            # Everything before the first bad byte was ASCII and the whole file reads as GBK:
            # a file saved in the Chinese ANSI code page, not a damaged UTF-8 file.
            message = ("文件不是 UTF-8 编码（可能是 GBK）；请另存为 UTF-8 编码"
                       "（记事本：“另存为”，编码选 UTF-8）后再试")
        else:
            message = f"第 {line} 行有不是 UTF-8 的字节；请把文件另存为 UTF-8 编码，或改正这一行"
        raise HallFileInvalid(source, [Problem(line, "(文件)", message)]) from None


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


_SYNTAX_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def _syntax_problem(error: tomllib.TOMLDecodeError, text: str) -> Problem:
    message = str(error)
    match = _SYNTAX_LINE.search(message)
    line = int(match.group(1)) if match else None
    if line is None and "end of document" in message:
        line = max(1, len(text.splitlines()))
    detail = _SYNTAX_LINE.sub("", message).strip()
    column = f"第 {match.group(2)} 列" if match else ""
    return Problem(line, "(TOML 语法)", f"{column}语法错误，文件无法读取：{detail}"
                   "（常见原因：文本少了引号、括号未闭合、同一字段写了两次）")


def dump_hall(definition: HallDefinition, header: str | None = None) -> str:
    """The definition as a TOML file that `parse_hall` reads back to an equal definition.

    Written by hand rather than by a generic TOML writer so that the file looks like the ones
    people write (one `[[windows]]` table per window, materials under their item) and so that
    keys come in the order `docs/hall-config.md` gives. PINs are never written: they live only
    as hashes in the database.
    """
    h = definition.hall
    hall = {key: value for key, value in hall_settings(h).items()
            if key not in _OPTIONAL_HALL_KEYS or value != _OPTIONAL_HALL_KEYS[key]}
    if header is None:
        header = (f"# {h.name}：大厅定义文件，由 queue-server export-hall 导出。\n"
                  "# 格式见 docs/hall-config.md；修改后用 queue-server import-hall 导入。\n")
    out = [header.rstrip("\n"), "", "[hall]", *_toml_pairs(hall)]
    for name, records in (("departments", definition.departments),
                          ("categories", definition.categories),
                          ("clerks", definition.clerks), ("windows", definition.windows)):
        for record in records:
            out += ["", f"[[{name}]]", *_toml_pairs(_record(record, skip=("pin", "booking")))]
            if isinstance(record, Category) and record.booking is not None:
                out += ["", "[categories.booking]", *_toml_pairs(booking_settings(record.booking))]
    for item in definition.items:
        out += ["", "[[items]]", *_toml_pairs(_record(item, skip=("materials",)))]
        for material in item.materials:
            out += ["", "[[items.materials]]", *_toml_pairs(_record(material))]
    return "\n".join(out) + "\n"


_OPTIONAL_HALL_KEYS = {"public_url": "", "catalogue_updates": "next_day", "level": "",
                       "missed_call": missed_call.DEFAULT,
                       "rating_levels": tuple(name for _, name in SCORES),
                       "case_deadline_days": 5, "case_near_days": 1, "mobile_share": 50,
                       "complaint_categories": COMPLAINT_CATEGORIES, "complaint_deadline_days": 5,
                       "complaint_keep_contact": True, "complaint_contact_days": 180,
                       "handover_days": 3,
                       "booking_no_show_limit": 3, "booking_no_show_days": 30,
                       "booking_block_days": 30, "voice_wait_seconds": DEFAULT_BOUND,
                       "voice_pace": DEFAULT_PACE, "voice_repeat": DEFAULT_REPEAT}
"""[hall] keys an export leaves out when they hold their default."""


def hall_settings(hall: HallInfo) -> dict[str, Any]:
    """The [hall] table's values in field order, sessions as "HH:MM" pairs (shared with the
    store, which keeps them as JSON)."""
    values = asdict(hall)
    values["sessions"] = [[clock_text(s.start), clock_text(s.end)] for s in hall.sessions]
    return values


def booking_settings(booking: BookingRules) -> dict[str, Any]:
    """A category's [categories.booking] values in field order, sessions as "HH:MM" pairs
    (shared with the store, which keeps them as JSON)."""
    values = asdict(booking)
    values["sessions"] = [[clock_text(s.start), clock_text(s.end)] for s in booking.sessions]
    return values


def _toml_pairs(table: dict[str, Any]) -> list[str]:
    return [f"{key} = {_toml_value(value)}" for key, value in table.items()]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | date):
        return str(value) if not isinstance(value, date) else value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return "[" + ", ".join(_toml_value(v) for v in value) + "]"


def _record(record: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in record.__dataclass_fields__:
        value = getattr(record, name)
        if name in skip or value in ("", ()):
            continue
        out[name] = value
    return out


def describe(definition: HallDefinition) -> str:
    """One line for the CLI: what a file holds."""
    return (f"{definition.hall.name}（{definition.hall.code}）：{len(definition.departments)} 个部门，"
            f"{len(definition.categories)} 个号段，{len(definition.windows)} 个窗口，"
            f"{len(definition.clerks)} 名工作人员，{len(definition.items)} 个事项")

