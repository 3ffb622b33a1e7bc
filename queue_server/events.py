"""What happened in the hall: the one table of event kinds, each a typed record of its fields.

An event is the hall-wide sequence number, the moment, the service day it belongs to and one
record below; the record's class is its kind (`Record.tag` is the name the log and the wire
use). The log (`store.event_log`) is append-only: every report and every device view is built
from it, and a restarted server replays today's events to rebuild its state.

Adding a kind is one record here, in `KINDS`, and one entry in each table that says what it
means, each beside the code it drives:

- `hall_state.APPLY`: how it changes `HallState` (the only way the live state changes);
- `store.event_log.STORED`: what it stores beyond the log (the columns a row is found by);
- `views.AUDIENCES`: who receives it on the wire (roles, windows, the ticket's citizen);
- `kpis.FOLD`: how the KPI fold reads it (or that it does not).

`tests/test_event_tables.py` fails when a kind lacks an entry in any of them, and each table is
built with `entry`, so the type checker sees that a kind's handler takes that kind's record.

Times inside records are ISO text in whole seconds (as on the wire); a record holds only what
JSON holds, so that it is stored and sent as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar, Generic, TypeVar


@dataclass(frozen=True, slots=True)
class Record:
    """The fields of one kind of event."""

    tag: ClassVar[str]
    """The kind's name in the log and on the wire."""

    def fields(self) -> dict[str, Any]:
        """The record as JSON-ready data (as the log stores it and the wire sends it)."""
        return {name: _plain(getattr(self, name)) for name in _FIELD_NAMES[type(self)]}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


# --- tickets -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TicketIssued(Record):
    tag: ClassVar[str] = "ticket_issued"
    number: str
    category: str
    kind: str
    """办理, 咨询, 取件 or 代办 (`hall.vocabulary.TICKET_KIND_NAMES`)."""
    priority: str
    service: str | None
    """The service item's code, when the citizen chose one."""
    ahead: int
    """How many were ahead of it in its category when it was issued."""
    catalogue_version: int | None = None
    """The hall's catalogue version when it was issued: the version of its item's guide
    (`/guide/<code>?v=N`). None in logs written before versions were recorded."""
    source: str | None = None
    """"mobile": taken on the hall's mobile page (`/take`); None: at a kiosk (and every ticket
    of logs written before `/take`)."""
    phone_key: str | None = None
    """A mobile ticket's keyed hash of the phone number given (never the number itself,
    queue_server.take_page); never sent on the wire."""
    booking: str | None = None
    """The booking code of a booking checked in on time (预约); None: a walk-in (also a
    booking checked in late)."""
    slot_at: str | None = None
    """That booking's slot start (ISO, whole seconds): its place in the queue."""
    point: str | None = None
    """A 代办 batch ticket's village point (its code, docs/points.md); None: any other ticket."""
    cases: tuple[str, ...] = ()
    """A 代办 batch ticket's case numbers, each of that point, in an open batch of no other
    ticket (`take_batch`)."""


@dataclass(frozen=True, slots=True)
class TicketCalled(Record):
    tag: ClassVar[str] = "ticket_called"
    number: str
    window: int
    clerk: str
    post: str
    recall: int
    """0 for a call, then 1, 2 … for each recall."""
    via: str
    """"next", "number", "held" or "recall"."""


@dataclass(frozen=True, slots=True)
class TicketNoShow(Record):
    tag: ClassVar[str] = "ticket_no_show"
    number: str
    window: int
    clerk: str


@dataclass(frozen=True, slots=True)
class TicketHeld(Record):
    tag: ClassVar[str] = "ticket_held"
    number: str
    window: int
    clerk: str
    reason: str


@dataclass(frozen=True, slots=True)
class TicketTransferred(Record):
    tag: ClassVar[str] = "ticket_transferred"
    number: str
    window: int
    clerk: str
    to_category: str | None
    to_window: int | None
    note: str
    first_clerk: str | None
    """Who called it first (首问负责)."""


@dataclass(frozen=True, slots=True)
class TicketReturned(Record):
    """A ticket transferred to one window that stayed without a clerk goes back to its
    category."""

    tag: ClassVar[str] = "ticket_returned"
    number: str
    window: int
    category: str


