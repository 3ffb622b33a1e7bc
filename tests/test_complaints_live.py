"""The complaints register (投诉/建议) through a real server: complaints from a ticket's page, a
phone call and a 12345 transfer typed in by managers; every act refused to the wrong role with
nothing changed; the contact whole for the manager handling it and masked for any other, kept
only as the hall file allows and purged after its period on a simulated clock; the citizen's
status page (`/ts`) shows nothing personal, answers a wrong code as an unknown number and
limits guesses per address."""

from __future__ import annotations

import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from hall.protocol import OPS
from tests.live_hall import ROUND_THE_CLOCK, LiveHall

SECOND = ("fuzhuren", "hall-manager-2")
COMPLAINT_ACTS = {
    "assign_complaint": {},
    "reply_complaint": {"reply": "已核实，对窗口人员进行了批评教育", "valid": True},
    "follow_up_complaint": {"result": "satisfied"},
    "close_complaint": {},
}


def with_hall_keys(text: str) -> str:
    """ROUND_THE_CLOCK with `text` added to its [hall] table."""
    return ROUND_THE_CLOCK.replace("[hall]\n", f"[hall]\n{text}\n", 1)


@contextmanager
def two_managers(tmp_path) -> Iterator[LiveHall]:
    """The live hall, with a second manager (副主任) beside its 主任."""
    live = LiveHall(tmp_path)
    live.cli("manager", "add", SECOND[0], "--name", "副主任", "--password", SECOND[1])
    yield live
    assert live.stop() == 0


@pytest.fixture
def hall(tmp_path):
    with two_managers(tmp_path) as live:
        yield live


def served_ticket(hall: LiveHall) -> dict:
    """A ticket served at window 1 by clerk 1001 (张敏): the kiosk's reply."""
    clerk = hall.hello("clerk", badge="1001", pin="1111")
    clerk.request("sign_in", window=1, post="A")
    ticket = hall.hello("kiosk").request("take_ticket", category="A")["ticket"]
    clerk.request("call_next")
    clerk.request("finish", outcome="done")
    return ticket


