"""The 代办 ledger (一事一记): one line per case, folded from the point's log and the town's.

A case lives in two logs. The point writes what happens at the village (`UP`: recorded,
amended, material supplied, withdrawn, fed back, archived, called back); the town writes what
happens at its windows (`DOWN`: received, accepted, material asked, finished). Each log is
append-only and numbered by its writer (`Entry.seq`); the point's log travels up and the
town's down (queue_server.points.sync), each arriving once and in order. Both sides fold the
same two logs with `fold`, so once both logs have met, the point and the town see the very same
ledger.

**The merged order.** Each entry also says how much of the other log its writer had seen
(`Entry.seen`). A town entry that had seen point entry u comes after u; a point entry that had
seen town entry d comes after d. Entries written while the two were cut off from each other saw
neither: then the town's goes first (the town holds the papers). `merged` gives that order, the
same on both sides, whatever order the logs arrived in.

**The written rules** (docs/points.md) are `RULES` below, one per kind: the stages a kind may
act on. An entry that is not allowed where the merged order puts it does not change the case;
the case keeps it as a conflict with its reason (`hall.vocabulary.POINT_CONFLICT_NAMES`). A side
checks its own new entries with the same `problem` before writing, so conflicts arise only from
entries that crossed while cut off:

- a withdrawal that reaches a case the town has received: the case goes on (withdraw_late);
- a change of the materials after the town received the papers: not applied, the town's 补正
  is the way (materials_late); a change of the citizen's name or phone always applies (the
  point knows the citizen);
- material supplied for a 补正 the town no longer asks for, because it finished the case or
  asked anew: kept in the history, the newer ask stays open (supply_stale);
- anything else on a case that is closed (after_close) or not yet at that stage (out_of_order).

Times are the writer's clock in ISO text (whole seconds, with offset). Nothing orders by them:
the ledger orders by sequence numbers only, so a point whose clock is wrong keeps its cases in
the right order; its times are shown as written (the town measures and shows the offset).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from hall import service_calendar
from hall.vocabulary import FOLLOW_UP_RESULTS, POINT_CONFLICT_NAMES, POINT_RESULTS, POINT_STAGES

Side = Literal["up", "down"]

MAX_TEXT = 200
"""The longest text a field of an entry may hold (a name, a note, a material's name)."""
MAX_MATERIALS = 40
CLOCK_WARN_SECONDS = 120
"""A point clock further than this from the town's is shown, on both sides, as a warning."""


@dataclass(frozen=True, slots=True)
class Record:
    """The fields of one kind of ledger entry; every kind names its case."""

    tag: ClassVar[str]
    side: ClassVar[Side]
    case: str

    def fields(self) -> dict[str, Any]:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in dataclasses.fields(self)}


# --- what the point writes ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CaseRecorded(Record):
    """受理: the agent takes a citizen's request (一事一记)."""

    tag: ClassVar[str] = "case_recorded"
    side: ClassVar[Side] = "up"
    name: str
    phone: str
    item: str
    """The catalogue item's code."""
    item_name: str
    materials: tuple[str, ...]
    """The materials received, ticked against the item's checklist."""
    agent: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class CaseAmended(Record):
    """A correction at the point: only the fields given change."""

    tag: ClassVar[str] = "case_amended"
    side: ClassVar[Side] = "up"
    name: str | None = None
    phone: str | None = None
    materials: tuple[str, ...] | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class MaterialSupplied(Record):
    """补正: the citizen brings what the town asked for in its entry number `ask`."""

    tag: ClassVar[str] = "material_supplied"
    side: ClassVar[Side] = "up"
    ask: int
    materials: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class CaseWithdrawn(Record):
    tag: ClassVar[str] = "case_withdrawn"
    side: ClassVar[Side] = "up"
    reason: str


@dataclass(frozen=True, slots=True)
class CaseFedBack(Record):
    """反馈: the agent told the citizen the town's result."""

    tag: ClassVar[str] = "case_fed_back"
    side: ClassVar[Side] = "up"
    note: str = ""


@dataclass(frozen=True, slots=True)
class CaseArchived(Record):
    tag: ClassVar[str] = "case_archived"
    side: ClassVar[Side] = "up"


@dataclass(frozen=True, slots=True)
class CaseVisited(Record):
    """回访: the agent called the citizen back (`FOLLOW_UP_RESULTS`)."""

    tag: ClassVar[str] = "case_visited"
    side: ClassVar[Side] = "up"
    result: str
    note: str = ""


# --- what the town writes -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TownReceived(Record):
    """送达乡镇: the case's papers reached a window of the town."""

    tag: ClassVar[str] = "town_received"
    side: ClassVar[Side] = "down"
    window: int | None
    clerk: str