@dataclass(frozen=True, slots=True)
class TicketFinished(Record):
    tag: ClassVar[str] = "ticket_finished"
    number: str
    window: int
    clerk: str
    post: str | None
    outcome: str
    note: str


@dataclass(frozen=True, slots=True)
class TicketCancelled(Record):
    tag: ClassVar[str] = "ticket_cancelled"
    number: str
    reason: str
    """"day_end"."""


@dataclass(frozen=True, slots=True)
class TicketPrioritySet(Record):
    tag: ClassVar[str] = "ticket_priority_set"
    number: str
    priority: str
    by: str


@dataclass(frozen=True, slots=True)
class TicketRated(Record):
    tag: ClassVar[str] = "ticket_rated"
    number: str
    score: int | None
    """1–5, or None: 未评."""
    reasons: tuple[str, ...]
    channel: str
    """"pad" or "citizen"."""
    window: int
    clerk: str
    post: str | None
    department: str
    service: str | None


# --- windows and clerks ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ClerkSignedIn(Record):
    tag: ClassVar[str] = "clerk_signed_in"
    window: int
    clerk: str
    post: str
    takeover: bool
    previous: str | None
    """The clerk taken over from, on a takeover."""


@dataclass(frozen=True, slots=True)
class ClerkSignedOut(Record):
    tag: ClassVar[str] = "clerk_signed_out"
    window: int
    clerk: str
    post: str | None
    reason: str
    """"sign_out", "handover" or "day_end"."""


@dataclass(frozen=True, slots=True)
class WindowPaused(Record):
    tag: ClassVar[str] = "window_paused"
    window: int
    clerk: str
    post: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class WindowResumed(Record):
    tag: ClassVar[str] = "window_resumed"
    window: int
    clerk: str
    post: str | None


# --- the hall ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class WarningRaised(Record):
    """`kind` is "long_wait", "long_service", "unattended", "negative_rating", "device" or
    "case_overdue";
    the other fields as the kind has them. Logs written before these names were restored say
    "waiting", "service", "rating" and "number": `store.event_log` reads them as these."""

    tag: ClassVar[str] = "warning"
    level: str
    """"yellow" or "red"."""
    kind: str
    text: str
    window: int | None = None
    ticket: str | None = None
    """The ticket's number."""
    minutes: int | None = None
    since: str | None = None
    """Since when (whole seconds) an unattended window, a waiting or a served ticket counts."""
    clerk: str | None = None
    device: str | None = None
    case: str | None = None
    """The 差评 case's number (a `case_overdue` warning)."""

    def fields(self) -> dict[str, Any]:
        """Only the fields this warning's kind has (the protocol's "as the kind has them")."""
        return {name: value for name, value in Record.fields(self).items()
                if name in _WARNING_FIELDS.get(self.kind, _WARNING_COMMON) or value is not None}


@dataclass(frozen=True, slots=True)
class WarningAcknowledged(Record):
    tag: ClassVar[str] = "warning_acknowledged"
    warning: int
    """The seq of the warning's event."""
    by: str


@dataclass(frozen=True, slots=True)
class NoticeSet(Record):
    tag: ClassVar[str] = "notice_set"
    text: str
    by: str


@dataclass(frozen=True, slots=True)
class DeviceReported(Record):
    tag: ClassVar[str] = "device_reported"
    device: str
    role: str
    printer: str
    """"ok", "paper_low", "paper_out", "offline" or "error"."""
    detail: str


@dataclass(frozen=True, slots=True)
class DayStarted(Record):
    tag: ClassVar[str] = "day_started"
    day: str
    """The new service day, ISO."""


# --- 差评 cases (差评工单): they outlive the service day (lifecycle's header) -------------------

@dataclass(frozen=True, slots=True)
class CaseOpened(Record):
    """A 差评 opened a case, with the rating's ticket, day, score and who served."""

    tag: ClassVar[str] = "case_opened"
    case: str
    """The case's number: the rating's service day and a count, "20261123-01"."""
    ticket: str
    score: int
    reasons: tuple[str, ...]
    window: int
    clerk: str
    department: str
    deadline: str
    """The last day to handle it in (ISO): `case_deadline_days` working days after the day."""
    category: str | None = None
    service: str | None = None
    """The ticket's category and item as it ended: with the window and the clerk, where its
    rating counts in the KPI rows, from which an upheld appeal takes it out
    (`kpis.tally_without_upheld`); None in cases logged before they were recorded."""


