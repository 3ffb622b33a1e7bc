"""What devices and people ask the hall to do. Each is a plain value; `HallState.handle` decides.

Clerk commands carry the badge and the window: the shell has already checked the clerk's PIN,
and the core checks that this clerk is the one signed in at that window.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_NOTICE = 300


@dataclass(frozen=True, slots=True)
class TakeTicket:
    category: str
    kind: str = "handle"
    priority: str = "normal"
    service: str | None = None
    phone_key: str | None = None
    """A ticket taken on the hall's mobile page (`/take`): the keyed hash of the phone number
    given (queue_server.take_page), one ticket per phone per category per day. None: the kiosk."""
    point: str | None = None
    cases: tuple[str, ...] = ()
    """A 代办 batch ticket (kind `BATCH_KIND`): its village point and case numbers, already
    checked against the town's ledger (`Session._op_take_batch`)."""


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
class ReportLostRatings:
    """A pad's ratings of a service day already over, kept while it was cut off: each a ticket,
    a score (None: 未评) and reasons. Too late to be stored; the managers are warned."""

    device: str
    window: int
    day: str
    ratings: tuple[tuple[str, int | None, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passes: raises the long-wait, long-service and unattended warnings and returns
    window-targeted tickets."""


@dataclass(frozen=True, slots=True)
class HandleCase:
    """A manager records how a 差评 case is handled (`vocabulary.CASE_MEASURES`)."""

    case: str
    measure: str
    finding: str
    published: str
    by: str


@dataclass(frozen=True, slots=True)
class RectifyCase:
    """A manager reports a 限期整改 done."""

    case: str
    note: str
    by: str


@dataclass(frozen=True, slots=True)
class FollowUpCase:
    """A manager records a 回访 call's result (`vocabulary.FOLLOW_UP_RESULTS`)."""

    case: str
    result: str
    note: str
    by: str


@dataclass(frozen=True, slots=True)
class AppealCase:
    """An appeal against a 差评: by the clerk rated (`clerk`: their badge, also `by`) or by a
    manager (`clerk` None, `by` the manager's signature, `account` its account)."""

    case: str
    reason: str
    by: str
    clerk: str | None = None
    account: str | None = None


@dataclass(frozen=True, slots=True)
class DecideAppeal:
    """A manager other than the appellant (another `account`) decides an appeal."""

    case: str
    uphold: bool
    reason: str
    by: str
    account: str


@dataclass(frozen=True, slots=True)
class WithdrawAppeal:
    """The one who appealed takes the appeal back: the clerk (`clerk`: their badge, also `by`)
    or the manager (`account`)."""

    case: str
    by: str
    clerk: str | None = None
    account: str | None = None


# --- the complaints register (投诉/建议) -----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RegisterComplaint:
    """A complaint or suggestion: from a citizen's page (`by` None; `ticket` set on a ticket's
    page, whose window and clerk the core fills in) or typed in by a manager (`by`: a phone
    call, or a 12345 transfer with `hotline_case`). `contact`: a name or phone number was given
    and the hall keeps them (stored outside the log)."""

    kind: str
    channel: str
    category: str
    text: str
    window: int | None = None
    clerk: str | None = None
    ticket: str | None = None
    hotline_case: str | None = None
    contact: bool = False
    by: str | None = None


@dataclass(frozen=True, slots=True)
class AssignComplaint:
    """A manager takes a complaint on (承办), or over from another manager."""

    complaint: str
    by: str


@dataclass(frozen=True, slots=True)
class ReplyComplaint:
    complaint: str
    reply: str
    valid: bool
    by: str


@dataclass(frozen=True, slots=True)
class FollowUpComplaint:
    complaint: str
    result: str
    note: str
    by: str


@dataclass(frozen=True, slots=True)
class CloseComplaint:
    complaint: str
    note: str
    by: str


# --- appointments (预约) ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Book:
    """A slot booked on the /book page: the shell has turned the phone number and the ID's last
    four digits into keyed hashes and drawn the random code (queue_server.bookings)."""

    category: str
    day: str
    slot: str
    phone_key: str
    """The phone's key under the current booking salt: the one kept with the booking."""
    id_key: str
    code: str
    service: str | None = None
    phone_keys: tuple[str, ...] = ()
    """The phone's keys under every booking salt still kept: what matches its other bookings
    and no-shows (queue_server.store.booking_salts)."""


@dataclass(frozen=True, slots=True)
class CancelBooking:
    """`proofs`: the keys the citizen's phone number or ID digits give for this code; one must be
    the booking's."""

    code: str
    proofs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LiftBookingBlock:
    """A manager lifts a phone's no-show block: `phone_keys`, its keys under every booking salt
    kept, made by the shell from the number the manager typed."""

    phone_keys: tuple[str, ...]
    by: str


@dataclass(frozen=True, slots=True)
class CheckIn:
    """A booking's code typed or scanned at a kiosk."""

    code: str


Command = (TakeTicket | SignIn | SignOut | Pause | Resume | CallNext | CallNumber | ResumeHeld
           | Recall | NoShow | Hold | Transfer | Finish | SetPriority | AckWarning | Rate
           | SetNotice | ReportDevice | ReportLostRatings | Tick | HandleCase | RectifyCase
           | FollowUpCase | AppealCase | DecideAppeal | WithdrawAppeal
           | RegisterComplaint | AssignComplaint | ReplyComplaint | FollowUpComplaint
           | CloseComplaint | Book | CancelBooking | CheckIn | LiftBookingBlock)
