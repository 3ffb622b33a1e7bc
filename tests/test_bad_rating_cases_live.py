"""差评 cases through a real server: a pad's 差评 opens a case that managers and the clerk hear
of; every act on it is refused to a role that may not do it, with nothing changed; managers'
acts are signed with their accounts, and an appeal needs a second manager.

Then on the pages, in chromium: the case on the manager's dashboard and on the clerk's console;
the manager handles it (限期整改 → 整改完成), calls the citizen back (回访) and the case leaves the
list; an appeal decided by a second manager; cases past their deadline red and near it yellow.
Screenshots go to tests/artifacts/cases/ (the console) and tests/artifacts/manager/ (the
dashboard, `dashboard-*.png`) for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from hall.protocol import OPS
from queue_server import events as ev
from queue_server.hall_toml import parse_hall
from tests.browser import chromium
from tests.conftest import ARTIFACTS
from tests.live_hall import ROUND_THE_CLOCK, LiveHall
from tests.test_county_view import CHIEF, EAST, SEAT
from tests.test_manager_pages import BIG_SCREEN, dashboard

CASE_OPS = {
    "handle_case": {"measure": "deadline", "finding": "态度生硬属实", "published": "已限期整改"},
    "rectify_case": {"note": "已组织培训"},
    "follow_up_case": {"result": "satisfied"},
    "appeal_case": {"reason": "群众误评"},
    "decide_appeal": {"uphold": True, "reason": "监控显示服务规范"},
    "withdraw_appeal": {},
}


@pytest.fixture
def hall(tmp_path):
    live = LiveHall(tmp_path)
    live.cli("manager", "add", "fuzhuren", "--name", "副主任", "--password", "hall-manager-2")
    yield live
    assert live.stop() == 0


def _rated_badly(hall: LiveHall, clerk, score: int = 1) -> str:
    """Clerk `clerk`, signed in at window 1, serves a ticket and the pad rates it `score`."""
    hall.hello("kiosk").request("take_ticket", category="A")
    number = clerk.request("call_next")["ticket"]["number"]
    clerk.request("finish", outcome="done")
    reply = hall.hello("pad").request("rate", ticket=number, score=score, reasons=["服务态度不好"])
    assert reply["ok"], reply
    return number


def _bad_rating(hall: LiveHall) -> tuple[dict, object, object]:
    """Clerk 1001 serves a ticket at window 1 and the pad rates it 非常不满意: the case opened,
    the clerk's and the manager's connections."""
    manager = hall.hello("manager")
    clerk = hall.hello("clerk", badge="1001", pin="1111")
    clerk.request("sign_in", window=1, post="A")
    number = _rated_badly(hall, clerk)
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
    assert refused == 4 * 4 + 3 + 3    # a clerk may only appeal, and withdraw their appeal
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
    assert stats["row"] == {   # the one rating, upheld, no longer counts
        "rated": 0, "bad": 0, "bad_pct": None, "cases_open": 0, "upheld": 1,
        "rectified_pct": None, "on_time_pct": None, "follow_up_pct": None,
        "follow_up_satisfied_pct": None, "satisfied_pct": 0.0,
        "satisfied_after_appeals_pct": None}
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


def test_a_county_manager_decides_a_one_manager_halls_appeal_even_of_the_same_user_name(tmp_path):
    # 东山乡 has one manager, whose user name happens to be the county chief's; what is signed
    # with the county's pass is another manager's act there, and the same one's in the county's
    # own hall (whose accounts county accounts are).
    live = LiveHall(tmp_path, hall_text=SEAT, more_halls=(EAST,))
    try:
        live.cli("manager", "add", CHIEF[0], "--hall", "seat", "--county", "--name", "王县长",
                 "--password", CHIEF[1])
        live.cli("manager", "add", CHIEF[0], "--hall", "east", "--name", "乡主任",
                 "--password", "east-manager-1")
        chief = live.hello("county", "/county", user=CHIEF[0], password=CHIEF[1])
        for code, tokens, login in (("east", live.more_tokens["east"], "east-manager-1"),
                                    ("seat", live.tokens, CHIEF[1])):
            path = f"/h/{code}"
            own = live.hello("manager", path, user=CHIEF[0], password=login)
            clerk = live.hello("clerk", path, badge="1001", pin="1111")
            clerk.request("sign_in", window=1, post="A")
            live.hello("kiosk", path, token=tokens["kiosk"]).request("take_ticket", category="A")
            number = clerk.request("call_next")["ticket"]["number"]
            clerk.request("finish", outcome="done")
            assert live.hello("pad", path, token=tokens["pad"]).request(
                "rate", ticket=number, score=1, reasons=["服务态度不好"])["ok"]
            case = own.wait_event("case", ticket=number)["case"]
            assert own.request("appeal_case", case=case, reason="群众误评")["ok"]
            made = chief.request("county_pass", hall=code)["url"].split("#pass=")[1]
            county_manager = live.hello("manager", path, **{"pass": made})
            reply = county_manager.request("decide_appeal", case=case, uphold=False, reason="理由不足")
            if code == "east":
                assert county_manager.hello["account"] == "县级:xianzhang" != own.hello["account"]
                assert reply["ok"], reply
                assert own.wait_event("case", status="rejected")["decision"]["account"] == "县级:xianzhang"
            else:
                assert county_manager.hello["account"] == own.hello["account"] == "xianzhang"
                assert reply["error"]["code"] == "forbidden", reply
    finally:
        assert live.stop() == 0


# --- the pages ------------------------------------------------------------------------------------

SHOTS = ARTIFACTS / "cases"
ZONE = parse_hall(ROUND_THE_CLOCK).hall.zone


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@contextmanager
def _console(browser, hall: LiveHall) -> Iterator:
    """The clerk console of 张敏 (1001), logged in, at a PC's 1366×768."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    try:
        console = context.new_page()
        console.goto(f"{hall.http}/clerk")
        console.get_by_label("工号").fill("1001")
        console.get_by_label("密码").fill("1111")
        console.get_by_role("button", name="登录").click()
        yield console
    finally:
        context.close()