@dataclass(frozen=True, slots=True)
class CaseHandled(Record):
    """A manager verified the case and recorded its handling: what was found, the measure
    (立行立改, 限期整改 or 解释说明, `vocabulary.CASE_MEASURES`) and the text published."""

    tag: ClassVar[str] = "case_handled"
    case: str
    measure: str
    finding: str
    published: str
    by: str


@dataclass(frozen=True, slots=True)
class CaseRectified(Record):
    """A 限期整改 reported done."""

    tag: ClassVar[str] = "case_rectified"
    case: str
    note: str
    by: str


@dataclass(frozen=True, slots=True)
class CaseFollowedUp(Record):
    """A 回访 call: its result (`vocabulary.FOLLOW_UP_RESULTS`) and which call it was."""

    tag: ClassVar[str] = "case_followed_up"
    case: str
    result: str
    note: str
    by: str
    attempt: int


@dataclass(frozen=True, slots=True)
class CaseAppealed(Record):
    """An appeal (申诉) against the rating: by the clerk rated (`clerk`, their badge) or by a
    manager (`clerk` None)."""

    tag: ClassVar[str] = "case_appealed"
    case: str
    reason: str
    by: str
    clerk: str | None
    account: str | None = None
    """The appealing manager's account (`ops.Actor.person`): a second manager is another
    account, whatever the names say. None for a clerk's appeal, and in logs written before
    accounts were recorded (there the signature `by` stands for it)."""


@dataclass(frozen=True, slots=True)
class CaseAppealDecided(Record):
    """A second manager's decision on an appeal: upheld (申诉成立) or rejected, and why."""

    tag: ClassVar[str] = "case_appeal_decided"
    case: str
    upheld: bool
    reason: str
    by: str
    account: str | None = None
    """The deciding manager's account (`ops.Actor.person`); None in logs written before."""


@dataclass(frozen=True, slots=True)
class CaseAppealWithdrawn(Record):
    """The one who appealed took the appeal back (撤回申诉): the case is 待核实 again. Only the
    clerk who appealed (`clerk`, their badge) or the manager (`account`) may."""

    tag: ClassVar[str] = "case_appeal_withdrawn"
    case: str
    by: str
    clerk: str | None
    account: str | None


@dataclass(frozen=True, slots=True)
class CaseOverdue(Record):
    """An open case passed its deadline: the hall warned of it (a `case_overdue` warning in the
    same commit), once, on its first working day after the deadline."""

    tag: ClassVar[str] = "case_overdue"
    case: str


CASE_KINDS: tuple[type[Record], ...] = (CaseOpened, CaseHandled, CaseRectified, CaseFollowedUp,
                                       CaseAppealed, CaseAppealDecided, CaseOverdue,
                                       CaseAppealWithdrawn)
"""The kinds of a case's life."""


# --- the complaints register (投诉/建议): complaints outlive the service day too ------------------

@dataclass(frozen=True, slots=True)
class ComplaintRegistered(Record):
    """A complaint or suggestion came in. Nothing personal is logged: a name and phone number,
    when the citizen gave them and the hall keeps them, are stored beside the log in a table that
    can be purged (`queue_server.complaint_contacts`); `contact` says whether they were."""

    tag: ClassVar[str] = "complaint_registered"
    complaint: str
    """Its number: "TS" and the service day and a count, "TS20261207-001"."""
    kind: str
    """`vocabulary.COMPLAINT_KINDS`: 投诉 or 建议."""
    channel: str
    """`vocabulary.COMPLAINT_CHANNELS`."""
    category: str
    """One of the hall's `complaint_categories`."""
    text: str
    window: int | None
    clerk: str | None
    """The badge of the clerk concerned, if any."""
    ticket: str | None
    """The ticket of the page it came from (channel "ticket")."""
    hotline_case: str | None
    """The 12345 hotline's case number (channel "hotline")."""
    deadline: str
    """The last day to close it in (ISO): `complaint_deadline_days` working days after the day."""
    by: str | None
    """The manager who typed it in (a phone call, a 12345 transfer); None: the citizen."""
    contact: bool
    """A name or phone number was given and kept (outside the log)."""


