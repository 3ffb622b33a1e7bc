"""The clerk console (/clerk) in Debian's chromium, driven through real clicks and keys at a window
PC's 1366×768, against a real hall server: log in, choose the window and post, call, transfer,
hold, finish, pause, hand over to the B post, survive a server restart and a new service day.

The devices around it are plain WebSocket connections of the test: a kiosk takes the tickets, a
display watches the calls, the window's pad receives the rating requests and rates, and other
clerks work at their windows. Screenshots go to tests/artifacts/clerk/ for a person to look at.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import chromium
from tests.conftest import ARTIFACTS, free_port
from tests.live_hall import LiveHall

SHOTS = ARTIFACTS / "clerk"
VIEWPORT = {"width": 1366, "height": 768}


CONTRAST_PROBLEMS = """() => {
    const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
    const lin = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    const lum = ([r, g, b]) => 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    const background = (node) => {
        for (let e = node; e; e = e.parentElement) {
            const c = rgb(getComputedStyle(e).backgroundColor);
            if (c.length < 4 || c[3] === 1) return c;
        }
        return [255, 255, 255];
    };
    const problems = [];
    for (const node of document.querySelectorAll("body *")) {
        const text = [...node.childNodes].filter((n) => n.nodeType === 3)
            .map((n) => n.textContent.trim()).join("");
        if (!text || !node.getClientRects().length) continue;
        const [a, b] = [lum(rgb(getComputedStyle(node).color)), lum(background(node))];
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        if (ratio < 4.5) problems.push(`${text.slice(0, 20)}: ${ratio.toFixed(2)}`);
    }
    return problems;
}"""


@pytest.fixture
def hall(tmp_path):
    live = LiveHall(tmp_path)
    yield live
    assert live.stop() == 0


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


class Console:
    """One console page, with every address it asked for and every script error it raised."""

    def __init__(self, page: Page):
        self.page = page
        self.urls: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.urls.append(r.url))
        page.on("websocket", lambda ws: self.urls.append(ws.url))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def open(self, hall: LiveHall) -> None:
        self.page.goto(f"{hall.http}/clerk")

    def log_in(self, badge: str, pin: str) -> None:
        self.page.get_by_label("工号").fill(badge)
        self.page.get_by_label("密码").fill(pin)
        self.page.get_by_role("button", name="登录", exact=True).click()

    def choose(self, window: int, post: str) -> None:
        self.page.locator("button.post", has_text=f"{window} 号窗口").filter(
            has_text=f"{post}岗").click()

    def button(self, name: str):
        return self.page.locator(".actions button", has_text=name)

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=SHOTS / f"{name}.png")

    def assert_fits(self) -> None:
        """Nothing to scroll: not the page, not the ticket card."""
        sizes = self.page.evaluate("""() => {
            const e = document.documentElement, card = document.getElementById('ticket-card');
            return [e.scrollWidth, innerWidth, e.scrollHeight, innerHeight,
                    card.scrollHeight, card.clientHeight]; }""")
        assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3] and sizes[4] <= sizes[5], sizes

    def assert_readable(self) -> None:
        """Every visible text at least 4.5:1 against the background it sits on (WCAG AA)."""
        assert self.page.evaluate(CONTRAST_PROBLEMS) == []

    def assert_only_from(self, hall: LiveHall) -> None:
        """Everything the page loaded came from the hall server itself."""
        server = urlsplit(hall.http).netloc
        assert self.urls
        outside = [u for u in self.urls if urlsplit(u).netloc != server]
        assert outside == []


@contextmanager
def console_page(browser: Browser, hall: LiveHall) -> Iterator[Console]:
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    try:
        console = Console(context.new_page())
        console.open(hall)
        yield console
    finally:
        context.close()


def ratings_in_db(hall: LiveHall) -> dict[str, tuple]:
    """ticket → (score, clerk, post), from the event log's rows and as the reports fold them."""
    with sqlite3.connect(hall.db) as db:
        logged = {row[0]: json.loads(row[1]) for row in db.execute(
            "select ticket, data from events where kind = 'ticket_rated'")}
    events = {t: (d["score"], d["clerk"], d["post"]) for t, d in logged.items()}
    assert events == {r.ticket: (r.score, r.clerk, r.post) for r in hall.ratings()}
    return events


