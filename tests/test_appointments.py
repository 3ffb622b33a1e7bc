"""Appointments (预约) in the core, on an injected clock: booking against the calendar, the
horizon and the limits, cancelling, checking in early, on time and late, the no-show release
and block, and bookings ordered by their slot among walk-ins."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server import commands as cmd
from queue_server import events as ev
from queue_server import views
from queue_server.domain_errors import DomainError
from queue_server.hall_definition import BookingRules, HallDefinition, Session
from queue_server.hall_state import HallState
from queue_server.hall_toml import load_hall
from queue_server.lifecycle import BookingStatus

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 8, 40, tzinfo=TZ)
RULES = BookingRules((Session(time(9), time(12)), Session(time(14), time(17))), slot_minutes=30,
                     capacity=4, share=50, horizon_days=7, per_phone_per_day=1,
                     early_minutes=30, late_minutes=15)


def booking_hall() -> HallDefinition:
    """The small test hall, its category A (社保业务) taking bookings; a phone with 2 no-shows in
    30 days is blocked 7 days."""
    small = load_hall(Path(__file__).parent / "data" / "small-hall.toml")
    categories = tuple(replace(c, booking=RULES) if c.prefix == "A" else c
                       for c in small.categories)
    return replace(small, categories=categories,
                   hall=replace(small.hall, booking_no_show_limit=2, booking_no_show_days=30,
                                booking_block_days=7))


HALL = booking_hall()


class Hall:
    """A HallState with a clock, as in test_core_rules."""

    def __init__(self, now: datetime = MONDAY, definition: HallDefinition = HALL):
        self.now = now
        self.state = HallState(definition, now.date())
        self.codes = 0
        self.log: list[ev.Event] = []

    def do(self, command):
        events = self.state.roll_to(self.now) + self.state.handle(command, self.now)
        self.log += events
        return events

    def refused(self, command) -> DomainError:
        self.state.roll_to(self.now)
        before = self.state.seq
        with pytest.raises(DomainError) as caught:
            self.state.handle(command, self.now)
        assert self.state.seq == before
        return caught.value

    def book(self, day: str, slot: str, phone: str = "p1", category: str = "A") -> cmd.Book:
        self.codes += 1
        return cmd.Book(category, day, slot, phone, f"id-{self.codes}", f"{self.codes:08d}")

    def booked(self, day: str, slot: str, phone: str = "p1") -> str:
        (made,) = [e.data for e in self.do(self.book(day, slot, phone))
                   if isinstance(e.data, ev.BookingMade)]
        return made.booking

    def at(self, day: int, hour: int, minute: int = 0) -> None:
        """Move the clock to a day of that week (23 = Monday) at hour:minute."""
        self.now = datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def test_slots_are_cut_from_the_booking_sessions_with_their_share_of_places():
    hall = Hall()
    slots = views.booking_slots(hall.state, "A", "2026-11-24", hall.now)["slots"]
    assert [s["slot"] for s in slots][:3] == ["09:00", "09:30", "10:00"]
    assert len(slots) == 12   # 6 in the morning, 6 in the afternoon
    assert {(s["places"], s["free"], s["open"]) for s in slots} == {(2, 2, True)}
    hall.booked("2026-11-24", "09:30", "p1")
    slots = views.booking_slots(hall.state, "A", "2026-11-24", hall.now)["slots"]
    assert slots[1] == {"slot": "09:30", "text": "09:30–10:00", "places": 2, "free": 1,
                        "open": True}


def test_a_slot_takes_its_places_and_no_more():
    hall = Hall()
    hall.booked("2026-11-24", "10:00", "p1")
    hall.booked("2026-11-24", "10:00", "p2")
    error = hall.refused(hall.book("2026-11-24", "10:00", "p3"))
    assert (error.code, error.message) == ("conflict", "11月24日（周二） 10:00–10:30已约满，请选择其他时段")


def test_a_holiday_and_a_sunday_cannot_be_booked_but_a_make_up_working_day_can():
    hall = Hall(datetime(2026, 12, 21, 9, 0, tzinfo=TZ))
    error = hall.refused(hall.book("2026-12-25", "09:00"))   # the hall's holiday, a Friday
    assert (error.code, error.message) == ("closed", "12月25日（周五）大厅不办公（周末或节假日），请选择其他日期")
    hall = Hall()
    error = hall.refused(hall.book("2026-11-29", "09:00"))   # a Sunday
    assert error.code == "closed" and "11月29日（周日）大厅不办公" in error.message
    hall.booked("2026-11-28", "09:00")                       # the make-up Saturday
    menu = {d["day"]: d["open"] for d in views.booking_menu(hall.state, hall.now)[0]["days"]}
    assert (menu["2026-11-28"], menu["2026-11-29"], menu["2026-11-27"]) == (True, False, True)


def test_only_days_within_the_horizon_and_slots_not_begun_can_be_booked():
    hall = Hall()
    hall.booked("2026-11-30", "09:00", "p1")   # today + 7
    error = hall.refused(hall.book("2026-12-01", "09:00", "p2"))
    assert (error.code, error.message) == (
        "bad_request", "社保业务只能预约 7 天内的号，最晚 11月30日（周一）")
    error = hall.refused(hall.book("2026-11-20", "09:00", "p2"))
    assert error.message == "11月20日（周五）已过，请选择今天或以后的日期"
    hall.at(23, 9, 10)
    error = hall.refused(hall.book("2026-11-23", "09:00", "p2"))
    assert (error.code, error.message) == ("closed", "09:00–09:30这个时段已开始，请选择稍后的时段")
    error = hall.refused(hall.book("2026-11-23", "09:10", "p2"))
    assert error.message == "社保业务没有 09:10 开始的预约时段，请重新选择"
    error = hall.refused(hall.book("2026-11-23", "09:30", "p2", category="B"))
    assert error.message == "民政业务不接受预约，请到大厅现场取号"


def test_one_phone_books_at_most_its_limit_per_day():
    hall = Hall()
    hall.booked("2026-11-24", "09:00", "p1")
    error = hall.refused(hall.book("2026-11-24", "15:00", "p1"))
    assert (error.code, error.message) == (
        "conflict", "该手机号已预约了11月24日（周二）的号（每个手机号每天最多预约 1 个）")
    hall.booked("2026-11-25", "09:00", "p1")   # another day is another day's booking
    hall.booked("2026-11-24", "15:00", "p2")


def test_cancel_needs_the_phone_or_id_digits_and_frees_the_place():
    hall = Hall()
    code = hall.booked("2026-11-24", "10:00", "p1")
    hall.booked("2026-11-24", "10:00", "p2")
    error = hall.refused(cmd.CancelBooking(code, ("p2", "id-9")))
    assert (error.code, error.message) == ("not_found", "预约码与手机号（或身份证后四位）不符，请核对")
    (cancelled,) = hall.do(cmd.CancelBooking(code, ("id-1",)))   # the ID digits' key of its code
    assert isinstance(cancelled.data, ev.BookingCancelled)
    assert hall.state.bookings[code].status == BookingStatus.CANCELLED
    assert hall.state.free_places("A", hall.state.bookings[code].day, time(10)) == 1
    hall.booked("2026-11-24", "10:00", "p1")   # the phone may book that day again
    error = hall.refused(cmd.CancelBooking(code, ("p1",)))
    assert (error.code, error.message) == ("conflict", f"预约 {code} 已取消，不能取消")


def test_a_booking_is_cancelled_only_before_its_slot_starts():
    hall = Hall()
    code = hall.booked("2026-11-23", "10:00")
    hall.at(23, 10, 0)
    error = hall.refused(cmd.CancelBooking(code, ("p1",)))
    assert (error.code, error.message) == ("conflict", "预约时段已开始，不能再取消")
    hall.at(23, 9, 59)
    hall.now = hall.now.replace(second=59)
    hall.do(cmd.CancelBooking(code, ("p1",)))


def test_check_in_too_early_says_when_to_come_back():
    hall = Hall()
    code = hall.booked("2026-11-23", "10:00")
    hall.at(23, 9, 20)
    error = hall.refused(cmd.CheckIn(code))
    assert (error.code, error.message) == (
        "closed", "您预约的是11月23日（周一） 10:00–10:30，签到时间未到，请于 09:30 以后再来签到")
    assert error.detail == {"come_back_at": "2026-11-23T09:30:00+08:00"}
    hall.at(23, 9, 0)
    tomorrow = hall.booked("2026-11-24", "09:00", "p2")
    error = hall.refused(cmd.CheckIn(tomorrow))
    assert error.message == "您预约的是11月24日（周二） 09:00–09:30，请当天再来签到"


def test_check_in_on_time_gives_a_booked_ticket_served_by_its_slot():
    hall = Hall()
    later = hall.booked("2026-11-23", "10:00", "p1")
    sooner = hall.booked("2026-11-23", "09:30", "p2")
    hall.at(23, 9, 29)
    walk_in = hall.do(cmd.TakeTicket("A"))[0].data.number
    hall.at(23, 9, 31)
    issued, checked = hall.do(cmd.CheckIn(later))      # 29 minutes early: on time
    assert (issued.data.booking, issued.data.slot_at) == (later, "2026-11-23T10:00:00+08:00")
    assert checked.data == ev.BookingCheckedIn(later, issued.data.number, False)
    hall.at(23, 9, 40)
    sooner_ticket = hall.do(cmd.CheckIn(sooner))[0].data.number   # 10 minutes late: on time
    state = hall.state
    ticket = state.tickets[sooner_ticket]
    assert views.ticket_view(state, ticket)["booked"] is True
    assert views.ticket_view(state, state.tickets[walk_in])["booked"] is False
    # shown in the order they will be called: the 10:00 booking after the walk-in until 10:00
    assert views.queue_view(state, "A")["next"] == [sooner_ticket, walk_in, issued.data.number]
    assert views.ticket_view(state, state.tickets[issued.data.number])["ahead"] == 2
    assert views.ticket_view(state, state.tickets[walk_in])["ahead"] == 1
    assert views.queue_view(state, "A")["booked"] == [sooner_ticket, issued.data.number]
    hall.do(cmd.SignIn("1001", 1, "A"))
    called = [hall.do(cmd.CallNext("1001", 1))[0].data.number]
    assert views.window_view(state, state.windows[1])["current_booked"] is True
    hall.do(cmd.Finish("1001", 1, "done"))
    called.append(hall.do(cmd.CallNext("1001", 1))[0].data.number)
    hall.do(cmd.Finish("1001", 1, "done"))
    hall.at(23, 10, 0)
    called.append(hall.do(cmd.CallNext("1001", 1))[0].data.number)
    # by slot, not by check-in; and the 10:00 booking, checked in early, passes nobody before
    # its slot begins: the walk-in who came at 09:29 is called first
    assert called == [sooner_ticket, walk_in, issued.data.number]
    assert state.bookings[later].status == BookingStatus.CHECKED_IN
    error = hall.refused(cmd.CheckIn(later))
    assert (error.code, error.message) == ("conflict", f"预约 {later} 已签到，不能签到")


def test_a_booking_checked_in_early_waits_for_the_windows_other_categories_too():
    """Window 1 serves A, then C. A 10:00 booking of A checked in at 09:31 does not pass a
    walk-in of C who came at 09:30: the window is not idle, so the walk-in is called first; with
    nobody else waiting the window may serve the booking early."""
    hall = Hall()
    code = hall.booked("2026-11-23", "10:00", "p1")
    hall.at(23, 9, 30)
    walk_in = hall.do(cmd.TakeTicket("C", kind="consult"))[0].data.number
    hall.at(23, 9, 31)
    booked = hall.do(cmd.CheckIn(code))[0].data.number
    hall.do(cmd.SignIn("1001", 1, "A"))
    assert hall.do(cmd.CallNext("1001", 1))[0].data.number == walk_in
    hall.do(cmd.Finish("1001", 1, "done"))
    assert hall.do(cmd.CallNext("1001", 1))[0].data.number == booked   # idle: served early


def test_check_in_after_the_late_limit_gives_a_walk_in_ticket():
    hall = Hall()
    code = hall.booked("2026-11-23", "10:00")
    hall.at(23, 10, 16)
    issued, checked = hall.do(cmd.CheckIn(code))
    assert issued.data.booking is None and issued.data.priority == "normal"
    assert checked.data.late is True
    assert hall.state.bookings[code].status == BookingStatus.LATE
    assert views.ticket_view(hall.state, hall.state.tickets[issued.data.number])["booked"] is False


def test_a_booking_not_checked_in_is_released_at_its_late_limit_and_may_still_come_late():
    hall = Hall()
    code = hall.booked("2026-11-23", "10:00")
    hall.at(23, 10, 15)
    assert hall.do(cmd.Tick()) == []
    hall.at(23, 10, 16)
    (released,) = hall.do(cmd.Tick())
    assert released.data == ev.BookingReleased(code, True)
    assert hall.state.bookings[code].status == BookingStatus.NO_SHOW
    assert hall.state.no_shows["p1"] == [hall.state.bookings[code].day]
    assert hall.do(cmd.Tick()) == []   # released once
    hall.at(23, 11, 0)
    issued, checked = hall.do(cmd.CheckIn(code))   # came after all: a walk-in's ticket
    assert issued.data.booking is None and checked.data.late is True


def test_a_release_long_after_the_late_limit_the_server_being_down_is_not_counted():
    hall = Hall()
    on_time = hall.booked("2026-11-23", "09:00")
    down = hall.booked("2026-11-24", "09:00")
    hall.at(23, 9, 19)   # 4 minutes after the limit: the tick was late, but the kiosks were up
    assert [e.data for e in hall.do(cmd.Tick())] == [ev.BookingReleased(on_time, True)]
    hall.at(24, 9, 40)   # the server was down from before 09:15 to 09:40
    assert [e.data for e in hall.do(cmd.Tick()) if isinstance(e.data, ev.BOOKING_KINDS)] == [
        ev.BookingReleased(down, False)]
    assert hall.state.bookings[down].status == BookingStatus.NO_SHOW
    assert hall.state.no_shows == {"p1": [hall.state.bookings[on_time].day]}
    assert hall.state.phone_blocked_until(["p1"]) is None   # the limit is 2: one counted


def test_a_late_check_in_refused_a_walk_in_ticket_is_recorded_as_come_and_worded_so():
    hall = Hall(definition=replace(HALL, hall=replace(HALL.hall, issue_cutoff_minutes=15)))
    code = hall.booked("2026-11-23", "11:00")
    hall.at(23, 11, 16)
    hall.do(cmd.Tick())
    assert hall.state.no_shows == {"p1": [hall.state.bookings[code].day]}
    hall.at(23, 11, 50)   # after the morning's cut-off (11:45), before its end: not the lunch break
    (came,) = hall.do(cmd.CheckIn(code))
    assert came.data == ev.BookingCheckedIn(code, "", True, refused="本时段取号已结束，请于今天 14:00 后再来")
    assert hall.state.bookings[code].status == BookingStatus.LATE
    assert hall.state.no_shows == {"p1": []}   # came: not a no-show


def test_repeated_no_shows_block_the_phone_from_booking_for_a_while():
    hall = Hall()
    first = hall.booked("2026-11-23", "10:00")
    hall.booked("2026-11-24", "10:00")
    hall.at(23, 10, 20)
    hall.do(cmd.Tick())
    assert hall.state.phone_blocked_until(["p1"]) is None
    hall.at(24, 10, 20)
    released, blocked = [e for e in hall.do(cmd.Tick()) if isinstance(e.data, ev.BOOKING_KINDS)]
    assert released.data.booking != first
    assert blocked.data == ev.BookingBlocked("p1", "2026-12-01", 2)
    error = hall.refused(hall.book("2026-11-26", "09:00"))
    assert (error.code, error.message) == (
        "forbidden", "该手机号近 30 天内预约后未到 2 次，12月1日（周二）及以前不能预约；现场取号不受影响")
    hall.booked("2026-11-26", "09:00", "p2")   # another phone is not blocked
    hall.at(30, 9, 0)
    assert hall.refused(hall.book("2026-12-02", "09:00")).code == "forbidden"
    hall.now = datetime(2026, 12, 2, 9, 0, tzinfo=TZ)
    hall.booked("2026-12-03", "09:00")   # the block is over


def test_bookings_outlive_the_day_and_a_replay_rebuilds_them():
    hall = Hall()
    code = hall.booked("2026-11-25", "09:00")
    hall.booked("2026-11-23", "10:00", "p2")
    hall.booked("2026-11-24", "10:00", "p2")
    for day in (23, 24):
        hall.at(day, 10, 20)
        hall.do(cmd.Tick())
    assert hall.state.day.isoformat() == "2026-11-24"
    assert hall.state.bookings[code].status == BookingStatus.BOOKED   # a new day kept it
    rebuilt = HallState(HALL, MONDAY.date())
    for e in hall.log:
        rebuilt.apply(e)
    assert [rebuilt.free_places("A", b.day, b.slot) for b in rebuilt.bookings.values()] == [
        hall.state.free_places("A", b.day, b.slot) for b in hall.state.bookings.values()] == [1, 1, 1]
    assert rebuilt.phone_blocked_until(["p2"]) == hall.state.phone_blocked_until(["p2"]) == (
        datetime(2026, 12, 1).date(), 2)
    assert {c: b.status for c, b in rebuilt.bookings.items()} == {
        c: b.status for c, b in hall.state.bookings.items()}


def test_the_ratio_keeps_walk_ins_served_through_a_stream_of_bookings():
    hall = Hall()
    codes = [hall.booked("2026-11-23", slot, phone)
             for slot, phone in (("09:00", "p1"), ("09:00", "p2"), ("09:30", "p3"))]
    hall.at(23, 9, 0)
    walk_ins = [hall.do(cmd.TakeTicket("A"))[0].data.number for _ in range(2)]
    hall.at(23, 9, 5)
    booked = [hall.do(cmd.CheckIn(code))[0].data.number for code in codes]
    hall.do(cmd.SignIn("1001", 1, "A"))
    order = []
    for _ in range(5):
        order.append(hall.do(cmd.CallNext("1001", 1))[0].data.number)
        hall.do(cmd.Finish("1001", 1, "done"))
    # priority_ratio 2: two bookings, then a walk-in; the 09:30 booking's slot has not begun
    # at 09:05: the other walk-in first
    assert order == [booked[0], booked[1], walk_ins[0], walk_ins[1], booked[2]]


MANY = replace(RULES, capacity=40, share=100)   # 40 places a slot: every step may check one in
RATIO = HALL.hall.priority_ratio


def walk_in_called(number: str, walk_ins: list[str], waited_calls: dict[str, int],
                   ahead_when_taken: dict[str, int]) -> None:
    """The model's check of a walk-in called: the first waiting, after at most RATIO + 1 calls
    for each walk-in ahead of it when it came, and for itself."""
    assert number == walk_ins[0]
    walk_ins.remove(number)
    assert waited_calls[number] + 1 <= (RATIO + 1) * (ahead_when_taken[number] + 1)


def call_done(state: HallState, now: datetime, walk_ins: list[str],
              waited_calls: dict[str, int]) -> None:
    """After a call: the walk-ins still waiting waited one call more; the ticket is finished."""
    for waiting in walk_ins:
        waited_calls[waiting] += 1
    state.handle(cmd.Finish("1001", 1, "done"), now)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["walk_in", "check_in", "call", "call"]), max_size=120))
def test_bookings_and_walk_ins_mixed_neither_side_starves_under_the_ratio(steps):
    """Walk-ins and checked-in bookings arrive in any order while one window calls. A model of
    its own checks each call: a walk-in passes a waiting booking only when `RATIO` bookings were
    called in a row while walk-ins waited, and a booking passes a waiting walk-in only before
    that; every ticket is called in the end, each walk-in after at most RATIO + 1 calls for each
    walk-in ahead of it when it came, and for itself."""
    definition = replace(HALL, categories=tuple(
        replace(c, booking=MANY) if c.prefix == "A" else c for c in HALL.categories))
    state = HallState(definition, MONDAY.date())
    now = datetime(2026, 11, 23, 8, 40, tzinfo=TZ)
    codes = []
    for i in range(40):
        (made,) = state.handle(cmd.Book("A", "2026-11-23", "09:00", f"p{i}", "k", f"{i:08d}"), now)
        codes.append(made.data.booking)
    now = datetime(2026, 11, 23, 9, 5, tzinfo=TZ)
    state.handle(cmd.SignIn("1001", 1, "A"), now)
    walk_ins: list[str] = []    # the model's waiting lists, oldest first
    booked: list[str] = []
    streak = 0                  # bookings called in a row while a walk-in waited
    waited_calls: dict[str, int] = {}   # a walk-in: calls made while it waited
    ahead_when_taken: dict[str, int] = {}

    def call() -> bool:
        nonlocal streak
        events = state.handle(cmd.CallNext("1001", 1), now)
        if not events:
            assert not walk_ins and not booked
            return False
        number = events[0].data.number
        if walk_ins and booked:
            expected = walk_ins[0] if streak >= RATIO else booked[0]
            assert number == expected, (number, walk_ins, booked, streak)
        if number in booked:
            assert number == booked[0]
            booked.remove(number)
            streak = streak + 1 if walk_ins else 0
        else:
            walk_in_called(number, walk_ins, waited_calls, ahead_when_taken)
            streak = 0
        call_done(state, now, walk_ins, waited_calls)
        return True

    for step in steps:
        if step == "walk_in":
            number = state.handle(cmd.TakeTicket("A"), now)[0].data.number
            ahead_when_taken[number] = len(walk_ins)
            walk_ins.append(number)
            waited_calls[number] = 0
        elif step == "check_in" and codes:
            booked.append(state.handle(cmd.CheckIn(codes.pop(0)), now)[0].data.number)
        elif step == "call":
            call()
        assert state.consistency_problems() == []
    while call():
        pass
    assert not walk_ins and not booked


def test_a_booking_whose_category_no_longer_takes_bookings_is_withdrawn_not_counted():
    hall = Hall()
    code = hall.booked("2026-11-23", "10:00")
    plain = HallState(load_hall(Path(__file__).parent / "data" / "small-hall.toml"), MONDAY.date())
    for e in hall.log:   # the server restarted with a hall file without [categories.booking]
        plain.apply(e)
    now = datetime(2026, 11, 23, 9, 50, tzinfo=TZ)
    with pytest.raises(DomainError) as refused:
        plain.handle(cmd.CheckIn(code), now)
    assert (refused.value.code, refused.value.message) == (
        "conflict", "社保业务已停止预约，您的预约已撤销，请现场取号")
    (withdrawn,) = plain.handle(cmd.Tick(), now)
    assert withdrawn.data == ev.BookingWithdrawn(code, "社保业务已停止预约")
    assert plain.bookings[code].status == BookingStatus.WITHDRAWN
    assert plain.handle(cmd.Tick(), datetime(2026, 11, 23, 10, 20, tzinfo=TZ)) == []
    assert plain.no_shows == {}   # never a no-show: the citizen could not have checked in
    with pytest.raises(DomainError) as refused:
        plain.handle(cmd.CheckIn(code), now)
    assert refused.value.message == f"预约 {code} 已撤销（大厅调整），不能签到"


def without_category_a() -> HallDefinition:
    """The test hall with its category A removed (renamed, say), and its items and windows'
    mentions with it."""
    return replace(HALL, categories=tuple(c for c in HALL.categories if c.prefix != "A"),
                   items=tuple(i for i in HALL.items if i.category != "A"),
                   windows=tuple(replace(w, categories=tuple(p for p in w.categories if p != "A"))
                                 for w in HALL.windows))


def test_a_removed_category_withdraws_its_bookings_and_every_view_still_serves():
    hall = Hall()
    pending = hall.booked("2026-11-24", "10:00")
    today = hall.booked("2026-11-23", "09:00", "p2")
    moved = HallState(without_category_a(), MONDAY.date())
    for e in hall.log:   # restarted with the category gone
        moved.apply(e)
    for role in ("manager", "board", "console"):
        views.snapshot(moved, role, {})
    assert views.booked_view(moved, moved.bookings[pending])["category_name"] == "A"
    hall_now = datetime(2026, 11, 23, 9, 0, 5, tzinfo=TZ)
    withdrawn = [e.data for e in moved.handle(cmd.Tick(), hall_now) if isinstance(e.data, ev.BOOKING_KINDS)]
    assert withdrawn == [ev.BookingWithdrawn(pending, "业务类别 A 已取消"),
                         ev.BookingWithdrawn(today, "业务类别 A 已取消")]
    with pytest.raises(DomainError) as refused:
        moved.handle(cmd.CheckIn(pending), hall_now)
    assert refused.value.code == "conflict"
    assert views.snapshot(moved, "manager", {})["bookings"][0]["slot_text"] == "09:00–09:30"


def test_a_holiday_added_over_a_booked_day_withdraws_its_bookings_uncounted():
    hall = Hall()
    code = hall.booked("2026-11-25", "10:00")
    holiday = replace(HALL, hall=replace(HALL.hall, holidays=(datetime(2026, 11, 25).date(),)))
    moved = HallState(holiday, MONDAY.date())
    for e in hall.log:
        moved.apply(e)
    (withdrawn,) = moved.handle(cmd.Tick(), MONDAY)
    assert withdrawn.data == ev.BookingWithdrawn(code, "11月25日（周三）大厅不办公")
    assert [(b.code, reason) for b, reason in HallState(holiday, MONDAY.date()).withdrawals(holiday)] == []


SLOTS = ("09:00", "09:30", "10:00", "10:30")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["walk_in", "elderly", "check_in", "check_in", "call", "call",
                                 "wait"]), max_size=150))
def test_bookings_of_several_slots_elderly_and_early_check_ins_neither_side_starves(steps):
    """Bookings of four slots checked in as early as allowed, elderly and normal walk-ins, a
    clock that moves on 5 minutes at a time, one window calling. Checked against a model of
    its own at every call: a booking whose slot has not begun is called only when nobody else
    waits; the tickets whose turn has come (elderly, and bookings whose slot has begun) go by
    their time (the slot's start for a booking); a normal walk-in passes them only after
    `RATIO` of them in a row, and each is called within RATIO + 1 calls for each walk-in ahead
    of it when it came, and for itself; in the end everyone is called."""
    definition = replace(HALL, categories=tuple(
        replace(c, booking=MANY) if c.prefix == "A" else c for c in HALL.categories))
    state = HallState(definition, MONDAY.date())
    now = datetime(2026, 11, 23, 8, 30, tzinfo=TZ)
    codes: list[tuple[datetime, str]] = []   # by slot
    for s, slot in enumerate(SLOTS):
        for i in range(8):
            code = f"{s}{i:07d}"
            state.handle(cmd.Book("A", "2026-11-23", slot, f"p{s}-{i}", "k", code), now)
            codes.append((datetime.combine(now.date(), time.fromisoformat(slot), TZ), code))
    now = datetime(2026, 11, 23, 8, 40, tzinfo=TZ)
    state.handle(cmd.SignIn("1001", 1, "A"), now)
    waiting: dict[str, tuple[str, datetime, int]] = {}   # number → (kind, its time, issue order)
    normal: list[str] = []
    streak = 0
    waited_calls: dict[str, int] = {}
    ahead_when_taken: dict[str, int] = {}
    order = 0

    def call() -> bool:
        nonlocal streak
        events = state.handle(cmd.CallNext("1001", 1), now)
        if not events:
            assert not waiting
            return False
        number = events[0].data.number
        kind, at, seq = waiting.pop(number)
        turn = {n: w for n, w in waiting.items() if w[0] == "elderly" or (w[0] == "booking" and w[1] <= now)}
        early = {n: w for n, w in waiting.items() if w[0] == "booking" and w[1] > now}
        if kind == "booking" and at > now:   # an early one: nobody else waits
            assert not turn and not normal, (number, waiting)
            assert all((at, seq) <= (w[1], w[2]) for w in early.values())
            streak = 0
        elif kind in ("elderly", "booking"):
            assert all((at, seq) <= (w[1], w[2]) for w in turn.values()), (number, waiting)
            assert not normal or streak < RATIO
            streak = streak + 1 if normal else 0
        else:
            assert not turn or streak >= RATIO, (number, waiting, streak)
            walk_in_called(number, normal, waited_calls, ahead_when_taken)
            streak = 0
        call_done(state, now, normal, waited_calls)
        return True

    for step in steps:
        if step in ("walk_in", "elderly"):
            number = state.handle(cmd.TakeTicket("A", priority="normal" if step == "walk_in"
                                                 else "elderly"), now)[0].data.number
            order += 1
            waiting[number] = (step if step == "elderly" else "normal", now, order)
            if step == "walk_in":
                ahead_when_taken[number] = len(normal)
                normal.append(number)
                waited_calls[number] = 0
        elif step == "check_in":
            ready = [(at, code) for at, code in codes
                     if at - timedelta(minutes=MANY.early_minutes) <= now
                     <= at + timedelta(minutes=MANY.late_minutes)]
            if ready:
                codes.remove(ready[0])
                number = state.handle(cmd.CheckIn(ready[0][1]), now)[0].data.number
                order += 1
                waiting[number] = ("booking", ready[0][0], order)
        elif step == "call":
            call()
        elif now < datetime(2026, 11, 23, 11, 0, tzinfo=TZ):
            now += timedelta(minutes=5)
        assert state.consistency_problems() == []
    while call():
        pass
    assert not waiting and not normal


def test_places_held_over_a_change_of_slots_are_counted_by_the_time_they_overlap():
    """Two bookings at 09:00 and two at 09:30 of 30-minute slots; the hall file then makes the
    slots an hour long with 4 bookable places: the 09:00–10:00 slot is full."""
    hall = Hall()
    for slot, phone in (("09:00", "p1"), ("09:00", "p2"), ("09:30", "p3"), ("09:30", "p4")):
        hall.booked("2026-11-24", slot, phone)
    hour = replace(RULES, slot_minutes=60, capacity=8)
    longer = replace(HALL, categories=tuple(replace(c, booking=hour) if c.prefix == "A" else c
                                            for c in HALL.categories))
    moved = HallState(longer, MONDAY.date())
    for e in hall.log:
        moved.apply(e)
    day = datetime(2026, 11, 24).date()
    assert [moved.free_places("A", day, time(h)) for h in (9, 10)] == [0, 4]
    with pytest.raises(DomainError) as full:
        moved.handle(cmd.Book("A", "2026-11-24", "09:00", "p5", "k", "00000099"), MONDAY)
    assert full.value.message == "11月24日（周二） 09:00–10:00已约满，请选择其他时段"


def test_a_phone_is_matched_under_every_salt_kept():
    """The shell gives the phone's keys under every booking salt kept: its bookings of a day and
    its no-shows made under an older salt still count."""
    hall = Hall()
    hall.booked("2026-11-24", "09:00", "old-key")
    error = hall.refused(cmd.Book("A", "2026-11-24", "10:00", "new-key", "k", "00000098",
                                  phone_keys=("old-key", "new-key")))
    assert error.code == "conflict"
    hall.booked("2026-11-23", "09:00", "older-key")
    hall.at(23, 9, 16)
    hall.do(cmd.Tick())
    hall.at(24, 9, 16)
    hall.do(cmd.Tick())   # one no-show under each of two keys: the limit (2) is reached
    assert hall.state.phone_blocked_until(["old-key"]) is None
    assert hall.state.phone_blocked_until(["old-key", "older-key"]) == (datetime(2026, 12, 1).date(), 2)
    error = hall.refused(cmd.Book("A", "2026-11-26", "10:00", "new-key", "k", "00000097",
                                  phone_keys=("older-key", "old-key", "new-key")))
    assert error.code == "forbidden"


def test_a_block_once_over_does_not_come_back_when_the_no_shows_that_raised_it_are_forgotten():
    """3 no-shows in 30 days block a phone 30 days. No-shows on 23 Nov, 3 and 21 Dec block it
    until 20 Jan; one on 30 Dec, booked before the block, falls within it and starts none. On
    25 Jan the 23 Nov no-show is past the 60 days the core keeps: the 30 Dec one must still not
    start a block of its own (it did, until 29 Jan, from the three left in memory)."""
    rules = replace(RULES, horizon_days=14)
    base = replace(HALL, categories=tuple(replace(c, booking=rules) if c.booking else c
                                          for c in HALL.categories))
    definition = replace(base, hall=replace(base.hall, booking_no_show_limit=3,
                                            booking_no_show_days=30, booking_block_days=30))
    hall = Hall(datetime(2026, 11, 23, 8, 0, tzinfo=TZ), definition)

    def at(day: date, hour: int, minute: int = 0) -> None:
        hall.now = datetime.combine(day, time(hour, minute), TZ)

    days = [date(2026, 11, 23), date(2026, 12, 3), date(2026, 12, 21), date(2026, 12, 30)]
    for day in days[:3]:
        at(day if day == days[0] else day - timedelta(days=1), 8)
        hall.booked(day.isoformat(), "10:00")
    at(days[2], 8)
    hall.booked(days[3].isoformat(), "10:00")   # before the release that blocks the phone
    blocks = []
    for day in days:
        at(day, 10, 16)
        blocks += [e.data.until for e in hall.do(cmd.Tick()) if isinstance(e.data, ev.BookingBlocked)]
    assert blocks == ["2027-01-20"]
    for day, blocked in ((date(2027, 1, 19), (date(2027, 1, 20), 3)), (date(2027, 1, 25), None)):
        at(day, 8)
        hall.do(cmd.Tick())
        until = hall.state.phone_blocked_until(["p1"])
        assert (until if until is not None and until[0] >= day else None) == blocked, day
    assert hall.booked("2027-01-27", "10:00")   # booking open again on the 25th