@dataclass(frozen=True, slots=True)
class ComplaintAssigned(Record):
    """A manager took the complaint on (承办), or took it over from another."""

    tag: ClassVar[str] = "complaint_assigned"
    complaint: str
    by: str


@dataclass(frozen=True, slots=True)
class ComplaintReplied(Record):
    """The handler's reply, which the citizen reads on the status page, and the verdict: whether
    the complaint was found valid (有效投诉)."""

    tag: ClassVar[str] = "complaint_replied"
    complaint: str
    reply: str
    valid: bool
    by: str


@dataclass(frozen=True, slots=True)
class ComplaintFollowedUp(Record):
    """A 回访 call on a complaint (results and tries as a case's)."""

    tag: ClassVar[str] = "complaint_followed_up"
    complaint: str
    result: str
    note: str
    by: str
    attempt: int


@dataclass(frozen=True, slots=True)
class ComplaintClosed(Record):
    tag: ClassVar[str] = "complaint_closed"
    complaint: str
    note: str
    by: str


COMPLAINT_KINDS: tuple[type[Record], ...] = (ComplaintRegistered, ComplaintAssigned,
                                            ComplaintReplied, ComplaintFollowedUp,
                                            ComplaintClosed)
"""The kinds of a complaint's life, replayed from every day like a case's."""

# --- appointments (预约, docs/appointments.md): bookings outlive the service day too -------------

@dataclass(frozen=True, slots=True)
class BookingMade(Record):
    """A slot booked. The citizen's phone number and ID digits are not here: only keyed hashes
    of them (queue_server.bookings), never sent on the wire."""

    tag: ClassVar[str] = "booking_made"
    booking: str
    """Its code: 8 digits, random (the booking QR holds it)."""
    category: str
    service: str | None
    day: str
    """The day booked (ISO)."""
    slot: str
    """The slot's start, "HH:MM" on that day."""
    phone_key: str
    """The keyed hash of the phone number under the booking salt of the day it was made
    (queue_server.store.booking_salts): testable only while that salt is kept."""
    id_key: str
    """The keyed hash of the last four digits of the ID card, with the code, under that salt."""
    minutes: int | None = None
    """The slot's length when booked (None in logs written before it was recorded: the
    category's slot length now): a later change of the hall file's slots counts the places
    this booking holds over the time it was booked for."""


@dataclass(frozen=True, slots=True)
class BookingCancelled(Record):
    tag: ClassVar[str] = "booking_cancelled"
    booking: str


@dataclass(frozen=True, slots=True)
class BookingCheckedIn(Record):
    """Checked in at a kiosk: `late` False gave a ticket marked 预约 (`TicketIssued.booking`),
    True (after the late limit) a normal walk-in ticket. The ticket is issued in the same
    commit."""

    tag: ClassVar[str] = "booking_checked_in"
    booking: str
    ticket: str
    """The ticket issued; "" when the citizen came late and no walk-in ticket could be issued
    (the day's numbers taken, or issuing stopped): `refused` says why, and the booking is
    LATE, not a no-show."""
    late: bool
    refused: str | None = None


@dataclass(frozen=True, slots=True)
class BookingReleased(Record):
    """Not checked in by its late limit: released by the server's tick (a no-show, 爽约)."""

    tag: ClassVar[str] = "booking_released"
    booking: str
    counted: bool = True
    """Counted as the phone's no-show: not when released more than a few minutes after its
    late limit (the server was down then, and the citizen may have found no kiosk working)."""


@dataclass(frozen=True, slots=True)
class BookingWithdrawn(Record):
    """Withdrawn by the hall, which can no longer honour it: its category was removed or no
    longer takes bookings, or its day became a holiday. Final, and not a no-show."""

    tag: ClassVar[str] = "booking_withdrawn"
    booking: str
    reason: str
    """Why, in words (“社保业务已停止预约”)."""


@dataclass(frozen=True, slots=True)
class BookingBlocked(Record):
    """A phone reached the hall's no-show limit: no new booking until `until` (ISO, the last
    day blocked), raised with the release that reached it."""

    tag: ClassVar[str] = "booking_blocked"
    phone_key: str
    until: str
    no_shows: int