def test_a_day_at_window_1_by_clicks_and_keys(hall, browser):
    kiosk = hall.hello("kiosk")
    display = hall.hello("display")
    pad = hall.hello("pad")
    manager = hall.hello("manager")
    with console_page(browser, hall) as console:
        page = console.page
        expect(page).to_have_title("窗口工作台")

        # A wrong PIN: the server's words, as they are.
        console.log_in("1001", "9999")
        expect(page.locator("#login-error")).to_have_text("工号或密码不正确（还可再试 4 次）")
        expect(page.get_by_label("工号")).to_be_visible()
        console.assert_readable()
        console.shot("01-login-wrong-pin")

        # The roster's posts, with the window's name and who is there now.
        console.log_in("1001", "1111")
        posts = page.locator("button.post")
        expect(posts).to_have_count(2)
        expect(posts.nth(0)).to_contain_text("1 号窗口社保窗口A岗（主办）当前无人在岗")
        expect(posts.nth(1)).to_contain_text("4 号窗口社保民政联办窗口B岗（协办/顶岗）")
        expect(page.locator("#where")).to_have_text("张敏（1001）")
        console.assert_fits()
        console.assert_readable()
        console.shot("02-window-chooser")

        console.choose(1, "A")
        expect(page.locator("#where")).to_have_text("1 号窗口 社保窗口 · A岗（主办） · 张敏（1001）")
        expect(page.locator("#window-status")).to_have_text("空闲")
        expect(page.locator("#connection")).to_have_text("已连接")
        expect(console.button("呼叫下一位")).to_be_enabled()
        for name in ("重呼", "过号", "转移", "挂起", "办结", "恢复"):
            expect(console.button(name)).to_be_disabled()

        # Tickets come in: the queue panel follows them live.
        kiosk.request("take_ticket", category="A", priority="elderly", service="T-SB-001")
        kiosk.request("take_ticket", category="A")
        kiosk.request("take_ticket", category="A")
        queue_a = page.locator(".queues li[data-category=A]")
        expect(queue_a).to_contain_text("等候 3 人")
        expect(queue_a).to_contain_text("下一位：A001 A002 A003")
        expect(page.locator(".queues li[data-category=C]")).to_contain_text("无人等候")

        # 呼叫下一位: the display hears it; the screen shows the ticket.
        console.button("呼叫下一位").click()
        called = display.wait_event("ticket_called", number="A001")
        assert (called["window"], called["recall"]) == (1, 0)
        expect(page.locator("#ticket-number")).to_have_text("A001")
        expect(page.locator("#ticket-category")).to_have_text("A 类 · 社保业务")
        expect(page.locator("#ticket-service")).to_have_text("城乡居民基本养老保险参保登记")
        expect(page.locator("#ticket-tags")).to_contain_text("办理老年人优先")
        expect(page.locator("#ticket-times")).to_contain_text("已等候 0 分钟")
        expect(page.locator("#ticket-times")).to_contain_text(re.compile(r"已办理 0 分 \d\d 秒"))
        expect(page.locator("#window-status")).to_have_text("办理中：A001")
        expect(queue_a).to_contain_text("等候 2 人")
        for name in ("呼叫下一位", "暂停", "签退"):
            expect(console.button(name)).to_be_disabled()

        # 转移 to a category: gone from my screen; the clerk there sees where it came from.
        console.button("转移").click()
        dialog = page.locator("#transfer-dialog")
        expect(dialog).to_be_visible()
        dialog.get_by_label("转到业务类别").check()
        dialog.locator("#to-category").select_option("B")
        dialog.get_by_label("转移说明").fill("应办低保")
        dialog.get_by_role("button", name="确定转移").click()
        expect(dialog).to_be_hidden()
        expect(page.locator("#ticket-empty")).to_contain_text("当前没有正在办理的号")
        moved = manager.wait_event("ticket_transferred", number="A001")
        assert (moved["to_category"], moved["window"], moved["clerk"]) == ("B", 1, "1001")
        wang = hall.hello("clerk", badge="1003", pin="3333")
        assert wang.request("sign_in", window=2, post="B")["ok"]
        there = wang.request("call_next")["ticket"]
        assert there["number"] == "A001"
        assert [s["text"] for s in there["history"]] == ["1 号窗口（张敏）转到 B 类（民政业务）：应办低保"]
        # … who sends it back to window 1, where it is called before the queue.
        assert wang.request("transfer", to_window=1, note="低保已办，请社保窗口续办")["ok"]
        console.button("呼叫下一位").click()
        expect(page.locator("#ticket-number")).to_have_text("A001")
        history = page.locator("#ticket-history li")
        expect(history).to_have_count(2)
        expect(history.nth(0)).to_contain_text("1 号窗口（张敏）转到 B 类（民政业务）：应办低保")
        expect(history.nth(1)).to_contain_text("2 号窗口（王芳）转到 1 号窗口（社保窗口）：低保已办，请社保窗口续办")
        expect(page.locator("#ticket-tags")).to_contain_text("转来 2 次")
        console.assert_fits()
        console.assert_readable()
        console.shot("03-serving-with-history")
        page.set_viewport_size({"width": 1366, "height": 657})   # in a browser window with tabs
        console.assert_fits()
        page.set_viewport_size(VIEWPORT)

        # 转移 to a window.
        console.button("转移").click()
        dialog.get_by_label("转到指定窗口").check()
        options = dialog.locator("#to-window option")
        expect(options).to_have_text(["2 号窗口 · 民政窗口", "3 号窗口 · 综合窗口（无人在岗）",
                                      "4 号窗口 · 社保民政联办窗口（无人在岗）"])
        dialog.locator("#to-window").select_option("4")
        dialog.get_by_label("转移说明").fill("需联办")
        console.shot("04-transfer-dialog")
        dialog.get_by_role("button", name="确定转移").click()
        moved = manager.wait_event("ticket_transferred", number="A001", clerk="1001", to_window=4)
        assert (moved["window"], moved["to_category"]) == (1, None)
        expect(page.locator("#ticket-empty")).to_be_visible()

        # 挂起 with a reason, listed, then 叫回.
        console.button("呼叫下一位").click()
        expect(page.locator("#ticket-number")).to_have_text("A002")
        console.button("挂起").click()
        hold = page.locator("#hold-dialog")
        hold.get_by_label("补充材料").check()
        hold.get_by_label("说明").fill("回家取户口本")
        hold.get_by_role("button", name="确定挂起").click()
        held = page.locator("#held li[data-number=A002]")
        expect(held).to_contain_text("A002补充材料：回家取户口本")
        expect(page.locator("#held-title")).to_have_text("挂起的号（1）")
        expect(page.locator("#ticket-empty")).to_be_visible()
        held.get_by_role("button", name="叫回 A002 号").click()
        assert display.wait_event("ticket_called", number="A002")["window"] == 1
        expect(page.locator("#ticket-number")).to_have_text("A002")
        expect(page.locator("#held li.none")).to_have_text("没有挂起的号")
        expect(page.locator("#ticket-history")).to_contain_text("原因：补充材料：回家取户口本")

        # 办结 with an outcome: the pad asks the citizen; the rating is the clerk's and post's.
        console.button("办结").click()
        finish = page.locator("#finish-dialog")
        expect(finish.locator("input[name=outcome]")).to_have_count(6)
        expect(finish.locator(".choice")).to_have_text(
            ["即办办结", "受理（承诺件）", "上报", "咨询答复", "不予受理", "材料不全（补正）"])
        finish.get_by_label("受理（承诺件）").check()
        finish.get_by_label("备注").fill("承诺 5 个工作日")
        console.shot("05-finish-dialog")
        finish.get_by_role("button", name="确定办结").click()
        asked = pad.wait_event("rating_requested", ticket="A002")
        assert asked["clerk"]["badge"] == "1001" and asked["clerk"]["post"] == "A"
        done = manager.wait_event("ticket_finished", number="A002")
        assert (done["outcome"], done["note"]) == ("accepted", "承诺 5 个工作日")
        ratings = page.locator("#ratings")
        expect(ratings).to_contain_text("评价数0满意率暂无平均分暂无")
        assert pad.request("rate", ticket="A002", score=4)["ok"]
        expect(ratings).to_contain_text("评价数1满意率100%平均分4.0未评0")
        expect(ratings).to_contain_text("5分 0 · 4分 1 · 3分 0 · 2分 0 · 1分 0")
        assert ratings_in_db(hall) == {"A002": (4, "1001", "A")}

        # The keys: 1 calls, 2 recalls, 6 then Enter finishes with the first outcome.
        page.keyboard.press("1")
        assert display.wait_event("ticket_called", number="A003")["recall"] == 0
        expect(page.locator("#ticket-number")).to_have_text("A003")
        page.keyboard.press("2")
        assert display.wait_event("ticket_called", number="A003")["recall"] == 1
        expect(page.locator("#ticket-tags")).to_contain_text("已重呼 1 次")
        page.keyboard.press("6")
        expect(finish).to_be_visible()
        expect(finish.get_by_label("即办办结")).to_be_checked()
        page.keyboard.press("Enter")
        assert pad.wait_event("rating_requested", ticket="A003")["clerk"]["badge"] == "1001"
        assert manager.wait_event("ticket_finished", number="A003")["outcome"] == "done"
        expect(finish).to_be_hidden()
        assert pad.request("rate", ticket="A003", score=None)["ok"]     # 未评
        expect(ratings).to_contain_text("评价数1满意率100%平均分4.0未评1")
        today = page.locator("#today")
        expect(today).to_contain_text("受理3办结2过号0")   # A001 was called here, then transferred

        # A key typed in a dialog's field is text, not a call; Esc closes the dialog.
        kiosk.request("take_ticket", category="A")
        expect(queue_a).to_contain_text("下一位：A004")
        page.keyboard.press("7")
        pause = page.locator("#pause-dialog")
        expect(pause).to_be_visible()
        page.keyboard.press("1")                      # on the first reason: nothing
        pause.get_by_label("说明").click()
        page.keyboard.type("1")
        expect(pause.get_by_label("说明")).to_have_value("1")
        page.keyboard.press("Escape")
        expect(pause).to_be_hidden()
        expect(page.locator("#ticket-empty")).to_be_visible()
        expect(queue_a).to_contain_text("等候 1 人")
        expect(page.locator("#window-status")).to_have_text("空闲")

        # 签退, and the B post of the same window comes.
        console.button("签退").click()
        page.locator("#confirm-dialog").get_by_role("button", name="确定签退").click()
        expect(page.locator("#choose-title")).to_be_visible()
        expect(page.locator("#message")).to_have_text("已在 1 号窗口签退")
        page.get_by_role("button", name="退出登录").click()
        console.log_in("1002", "2222")
        expect(page.locator("button.post").nth(0)).to_contain_text("1 号窗口社保窗口B岗（协办/顶岗）")
        console.choose(1, "B")
        expect(page.locator("#where")).to_have_text("1 号窗口 社保窗口 · B岗（协办/顶岗） · 李强（1002）")
        expect(ratings).to_contain_text("今天还没有办结的号，暂无评价")
        expect(today).to_contain_text("受理3办结2过号0")   # the window's day, whoever sits there
        page.keyboard.press("1")
        expect(page.locator("#ticket-number")).to_have_text("A004")
        page.keyboard.press("6")
        page.keyboard.press("Enter")
        asked = pad.wait_event("rating_requested", ticket="A004")
        assert asked["clerk"]["badge"] == "1002" and asked["clerk"]["post"] == "B"
        assert pad.request("rate", ticket="A004", score=5)["ok"]
        expect(ratings).to_contain_text("评价数1满意率100%平均分5.0未评0")
        assert ratings_in_db(hall) == {"A002": (4, "1001", "A"), "A003": (None, "1001", "A"),
                                       "A004": (5, "1002", "B")}

        # 暂停 with a reason, then 恢复.
        console.button("暂停").click()
        pause.get_by_label("午休").check()
        pause.get_by_role("button", name="确定暂停").click()
        status = page.locator("#window-status")
        expect(status).to_have_text("暂停服务：午休")
        expect(page.locator("#ticket-empty")).to_contain_text("窗口暂停服务中原因：午休")
        assert display.wait_event("window", window=1, status="paused")["reason"] == "午休"
        for name in ("呼叫下一位", "暂停", "办结"):
            expect(console.button(name)).to_be_disabled()
        expect(console.button("恢复")).to_be_enabled()
        console.assert_fits()
        console.assert_readable()
        console.shot("06-paused")
        page.keyboard.press("8")
        expect(status).to_have_text("空闲")
        expect(console.button("呼叫下一位")).to_be_enabled()

        console.assert_only_from(hall)
        assert console.errors == []


