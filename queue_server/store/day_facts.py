"""The folded facts of each closed service day, kept so that a report over months reads a row a
day rather than every event of the span.

A report is `kpis.fold` over the events of its span. The fold of a span is the folds of its
days one after the other, but for one thing: a window's interval still open when its day ends
(a clerk who signed out and nobody came) is closed by the next day's first event on that window
or by its `day_started`, whichever comes first. So each day's facts keep, beside the fold, when
that happened (`DayFacts.started_at`, `DayFacts.touched`), and `join` closes the intervals a day
leaves open as the fold over the whole span would: the result is exactly that fold's.

A closed day (one before the hall's latest logged day) gets no more events, so its facts never
change while the fold stays the same. They are stored (`day_facts` table) with `FACTS_VERSION`;
`read` folds the events of any day whose facts are missing or of another version, and of the
latest day, which may still be going on. `fill` stores the facts of every closed day that lacks
current ones; `database.migrate` runs it after an upgrade.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select
from sqlalchemy.exc import DBAPIError

from queue_server import kpis
from queue_server.events import LoggedEvent
from queue_server.store import event_log
from queue_server.store.schema import DayFactsRow, EventRow

FACTS_VERSION = 1
"""Bump it whenever a KPI definition, the fold (`kpis.fold`, its `Facts`) or the layout below
changes: stored facts of another version are then folded again from the events, lazily by the
first report that needs them and all at once by `queue-server init` (`fill`)."""

KINDS = ("ticket_issued", "ticket_called", "ticket_no_show", "ticket_held",
         "ticket_transferred", "ticket_finished", "ticket_cancelled", "ticket_priority_set",
         "ticket_rated", "clerk_signed_in", "clerk_signed_out", "window_paused",
         "window_resumed", "day_started")
"""The kinds of events the fold reads; the others are not loaded for a report."""

_INTERVAL_KINDS = frozenset(("clerk_signed_in", "clerk_signed_out", "window_paused",
                             "window_resumed"))
"""The kinds that end a window's open interval in the fold (as `day_started` ends them all)."""

_FILL_DAYS = 31
"""`fill` folds this many days at a time, so that a year of a county hall is not all in memory."""


@dataclass(slots=True)
class DayFacts:
    day: date
    facts: kpis.Facts
    started_at: datetime | None
    """When its first `day_started` was logged: it ends every interval left open before."""
    touched: dict[int, datetime]
    """Window: its first interval event, for those that came before the first `day_started`."""


def fold_day(day: date, events: Sequence[LoggedEvent]) -> DayFacts:
    """The facts of one day's events (in seq order)."""
    started_at = None
    touched: dict[int, datetime] = {}
    for e in events:
        if e.kind == "day_started":
            started_at = e.at
            break
        if e.kind in _INTERVAL_KINDS:
            touched.setdefault(e.data["window"], e.at)
    return DayFacts(day, kpis.fold(events), started_at, touched)


def join(days: Iterable[DayFacts]) -> kpis.Facts:
    """The facts of consecutive days (in order) as one fold over all their events gives them.

    Closes, on the facts given, the intervals each day left open (see the module's docstring)."""
    tickets: list[kpis.TicketFacts] = []
    intervals: list[kpis.Interval] = []
    ratings: list[dict[str, Any]] = []
    still_open: dict[int, kpis.Interval] = {}
    for d in days:
        for window in list(still_open):
            at = d.touched.get(window) or d.started_at
            if at is not None:
                still_open.pop(window).ended_at = at
        for interval in d.facts.intervals:
            if interval.ended_at is None:
                still_open[interval.window] = interval
        tickets += d.facts.tickets
        intervals += d.facts.intervals
        ratings += d.facts.ratings
    return kpis.Facts(tickets, intervals, ratings)


# --- the stored form ---------------------------------------------------------------------------
# Lists in a fixed order rather than objects with keys: a year is some 250 rows of 600 tickets,
# decoded by one json.loads, and times as whole microseconds since 1970 (UTC).

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _us(moment: datetime | None) -> int | None:
    return None if moment is None else (moment - _EPOCH) // _MICROSECOND