def _assert_console_side_reachable(console) -> None:
    """With its cases panel on top, the console still fits the screen, and the side column's
    last panel (我今天的评价) comes into view when the clerk scrolls that column with the wheel."""
    sizes = console.evaluate("() => [document.documentElement.scrollHeight, innerHeight]")
    assert sizes[0] <= sizes[1], sizes
    last = console.locator("section[aria-labelledby=ratings-title]")
    box = console.locator(".side").bounding_box()
    console.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    console.mouse.wheel(0, 2000)
    expect(last).to_be_in_viewport()
    console.screenshot(path=SHOTS / "clerk-console-side-scrolled.png")


def _fill(case, label: str, text: str) -> None:
    case.get_by_label(label).fill(text)


def test_a_bad_rating_is_handled_followed_up_and_closed_on_the_pages(hall, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    clerk = hall.hello("clerk", badge="1001", pin="1111")
    clerk.request("sign_in", window=1, post="A")
    with _console(browser, hall) as console, dashboard(browser, hall) as d:
        page = d.page
        expect(page.locator("#cases .empty")).to_have_text("没有待办的差评工单")
        number = _rated_badly(hall, clerk)
        case = page.locator(".case")
        expect(case.locator(".case-status")).to_have_text("待核实")
        expect(case.locator(".case-about")).to_contain_text(
            f"1 号窗口 · 张敏（社会保障）· {number} 号")
        expect(case.locator(".case-about")).to_contain_text("评价“非常不满意”：服务态度不好")
        expect(case.locator(".case-deadline")).to_contain_text("期限 ")
        mine = console.locator("#cases .case")
        expect(mine).to_have_count(1)
        expect(mine.locator(".case-status")).to_have_text("待核实")
        console.screenshot(path=SHOTS / "clerk-console.png")
        _assert_console_side_reachable(console)
        d.assert_fits()
        d.assert_readable()
        d.shot("dashboard-new-case")

        case.get_by_role("button", name="限期整改").click()
        _fill(case, "核实情况", "经核实，窗口人员答复生硬属实")
        _fill(case, "公开答复（向群众公开的处理结果）", "已责令限期整改，并向群众致歉")
        d.shot("dashboard-handling-form")
        case.get_by_role("button", name="确定限期整改").click()
        expect(case.locator(".case-status")).to_have_text("整改中")
        expect(case.locator(".case-history")).to_contain_text("限期整改：经核实，窗口人员答复生硬属实")
        case.get_by_role("button", name="整改完成").click()
        case.get_by_role("button", name="确定整改完成").click()
        expect(case.locator(".case-error")).to_have_text("请填写整改情况")
        _fill(case, "整改情况", "已组织窗口人员服务规范培训")
        case.get_by_role("button", name="确定整改完成").click()
        expect(case.locator(".case-status")).to_have_text("已整改，待回访")
        expect(mine).to_have_count(0)   # closed: off the clerk's list
        case.get_by_role("button", name="回访").click()
        case.get_by_label("回访结果").select_option("unreached")
        case.get_by_role("button", name="确定回访").click()
        expect(case.locator(".case-history")).to_contain_text("第 1 次回访：未接通")
        d.shot("dashboard-follow-up")
        case.get_by_role("button", name="回访").click()
        case.get_by_label("回访结果").select_option("satisfied")
        _fill(case, "回访记录（可不填）", "群众表示满意")
        case.get_by_role("button", name="确定回访").click()
        expect(page.locator("#cases .empty")).to_have_text("没有待办的差评工单")
        assert d.errors == []
        d.assert_only_from(hall)


def test_an_appeal_is_decided_by_a_second_manager_on_the_page(hall, browser):
    clerk = hall.hello("clerk", badge="1001", pin="1111")
    clerk.request("sign_in", window=1, post="A")
    _rated_badly(hall, clerk, score=2)
    with dashboard(browser, hall) as d:
        case = d.page.locator(".case")
        case.get_by_role("button", name="提出申诉").click()
        _fill(case, "申诉理由", "评价器误触，群众当场表示满意")
        case.get_by_role("button", name="确定提出申诉").click()
        expect(case.locator(".case-status")).to_have_text("申诉中")
        # the one who appealed: no decision to make, the reason why, and 撤回申诉
        expect(case.locator(".case-note")).to_have_text("申诉由您提出，须由另一名管理人员审核")
        expect(case.locator(".case-acts button")).to_have_text(["撤回申诉"])
        d.assert_fits()
        d.assert_readable()
        d.shot("dashboard-own-appeal")
    with dashboard(browser, hall, log_in=False) as second:
        second.log_in("fuzhuren", "hall-manager-2")
        case = second.page.locator(".case")
        expect(case.locator(".case-note")).to_have_count(0)
        expect(case.locator(".case-acts button")).to_have_text(["认定申诉成立", "驳回申诉"])
        case.get_by_role("button", name="认定申诉成立").click()
        _fill(case, "审核意见", "调取录像，服务规范，属误评")
        second.shot("dashboard-appeal-judged")
        case.get_by_role("button", name="确定认定申诉成立").click()
        expect(second.page.locator("#cases .empty")).to_have_text("没有待办的差评工单")
    upheld = hall.hello("manager").request("stats", view="cases", **{
        "from": datetime.now(ZONE).date().isoformat(), "to": datetime.now(ZONE).date().isoformat()})
    assert upheld["row"]["upheld"] == 1 and upheld["row"]["satisfied_after_appeals_pct"] is None


def test_the_only_manager_withdraws_their_own_appeal_on_the_page(hall, browser):
    # a township hall's one manager: nobody else may decide it, so they take it back
    clerk = hall.hello("clerk", badge="1001", pin="1111")
    clerk.request("sign_in", window=1, post="A")
    number = _rated_badly(hall, clerk, score=2)
    with dashboard(browser, hall) as d:
        case = d.page.locator(".case")
        case.get_by_role("button", name="提出申诉").click()
        _fill(case, "申诉理由", "群众所评非本窗口事项")
        case.get_by_role("button", name="确定提出申诉").click()
        expect(case.locator(".case-note")).to_have_text("申诉由您提出，须由另一名管理人员审核")
        case.get_by_role("button", name="撤回申诉").click()
        case.get_by_role("button", name="确定撤回申诉").click()
        expect(case.locator(".case-status")).to_have_text("待核实")
        expect(case.locator(".case-note")).to_have_count(0)
        expect(case.locator(".case-history")).to_contain_text("撤回申诉：群众所评非本窗口事项（主任（zhuren）")
        expect(case.locator(".case-acts button")).to_have_text(["立行立改", "限期整改", "解释说明",
                                                               "提出申诉"])
        d.assert_fits()
        d.shot("dashboard-appeal-withdrawn")
    assert [c["ticket"] for c in hall.hello("manager").hello["snapshot"]["cases"]
            if c["status"] == "checking"] == [number]


def test_ratings_a_pad_lost_across_midnight_show_as_a_red_device_warning(hall, browser):
    yesterday = datetime.now(ZONE).date() - timedelta(days=1)
    with dashboard(browser, hall, viewport={"width": 1920, "height": 1080}) as d:   # a hall's PC
        assert hall.hello("pad").request("lost_ratings", day=yesterday.isoformat(), ratings=[
            {"ticket": "A012", "score": 1, "reasons": ["服务态度不好"]},
            {"ticket": "A013", "score": 5, "reasons": []}])["ok"]
        warning = d.page.locator(".warning").first
        expect(warning).to_contain_text("设备异常")
        expect(warning).to_contain_text(
            f"pad-1：1 号窗口评价器有 2 条{yesterday.month}月{yesterday.day}日的评价未能上传"
            "，不再计入；其中差评：A012 号“非常不满意”（服务态度不好）")
        d.assert_fits()
        d.assert_readable()
        d.shot("dashboard-lost-ratings")


def test_cases_past_their_deadline_are_red_and_near_it_yellow(tmp_path, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    hall = LiveHall(tmp_path)
    try:
        assert hall.stop() == 0
        today = datetime.now(ZONE).date()
        opened = today - timedelta(days=7)
        at = datetime.combine(opened, datetime.min.time(), ZONE) + timedelta(hours=10)
        deadlines = {"01": today - timedelta(days=2), "02": today, "03": today + timedelta(days=9)}
        records = [ev.CaseOpened(f"{opened:%Y%m%d}-{n}", f"A00{i}", 1, ("服务态度不好",), 1,
                                 "1001", "sb", deadline.isoformat())
                   for i, (n, deadline) in enumerate(deadlines.items(), 1)]
        hall.log_earlier(opened, at, records)
        hall.start()
        with dashboard(browser, hall) as d:
            cases = d.page.locator(".case")
            expect(cases).to_have_count(3)
            expect(cases.locator(".case-number")).to_have_text(
                [f"{opened:%Y%m%d}-01", f"{opened:%Y%m%d}-02", f"{opened:%Y%m%d}-03"])
            expect(cases.nth(0)).to_have_attribute("data-due", "red")
            expect(cases.nth(0).locator(".case-due")).to_have_text("▲ 已超期")
            expect(cases.nth(1)).to_have_attribute("data-due", "yellow")
            expect(cases.nth(1).locator(".case-due")).to_have_text("● 临近期限")
            expect(cases.nth(2)).to_have_attribute("data-due", "")
            expect(d.page.locator("#cases-summary")).to_have_text("待办 3 件，已超期 1，临近期限 1")
            d.assert_readable()
            d.assert_fits()
            d.shot("dashboard-due-cases")
            d.page.set_viewport_size(BIG_SCREEN)
            d.assert_fits()
            d.shot("dashboard-due-cases-1920")
    finally:
        hall.stop()


def test_a_clerk_appeals_their_own_case_on_the_console(hall, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    manager = hall.hello("manager")
    clerk = hall.hello("clerk", badge="1001", pin="1111")
    clerk.request("sign_in", window=1, post="A")
    with _console(browser, hall) as console:
        _rated_badly(hall, clerk, score=2)
        case = console.locator("#cases .case")
        expect(case.locator(".case-about")).to_contain_text("“不满意”：服务态度不好")
        case.get_by_role("button", name="提出申诉").click()
        case.get_by_role("button", name="提交申诉").click()
        expect(case.locator(".case-error")).to_have_text("请填写申诉理由")
        case.get_by_label("申诉理由").fill("群众误触评价器，当场表示满意")
        console.screenshot(path=SHOTS / "clerk-appeal.png")
        case.get_by_role("button", name="提交申诉").click()
        expect(case.locator(".case-status")).to_have_text("申诉中")
        expect(case.get_by_role("button", name="提出申诉")).to_have_count(0)
        appealed = manager.wait_event("case", status="appealing")
        assert appealed["appeal"]["clerk"] == "1001"
        assert appealed["appeal"]["reason"] == "群众误触评价器，当场表示满意"
        # my appeal, still undecided: I may take it back, and appeal again
        case.get_by_role("button", name="撤回申诉").click()
        expect(case.locator(".case-status")).to_have_text("待核实")
        expect(case.get_by_role("button", name="提出申诉")).to_have_count(1)
        assert manager.wait_event("case", status="checking")["withdrawn"] == []   # as opened
        withdrawn = manager.wait_event("case", status="checking")
        assert [(w["by"], w["reason"]) for w in withdrawn["withdrawn"]] == [
            ("1001", "群众误触评价器，当场表示满意")]
        console.screenshot(path=SHOTS / "clerk-appeal-withdrawn.png")