def test_a_given_number_is_called_from_the_console(hall, browser):
    """叫指定号: the clerk types the number a citizen shows (in any case, with spaces); it is
    called before the queue and the display hears it. While a ticket is in hand the control is
    off, and a number that is not waiting gets the server's reason in words."""
    kiosk = hall.hello("kiosk")
    display = hall.hello("display")
    for _ in range(3):
        assert kiosk.request("take_ticket", category="A")["ok"]
    with console_page(browser, hall) as console:
        page = console.page
        console.log_in("1001", "1111")
        console.choose(1, "A")
        expect(page.locator(".queues li[data-category=A]")).to_contain_text("等候 3 人")
        field, call = page.get_by_label("要呼叫的号码"), page.locator("#call-number-button")
        expect(call).to_be_enabled()
        field.fill(" a003 ")
        console.shot("09-call-a-given-number")
        call.click()
        expect(page.locator("#ticket-number")).to_have_text("A003")
        assert display.wait_event("ticket_called", number="A003")["window"] == 1
        expect(field).to_have_value("")
        expect(page.locator("#call-number-form")).to_be_hidden()   # A003 in hand: finish it first
        expect(page.locator(".queues li[data-category=A]")).to_contain_text("下一位：A001 A002")
        console.button("办结").click()
        page.locator("#finish-dialog").get_by_role("button", name="确定办结").click()
        expect(page.locator("#ticket-empty")).to_contain_text("当前没有正在办理的号")
        field.fill("A003")                      # finished: no longer waiting
        field.press("Enter")
        expect(page.locator("#message")).to_contain_text("A003")
        expect(page.locator("#ticket-empty")).to_be_visible()
        console.assert_fits()
        console.assert_readable()
        console.shot("10-call-a-given-number-refused")


