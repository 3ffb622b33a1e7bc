"""The lifecycle tables are the rules: every move they allow happens, every other one is refused.

The tickets', windows', 差评 cases' and complaints' tables alike.

Each test case is derived from the tables in `queue_server.lifecycle`: for every status and
every action, a ticket (or window) is put in that status through real commands, the action is
tried through the command a clerk, manager, pad or the clock would send, and `HallState` must
agree with the table: the move is made and ends in the table's status, or it is refused and
nothing changes. Applying an event whose move the table forbids is a broken log and raises.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from queue_server import commands as cmd
from queue_server import events as ev
from queue_server.domain_errors import DomainError
from queue_server.events import Event
from queue_server.hall_state import HallState
from queue_server.hall_toml import load_hall
from queue_server.lifecycle import (
    BOOKING_ACTIONS,
    BOOKING_TRANSITIONS,
    CASE_ACTIONS,
    CASE_TRANSITIONS,
    COMPLAINT_ACTIONS,
    COMPLAINT_TRANSITIONS,
    TICKET_ACTIONS,
    TICKET_TRANSITIONS,
    WINDOW_ACTIONS,
    WINDOW_TRANSITIONS,
    BookingStatus,
    BrokenTransition,
    CaseStatus,
    ComplaintStatus,
    TicketStatus,
    WindowStatus,
)
from tests.test_appointments import HALL as BOOKING_HALL  # category A takes bookings

HALL = load_hall(Path(__file__).parent / "data" / "small-hall.toml")
TZ = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
X = "A001"


def _hall_with_ticket_in(status: TicketStatus, targeted: bool) -> HallState:
    """Windows 1 (clerk 1001) and 3 (1003) open; A001 in `status`, called at window 1 if it
    was ever called; `targeted`: a waiting A001 was transferred to window 2, where nobody is."""
    state = HallState(HALL, MONDAY.date())
    state.handle(cmd.SignIn("1001", 1, "A"), MONDAY)
    state.handle(cmd.SignIn("1003", 3, "A"), MONDAY)
    state.handle(cmd.TakeTicket("A"), MONDAY)
    if status == TicketStatus.WAITING and not targeted:
        return state
    state.handle(cmd.CallNumber("1001", 1, X), MONDAY)
    then = {
        TicketStatus.WAITING: cmd.Transfer("1001", 1, to_window=2),
        TicketStatus.HELD: cmd.Hold("1001", 1, "缺少材料"),
        TicketStatus.FINISHED: cmd.Finish("1001", 1, "done"),
        TicketStatus.NO_SHOW: cmd.NoShow("1001", 1),
        TicketStatus.CANCELLED: cmd.Hold("1001", 1, "缺少材料"),
    }.get(status)
    if then is not None:
        state.handle(then, MONDAY)
    if status == TicketStatus.CANCELLED:
        # A cancellation only happens in the day's close, after which the day starts afresh
        # without the ticket: the close's own event is applied on its own to keep it.
        state.apply(Event(state.seq + 1, MONDAY, state.day, ev.TicketCancelled(X, "day_end")))
    assert state.tickets[X].status == status
    return state


def _try(state: HallState, action: str) -> list[Event]:
    """Try `action` on A001 as the hall's users would; the events, or DomainError."""
    ticket = state.tickets[X]
    window = ticket.window or 1
    clerk = state.windows[window].clerk or "1001"
    later = MONDAY + timedelta(minutes=HALL.hall.transfer_return_minutes + 1)
    match action:
        case "call":   # at its own window, where it was held, or where it may be called
            if state.windows[window].current is not None:
                window, clerk = 3, "1003"
            return state.handle(cmd.CallNumber(clerk, window, X), MONDAY)
        case "recall":
            return state.handle(cmd.Recall(clerk, window), MONDAY)
        case "no_show":
            return state.handle(cmd.NoShow(clerk, window), MONDAY)
        case "hold":
            return state.handle(cmd.Hold(clerk, window, "缺少材料"), MONDAY)
        case "transfer":
            return state.handle(cmd.Transfer(clerk, window, to_category="B"), MONDAY)
        case "finish":
            return state.handle(cmd.Finish(clerk, window, "done"), MONDAY)
        case "set_priority":
            return state.handle(cmd.SetPriority(X, "green", "主任"), MONDAY)
        case "rate":
            return state.handle(cmd.Rate(X, 4, (), window), MONDAY)
        case "return":   # the clock sends a transferred ticket back when nobody takes it
            return state.handle(cmd.Tick(), later)
        case "cancel":   # the day's close
            return [e for e in state.roll_to(MONDAY + timedelta(days=1))
                    if e.kind != "day_started"]
    raise AssertionError(action)