def _at(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _at_or_none(us: int | None) -> datetime | None:
    return None if us is None else _EPOCH + timedelta(microseconds=us)


def dumps(d: DayFacts) -> str:
    """One day's facts as compact JSON text (the `day` is the row's own)."""
    tickets = [[t.number, t.category, t.issued_category, t.service, t.kind, t.priority,
                _us(t.issued_at), t.status, _us(t.first_called_at), _us(t.ended_at), t.outcome,
                t.transfers, t.holds, t.recalls, t.score, list(t.rating_reasons),
                [[v.window, v.clerk, v.post, _us(v.called_at), v.end, _us(v.ended_at),
                  v.ended_by, v.ended_post] for v in t.visits]]
               for t in d.facts.tickets]
    intervals = [[i.window, i.state, i.clerk, i.post, i.reason, _us(i.started_at),
                  _us(i.ended_at)] for i in d.facts.intervals]
    ratings = [[_us(r["at"]), {k: v for k, v in r.items() if k not in ("day", "at")}]
               for r in d.facts.ratings]
    return json.dumps([tickets, intervals, ratings, _us(d.started_at),
                       [[w, _us(at)] for w, at in d.touched.items()]],
                      ensure_ascii=False, separators=(",", ":"))


def loads(day: date, data: list[Any]) -> DayFacts:
    """A day's facts from its stored form, already parsed from JSON."""
    tickets_data, intervals_data, ratings_data, started_at, touched = data
    at, maybe = _at, _at_or_none
    tickets = [kpis.TicketFacts(
        day, number, category, issued_category, service, kind, priority, at(issued_at), status,
        maybe(first_called_at), maybe(ended_at), outcome, transfers, holds, recalls,
        [kpis.Visit(window, clerk, post, at(called_at), end, maybe(visit_ended_at), ended_by,
                    ended_post)
         for window, clerk, post, called_at, end, visit_ended_at, ended_by, ended_post in visits],
        score, tuple(reasons))
        for (number, category, issued_category, service, kind, priority, issued_at, status,
             first_called_at, ended_at, outcome, transfers, holds, recalls, score, reasons,
             visits) in tickets_data]
    intervals = [kpis.Interval(day, window, state, clerk, post, reason, at(started), maybe(ended))
                 for window, state, clerk, post, reason, started, ended in intervals_data]
    ratings = [{"day": day, "at": at(moment), **rating} for moment, rating in ratings_data]
    return DayFacts(day, kpis.Facts(tickets, intervals, ratings), maybe(started_at),
                    {window: at(moment) for window, moment in touched})


# --- reading and storing -----------------------------------------------------------------------

def read(conn: Connection, hall_id: int, first: date,
         last: date) -> tuple[list[DayFacts], list[DayFacts]]:
    """The facts of every day with events from `first` to `last`, in order, and among them
    those of closed days that were folded now for want of current stored ones (to `store`)."""
    latest = conn.execute(select(func.max(EventRow.day))
                          .where(EventRow.hall_id == hall_id)).scalar()
    if latest is None:
        return [], []
    rows = conn.execute(select(DayFactsRow.day, DayFactsRow.data).where(
        DayFactsRow.hall_id == hall_id, DayFactsRow.day >= first,
        DayFactsRow.day <= min(last, latest - timedelta(days=1)),
        DayFactsRow.version == FACTS_VERSION).order_by(DayFactsRow.day)).all()
    stored = dict(zip((day for day, _ in rows),
                      json.loads("[" + ",".join(data for _, data in rows) + "]"), strict=True))
    event_days = conn.execute(select(EventRow.day).distinct().where(
        EventRow.hall_id == hall_id, EventRow.day >= first, EventRow.day <= last)
        .order_by(EventRow.day)).scalars().all()
    days: list[DayFacts] = []
    folded: list[DayFacts] = []
    for is_stored, run in itertools.groupby(event_days, key=lambda day: day in stored):
        if is_stored:
            days += (loads(day, stored[day]) for day in run)
            continue
        run_days = list(run)
        events = event_log.report_events(conn, hall_id, run_days[0], run_days[-1], KINDS)
        for day, day_events in itertools.groupby(events, key=lambda e: e.day):
            facts = fold_day(day, list(day_events))
            days.append(facts)
            if day < latest:
                folded.append(facts)
    return days, folded


def store(engine: Engine, hall_id: int, days: Sequence[DayFacts]) -> bool:
    """Keep the facts of closed days, replacing those of another version, in a transaction of
    their own. False, with nothing stored, when the database refuses (opened read-only, or
    another report stored the same day first): the facts are folded again next time."""
    if not days:
        return True
    rows = [{"hall_id": hall_id, "day": d.day, "version": FACTS_VERSION, "data": dumps(d)}
            for d in days]
    try:
        with engine.begin() as conn:
            conn.execute(delete(DayFactsRow).where(DayFactsRow.hall_id == hall_id,
                                                   DayFactsRow.day.in_([d.day for d in days])))
            conn.execute(insert(DayFactsRow), rows)
    except DBAPIError:
        return False
    return True


def fill(engine: Engine, hall_id: int) -> int:
    """Store the facts of every closed day of the hall that lacks current ones; how many were.

    Run after an upgrade (a new version, or a database from before this table), so that the
    first yearly report does not fold a year of events itself."""
    with engine.connect() as conn:
        missing = conn.execute(select(EventRow.day).distinct().where(
            EventRow.hall_id == hall_id,
            EventRow.day < select(func.max(EventRow.day)).where(EventRow.hall_id == hall_id)
            .scalar_subquery(),
            EventRow.day.not_in(select(DayFactsRow.day).where(
                DayFactsRow.hall_id == hall_id, DayFactsRow.version == FACTS_VERSION)))
            .order_by(EventRow.day)).scalars().all()
    stored = 0
    for start in range(0, len(missing), _FILL_DAYS):
        chunk = missing[start:start + _FILL_DAYS]
        with engine.connect() as conn:
            _, folded = read(conn, hall_id, chunk[0], chunk[-1])
        stored += len(folded) if store(engine, hall_id, folded) else 0
    return stored