def test_a_click_while_a_request_is_under_way_is_told_not_dropped(hall, browser):
    """A second click on 呼叫下一位 before the first one's reply (a double click, or a click just
    after 签到 while its reply is still on the way) calls nobody more, and the clerk is told so
    in words; once the reply is in, the words go and the next click works."""
    kiosk = hall.hello("kiosk")
    display = hall.hello("display")
    for _ in range(2):
        assert kiosk.request("take_ticket", category="A")["ok"]
    with console_page(browser, hall) as console:
        page = console.page
        console.log_in("1001", "1111")
        console.choose(1, "A")
        expect(page.locator(".queues li[data-category=A]")).to_contain_text("等候 2 人")
        said = page.evaluate("""() => {
            const call = [...document.querySelectorAll('.actions [data-action]')]
                .find((b) => b.textContent.includes('呼叫下一位'));
            call.click();
            call.click();   // in the same task: the first one's request is surely in flight
            return document.getElementById('message').textContent; }""")
        assert said == "正在处理上一项操作，请稍候再点"
        expect(page.locator("#ticket-number")).to_have_text("A001")
        expect(page.locator("#message")).to_have_text("已呼叫 A001 号")
        assert display.wait_event("ticket_called", number="A001")["window"] == 1
        expect(page.locator(".queues li[data-category=A]")).to_contain_text("等候 1 人")
        with sqlite3.connect(hall.db) as db:
            called = db.execute("select ticket from events where kind = 'ticket_called'")
            assert [row[0] for row in called] == ["A001"]
        console.shot("11-click-while-busy")