def status_page(hall: LiveHall, number: str, code: str) -> tuple[int, str]:
    query = urllib.parse.urlencode({"number": number, "code": code})
    try:
        with urllib.request.urlopen(f"{hall.http}/ts?{query}", timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def contacts(hall: LiveHall) -> list[tuple]:
    with sqlite3.connect(hall.db) as db:
        return db.execute("select complaint, name, phone from complaint_contacts").fetchall()


def test_a_complaint_from_a_ticket_page_reaches_managers_and_its_status_page(hall):
    manager = hall.hello("manager")
    ticket = served_ticket(hall)
    citizen = hall.hello("citizen", ticket=ticket["token"])
    reply = citizen.request("complain", kind="complaint", category="服务态度",
                            text="窗口人员态度生硬", name="李四", phone="138 0013 5678")
    assert reply["ok"], reply
    number, code = reply["complaint"], reply["code"]
    assert number.startswith("TS") and number.endswith("-001") and len(code) == 6
    assert reply["contact_kept"] is True and reply["status_url"].endswith("/ts")
    heard = manager.wait_event("complaint", complaint=number)
    assert (heard["channel_name"], heard["window"], heard["clerk"], heard["clerk_name"],
            heard["ticket"]) == ("小票页面", 1, "1001", "张敏", ticket["number"])
    assert heard["status_text"] == "已登记" and heard["actions"] == ["assign"]
    assert "李四" not in str(heard) and "13800135678" not in str(heard)   # never on the wire
    assert contacts(hall) == [(number, "李四", "13800135678")]
    # nothing personal in the log
    with sqlite3.connect(hall.db) as db:
        logged = " ".join(row[0] for row in db.execute("select data from events"))
    assert "李四" not in logged and "13800135678" not in logged

    status, page = status_page(hall, number, code)
    assert status == 200 and "已登记" in page and "服务态度" in page
    assert "李四" not in page and "5678" not in page and "态度生硬" not in page and "张敏" not in page
    assert manager.request("assign_complaint", complaint=number)["ok"]
    assert manager.request("reply_complaint", complaint=number, reply="已核实，已对窗口人员批评教育",
                           valid=True)["ok"]
    status, page = status_page(hall, number, code)
    assert status == 200 and "已答复" in page and "已核实，已对窗口人员批评教育" in page


def test_a_phone_call_and_a_12345_transfer_typed_in_by_a_manager(hall):
    manager = hall.hello("manager")
    refused = manager.request("register_complaint", kind="complaint", channel="hotline",
                              category="办事效率", text="办理时间过长")
    assert refused["error"] == {"code": "bad_request", "message": "请填写 12345 热线的工单编号"}
    hotline = manager.request("register_complaint", kind="complaint", channel="hotline",
                              category="办事效率", text="办理时间过长", hotline_case="2026120700123",
                              window=2)
    phone = manager.request("register_complaint", kind="suggestion", channel="phone",
                            category="环境设施", text="建议增加座椅", name="王五",
                            phone="0571-88886666", clerk="1001")
    assert hotline["ok"] and phone["ok"], (hotline, phone)
    assert hotline["complaint"].endswith("-001") and phone["complaint"].endswith("-002")
    heard = manager.wait_event("complaint", complaint=hotline["complaint"])
    assert (heard["channel_name"], heard["hotline_case"], heard["window"], heard["registered_by"],
            heard["contact"]) == ("12345 热线转办", "2026120700123", 2, "主任（zhuren）", False)
    heard = manager.wait_event("complaint", complaint=phone["complaint"])
    assert (heard["kind_name"], heard["channel_name"], heard["clerk_name"], heard["contact"]) == (
        "建议", "来电", "张敏", True)
    unknown = manager.request("register_complaint", kind="complaint", channel="phone",
                              category="没有的类别", text="态度不好")
    assert unknown["error"]["message"] == "请选择类别：服务态度、办事效率、政策咨询、环境设施、其他"
    bad_phone = manager.request("register_complaint", kind="complaint", channel="phone",
                                category="其他", text="态度不好", phone="12ab")
    assert bad_phone["error"]["message"].startswith("联系电话应为")
    snapshot = hall.hello("manager").hello["snapshot"]
    assert [c["complaint"] for c in snapshot["complaints"]] == [hotline["complaint"],
                                                                phone["complaint"]]


def test_every_act_on_a_complaint_is_refused_to_the_wrong_role_and_changes_nothing(hall):
    manager = hall.hello("manager")
    ticket = served_ticket(hall)
    number = manager.request("register_complaint", kind="complaint", channel="phone",
                             category="服务态度", text="态度生硬")["complaint"]
    others = {"kiosk": hall.hello("kiosk"), "display": hall.hello("display"),
              "pad": hall.hello("pad"), "clerk": hall.hello("clerk", badge="1002", pin="2222"),
              "citizen": hall.hello("citizen", ticket=ticket["token"])}
    seq = hall.health()["seq"]
    refused = 0
    for op, params in {**COMPLAINT_ACTS, "complaint_contact": {}}.items():
        for role, client in others.items():
            assert role not in OPS[op].roles
            reply = client.request(op, complaint=number, **params)
            assert not reply["ok"] and reply["error"]["code"] == "forbidden", (op, role, reply)
            refused += 1
    for role in ("kiosk", "display", "pad", "clerk"):   # a citizen's op only
        reply = others[role].request("complain", kind="complaint", category="其他", text="测试")
        assert reply["error"]["code"] == "forbidden"
        refused += 1
    assert refused == 5 * 5 + 4
    assert hall.health()["seq"] == seq
    # a manager who does not handle it cannot reply, follow up or close it
    assert manager.request("assign_complaint", complaint=number)["ok"]
    second = hall.hello("manager", user=SECOND[0], password=SECOND[1])
    seq = hall.health()["seq"]
    reply = second.request("reply_complaint", complaint=number, **COMPLAINT_ACTS["reply_complaint"])
    assert reply["error"] == {"code": "forbidden",
                              "message": f"投诉建议 {number} 由主任（zhuren）承办，须由承办人答复"}
    assert hall.health()["seq"] == seq
    # … until it takes the complaint over
    assert second.request("assign_complaint", complaint=number)["ok"]
    assert second.request("reply_complaint", complaint=number,
                          **COMPLAINT_ACTS["reply_complaint"])["ok"]
    view = manager.wait_event("complaint", status="replied")
    assert view["handler"] == "副主任（fuzhuren）" and view["reply"]["valid"] is True


def test_the_contact_is_whole_for_its_handler_masked_for_another_and_closing_needs_a_follow_up(hall):
    manager = hall.hello("manager")
    second = hall.hello("manager", user=SECOND[0], password=SECOND[1])
    number = manager.request("register_complaint", kind="complaint", channel="phone",
                             category="服务态度", text="态度生硬", name="李小四",
                             phone="13800135678")["complaint"]
    masked = {"kept": True, "purged": False, "name": "李**", "phone": "138****5678",
              "masked": True}
    # nobody handles it yet: masked for everyone
    got = manager.request("complaint_contact", complaint=number)
    assert {key: got[key] for key in masked} == masked
    assert manager.request("assign_complaint", complaint=number)["ok"]
    whole = manager.request("complaint_contact", complaint=number)
    assert (whole["name"], whole["phone"], whole["masked"]) == ("李小四", "13800135678", False)
    other = second.request("complaint_contact", complaint=number)
    assert (other["name"], other["phone"], other["masked"]) == ("李**", "138****5678", True)

    assert manager.request("reply_complaint", complaint=number, reply="已批评教育", valid=True)["ok"]
    early = manager.request("close_complaint", complaint=number)
    assert early["error"]["code"] == "conflict" and "尚未回访" in early["error"]["message"]
    for _ in range(3):   # three calls that do not get through: then it may be closed
        assert manager.request("follow_up_complaint", complaint=number, result="unreached")["ok"]
    fourth = manager.request("follow_up_complaint", complaint=number, result="satisfied")
    assert "3 次未接通" in fourth["error"]["message"]
    assert manager.request("close_complaint", complaint=number, note="三次未接通，办结")["ok"]
    closed = second.wait_event("complaint", status="closed")
    assert closed["closed"]["note"] == "三次未接通，办结" and closed["actions"] == []


def test_a_hall_that_keeps_no_contact_stores_none(tmp_path):
    hall = LiveHall(tmp_path, hall_text=with_hall_keys("complaint_keep_contact = false"))
    try:
        manager = hall.hello("manager")
        reply = manager.request("register_complaint", kind="complaint", channel="phone",
                                category="其他", text="态度生硬", name="李四", phone="13800135678")
        assert reply["ok"] and reply["contact_kept"] is False
        assert manager.request("complaint_contact", complaint=reply["complaint"])["kept"] is False
        assert contacts(hall) == []
    finally:
        assert hall.stop() == 0


def test_contacts_are_purged_after_their_period_on_the_simulated_clock(tmp_path):
    """Closed on the 23rd, kept one day: gone when the hall's day of the 24th starts."""
    hall = LiveHall(tmp_path, "--simulate-from", "2026-11-23T23:59:20", "--speed", "2",
                    hall_text=with_hall_keys("complaint_contact_days = 1"))
    try:
        manager = hall.hello("manager")
        numbers = []
        for phone in ("13800135678", "13900001111"):
            numbers.append(manager.request(
                "register_complaint", kind="complaint", channel="phone", category="其他",
                text="态度生硬", name="李四", phone=phone)["complaint"])
        closed, still_open = numbers
        for op, params in (("assign_complaint", {}), ("reply_complaint", {"reply": "已处理", "valid": True}),
                           ("follow_up_complaint", {"result": "satisfied"}),
                           ("close_complaint", {})):
            assert manager.request(op, complaint=closed, **params)["ok"], op
        assert hall.health()["service_day"] == "2026-11-23"
        assert len(contacts(hall)) == 2
        deadline = time.monotonic() + 40
        while hall.health()["service_day"] != "2026-11-24" or len(contacts(hall)) == 2:
            assert time.monotonic() < deadline, (hall.health()["service_day"], contacts(hall))
            time.sleep(0.5)
        assert contacts(hall) == [(still_open, "李四", "13900001111")]   # the open one stays
        gone = manager.request("complaint_contact", complaint=closed)
        assert gone["kept"] is True and gone["purged"] is True
    finally:
        assert hall.stop() == 0


def test_the_status_page_tells_a_wrong_code_as_an_unknown_number_and_limits_guesses(hall):
    manager = hall.hello("manager")
    reply = manager.request("register_complaint", kind="complaint", channel="phone",
                            category="其他", text="态度生硬")
    number, code = reply["complaint"], reply["code"]
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    unknown = number[:-3] + "999"
    status, wrong_page = status_page(hall, number, wrong)
    status2, unknown_page = status_page(hall, unknown, code)
    assert status == status2 == 404
    assert (wrong_page.replace(f'value="{number}"', "<n>")
            == unknown_page.replace(f'value="{unknown}"', "<n>"))
    assert "没有找到：请核对编号和查询码" in wrong_page
    # ten tries a minute per address: of 24 guesses at once, the most are refused, and then
    # even the right code is
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: status_page(hall, number, f"{i:06d}")[0], range(24)))
    assert answers.count(429) >= 24 - 10 and set(answers) <= {404, 429, 200}
    status, page = status_page(hall, number, code)
    assert status == 429 and "查询太频繁" in page
