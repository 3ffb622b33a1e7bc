"""The hall's rules one by one, as a clerk or citizen would meet them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from queue_server import commands as cmd
from queue_server.domain_errors import DomainError
from queue_server.hall_state import HallState
from queue_server.hall_toml import load_hall
from queue_server.lifecycle import TicketStatus

HALL = load_hall(Path(__file__).parent / "data" / "small-hall.toml")
TZ = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)


class Hall:
    """A HallState with a clock, so tests read like a day in the hall."""

    def __init__(self, now: datetime = MONDAY):
        self.now = now
        self.state = HallState(HALL, now.date())

    def do(self, command):
        return self.state.roll_to(self.now) + self.state.handle(command, self.now)

    def refused(self, command) -> DomainError:
        before = self.state.seq
        with pytest.raises(DomainError) as caught:
            self.state.handle(command, self.now)
        assert self.state.seq == before
        return caught.value

    def take(self, prefix="A", priority="normal", kind="handle") -> str:
        return self.do(cmd.TakeTicket(prefix, kind, priority))[0].data.number

    def call(self, window: int) -> str | None:
        clerk = self.state.windows[window].clerk
        events = self.do(cmd.CallNext(clerk, window))
        return events[0].data.number if events else None

    def later(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


def test_numbers_run_per_category_and_restart_next_day():
    hall = Hall()
    assert [hall.take("A"), hall.take("A"), hall.take("B"), hall.take("A")] == [
        "A001", "A002", "B001", "A003"]
    hall.now = MONDAY + timedelta(days=1)
    assert hall.take("A") == "A001"
    assert hall.state.day == hall.now.date()


def test_daily_cap_refuses_with_when_to_come_back():
    hall = Hall()
    for _ in range(5):
        hall.take("C", kind="consult")
    error = hall.refused(cmd.TakeTicket("C", "consult"))
    assert error.code == "closed"
    assert error.message == "今日综合咨询号已取完，请明天 8:30 后再来"


@pytest.mark.parametrize(("when", "message"), [
    (datetime(2026, 11, 23, 12, 30, tzinfo=TZ), "现在是休息时间，暂停取号，请于今天 14:00 后再来"),
    (datetime(2026, 11, 23, 7, 50, tzinfo=TZ), "大厅尚未开始办公，请于今天 8:30 后再来"),
    (datetime(2026, 11, 23, 17, 45, tzinfo=TZ), "今日取号已结束，请明天 8:30 后再来"),
    (datetime(2026, 11, 27, 18, 0, tzinfo=TZ), "今日取号已结束，请明天 8:30 后再来"),  # Sat is a make-up day
    (datetime(2026, 11, 29, 10, 0, tzinfo=TZ), "今天不是工作日，大厅不办理业务，请明天 8:30 后再来"),
    (datetime(2026, 12, 25, 10, 0, tzinfo=TZ),
     "今天不是工作日，大厅不办理业务，请于 12月28日（周一）8:30 后再来"),
])
def test_outside_service_hours_says_when_to_come_back(when, message):
    hall = Hall(when)
    error = hall.refused(cmd.TakeTicket("A"))
    assert (error.code, error.message) == ("closed", message)


def test_kiosk_cannot_take_green_or_unknown_kinds():
    hall = Hall()
    assert hall.refused(cmd.TakeTicket("A", "handle", "green")).code == "bad_request"
    assert hall.refused(cmd.TakeTicket("C", "handle")).message == "综合咨询不办理“办理”"
    assert hall.refused(cmd.TakeTicket("Q")).code == "not_found"
    assert hall.refused(cmd.TakeTicket("B", "handle", "normal", "T-SB-001")).code == "bad_request"
    assert hall.take("A", "elderly") == "A001"


def test_posts_follow_the_roster():
    hall = Hall()
    assert hall.refused(cmd.SignIn("1002", 1, "A")).message == "李强不是 1 号窗口的A岗"
    assert hall.refused(cmd.SignIn("1003", 1, "B")).code == "forbidden"
    hall.do(cmd.SignIn("1002", 1, "B"))
    # One window per clerk: 1002 is also A of window 2.
    error = hall.refused(cmd.SignIn("1002", 2, "A"))
    assert error.message == "您已在 1 号窗口签到，请先在该窗口签退"


def test_takeover_is_a_handover_and_keeps_the_current_ticket():
    hall = Hall()
    hall.take("A")
    hall.do(cmd.SignIn("1001", 1, "A"))
    assert hall.call(1) == "A001"
    error = hall.refused(cmd.SignIn("1002", 1, "B"))
    assert "已由张敏（A岗）签到" in error.message
    events = hall.do(cmd.SignIn("1002", 1, "B", takeover=True))
    assert [(e.kind, e.data.fields().get("reason")) for e in events] == [
        ("clerk_signed_out", "handover"), ("clerk_signed_in", None)]
    assert hall.state.windows[1].current.number == "A001"
    finished = hall.do(cmd.Finish("1002", 1, "done"))[0]
    assert (finished.data.clerk, finished.data.post) == ("1002", "B")
    # The rating goes to the clerk who actually served: B.
    rated = hall.do(cmd.Rate("A001", 5, (), window=1))[0]
    assert (rated.data.clerk, rated.data.post, rated.data.department) == ("1002", "B", "sb")


def test_a_window_without_clerk_or_paused_never_calls():
    hall = Hall()
    hall.take("A")
    assert hall.refused(cmd.CallNext("1001", 1)).code == "forbidden"
    hall.do(cmd.SignIn("1001", 1, "A"))
    assert hall.refused(cmd.Pause("1001", 1, " ")).code == "bad_request"
    hall.do(cmd.Pause("1001", 1, "会议"))
    assert "暂停" in hall.refused(cmd.CallNext("1001", 1)).message
    hall.do(cmd.Resume("1001", 1))
    assert hall.call(1) == "A001"
    assert hall.refused(cmd.CallNext("1001", 1)).code == "conflict"  # still serving A001
    assert hall.refused(cmd.SignOut("1001", 1)).code == "conflict"


def test_order_of_preference_then_fifo():
    hall = Hall()
    hall.take("B")
    hall.take("A")
    hall.take("C", kind="consult")
    hall.do(cmd.SignIn("1003", 3, "A"))        # window 3 prefers C, then B, then A
    assert [hall.call(3), hall.do(cmd.Finish("1003", 3, "consult")) and hall.call(3)] == [
        "C001", "B001"]


def test_priority_ratio_lets_normal_tickets_through():
    hall = Hall()
    normal = hall.take("A")
    for _ in range(4):
        hall.take("A", "elderly")
    hall.do(cmd.SignIn("1001", 1, "A"))
    called = []
    for _ in range(5):
        called.append(hall.call(1))
        hall.do(cmd.Finish("1001", 1, "done"))
    assert called == ["A002", "A003", normal, "A004", "A005"]


def test_transfer_keeps_issue_time_priority_and_first_clerk():
    hall = Hall()
    first = hall.take("A")
    hall.later(5)
    hall.take("B")
    hall.do(cmd.SignIn("1001", 1, "A"))
    hall.do(cmd.SignIn("1002", 2, "A"))
    assert hall.call(1) == first
    hall.later(3)
    transferred = hall.do(cmd.Transfer("1001", 1, to_category="B", note="应办民政"))[0]
    assert transferred.data.first_clerk == "1001"
    ticket = hall.state.ticket(first)
    assert ticket.issued_at == MONDAY and ticket.category == "B"
    assert hall.call(2) == first          # older than B001, so first in line
    assert hall.state.ticket(first).first_clerk == "1001"


def test_ticket_sent_to_an_unstaffed_window_returns_to_its_category():
    hall = Hall()
    number = hall.take("A")
    hall.do(cmd.SignIn("1001", 1, "A"))
    hall.call(1)
    hall.do(cmd.Transfer("1001", 1, to_window=4))
    # Window 1 also serves A, but the ticket is meant for window 4 only.
    assert hall.call(1) is None
    def returns() -> list:
        return [e for e in hall.do(cmd.Tick()) if e.kind != "warning"]

    hall.later(14)
    assert returns() == []
    hall.later(1)
    assert [e.kind for e in returns()] == ["ticket_returned"]
    assert hall.call(1) == number


def test_hold_and_call_back_at_the_same_window():
    hall = Hall()
    number = hall.take("A")
    hall.do(cmd.SignIn("1001", 1, "A"))
    hall.do(cmd.SignIn("1004", 4, "A"))
    hall.call(1)
    hall.do(cmd.Hold("1001", 1, "缺户口本"))
    assert hall.state.ticket(number).status == TicketStatus.HELD
    assert hall.refused(cmd.ResumeHeld("1004", 4, number)).code == "conflict"
    assert hall.refused(cmd.CallNumber("1004", 4, number)).code == "conflict"
    events = hall.do(cmd.CallNumber("1001", 1, number))
    assert events[0].data.via == "held"


def test_recall_is_counted_and_no_show_is_final():
    hall = Hall()
    number = hall.take("A")
    hall.do(cmd.SignIn("1001", 1, "A"))
    hall.call(1)
    assert hall.do(cmd.Recall("1001", 1))[0].data.recall == 1
    assert hall.do(cmd.Recall("1001", 1))[0].data.recall == 2
    hall.do(cmd.NoShow("1001", 1))
    assert hall.state.ticket(number).status == TicketStatus.NO_SHOW
    assert hall.refused(cmd.CallNumber("1001", 1, number)).code == "conflict"


def test_green_channel_goes_first():
    hall = Hall()
    hall.take("A")
    late = hall.take("A")
    hall.do(cmd.SetPriority(late, "green", "主任"))
    hall.do(cmd.SignIn("1001", 1, "A"))
    assert hall.call(1) == late


def test_rating_rules():
    hall = Hall()
    number = hall.take("A")
    hall.do(cmd.SignIn("1001", 1, "A"))
    hall.call(1)
    assert hall.refused(cmd.Rate(number, 5, (), window=1)).code == "conflict"   # not finished
    hall.do(cmd.Finish("1001", 1, "done"))
    assert hall.refused(cmd.Rate(number, 5, (), window=2)).code == "forbidden"  # other window
    assert hall.refused(cmd.Rate(number, 1, (), window=1)).code == "bad_request"  # no reason
    assert hall.refused(cmd.Rate(number, 1, ("太慢",), window=1)).code == "bad_request"
    hall.do(cmd.Rate(number, None, (), window=1))      # the citizen walked away: 未评
    assert hall.refused(cmd.Rate(number, 4, (), window=1)).code == "conflict"
    hall.do(cmd.Rate(number, 4, ()))                   # later, from the ticket's own page
    assert hall.refused(cmd.Rate(number, 5, ())).code == "conflict"
    assert hall.state.ticket(number).score == 4


def test_unattended_window_warns_yellow_then_red_in_service_hours_only():
    hall = Hall(datetime(2026, 11, 23, 8, 0, tzinfo=TZ))
    assert hall.do(cmd.Tick()) == []                    # before opening
    hall.do(cmd.SignIn("1001", 1, "A"))
    hall.do(cmd.SignOut("1001", 1))                     # left before the session begins
    hall.now = datetime(2026, 11, 23, 8, 39, tzinfo=TZ)
    assert hall.do(cmd.Tick()) == []
    hall.now = datetime(2026, 11, 23, 8, 40, tzinfo=TZ)
    warnings = hall.do(cmd.Tick())                      # windows 2–4, never opened: 未开放
    assert [(w.data.window, w.data.level, w.data.minutes) for w in warnings] == [
        (1, "yellow", 10)]
    assert hall.do(cmd.Tick()) == []                    # raised once per level
    hall.now = datetime(2026, 11, 23, 8, 50, tzinfo=TZ)
    assert [w.data.level for w in hall.do(cmd.Tick())] == ["red"]
    hall.do(cmd.SignIn("1001", 1, "A"))
    hall.now = datetime(2026, 11, 23, 9, 30, tzinfo=TZ)
    assert hall.do(cmd.Tick()) == []


def test_warnings_say_since_in_whole_seconds_and_are_raised_once_per_level():
    # Clocks have microseconds; the wire says whole seconds, and the 脱岗 already warned of is
    # still recognised by its whole-second `since` at the next tick.
    hall = Hall(datetime(2026, 11, 23, 9, 0, 0, 250000, tzinfo=TZ))
    hall.do(cmd.SignIn("1001", 1, "A"))
    hall.do(cmd.SignIn("1004", 4, "A"))
    hall.later(5 / 60)                                  # 09:00:05.25
    hall.do(cmd.SignOut("1001", 1))
    number = hall.take("B")
    hall.later(10)
    [unattended] = [w.data.fields() for w in hall.do(cmd.Tick())]
    assert (unattended["kind"], unattended["level"], unattended["since"]) == (
        "unattended", "yellow", "2026-11-23T09:00:05+08:00")
    hall.later(1 / 60)
    assert hall.do(cmd.Tick()) == []
    hall.do(cmd.SignIn("1001", 1, "A"))
    hall.later(20)                                      # 09:30:06.25
    [wait] = [w.data.fields() for w in hall.do(cmd.Tick())]
    assert (wait["kind"], wait["level"], wait["ticket"], wait["since"]) == (
        "long_wait", "yellow", number, "2026-11-23T09:00:05+08:00")
    assert "number" not in wait
    assert hall.call(4) == number
    hall.later(30)
    [service] = [w.data.fields() for w in hall.do(cmd.Tick())]
    assert (service["kind"], service["ticket"], service["window"], service["since"]) == (
        "long_service", number, 4, "2026-11-23T09:30:06+08:00")


def test_day_end_cancels_open_tickets_and_signs_clerks_out():
    hall = Hall()
    waiting, called, held = hall.take("A"), hall.take("A"), hall.take("A")
    hall.do(cmd.SignIn("1001", 1, "A"))
    hall.do(cmd.SignIn("1004", 4, "A"))
    hall.do(cmd.CallNumber("1001", 1, held))
    hall.do(cmd.Hold("1001", 1, "缺材料"))
    hall.do(cmd.CallNumber("1004", 4, called))
    tickets = list(hall.state.tickets.values())
    hall.now = MONDAY + timedelta(days=1)
    events = hall.state.roll_to(hall.now)
    kinds = [e.kind for e in events]
    assert kinds.count("clerk_signed_out") == 2 and kinds.count("ticket_cancelled") == 3
    assert kinds[-1] == "day_started"
    assert {t.number: t.status for t in tickets} == {
        waiting: TicketStatus.CANCELLED, called: TicketStatus.CANCELLED,
        held: TicketStatus.CANCELLED}
    assert hall.state.consistency_problems() == []


def _warnings(events, kind):
    return [(e.data.fields().get("ticket") or e.data.fields().get("device"), e.data.level, e.data.text)
            for e in events if e.kind == "warning" and e.data.kind == kind]


def test_a_long_wait_warns_yellow_at_t1_and_red_at_t2_once_each():
    hall = Hall()
    for window in (1, 2, 3, 4):
        hall.do(cmd.SignIn(HALL.window_by_number[window].a_post, window, "A"))
    number = hall.take("B")
    hall.later(29)
    assert _warnings(hall.do(cmd.Tick()), "long_wait") == []
    hall.later(1)
    assert _warnings(hall.do(cmd.Tick()), "long_wait") == [(number, "yellow", "B001 号（民政业务）已等候 30 分钟")]
    hall.later(10)
    assert _warnings(hall.do(cmd.Tick()), "long_wait") == []
    hall.later(20)
    assert _warnings(hall.do(cmd.Tick()), "long_wait") == [(number, "red", "B001 号（民政业务）已等候 60 分钟")]
    assert _warnings(hall.do(cmd.Tick()), "long_wait") == []


def test_a_transferred_ticket_waits_from_its_transfer():
    hall = Hall()
    hall.do(cmd.SignIn("1001", 1, "A"))
    number = hall.take("A")
    hall.later(25)
    hall.call(1)
    hall.later(4)
    hall.do(cmd.Transfer("1001", 1, "B", None))
    hall.later(20)   # 49 minutes since issue, 20 since the transfer
    assert _warnings(hall.do(cmd.Tick()), "long_wait") == []
    hall.later(10)
    assert [w[:2] for w in _warnings(hall.do(cmd.Tick()), "long_wait")] == [(number, "yellow")]


def test_a_long_service_warns_and_names_the_window():
    hall = Hall()
    hall.do(cmd.SignIn("1001", 1, "A"))
    number = hall.take("A")
    hall.call(1)
    hall.later(30)
    assert _warnings(hall.do(cmd.Tick()), "long_service") == [
        (number, "yellow", "1 号窗口办理 A001 号（社保业务）已 30 分钟")]
    hall.later(30)
    assert [w[1] for w in _warnings(hall.do(cmd.Tick()), "long_service")] == ["red"]


def test_a_bad_rating_warns_with_its_reasons():
    hall = Hall()
    hall.do(cmd.SignIn("1001", 1, "A"))
    first, second = hall.take("A"), hall.take("A")
    hall.call(1)
    hall.do(cmd.Finish("1001", 1, "done"))
    events = hall.do(cmd.Rate(first, 1, ("服务态度不好", "办事效率低"), 1))
    assert _warnings(events, "negative_rating") == [
        (first, "red", "1 号窗口张敏办理的 A001 号评价为“非常不满意”：服务态度不好、办事效率低")]
    hall.call(1)
    hall.do(cmd.Finish("1001", 1, "done"))
    assert _warnings(hall.do(cmd.Rate(second, 3, (), 1)), "negative_rating") == []


def test_a_printer_fault_warns_once_per_change():
    hall = Hall()
    assert _warnings(hall.do(cmd.ReportDevice("kiosk-1", "kiosk", "paper_low")), "device") == [
        ("kiosk-1", "yellow", "kiosk-1：打印纸将尽")]
    assert _warnings(hall.do(cmd.ReportDevice("kiosk-1", "kiosk", "paper_out", "后盖打开")),
                     "device") == [("kiosk-1", "red", "kiosk-1：打印机缺纸（后盖打开）")]
    assert _warnings(hall.do(cmd.ReportDevice("kiosk-1", "kiosk", "paper_out")), "device") == []
    assert _warnings(hall.do(cmd.ReportDevice("kiosk-1", "kiosk", "ok")), "device") == []


def test_a_manager_acknowledges_a_warning_once():
    hall = Hall()
    warning = hall.do(cmd.ReportDevice("kiosk-1", "kiosk", "offline"))[-1]
    acknowledged = hall.do(cmd.AckWarning(warning.seq, "主任"))
    assert [(e.kind, e.data.fields()) for e in acknowledged] == [
        ("warning_acknowledged", {"warning": warning.seq, "by": "主任"})]
    assert hall.state.warnings[warning.seq]["acknowledged"] == {"by": "主任", "at": hall.now}
    assert hall.refused(cmd.AckWarning(warning.seq, "副主任")).message == "这条预警已由主任确认"
    assert hall.refused(cmd.AckWarning(warning.seq + 99, "主任")).code == "not_found"
