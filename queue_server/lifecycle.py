"""The life of a ticket and of a window, as two tables.

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

Everything that is not a simple transition (which ticket is next, who may sign in where, the
priority ratio, time-based warnings) is in `hall_state` and `dispatch`, beside these tables.
"""

from __future__ import annotations

from enum import StrEnum

from hall.vocabulary import TICKET_STATUS_NAMES


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    HELD = "held"
    FINISHED = "finished"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({TicketStatus.FINISHED, TicketStatus.NO_SHOW, TicketStatus.CANCELLED})

STATUS_NAMES = TICKET_STATUS_NAMES
"""Only for hall_state, which still imports it from here: its next edit imports
TICKET_STATUS_NAMES from hall.vocabulary, where it lives, and this name goes."""

W, C, H = TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.HELD

TICKET_TRANSITIONS: dict[tuple[TicketStatus, str], TicketStatus] = {
    (W, "call"): C,
    (H, "call"): C,
    (C, "recall"): C,
    (C, "no_show"): TicketStatus.NO_SHOW,
    (C, "hold"): H,
    (C, "transfer"): W,
    (C, "finish"): TicketStatus.FINISHED,
    (W, "return"): W,          # a window-targeted ticket goes back to its category
    (W, "set_priority"): W,
    (W, "cancel"): TicketStatus.CANCELLED,
    (C, "cancel"): TicketStatus.CANCELLED,
    (H, "cancel"): TicketStatus.CANCELLED,
}


class WindowStatus(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    PAUSED = "paused"


WINDOW_TRANSITIONS: dict[tuple[WindowStatus, str], WindowStatus] = {
    (WindowStatus.CLOSED, "sign_in"): WindowStatus.OPEN,
    (WindowStatus.OPEN, "takeover"): WindowStatus.OPEN,
    (WindowStatus.PAUSED, "takeover"): WindowStatus.OPEN,
    (WindowStatus.OPEN, "pause"): WindowStatus.PAUSED,
    (WindowStatus.PAUSED, "resume"): WindowStatus.OPEN,
    (WindowStatus.OPEN, "sign_out"): WindowStatus.CLOSED,
    (WindowStatus.PAUSED, "sign_out"): WindowStatus.CLOSED,
}


def ticket_allows(status: TicketStatus, action: str) -> bool:
    return (status, action) in TICKET_TRANSITIONS


def window_allows(status: WindowStatus, action: str) -> bool:
    return (status, action) in WINDOW_TRANSITIONS