def test_a_refused_sign_in_offers_the_takeover(hall, browser):
    li = hall.hello("clerk", badge="1002", pin="2222")
    assert li.request("sign_in", window=1, post="B")["ok"]
    with console_page(browser, hall) as console:
        page = console.page
        console.log_in("1001", "1111")
        window_1 = page.locator("button.post").nth(0)
        expect(window_1).to_contain_text("当前：李强（B岗）在岗")
        window_1.click()
        expect(page.locator("#choose-error")).to_have_text(
            "1 号窗口已由李强（B岗）签到；如需接替，请选择“接替”")
        takeover = page.get_by_role("button", name="接替 1 号窗口（A岗）")
        expect(takeover).to_be_focused()
        console.shot("08-takeover-offered")
        takeover.click()
        confirm = page.locator("#confirm-dialog")
        expect(confirm).to_contain_text("1 号窗口现由李强（B岗）在岗。接替后对方将被签退")
        page.keyboard.press("Enter")
        expect(page.locator("#where")).to_contain_text("1 号窗口 社保窗口 · A岗（主办）")
        assert li.wait_event("clerk", window=None)["me"]["badge"] == "1002"
        # The sign-in's reply says so (the clerk view may come first): wait, or it overwrites
        # the answer to the key below.
        expect(page.locator("#message")).to_contain_text("已在 1 号窗口签到")

        # A key for what cannot be done now says why, in words.
        page.keyboard.press("2")
        expect(page.locator("#message")).to_have_text("现在不能“重呼”：当前没有正在办理的号")

        # Taken over in turn: back to the chooser, saying by whom.
        assert li.request("sign_in", window=1, post="B", takeover=True)["ok"]
        expect(page.locator("#choose-title")).to_be_visible()
        expect(page.locator("#message")).to_have_text("1 号窗口已由李强（B岗）接替，您已签退")
        console.assert_only_from(hall)
        assert console.errors == []


