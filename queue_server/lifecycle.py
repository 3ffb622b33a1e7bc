"""The life of a ticket, of a window, of a 差评 case, of a complaint and of a booking: five
tables, and the gates every move goes through.

Theory of operation
-------------------
A citizen takes a ticket at the kiosk: it is WAITING in its category's queue. A window whose
clerk presses 呼叫下一位 (call next) gets the ticket that `dispatch.choose_next` picks, and the
ticket becomes CALLED at that window: the board shows it, the voice calls it, and the clerk
serves the citizen. From CALLED the clerk can

- call it again (recall, counted; it stays CALLED),
- mark it a no-show (过号: NO_SHOW, final),
- park it (挂起, e.g. a paper is missing: HELD at that window, to be called back there),
- transfer it (转移) to another category or to one window: it is WAITING again, keeping its
  original issue time and priority, and the first clerk who called it is recorded (首问负责),
- finish it (办结) with an outcome: FINISHED, final; the window's pad then asks for a rating.

At the end of the service day every ticket that is not final is CANCELLED (日终未办), so each
ticket ends the day in exactly one of FINISHED, NO_SHOW, CANCELLED.

A window is CLOSED until a clerk signs in on its A or B post; then it is OPEN. An open window
can be PAUSED with a reason (会议, 下村, 午休 …) and resumed. Signing out closes it; another
clerk may take over an occupied window, which is logged as a handover (sign-out of the first,
sign-in of the second) and keeps the window's current ticket with the window. Only an OPEN
window with no current ticket calls.

A rating that is 差评 (`vocabulary.is_bad`) opens a case (差评工单) for the department of the
window that served, with a deadline in working days. It is CHECKING (待核实) until a manager
records how it is handled, which is the action: 立行立改 (RECTIFIED, 已整改), 解释说明
(EXPLAINED, 已解释) or 限期整改 (RECTIFYING, 整改中, then `rectify` when the fix is done:
RECTIFIED). Instead, while CHECKING, the clerk rated or a manager may appeal (申诉: APPEALING);
a second manager decides it: UPHELD (申诉成立: final, the rating no longer counts in 满意率) or
REJECTED (申诉驳回: the 差评 stands and the case is handled as from CHECKING); or the one who
appealed withdraws it (撤回申诉: CHECKING again; the way out of a manager's own appeal in a
hall with no second manager, lest it stay APPEALING past its deadline). A RECTIFIED or
EXPLAINED case gets its 回访 (`follow_up`), which records a result and moves nothing. A case
outlives the service day: it is not reset with the day, and a restart replays its events from
every day (`hall_service.rebuild`).

A complaint or suggestion (投诉/建议, the complaints register) is REGISTERED (已登记) when it comes
in (the citizen's ticket page, the hall's QR page, or typed in by a manager: a phone call, a
12345 transfer). A manager takes it on (`assign`, 承办: ASSIGNED, 处理中; another manager may take
it over), replies (`reply`: REPLIED, 已答复, the text the citizen reads on the status page),
calls the citizen back (`follow_up`, 回访, with the case's tries) and closes it (`close`:
CLOSED, 已办结, final) once the 回访 got through or ran out of tries. Like a case it outlives the
day, and its deadline (working days) runs until it is closed.

A booking (预约, docs/appointments.md) is BOOKED for a slot of a category on a day. The citizen
cancels it (CANCELLED, final; its place is free again), or checks in at the kiosk on the day:
within the slot's early and late limits it gives a ticket marked 预约 (CHECKED_IN, final);
after the late limit a normal walk-in ticket (LATE, final). A booking still BOOKED at its late
limit is released by the server's tick (NO_SHOW: counted against the phone, unless the release
came more than a few minutes after the limit, the server having been down; a citizen who comes
later that day still gets a walk-in ticket, LATE). A booking the hall can no longer honour (its
category removed or no longer taking bookings, its day made a holiday) is withdrawn by the
hall (WITHDRAWN, 已撤销, final; not a no-show). Like cases, bookings outlive the day.

How the tables are enforced
---------------------------
`TICKET_TRANSITIONS`, `WINDOW_TRANSITIONS`, `CASE_TRANSITIONS`, `COMPLAINT_TRANSITIONS` and
`BOOKING_TRANSITIONS` are the only place these moves are written. Every decision of
`hall_state` that moves a ticket, a window, a case, a complaint or a booking asks
`ticket_allows` / `window_allows` / `case_allows` / `complaint_allows` / `booking_allows` first
and refuses the command when the table says no; every event handler sets the new status with
`ticket_after` / `window_after` / `case_after` / `complaint_after` / `booking_after`, which
raise `BrokenTransition` on a move the table does not have. So editing a table changes what the
hall does, and `tests/test_lifecycle.py` derives every allowed and every forbidden move from
the tables and drives `HallState` through each.

Everything that is not a simple transition (which ticket is next, who may sign in where, the
priority ratio, time-based warnings) is in `hall_state` and `dispatch`, beside these tables.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, TypeVar, get_args

from hall.vocabulary import (
    BOOKING_STATUS_NAMES,
    CASE_STATUS_NAMES,
    COMPLAINT_STATUS_NAMES,
    TICKET_STATUS_NAMES,
    WINDOW_STATUS_NAMES,
)


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    HELD = "held"
    FINISHED = "finished"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({TicketStatus.FINISHED, TicketStatus.NO_SHOW, TicketStatus.CANCELLED})

W, C, H = TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.HELD

TicketAction = Literal["call", "recall", "no_show", "hold", "transfer", "finish", "return",
                       "set_priority", "rate", "cancel"]
TICKET_ACTIONS: tuple[TicketAction, ...] = get_args(TicketAction)

TICKET_TRANSITIONS: dict[tuple[TicketStatus, TicketAction], TicketStatus] = {
    (W, "call"): C,
    (H, "call"): C,
    (C, "recall"): C,
    (C, "no_show"): TicketStatus.NO_SHOW,
    (C, "hold"): H,
    (C, "transfer"): W,
    (C, "finish"): TicketStatus.FINISHED,
    (W, "return"): W,          # a window-targeted ticket goes back to its category
    (W, "set_priority"): W,
    (TicketStatus.FINISHED, "rate"): TicketStatus.FINISHED,
    (W, "cancel"): TicketStatus.CANCELLED,
    (C, "cancel"): TicketStatus.CANCELLED,
    (H, "cancel"): TicketStatus.CANCELLED,
}
"""Every move a ticket can make: (status, action) → the status after. A pair that is not here
is refused when a command asks for it, and is a broken log when an event says it happened."""


class WindowStatus(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    PAUSED = "paused"


WindowAction = Literal["sign_in", "takeover", "pause", "resume", "call", "sign_out"]
WINDOW_ACTIONS: tuple[WindowAction, ...] = get_args(WindowAction)

WINDOW_TRANSITIONS: dict[tuple[WindowStatus, WindowAction], WindowStatus] = {
    (WindowStatus.CLOSED, "sign_in"): WindowStatus.OPEN,
    (WindowStatus.OPEN, "takeover"): WindowStatus.OPEN,
    (WindowStatus.PAUSED, "takeover"): WindowStatus.OPEN,
    (WindowStatus.OPEN, "pause"): WindowStatus.PAUSED,
    (WindowStatus.OPEN, "call"): WindowStatus.OPEN,
    (WindowStatus.PAUSED, "resume"): WindowStatus.OPEN,
    (WindowStatus.OPEN, "sign_out"): WindowStatus.CLOSED,
    (WindowStatus.PAUSED, "sign_out"): WindowStatus.CLOSED,
}


class CaseStatus(StrEnum):
    CHECKING = "checking"
    RECTIFYING = "rectifying"
    RECTIFIED = "rectified"
    EXPLAINED = "explained"
    APPEALING = "appealing"
    UPHELD = "upheld"
    REJECTED = "rejected"


FINAL_CASE_STATUSES = frozenset({CaseStatus.RECTIFIED, CaseStatus.EXPLAINED, CaseStatus.UPHELD})
"""A case in one of these is closed (办结); any other is open and its deadline runs."""

CaseAction = Literal["at_once", "deadline", "explain", "rectify", "appeal", "uphold", "reject",
                     "withdraw", "follow_up"]
CASE_ACTIONS: tuple[CaseAction, ...] = get_args(CaseAction)

_HANDLED_FROM = (CaseStatus.CHECKING, CaseStatus.REJECTED)
CASE_TRANSITIONS: dict[tuple[CaseStatus, CaseAction], CaseStatus] = {
    **{(s, "at_once"): CaseStatus.RECTIFIED for s in _HANDLED_FROM},
    **{(s, "deadline"): CaseStatus.RECTIFYING for s in _HANDLED_FROM},
    **{(s, "explain"): CaseStatus.EXPLAINED for s in _HANDLED_FROM},
    (CaseStatus.RECTIFYING, "rectify"): CaseStatus.RECTIFIED,
    (CaseStatus.CHECKING, "appeal"): CaseStatus.APPEALING,
    (CaseStatus.APPEALING, "uphold"): CaseStatus.UPHELD,
    (CaseStatus.APPEALING, "reject"): CaseStatus.REJECTED,
    (CaseStatus.APPEALING, "withdraw"): CaseStatus.CHECKING,
    (CaseStatus.RECTIFIED, "follow_up"): CaseStatus.RECTIFIED,
    (CaseStatus.EXPLAINED, "follow_up"): CaseStatus.EXPLAINED,
}
"""Every move a 差评 case can make; the handling measures (`vocabulary.CASE_MEASURES`) are
actions by their own codes."""

FOLLOW_UP_TRIES = 3
"""Calls of a 回访 at most: after this many 未接通 no more are made (the case stays closed, its
回访 unreached)."""


class ComplaintStatus(StrEnum):
    REGISTERED = "registered"
    ASSIGNED = "assigned"
    REPLIED = "replied"
    CLOSED = "closed"


FINAL_COMPLAINT_STATUSES = frozenset({ComplaintStatus.CLOSED})

ComplaintAction = Literal["assign", "reply", "follow_up", "close"]
COMPLAINT_ACTIONS: tuple[ComplaintAction, ...] = get_args(ComplaintAction)

COMPLAINT_TRANSITIONS: dict[tuple[ComplaintStatus, ComplaintAction], ComplaintStatus] = {
    (ComplaintStatus.REGISTERED, "assign"): ComplaintStatus.ASSIGNED,
    (ComplaintStatus.ASSIGNED, "assign"): ComplaintStatus.ASSIGNED,   # another manager takes it
    (ComplaintStatus.ASSIGNED, "reply"): ComplaintStatus.REPLIED,
    (ComplaintStatus.REPLIED, "follow_up"): ComplaintStatus.REPLIED,
    (ComplaintStatus.REPLIED, "close"): ComplaintStatus.CLOSED,
}
"""Every move a complaint can make (the complaints register)."""


class BookingStatus(StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    LATE = "late"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    WITHDRAWN = "withdrawn"


FINAL_BOOKING_STATUSES = frozenset({BookingStatus.CHECKED_IN, BookingStatus.LATE,
                                    BookingStatus.CANCELLED, BookingStatus.WITHDRAWN})

BookingAction = Literal["cancel", "check_in", "check_in_late", "release", "withdraw"]
BOOKING_ACTIONS: tuple[BookingAction, ...] = get_args(BookingAction)

BOOKING_TRANSITIONS: dict[tuple[BookingStatus, BookingAction], BookingStatus] = {
    (BookingStatus.BOOKED, "cancel"): BookingStatus.CANCELLED,
    (BookingStatus.BOOKED, "check_in"): BookingStatus.CHECKED_IN,
    (BookingStatus.BOOKED, "check_in_late"): BookingStatus.LATE,
    (BookingStatus.BOOKED, "release"): BookingStatus.NO_SHOW,
    (BookingStatus.BOOKED, "withdraw"): BookingStatus.WITHDRAWN,   # the hall can no longer honour it
    (BookingStatus.NO_SHOW, "check_in_late"): BookingStatus.LATE,   # came after its release
}
"""Every move a booking (预约) can make."""


class BrokenTransition(Exception):
    """An event says a ticket, window, case or complaint made a move its table does not allow: the log is not
    one this code wrote, or a decision let through what the table forbids."""


def ticket_allows(status: TicketStatus, action: TicketAction) -> bool:
    return (status, action) in TICKET_TRANSITIONS


def window_allows(status: WindowStatus, action: WindowAction) -> bool:
    return (status, action) in WINDOW_TRANSITIONS


St = TypeVar("St", bound=StrEnum)
Ac = TypeVar("Ac", bound=str)


def _after(table: dict[tuple[St, Ac], St], status: St, action: Ac, what: str) -> St:
    """The status after `action` by `table`, as every event handler sets it; `what` names the
    thing and its status in the refusal."""
    after = table.get((status, action))
    if after is None:
        raise BrokenTransition(f"{what}，不能 {action}")
    return after


def ticket_after(status: TicketStatus, action: TicketAction, number: str) -> TicketStatus:
    return _after(TICKET_TRANSITIONS, status, action, f"{number} 号{TICKET_STATUS_NAMES[status]}")


def window_after(status: WindowStatus, action: WindowAction, number: int) -> WindowStatus:
    return _after(WINDOW_TRANSITIONS, status, action, f"{number} 号窗口{WINDOW_STATUS_NAMES[status]}")


def case_allows(status: CaseStatus, action: CaseAction) -> bool:
    return (status, action) in CASE_TRANSITIONS


def case_after(status: CaseStatus, action: CaseAction, number: str) -> CaseStatus:
    return _after(CASE_TRANSITIONS, status, action, f"差评工单 {number} {CASE_STATUS_NAMES[status]}")


def booking_allows(status: BookingStatus, action: BookingAction) -> bool:
    return (status, action) in BOOKING_TRANSITIONS


def booking_after(status: BookingStatus, action: BookingAction, code: str) -> BookingStatus:
    return _after(BOOKING_TRANSITIONS, status, action, f"预约 {code} {BOOKING_STATUS_NAMES[status]}")


def complaint_allows(status: ComplaintStatus, action: ComplaintAction) -> bool:
    return (status, action) in COMPLAINT_TRANSITIONS


def complaint_after(status: ComplaintStatus, action: ComplaintAction, number: str) -> ComplaintStatus:
    return _after(COMPLAINT_TRANSITIONS, status, action,
                  f"投诉建议 {number} {COMPLAINT_STATUS_NAMES[status]}")