@dataclass(frozen=True, slots=True)
class TownAccepted(Record):
    """办理中: a clerk took the case on."""

    tag: ClassVar[str] = "town_accepted"
    side: ClassVar[Side] = "down"
    clerk: str


@dataclass(frozen=True, slots=True)
class TownAsked(Record):
    """补正: the town asks for more material; the ask is known by this entry's number."""

    tag: ClassVar[str] = "town_asked"
    side: ClassVar[Side] = "down"
    what: str
    clerk: str


@dataclass(frozen=True, slots=True)
class TownFinished(Record):
    """办结, with its result (`POINT_RESULTS`)."""

    tag: ClassVar[str] = "town_finished"
    side: ClassVar[Side] = "down"
    result: str
    note: str
    clerk: str


KINDS: tuple[type[Record], ...] = (
    CaseRecorded, CaseAmended, MaterialSupplied, CaseWithdrawn, CaseFedBack, CaseArchived,
    CaseVisited, TownReceived, TownAccepted, TownAsked, TownFinished)
BY_TAG: dict[str, type[Record]] = {kind.tag: kind for kind in KINDS}

RULES: Mapping[type[Record], tuple[str, ...]] = {
    CaseAmended: ("recorded", "delivered", "handling", "finished", "fed_back", "archived",
                  "visited"),
    MaterialSupplied: ("delivered", "handling"),
    CaseWithdrawn: ("recorded",),
    CaseFedBack: ("finished",),
    CaseArchived: ("fed_back",),
    CaseVisited: ("archived",),
    TownReceived: ("recorded",),
    TownAccepted: ("delivered",),
    TownAsked: ("delivered", "handling"),
    TownFinished: ("delivered", "handling"),
}
"""The stages each kind may act on (a new case's `CaseRecorded` acts on none)."""
NEXT_STAGE: Mapping[type[Record], str] = {
    CaseRecorded: "recorded", CaseWithdrawn: "withdrawn", CaseFedBack: "fed_back",
    CaseArchived: "archived", CaseVisited: "visited", TownReceived: "delivered",
    TownAccepted: "handling", TownFinished: "finished"}
"""The stage a kind moves its case to (kinds not here leave it where it is)."""
OPEN_STAGES = ("recorded", "delivered", "handling")
"""The stages of a case the town has still to do something about (its inbox's open cases)."""