def test_the_console_comes_back_by_itself_after_a_server_restart(tmp_path, browser):
    hall = LiveHall(tmp_path, port=free_port())   # the same address after the restart
    try:
        kiosk = hall.hello("kiosk")
        for _ in range(3):
            kiosk.request("take_ticket", category="A")
        with console_page(browser, hall) as console:
            page = console.page
            console.log_in("1001", "1111")
            console.choose(1, "A")
            console.button("呼叫下一位").click()
            expect(page.locator("#ticket-number")).to_have_text("A001")

            assert hall.stop() == 0
            expect(page.locator("#connection")).to_have_text("连接中断")
            expect(page.locator("#message")).to_have_text("连接中断，正在重连…（操作按钮暂不可用）")
            for name in ("办结", "重呼", "转移"):
                expect(console.button(name)).to_be_disabled()
            expect(page.locator("#ticket-number")).to_have_text("A001")
            console.assert_readable()
            console.shot("07-offline")

            # Back, and meanwhile the same clerk finished A001 and called A002 elsewhere: the
            # console shows the server's state, not what it had.
            hall.start()
            other = hall.hello("clerk", badge="1001", pin="1111")
            assert other.request("finish", outcome="done")["ok"]
            assert other.request("call_next")["ticket"]["number"] == "A002"
            expect(page.locator("#ticket-number")).to_have_text("A002", timeout=20_000)
            expect(page.locator("#connection")).to_have_text("已连接")
            expect(console.button("办结")).to_be_enabled()
            expect(page.locator("#today")).to_contain_text("受理2办结1过号0")

            # A reload forgets badge and PIN; logging in again goes straight to the window.
            page.reload()
            expect(page.get_by_label("工号")).to_have_value("")
            assert page.evaluate("localStorage.length + sessionStorage.length") == 0
            console.log_in("1001", "1111")
            expect(page.locator("#ticket-number")).to_have_text("A002")
            expect(page.locator("#choose-screen")).to_be_hidden()

            # The PIN changed while the server was down: back to the login form, saying why.
            assert hall.stop() == 0
            hall.cli("clerk", "set-pin", "1001", "--pin", "8642")
            hall.start()
            expect(page.locator("#login-error")).to_have_text("工号或密码不正确（还可再试 4 次）",
                                                              timeout=20_000)
            expect(page.locator("#message")).to_have_text("重新连接时登录未通过，请重新登录")
            expect(page.locator("#main-screen")).to_be_hidden()
            console.assert_only_from(hall)
            # the browser's own notes of the refused connections while the server was down
            assert [e for e in console.errors if "WebSocket" not in e] == []
    finally:
        hall.stop()


def test_a_pin_reset_while_signed_in_ends_the_console_session_at_once(tmp_path, browser):
    hall = LiveHall(tmp_path)
    try:
        with console_page(browser, hall) as console:
            page = console.page
            console.log_in("1001", "1111")
            console.choose(1, "A")
            expect(page.locator("#main-screen")).to_be_visible()
            hall.cli("clerk", "set-pin", "1001", "--pin", "8642")
            expect(page.locator("#login-error")).to_have_text(
                "您的密码已被重置或账号已停用，请重新登录")
            expect(page.locator("#main-screen")).to_be_hidden()
            expect(page.locator("#message")).to_have_text("登录已失效，您已退出")
            console.assert_readable()
            console.shot("09-pin-reset")
            assert hall.health()["sessions_revoked"] == 1
            console.log_in("1001", "8642")        # no retries with the old PIN in between
            expect(page.locator("#main-screen")).to_be_visible()
            expect(page.locator("#connection")).to_have_text("已连接")
            console.assert_only_from(hall)
            assert console.errors == []
    finally:
        hall.stop()


