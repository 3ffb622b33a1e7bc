"""What devices are shown, computed from the state."""

from __future__ import annotations

from datetime import timedelta

from queue_server import commands as cmd
from queue_server import views
from tests.test_core_rules import Hall


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