def town_actions(case: Case) -> list[str]:
    """The town's entries (their kinds' tags) the case's stage allows (`RULES`)."""
    return [kind.tag for kind in KINDS if kind.side == "down" and case.stage in RULES[kind]]


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a log: its writer's number for it, its writer's time, how much of the
    other log its writer had seen, and the record."""

    seq: int
    at: str
    seen: int
    record: Record

    @property
    def side(self) -> Side:
        return self.record.side

    def wire(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "seen": self.seen, "kind": self.record.tag,
                **self.record.fields()}


class BadEntry(ValueError):
    """An entry that is not one the ledger knows, said in Chinese."""


def entry_from_wire(data: Mapping[str, Any]) -> Entry:
    """An entry as `Entry.wire` sent it (or as a log stored it), every field checked: an entry
    from the other side is untrusted input. Raises BadEntry."""
    if not isinstance(data, Mapping):
        raise BadEntry("台账记录应为对象")
    kind = BY_TAG.get(data.get("kind"))  # type: ignore[arg-type]
    if kind is None:
        raise BadEntry(f"未知的台账记录类型：{str(data.get('kind'))[:40]}")
    numbers = {name: data.get(name) for name in ("seq", "seen")}
    for name, value in numbers.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise BadEntry(f"台账记录的 {name} 应为非负整数")
    at = data.get("at")
    try:
        moment = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadEntry("台账记录的时间应为带时区的 ISO 时间")
    values: dict[str, Any] = {}
    for f in dataclasses.fields(kind):
        if f.name not in data:
            if f.default is dataclasses.MISSING:
                raise BadEntry(f"台账记录缺少字段：{f.name}")
            continue
        values[f.name] = _checked(f.name, _HINTS[kind][f.name], data[f.name])
    record = kind(**values)
    if (problem := _field_problem(record)) is not None:
        raise BadEntry(problem)
    return Entry(numbers["seq"], at, numbers["seen"], record)  # type: ignore[arg-type]


_HINTS = {kind: typing.get_type_hints(kind) for kind in KINDS}


def _checked(name: str, hint: Any, value: Any) -> Any:
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union,
                                                                  type(int | None)) else (hint,)
    if value is None and type(None) in options:
        return None
    for option in options:
        if option is str and isinstance(value, str):
            if len(value) > MAX_TEXT:
                raise BadEntry(f"台账记录的 {name} 太长（最多 {MAX_TEXT} 字）")
            return value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if typing.get_origin(option) is tuple and isinstance(value, list | tuple):
            if len(value) > MAX_MATERIALS or not all(
                    isinstance(v, str) and 0 < len(v) <= MAX_TEXT for v in value):
                raise BadEntry(f"台账记录的 {name} 应为不超过 {MAX_MATERIALS} 项的文字列表")
            return tuple(value)
    raise BadEntry(f"台账记录的 {name} 类型不对")


def _field_problem(record: Record) -> str | None:
    if not record.case or len(record.case) > 40:
        return "台账记录的件号不对"
    if isinstance(record, CaseVisited) and record.result not in FOLLOW_UP_RESULTS:
        return f"回访结果不对：{record.result[:20]}"
    if isinstance(record, TownFinished) and record.result not in POINT_RESULTS:
        return f"办结结果不对：{record.result[:20]}"
    return None


# --- the merged order and the fold --------------------------------------------------------------

def merged(up: Iterable[Entry], down: Iterable[Entry]) -> list[Entry]:
    """Both logs in the one order both sides agree on (see the module's header): each log in its
    own order, a town entry before the first point entry it had not seen."""
    ups, downs = sorted(up, key=lambda e: e.seq), sorted(down, key=lambda e: e.seq)
    out: list[Entry] = []
    i = j = 0
    while i < len(ups) or j < len(downs):
        if j < len(downs) and (i == len(ups) or downs[j].seen < ups[i].seq):
            out.append(downs[j])
            j += 1
        else:
            out.append(ups[i])
            i += 1
    return out


@dataclass
class Ask:
    """One 补正 asked by the town: its entry's number, what, when, and whether it is answered."""

    ask: int
    what: str
    at: str
    answered_at: str | None = None


@dataclass
class Case:
    """One line of the ledger as the two logs make it."""

    case: str
    name: str
    phone: str
    item: str
    item_name: str
    materials: tuple[str, ...]
    agent: str
    note: str
    recorded_at: str
    stage: str = "recorded"
    at: dict[str, str] = field(default_factory=dict)
    """When the case reached each stage (writer's clock), by stage code."""
    window: int | None = None
    clerk: str = ""
    result: str | None = None
    result_note: str = ""
    visit: str | None = None
    asks: list[Ask] = field(default_factory=list)
    conflicts: list[tuple[Side, int, str]] = field(default_factory=list)
    """Entries that did not apply: their side, number and reason code (POINT_CONFLICT_NAMES)."""
    history: list[Entry] = field(default_factory=list)

    @property
    def open_ask(self) -> Ask | None:
        return next((a for a in reversed(self.asks) if a.answered_at is None), None)


def problem(cases: Mapping[str, Case], entry: Entry) -> str | None:
    """Why `entry` may not act on its case where it stands (a POINT_CONFLICT_NAMES code), or
    None. A side asks this before it writes an entry of its own."""
    record = entry.record
    case = cases.get(record.case)
    if isinstance(record, CaseRecorded):
        return None if case is None else "out_of_order"
    if case is None:
        return "out_of_order"
    allowed = RULES[type(record)]
    if case.stage in allowed:
        if isinstance(record, CaseAmended) and record.materials is not None \
                and case.stage != "recorded":
            return "materials_late"
        if isinstance(record, MaterialSupplied) and (
                (ask := case.open_ask) is None or ask.ask != record.ask):
            return "supply_stale"
        return None
    if isinstance(record, MaterialSupplied) and case.stage != "withdrawn":
        return "supply_stale"
    if isinstance(record, CaseWithdrawn) and case.stage != "withdrawn":
        return "withdraw_late"
    return "after_close" if _after(case.stage, allowed) else "out_of_order"


_ORDER = tuple(stage for stage in POINT_STAGES if stage != "withdrawn")


def _after(stage: str, allowed: tuple[str, ...]) -> bool:
    """Whether `stage` is past every stage in `allowed` (or the case was withdrawn)."""
    return stage == "withdrawn" or _ORDER.index(stage) > max(_ORDER.index(s) for s in allowed)


def apply(cases: dict[str, Case], entry: Entry) -> str | None:
    """Apply one entry in the merged order; returns the conflict code when it does not apply
    (it is then kept on its case as a conflict, and in its history)."""
    record = entry.record
    reason = problem(cases, entry)
    if isinstance(record, CaseRecorded):
        if reason is None:
            cases[record.case] = Case(
                record.case, record.name, record.phone, record.item, record.item_name,
                record.materials, record.agent, record.note, entry.at,
                at={"recorded": entry.at}, history=[entry])
        return reason
    case = cases.get(record.case)
    if case is None:
        return reason
    case.history.append(entry)
    if isinstance(record, CaseAmended):
        # the citizen's name and phone always apply: the point knows the citizen
        case.name = record.name if record.name is not None else case.name
        case.phone = record.phone if record.phone is not None else case.phone
        if reason is None:
            case.materials = record.materials if record.materials is not None else case.materials
            case.note = record.note if record.note is not None else case.note
    if reason is not None:
        case.conflicts.append((entry.side, entry.seq, reason))
        return reason
    if isinstance(record, TownReceived):
        case.window, case.clerk = record.window, record.clerk
    elif isinstance(record, TownAccepted):
        case.clerk = record.clerk
    elif isinstance(record, TownAsked):
        for old in case.asks:
            old.answered_at = old.answered_at or entry.at   # a new ask replaces an open one
        case.asks.append(Ask(entry.seq, record.what, entry.at))
    elif isinstance(record, MaterialSupplied):
        ask = case.open_ask
        assert ask is not None
        ask.answered_at = entry.at
        case.materials = (*case.materials, *(m for m in record.materials
                                             if m not in case.materials))
    elif isinstance(record, TownFinished):
        case.result, case.result_note, case.clerk = record.result, record.note, record.clerk
        for ask in case.asks:
            ask.answered_at = ask.answered_at or entry.at
    elif isinstance(record, CaseVisited):
        case.visit = record.result
    if (stage := NEXT_STAGE.get(type(record))) is not None:
        case.stage = stage
        case.at.setdefault(stage, entry.at)
    return None


def fold(up: Iterable[Entry], down: Iterable[Entry]) -> dict[str, Case]:
    """The ledger from both logs (in the merged order), by case number."""
    cases: dict[str, Case] = {}
    for entry in merged(up, down):
        apply(cases, entry)
    return cases


@dataclass(frozen=True, slots=True)
class PointLedger:
    """One point's cases as the town holds them (`point_logs.ledgers`), with its code and name."""

    code: str
    name: str
    cases: Mapping[str, Case]


def conflict_text(code: str) -> str:
    return POINT_CONFLICT_NAMES[code]


# --- the hand-over deadline ---------------------------------------------------------------------

def handover_due(calendar: service_calendar.HallCalendar, recorded_at: str, days: int) -> date:
    """The last day the papers may reach the town: `days` working days after the case was
    recorded (the town's calendar; the hall file's `handover_days`, 3 by default)."""
    recorded = service_calendar.local(calendar, datetime.fromisoformat(recorded_at)).date()
    return service_calendar.working_days_after(calendar, recorded, days)


def handover_level(case: Case, calendar: service_calendar.HallCalendar, days: int,
                   today: date) -> str | None:
    """A case still at the point: "red" past its hand-over deadline, "yellow" on its last
    working day or the one before (`POINT_DUE_NAMES`); None otherwise or once delivered."""
    if case.stage != "recorded":
        return None
    due = handover_due(calendar, case.recorded_at, days)
    if today > due:
        return "red"
    return "yellow" if service_calendar.working_days_left(calendar, today, due) <= 1 else None


def delivered_on_time(case: Case, calendar: service_calendar.HallCalendar, days: int) -> bool | None:
    """Whether the papers reached the town by the deadline (None: not delivered, or withdrawn)."""
    delivered = case.at.get("delivered")
    if delivered is None:
        return None
    day = service_calendar.local(calendar, datetime.fromisoformat(delivered)).date()
    return day <= handover_due(calendar, case.recorded_at, days)


def case_number(point: str, day: date, taken: Iterable[str]) -> str:
    """The next case number of `point` on `day`: `<point>-<yymmdd>-<nnn>`."""
    prefix = f"{point}-{day:%y%m%d}-"
    used = [int(c[len(prefix):]) for c in taken
            if c.startswith(prefix) and c[len(prefix):].isdigit()]
    return f"{prefix}{max(used, default=0) + 1:03d}"


FOLLOW_KEY_DIGITS = 12


def follow_key(secret: str, case: str) -> str:
    """The key in a case's follow page address (`/h/<hall>/p/<case>?k=<key>`, the receipt's QR):
    12 hex digits of an HMAC-SHA256 of the case number with the point's secret. The point makes
    it for its receipt, the town checks it; case numbers can be guessed, keys cannot."""
    message = f"dbj-follow|{case}".encode()
    return hmac.new(bytes.fromhex(secret), message, hashlib.sha256).hexdigest()[:FOLLOW_KEY_DIGITS]