def test_a_new_service_day_says_hello_again(tmp_path, browser):
    """At midnight (a simulated hall clock, three times as fast) the server closes the day:
    the clerk is signed out and `day_started` sent; the console says hello again on a fresh
    connection and shows the new day's state: no window, no ticket."""
    # 30 s before midnight: room for chromium, the login and the call on a busy machine (a
    # full CI run once took over 5 s for the call's reply through the page's relay).
    hall = LiveHall(tmp_path, "--simulate-from", "2026-11-23T23:58:30", "--speed", "3")
    hellos: list[dict] = []

    def proxy(ws):      # a plain relay that counts the page's hellos
        server = ws.connect_to_server()

        def from_page(message):
            if json.loads(message).get("op") == "hello":
                hellos.append(json.loads(message))
            server.send(message)

        ws.on_message(from_page)

    try:
        hall.hello("kiosk").request("take_ticket", category="A")
        with console_page(browser, hall) as console:
            page = console.page
            page.route_web_socket(re.compile(r"/ws$"), proxy)
            page.reload()
            console.log_in("1001", "1111")
            console.choose(1, "A")
            # The sign-in answered (its reply, not only its event: a click while a request is
            # in flight is not sent), then the call.
            expect(page.locator("#message")).to_contain_text("已在 1 号窗口签到")
            console.button("呼叫下一位").click()
            expect(page.locator("#ticket-number")).to_have_text("A001", timeout=15_000)
            assert hall.health()["service_day"] == "2026-11-23"   # still before midnight

            expect(page.locator("#choose-title")).to_be_visible(timeout=40_000)
            expect(page.locator("#message")).to_have_text(
                "新的服务日（2026-11-24）已开始，请选择窗口签到")
            assert hall.health()["service_day"] == "2026-11-24"
            assert len(hellos) == 2
            assert (hellos[1]["role"], hellos[1]["badge"]) == ("clerk", "1001")
            console.choose(1, "A")
            expect(page.locator("#ticket-empty")).to_contain_text("本窗口的业务暂时无人等候")
            expect(page.locator("#today")).to_contain_text("受理0办结0过号0")
            console.assert_only_from(hall)
            assert console.errors == []
    finally:
        hall.stop()


def test_a_booked_ticket_shows_as_a_booking_in_the_queue_and_in_hand(tmp_path, browser):
    """A checked-in booking's ticket (A001, slot 08:30–09:00) and a walk-in's (A002), over the
    real server on its simulated clock: the queue preview marks A001 预约, the ticket in hand
    shows 预约 08:30–09:00; A002 has neither."""
    from hall.vocabulary import BOOKED_MARK
    from tests.booked_tickets import SLOT_TEXT, booked_and_walk_in, booking_hall

    hall = booking_hall(tmp_path)
    try:
        booked_and_walk_in(hall)
        with console_page(browser, hall) as console:
            page = console.page
            console.log_in("1001", "1111")
            console.choose(1, "A")
            queue_a = page.locator(".queues li[data-category=A]")
            expect(queue_a).to_contain_text(f"下一位：A001{BOOKED_MARK} A002")
            marks = queue_a.locator(".q-next .mark")
            expect(marks).to_have_count(1)
            expect(marks).to_have_text(BOOKED_MARK)
            console.assert_readable()
            console.shot("booked-ticket-in-queue")

            console.button("呼叫下一位").click()
            expect(page.locator("#ticket-number")).to_have_text("A001")
            booked = page.locator("#ticket-tags .tag.booked")
            expect(booked).to_have_text(f"{BOOKED_MARK} {SLOT_TEXT}")
            expect(queue_a).to_contain_text("下一位：A002")
            expect(queue_a.locator(".mark")).to_have_count(0)
            console.assert_fits()
            console.assert_readable()
            console.shot("booked-ticket-in-hand")

            console.button("办结").click()
            page.locator("#finish-dialog").get_by_role("button", name="确定办结").click()
            expect(page.locator("#ticket-empty")).to_be_visible()
            console.button("呼叫下一位").click()
            expect(page.locator("#ticket-number")).to_have_text("A002")
            expect(page.locator("#ticket-tags")).not_to_contain_text(BOOKED_MARK)
            expect(page.locator("#ticket-tags .tag.booked")).to_have_count(0)
            assert console.errors == []
    finally:
        assert hall.stop() == 0