def _about_x(events: list[Event]) -> list[Event]:
    return [e for e in events if getattr(e.data, "number", None) == X]


CASES = [(status, action, targeted) for status, action in itertools.product(
    TicketStatus, TICKET_ACTIONS) for targeted in ((False, True) if status == TicketStatus.WAITING
                                                   else (False,))]


@pytest.mark.parametrize(("status", "action", "targeted"), CASES,
                         ids=[f"{s.value}-{a}{'-targeted' if t else ''}" for s, a, t in CASES])
def test_a_ticket_moves_exactly_as_its_table_says(status, action, targeted):
    state = _hall_with_ticket_in(status, targeted)
    after = TICKET_TRANSITIONS.get((status, action))
    # "return" is the clock's, for a ticket transferred to one window: any other waiting
    # ticket is not returned, and that is not a refusal of the table.
    if action == "return" and not targeted:
        after = None
    # A transferred ticket waits for its window: only that window may call it.
    if action == "call" and targeted:
        after = None
    seq = state.seq
    try:
        events = _about_x(_try(state, action))
    except DomainError:
        events = None
    if after is None:
        assert not events, f"{status} → {action} happened, but the table does not allow it"
        if events is None:
            assert state.seq == seq, "a refused command changed the state"
        assert state.tickets.get(X) is None or state.tickets[X].status == status
    else:
        assert events, f"{status} → {action} was refused, but the table allows it"
        ended = state.tickets[X].status if X in state.tickets else TicketStatus.CANCELLED
        assert ended == after
        assert state.consistency_problems() == []


def test_every_status_and_action_is_tried():
    assert {(s, a) for s, a, _ in CASES} == set(itertools.product(TicketStatus, TICKET_ACTIONS))
    assert set(TICKET_TRANSITIONS) <= {(s, a) for s, a, _ in CASES}


def _event_for(action: str, state: HallState) -> ev.Record:
    return {
        "call": ev.TicketCalled(X, 3, "1003", "A", 0, "number"),
        "recall": ev.TicketCalled(X, 1, "1001", "A", 1, "recall"),
        "no_show": ev.TicketNoShow(X, 1, "1001"),
        "hold": ev.TicketHeld(X, 1, "1001", "缺少材料"),
        "transfer": ev.TicketTransferred(X, 1, "1001", "B", None, "", "1001"),
        "finish": ev.TicketFinished(X, 1, "1001", "A", "done", ""),
        "set_priority": ev.TicketPrioritySet(X, "green", "主任"),
        "rate": ev.TicketRated(X, 4, (), "pad", 1, "1001", "A", "sb", None),
        "return": ev.TicketReturned(X, 2, "A"),
        "cancel": ev.TicketCancelled(X, "day_end"),
    }[action]


FORBIDDEN = [(s, a) for s, a in itertools.product(TicketStatus, TICKET_ACTIONS)
             if (s, a) not in TICKET_TRANSITIONS]


@pytest.mark.parametrize(("status", "action"), FORBIDDEN,
                         ids=[f"{s.value}-{a}" for s, a in FORBIDDEN])
def test_a_logged_move_the_table_forbids_is_a_broken_log(status, action):
    state = _hall_with_ticket_in(status, False)
    event = Event(state.seq + 1, MONDAY, state.day, _event_for(action, state))
    with pytest.raises(BrokenTransition):
        state.apply(event)


def _hall_with_window_in(status: WindowStatus) -> HallState:
    state = HallState(HALL, MONDAY.date())
    if status != WindowStatus.CLOSED:
        state.handle(cmd.SignIn("1001", 1, "A"), MONDAY)
    if status == WindowStatus.PAUSED:
        state.handle(cmd.Pause("1001", 1, "会议"), MONDAY)
    assert state.windows[1].status == status
    return state


WINDOW_COMMANDS = {
    "sign_in": cmd.SignIn("1001", 1, "A"),
    "takeover": cmd.SignIn("1002", 1, "B", takeover=True),
    "pause": cmd.Pause("1001", 1, "会议"),
    "resume": cmd.Resume("1001", 1),
    "call": cmd.CallNext("1001", 1),
    "sign_out": cmd.SignOut("1001", 1),
}
WINDOW_CASES = list(itertools.product(WindowStatus, WINDOW_ACTIONS))


