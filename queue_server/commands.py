"""What devices and people ask the hall to do. Each is a plain value; `HallState.handle` decides.

Clerk commands carry the badge and the window: the shell has already checked the clerk's PIN,
and the core checks that this clerk is the one signed in at that window.
"""

from __future__ import annotations

from dataclasses import dataclass

KIOSK_PRIORITIES = ("normal", "elderly", "disabled")
OUTCOMES = ("done", "accepted", "escalated", "consult", "rejected", "incomplete")
OUTCOME_NAMES = {"done": "即办办结", "accepted": "受理（承诺件）", "escalated": "上报",
                 "consult": "咨询答复", "rejected": "不予受理", "incomplete": "材料不全（补正）"}
POSTS = ("A", "B")
PRINTER_STATES = ("ok", "paper_low", "paper_out", "offline", "error")
PRINTER_FAULTS = {"paper_low": ("yellow", "打印纸将尽"), "paper_out": ("red", "打印机缺纸"),
                  "offline": ("red", "打印机离线"), "error": ("red", "打印机故障")}
MAX_NOTICE = 300


@dataclass(frozen=True, slots=True)
class TakeTicket:
    category: str
    kind: str = "handle"
    priority: str = "normal"
    service: str | None = None


@dataclass(frozen=True, slots=True)
class SignIn:
    clerk: str
    window: int
    post: str
    takeover: bool = False


@dataclass(frozen=True, slots=True)
class SignOut:
    clerk: str
    window: int


@dataclass(frozen=True, slots=True)
class Pause:
    clerk: str
    window: int
    reason: str


@dataclass(frozen=True, slots=True)
class Resume:
    clerk: str
    window: int


@dataclass(frozen=True, slots=True)
class CallNext:
    clerk: str
    window: int


@dataclass(frozen=True, slots=True)
class CallNumber:
    clerk: str
    window: int
    number: str


@dataclass(frozen=True, slots=True)
class ResumeHeld:
    clerk: str
    window: int
    number: str


@dataclass(frozen=True, slots=True)
class Recall:
    clerk: str
    window: int


@dataclass(frozen=True, slots=True)
class NoShow:
    clerk: str
    window: int


@dataclass(frozen=True, slots=True)
class Hold:
    clerk: str
    window: int
    reason: str


@dataclass(frozen=True, slots=True)
class Transfer:
    clerk: str
    window: int
    to_category: str | None = None
    to_window: int | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Finish:
    clerk: str
    window: int
    outcome: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class SetPriority:
    """绿色通道: a manager moves a waiting ticket to the front class."""

    number: str
    priority: str
    by: str


@dataclass(frozen=True, slots=True)
class AckWarning:
    """A manager has seen a warning (named by the seq of its event) and is dealing with it."""

    warning: int
    by: str


@dataclass(frozen=True, slots=True)
class Rate:
    """A rating from the window's pad (`window` set) or from the citizen's own page."""

    number: str
    score: int | None
    reasons: tuple[str, ...] = ()
    window: int | None = None


@dataclass(frozen=True, slots=True)
class SetNotice:
    """The line boards and kiosks scroll; empty text clears it."""

    text: str
    by: str


@dataclass(frozen=True, slots=True)
class ReportDevice:
    """A device's own report of its health, e.g. a kiosk printer out of paper."""

    device: str
    role: str
    printer: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passes: raises the long-wait, long-service and unattended warnings and returns
    window-targeted tickets."""


Command = (TakeTicket | SignIn | SignOut | Pause | Resume | CallNext | CallNumber | ResumeHeld
           | Recall | NoShow | Hold | Transfer | Finish | SetPriority | AckWarning | Rate
           | SetNotice | ReportDevice | Tick)
