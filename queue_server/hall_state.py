"""HallState: one hall's service day, turning commands into events. No I/O, no clock, no DB.

`handle(command, now)` checks the command against the hall's rules and the current state and
either raises a `DomainError` (nothing changed) or returns the events it caused, already
applied. `apply(event)` is the only thing that changes the state (through `APPLY`, one
handler per kind of `events`), and rebuilding a day from the store is just applying its events
again, so what the server shows after a restart is exactly what it showed before. The caller
passes the time in; the state never reads a clock. Which moves a ticket or a window may make is
not decided here but in `lifecycle`'s tables, which every decision asks and every handler
applies (its header is the theory of operation).

`roll_to(now)` closes the day when the date has moved on: clerks are signed out and every
ticket not yet final is cancelled, then a new day starts with fresh numbering. The shell calls
it before each command; `Tick` (sent every few seconds by the shell) raises the `unattended`
warnings (脱岗) and sends window-targeted tickets back to their category when that window has
stayed without a clerk too long.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar, cast

from hall import service_calendar as cal
from hall.vocabulary import (
    BAD_SCORES,
    BATCH_KIND,
    BOOKING_ACTION_NAMES,
    BOOKING_STATUS_NAMES,
    CASE_ACTION_NAMES,
    CASE_MEASURE_NAMES,
    CASE_MEASURES,
    CASE_STATUS_NAMES,
    COMPLAINT_ACTION_NAMES,
    COMPLAINT_CHANNELS,
    COMPLAINT_KIND_NAMES,
    COMPLAINT_KINDS,
    COMPLAINT_STATUS_NAMES,
    FOLLOW_UP_NAMES,
    FOLLOW_UP_RESULTS,
    KIOSK_PRIORITIES,
    OUTCOME_NAMES,
    OUTCOMES,
    POSTS,
    PRINTER_FAULTS,
    PRINTER_STATES,
    TICKET_KIND_NAMES,
    TICKET_STATUS_NAMES,
    is_bad,
)
from queue_server import bookings as bk
from queue_server import commands as cmd
from queue_server import events as ev
from queue_server.dispatch import PRIORITY_CLASS, CategoryQueue, add_targeted, choose_next, klass
from queue_server.domain_errors import DomainError
from queue_server.events import Event
from queue_server.hall_definition import BookingRules, Category, HallDefinition, HallInfo, Window
from queue_server.lifecycle import (
    FINAL_CASE_STATUSES,
    FINAL_COMPLAINT_STATUSES,
    FINAL_STATUSES,
    FOLLOW_UP_TRIES,
    BookingAction,
    BookingStatus,
    BrokenTransition,
    CaseAction,
    CaseStatus,
    ComplaintAction,
    ComplaintStatus,
    TicketAction,
    TicketStatus,
    WindowAction,
    WindowStatus,
    booking_after,
    booking_allows,
    case_after,
    case_allows,
    complaint_after,
    complaint_allows,
    ticket_after,
    ticket_allows,
    window_after,
    window_allows,
)

MAX_REASON = 200
MAX_CASE_TEXT = 500   # a case's finding, published text, notes and reasons
MAX_HOTLINE_CASE = 32   # a 12345 hotline case number
LOST_NAMED = 10       # the 差评 a lost-ratings warning names one by one, at most


def mobile_cap(hall: HallInfo, category: Category) -> int:
    """How many of a category's tickets a day may be taken on the mobile page (`/take`): the
    hall's `mobile_share` per cent of its `daily_cap` (at least one), so that made-up phone
    numbers cannot empty its day; the rest are the kiosk's."""
    return max(1, category.daily_cap * hall.mobile_share // 100)


def mobile_full_text(category: str) -> str:
    return f"今日{category}的手机取号名额已满，请到大厅取号机取号"


def ticket_kind(kinds: tuple[str, ...] | list[str]) -> str:
    """What a ticket not taken at the kiosk's menu comes for (the mobile page's, a checked-in
    booking's): 办理 where the category offers it, else the category's first kind."""
    return "handle" if "handle" in kinds else kinds[0]


def already_taken_text(category: str, number: str) -> str:
    return (f"该手机号今天已取过{category}的号：{number}，"
            "请查看本机“我今天取的号”或留意叫号屏；如不是您本人所取，请到大厅取号机取号")


def blocked_text(hall: HallInfo, until: date) -> str:
    return (f"该手机号近 {hall.booking_no_show_days} 天内预约后未到 {hall.booking_no_show_limit} 次，"
            f"{bk.day_label(until)}及以前不能预约；现场取号不受影响")


def _whole(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _seconds(moment: datetime) -> str:
    """A moment as the wire says every time: ISO 8601 in whole seconds (as `views.iso`)."""
    return moment.isoformat(timespec="seconds")


@dataclass(slots=True, eq=False)
class Ticket:
    number: str
    category: str
    kind: str
    priority: str
    service: str | None
    issued_at: datetime
    order: int
    status: TicketStatus = TicketStatus.WAITING
    window: int | None = None
    """Where it is called, held or was served."""
    clerk: str | None = None
    post: str | None = None
    target_window: int | None = None
    targeted_at: datetime | None = None
    first_clerk: str | None = None
    first_window: int | None = None
    calls: int = 0
    recalls: int = 0
    first_called_at: datetime | None = None
    called_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: str | None = None
    note: str = ""
    hold_reason: str = ""
    end_reason: str = ""
    transfers: int = 0
    trail: list[dict[str, Any]] = field(default_factory=list)
    """Its transfers and returns, in order: the clerk who gets it sees where it has been."""
    wait_warned: int = 0
    """The `long_wait` warnings raised for it: 0, 1 (yellow) or 2 (red); the `long_service`
    ones next."""
    service_warned: int = 0
    score: int | None = None
    pad_rated: bool = False
    citizen_rated: bool = False
    catalogue_version: int | None = None
    """The version of its item's guide when it was issued (None in older logs)."""
    booking: str | None = None
    """The code of the booking checked in on time that gave it (预约); None: a walk-in."""
    slot_at: datetime | None = None
    """That booking's slot start: its place in its category's queue (`dispatch`)."""
    point: str | None = None
    cases: tuple[str, ...] = ()
    """A 代办 batch ticket's village point and case numbers (docs/points.md)."""


@dataclass(slots=True, eq=False)
class WindowState:
    definition: Window
    clerk: str | None = None
    post: str | None = None
    signed_in_at: datetime | None = None
    status: WindowStatus = WindowStatus.CLOSED
    """Set only through `lifecycle.window_after`, by the event handlers."""
    pause_reason: str = ""
    current: Ticket | None = None
    held: list[Ticket] = field(default_factory=list)
    targeted: list[Ticket] = field(default_factory=list)
    unstaffed_since: datetime | None = None
    """When its clerk left; None while nobody has signed in today (未开放, not 脱岗)."""
    warned: int = 0
    """Unattended warnings raised for the absence counted from `warned_since`: 0, 1 or 2."""
    warned_since: datetime | None = None

    @property
    def number(self) -> int:
        return self.definition.number

    @property
    def paused(self) -> bool:
        return self.status == WindowStatus.PAUSED


def due(hall: HallInfo, today: date, deadline: date, is_open: bool) -> str | None:
    """The one deadline rule of cases and complaints: an open one past its deadline is "red";
    one with `case_near_days` working days left or fewer (the deadline day itself included)
    "yellow"; else (or closed) None."""
    if not is_open:
        return None
    if today > deadline:
        return "red"
    if cal.working_days_left(hall, today, deadline) <= hall.case_near_days:
        return "yellow"
    return None


def got_through(follow_ups: list[dict[str, Any]]) -> bool:
    """A 回访 got through (any result but 未接通): of a case or a complaint."""
    return any(f["result"] != "unreached" for f in follow_ups)


def calls_left(follow_ups: list[dict[str, Any]]) -> bool:
    """A 回访 is still to be made: none got through, and fewer than `FOLLOW_UP_TRIES` calls."""
    return not got_through(follow_ups) and len(follow_ups) < FOLLOW_UP_TRIES


@dataclass(slots=True, eq=False)
class Case:
    """A 差评 case (差评工单): the rating it was opened for, and everything done since, each act
    with who did it and when (`lifecycle`'s header tells its life)."""

    number: str
    ticket: str
    day: date
    """The service day of the rating."""
    opened_at: datetime
    score: int
    reasons: tuple[str, ...]
    window: int
    clerk: str
    department: str
    deadline: date
    status: CaseStatus = CaseStatus.CHECKING
    """Set only through `lifecycle.case_after`, by the event handlers."""
    handling: dict[str, Any] | None = None
    """by, at, measure, finding, published."""
    rectified: dict[str, Any] | None = None
    """by, at, note: a 限期整改 done."""
    appeal: dict[str, Any] | None = None
    """by, clerk (the badge of a clerk who appealed), account (of a manager who appealed; None
    in logs written before accounts were recorded), at, reason."""
    decision: dict[str, Any] | None = None
    """by, account, at, upheld, reason."""
    withdrawn: list[dict[str, Any]] = field(default_factory=list)
    """by, at, reason (the appeal's): each appeal taken back (撤回申诉)."""
    follow_ups: list[dict[str, Any]] = field(default_factory=list)
    """by, at, result, note, attempt: each 回访 call."""
    closed_at: datetime | None = None
    closed_on: date | None = None
    """The service day it reached a final status."""
    overdue_warned: bool = False
    """The hall has warned that it passed its deadline (`case_overdue`)."""

    @property
    def is_open(self) -> bool:
        return self.status not in FINAL_CASE_STATUSES

    @property
    def followed_up(self) -> bool:
        return got_through(self.follow_ups)

    @property
    def awaits_follow_up(self) -> bool:
        """Handled, and its 回访 neither got through nor ran out of tries."""
        return case_allows(self.status, "follow_up") and calls_left(self.follow_ups)

    def due(self, hall: HallInfo, today: date) -> str | None:
        return due(hall, today, self.deadline, self.is_open)


@dataclass(slots=True, eq=False)
class Complaint:
    """A complaint or suggestion of the register (`lifecycle`'s header tells its life). Its
    complainant's name and phone are not here: they are outside the log
    (`store.complaint_contacts`)."""

    number: str
    day: date
    """The service day it came in."""
    at: datetime
    kind: str
    channel: str
    category: str
    text: str
    window: int | None
    clerk: str | None
    ticket: str | None
    hotline_case: str | None
    deadline: date
    by: str | None
    contact: bool
    status: ComplaintStatus = ComplaintStatus.REGISTERED
    """Set only through `lifecycle.complaint_after`, by the event handlers."""
    handler: str | None = None
    """The manager who took it on (承办), as the log signs managers' acts."""
    assigned_at: datetime | None = None
    reply: dict[str, Any] | None = None
    """by, at, reply, valid."""
    follow_ups: list[dict[str, Any]] = field(default_factory=list)
    closed: dict[str, Any] | None = None
    """by, at, note."""
    closed_on: date | None = None

    @property
    def is_open(self) -> bool:
        return self.status not in FINAL_COMPLAINT_STATUSES

    @property
    def awaits_follow_up(self) -> bool:
        """Replied, a contact kept to call back, and its 回访 neither got through nor ran out of
        tries: it cannot be closed yet. (A 回访 may be recorded without a kept contact too, e.g.
        one made through the 12345 hotline.)"""
        return (self.contact and complaint_allows(self.status, "follow_up")
                and calls_left(self.follow_ups))

    def due(self, hall: HallInfo, today: date) -> str | None:
        return due(hall, today, self.deadline, self.is_open)


@dataclass(slots=True, eq=False)
class Booking:
    """A booked slot (预约, `lifecycle`'s header tells its life). The phone and the ID digits are
    keyed hashes (queue_server.bookings), never the numbers."""

    code: str
    category: str
    service: str | None
    day: date
    slot: time
    slot_at: datetime
    """The slot's start on its day, in the hall's zone."""
    phone_key: str
    id_key: str
    made_at: datetime
    minutes: int
    """The slot's length when booked: the time this booking holds a place over."""
    status: BookingStatus = BookingStatus.BOOKED
    """Set only through `lifecycle.booking_after`, by the event handlers."""
    ticket: str | None = None
    """The ticket its check-in gave."""
    checked_in_at: datetime | None = None
    no_show_counted: bool = False
    """Released and counted against its phone (`booking_released`'s `counted`)."""


Decision = list[ev.Record]

RELEASE_GRACE = timedelta(minutes=5)
"""A booking released later than this after its late limit (the tick runs every 5 s: the
server was down) is not counted as a no-show: the citizen may have found no kiosk working."""


def _holds_place(booking: Booking) -> bool:
    """Whether the booking holds its slot's place and counts in its phone's day: any not
    cancelled nor withdrawn."""
    return booking.status not in (BookingStatus.CANCELLED, BookingStatus.WITHDRAWN)


def _block(hall: HallInfo, no_shows: Iterable[date],
           raised: tuple[date, int] | None = None) -> tuple[date, int] | None:
    """The last day blocked by these no-show days and how many no-shows raised it (see
    `HallState.phone_blocked_until`); `raised`: the latest block the log raised for the phone
    (`booking_blocked`), its end and count: a no-show on a day it covered starts no block, also
    once the no-shows that raised it are forgotten."""
    limit = hall.booking_no_show_limit
    if limit <= 0:
        return None
    days = sorted(no_shows)
    found: tuple[date, int] | None = raised
    for i, day in enumerate(days):
        since = day - timedelta(days=hall.booking_no_show_days - 1)
        count = sum(1 for d in days[:i + 1] if d >= since)
        if count >= limit and (found is None or found[0] < day):
            found = (day + timedelta(days=hall.booking_block_days), count)
    return found


def _same_manager(appeal: dict[str, Any], by: str, account: str | None) -> bool:
    """Whether the manager signing `by` with `account` is the one who made this appeal: the
    same account, whatever its name is now (`manager add` resets names); for an appeal of a
    log written before accounts were recorded, the same signature."""
    if appeal["account"] is None:
        return bool(appeal["by"] == by)
    return bool(appeal["account"] == account)


Tracked = TypeVar("Tracked", Case, Complaint)
"""A case or a complaint: what outlives its day, with a deadline and a table of its own."""

_TRACKED: dict[type, tuple[str, Callable[[Any, Any], bool], dict[Any, str], dict[str, str]]] = {
    Case: ("差评工单", case_allows, CASE_STATUS_NAMES, CASE_ACTION_NAMES),
    Complaint: ("投诉建议", complaint_allows, COMPLAINT_STATUS_NAMES, COMPLAINT_ACTION_NAMES)}
"""What a case and a complaint are called, and their tables' check and words."""


def _allowed(items: dict[str, Tracked], kind: type[Tracked], number: str,
             action: str) -> Tracked:
    """The case or complaint (`kind`) `number` of `items`, if its table allows `action` from
    its status; else refused (`not_found`, `conflict`), in the words of its kind."""
    name, allows, statuses, actions = _TRACKED[kind]
    item = items.get(number)
    if item is None:
        raise DomainError("not_found", f"没有编号为 {number} 的{name}")
    if not allows(item.status, action):
        raise DomainError("conflict", f"{name} {number} {statuses[item.status]}，不能{actions[action]}")
    return item


class HallState:
    def __init__(self, definition: HallDefinition, day: date, seq: int = 0,
                 catalogue_version: int | None = None):
        self.definition = definition
        self.hall = definition.hall
        self.catalogue_version = catalogue_version
        """The version of `definition`'s items, recorded on every ticket issued (its guide's)."""
        self.seq = seq
        self.day = day
        self.seen_at = datetime.combine(day, time.min, self.hall.zone)
        """The latest moment the core was told of (a command's `now`, an event's time): the
        views' clock, by which a booking checked in before its slot is shown after the
        walk-ins it will be called after (`CategoryQueue.ordered`)."""
        self.notice = ""
        self.devices: dict[str, dict[str, Any]] = {}
        """The last report of each device, by device name: the `device_reported` event's data
        and its time."""
        self.cases: dict[str, Case] = {}
        """Every 差评 case by its number, of every day: a case outlives the day."""
        self._cases_opened: dict[date, int] = {}
        self.complaints: dict[str, Complaint] = {}
        """Every complaint and suggestion by its number, of every day."""
        self._complaints_registered: dict[date, int] = {}
        self.bookings: dict[str, Booking] = {}
        """The bookings by code, of the days that still matter: a booking outlives its day,
        until no no-show rule can read it (`bk.kept_since`; dropped when a day starts)."""
        self.bookings_by_day: dict[date, dict[str, Booking]] = {}
        """The same bookings, by their day."""
        self._phone_day: dict[tuple[str, date], int] = {}
        """Bookings holding a place (any not cancelled nor withdrawn), per (phone key, day)."""
        self._due: dict[str, Booking] = {}
        """The bookings still BOOKED, which the tick releases once late."""
        self.no_shows: dict[str, list[date]] = {}
        self.blocks_raised: dict[str, tuple[date, int]] = {}
        """The latest block the log raised for each phone key (`booking_blocked`): its last
        day and its no-shows, kept while a no-show it covered is (`_block`)."""
        """Each phone key's no-shows counted (the days of the bookings released)."""
        self._reset_day(day)
        self._decide: dict[type, Callable[[Any, datetime], Decision]] = {
            cmd.TakeTicket: self._take_ticket, cmd.SignIn: self._sign_in,
            cmd.SignOut: self._sign_out, cmd.Pause: self._pause, cmd.Resume: self._resume,
            cmd.CallNext: self._call_next, cmd.CallNumber: self._call_number,
            cmd.ResumeHeld: self._resume_held, cmd.Recall: self._recall,
            cmd.NoShow: self._no_show, cmd.Hold: self._hold, cmd.Transfer: self._transfer,
            cmd.Finish: self._finish, cmd.SetPriority: self._set_priority,
            cmd.Rate: self._rate, cmd.SetNotice: self._set_notice,
            cmd.ReportDevice: self._report_device, cmd.ReportLostRatings: self._report_lost_ratings,
            cmd.Tick: self._tick,
            cmd.AckWarning: self._ack_warning,
            cmd.HandleCase: self._handle_case, cmd.RectifyCase: self._rectify_case,
            cmd.FollowUpCase: self._follow_up_case, cmd.AppealCase: self._appeal_case,
            cmd.DecideAppeal: self._decide_appeal, cmd.WithdrawAppeal: self._withdraw_appeal,
            cmd.RegisterComplaint: self._register_complaint,
            cmd.AssignComplaint: self._assign_complaint,
            cmd.ReplyComplaint: self._reply_complaint,
            cmd.FollowUpComplaint: self._follow_up_complaint,
            cmd.CloseComplaint: self._close_complaint,
            cmd.Book: self._book, cmd.CancelBooking: self._cancel_booking,
            cmd.CheckIn: self._check_in, cmd.LiftBookingBlock: self._lift_booking_block,
        }

    def take_items(self, definition: HallDefinition, version: int) -> None:
        """Serve the items of `definition` (a new county catalogue version applied) from the
        next command on. Only items change: departments, categories and windows are the
        hall's own, so the day's queues and windows stay as they are, and a ticket already
        issued for an item keeps its number, queue and the guide version it recorded."""
        assert definition.categories == self.definition.categories
        assert definition.windows == self.definition.windows
        self.definition = definition
        self.catalogue_version = version

    def _reset_day(self, day: date) -> None:
        self.day = day
        self.warnings: dict[int, dict[str, Any]] = {}
        """Today's warnings by the seq of their event, each with who acknowledged it, when."""
        self._next_day_at = datetime.combine(day + timedelta(days=1), time(0), self.hall.zone)
        self.tickets: dict[str, Ticket] = {}
        self.issued: dict[str, int] = {c.prefix: 0 for c in self.definition.categories}
        self.phone_tickets: dict[tuple[str, str], str] = {}
        """Today's mobile tickets (`/take`) by (phone key, category): their numbers."""
        self.mobile_issued: dict[str, int] = {c.prefix: 0 for c in self.definition.categories}
        """Today's mobile tickets per category, against `mobile_cap`."""
        self.batched: dict[tuple[str, str], str] = {}
        """Today's 代办 batch tickets by (point, case): the last ticket that carried the case."""
        self.queues: dict[str, CategoryQueue[Ticket]] = {
            c.prefix: CategoryQueue() for c in self.definition.categories}
        self.windows: dict[int, WindowState] = {
            w.number: WindowState(w) for w in self.definition.windows}
        self.clerk_window: dict[str, int] = {}
        self.service_seconds: dict[str, tuple[int, float]] = {}
        """Per category: tickets finished today and their total service time (last call to
        finish), kept as events apply so that wait estimates need no scan."""

    # --- the two entry points --------------------------------------------------------------

    def handle(self, command: cmd.Command, now: datetime) -> list[Event]:
        """Decide on `command` at `now`; return the events (already applied) or raise."""
        decide = self._decide.get(type(command))
        if decide is None:
            raise DomainError("unknown_op", f"未知的操作：{type(command).__name__}")
        self.seen_at = max(self.seen_at, now)
        return self._emit(decide(command, now), now)

    def roll_to(self, now: datetime) -> list[Event]:
        """Close the service day if `now` falls on a later date; return the events."""
        if now < self._next_day_at:
            return []
        day = cal.service_day(self.hall, now)
        if day <= self.day:
            return []
        decision: Decision = []
        for w in self.windows.values():
            if w.clerk is not None:
                decision.append(ev.ClerkSignedOut(w.number, w.clerk, w.post, "day_end"))
        for ticket in self.tickets.values():
            if ticket_allows(ticket.status, "cancel"):
                decision.append(ev.TicketCancelled(ticket.number, "day_end"))
        decision.append(ev.DayStarted(day.isoformat()))
        if self.notice:  # a notice outlives the day; logging it again keeps each day whole
            decision.append(ev.NoticeSet(self.notice, "carried over"))
        return self._emit(decision, now)

    def apply(self, event: Event) -> None:
        """Change the state by one event; used both live and when rebuilding from the store."""
        APPLY[type(event.data)](self, event)
        self.seq = event.seq
        self.seen_at = max(self.seen_at, event.at)

    def _emit(self, decision: Decision, now: datetime) -> list[Event]:
        events = []
        for record in decision:
            day = date.fromisoformat(record.day) if isinstance(record, ev.DayStarted) else self.day
            event = Event(self.seq + 1, now, day, record)
            self.apply(event)
            events.append(event)
        return events

    # --- queries for the shell --------------------------------------------------------------

    def ticket(self, number: str) -> Ticket | None:
        return self.tickets.get(number)

    def consistency_problems(self) -> list[str]:
        """Cross-checks of the indexes against the tickets; empty when all is well."""
        problems = []
        placed: dict[str, str] = {}

        def place(ticket: Ticket, where: str) -> None:
            if ticket.number in placed:
                problems.append(f"{ticket.number} 同时在 {placed[ticket.number]} 和 {where}")
            placed[ticket.number] = where

        for prefix, queue in self.queues.items():
            for ticket in (*queue.green, *queue.priority, *queue.normal):
                place(ticket, f"{prefix} 队列")
                if ticket.status != TicketStatus.WAITING or ticket.target_window is not None:
                    problems.append(f"{ticket.number} 在队列中但状态为 {ticket.status}")
        for w in self.windows.values():
            for ticket in w.targeted:
                place(ticket, f"{w.number} 号窗口的转入队列")
            for ticket in w.held:
                place(ticket, f"{w.number} 号窗口的挂起列表")
                if ticket.status != TicketStatus.HELD:
                    problems.append(f"{ticket.number} 在挂起列表中但状态为 {ticket.status}")
            if w.current is not None:
                place(w.current, f"{w.number} 号窗口")
                if w.current.status != TicketStatus.CALLED or w.current.window != w.number:
                    problems.append(f"{w.current.number} 是 {w.number} 号窗口的当前号但状态不符")
        for ticket in self.tickets.values():
            if ticket.status in FINAL_STATUSES:
                if ticket.number in placed:
                    problems.append(f"{ticket.number} 已结束却仍在 {placed[ticket.number]}")
            elif ticket.number not in placed:
                problems.append(f"{ticket.number}（{ticket.status}）不在任何队列或窗口：丢失")
        return problems

    # --- checks shared by the decisions ------------------------------------------------------

    def _ticket(self, number: str) -> Ticket:
        ticket = self.tickets.get(number)
        if ticket is None:
            raise DomainError("not_found", f"今天没有 {number} 号")
        return ticket

    def _window(self, number: int) -> WindowState:
        window = self.windows.get(number)
        if window is None:
            raise DomainError("not_found", f"没有 {number} 号窗口")
        return window

    def _window_of(self, ticket: Ticket) -> WindowState:
        """The window of a ticket that has been called (called, held or ended there): such a
        ticket always has one."""
        assert ticket.window is not None, ticket.number
        return self.windows[ticket.window]

    def _staffed_by(self, command: Any) -> WindowState:
        window = self._window(command.window)
        if window.clerk != command.clerk:
            raise DomainError("forbidden", f"您没有在 {window.number} 号窗口签到，不能操作该窗口")
        return window

    def _serving(self, command: Any, action: TicketAction) -> tuple[WindowState, Ticket]:
        window = self._staffed_by(command)
        if window.current is None:
            raise DomainError("conflict", f"{window.number} 号窗口当前没有正在办理的号")
        self._may(window.current, action, "")
        return window, window.current

    def _ready_to_call(self, command: Any) -> WindowState:
        window = self._staffed_by(command)
        if not window_allows(window.status, "call"):
            raise DomainError("conflict", "窗口已暂停服务，请先点“恢复”再叫号")
        if window.current is not None:
            raise DomainError("conflict", f"{window.current.number} 号尚未办结，请先办结、过号、挂起或转移")
        return window

    @staticmethod
    def _may(ticket: Ticket, action: TicketAction, refusal: str) -> None:
        """Refuse the command unless the ticket's table allows `action` from its status."""
        if not ticket_allows(ticket.status, action):
            raise DomainError("conflict", refusal or
                              f"{ticket.number} 号{TICKET_STATUS_NAMES[ticket.status]}，不能{ACTION_NAMES[action]}")

    @staticmethod
    def _reason(text: str, what: str, limit: int = MAX_REASON, required: bool = True) -> str:
        text = (text or "").strip()
        if required and not text:
            raise DomainError("bad_request", f"请填写{what}")
        if len(text) > limit:
            raise DomainError("bad_request", f"{what}不能超过 {limit} 个字")
        return text

    def _called(self, window: WindowState, ticket: Ticket, via: str,
                recall: int = 0) -> ev.TicketCalled:
        assert window.clerk is not None and window.post is not None   # staffed
        return ev.TicketCalled(ticket.number, window.number, window.clerk, window.post, recall,
                               via)

    # --- decisions -----------------------------------------------------------------------------

    def _check_item(self, code: str, category: Category) -> None:
        """A service item chosen for a ticket or a booking is one of its category's."""
        item = self.definition.item_by_code.get(code)
        if item is None:
            raise DomainError("not_found", f"没有编码为 {code} 的事项")
        if item.category != category.prefix:
            raise DomainError("bad_request", f"事项“{item.name}”不属于{category.name}")

    def _check_batch(self, c: cmd.TakeTicket) -> None:
        """A case goes in one open batch at a time: a batch ticket is refused while another one
        carrying any of its cases is waiting, called or held (two kiosks scanning one list at
        once: the first one decided gets the ticket). Once that ticket ends, a case the window
        did not receive may come again."""
        if c.point is None or not c.cases:
            raise DomainError("bad_request", "代办送件应有代办点和件号")
        carried = self.open_batches(c.point)
        for case in c.cases:
            if case in carried:
                raise DomainError("conflict", f"件 {case} 已在送件号 {carried[case]} 中，请等候叫号，"
                                              "不要重复取号")

    def open_batches(self, point: str) -> dict[str, str]:
        """The point's cases in a batch ticket still waiting, called or held: by its number."""
        return {case: number for (p, case), number in self.batched.items()
                if p == point and self.tickets[number].status not in FINAL_STATUSES}

    def _take_ticket(self, c: cmd.TakeTicket, now: datetime) -> Decision:
        category = self.definition.category_by_prefix.get(c.category)
        if category is None:
            raise DomainError("not_found", f"没有“{c.category}”这个业务类别")
        if c.kind == BATCH_KIND:
            self._check_batch(c)
        elif c.kind not in category.kinds:
            raise DomainError("bad_request", f"{category.name}不办理“{TICKET_KIND_NAMES.get(c.kind, c.kind)}”")
        if c.priority not in KIOSK_PRIORITIES:
            raise DomainError("bad_request", "优先类型只能是普通、老年人或残疾人")
        if c.service is not None:
            self._check_item(c.service, category)
        if c.phone_key is not None:   # /take: one ticket per phone per category per day
            taken = self.phone_tickets.get((c.phone_key, c.category))
            if taken is not None:   # said before any other refusal: the way back to it
                raise DomainError("conflict", already_taken_text(category.name, taken))
        moment = cal.local(self.hall, now)
        if not cal.issuing(self.hall, moment):
            raise DomainError("closed", cal.closed_reason(self.hall, moment))
        issued = self.issued[c.category]
        if issued >= category.daily_cap:
            back = cal.come_back_text(moment, cal.next_working_day_start(self.hall, moment))
            raise DomainError("closed", f"今日{category.name}号已取完，{back}")
        if c.phone_key is not None and (self.mobile_issued[c.category]
                                        >= mobile_cap(self.hall, category)):
            raise DomainError("closed", mobile_full_text(category.name))
        number = f"{c.category}{issued + 1:03d}"
        return [ev.TicketIssued(number, c.category, c.kind, c.priority, c.service,
                                self.queues[c.category].ahead_of(PRIORITY_CLASS[c.priority], now),
                                self.catalogue_version,
                                "mobile" if c.phone_key is not None else None, c.phone_key,
                                point=c.point, cases=c.cases)]

    def _sign_in(self, c: cmd.SignIn, now: datetime) -> Decision:
        window = self._window(c.window)
        clerk = self.definition.clerk_by_badge.get(c.clerk)
        if clerk is None:
            raise DomainError("not_found", f"没有工号为 {c.clerk} 的工作人员")
        if c.post not in POSTS:
            raise DomainError("bad_request", "岗位只能是 A 或 B")
        if c.post == "A" and window.definition.a_post != c.clerk:
            raise DomainError("forbidden", f"{clerk.name}不是 {window.number} 号窗口的A岗")
        if c.post == "B" and c.clerk not in window.definition.b_posts:
            raise DomainError("forbidden", f"{clerk.name}不是 {window.number} 号窗口的B岗")
        elsewhere = self.clerk_window.get(c.clerk)
        if elsewhere == window.number:
            raise DomainError("conflict", f"您已在 {window.number} 号窗口签到")
        if elsewhere is not None:
            raise DomainError("conflict", f"您已在 {elsewhere} 号窗口签到，请先在该窗口签退")
        if window_allows(window.status, "sign_in"):
            return [ev.ClerkSignedIn(window.number, c.clerk, c.post, False, None)]
        assert window.clerk is not None   # not closed
        if not c.takeover:
            holder = self.definition.clerk_by_badge[window.clerk].name
            raise DomainError("conflict", f"{window.number} 号窗口已由{holder}（{window.post}岗）签到；"
                                          "如需接替，请选择“接替”")
        if not window_allows(window.status, "takeover"):
            raise DomainError("conflict", f"{window.number} 号窗口现在不能接替")
        return [ev.ClerkSignedOut(window.number, window.clerk, window.post, "handover"),
                ev.ClerkSignedIn(window.number, c.clerk, c.post, True, window.clerk)]

    def _sign_out(self, c: cmd.SignOut, now: datetime) -> Decision:
        window = self._staffed_by(c)
        if window.current is not None:
            raise DomainError("conflict", f"{window.current.number} 号尚未办结，请先办结、挂起或转移再签退")
        if not window_allows(window.status, "sign_out"):
            raise DomainError("conflict", f"{window.number} 号窗口没有签到，无需签退")
        return [ev.ClerkSignedOut(window.number, c.clerk, window.post, "sign_out")]

    def _pause(self, c: cmd.Pause, now: datetime) -> Decision:
        window = self._staffed_by(c)
        reason = self._reason(c.reason, "暂停原因")
        if not window_allows(window.status, "pause"):
            raise DomainError("conflict", "窗口已经是暂停状态")
        if window.current is not None:
            raise DomainError("conflict", f"{window.current.number} 号尚未办结，请先办结再暂停")
        return [ev.WindowPaused(window.number, c.clerk, window.post, reason)]

    def _resume(self, c: cmd.Resume, now: datetime) -> Decision:
        window = self._staffed_by(c)
        if not window_allows(window.status, "resume"):
            raise DomainError("conflict", "窗口没有暂停，无需恢复")
        return [ev.WindowResumed(window.number, c.clerk, window.post)]

    def _call_next(self, c: cmd.CallNext, now: datetime) -> Decision:
        window = self._ready_to_call(c)
        ticket = choose_next(window.definition.categories, self.queues, window.targeted,
                             self.hall.priority_ratio, now)
        return [self._called(window, ticket, "next")] if ticket is not None else []

    def _call_number(self, c: cmd.CallNumber, now: datetime) -> Decision:
        window = self._ready_to_call(c)
        ticket = self._ticket(c.number)
        if ticket.status == TicketStatus.HELD:
            return self._resume_held(cmd.ResumeHeld(c.clerk, c.window, c.number), now)
        self._may(ticket, "call", f"{ticket.number} 号{TICKET_STATUS_NAMES[ticket.status]}，不能叫号")
        if ticket.target_window not in (None, window.number):
            raise DomainError("conflict", f"{ticket.number} 号已转给 {ticket.target_window} 号窗口")
        if ticket.target_window is None and ticket.category not in window.definition.categories:
            name = self.definition.category_by_prefix[ticket.category].name
            raise DomainError("conflict", f"本窗口不办理{name}，{ticket.number} 号请由相应窗口叫号")
        return [self._called(window, ticket, "number")]

    def _resume_held(self, c: cmd.ResumeHeld, now: datetime) -> Decision:
        window = self._ready_to_call(c)
        ticket = self._ticket(c.number)
        if ticket.status != TicketStatus.HELD or ticket.window != window.number:
            raise DomainError("conflict", f"{ticket.number} 号不在本窗口的挂起列表中")
        self._may(ticket, "call", "")
        return [self._called(window, ticket, "held")]

    def _recall(self, c: cmd.Recall, now: datetime) -> Decision:
        window, ticket = self._serving(c, "recall")
        return [self._called(window, ticket, "recall", ticket.recalls + 1)]

    def _no_show(self, c: cmd.NoShow, now: datetime) -> Decision:
        window, ticket = self._serving(c, "no_show")
        return [ev.TicketNoShow(ticket.number, window.number, c.clerk)]

    def _hold(self, c: cmd.Hold, now: datetime) -> Decision:
        window, ticket = self._serving(c, "hold")
        reason = self._reason(c.reason, "挂起原因")
        return [ev.TicketHeld(ticket.number, window.number, c.clerk, reason)]

    def _transfer(self, c: cmd.Transfer, now: datetime) -> Decision:
        window, ticket = self._serving(c, "transfer")
        if (c.to_category is None) == (c.to_window is None):
            raise DomainError("bad_request", "请选择转到哪个业务类别或哪个窗口（二选一）")
        if c.to_category is not None and c.to_category not in self.queues:
            raise DomainError("not_found", f"没有“{c.to_category}”这个业务类别")
        if c.to_window is not None:
            self._window(c.to_window)
            if c.to_window == window.number:
                raise DomainError("conflict", "不能转给本窗口")
        if len(c.note or "") > MAX_REASON:
            raise DomainError("bad_request", f"转移说明不能超过 {MAX_REASON} 个字")
        return [ev.TicketTransferred(ticket.number, window.number, c.clerk, c.to_category,
                                     c.to_window, c.note or "", ticket.first_clerk)]

    def _finish(self, c: cmd.Finish, now: datetime) -> Decision:
        window, ticket = self._serving(c, "finish")
        if c.outcome not in OUTCOMES:
            raise DomainError("bad_request", "请选择办理结果：" + "、".join(OUTCOME_NAMES.values()))
        if len(c.note or "") > MAX_REASON:
            raise DomainError("bad_request", f"备注不能超过 {MAX_REASON} 个字")
        return [ev.TicketFinished(ticket.number, window.number, c.clerk, window.post, c.outcome,
                                  c.note or "")]

    def _set_priority(self, c: cmd.SetPriority, now: datetime) -> Decision:
        ticket = self._ticket(c.number)
        if c.priority != "green":
            raise DomainError("bad_request", "只能设置为绿色通道")
        self._may(ticket, "set_priority",
                  f"{ticket.number} 号{TICKET_STATUS_NAMES[ticket.status]}，只能给等待中的号开绿色通道")
        if ticket.priority == "green":
            raise DomainError("conflict", f"{ticket.number} 号已是绿色通道")
        return [ev.TicketPrioritySet(ticket.number, "green", c.by)]

    def _rate(self, c: cmd.Rate, now: datetime) -> Decision:
        ticket = self._ticket(c.number)
        if c.score is not None and (isinstance(c.score, bool) or c.score not in range(1, 6)):
            raise DomainError("bad_request", "评价分数应为 1 到 5")
        self._may(ticket, "rate", f"{ticket.number} 号尚未办结，不能评价")
        if c.window is not None:
            # Any ticket this window finished today, not only the last: a pad that was cut off
            # sends what it kept once it is back, when the next citizen may already be done.
            self._window(c.window)
            if ticket.window != c.window:
                raise DomainError("forbidden", f"{ticket.number} 号不是本窗口办结的号")
            if ticket.pad_rated or ticket.score is not None:
                raise DomainError("conflict", f"{ticket.number} 号已评价过")
            channel = "pad"
        else:
            if c.score is None:
                raise DomainError("bad_request", "请选择评价等级")
            if ticket.citizen_rated or ticket.score is not None:
                raise DomainError("conflict", f"{ticket.number} 号已评价过")
            channel = "citizen"
        reasons = tuple(c.reasons or ())
        if is_bad(c.score) and not reasons and self.hall.rating_reasons:
            raise DomainError("bad_request", "不满意的评价请至少选择一个原因")
        unknown = [r for r in reasons if r not in self.hall.rating_reasons]
        if unknown:
            raise DomainError("bad_request", f"未知的评价原因：{'、'.join(unknown)}")
        window_def = self._window_of(ticket).definition
        # a finished ticket has its window and clerk
        assert ticket.window is not None and ticket.clerk is not None, ticket.number
        decision: Decision = [ev.TicketRated(
            ticket.number, c.score, reasons, channel, ticket.window, ticket.clerk, ticket.post,
            window_def.department, ticket.service)]
        if c.score is not None and is_bad(c.score):
            clerk = self.definition.clerk_by_badge[ticket.clerk].name
            words = self.hall.score_name(c.score)
            decision.append(ev.WarningRaised(
                "red" if c.score == min(BAD_SCORES) else "yellow", "negative_rating",
                f"{ticket.window} 号窗口{clerk}办理的 {ticket.number} 号评价为“{words}”："
                + "、".join(reasons), window=ticket.window, ticket=ticket.number,
                clerk=ticket.clerk))
            decision.append(self._case_opened(ticket, c.score, reasons, window_def.department))
        return decision

    def _set_notice(self, c: cmd.SetNotice, now: datetime) -> Decision:
        text = " ".join((c.text or "").split())
        if len(text) > cmd.MAX_NOTICE:
            raise DomainError("bad_request", f"公告不能超过 {cmd.MAX_NOTICE} 个字")
        return [ev.NoticeSet(text, c.by)]

    def _report_device(self, c: cmd.ReportDevice, now: datetime) -> Decision:
        if c.printer not in PRINTER_STATES:
            raise DomainError("bad_request", "打印机状态应为 " + " / ".join(PRINTER_STATES))
        last = self.devices.get(c.device)
        if last is not None and (last["printer"], last["detail"]) == (c.printer, c.detail):
            return []           # nothing new: keep the log free of repeated heartbeats
        decision: Decision = [ev.DeviceReported(c.device, c.role, c.printer, c.detail[:200])]
        fault = PRINTER_FAULTS.get(c.printer)
        if fault is not None and (last is None or last["printer"] != c.printer):
            level, words = fault
            detail = f"（{c.detail[:100]}）" if c.detail else ""
            decision.append(ev.WarningRaised(level, "device", f"{c.device}：{words}{detail}",
                                             device=c.device))
        return decision

    def _report_lost_ratings(self, c: cmd.ReportLostRatings, now: datetime) -> Decision:
        """A pad kept ratings past their service day (cut off across midnight): that day's
        tickets and figures are closed, so they are not stored; a device warning names how many
        were lost, and every 差评 among them, so that none vanishes unseen (red when there is
        one, else yellow)."""
        try:
            day = date.fromisoformat(c.day)
        except ValueError:
            raise DomainError("bad_request", f"无法识别的日期：{c.day}（应如 2026-11-23）") from None
        if day >= self.day:
            raise DomainError("bad_request", "只能报告已结束的服务日未能上传的评价；今天的评价请直接提交")
        bad = [(ticket, score, reasons) for ticket, score, reasons in c.ratings
               if score is not None and is_bad(score)]
        text = (f"{c.device}：{c.window} 号窗口评价器有 {len(c.ratings)} 条{day.month}月{day.day}日"
                "的评价未能上传，不再计入")
        if bad:
            named = "；".join(f"{ticket} 号“{self.hall.score_name(score)}”"
                             + (f"（{'、'.join(reasons)}）" if reasons else "")
                             for ticket, score, reasons in bad[:LOST_NAMED])
            more = f" 等 {len(bad)} 条" if len(bad) > LOST_NAMED else ""
            text += f"；其中差评：{named}{more}"
        return [ev.WarningRaised("red" if bad else "yellow", "device", text, device=c.device)]

    def _ack_warning(self, c: cmd.AckWarning, now: datetime) -> Decision:
        warning = self.warnings.get(c.warning)
        if warning is None:
            raise DomainError("not_found", "今天没有这条预警")
        if warning["acknowledged"] is not None:
            done = warning["acknowledged"]
            raise DomainError("conflict", f"这条预警已由{done['by']}确认")
        return [ev.WarningAcknowledged(c.warning, c.by)]

    # --- 差评 cases ------------------------------------------------------------------------

    def _case_opened(self, ticket: Ticket, score: int, reasons: tuple[str, ...],
                     department: str) -> ev.CaseOpened:
        assert ticket.window is not None and ticket.clerk is not None, ticket.number  # rated
        count = self._cases_opened.get(self.day, 0) + 1
        deadline = cal.working_days_after(self.hall, self.day, self.hall.case_deadline_days)
        return ev.CaseOpened(f"{self.day:%Y%m%d}-{count:02d}", ticket.number, score, reasons,
                             ticket.window, ticket.clerk, department, deadline.isoformat(),
                             ticket.category, ticket.service)

    def _case(self, number: str, action: CaseAction) -> Case:
        """The case, if its table allows `action` from its status; else refused."""
        return _allowed(self.cases, Case, number, action)

    def _handle_case(self, c: cmd.HandleCase, now: datetime) -> Decision:
        if c.measure not in CASE_MEASURES:
            raise DomainError("bad_request", "请选择处理方式：" + "、".join(CASE_MEASURE_NAMES.values()))
        self._case(c.case, cast(CaseAction, c.measure))   # a measure is its own action
        return [ev.CaseHandled(c.case, c.measure, self._reason(c.finding, "核实情况", MAX_CASE_TEXT),
                               self._reason(c.published, "公开答复", MAX_CASE_TEXT), c.by)]

    def _rectify_case(self, c: cmd.RectifyCase, now: datetime) -> Decision:
        self._case(c.case, "rectify")
        return [ev.CaseRectified(c.case, self._reason(c.note, "整改情况", MAX_CASE_TEXT), c.by)]

    def _follow_up_case(self, c: cmd.FollowUpCase, now: datetime) -> Decision:
        self._follow_up_result(c.result)
        case = self._case(c.case, "follow_up")
        self._may_call_back(case.follow_ups, f"差评工单 {c.case}")
        return [ev.CaseFollowedUp(c.case, c.result, self._reason(c.note, "回访记录", MAX_CASE_TEXT, False),
                                  c.by, len(case.follow_ups) + 1)]

    @staticmethod
    def _follow_up_result(result: str) -> None:
        if result not in FOLLOW_UP_RESULTS:
            raise DomainError("bad_request", "请选择回访结果：" + "、".join(FOLLOW_UP_NAMES.values()))

    @staticmethod
    def _may_call_back(follow_ups: list[dict[str, Any]], what: str) -> None:
        """Refused when a 回访 got through already, or its tries ran out (a case's or a
        complaint's)."""
        if got_through(follow_ups):
            raise DomainError("conflict", f"{what} 已回访")
        if len(follow_ups) >= FOLLOW_UP_TRIES:
            raise DomainError("conflict", f"{what} 已回访 {FOLLOW_UP_TRIES} 次未接通，不再回访")

    def _appeal_case(self, c: cmd.AppealCase, now: datetime) -> Decision:
        case = self._case(c.case, "appeal")
        if c.clerk is not None and c.clerk != case.clerk:
            raise DomainError("forbidden", "只能对评价您本人的差评提出申诉")
        return [ev.CaseAppealed(c.case, self._reason(c.reason, "申诉理由", MAX_CASE_TEXT), c.by, c.clerk,
                                None if c.clerk is not None else c.account)]

    def _decide_appeal(self, c: cmd.DecideAppeal, now: datetime) -> Decision:
        case = self._case(c.case, "uphold" if c.uphold else "reject")
        assert case.appeal is not None   # appealing
        if case.appeal["clerk"] is None and _same_manager(case.appeal, c.by, c.account):
            raise DomainError("forbidden", "申诉须由另一位管理人员审核，不能审核自己提出的申诉")
        return [ev.CaseAppealDecided(c.case, c.uphold, self._reason(c.reason, "审核意见", MAX_CASE_TEXT),
                                     c.by, c.account)]

    def _withdraw_appeal(self, c: cmd.WithdrawAppeal, now: datetime) -> Decision:
        case = self._case(c.case, "withdraw")
        appeal = case.appeal
        assert appeal is not None   # appealing
        mine = (c.clerk == appeal["clerk"] if appeal["clerk"] is not None
                else c.clerk is None and _same_manager(appeal, c.by, c.account))
        if not mine:
            raise DomainError("forbidden", "只能撤回您本人提出的申诉")
        return [ev.CaseAppealWithdrawn(c.case, c.by, c.clerk, None if c.clerk is not None else c.account)]

    # --- the complaints register (投诉/建议) -----------------------------------------------------

    def _register_complaint(self, c: cmd.RegisterComplaint, now: datetime) -> Decision:
        if c.kind not in COMPLAINT_KINDS:
            raise DomainError("bad_request", "请选择：" + "、".join(COMPLAINT_KIND_NAMES.values()))
        if c.channel not in COMPLAINT_CHANNELS:
            raise DomainError("bad_request", f"未知的来源：{c.channel}")
        if c.category not in self.hall.complaint_categories:
            raise DomainError("bad_request", "请选择类别：" + "、".join(self.hall.complaint_categories))
        text = self._reason(c.text, "投诉建议内容", MAX_CASE_TEXT)
        window, clerk = c.window, c.clerk
        if c.ticket is not None:   # a ticket's page: the window and the clerk that served it
            ticket = self._ticket(c.ticket)
            window, clerk = ticket.window, ticket.clerk
        if window is not None:
            self._window(window)
        if clerk is not None and clerk not in self.definition.clerk_by_badge:
            raise DomainError("bad_request", f"没有工号为 {clerk} 的工作人员")
        hotline = (c.hotline_case or "").strip() or None
        if c.channel == "hotline" and hotline is None:
            raise DomainError("bad_request", "请填写 12345 热线的工单编号")
        if hotline is not None and len(hotline) > MAX_HOTLINE_CASE:
            raise DomainError("bad_request", f"热线工单编号不能超过 {MAX_HOTLINE_CASE} 个字符")
        count = self._complaints_registered.get(self.day, 0) + 1
        deadline = cal.working_days_after(self.hall, self.day, self.hall.complaint_deadline_days)
        return [ev.ComplaintRegistered(
            f"TS{self.day:%Y%m%d}-{count:03d}", c.kind, c.channel, c.category, text, window,
            clerk, c.ticket, hotline, deadline.isoformat(), c.by,
            c.contact and self.hall.complaint_keep_contact)]

    def _complaint(self, number: str, action: ComplaintAction, by: str | None = None) -> Complaint:
        """The complaint, if its table allows `action` from its status and (`by` given) `by`
        is the manager handling it; else refused."""
        complaint = _allowed(self.complaints, Complaint, number, action)
        if by is not None and by != complaint.handler:
            raise DomainError("forbidden", f"投诉建议 {number} 由{complaint.handler}承办，"
                                           f"须由承办人{COMPLAINT_ACTION_NAMES[action]}")
        return complaint

    def _assign_complaint(self, c: cmd.AssignComplaint, now: datetime) -> Decision:
        complaint = self._complaint(c.complaint, "assign")
        if complaint.handler == c.by:
            raise DomainError("conflict", f"投诉建议 {c.complaint} 已由您承办")
        return [ev.ComplaintAssigned(c.complaint, c.by)]

    def _reply_complaint(self, c: cmd.ReplyComplaint, now: datetime) -> Decision:
        self._complaint(c.complaint, "reply", c.by)
        return [ev.ComplaintReplied(c.complaint, self._reason(c.reply, "答复内容", MAX_CASE_TEXT),
                                    c.valid, c.by)]

    def _follow_up_complaint(self, c: cmd.FollowUpComplaint, now: datetime) -> Decision:
        self._follow_up_result(c.result)
        complaint = self._complaint(c.complaint, "follow_up", c.by)
        self._may_call_back(complaint.follow_ups, f"投诉建议 {c.complaint}")
        return [ev.ComplaintFollowedUp(c.complaint, c.result,
                                       self._reason(c.note, "回访记录", MAX_CASE_TEXT, False), c.by,
                                       len(complaint.follow_ups) + 1)]

    def _close_complaint(self, c: cmd.CloseComplaint, now: datetime) -> Decision:
        complaint = self._complaint(c.complaint, "close", c.by)
        if complaint.awaits_follow_up:
            raise DomainError("conflict", f"投诉建议 {c.complaint} 尚未回访：回访接通（或 "
                                          f"{FOLLOW_UP_TRIES} 次未接通）后方可办结")
        return [ev.ComplaintClosed(c.complaint, self._reason(c.note, "办结说明", MAX_CASE_TEXT, False),
                                   c.by)]

    # --- appointments (预约) -----------------------------------------------------------------

    def booking_rules(self, prefix: str) -> tuple[Category, BookingRules]:
        """The category and its booking rules; refused when there is none or it takes no
        bookings."""
        category = self.definition.category_by_prefix.get(prefix)
        if category is None:
            raise DomainError("not_found", f"没有“{prefix}”这个业务类别")
        if category.booking is None:
            raise DomainError("bad_request", f"{category.name}不接受预约，请到大厅现场取号")
        return category, category.booking

    def bookable(self, prefix: str, day_text: str, now: datetime) -> tuple[Category, BookingRules, date]:
        """The category, its rules and the day, if that day can be booked now: within the
        horizon and a working day of the hall's calendar; else refused, in words."""
        category, rules = self.booking_rules(prefix)
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise DomainError("bad_request", f"无法识别的日期：{day_text}（应如 2026-12-08）") from None
        today = cal.service_day(self.hall, now)
        if day < today:
            raise DomainError("bad_request", f"{bk.day_label(day)}已过，请选择今天或以后的日期")
        if day > today + timedelta(days=rules.horizon_days):
            raise DomainError("bad_request", f"{category.name}只能预约 {rules.horizon_days} 天内的号，"
                                             f"最晚 {bk.day_label(today + timedelta(days=rules.horizon_days))}")
        if not bk.bookable_day(self.hall, day):
            raise DomainError("closed", f"{bk.day_label(day)}大厅不办公（周末或节假日），请选择其他日期")
        return category, rules, day

    def free_places(self, prefix: str, day: date, start: time) -> int:
        """The places of the slot from `start` not held by a booking. A booking holds a place
        over the time it was booked for, so after a change of the category's slots a slot
        counts every booking whose time overlaps it, and is never over-booked."""
        rules = self.definition.category_by_prefix[prefix].booking
        assert rules is not None
        begins = bk.slot_moment(self.hall, day, start)
        ends = begins + timedelta(minutes=rules.slot_minutes)
        held = sum(1 for b in self.bookings_by_day.get(day, {}).values()
                   if b.category == prefix and _holds_place(b)
                   and b.slot_at < ends and begins < b.slot_at + timedelta(minutes=b.minutes))
        return max(0, rules.places - held)

    def phone_blocked_until(self, keys: Iterable[str]) -> tuple[date, int] | None:
        """The last day the phone of `keys` (its keys under every booking salt kept) is
        blocked from booking, and the no-shows that blocked it; None if never: each no-show
        that makes `booking_no_show_limit` within `booking_no_show_days` blocks the phone for
        `booking_block_days` from its day, unless it was blocked on that day already."""
        keys = list(keys)
        raised = max((self.blocks_raised[k] for k in keys if k in self.blocks_raised), default=None)
        return _block(self.hall, [d for k in keys for d in self.no_shows.get(k, ())], raised)

    def _book(self, c: cmd.Book, now: datetime) -> Decision:
        category, rules, day = self.bookable(c.category, c.day, now)
        if c.service is not None:
            self._check_item(c.service, category)
        try:
            start = cal.parse_clock(c.slot)
        except ValueError:
            start = None
        if start is None or start not in bk.slot_starts(rules):
            raise DomainError("bad_request", f"{category.name}没有 {c.slot} 开始的预约时段，请重新选择")
        if bk.slot_moment(self.hall, day, start) <= now:
            raise DomainError("closed", f"{bk.slot_label(rules, start)}这个时段已开始，请选择稍后的时段")
        today = cal.service_day(self.hall, now)
        keys = {c.phone_key, *c.phone_keys}
        blocked = self.phone_blocked_until(keys)
        if blocked is not None and blocked[0] >= today:
            raise DomainError("forbidden", blocked_text(self.hall, blocked[0]))
        held = sum(self._phone_day.get((key, day), 0) for key in keys)
        if held >= rules.per_phone_per_day:
            raise DomainError("conflict", f"该手机号已预约了{bk.day_label(day)}的号"
                                          f"（每个手机号每天最多预约 {rules.per_phone_per_day} 个）")
        if self.free_places(c.category, day, start) <= 0:
            raise DomainError("conflict", f"{bk.day_label(day)} {bk.slot_label(rules, start)}"
                                          "已约满，请选择其他时段")
        if c.code in self.bookings:
            raise DomainError("conflict", "预约码重复，请重新提交")
        return [ev.BookingMade(c.code, c.category, c.service, day.isoformat(), cal.clock_text(start),
                               c.phone_key, c.id_key, rules.slot_minutes)]

    def _booking(self, code: str, action: BookingAction) -> Booking:
        booking = self.bookings.get(code)
        if booking is None:
            raise DomainError("not_found", f"没有预约码为 {code} 的预约，请核对")
        if not booking_allows(booking.status, action):
            raise DomainError("conflict", f"预约 {code} {BOOKING_STATUS_NAMES[booking.status]}，"
                                          f"不能{BOOKING_ACTION_NAMES[action]}")
        return booking

    def _cancel_booking(self, c: cmd.CancelBooking, now: datetime) -> Decision:
        booking = self.bookings.get(c.code)
        if booking is None or not {booking.phone_key, booking.id_key} & set(c.proofs):
            raise DomainError("not_found", "预约码与手机号（或身份证后四位）不符，请核对")
        self._booking(c.code, "cancel")
        if now >= booking.slot_at:
            raise DomainError("conflict", "预约时段已开始，不能再取消")
        return [ev.BookingCancelled(c.code)]

    def _check_in(self, c: cmd.CheckIn, now: datetime) -> Decision:
        booking = self.bookings.get(c.code)
        if booking is None:
            raise DomainError("not_found", f"没有预约码为 {c.code} 的预约，请核对后重新输入")
        if not booking_allows(booking.status, "check_in_late"):   # said before its day or time
            self._booking(c.code, "check_in_late")
        reason = bk.withdrawal(self.definition, booking.category, booking.day)
        if reason is not None:   # the tick withdraws it; meanwhile refused in the same words
            raise DomainError("conflict", f"{reason}，您的预约已撤销，请现场取号")
        category = self.definition.category_by_prefix[booking.category]
        rules = category.booking
        assert rules is not None   # else withdrawn
        slot = f"{bk.day_label(booking.day)} {bk.slot_label(rules, booking.slot)}"
        if booking.day > self.day:
            raise DomainError("closed", f"您预约的是{slot}，请当天再来签到",
                              come_back_at=_seconds(booking.slot_at - timedelta(minutes=rules.early_minutes)))
        if booking.day < self.day:
            raise DomainError("conflict", f"您预约的是{slot}，预约已过期；如需办理请现场取号")
        moment = cal.local(self.hall, now)
        opens = booking.slot_at - timedelta(minutes=rules.early_minutes)
        if moment < opens:
            raise DomainError("closed", f"您预约的是{slot}，签到时间未到，"
                                        f"请于 {opens:%H:%M} 以后再来签到", come_back_at=_seconds(opens))
        late = moment > booking.slot_at + timedelta(minutes=rules.late_minutes)
        self._booking(c.code, "check_in_late" if late else "check_in")
        if late:   # a walk-in's ticket, with a walk-in's checks (hours, the day's numbers)
            try:
                issued = self._take_ticket(cmd.TakeTicket(booking.category, ticket_kind(category.kinds),
                                                          "normal", booking.service), now)
            except DomainError as error:
                if error.code != "closed":
                    raise
                # the citizen came, late: that is recorded (not a no-show), and told why no
                # ticket can be given (`sessions` refuses the check-in with these words)
                return [ev.BookingCheckedIn(c.code, "", True, refused=error.message)]
        else:
            number = f"{booking.category}{self.issued[booking.category] + 1:03d}"
            issued = [ev.TicketIssued(number, booking.category, ticket_kind(category.kinds), "normal",
                                      booking.service,
                                      self.queues[booking.category].ahead_of(
                                          "priority", now, booking.slot_at),
                                      self.catalogue_version, booking=booking.code,
                                      slot_at=_seconds(booking.slot_at))]
        ticket = issued[0]
        assert isinstance(ticket, ev.TicketIssued)
        return [*issued, ev.BookingCheckedIn(c.code, ticket.number, late)]

    def _lift_booking_block(self, c: cmd.LiftBookingBlock, now: datetime) -> Decision:
        blocked = self.phone_blocked_until(c.phone_keys)
        if blocked is None or blocked[0] < cal.service_day(self.hall, now):
            raise DomainError("conflict", "该手机号目前没有被限制预约")
        return [ev.BookingBlockLifted(tuple(k for k in c.phone_keys
                                            if k in self.no_shows or k in self.blocks_raised),
                                      blocked[0].isoformat(), c.by)]

    def withdrawals(self, definition: HallDefinition) -> list[tuple[Booking, str]]:
        """The bookings still BOOKED that the hall, as `definition` has it, can no longer
        honour, each with why (`bk.withdrawal`): what the tick withdraws, and what
        `queue-server import-hall` warns of."""
        return [(b, reason) for b in self._due.values()
                if (reason := bk.withdrawal(definition, b.category, b.day)) is not None]

    def _bookings_released(self, now: datetime) -> Decision:
        """Each booking the hall can no longer honour is withdrawn; each one still not checked
        in at its late limit is released (a no-show), counted against its phone only when
        released within `RELEASE_GRACE` of that limit (the server was down otherwise); a phone
        whose counted no-shows make `booking_no_show_limit` within `booking_no_show_days` is
        blocked for `booking_block_days` (`phone_blocked_until`)."""
        withdrawn = self.withdrawals(self.definition)
        decision: Decision = [ev.BookingWithdrawn(b.code, reason) for b, reason in withdrawn]
        gone = {b.code for b, _ in withdrawn}
        counted: dict[str, list[date]] = {}   # with the no-shows this tick counts
        for booking in self._due.values():
            if booking.code in gone:
                continue
            rules = self.definition.category_by_prefix[booking.category].booking
            assert rules is not None   # else withdrawn
            limit = booking.slot_at + timedelta(minutes=rules.late_minutes)
            if now <= limit:
                continue
            counts = now <= limit + RELEASE_GRACE
            decision.append(ev.BookingReleased(booking.code, counts))
            if not counts:
                continue
            key = booking.phone_key
            days = counted.setdefault(key, list(self.no_shows.get(key, ())))
            raised = self.blocks_raised.get(key)
            before = _block(self.hall, days, raised)
            days.append(booking.day)
            after = _block(self.hall, days, raised)
            if after is not None and after != before:
                decision.append(ev.BookingBlocked(key, after[0].isoformat(), after[1]))
        return decision

    def _tick(self, c: cmd.Tick, now: datetime) -> Decision:
        decision: Decision = []
        moment = cal.local(self.hall, now)
        session_start = cal.session_start(self.hall, moment)
        limit = self.hall.unattended_after_minutes
        for w in self.windows.values():
            # 脱岗 is leaving a window that was open: one nobody opened today is 未开放 (the
            # KPIs count it the same way), so a hall with spare windows is not flooded.
            if w.clerk is None and w.unstaffed_since is not None and session_start is not None \
                    and limit > 0:
                since = max(w.unstaffed_since, session_start)
                minutes = int((now - since).total_seconds() // 60)
                level = 2 if minutes >= 2 * limit else 1 if minutes >= limit else 0
                # The warning says `since` in whole seconds, as every time on the wire; the
                # absence it was raised for is known by that same whole second.
                if level > (w.warned if w.warned_since == _whole(since) else 0):
                    decision.append(ev.WarningRaised(
                        "red" if level == 2 else "yellow", "unattended",
                        f"{w.number} 号窗口（{w.definition.name}）已无人值守 {minutes} 分钟",
                        window=w.number, minutes=minutes, since=_seconds(since)))
            if w.current is not None:
                assert w.current.called_at is not None, w.current.number  # set by its call
                decision += self._overdue(w.current, "long_service", w.current.called_at, now,
                                          self.hall.service_warning_minutes,
                                          2 * self.hall.service_warning_minutes)
            if w.clerk is None and w.targeted:
                waited_since = w.unstaffed_since
                back_after = timedelta(minutes=self.hall.transfer_return_minutes)
                for ticket in w.targeted:
                    assert ticket.targeted_at is not None, ticket.number  # set by its transfer
                    since = max(waited_since or ticket.targeted_at, ticket.targeted_at)
                    if now - since >= back_after and ticket_allows(ticket.status, "return"):
                        decision.append(ev.TicketReturned(ticket.number, w.number,
                                                          ticket.category))
        decision += self._cases_overdue()
        decision += self._bookings_released(now)
        if self.hall.wait_yellow_minutes or self.hall.wait_red_minutes:
            for ticket in self._waiting():
                if ticket.wait_warned < 2:
                    decision += self._overdue(ticket, "long_wait", self.queued_since(ticket), now,
                                              self.hall.wait_yellow_minutes,
                                              self.hall.wait_red_minutes)
        return decision

    def _cases_overdue(self) -> Decision:
        """A red warning for each open case past its deadline, once, on a working day (a
        warning is the day's: one raised on a Saturday would be gone by Monday)."""
        if not cal.is_working_day(self.hall, self.day):
            return []
        decision: Decision = []
        for case in self.cases.values():
            if case.is_open and not case.overdue_warned and self.day > case.deadline:
                clerk = self.definition.clerk_by_badge.get(case.clerk)
                decision += [ev.CaseOverdue(case.number), ev.WarningRaised(
                    "red", "case_overdue",
                    f"差评工单 {case.number}（{case.window} 号窗口{clerk.name if clerk else case.clerk}）"
                    f"已超过办理期限 {case.deadline:%m月%d日}，仍为“{CASE_STATUS_NAMES[case.status]}”",
                    window=case.window, clerk=case.clerk, case=case.number)]
        return decision

    def _waiting(self) -> Iterable[Ticket]:
        """The tickets waiting now, from the queues and the windows' transferred-in lists: the
        tick looks at these only, not at every ticket of the day."""
        for queue in self.queues.values():
            yield from queue.green
            yield from queue.priority
            yield from queue.normal
        for window in self.windows.values():
            yield from window.targeted

    @staticmethod
    def queued_since(ticket: Ticket) -> datetime:
        """Since when a waiting ticket waits: its issue, or its last transfer or return."""
        return ticket.trail[-1]["at"] if ticket.trail else ticket.issued_at

    def _overdue(self, ticket: Ticket, kind: str, since: datetime, now: datetime,
                 yellow: int, red: int) -> Decision:
        """A `long_wait` or `long_service` warning for `ticket`, if it has newly passed a
        threshold (minutes; 0 turns a level off)."""
        minutes = int((now - since).total_seconds() // 60)
        level = 2 if 0 < red <= minutes else 1 if 0 < yellow <= minutes else 0
        if level <= (ticket.wait_warned if kind == "long_wait" else ticket.service_warned):
            return []
        category = self.definition.category_by_prefix[ticket.category].name
        if kind == "long_wait":
            text = f"{ticket.number} 号（{category}）已等候 {minutes} 分钟"
        else:
            text = f"{ticket.window} 号窗口办理 {ticket.number} 号（{category}）已 {minutes} 分钟"
        return [ev.WarningRaised("red" if level == 2 else "yellow", kind, text,
                                 window=ticket.window if kind == "long_service" else None,
                                 ticket=ticket.number, minutes=minutes, since=_seconds(since))]

    # --- applying events -------------------------------------------------------------------------
    # One handler per kind, found through `APPLY` below. A ticket's or window's status is only
    # ever set through the lifecycle tables (`ticket_after`, `window_after`).

    def _enqueue(self, ticket: Ticket) -> None:
        if ticket.target_window is not None:
            add_targeted(self.windows[ticket.target_window].targeted, ticket)
        else:
            self.queues[ticket.category].add(ticket)

    def _dequeue(self, ticket: Ticket) -> None:
        if ticket.target_window is not None:
            self.windows[ticket.target_window].targeted.remove(ticket)
        else:
            self.queues[ticket.category].remove(ticket)

    def _move(self, ticket: Ticket, action: TicketAction) -> None:
        ticket.status = ticket_after(ticket.status, action, ticket.number)

    def _move_window(self, window: WindowState, action: WindowAction) -> None:
        window.status = window_after(window.status, action, window.number)

    def _on_ticket_issued(self, e: Event[ev.TicketIssued]) -> None:
        d = e.data
        ticket = Ticket(d.number, d.category, d.kind, d.priority, d.service, e.at, e.seq,
                        catalogue_version=d.catalogue_version, booking=d.booking,
                        slot_at=datetime.fromisoformat(d.slot_at) if d.slot_at else None,
                        point=d.point, cases=d.cases)
        self.tickets[ticket.number] = ticket
        if d.point is not None:
            for case in d.cases:
                self.batched[(d.point, case)] = d.number
        self.issued[ticket.category] += 1
        self.queues[ticket.category].add(ticket)
        if d.phone_key is not None:
            self.phone_tickets[(d.phone_key, d.category)] = d.number
            self.mobile_issued[d.category] += 1

    def _on_ticket_called(self, e: Event[ev.TicketCalled]) -> None:
        d = e.data
        ticket = self.tickets[d.number]
        window = self.windows[d.window]
        after = ticket_after(ticket.status, "recall" if d.via == "recall" else "call", d.number)
        if d.via == "recall":
            ticket.status = after
            ticket.recalls += 1
            ticket.called_at = e.at
            return
        if ticket.status == TicketStatus.HELD:
            self._window_of(ticket).held.remove(ticket)
        else:
            if ticket.target_window is None:
                queue = self.queues[ticket.category]
                if klass(ticket) == "normal":
                    queue.streak = 0
                elif d.via == "next":
                    queue.streak = queue.streak + 1 if queue.normal else 0
            self._dequeue(ticket)
            ticket.target_window = None
        ticket.status = after
        ticket.window = window.number
        ticket.clerk, ticket.post = window.clerk, window.post
        ticket.calls += 1
        ticket.called_at = e.at
        if ticket.first_called_at is None:
            ticket.first_called_at = e.at
            ticket.first_clerk, ticket.first_window = window.clerk, window.number
        window.current = ticket

    def _end(self, ticket: Ticket, action: TicketAction, at: datetime) -> None:
        self._move(ticket, action)
        ticket.ended_at = at
        self._window_of(ticket).current = None

    def _on_ticket_no_show(self, e: Event[ev.TicketNoShow]) -> None:
        self._end(self.tickets[e.data.number], "no_show", e.at)

    def _on_ticket_finished(self, e: Event[ev.TicketFinished]) -> None:
        ticket = self.tickets[e.data.number]
        self._end(ticket, "finish", e.at)
        window = self._window_of(ticket)
        ticket.clerk, ticket.post = window.clerk, window.post
        ticket.outcome, ticket.note = e.data.outcome, e.data.note
        assert ticket.called_at is not None, ticket.number  # a finished ticket was called
        served, seconds = self.service_seconds.get(ticket.category, (0, 0.0))
        self.service_seconds[ticket.category] = (
            served + 1, seconds + (e.at - ticket.called_at).total_seconds())

    def _on_ticket_held(self, e: Event[ev.TicketHeld]) -> None:
        ticket = self.tickets[e.data.number]
        self._move(ticket, "hold")
        window = self._window_of(ticket)
        window.current = None
        window.held.append(ticket)
        ticket.hold_reason = e.data.reason

    def _on_ticket_transferred(self, e: Event[ev.TicketTransferred]) -> None:
        d = e.data
        ticket = self.tickets[d.number]
        self._move(ticket, "transfer")
        self._window_of(ticket).current = None
        ticket.transfers += 1
        ticket.trail.append({"at": e.at, "kind": "transferred", "window": d.window,
                             "clerk": d.clerk, "to_category": d.to_category,
                             "to_window": d.to_window, "note": d.note})
        if d.to_category is not None:
            ticket.category = d.to_category
        else:
            ticket.target_window = d.to_window
            ticket.targeted_at = e.at
        self._enqueue(ticket)

    def _on_ticket_returned(self, e: Event[ev.TicketReturned]) -> None:
        ticket = self.tickets[e.data.number]
        if ticket.target_window is None:
            raise BrokenTransition(f"{ticket.number} 号没有转给某个窗口，无从退回")
        self._move(ticket, "return")
        self._dequeue(ticket)
        ticket.trail.append({"at": e.at, "kind": "returned", "window": e.data.window})
        ticket.target_window = None
        ticket.targeted_at = None
        self._enqueue(ticket)

    def _on_ticket_cancelled(self, e: Event[ev.TicketCancelled]) -> None:
        ticket = self.tickets[e.data.number]
        before = ticket.status
        self._move(ticket, "cancel")
        if before == TicketStatus.WAITING:
            self._dequeue(ticket)
        elif before == TicketStatus.HELD:
            self._window_of(ticket).held.remove(ticket)
        elif before == TicketStatus.CALLED:
            self._window_of(ticket).current = None
        ticket.ended_at = e.at
        ticket.end_reason = e.data.reason

    def _on_ticket_priority_set(self, e: Event[ev.TicketPrioritySet]) -> None:
        ticket = self.tickets[e.data.number]
        self._move(ticket, "set_priority")
        self._dequeue(ticket)
        ticket.priority = e.data.priority
        self._enqueue(ticket)

    def _on_ticket_rated(self, e: Event[ev.TicketRated]) -> None:
        ticket = self.tickets[e.data.number]
        self._move(ticket, "rate")
        if e.data.channel == "pad":
            ticket.pad_rated = True
        else:
            ticket.citizen_rated = True
        if e.data.score is not None:
            ticket.score = e.data.score

    def _on_clerk_signed_in(self, e: Event[ev.ClerkSignedIn]) -> None:
        window = self.windows[e.data.window]
        self._move_window(window, "sign_in")
        window.clerk, window.post = e.data.clerk, e.data.post
        window.signed_in_at = e.at
        window.pause_reason = ""
        window.unstaffed_since, window.warned, window.warned_since = None, 0, None
        self.clerk_window[window.clerk] = window.number

    def _on_clerk_signed_out(self, e: Event[ev.ClerkSignedOut]) -> None:
        window = self.windows[e.data.window]
        self._move_window(window, "sign_out")
        if window.clerk is not None:
            self.clerk_window.pop(window.clerk, None)
        window.clerk = window.post = window.signed_in_at = None
        window.pause_reason = ""
        window.unstaffed_since, window.warned, window.warned_since = e.at, 0, None

    def _on_window_paused(self, e: Event[ev.WindowPaused]) -> None:
        window = self.windows[e.data.window]
        self._move_window(window, "pause")
        window.pause_reason = e.data.reason

    def _on_window_resumed(self, e: Event[ev.WindowResumed]) -> None:
        window = self.windows[e.data.window]
        self._move_window(window, "resume")
        window.pause_reason = ""

    def _on_warning(self, e: Event[ev.WarningRaised]) -> None:
        d = e.data
        level = 2 if d.level == "red" else 1
        if d.kind == "unattended":
            assert d.window is not None and d.since is not None   # an unattended warning's
            window = self.windows[d.window]
            window.warned = level
            window.warned_since = _whole(datetime.fromisoformat(d.since))
        elif d.kind == "long_wait":
            assert d.ticket is not None
            self.tickets[d.ticket].wait_warned = level
        elif d.kind == "long_service":
            assert d.ticket is not None
            self.tickets[d.ticket].service_warned = level
        self.warnings[e.seq] = {"seq": e.seq, "at": e.at, **d.fields(), "acknowledged": None}

    def _on_warning_acknowledged(self, e: Event[ev.WarningAcknowledged]) -> None:
        self.warnings[e.data.warning]["acknowledged"] = {"by": e.data.by, "at": e.at}

    def _on_notice_set(self, e: Event[ev.NoticeSet]) -> None:
        self.notice = e.data.text

    def _on_device_reported(self, e: Event[ev.DeviceReported]) -> None:
        self.devices[e.data.device] = {**e.data.fields(), "at": e.at}

    def _on_day_started(self, e: Event[ev.DayStarted]) -> None:
        self._reset_day(date.fromisoformat(e.data.day))
        self._forget_old_bookings()
        self.notice = ""
        self.devices = {}

    def _case_moved(self, e: Event[Any], action: CaseAction) -> Case:
        case = self.cases[e.data.case]
        case.status = case_after(case.status, action, case.number)
        if not case.is_open and case.closed_at is None:
            case.closed_at, case.closed_on = e.at, e.day
        return case

    def _on_case_opened(self, e: Event[ev.CaseOpened]) -> None:
        d = e.data
        self.cases[d.case] = Case(d.case, d.ticket, e.day, e.at, d.score, d.reasons, d.window,
                                  d.clerk, d.department, date.fromisoformat(d.deadline))
        self._cases_opened[e.day] = self._cases_opened.get(e.day, 0) + 1

    def _on_case_handled(self, e: Event[ev.CaseHandled]) -> None:
        d = e.data
        case = self._case_moved(e, cast(CaseAction, d.measure))
        case.handling = {"by": d.by, "at": e.at, "measure": d.measure, "finding": d.finding,
                         "published": d.published}

    def _on_case_rectified(self, e: Event[ev.CaseRectified]) -> None:
        self._case_moved(e, "rectify").rectified = {"by": e.data.by, "at": e.at,
                                                    "note": e.data.note}

    def _on_case_followed_up(self, e: Event[ev.CaseFollowedUp]) -> None:
        d = e.data
        self._case_moved(e, "follow_up").follow_ups.append(
            {"by": d.by, "at": e.at, "result": d.result, "note": d.note, "attempt": d.attempt})

    def _on_case_appealed(self, e: Event[ev.CaseAppealed]) -> None:
        d = e.data
        self._case_moved(e, "appeal").appeal = {"by": d.by, "clerk": d.clerk, "account": d.account,
                                                "at": e.at, "reason": d.reason}

    def _on_case_appeal_decided(self, e: Event[ev.CaseAppealDecided]) -> None:
        d = e.data
        case = self._case_moved(e, "uphold" if d.upheld else "reject")
        case.decision = {"by": d.by, "account": d.account, "at": e.at, "upheld": d.upheld,
                         "reason": d.reason}

    def _on_case_appeal_withdrawn(self, e: Event[ev.CaseAppealWithdrawn]) -> None:
        case = self._case_moved(e, "withdraw")
        assert case.appeal is not None   # appealing
        case.withdrawn.append({"by": e.data.by, "at": e.at, "reason": case.appeal["reason"]})
        case.appeal = None

    def _on_case_overdue(self, e: Event[ev.CaseOverdue]) -> None:
        self.cases[e.data.case].overdue_warned = True

    def _complaint_moved(self, e: Event[Any], action: ComplaintAction) -> Complaint:
        complaint = self.complaints[e.data.complaint]
        complaint.status = complaint_after(complaint.status, action, complaint.number)
        return complaint

    def _on_complaint_registered(self, e: Event[ev.ComplaintRegistered]) -> None:
        d = e.data
        self.complaints[d.complaint] = Complaint(
            d.complaint, e.day, e.at, d.kind, d.channel, d.category, d.text, d.window, d.clerk,
            d.ticket, d.hotline_case, date.fromisoformat(d.deadline), d.by, d.contact)
        self._complaints_registered[e.day] = self._complaints_registered.get(e.day, 0) + 1

    def _on_complaint_assigned(self, e: Event[ev.ComplaintAssigned]) -> None:
        complaint = self._complaint_moved(e, "assign")
        complaint.handler, complaint.assigned_at = e.data.by, e.at

    def _on_complaint_replied(self, e: Event[ev.ComplaintReplied]) -> None:
        d = e.data
        self._complaint_moved(e, "reply").reply = {"by": d.by, "at": e.at, "reply": d.reply,
                                                   "valid": d.valid}

    def _on_complaint_followed_up(self, e: Event[ev.ComplaintFollowedUp]) -> None:
        d = e.data
        self._complaint_moved(e, "follow_up").follow_ups.append(
            {"by": d.by, "at": e.at, "result": d.result, "note": d.note, "attempt": d.attempt})

    def _on_complaint_closed(self, e: Event[ev.ComplaintClosed]) -> None:
        complaint = self._complaint_moved(e, "close")
        complaint.closed = {"by": e.data.by, "at": e.at, "note": e.data.note}
        complaint.closed_on = e.day

    def _on_booking_made(self, e: Event[ev.BookingMade]) -> None:
        d = e.data
        day, start = date.fromisoformat(d.day), cal.parse_clock(d.slot)
        if day < bk.kept_since(self.hall, self.day):   # replayed, of a day that no longer matters
            return
        category = self.definition.category_by_prefix.get(d.category)
        minutes = d.minutes or (category.booking.slot_minutes if category and category.booking else 0)
        booking = Booking(d.booking, d.category, d.service, day, start,
                          bk.slot_moment(self.hall, day, start), d.phone_key, d.id_key, e.at,
                          minutes)
        self.bookings[d.booking] = booking
        self.bookings_by_day.setdefault(day, {})[d.booking] = booking
        self._hold_place(booking, 1)
        self._due[d.booking] = booking

    def _hold_place(self, booking: Booking, count: int) -> None:
        phone_day = (booking.phone_key, booking.day)
        self._phone_day[phone_day] = self._phone_day.get(phone_day, 0) + count

    def _booking_moved(self, e: Event[Any], action: BookingAction) -> Booking | None:
        """The booking moved, or None: one replayed of a day that no longer matters."""
        booking = self.bookings.get(e.data.booking)
        if booking is None:
            return None
        held = _holds_place(booking)
        booking.status = booking_after(booking.status, action, booking.code)
        self._due.pop(booking.code, None)
        if held and not _holds_place(booking):
            self._hold_place(booking, -1)
        return booking

    def _on_booking_cancelled(self, e: Event[ev.BookingCancelled]) -> None:
        self._booking_moved(e, "cancel")

    def _on_booking_withdrawn(self, e: Event[ev.BookingWithdrawn]) -> None:
        self._booking_moved(e, "withdraw")

    def _on_booking_checked_in(self, e: Event[ev.BookingCheckedIn]) -> None:
        booking = self._booking_moved(e, "check_in_late" if e.data.late else "check_in")
        if booking is None:
            return
        booking.ticket, booking.checked_in_at = e.data.ticket or None, e.at
        if e.data.refused is not None and booking.no_show_counted:   # came, but got no ticket
            booking.no_show_counted = False
            days = self.no_shows.get(booking.phone_key, [])
            if booking.day in days:   # not if a manager lifted the phone's block since
                days.remove(booking.day)

    def _on_booking_released(self, e: Event[ev.BookingReleased]) -> None:
        booking = self._booking_moved(e, "release")
        if booking is not None and e.data.counted:
            booking.no_show_counted = True
            self.no_shows.setdefault(booking.phone_key, []).append(booking.day)

    def _on_booking_blocked(self, e: Event[ev.BookingBlocked]) -> None:
        """The block is read from the no-shows (`phone_blocked_until`); what is kept of the
        event is the block's end, so that a no-show it covered starts none once the no-shows
        that raised it are forgotten. The event tells the managers."""
        until = date.fromisoformat(e.data.until)
        kept = self.blocks_raised.get(e.data.phone_key)
        if kept is None or kept[0] < until:
            self.blocks_raised[e.data.phone_key] = (until, e.data.no_shows)

    def _on_booking_block_lifted(self, e: Event[ev.BookingBlockLifted]) -> None:
        for key in e.data.phone_keys:
            self.no_shows.pop(key, None)
            self.blocks_raised.pop(key, None)

    def _forget_old_bookings(self) -> None:
        """Drop the bookings and no-shows of the days no no-show rule reads any more."""
        since = bk.kept_since(self.hall, self.day)
        for day in [d for d in self.bookings_by_day if d < since]:
            for booking in self.bookings_by_day.pop(day).values():
                del self.bookings[booking.code]
                self._due.pop(booking.code, None)
                self._phone_day.pop((booking.phone_key, booking.day), None)
        for key in list(self.no_shows):
            self.no_shows[key] = [d for d in self.no_shows[key] if d >= since]
            if not self.no_shows[key]:
                del self.no_shows[key]
        for key in [k for k, (until, _) in self.blocks_raised.items() if until < since]:
            del self.blocks_raised[key]


APPLY: dict[type[ev.Record], Callable[[HallState, Event[Any]], None]] = dict([
    ev.entry(ev.TicketIssued, HallState._on_ticket_issued),
    ev.entry(ev.TicketCalled, HallState._on_ticket_called),
    ev.entry(ev.TicketNoShow, HallState._on_ticket_no_show),
    ev.entry(ev.TicketHeld, HallState._on_ticket_held),
    ev.entry(ev.TicketTransferred, HallState._on_ticket_transferred),
    ev.entry(ev.TicketReturned, HallState._on_ticket_returned),
    ev.entry(ev.TicketFinished, HallState._on_ticket_finished),
    ev.entry(ev.TicketCancelled, HallState._on_ticket_cancelled),
    ev.entry(ev.TicketPrioritySet, HallState._on_ticket_priority_set),
    ev.entry(ev.TicketRated, HallState._on_ticket_rated),
    ev.entry(ev.ClerkSignedIn, HallState._on_clerk_signed_in),
    ev.entry(ev.ClerkSignedOut, HallState._on_clerk_signed_out),
    ev.entry(ev.WindowPaused, HallState._on_window_paused),
    ev.entry(ev.WindowResumed, HallState._on_window_resumed),
    ev.entry(ev.WarningRaised, HallState._on_warning),
    ev.entry(ev.WarningAcknowledged, HallState._on_warning_acknowledged),
    ev.entry(ev.NoticeSet, HallState._on_notice_set),
    ev.entry(ev.DeviceReported, HallState._on_device_reported),
    ev.entry(ev.DayStarted, HallState._on_day_started),
    ev.entry(ev.CaseOpened, HallState._on_case_opened),
    ev.entry(ev.CaseHandled, HallState._on_case_handled),
    ev.entry(ev.CaseRectified, HallState._on_case_rectified),
    ev.entry(ev.CaseFollowedUp, HallState._on_case_followed_up),
    ev.entry(ev.CaseAppealed, HallState._on_case_appealed),
    ev.entry(ev.CaseAppealDecided, HallState._on_case_appeal_decided),
    ev.entry(ev.CaseOverdue, HallState._on_case_overdue),
    ev.entry(ev.ComplaintRegistered, HallState._on_complaint_registered),
    ev.entry(ev.ComplaintAssigned, HallState._on_complaint_assigned),
    ev.entry(ev.ComplaintReplied, HallState._on_complaint_replied),
    ev.entry(ev.ComplaintFollowedUp, HallState._on_complaint_followed_up),
    ev.entry(ev.ComplaintClosed, HallState._on_complaint_closed),
    ev.entry(ev.CaseAppealWithdrawn, HallState._on_case_appeal_withdrawn),
    ev.entry(ev.BookingMade, HallState._on_booking_made),
    ev.entry(ev.BookingCancelled, HallState._on_booking_cancelled),
    ev.entry(ev.BookingCheckedIn, HallState._on_booking_checked_in),
    ev.entry(ev.BookingReleased, HallState._on_booking_released),
    ev.entry(ev.BookingBlocked, HallState._on_booking_blocked),
    ev.entry(ev.BookingWithdrawn, HallState._on_booking_withdrawn),
    ev.entry(ev.BookingBlockLifted, HallState._on_booking_block_lifted),
])
"""How each kind of event changes the hall's state."""

ACTION_NAMES: dict[TicketAction, str] = {
    "call": "叫号", "recall": "重呼", "no_show": "过号", "hold": "挂起", "transfer": "转移",
    "finish": "办结", "return": "退回原类别", "set_priority": "开绿色通道", "rate": "评价",
    "cancel": "作废"}