@pytest.mark.parametrize(("status", "action"), WINDOW_CASES,
                         ids=[f"{s.value}-{a}" for s, a in WINDOW_CASES])
def test_a_window_moves_exactly_as_its_table_says(status, action):
    state = _hall_with_window_in(status)
    state.handle(cmd.TakeTicket("A"), MONDAY)   # something to call
    after = WINDOW_TRANSITIONS.get((status, action))
    seq = state.seq
    try:
        events = state.handle(WINDOW_COMMANDS[action], MONDAY)
    except DomainError:
        events = None
    if action == "takeover":   # on a closed window the same button simply signs in
        took_over = bool(events) and any(e.kind == "clerk_signed_out" for e in events)
        assert took_over == (after is not None)
    elif after is None:
        assert events is None and state.seq == seq, f"{status} → {action} was not refused"
    else:
        assert events, f"{status} → {action} was refused"
    if after is not None:
        assert state.windows[1].status == after
    else:
        assert state.windows[1].status == status or action == "takeover"


# --- 差评 cases: the third table ------------------------------------------------------------------

CASE_SETUP = {
    CaseStatus.CHECKING: [],
    CaseStatus.RECTIFYING: [lambda n: cmd.HandleCase(n, "deadline", "核实属实", "限期三天整改", "乙")],
    CaseStatus.RECTIFIED: [lambda n: cmd.HandleCase(n, "at_once", "核实属实", "已当场整改", "乙")],
    CaseStatus.EXPLAINED: [lambda n: cmd.HandleCase(n, "explain", "按规定办理", "已解释", "乙")],
    CaseStatus.APPEALING: [lambda n: cmd.AppealCase(n, "群众误评", "甲")],
    CaseStatus.UPHELD: [lambda n: cmd.AppealCase(n, "群众误评", "甲"),
                        lambda n: cmd.DecideAppeal(n, True, "监控显示服务规范", "乙", "乙")],
    CaseStatus.REJECTED: [lambda n: cmd.AppealCase(n, "群众误评", "甲"),
                          lambda n: cmd.DecideAppeal(n, False, "理由不足", "乙", "乙")],
}
CASE_COMMANDS = {
    "at_once": lambda n: cmd.HandleCase(n, "at_once", "核实属实", "已当场整改", "丙"),
    "deadline": lambda n: cmd.HandleCase(n, "deadline", "核实属实", "限期整改", "丙"),
    "explain": lambda n: cmd.HandleCase(n, "explain", "按规定办理", "已解释", "丙"),
    "rectify": lambda n: cmd.RectifyCase(n, "已整改完毕", "丙"),
    "appeal": lambda n: cmd.AppealCase(n, "群众误评", "丙"),
    "uphold": lambda n: cmd.DecideAppeal(n, True, "属实", "丙", "丙"),
    "reject": lambda n: cmd.DecideAppeal(n, False, "理由不足", "丙", "丙"),
    "withdraw": lambda n: cmd.WithdrawAppeal(n, "甲"),   # only the one who appealed
    "follow_up": lambda n: cmd.FollowUpCase(n, "satisfied", "", "丙"),
}
CASE_EVENTS = {
    "at_once": lambda n: ev.CaseHandled(n, "at_once", "核实属实", "已当场整改", "丙"),
    "deadline": lambda n: ev.CaseHandled(n, "deadline", "核实属实", "限期整改", "丙"),
    "explain": lambda n: ev.CaseHandled(n, "explain", "按规定办理", "已解释", "丙"),
    "rectify": lambda n: ev.CaseRectified(n, "已整改完毕", "丙"),
    "appeal": lambda n: ev.CaseAppealed(n, "群众误评", "丙", None),
    "uphold": lambda n: ev.CaseAppealDecided(n, True, "属实", "丙"),
    "reject": lambda n: ev.CaseAppealDecided(n, False, "理由不足", "丙"),
    "withdraw": lambda n: ev.CaseAppealWithdrawn(n, "甲", None, None),
    "follow_up": lambda n: ev.CaseFollowedUp(n, "satisfied", "", "丙", 1),
}


