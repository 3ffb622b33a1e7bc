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
    assert views.ticket_view(state, state.ticket(third))["estimated_wait_s"] == 3 * 300
    hall.do(cmd.SignIn("1001", 1, "A"))
    hall.call(1)
    hall.later(4)
    hall.do(cmd.Finish("1001", 1, "done"))
    view = views.ticket_view(state, state.ticket(third))
    assert (view["ahead"], view["estimated_wait_s"], view["status_text"]) == (1, 2 * 240, "等待中")
    hall.do(cmd.SignIn("1004", 4, "A"))            # a second window now serves category A
    assert views.ticket_view(state, state.ticket(third))["estimated_wait_s"] == 240
    hall.call(1)
    assert views.ticket_view(state, state.ticket(second))["status_text"] == "请到 1 号窗口"
    assert views.queue_view(state, "A") == {"category": "A", "waiting": 1, "next": [third],
                                            "oldest_at": "2026-11-23T09:00:00+08:00"}
    assert first not in views.queue_view(state, "A")["next"]
    assert state.ticket(first).ended_at - state.ticket(first).called_at == timedelta(minutes=4)


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
