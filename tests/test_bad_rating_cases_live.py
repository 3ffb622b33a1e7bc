"""差评 cases through a real server: a pad's 差评 opens a case that managers and the clerk hear
of; every act on it is refused to a role that may not do it, with nothing changed; managers'
acts are signed with their accounts, and an appeal needs a second manager."""

from __future__ import annotations

import pytest

from hall.protocol import OPS
from tests.live_hall import LiveHall

CASE_OPS = {
    "handle_case": {"measure": "deadline", "finding": "态度生硬属实", "published": "已限期整改"},
    "rectify_case": {"note": "已组织培训"},
    "follow_up_case": {"result": "satisfied"},
    "appeal_case": {"reason": "群众误评"},
    "decide_appeal": {"uphold": True, "reason": "监控显示服务规范"},
}


@pytest.fixture
def hall(tmp_path):
    live = LiveHall(tmp_path)
    live.cli("manager", "add", "fuzhuren", "--name", "副主任", "--password", "hall-manager-2")
    yield live
    assert live.stop() == 0


def _bad_rating(hall: LiveHall) -> tuple[dict, object, object]:
    """Clerk 1001 serves a ticket at window 1 and the pad rates it 非常不满意: the case opened,
    the clerk's and the manager's connections."""
    manager = hall.hello("manager")
    clerk = hall.hello("clerk", badge="1001", pin="1111")
    clerk.request("sign_in", window=1, post="A")
    hall.hello("kiosk").request("take_ticket", category="A")
    number = clerk.request("call_next")["ticket"]["number"]
    clerk.request("finish", outcome="done")
    pad = hall.hello("pad")
    assert pad.request("rate", ticket=number, score=1, reasons=["服务态度不好"])["ok"]
    case = manager.wait_event("case", ticket=number)
    assert case["status"] == "checking" and case["clerk"] == "1001" and case["score_name"] == "非常不满意"
    mine = clerk.wait_event("clerk", seq=case["seq"])["cases"]   # the console: its own cases
    assert [c["case"] for c in mine] == [case["case"]]
    return case, clerk, manager


def test_every_act_on_a_case_is_refused_to_the_wrong_role_and_changes_nothing(hall):
    case, clerk, _manager = _bad_rating(hall)
    others = {"kiosk": hall.hello("kiosk"), "display": hall.hello("display"),
              "pad": hall.hello("pad"), "clerk": clerk}
    seq = hall.health()["seq"]
    refused = 0
    for op, params in CASE_OPS.items():
        for role, client in others.items():
            if role in OPS[op].roles:
                continue
            reply = client.request(op, case=case["case"], **params)
            assert not reply["ok"] and reply["error"]["code"] == "forbidden", (op, role, reply)
            refused += 1
    assert refused == 4 * 4 + 3    # a clerk may only appeal
    assert hall.health()["seq"] == seq
    snapshot = hall.hello("manager").hello["snapshot"]
    assert [(c["case"], c["status"]) for c in snapshot["cases"]] == [(case["case"], "checking")]


def test_a_clerk_appeals_their_case_and_a_manager_decides_it_signed(hall):
    case, clerk, manager = _bad_rating(hall)
    assert clerk.request("appeal_case", case=case["case"], reason="群众误评，已有录像")["ok"]
    appealed = manager.wait_event("case", status="appealing")
    assert appealed["appeal"]["by"] == "1001" and appealed["appeal"]["clerk"] == "1001"
    assert manager.request("decide_appeal", case=case["case"], uphold=True,
                           reason="录像显示服务规范")["ok"]
    decided = manager.wait_event("case", status="upheld")
    assert decided["decision"]["by"] == "主任（zhuren）" and decided["decision"]["upheld"] is True
    assert decided["closed_at"] is not None
    day = decided["day"]
    stats = manager.request("stats", view="cases", **{"from": day, "to": day})
    assert stats["row"] == {
        "rated": 1, "bad": 1, "bad_pct": 100.0, "cases_open": 0, "upheld": 1,
        "rectified_pct": None, "on_time_pct": None, "follow_up_pct": None,
        "follow_up_satisfied_pct": None, "satisfied_pct": 0.0,
        "satisfied_after_appeals_pct": None}   # the one rating no longer counts
    assert [m["name"] for m in stats["metrics"]][-2:] == ["满意率（申诉前）", "满意率（申诉后）"]


def test_a_manager_who_appealed_cannot_decide_the_appeal_a_second_one_can(hall):
    case, _clerk, manager = _bad_rating(hall)
    assert manager.request("appeal_case", case=case["case"], reason="评价器误触")["ok"]
    seq = hall.health()["seq"]
    reply = manager.request("decide_appeal", case=case["case"], uphold=True, reason="同意")
    assert reply["error"]["code"] == "forbidden" and "另一位管理人员" in reply["error"]["message"]
    assert hall.health()["seq"] == seq
    second = hall.hello("manager", user="fuzhuren", password="hall-manager-2")
    assert second.request("decide_appeal", case=case["case"], uphold=False, reason="理由不足")["ok"]
    rejected = manager.wait_event("case", status="rejected")
    assert rejected["decision"]["by"].startswith("副主任")
    assert manager.request("handle_case", case=case["case"], **CASE_OPS["handle_case"])["ok"]
    assert manager.wait_event("case", status="rectifying")["handling"]["measure"] == "deadline"