@dataclass(frozen=True, slots=True)
class BookingBlockLifted(Record):
    """A manager lifted a phone's no-show block (the citizen called, say): the no-shows of its
    keys (under every booking salt kept) are no longer counted."""

    tag: ClassVar[str] = "booking_block_lifted"
    phone_keys: tuple[str, ...]
    until: str
    """The last day the block would have lasted (ISO)."""
    by: str


BOOKING_KINDS: tuple[type[Record], ...] = (BookingMade, BookingCancelled, BookingCheckedIn,
                                          BookingReleased, BookingBlocked, BookingWithdrawn,
                                          BookingBlockLifted)
"""The kinds of a booking's life: they outlive the day, replayed at a start for the days whose
bookings still matter (`bookings.kept_since`, from the longest horizon before)."""

OUTLIVING_KINDS: tuple[type[Record], ...] = (*CASE_KINDS, *COMPLAINT_KINDS, *BOOKING_KINDS)
"""The kinds a restart replays from the days before the last, not only the last (every day for
cases and complaints; the bookings' window for bookings)."""

KINDS: tuple[type[Record], ...] = (
    TicketIssued, TicketCalled, TicketNoShow, TicketHeld, TicketTransferred, TicketReturned,
    TicketFinished, TicketCancelled, TicketPrioritySet, TicketRated,
    ClerkSignedIn, ClerkSignedOut, WindowPaused, WindowResumed,
    WarningRaised, WarningAcknowledged, NoticeSet, DeviceReported, DayStarted,
    *CASE_KINDS, *COMPLAINT_KINDS, *BOOKING_KINDS,
)
"""Every kind of event, in the order the docs list them."""

_WARNING_COMMON = ("level", "kind", "text")
_WARNING_FIELDS = {
    "long_wait": (*_WARNING_COMMON, "ticket", "window", "minutes", "since"),   # window: None
    "long_service": (*_WARNING_COMMON, "ticket", "window", "minutes", "since"),
    "unattended": (*_WARNING_COMMON, "window", "minutes", "since"),
    "negative_rating": (*_WARNING_COMMON, "window", "ticket", "clerk"),
    "device": (*_WARNING_COMMON, "device"),
    "case_overdue": (*_WARNING_COMMON, "case", "window", "clerk"),
}
"""The fields each kind of warning has, as the protocol lists them (a long wait's window is
None: it waits for any)."""

BY_TAG: dict[str, type[Record]] = {kind.tag: kind for kind in KINDS}
_FIELD_NAMES: dict[type[Record], tuple[str, ...]] = {
    kind: tuple(f.name for f in dataclasses.fields(kind)) for kind in KINDS}
_TUPLES: dict[type[Record], tuple[str, ...]] = {
    kind: tuple(f.name for f in dataclasses.fields(kind) if str(f.type).startswith("tuple"))
    for kind in KINDS}


def record(tag: str, data: Mapping[str, Any]) -> Record:
    """A record from stored data: keys it does not know are left out (none today), lists
    become the tuples the record holds. Raises KeyError for an unknown kind."""
    kind = BY_TAG[tag]
    names = _FIELD_NAMES[kind]
    values = {name: data[name] for name in names if name in data}
    for name in _TUPLES[kind]:
        if name in values:
            values[name] = tuple(values[name])
    return kind(**values)


D = TypeVar("D", bound=Record)
D_co = TypeVar("D_co", bound=Record, covariant=True)


@dataclass(frozen=True, slots=True)
class Event(Generic[D_co]):
    seq: int
    at: datetime
    day: date
    data: D_co

    @property
    def kind(self) -> str:
        return self.data.tag

    def wire(self) -> dict[str, Any]:
        """The event as the protocol sends it."""
        return {"ev": self.data.tag, "seq": self.seq,
                "at": self.at.isoformat(timespec="seconds"), **self.data.fields()}


# --- the tables' one shape ------------------------------------------------------------------------

S = TypeVar("S")
R = TypeVar("R")


def entry(kind: type[D], handler: Callable[[S, Event[D]], R],
          ) -> tuple[type[Record], Callable[[S, Event[Any]], R]]:
    """One row of a table keyed by kind: the type checker sees that `handler` takes events of
    `kind`, and the table can then be read with any event."""
    return kind, handler


def missing(table: Mapping[type[Record], object]) -> list[str]:
    """The kinds a table has no entry for (the completeness test's question)."""
    return [kind.tag for kind in KINDS if kind not in table]
