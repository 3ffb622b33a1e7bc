"""The appointments' KPIs (docs/kpis.md) of a day worked out by hand: bookings made on the Friday
before, checked in on time, late, released as a no-show, cancelled and still expected, beside
walk-ins, on the core's injected clock; then the same figures from a real SQLite log through the
stored day facts, the `stats` rows and the export with its Chinese headers."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest

from queue_server import commands as cmd
from queue_server import events as ev
from queue_server import kpis, reports
from queue_server.store import day_facts, event_log
from tests.in_process_hall import make_hall
from tests.test_appointments import HALL, TZ, Hall

MONDAY = date(2026, 11, 23)
FIGURES = {
    # b1, b2 at 09:00, b3 at 09:30, b4 at 10:00, b5 at 10:30 (cancelled), b6 at 11:00 (to come)
    "booked": 6, "on_time": 2, "late": 1, "no_show": 1, "cancelled": 1, "withdrawn": 0,
    "expected": 1,
    "no_show_pct": 25.0,                  # b2 of b1, b3, b4 (late: came) and b2
    "slot_wait_mean_s": 600.0,            # b1 called 09:05 (slot 09:00), b3 09:45 (09:30): 5, 15 min
    "booked_wait_mean_s": 1350.0,         # from check-in: 08:45 → 09:05, 09:20 → 09:45: 20, 25 min
    "walk_in_wait_mean_s": 1050.0,        # 08:40 → 08:50, 09:25 → 09:50: 10, 25 min; not b4's
}


def the_day() -> Hall:
    hall = Hall(datetime(2026, 11, 20, 10, 0, tzinfo=TZ))   # the Friday before
    codes = [hall.booked("2026-11-23", slot, f"p{n}")
             for n, slot in enumerate(("09:00", "09:00", "09:30", "10:00", "10:30"), 1)]
    hall.booked("2026-11-24", "09:00", "p7")   # Tuesday's: not Monday's
    b1, _, b3, b4, b5 = codes
    hall.do(cmd.CancelBooking(b5, ("p5",)))

    def at(hour: int, minute: int) -> None:
        hall.at(23, hour, minute)

    def call(number: str) -> None:
        hall.do(cmd.CallNumber("1001", 1, number))
        hall.do(cmd.Finish("1001", 1, "done"))

    at(8, 40)
    walk_in = hall.do(cmd.TakeTicket("A"))[-1].data.number
    hall.booked("2026-11-23", "11:00", "p6")   # booked the same morning, still to come
    at(8, 45)
    first = hall.do(cmd.CheckIn(b1))[-2].data
    assert first.booking == b1                  # on time: a 预约 ticket
    at(8, 50)
    hall.do(cmd.SignIn("1001", 1, "A"))
    call(walk_in)
    at(9, 5)
    call(first.number)
    at(9, 16)
    released = [e.data for e in hall.do(cmd.Tick()) if isinstance(e.data, ev.BookingReleased)]
    assert len(released) == 1                   # b2: a no-show at its late limit, 09:15
    at(9, 20)
    third = hall.do(cmd.CheckIn(b3))[-2].data.number
    at(9, 25)
    second_walk_in = hall.do(cmd.TakeTicket("A"))[-1].data.number
    at(9, 45)
    call(third)
    at(9, 50)
    call(second_walk_in)
    at(10, 20)
    late = hall.do(cmd.CheckIn(b4))
    assert late[-1].data.late is True           # a walk-in's ticket, of a booking
    at(10, 30)
    call(late[-2].data.number)                  # in neither wait: late, not a walk-in
    return hall


def test_a_days_bookings_and_walk_ins_give_the_figures_worked_out_by_hand():
    hall = the_day()
    facts = kpis.fold(hall.log)
    monday = [b for b in hall.state.bookings.values() if b.day == MONDAY]
    for by, key, name in (("hall", "small", "测试镇便民服务中心"), ("category", "A", "A 社保业务")):
        tallied = kpis.Tallied("ticket", kpis.tally(facts.tickets, "ticket"), facts.intervals)
        (row,) = kpis.booking_rows(tallied, monday, HALL, by, "day")
        assert row == {"period": "2026-11-23", "by": by, "key": key, "name": name, **FIGURES}
    with pytest.raises(ValueError, match=r"^预约指标可按 全大厅 / 业务类别统计，不能按窗口$"):
        kpis.booking_rows(tallied, monday, HALL, "window", "day")


def test_the_figures_are_the_same_from_the_stored_day_facts_the_rebuilt_bookings_and_the_export(
        tmp_path):
    hall = the_day()
    hall.at(23, 11, 16)
    hall.do(cmd.Tick())   # b6 not come by its late limit, 11:15: a no-show
    hall.at(24, 8, 0)
    hall.do(cmd.Tick())   # Tuesday: Monday is closed, its facts are stored
    closed = {**FIGURES, "no_show": 2, "expected": 0, "no_show_pct": 40.0}   # b6 never came
    engine, hall_id, _ = make_hall(tmp_path / "hall.db")
    with engine.begin() as conn:
        event_log.append(conn, hall_id, hall.log)
    friday = date(2026, 11, 20)
    book = reports.CaseBook.from_log(engine, hall_id, HALL, friday, MONDAY,
                                     datetime(2026, 11, 24, 8, 1, tzinfo=TZ))
    assert len(book.bookings) == 6
    for _ in ("folded and stored", "read from the store"):
        tallied = reports.load_tallied(engine, hall_id, friday, MONDAY, "hall")
        (row,) = kpis.booking_rows(tallied, book.bookings, HALL, "hall", "all")
        assert {k: row[k] for k in FIGURES} == closed
    with engine.connect() as conn:
        stored, folded = day_facts.read(conn, hall_id, MONDAY, MONDAY)
    assert folded == []   # Monday's facts came from the store, of this version
    booked = {t.number: (t.booking, t.slot_at) for t in stored[0].facts.tickets if t.booking}
    assert sorted(booked.values(), key=str) == sorted([
        (b.code, b.slot_at if b.status == "checked_in" else None)
        for b in book.bookings if b.ticket], key=str)

    facts = reports.load_facts(engine, hall_id, HALL, friday, MONDAY)
    data = reports.export(facts, HALL, "csv", ["bookings"], "category", "day", book)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [
        ["周期", "业务类别", "预约数（个）", "按时签到（个）", "迟到（个）", "爽约（个）", "取消（个）",
         "大厅撤销（个）", "待签到（个）", "爽约率（%）", "预约等候（自时段开始）（分钟）",
         "预约等候（自签到）（分钟）", "现场取号等候（分钟）"],
        ["2026-11-23", "A 社保业务", "6", "2", "1", "2", "1", "0", "0", "40.0", "10.0", "22.5", "17.5"]]
    engine.dispose()


def test_a_month_older_than_the_no_show_rules_keep_still_has_its_bookings(tmp_path):
    """The live state keeps the bookings only while a no-show rule reads them (60 days by
    default); a report on an older month reads them from the log, with the same figures."""
    hall = the_day()
    hall.at(24, 8, 0)
    hall.do(cmd.Tick())   # the server down from 10:30 on Monday: b6 released long after 11:15
    closed = {**FIGURES, "withdrawn": 1, "expected": 0}   # the hall's doing, not b6's no-show
    hall.now = datetime(2027, 2, 1, 8, 0, tzinfo=TZ)   # 70 days on: Monday is out of the state
    hall.do(cmd.Tick())
    assert not [b for b in hall.state.bookings.values() if b.day == MONDAY]
    engine, hall_id, _ = make_hall(tmp_path / "hall.db")
    with engine.begin() as conn:
        event_log.append(conn, hall_id, hall.log)
    book = reports.CaseBook.from_log(engine, hall_id, HALL, MONDAY, MONDAY,
                                     datetime(2027, 2, 1, 8, 1, tzinfo=TZ))
    assert sorted(b.status for b in book.bookings) == [
        "cancelled", "checked_in", "checked_in", "late", "no_show", "no_show"]
    assert [b.no_show_counted for b in book.bookings if b.status == "no_show"] == [True, False]
    tallied = reports.load_tallied(engine, hall_id, MONDAY, MONDAY, "hall")
    (row,) = kpis.booking_rows(tallied, book.bookings, HALL, "hall", "all")
    assert {k: row[k] for k in FIGURES} == closed
    engine.dispose()


def test_a_code_drawn_again_months_later_is_two_bookings_in_a_report(tmp_path):
    """Codes are unique among the bookings the hall keeps live (60 days here and ahead), so a
    code may come again months later: a report over both reads two bookings, each with its own
    moves (the later cancellation is the new one's, not the checked-in old one's)."""
    hall = Hall(datetime(2026, 11, 20, 10, 0, tzinfo=TZ))
    hall.do(cmd.Book("A", "2026-11-23", "09:00", "p1", "id-1", "00000042"))
    hall.at(23, 8, 45)
    hall.do(cmd.CheckIn("00000042"))
    hall.now = datetime(2027, 2, 1, 9, 0, tzinfo=TZ)   # Monday 1 February: the old one forgotten
    hall.do(cmd.Tick())
    hall.do(cmd.Book("A", "2027-02-02", "09:00", "p2", "id-2", "00000042"))
    hall.do(cmd.CancelBooking("00000042", ("p2",)))
    engine, hall_id, _ = make_hall(tmp_path / "hall.db")
    with engine.begin() as conn:
        event_log.append(conn, hall_id, hall.log)
    book = reports.with_bookings(reports.CaseBook([], date(2027, 2, 1)), engine, hall_id, HALL,
                                 date(2026, 11, 1), date(2027, 2, 28))
    assert sorted((b.day.isoformat(), b.status) for b in book.bookings) == [
        ("2026-11-23", "checked_in"), ("2027-02-02", "cancelled")]
    engine.dispose()