def _hall_with_case_in(status: CaseStatus) -> tuple[HallState, str]:
    """A 非常不满意 for A001 at window 1 opened a case, then moved to `status` by managers."""
    state = _hall_with_ticket_in(TicketStatus.FINISHED, False)
    events = state.handle(cmd.Rate(X, 1, ("服务态度不好",), 1), MONDAY)
    (number,) = [e.data.case for e in events if e.kind == "case_opened"]
    for make in CASE_SETUP[status]:
        state.handle(make(number), MONDAY)
    assert state.cases[number].status == status
    return state, number


# --- complaints: the fourth table --------------------------------------------------------------

H1, H2 = "甲（jia）", "乙（yi）"
COMPLAINT_SETUP = {
    ComplaintStatus.REGISTERED: [],
    ComplaintStatus.ASSIGNED: [lambda n: cmd.AssignComplaint(n, H1)],
    ComplaintStatus.REPLIED: [lambda n: cmd.AssignComplaint(n, H1),
                              lambda n: cmd.ReplyComplaint(n, "已核实并改进", True, H1)],
    ComplaintStatus.CLOSED: [lambda n: cmd.AssignComplaint(n, H1),
                             lambda n: cmd.ReplyComplaint(n, "已核实并改进", True, H1),
                             lambda n: cmd.FollowUpComplaint(n, "satisfied", "", H1),
                             lambda n: cmd.CloseComplaint(n, "", H1)],
}
COMPLAINT_COMMANDS = {   # each by the manager handling it (H1), or taken over by another (H2)
    "assign": lambda n: cmd.AssignComplaint(n, H2),
    "reply": lambda n: cmd.ReplyComplaint(n, "答复", False, H1),
    "follow_up": lambda n: cmd.FollowUpComplaint(n, "satisfied", "", H1),
    "close": lambda n: cmd.CloseComplaint(n, "", H1),
}
COMPLAINT_EVENTS = {
    "assign": lambda n: ev.ComplaintAssigned(n, H2),
    "reply": lambda n: ev.ComplaintReplied(n, "答复", False, H1),
    "follow_up": lambda n: ev.ComplaintFollowedUp(n, "satisfied", "", H1, 1),
    "close": lambda n: ev.ComplaintClosed(n, "", H1),
}


def _hall_with_complaint_in(status: ComplaintStatus) -> tuple[HallState, str]:
    state = HallState(HALL, MONDAY.date())
    (registered,) = state.handle(cmd.RegisterComplaint("complaint", "phone", "服务态度", "态度生硬",
                                                       by=H1), MONDAY)
    number = registered.data.complaint
    for make in COMPLAINT_SETUP[status]:
        state.handle(make(number), MONDAY)
    assert state.complaints[number].status == status
    return state, number


# --- bookings (预约): the fifth table, its moves at their moments --------------------------------

BOOKED_AT = MONDAY - timedelta(minutes=20)      # the booking, for 10:00 that day
ON_TIME = MONDAY + timedelta(minutes=50)        # 09:50: within 30 min early
LATE = MONDAY + timedelta(minutes=80)           # 10:20: past the 15 min late limit
BOOKING_AT = {"cancel": BOOKED_AT, "check_in": ON_TIME, "check_in_late": LATE, "release": LATE,
              "withdraw": ON_TIME}
_REACHED: list[HallState] = []   # the last hall `_hall_with_booking_in` made


def _hall_file_changed(n: str) -> cmd.Tick:
    """The hall file stops category A's bookings (the state serves it from now), then the
    tick: what withdraws a booking."""
    state = _REACHED[-1]
    state.definition = replace(state.definition, categories=tuple(
        replace(c, booking=None) for c in state.definition.categories))
    return cmd.Tick()


BOOKING_COMMANDS = {
    "cancel": lambda n: cmd.CancelBooking(n, ("phone",)),
    "check_in": lambda n: cmd.CheckIn(n),
    "check_in_late": lambda n: cmd.CheckIn(n),
    "release": lambda n: cmd.Tick(),
    "withdraw": _hall_file_changed,
}
BOOKING_EVENTS = {
    "cancel": lambda n: ev.BookingCancelled(n),
    "check_in": lambda n: ev.BookingCheckedIn(n, "A001", False),
    "check_in_late": lambda n: ev.BookingCheckedIn(n, "A001", True),
    "release": lambda n: ev.BookingReleased(n),
    "withdraw": lambda n: ev.BookingWithdrawn(n, "社保业务已停止预约"),
}
BOOKING_SETUP = {
    BookingStatus.BOOKED: [],
    BookingStatus.CHECKED_IN: ["check_in"],
    BookingStatus.LATE: ["check_in_late"],
    BookingStatus.CANCELLED: ["cancel"],
    BookingStatus.NO_SHOW: ["release"],
    BookingStatus.WITHDRAWN: ["withdraw"],
}


