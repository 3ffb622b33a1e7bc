"""The figures halls are judged on, computed from the event log alone (docs/kpis.md).

Pure functions, no I/O: `fold` turns a run of logged events into one record per ticket (its
visits to windows, its end, its rating) and one per window interval (a clerk present, paused,
or nobody there); `kpi_rows` groups those by a period and a dimension and computes every KPI,
by way of each day's `tally` of the tickets per key (which the store keeps for closed days, so
that `rows` makes a year's table from the tallies without the tickets); `hourly` and `ranking`
feed the reports page's charts and league tables. The store hands the events over
(`store.event_log.report_events`); the same events rebuild the live hall, so a report and the
hall can never disagree about what happened.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from typing import Any

from hall import service_calendar as cal
from hall.vocabulary import (
    BOOKING_COUNTED,
    BOOKING_DIMENSIONS,
    CASE_DIMENSIONS,
    DIMENSION_NAMES,
    FOLLOW_UP_SATISFIED,
    PERIODS,
    is_bad,
)
from queue_server import events as ev
from queue_server.bookings import counted_as
from queue_server.events import Event
from queue_server.hall_definition import HallDefinition
from queue_server.hall_state import Booking, Case, Complaint, Tracked
from queue_server.lifecycle import CaseStatus

FINAL = ("finished", "no_show", "cancelled")
HANDLED_OUTCOMES = ("done", "accepted", "escalated", "rejected", "incomplete")   # 办件, not 咨询
RANKING_MIN_FINISHED = 20
RANKING_WEIGHTS = {"satisfied_pct": 0.4, "service_level_pct": 0.25, "rating_rate_pct": 0.15,
                   "volume_pct": 0.2}
"""The windows' and clerks' ranking (`rank`): `volume_pct` is the tickets finished against the
most any of them finished (100 for the busiest), so a window that served three times as many
is not beaten on a rounding of satisfaction by one that served few."""
HALL_RANKING_WEIGHTS = {"satisfied_pct": 0.5, "service_level_pct": 0.3, "rating_rate_pct": 0.2}
"""The county's ranking of its halls: without volume, which measures a hall's size (the county
hall serves ten times a township's) rather than how well it serves."""
PART_NAMES = {"satisfied_pct": "满意率", "service_level_pct": "服务水平", "rating_rate_pct": "评议率",
              "volume_pct": "办结量指数"}

WINDOW_ONLY = ("unattended_min", "paused_min")
ARRIVAL_ONLY = ("issued", "cancelled", "open")   # not defined for a window or a clerk


# --- facts from the log ---------------------------------------------------------------------------

@dataclass(slots=True)
class Visit:
    """A ticket's time at one window: from its call there to how it left.

    `clerk` and `post` are whoever called it (its 受理); `ended_by` and `ended_post` whoever
    ended the visit (a hold, transfer, no-show or finish). They differ when a clerk took the
    window over in the middle of the ticket: the visit goes on, and the newcomer ends it."""

    window: int
    clerk: str | None
    post: str | None
    called_at: datetime
    end: str = "open"          # finished, no_show, held, transferred, cancelled, open
    ended_at: datetime | None = None
    ended_by: str | None = None        # None while open, and for the day's close
    ended_post: str | None = None


@dataclass(slots=True)
class TicketFacts:
    day: date
    number: str
    category: str              # where it ended up (a transfer to a category moves it)
    issued_category: str
    service: str | None
    kind: str
    priority: str
    issued_at: datetime
    status: str = "waiting"    # waiting, called, held, finished, no_show, cancelled
    first_called_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: str | None = None
    transfers: int = 0
    holds: int = 0
    recalls: int = 0
    visits: list[Visit] = field(default_factory=list)
    score: int | None = None
    rating_reasons: tuple[str, ...] = ()
    rating_upheld: bool = False
    """Its 差评 was taken out by an upheld appeal (`without_upheld`): neither rated nor 未评."""
    booking: str | None = None
    """The booking whose check-in gave it (预约): on time, its `ticket_issued` says so; late, the
    `booking_checked_in` that came with it. None: a walk-in."""
    slot_at: datetime | None = None
    """An on-time booking's slot start (its ticket is marked 预约); None for any other ticket."""

    @property
    def wait_seconds(self) -> float | None:
        """Issue to first call; None if never called."""
        if self.first_called_at is None:
            return None
        return (self.first_called_at - self.issued_at).total_seconds()

    @property
    def service_seconds(self) -> float | None:
        """The finishing visit, from its call to the finish; None unless finished."""
        if self.status != "finished":
            return None
        last = self.visits[-1]
        assert last.ended_at is not None   # the finish ended it
        return (last.ended_at - last.called_at).total_seconds()

    @property
    def finisher(self) -> Visit | None:
        """The visit that ended it as finished or no-show (its `ended_by` is who did that)."""
        return self.visits[-1] if self.status in ("finished", "no_show") and self.visits else None


@dataclass(slots=True)
class Interval:
    """A window's state over a stretch of one day: a clerk `present`, `paused` or `absent`."""

    day: date
    window: int
    state: str
    clerk: str | None
    post: str | None
    reason: str
    started_at: datetime
    ended_at: datetime | None = None


@dataclass(slots=True)
class Facts:
    tickets: list[TicketFacts]
    intervals: list[Interval]
    ratings: list[dict[str, Any]] | None
    """Every ticket_rated event, as logged, with its time and day; None where a report did not
    read them (`reports.load_facts`): no KPI does, a ticket's score is on the ticket."""


class _Fold:
    """The fold's running state; one method per kind it reads (see `FOLD`)."""

    def __init__(self) -> None:
        self.tickets: dict[tuple[date, str], TicketFacts] = {}
        self.open_intervals: dict[int, Interval] = {}
        self.intervals: list[Interval] = []
        self.ratings: list[dict[str, Any]] = []
        self.staff: dict[int, tuple[str, str]] = {}   # window: the clerk signed in there last, and post

    def _ticket(self, e: Event[Any]) -> TicketFacts | None:
        return self.tickets.get((e.day, e.data.number))   # None: issued before the period began

    def _interval(self, e: Event[Any], state: str | None, post: str | None, reason: str) -> None:
        d = e.data
        current = self.open_intervals.pop(d.window, None)
        if current is not None:
            current.ended_at = e.at
        if state is not None:
            opened = Interval(e.day, d.window, state, d.clerk, post, reason, e.at)
            self.open_intervals[d.window] = opened
            self.intervals.append(opened)

    def issued(self, e: Event[ev.TicketIssued]) -> None:
        d = e.data
        self.tickets[e.day, d.number] = TicketFacts(
            e.day, d.number, d.category, d.category, d.service, d.kind, d.priority, e.at,
            booking=d.booking, slot_at=datetime.fromisoformat(d.slot_at) if d.slot_at else None)

    def booking_checked_in(self, e: Event[ev.BookingCheckedIn]) -> None:
        """A late check-in's ticket is a walk-in's, but of a booking (an on-time one knows its
        booking from its issue already)."""
        t = self.tickets.get((e.day, e.data.ticket))
        if t is not None:
            t.booking = e.data.booking

    def called(self, e: Event[ev.TicketCalled]) -> None:
        t = self._ticket(e)
        if t is None:
            return
        d = e.data
        if d.via == "recall":
            t.recalls += 1
            return
        t.visits.append(Visit(d.window, d.clerk, d.post, e.at))
        t.status = "called"
        t.first_called_at = t.first_called_at or e.at

    def _leave(self, e: Event[Any], end: str, by: str | None, post: str | None) -> TicketFacts | None:
        """The ticket's open visit ends (`end`), by the clerk at the window now (after any
        takeover)."""
        t = self._ticket(e)
        if t is None:
            return None
        if t.visits and t.visits[-1].end == "open":
            visit = t.visits[-1]
            visit.end, visit.ended_at = end, e.at
            if by is not None:
                here = self.staff.get(e.data.window)
                visit.ended_by = by
                visit.ended_post = post or (here[1] if here is not None and here[0] == by else None)
        return t

    def _ended(self, t: TicketFacts | None, end: str, at: datetime, outcome: str | None) -> None:
        if t is not None:
            t.status, t.ended_at, t.outcome = end, at, outcome

    def held(self, e: Event[ev.TicketHeld]) -> None:
        t = self._leave(e, "held", e.data.clerk, None)
        if t is not None:
            t.holds += 1
            t.status = "held"

    def transferred(self, e: Event[ev.TicketTransferred]) -> None:
        t = self._leave(e, "transferred", e.data.clerk, None)
        if t is not None:
            t.transfers += 1
            t.status = "waiting"
            t.category = e.data.to_category or t.category

    def no_show(self, e: Event[ev.TicketNoShow]) -> None:
        self._ended(self._leave(e, "no_show", e.data.clerk, None), "no_show", e.at, None)

    def finished(self, e: Event[ev.TicketFinished]) -> None:
        self._ended(self._leave(e, "finished", e.data.clerk, e.data.post), "finished", e.at,
                    e.data.outcome)

    def cancelled(self, e: Event[ev.TicketCancelled]) -> None:
        t = self._ticket(e)
        if t is not None and t.visits and t.visits[-1].end == "open":
            t.visits[-1].end, t.visits[-1].ended_at = "cancelled", e.at   # the day's close
        self._ended(t, "cancelled", e.at, None)

    def priority_set(self, e: Event[ev.TicketPrioritySet]) -> None:
        t = self._ticket(e)
        if t is not None:
            t.priority = e.data.priority

    def rated(self, e: Event[ev.TicketRated]) -> None:
        t = self._ticket(e)
        if t is None:
            return
        d = e.data
        if d.score is not None:
            t.score = d.score
            t.rating_reasons = d.reasons
        self.ratings.append({"day": e.day, "at": e.at, **d.fields()})

    def signed_in(self, e: Event[ev.ClerkSignedIn]) -> None:
        self.staff[e.data.window] = e.data.clerk, e.data.post
        self._interval(e, "present", e.data.post, "")

    def resumed(self, e: Event[ev.WindowResumed]) -> None:
        self._interval(e, "present", e.data.post, "")

    def paused(self, e: Event[ev.WindowPaused]) -> None:
        self._interval(e, "paused", e.data.post, e.data.reason)

    def signed_out(self, e: Event[ev.ClerkSignedOut]) -> None:
        self._interval(e, "absent" if e.data.reason != "day_end" else None, e.data.post, "")

    def day_started(self, e: Event[ev.DayStarted]) -> None:
        for window in list(self.open_intervals):   # a day's intervals never cross midnight
            self.open_intervals.pop(window).ended_at = e.at


FOLD: dict[type[ev.Record], Callable[[_Fold, Event[Any]], None] | None] = dict([
    ev.entry(ev.TicketIssued, _Fold.issued),
    ev.entry(ev.TicketCalled, _Fold.called),
    ev.entry(ev.TicketNoShow, _Fold.no_show),
    ev.entry(ev.TicketHeld, _Fold.held),
    ev.entry(ev.TicketTransferred, _Fold.transferred),
    ev.entry(ev.TicketFinished, _Fold.finished),
    ev.entry(ev.TicketCancelled, _Fold.cancelled),
    ev.entry(ev.TicketPrioritySet, _Fold.priority_set),
    ev.entry(ev.TicketRated, _Fold.rated),
    ev.entry(ev.ClerkSignedIn, _Fold.signed_in),
    ev.entry(ev.ClerkSignedOut, _Fold.signed_out),
    ev.entry(ev.WindowPaused, _Fold.paused),
    ev.entry(ev.WindowResumed, _Fold.resumed),
    ev.entry(ev.DayStarted, _Fold.day_started),
    ev.entry(ev.BookingCheckedIn, _Fold.booking_checked_in),
]) | {
    # Kinds no KPI reads: a return only moves a waiting ticket, and the rest are not about
    # tickets or windows' staffing. The reports do not even load them.
    ev.TicketReturned: None, ev.WarningRaised: None, ev.WarningAcknowledged: None,
    ev.NoticeSet: None, ev.DeviceReported: None,
    # A 差评 case's life: its KPIs (`case_kpis`) read the cases, which outlive the day.
    **{kind: None for kind in ev.CASE_KINDS},
    # A complaint's life: not a ticket's nor a window's.
    **{kind: None for kind in ev.COMPLAINT_KINDS},
    # The rest of a booking's life: a booking outlives the day (made days before its slot,
    # cancelled on another), so its counts come from the bookings as the hall holds them, like
    # the cases (`booking_kpis`); its ticket, once checked in, is folded as every ticket is.
    **{kind: None for kind in ev.BOOKING_KINDS if kind is not ev.BookingCheckedIn},
}
"""How the KPI fold reads each kind of event."""

FOLDED_KINDS: tuple[str, ...] = tuple(kind.tag for kind, read in FOLD.items() if read is not None)
"""The kinds the reports load from the log."""


def fold(events: Iterable[Event]) -> Facts:
    """One pass over logged events (in seq order) into ticket, window and rating facts."""
    state = _Fold()
    for e in events:
        read = FOLD[type(e.data)]
        if read is not None:
            read(state, e)
    return Facts(list(state.tickets.values()), state.intervals, state.ratings)


# --- periods and dimensions -------------------------------------------------------------------------

@functools.lru_cache(maxsize=4096)   # a month has some 20,000 tickets and intervals, on 30 days
def period_key(day: date, period: str) -> str:
    if period == "day":
        return day.isoformat()
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{day:%Y-%m}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if period == "year":
        return str(day.year)
    if period == "all":
        return "全部"
    raise ValueError(f"未知的统计周期：{period}")


def dimension_names(definition: HallDefinition, by: str) -> dict[str, str]:
    if by == "hall":
        return {definition.hall.code: definition.hall.name}
    if by == "department":
        return {d.code: d.name for d in definition.departments} | {"": "未归属部门"}
    if by == "window":
        return {str(w.number): f"{w.number} 号 {w.name}" for w in definition.windows}
    if by == "clerk":
        return {c.badge: f"{c.name}（{c.badge}）" for c in definition.clerks}
    if by == "category":
        return {c.prefix: f"{c.prefix} {c.name}" for c in definition.categories}
    if by == "service":
        return {i.code: i.name for i in definition.items} | {"": "未选事项"}
    raise _unknown_dimension(by)


def _unknown_dimension(by: str) -> ValueError:
    return ValueError(f"未知的统计维度：{by}")


def ticket_department(definition: HallDefinition, ticket: TicketFacts) -> str:
    """The department of its service item, else of its category; "" if neither says."""
    return _department(definition, ticket.category, ticket.service)


def _department(definition: HallDefinition, category: str, service: str | None) -> str:
    item = definition.item_by_code.get(service) if service else None
    if item is not None:
        return item.department
    return definition.category_by_prefix[category].department or ""


# --- the KPIs ---------------------------------------------------------------------------------------

@dataclass(slots=True)
class Group:
    """What one (period, key) row accumulates before its KPIs are computed; and what the tickets
    of one day add to it (`tally`), the row being the `total` of its days'. Only the absences
    and pauses (`unattended`, `paused`) are not in a tally: they are counted as the rows are
    made, with the hall's sessions of that time."""

    issued: int = 0
    accepted: int = 0
    finished: int = 0
    no_show: int = 0
    cancelled: int = 0
    open: int = 0
    transferred: int = 0
    held: int = 0
    waits: list[float] = field(default_factory=list)
    never_called: int = 0      # ended without a call: counts against the service level
    services: list[float] = field(default_factory=list)
    handled: int = 0
    onsite: int = 0
    scores: list[int] = field(default_factory=list)
    slot_waits: list[float] = field(default_factory=list)
    """On-time bookings' tickets called: from their slot's start to the first call."""
    booked_waits: list[float] = field(default_factory=list)
    """The same tickets' waits from their issue, the check-in, to the first call."""
    walk_in_waits: list[float] = field(default_factory=list)
    """Walk-ins' tickets called (no booking's, on time or late): from issue to the first call."""
    unrated: int = 0
    post_a: int = 0
    post_b: int = 0
    unattended: float = 0.0
    paused: float = 0.0

    @classmethod
    def total(cls, groups: Iterable[Group]) -> Group:
        """The sums of their counts, and their lists' values one after the other: no KPI
        depends on the lists' order (`statistics.fmean` adds exactly, with `math.fsum`; the
        medians and percentiles sort)."""
        columns = zip(*map(_group_values, groups), strict=True)
        totals: list[Any] = [list(itertools.chain.from_iterable(column)) if is_list
                             else sum(column)
                             for column, is_list in zip(columns, _GROUP_LISTS, strict=True)]
        return cls(*totals)


_group_values = operator.attrgetter(*(f.name for f in fields(Group)))
_GROUP_LISTS = tuple(f.type.startswith("list[") for f in fields(Group))


def percentile(values: list[float], share: float) -> float | None:
    """Nearest rank: the smallest value with at least `share` of all values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def pct(part: float, whole: float) -> float | None:
    """A share in per cent to one decimal; None when there is nothing to divide by."""
    return round(100 * part / whole, 1) if whole else None


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _finish(group: Group, level: tuple[int, int], by: str) -> dict[str, Any]:
    """The KPIs of one row; `level`: its tickets called within the service level's target, of
    those it counts (`_service_level`)."""
    # In order once (the medians and percentiles sort them again, which is quick on a list in
    # order: a year by window has 1,800 rows).
    waits, services, scores = sorted(group.waits), sorted(group.services), group.scores
    rated = len(scores)
    finished_for_rating = rated + group.unrated
    row: dict[str, Any] = {
        "issued": group.issued, "accepted": group.accepted, "finished": group.finished,
        "no_show": group.no_show, "cancelled": group.cancelled, "open": group.open,
        "transferred": group.transferred, "held": group.held,
        "wait_mean_s": _seconds(statistics.fmean(waits)) if waits else None,
        "wait_median_s": _seconds(statistics.median(waits)) if waits else None,
        "wait_p90_s": _seconds(percentile(waits, 0.9)),
        "service_level_pct": pct(*level),
        "service_mean_s": _seconds(statistics.fmean(services)) if services else None,
        "service_median_s": _seconds(statistics.median(services)) if services else None,
        "service_p90_s": _seconds(percentile(services, 0.9)),
        "onsite_pct": pct(group.onsite, group.handled),
        "rated": rated, "unrated": group.unrated,
        "rating_rate_pct": pct(rated, finished_for_rating),
        "satisfied_pct": pct(sum(1 for s in scores if not is_bad(s)), rated),
        "score_mean": round(statistics.fmean(scores), 2) if scores else None,
        "scores": {str(s): scores.count(s) for s in range(5, 0, -1)},
        "post_a": group.post_a, "post_b": group.post_b,
        "post_b_pct": pct(group.post_b, group.post_a + group.post_b),
        "unattended_min": round(group.unattended / 60, 1),
        "paused_min": round(group.paused / 60, 1),
    }
    if by in ("window", "clerk"):
        for key in ARRIVAL_ONLY:
            row[key] = None
    if by not in ("window", "hall"):
        for key in WINDOW_ONLY:
            row[key] = None
    return row


def _service_level(group: Group, target_seconds: float) -> tuple[int, int]:
    """Of the tickets the service level counts (called, or ended without a call), how many
    were called within `target_seconds`."""
    return (sum(1 for wait in group.waits if wait <= target_seconds),
            len(group.waits) + group.never_called)


TALLY_OF = {"hall": "ticket", "department": "ticket", "category": "ticket",
            "service": "ticket", "window": "window", "clerk": "clerk"}
"""Which tally (`tally`) the rows of each dimension are made of."""


def tally_kind(by: str) -> str:
    """`TALLY_OF`, for a dimension asked for."""
    if by not in TALLY_OF:
        raise _unknown_dimension(by)
    return TALLY_OF[by]


Tally = dict[tuple[date, Any], Group]
"""What tickets add to the KPI rows (`tally`), per day and key."""


@dataclass(slots=True)
class Tallied:
    """What the KPI rows of the dimensions of one tally (`TALLY_OF`) are made of: the tickets'
    tally and the window intervals (for the absences and pauses)."""

    kind: str
    tally: Tally
    intervals: list[Interval]


def tally(tickets: Iterable[TicketFacts], kind: str) -> Tally:
    """What the tickets add to the KPI rows, per day and per key of one `kind` (`TALLY_OF`): a
    window's number, a clerk's badge; or for the rows by hall, department, category and service
    the category and service a ticket ended with, which the hall's definition turns into a
    department (or the hall) when the rows are made. The store keeps each closed day's
    (`store.day_facts`), so that a report over a year sums some 40,000 groups rather than
    counting 150,000 tickets again.

    For hall, department, category and service a ticket belongs to one key, so issued = finished
    + no_show + cancelled + open holds per row. For window and clerk, a ticket counts where it
    was served: accepted at every window, and by every clerk, that called it, its wait at the
    first; each hold or transfer, and its finish or no-show, at the window where it happened and
    to the clerk who did it, who after a takeover in the middle of a ticket is not the one who
    called it. The finish brings its service time, outcome, post and rating (the server gives
    the rating to the clerk who finished it too)."""
    groups: Tally = defaultdict(Group)
    if kind in _AT_WINDOW:
        _count_at_windows(groups, tickets, *_AT_WINDOW[kind])
        return dict(groups)
    for t in tickets:
        g = groups[t.day, (t.category, t.service)]
        g.issued += 1
        if t.status in FINAL:
            setattr(g, t.status, getattr(g, t.status) + 1)
        else:
            g.open += 1
        g.accepted += 1 if t.visits else 0
        _count_ticket(g, t)
    return dict(groups)


def kpi_rows(facts: Facts, definition: HallDefinition, by: str,
             period: str) -> list[dict[str, Any]]:
    """Every KPI per period and per key of the dimension `by` (docs/kpis.md says what counts,
    `tally` how a ticket does)."""
    kind = tally_kind(by)
    return rows(Tallied(kind, tally(facts.tickets, kind), facts.intervals), definition, by, period)


def rows(tallied: Tallied, definition: HallDefinition, by: str,
         period: str) -> list[dict[str, Any]]:
    """`kpi_rows` of the facts whose tickets' tally and intervals are `tallied`."""
    names = dimension_names(definition, by)
    target = definition.hall.service_level_minutes * 60
    at_window = by in _AT_WINDOW
    made = []
    # A window's rows gather under its number; the rows' keys are text.
    groups = _groups(tallied, definition, by, period)
    for (p, key), g in sorted(((p, str(key)), g) for (p, key), g in groups.items()):
        if at_window or g.issued:
            made.append({"period": p, "by": by, "key": key, "name": names.get(key, key),
                         **_finish(g, _service_level(g, target), by)})
    return made


COUNTY_TOTAL = "全县合计"


def county_rows(halls: Iterable[tuple[HallDefinition, Tallied]],
                period: str) -> list[dict[str, Any]]:
    """The county's KPI rows (`/county`): per period, one row for each hall with tickets (by
    "hall", keyed by its code) and the county's (by "county", `COUNTY_TOTAL`), which counts
    every hall's tickets as one hall would, each against its own hall's service level target.
    `halls`: each hall's definition and its tally by hall (`TALLY_OF["hall"]`)."""
    made = []
    totals: dict[str, list[tuple[Group, tuple[int, int]]]] = defaultdict(list)
    for definition, tallied in halls:
        target = definition.hall.service_level_minutes * 60
        for (p, _), g in sorted(_groups(tallied, definition, "hall", period).items(),
                                key=lambda row: row[0]):
            if not g.issued:
                continue
            level = _service_level(g, target)
            totals[p].append((g, level))
            made.append({"period": p, "by": "hall", "key": definition.hall.code,
                         "name": definition.hall.name, **_finish(g, level, "hall")})
    for p, parts in totals.items():
        level = (sum(within for _, (within, _) in parts), sum(n for _, (_, n) in parts))
        made.append({"period": p, "by": "county", "key": "", "name": COUNTY_TOTAL,
                     **_finish(Group.total(g for g, _ in parts), level, "hall")})
    made.sort(key=lambda row: (row["period"], row["by"] == "county", row["key"]))
    return made


def _groups(tallied: Tallied, definition: HallDefinition, by: str,
            period: str) -> dict[tuple[str, Any], Group]:
    """The groups of the rows by `by` per `period`, with the absences and pauses counted."""
    if period not in PERIODS:
        raise ValueError(f"未知的统计周期：{period}")
    assert TALLY_OF[by] == tallied.kind, (by, tallied.kind)

    def key_of(key: Any) -> Any:
        category, service = key
        if by == "hall":
            return definition.hall.code
        if by == "department":
            return _department(definition, category, service)
        if by == "category":
            return category
        return service or ""

    at_window = by in _AT_WINDOW
    parts: dict[tuple[str, Any], list[Group]] = defaultdict(list)   # a row's days
    for (day, key), g in tallied.tally.items():
        parts[period_key(day, period), key if at_window else key_of(key)].append(g)
    groups: dict[tuple[str, Any], Group] = defaultdict(
        Group, {row: Group.total(days) for row, days in parts.items()})
    if by in ("window", "hall"):
        sessions = _Sessions(definition)
        for interval in tallied.intervals:
            if interval.state != "present" and interval.ended_at is not None:
                _count_interval(groups, sessions, interval, period, by)
    return groups


def _count_ticket(g: Group, t: TicketFacts) -> None:
    """The ticket-level KPIs of one ticket, for a hall/department/category/service row."""
    g.transferred += 1 if t.transfers else 0
    g.held += 1 if t.holds else 0
    wait = t.wait_seconds
    if wait is not None:
        g.waits.append(wait)
        if t.booking is None:
            g.walk_in_waits.append(wait)
        elif t.slot_at is not None:
            assert t.first_called_at is not None   # it was called
            g.booked_waits.append(wait)
            g.slot_waits.append((t.first_called_at - t.slot_at).total_seconds())
    elif t.status in FINAL:
        g.never_called += 1
    if t.status == "finished":
        _count_finished(g, t, t.visits[-1])


def _count_finished(g: Group, t: TicketFacts, visit: Visit) -> None:
    """A finished ticket: its service time, outcome, post (of whoever finished it) and rating (a
    finished ticket without a score is 未评, whether the pad recorded 未评 or nothing came).
    `visit` is the one that finished it, its last (`TicketFacts.service_seconds`)."""
    assert visit.ended_at is not None   # the finish ended it
    g.services.append((visit.ended_at - visit.called_at).total_seconds())
    if t.score is not None:
        g.scores.append(t.score)
    elif not t.rating_upheld:
        g.unrated += 1
    if t.outcome in HANDLED_OUTCOMES:
        g.handled += 1
        g.onsite += t.outcome == "done"
    if visit.ended_post == "A":
        g.post_a += 1
    elif visit.ended_post == "B":
        g.post_b += 1


_AT_WINDOW = {"window": (operator.attrgetter("window"), operator.attrgetter("window")),
              "clerk": (operator.attrgetter("clerk"), operator.attrgetter("ended_by"))}
"""For the window and clerk rows: a visit's key as 受理 (whoever called it), and as whoever
ended it (the same window; after a takeover, another clerk)."""


def _count_at_windows(groups: Tally, tickets: Iterable[TicketFacts],
                      accepted_key: Callable[[Visit], Any],
                      ended_key: Callable[[Visit], Any]) -> None:
    """The tickets in the window or clerk rows (`_AT_WINDOW`): each accepted by every key that
    called it, its wait at the first; each hold, transfer and its end where it happened."""
    for t in tickets:
        visits = t.visits
        if not visits:
            continue
        day = t.day
        wait = t.wait_seconds
        assert wait is not None   # it was called
        if len(visits) == 1:   # most tickets: the sets below would each hold one key
            visit = visits[0]
            k = accepted_key(visit)
            if k is not None:
                g = groups[day, k]
                g.accepted += 1
                g.waits.append(wait)
            end = visit.end
            if end == "transferred" or end == "held":
                k = ended_key(visit)
                if k is not None:
                    g = groups[day, k]
                    if end == "transferred":
                        g.transferred += 1
                    else:
                        g.held += 1
        else:
            for k in set(map(accepted_key, visits)):
                if k is not None:
                    groups[day, k].accepted += 1
            for k in {ended_key(v) for v in visits if v.end == "transferred"}:
                if k is not None:
                    groups[day, k].transferred += 1
            for k in {ended_key(v) for v in visits if v.end == "held"}:
                if k is not None:
                    groups[day, k].held += 1
            k = accepted_key(visits[0])
            if k is not None:
                groups[day, k].waits.append(wait)
        status = t.status
        if status == "finished" or status == "no_show":   # `t.finisher`, inline: a year is
            last = visits[-1]                              # some 150,000 of them
            k = ended_key(last)
            if k is not None:
                g = groups[day, k]
                if status == "no_show":
                    g.no_show += 1
                else:
                    g.finished += 1
                    _count_finished(g, t, last)


def _count_interval(groups: dict, sessions: _Sessions, interval: Interval, period: str,
                    by: str) -> None:
    """An absence (脱岗) or a pause that has ended, in its window's or the hall's row."""
    assert interval.ended_at is not None
    # A day's last interval is closed by the next day's first event, which may come days
    # later: only its own day counts.
    seconds = sessions.seconds(interval.day, interval.started_at, interval.ended_at)
    key = interval.window if by == "window" else sessions.hall.code
    g = groups[period_key(interval.day, period), key]
    if interval.state == "absent":
        g.unattended += seconds
    else:
        g.paused += seconds


class _Sessions:
    """The hall's service sessions of each day as POSIX timestamps, worked out once per day
    (a year's report has some 70,000 absences and pauses on 300 days)."""

    def __init__(self, definition: HallDefinition) -> None:
        self.hall = definition.hall
        self._days: dict[date, tuple[float, float, tuple[tuple[float, float], ...]]] = {}

    def day(self, day: date) -> tuple[float, float, tuple[tuple[float, float], ...]]:
        """The midnights that begin and end a local day, and its sessions."""
        known = self._days.get(day)
        if known is None:
            hall = self.hall
            known = self._days[day] = (
                datetime.combine(day, time(0), hall.zone).timestamp(),
                datetime.combine(day + timedelta(days=1), time(0), hall.zone).timestamp(),
                tuple((datetime.combine(day, s.start, hall.zone).timestamp(),
                       datetime.combine(day, s.end, hall.zone).timestamp())
                      for s in hall.sessions) if cal.is_working_day(hall, day) else ())
        return known

    def seconds(self, day: date, start: datetime, end: datetime) -> float:
        """Seconds of [start, end), cut at the end of `day`, that fall in the sessions of the
        local days it spans."""
        starts, ends, spans = self.day(day)
        first, last = start.timestamp(), min(end.timestamp(), ends)
        local_day = day
        # An interval starts on its own service day, the local date of its start; a log from
        # elsewhere is not trusted to say so.
        if not starts <= first < ends:
            local_day = cal.local(self.hall, start).date()
            _, ends, spans = self.day(local_day)
        total = 0.0
        while True:
            for opens, closes in spans:
                overlap = min(last, closes) - max(first, opens)
                if overlap > 0:
                    total += overlap
            if ends >= last:
                return total
            local_day += timedelta(days=1)
            _, ends, spans = self.day(local_day)


# --- charts and league tables ---------------------------------------------------------------------

def hourly(facts: Facts, definition: HallDefinition) -> list[dict[str, Any]]:
    """Per hour of the day, over the whole span: tickets issued, tickets finished, and the mean
    wait of the tickets issued in that hour that were called; and per day on average."""
    zone = definition.hall.zone
    days = len({t.day for t in facts.tickets}) or 1
    arrivals: dict[int, int] = defaultdict(int)
    served: dict[int, int] = defaultdict(int)
    waits: dict[int, list[float]] = defaultdict(list)
    for t in facts.tickets:
        hour = t.issued_at.astimezone(zone).hour
        arrivals[hour] += 1
        if t.wait_seconds is not None:
            waits[hour].append(t.wait_seconds)
        if t.status == "finished":
            assert t.ended_at is not None   # the finish ended it
            served[t.ended_at.astimezone(zone).hour] += 1
    hours = sorted(set(arrivals) | set(served))
    return [{"hour": h, "arrivals": arrivals[h], "served": served[h],
             "arrivals_per_day": round(arrivals[h] / days, 1),
             "served_per_day": round(served[h] / days, 1),
             "wait_mean_s": _seconds(statistics.fmean(waits[h])) if waits[h] else None}
            for h in range(min(hours), max(hours) + 1)] if hours else []


def ranking(facts: Facts, definition: HallDefinition, by: str) -> list[dict[str, Any]]:
    """Windows or clerks ranked (`rank`) over the facts' span."""
    return rank(kpi_rows(facts, definition, by, "all"))


def rank(rows: Iterable[dict[str, Any]],
         weights: dict[str, float] = RANKING_WEIGHTS) -> list[dict[str, Any]]:
    """KPI rows (of one period) by a score of 0–100, the parts of `weights` weighed (a missing
    part counts 0), among those with at least `RANKING_MIN_FINISHED` tickets finished (fewer
    would make luck the winner); ties go to more tickets finished."""
    eligible = [row for row in rows if row["finished"] >= RANKING_MIN_FINISHED]
    most = max((row["finished"] for row in eligible), default=0)
    ranked = []
    for row in eligible:
        values = {**row, "volume_pct": round(100 * row["finished"] / most, 1)}
        parts = {k: values[k] if values[k] is not None else 0.0 for k in weights}
        score = round(sum(weights[k] * parts[k] for k in weights), 1)
        ranked.append({"key": row["key"], "name": row["name"], "score": score,
                       "finished": row["finished"], **parts})
    ranked.sort(key=lambda r: (-r["score"], -r["finished"], r["key"]))
    return [{"rank": i + 1, **r} for i, r in enumerate(ranked)]


def ranking_formula(span: str, weights: dict[str, float] = RANKING_WEIGHTS) -> str:
    """How `rank` scores with `weights`, in words, for a ranking over `span` (当月 …)."""
    terms = " + ".join(f"{PART_NAMES[k]} × {w:g}" for k, w in weights.items())
    volume = ("；办结量指数 = 办结数 ÷ 参与排名者中最多的办结数 × 100" if "volume_pct" in weights
              else "")
    return (f"综合得分 = {terms}（满分 100{volume}；{span}办结不少于 {RANKING_MIN_FINISHED} 件方"
            "参与排名）")


RANKING_FORMULA = ranking_formula("当月")


# --- the 好差评 closed loop ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class UpheldRating:
    """A 差评 whose appeal was upheld (申诉成立): out of every KPI from then on, though the log
    keeps the rating and the decision. Where it counted: its day, ticket and score, and the
    keys of the KPI rows it was in (the window and clerk that finished its ticket, the
    ticket's category and item as it ended)."""

    day: date
    ticket: str
    score: int
    window: int
    clerk: str
    category: str | None
    service: str | None


def without_upheld(facts: Facts, upheld: Iterable[UpheldRating]) -> Facts:
    """`facts` with the upheld 差评 taken out of their tickets (in place): such a ticket counts
    as neither rated nor 未评, in every KPI made of the tickets."""
    out = {(u.day, u.ticket) for u in upheld}
    if out:
        for t in facts.tickets:
            if t.score is not None and (t.day, t.number) in out:
                t.score, t.rating_upheld = None, True
    return facts


def tally_without_upheld(tallied: Tallied, upheld: Iterable[UpheldRating]) -> Tallied:
    """`tallied` with the upheld 差评 taken out of the groups they were counted in (in place), as
    `without_upheld` takes them out of the tickets before a tally: what the stored tallies of
    closed days need, since an appeal is decided after its rating's day has closed."""
    for u in upheld:
        key: Any = {"window": u.window, "clerk": u.clerk}.get(tallied.kind,
                                                              (u.category, u.service))
        group = tallied.tally.get((u.day, key))
        if group is not None and u.score in group.scores:
            group.scores.remove(u.score)
    return tallied


def _by_deadline(items: list[Tracked], today: date) -> tuple[list[Tracked], list[Tracked],
                                                              list[Tracked]]:
    """Of cases or complaints: those closed; those due (closed, or open past their deadline on
    the service day `today`); and those closed by their deadline (the service day of the
    closing act)."""
    closed = [c for c in items if not c.is_open]
    due = [c for c in items if not c.is_open or c.deadline < today]
    on_time = [c for c in closed if c.closed_on is not None and c.closed_on <= c.deadline]
    return closed, due, on_time


def case_kpis(scores: Iterable[int], cases: Iterable[Case], today: date) -> dict[str, Any]:
    """The closed loop's KPIs of a span (docs/kpis.md): `scores` are the span's ratings with a
    score that count (an upheld appeal took its 差评 out: `without_upheld`), `cases` the cases
    the span's ratings opened (as they stand now), `today` the service day by which a deadline
    is judged passed. 满意率 before the appeals counts the upheld 差评 back in."""
    scores, cases = list(scores), list(cases)
    rated, bad = len(scores), sum(1 for s in scores if is_bad(s))
    upheld = sum(1 for c in cases if c.status == CaseStatus.UPHELD)
    standing = [c for c in cases if c.status != CaseStatus.UPHELD]
    closed, due, on_time = _by_deadline(standing, today)
    reached = [next(f for f in c.follow_ups if f["result"] != "unreached")
               for c in closed if c.followed_up]
    return {
        "rated": rated, "bad": bad, "bad_pct": pct(bad, rated),
        "cases_open": sum(1 for c in cases if c.is_open), "upheld": upheld,
        "rectified_pct": pct(len(closed), len(standing)),
        "on_time_pct": pct(len(on_time), len(due)),
        "follow_up_pct": pct(len(reached), len(closed)),
        "follow_up_satisfied_pct": pct(sum(1 for f in reached if f["result"] in FOLLOW_UP_SATISFIED),
                                        len(reached)),
        "satisfied_pct": pct(rated - bad, rated + upheld),
        "satisfied_after_appeals_pct": pct(rated - bad, rated),
    }


def complaint_kpis(complaints: Iterable[Complaint], today: date) -> dict[str, Any]:
    """The 投诉建议 register's KPIs of a span (docs/kpis.md): `complaints` are those that came in
    on the span's days, as they stand now; `today` the service day by which a deadline is judged
    passed. Complaints and suggestions alike, as the register holds them."""
    complaints = list(complaints)
    closed, due, on_time = _by_deadline(complaints, today)
    return {
        "registered": len(complaints),
        "complaints": sum(1 for c in complaints if c.kind == "complaint"),
        "closed": len(closed), "closed_pct": pct(len(closed), len(complaints)),
        "on_time_pct": pct(len(on_time), len(due)),
        "valid": sum(1 for c in complaints if c.reply is not None and c.reply["valid"]),
    }


def booking_kpis(bookings: Iterable[Booking], group: Group) -> dict[str, Any]:
    """The appointments' KPIs of a span (docs/kpis.md): `bookings` are those of the span's days
    (their slots'), as they stand now; `group` what the span's tickets add to the row (`tally`),
    for the waits of the bookings checked in on time and of the walk-ins."""
    counted = dict.fromkeys(BOOKING_COUNTED.values(), 0)
    for b in bookings:
        counted[counted_as(b.status, b.no_show_counted)] += 1
    came = counted["on_time"] + counted["late"]

    def mean(waits: list[float]) -> float | None:
        return _seconds(statistics.fmean(waits)) if waits else None

    return {"booked": sum(counted.values()), **counted,
            "no_show_pct": pct(counted["no_show"], came + counted["no_show"]),
            "slot_wait_mean_s": mean(group.slot_waits),
            "booked_wait_mean_s": mean(group.booked_waits),
            "walk_in_wait_mean_s": mean(group.walk_in_waits)}


def booking_rows(tallied: Tallied, bookings: Iterable[Booking], definition: HallDefinition,
                 by: str, period: str) -> list[dict[str, Any]]:
    """`booking_kpis` per period (of a booking's slot day, a ticket's issue day) and per key of
    `by` (`BOOKING_DIMENSIONS`): a row for the hall, or for each category that takes bookings or
    had some. `tallied` is the span's tally of tickets (`TALLY_OF[by]`), `bookings` the span's."""
    if by not in BOOKING_DIMENSIONS:
        raise ValueError(f"预约指标可按 {' / '.join(DIMENSION_NAMES[d] for d in BOOKING_DIMENSIONS)}"
                         f"统计，不能按{DIMENSION_NAMES.get(by, by)}")
    groups = _groups(tallied, definition, by, period)
    booked: dict[tuple[str, str], list[Booking]] = defaultdict(list)
    for b in bookings:
        booked[period_key(b.day, period), definition.hall.code if by == "hall" else b.category
               ].append(b)
    taking = {c.prefix for c in definition.categories if c.booking is not None}
    keys = set(booked) | {(p, key) for (p, key), g in groups.items()
                          if g.issued and (by == "hall" or key in taking)}
    names = dimension_names(definition, by)
    return [{"period": p, "by": by, "key": key, "name": names.get(key, key),
             **booking_kpis(booked.get((p, key), ()), groups.get((p, key), Group()))}
            for p, key in sorted(keys)]


CASE_TALLY = {by: "clerk" if by == "clerk" else "window" for by in CASE_DIMENSIONS}
"""The dimensions the closed loop's KPIs are given by (`case_rows`), and the tally (`TALLY_OF`)
their ratings are counted from: a rating goes to the window and the clerk that finished its
ticket, as its case does, and by department to that window's department (the case's)."""


def case_tally_kind(by: str) -> str:
    """`CASE_TALLY`, for a dimension asked for."""
    if by not in CASE_TALLY:
        raise ValueError(f"差评工单指标可按 {' / '.join(DIMENSION_NAMES[d] for d in CASE_TALLY)}"
                         f"统计，不能按{DIMENSION_NAMES.get(by, by)}")
    return CASE_TALLY[by]


def case_rows(tally: Tally, cases: Iterable[Case], definition: HallDefinition, by: str,
              period: str, today: date) -> list[dict[str, Any]]:
    """`case_kpis` per period (of the rating's day) and per key of `by` (`CASE_TALLY`); `tally`
    is the span's tally of the kind `CASE_TALLY[by]`, `cases` the span's cases as they stand."""
    case_tally_kind(by)
    period_key(today, period)   # an unknown period is refused before anything is counted
    departments = {w.number: w.department for w in definition.windows}

    def key_of(window: int | None, clerk: str | None, department: str | None) -> str | None:
        if by == "hall":
            return definition.hall.code
        if by == "window":
            return None if window is None else str(window)
        return clerk if by == "clerk" else (department if department is not None
                                            else departments.get(window or 0, ""))

    scores: dict[tuple[str, str], list[int]] = defaultdict(list)
    for (day, key), g in tally.items():
        row = key_of(key, None, None) if by != "clerk" else key
        if row is not None and g.scores:
            scores[period_key(day, period), row].extend(g.scores)
    opened: dict[tuple[str, str], list[Case]] = defaultdict(list)
    for c in cases:
        opened[period_key(c.day, period), key_of(c.window, c.clerk, c.department) or ""].append(c)
    names = dimension_names(definition, by)
    return [{"period": p, "by": by, "key": key, "name": names.get(key, key),
             **case_kpis(scores.get((p, key), ()), opened.get((p, key), ()), today)}
            for p, key in sorted(set(scores) | set(opened))]
