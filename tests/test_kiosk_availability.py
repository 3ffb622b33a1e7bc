"""What the kiosk says of taking a ticket before anyone taps (`hall.availability`), from what the
server sends: its hall view and live view, made here by the server's own view functions from a
hall state, so the kiosk's words are checked against the server's decisions."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from hall.availability import (
    OFFLINE,
    category_availability,
    hall_availability,
    waiting_text,
)
from kiosk.model import KioskModel
from queue_server import commands as cmd
from queue_server import views
from queue_server.domain_errors import DomainError
from tests.test_core_rules import HALL, MONDAY, TZ, Hall

HALL_VIEW = views.hall_view(HALL)


def at(day: date, clock: str) -> datetime:
    hours, minutes = map(int, clock.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=TZ)


def server_says(hall: Hall, moment: datetime, prefix: str = "A") -> str | None:
    """The server's refusal of a ticket at `moment`, or None when it issues one."""
    try:
        kind = HALL.category_by_prefix[prefix].kinds[0]
        hall.state.handle(cmd.TakeTicket(prefix, kind, "normal"), moment)
    except DomainError as refusal:
        return refusal.message
    return None


@pytest.mark.parametrize("moment,words", [
    (at(MONDAY, "07:00"), "大厅尚未开始办公，请于今天 8:30 后再来"),
    (at(MONDAY, "12:30"), "现在是休息时间，暂停取号，请于今天 14:00 后再来"),
    (at(MONDAY, "17:45"), "今日取号已结束，请明天 8:30 后再来"),
    (at(date(2026, 11, 22), "10:00"), "今天不是工作日，大厅不办理业务，请明天 8:30 后再来"),
    (at(date(2026, 12, 25), "10:00"), "今天不是工作日，大厅不办理业务，请于 12月28日（周一）8:30 后再来"),
])
def test_a_closed_hall_says_so_with_the_next_opening_in_the_servers_words(moment, words):
    said = hall_availability(HALL_VIEW, True, moment)
    assert (said.takeable, said.ok, said.text) == (False, False, words)
    assert server_says(Hall(moment), moment) == words     # the very refusal a tap would get
    live = views.live_view(Hall(moment).state)
    item = category_availability(HALL_VIEW, live, "A", True, moment)
    assert (item.takeable, item.text) == (False, words)


def test_an_open_hall_says_until_when_and_a_make_up_saturday_is_open():
    said = hall_availability(HALL_VIEW, True, at(MONDAY, "09:00"))
    assert said.takeable and said.ok
    assert said.text.startswith("大厅正在办公，今天 12:00 前可以取号")
    saturday = at(date(2026, 11, 28), "15:00")                # 调休 working day
    assert hall_availability(HALL_VIEW, True, saturday).text.startswith("大厅正在办公，今天 17:30 前")
    assert server_says(Hall(saturday), saturday) is None


def test_offline_or_before_the_hello_no_ticket_is_offered():
    assert hall_availability(HALL_VIEW, False, MONDAY).text == OFFLINE
    before_hello = hall_availability({}, True, MONDAY)
    assert not before_hello.takeable and "可以取号" not in before_hello.text


def test_the_days_numbers_gone_before_the_tap_as_the_server_counts_them():
    hall = Hall()
    hall.do(cmd.SignIn("1001", 1, "A"))                       # window 1 serves A and C
    for _ in range(4):
        hall.take("C", kind="consult")
    live = views.live_view(hall.state)
    assert category_availability(HALL_VIEW, live, "C", True, hall.now).takeable
    hall.take("C", kind="consult")                                            # the fifth: C's cap
    live = views.live_view(hall.state)
    gone = category_availability(HALL_VIEW, live, "C", True, hall.now)
    assert (gone.takeable, gone.ok, gone.text) == (False, False, "今日已取完，请明天 8:30 后再来")
    refusal = server_says(hall, hall.now, "C")
    assert refusal is not None and refusal.endswith("号已取完，请明天 8:30 后再来")
    assert category_availability(HALL_VIEW, live, "A", True, hall.now).takeable
    # yesterday's counts say nothing of today (the kiosk's clock passed midnight first)
    tuesday = MONDAY + timedelta(days=1)
    assert category_availability(HALL_VIEW, live, "C", True, tuesday).takeable


def test_no_staffed_window_is_said_and_the_ticket_still_offered():
    hall = Hall()
    nobody = category_availability(HALL_VIEW, views.live_view(hall.state), "B", True, hall.now)
    assert (nobody.takeable, nobody.ok) == (True, False)
    assert nobody.text.startswith("该业务暂无窗口办理")
    hall.do(cmd.SignIn("1001", 1, "A"))                       # window 1: A and C, not B
    live = views.live_view(hall.state)
    assert category_availability(HALL_VIEW, live, "B", True, hall.now).text.startswith("该业务暂无")
    assert category_availability(HALL_VIEW, live, "A", True, hall.now).text == "可以取号"
    hall.do(cmd.SignIn("1002", 2, "A"))                       # window 2 serves B
    hall.do(cmd.Pause("1002", 2, "开会"))                      # paused: still signed in
    live = views.live_view(hall.state)
    staffed = category_availability(HALL_VIEW, live, "B", True, hall.now)
    assert (staffed.takeable, staffed.ok, staffed.text) == (True, True, "可以取号")


def test_each_item_counts_its_own_category_and_says_so():
    assert waiting_text({"A": 3, "B": 7}, "A") == "本业务当前等候 3 人"
    assert waiting_text({}, "A") == ""


def test_the_model_follows_queue_and_window_events():
    """The kiosk's model keeps the hello's facts up to date from the events that change them."""
    hall = Hall()
    model = KioskModel(connected=True)
    model.apply_snapshot(views.snapshot(hall.state, "kiosk", HALL_VIEW))
    assert model.category_availability("B", hall.now).text.startswith("该业务暂无窗口办理")
    for e in hall.do(cmd.SignIn("1002", 2, "A")):
        for delivery in views.wire(hall.state, e):
            model.apply_event(delivery.message)
    assert model.category_availability("B", hall.now).text == "可以取号"
    for _ in range(5):
        for e in hall.do(cmd.TakeTicket("C", "consult", "normal")):
            for delivery in views.wire(hall.state, e):
                if "kiosk" in delivery.roles:
                    model.apply_event(delivery.message)
    assert model.waiting_text("C") == "本业务当前等候 5 人"
    assert model.category_availability("C", hall.now).text.startswith("今日已取完")