def _hall_with_booking_in(status: BookingStatus) -> tuple[HallState, str]:
    quiet = replace(BOOKING_HALL.hall, wait_yellow_minutes=0, wait_red_minutes=0)   # a tick: releases only
    state = HallState(replace(BOOKING_HALL, hall=quiet), MONDAY.date())
    _REACHED.append(state)
    (made,) = state.handle(cmd.Book("A", "2026-11-23", "10:00", "phone", "id", "12345678"),
                           BOOKED_AT)
    number = made.data.booking
    for action in BOOKING_SETUP[status]:
        state.handle(BOOKING_COMMANDS[action](number), BOOKING_AT[action])
    assert state.bookings[number].status == status
    return state, number


# --- cases, complaints and bookings: each table's every move --------------------------------------

@dataclass(frozen=True)
class Table:
    """A table of `lifecycle` with the setup that reaches each status, the command and the event
    of each action, and the status of the thing now."""

    transitions: dict
    statuses: type
    actions: tuple
    start: object
    setup: dict
    commands: dict
    events: dict
    reach: Callable[[object], tuple[HallState, str]]
    status: Callable[[HallState, str], object]
    at: dict = field(default_factory=dict)
    """The moment each action's command is given at (MONDAY when not said)."""


TABLES = {
    "case": Table(CASE_TRANSITIONS, CaseStatus, CASE_ACTIONS, CaseStatus.CHECKING, CASE_SETUP,
                  CASE_COMMANDS, CASE_EVENTS, _hall_with_case_in,
                  lambda state, n: state.cases[n].status),
    "complaint": Table(COMPLAINT_TRANSITIONS, ComplaintStatus, COMPLAINT_ACTIONS,
                       ComplaintStatus.REGISTERED, COMPLAINT_SETUP, COMPLAINT_COMMANDS,
                       COMPLAINT_EVENTS, _hall_with_complaint_in,
                       lambda state, n: state.complaints[n].status),
    "booking": Table(BOOKING_TRANSITIONS, BookingStatus, BOOKING_ACTIONS, BookingStatus.BOOKED,
                     BOOKING_SETUP, BOOKING_COMMANDS, BOOKING_EVENTS, _hall_with_booking_in,
                     lambda state, n: state.bookings[n].status, BOOKING_AT),
}
RECORD_MOVES = [(name, s, a) for name, t in TABLES.items() for s, a in itertools.product(t.statuses, t.actions)]
RECORD_FORBIDDEN = [(name, s, a) for name, s, a in RECORD_MOVES if (s, a) not in TABLES[name].transitions]


@pytest.mark.parametrize("name", TABLES)
def test_every_status_is_reached_and_every_action_has_a_command_and_an_event(name):
    t = TABLES[name]
    assert set(t.setup) == set(t.statuses)
    assert set(t.commands) == set(t.events) == set(t.actions)
    assert {after for after in t.transitions.values()} | {t.start} == set(t.statuses)


@pytest.mark.parametrize(("name", "status", "action"), RECORD_MOVES,
                         ids=[f"{n}-{s.value}-{a}" for n, s, a in RECORD_MOVES])
def test_a_case_complaint_or_booking_moves_exactly_as_its_table_says(name, status, action):
    t = TABLES[name]
    state, number = t.reach(status)
    after = t.transitions.get((status, action))
    seq = state.seq
    try:   # a refusal, or a tick that moves nothing
        events = state.handle(t.commands[action](number), t.at.get(action, MONDAY)) or None
    except DomainError:
        events = None
    if after is None:
        assert events is None and state.seq == seq, f"{status} → {action} was not refused"
        assert t.status(state, number) == status
    else:
        assert events, f"{status} → {action} was refused, but the table allows it"
        assert t.status(state, number) == after


@pytest.mark.parametrize(("name", "status", "action"), RECORD_FORBIDDEN,
                         ids=[f"{n}-{s.value}-{a}" for n, s, a in RECORD_FORBIDDEN])
def test_a_logged_case_complaint_or_booking_move_the_table_forbids_is_a_broken_log(name, status, action):
    t = TABLES[name]
    state, number = t.reach(status)
    with pytest.raises(BrokenTransition):
        state.apply(Event(state.seq + 1, MONDAY, state.day, t.events[action](number)))
