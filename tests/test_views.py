"""What devices are shown, computed from the state."""

from __future__ import annotations

from datetime import datetime, timedelta

from queue_server import commands as cmd
from queue_server import views
from tests.test_core_rules import MONDAY, Hall


def test_citizen_sees_people_ahead_and_an_estimate_from_todays_service_times():
    hall = Hall()
    first, second, third = hall.take("A"), hall.take("A"), hall.take("A")
    state = hall.state
    hall.do(cmd.SignIn("1001", 1, "A"))
    assert views.ticket_view(state, state.ticket(third))["estimated_wait_s"] == 3 * 300
    hall.call(1)
    hall.later(4)
    hall.do(cmd.Finish("1001", 1, "done"))
    view = views.ticket_view(state, state.ticket(third))
    assert (view["ahead"], view["estimated_wait_s"], view["status_text"]) == (1, 2 * 240, "等待中")
    hall.do(cmd.SignIn("1004", 4, "A"))            # a second window now serves category A
    assert views.ticket_view(state, state.ticket(third))["estimated_wait_s"] == 240
    hall.call(1)
    assert views.ticket_view(state, state.ticket(second))["status_text"] == "请到 1 号窗口"
    assert views.queue_view(state, "A") == {"category": "A", "waiting": 1, "next": [third], "booked": [],
                                            "oldest_at": "2026-11-23T09:00:00+08:00",
                                            "issued": 3}
    assert first not in views.queue_view(state, "A")["next"]
    assert state.ticket(first).ended_at - state.ticket(first).called_at == timedelta(minutes=4)


def test_no_time_is_promised_while_no_window_that_may_call_the_ticket_is_staffed():
    hall = Hall()
    state = hall.state
    mine, other = hall.take("A"), hall.take("B")
    view = views.ticket_view(state, state.ticket(mine))
    assert (view["ahead"], view["estimated_wait_s"], view["staffed"], view["wait_note"]) == (
        0, None, False, "该业务暂无窗口办理，请留意叫号或咨询工作人员")
    signed_in = hall.do(cmd.SignIn("1002", 2, "A"))   # window 2 serves B only
    assert views.ticket_view(state, state.ticket(mine))["estimated_wait_s"] is None
    # the page of a ticket whose windows did not change hears nothing; B's hears the news
    assert [d.citizen for d in views.citizen_updates(state, signed_in, [mine, other])] == [other]
    assert views.ticket_view(state, state.ticket(other))["estimated_wait_s"] == 300

    signed_in = hall.do(cmd.SignIn("1001", 1, "A"))   # window 1 serves A
    [update] = views.citizen_updates(state, signed_in, [mine, other])
    assert (update.citizen, update.message["ev"], update.message["seq"]) == (
        mine, "ticket", signed_in[-1].seq)
    assert (update.message["estimated_wait_s"], update.message["staffed"],
            update.message["wait_note"]) == (300, True, None)
    hall.do(cmd.Pause("1001", 1, "午休"))               # paused, but still there: still staffed
    assert views.ticket_view(state, state.ticket(mine))["estimated_wait_s"] == 300
    signed_out = hall.do(cmd.SignOut("1001", 1))
    [update] = views.citizen_updates(state, signed_out, [mine])
    assert (update.message["estimated_wait_s"], update.message["wait_note"]) == (
        None, "该业务暂无窗口办理，请留意叫号或咨询工作人员")


def test_a_ticket_sent_to_one_window_waits_for_that_windows_clerk():
    hall = Hall()
    state = hall.state
    mine = hall.take("A")
    hall.do(cmd.SignIn("1001", 1, "A"))
    hall.do(cmd.SignIn("1004", 4, "A"))
    hall.call(1)
    hall.do(cmd.Transfer("1001", 1, to_window=4, note=""))
    assert views.ticket_view(state, state.ticket(mine))["estimated_wait_s"] == 300
    signed_out = hall.do(cmd.SignOut("1004", 4))     # window 1 serves A, but will not call it
    [update] = views.citizen_updates(state, signed_out, [mine])
    assert (update.message["estimated_wait_s"], update.message["wait_note"]) == (
        None, "4 号窗口暂无工作人员，请留意叫号或咨询工作人员")


def test_a_warning_reaches_managers_as_the_contract_names_it_in_whole_seconds():
    # shared/protocol.md: warning {level, kind, window?, ticket?, text}, kinds long_wait,
    # long_service, unattended, negative_rating, device; every wire time in whole seconds.
    hall = Hall(datetime(2026, 11, 23, 9, 0, 0, 250000, tzinfo=MONDAY.tzinfo))
    number = hall.take("B")
    hall.later(30)
    [warning] = hall.do(cmd.Tick())
    [delivery] = views.wire(hall.state, warning)
    assert delivery.roles == frozenset({"manager"})
    assert delivery.message == {
        "ev": "warning", "seq": warning.seq, "at": "2026-11-23T09:30:00+08:00", "level": "yellow",
        "kind": "long_wait", "ticket": number, "window": None, "minutes": 30,
        "since": "2026-11-23T09:00:00+08:00", "text": "B001 号（民政业务）已等候 30 分钟"}
    snapshot = views.snapshot(hall.state, "manager", views.hall_view(hall.state.definition))
    fields = {k: v for k, v in delivery.message.items() if k != "ev"}
    assert snapshot["warnings"] == [{**fields, "acknowledged": None}]


def test_a_device_tells_open_from_closed_by_the_servers_own_rules_from_the_hall_view():
    """The hall's view carries its whole calendar: the kiosk's `Calendar`, made from the view,
    gives the server's answer (issuing, and why not) at every half hour of five weeks around a
    holiday and a make-up working Saturday, with an issue cut-off."""
    from dataclasses import replace

    from hall import service_calendar as cal
    from tests.test_core_rules import HALL

    definition = replace(HALL, hall=replace(HALL.hall, issue_cutoff_minutes=30))
    calendar = cal.calendar_from_view(views.hall_view(definition))
    start = MONDAY.replace(hour=0)
    for step in range(5 * 7 * 48):
        moment = start + timedelta(minutes=30 * step)
        issuing = cal.issuing(definition.hall, moment)
        assert cal.issuing(calendar, moment) == issuing, moment
        if not issuing:
            assert cal.closed_reason(calendar, moment) == cal.closed_reason(definition.hall,
                                                                            moment), moment
    issued = views.hall_view(definition)["categories"][0]
    assert (issued["prefix"], issued["daily_cap"]) == ("A", 30)
