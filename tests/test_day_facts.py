"""The stored facts of closed days give exactly what one fold over the events gives, and their
stored tallies exactly the KPI rows of that fold, by every dimension and period.

On the simulated days of `data/hall-0005.db` (4 days of a town hall with transfers, holds,
takeovers, ratings, pauses and clerks gone at a day's end), upgraded to the current schema; and
on three days of the small test hall, on SQLite and PostgreSQL, where a clerk takes a window
over in the middle of a ticket and a window is left without its clerk at the day's end.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from hall.vocabulary import DIMENSIONS, PERIODS
from queue_server import commands as cmd
from queue_server import kpis, reports
from queue_server.hall_service import HallService
from queue_server.hall_toml import parse_hall
from queue_server.store import day_facts, event_log, hall_records
from queue_server.store.database import migrate, open_engine
from queue_server.store.schema import DayFactsRow

DATA = Path(__file__).parent / "data"
FIRST, LATEST = date(2026, 11, 24), date(2026, 11, 28)


@pytest.fixture
def hall(hall_0005):
    return hall_0005


def _fold(engine, hall_id: int, first: date, last: date) -> kpis.Facts:
    with engine.connect() as conn:
        return kpis.fold(event_log.report_events(conn, hall_id, first, last, kpis.FOLDED_KINDS))


def _spans():
    days = [FIRST + timedelta(days=n) for n in range((LATEST - FIRST).days + 1)]
    return [(a, b) for a, b in itertools.combinations_with_replacement(days, 2)]


def test_the_days_hold_what_the_test_needs(hall):
    engine, hall_id, _, _ = hall
    facts = _fold(engine, hall_id, FIRST, LATEST)
    assert any(t.transfers for t in facts.tickets) and any(t.holds for t in facts.tickets)
    with engine.connect() as conn:
        logged = event_log.report_events(conn, hall_id, FIRST, LATEST, ["clerk_signed_in"])
    assert any(e.data.takeover for e in logged)
    assert facts.ratings and any(i.state == "paused" for i in facts.intervals)
    # Intervals a day leaves open, that the next day's start closes.
    closed_day = _fold(engine, hall_id, FIRST + timedelta(days=1), FIRST + timedelta(days=1))
    assert any(i.ended_at is None for i in closed_day.intervals)


def test_a_days_facts_read_back_equal(hall):
    engine, hall_id, _, _ = hall
    with engine.connect() as conn:
        events = event_log.report_events(conn, hall_id, FIRST, LATEST, kpis.FOLDED_KINDS)
    for day, day_events in itertools.groupby(events, key=lambda e: e.day):
        folded = day_facts.fold_day(day, list(day_events))
        stored = day_facts.dumps(folded)
        again = day_facts.loads(day, stored)
        assert again == folded
        assert (again.facts.tickets and again.facts.intervals) or day == LATEST
        for kind in set(kpis.TALLY_OF.values()):
            counts = day_facts.loads_counts(day, stored, kind)
            assert counts == day_facts.counts_of(folded, kind), kind
            assert counts.tally or day == LATEST


def _same_kpi_rows(engine, hall_id: int, definition, first: date, last: date) -> None:
    """The KPI rows from the stored tallies (`load_tallied`, as the reports page asks for them)
    are those of the fold of the events, by every dimension and period."""
    folded = _fold(engine, hall_id, first, last)
    for by in DIMENSIONS:
        tallied = reports.load_tallied(engine, hall_id, first, last, by)
        for period in PERIODS:
            assert kpis.rows(tallied, definition, by, period) == kpis.kpi_rows(
                folded, definition, by, period), (first, last, by, period)


def test_stored_and_folded_days_join_into_the_fold_of_the_span(hall):
    engine, hall_id, definition, _ = hall
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(DayFactsRow)).scalar_one()
    assert stored == 4   # migrate filled every closed day
    for first, last in _spans():
        assert reports.load_facts(engine, hall_id, definition, first, last) == _fold(
            engine, hall_id, first, last), (first, last)
    # With no facts stored, and with some: each read folds what it lacks and stores it.
    with engine.begin() as conn:
        conn.execute(DayFactsRow.__table__.delete())
    for first, last in [(FIRST + timedelta(days=1), FIRST + timedelta(days=2)),
                        (FIRST, LATEST)]:
        assert reports.load_facts(engine, hall_id, definition, first, last) == _fold(
            engine, hall_id, first, last), (first, last)


def test_stored_and_folded_days_give_the_kpi_rows_of_the_fold(hall):
    engine, hall_id, definition, _ = hall
    for first, last in _spans():
        _same_kpi_rows(engine, hall_id, definition, first, last)
    with engine.begin() as conn:
        conn.execute(DayFactsRow.__table__.delete().where(DayFactsRow.day == FIRST + timedelta(1)))
    _same_kpi_rows(engine, hall_id, definition, FIRST, LATEST)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(DayFactsRow)).scalar_one() == 4


def test_facts_read_without_their_ratings_are_the_fold_but_for_them(hall):
    """Stored days, days folded for want of stored facts, and the latest day alike."""
    engine, hall_id, definition, _ = hall
    with engine.begin() as conn:
        conn.execute(DayFactsRow.__table__.delete().where(DayFactsRow.day == FIRST))
    facts = reports.load_facts(engine, hall_id, definition, FIRST, LATEST, with_ratings=False)
    folded = _fold(engine, hall_id, FIRST, LATEST)
    assert facts.ratings is None and folded.ratings
    assert facts == replace(folded, ratings=None)
    assert reports.load_facts(engine, hall_id, definition, FIRST, LATEST) == folded
    with engine.connect() as conn:
        days = conn.execute(select(DayFactsRow.day).order_by(DayFactsRow.day)).scalars().all()
    assert days == [FIRST + timedelta(days=n) for n in range(4)]   # never the latest day


def test_facts_of_another_version_are_folded_again(hall):
    engine, hall_id, _, _ = hall
    with engine.begin() as conn:
        conn.execute(update(DayFactsRow).where(DayFactsRow.day == FIRST)
                     .values(version=day_facts.FACTS_VERSION - 1, data="[[],[],[],null,[]]"))
    with engine.connect() as conn:
        days, folded = day_facts.read(conn, hall_id, FIRST, LATEST)
    assert [d.day for d in folded] == [FIRST]
    assert day_facts.join(days) == _fold(engine, hall_id, FIRST, LATEST)
    assert day_facts.fill(engine, hall_id) == 1
    with engine.connect() as conn:
        assert day_facts.read(conn, hall_id, FIRST, LATEST)[1] == []


def test_a_read_only_database_reports_without_storing(hall):
    engine, hall_id, definition, path = hall
    with engine.begin() as conn:
        conn.execute(DayFactsRow.__table__.delete())
    engine.dispose()
    read_only = open_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    facts = reports.load_facts(read_only, hall_id, definition, FIRST, LATEST)
    assert facts == _fold(read_only, hall_id, FIRST, LATEST)
    with read_only.connect() as conn:
        assert conn.execute(select(func.count()).select_from(DayFactsRow)).scalar_one() == 0


def test_a_takeover_mid_ticket_and_a_window_left_at_day_end_join_exactly(db_url):
    engine = open_engine(db_url)
    migrate(engine)
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with engine.begin() as conn:
        hall_id, _ = hall_records.save_definition(
            conn, parse_hall((DATA / "small-hall.toml").read_text(encoding="utf-8")), monday)
    service = HallService(engine, None, monday)
    for day in range(3):
        now = monday + timedelta(days=day)

        def run(command, minutes: int) -> None:
            service.execute(command, now + timedelta(minutes=minutes))   # noqa: B023

        for prefix in "AABA":
            run(cmd.TakeTicket(prefix), 0)
        run(cmd.SignIn("1001", 1, "A"), 1)
        run(cmd.SignIn("1003", 3, "A"), 1)
        run(cmd.CallNext("1001", 1), 2)
        run(cmd.SignIn("1002", 1, "B", takeover=True), 3)   # mid-ticket: 1002 ends it
        run(cmd.NoShow("1002", 1), 4)
        run(cmd.CallNext("1002", 1), 5)
        run(cmd.Finish("1002", 1, "done"), 9)
        run(cmd.CallNext("1003", 3), 10)
        run(cmd.Transfer("1003", 3, to_window=1), 11)
        run(cmd.Pause("1003", 3, "会议"), 12)
        run(cmd.SignOut("1003", 3), 13 + day)   # nobody at window 3 until the next day
    service.execute(cmd.TakeTicket("A"), monday + timedelta(days=3))
    definition = service.definition
    first, last = monday.date(), monday.date() + timedelta(days=3)
    facts = _fold(engine, hall_id, first, last)
    assert any(v.ended_by not in (None, v.clerk) for t in facts.tickets for v in t.visits)
    days = [first + timedelta(days=n) for n in range(4)]
    for a, b in itertools.combinations_with_replacement(days, 2):
        assert reports.load_facts(engine, hall_id, definition, a, b) == _fold(
            engine, hall_id, a, b), (a, b)
    # The second time, the three closed days were read from their stored facts.
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(DayFactsRow)).scalar_one() == 3
    for a, b in itertools.combinations_with_replacement(days, 2):
        assert reports.load_facts(engine, hall_id, definition, a, b) == _fold(
            engine, hall_id, a, b), (a, b)
        _same_kpi_rows(engine, hall_id, definition, a, b)


def test_an_interval_left_open_is_closed_by_the_next_days_first_event_on_its_window():
    """Whichever comes first: the window's own event or the day's start (a log may have events
    before its `day_started`, as the first day of a hall has none)."""
    from queue_server import events as ev
    from queue_server.events import Event

    def at(day: date, hour: int) -> datetime:
        return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo("UTC"))

    d1, d2 = date(2026, 11, 23), date(2026, 11, 24)
    events = [
        Event(1, at(d1, 1), d1, ev.ClerkSignedIn(1, "1001", "A", False, None)),
        Event(2, at(d1, 1), d1, ev.ClerkSignedIn(2, "1001", "A", False, None)),
        Event(3, at(d1, 2), d1, ev.ClerkSignedOut(1, "1001", "A", "sign_out")),
        Event(4, at(d1, 2), d1, ev.ClerkSignedOut(2, "1001", "A", "sign_out")),
        Event(5, at(d2, 1), d2, ev.ClerkSignedIn(1, "1001", "A", False, None)),
        Event(6, at(d2, 2), d2, ev.DayStarted(d2.isoformat())),
        Event(7, at(d2, 3), d2, ev.ClerkSignedIn(2, "1001", "A", False, None)),
    ]
    joined = day_facts.join([day_facts.fold_day(d1, events[:4]), day_facts.fold_day(d2, events[4:])])
    assert joined == kpis.fold(events)
    assert [i.ended_at for i in joined.intervals if i.state == "absent"] == [at(d2, 1), at(d2, 2)]
