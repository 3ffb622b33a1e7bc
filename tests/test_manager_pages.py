"""The manager's page (/manager and its 统计报表 tab) in Debian's chromium, driven through real
clicks at a PC's 1366×768 and 1920×1080, against a real hall server: log in, watch the windows,
queues and devices change as the hall works, acknowledge warnings (once), set the notice, give a
ticket 绿色通道, survive a server restart and a new service day; the county hall's 142 windows
on one screen; the reports page's tables, charts, rankings and exports against simulated history.

The hall around the page is made of plain WebSocket connections of the test: a kiosk takes
tickets and reports its printer, clerks work at their windows, a display and a pad come and go.
Screenshots go to tests/artifacts/manager/ for a person to look at.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import insert, update

from bench.sim import direct, model
from queue_server.credentials import hash_pin
from queue_server.hall_toml import parse_hall
from queue_server.store import event_log
from queue_server.store.database import open_engine
from queue_server.store.schema import ClerkRow, EventRow
from tests.browser import chromium
from tests.conftest import ARTIFACTS, free_port
from tests.live_hall import MANAGER, ROUND_THE_CLOCK, LiveHall, round_the_clock

SHOTS = ARTIFACTS / "manager"
SMALL_SCREEN = {"width": 1366, "height": 768}
BIG_SCREEN = {"width": 1920, "height": 1080}
HALLS = Path(__file__).resolve().parent.parent / "assets" / "halls"
WEB = Path(__file__).resolve().parent.parent / "queue_server" / "web"

# Every visible text against the background it sits on: at least 4.5:1 (WCAG AA).
LOW_CONTRAST = """() => {
    const channels = (c) => c.match(/[\\d.]+/g).map(Number);
    const linear = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    const luminance = ([r, g, b]) => 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
    const behind = (node) => {
        for (let e = node; e; e = e.parentElement) {
            const c = channels(getComputedStyle(e).backgroundColor);
            if (c.length === 3 || c[3] === 1) return c.slice(0, 3);
        }
        return [255, 255, 255];
    };
    const low = [];
    for (const node of document.querySelectorAll("body *")) {
        if (node.closest("svg")) continue;
        const own = [...node.childNodes].filter((n) => n.nodeType === 3)
            .map((n) => n.textContent.trim()).join("");
        if (!own || !node.getClientRects().length) continue;
        const a = luminance(channels(getComputedStyle(node).color).slice(0, 3));
        const b = luminance(behind(node));
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        if (ratio < 4.5) low.push(`${own.slice(0, 16)} ${ratio.toFixed(2)}`);
    }
    return low;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def hall(tmp_path):
    live = LiveHall(tmp_path)
    yield live
    assert live.stop() == 0


class Dashboard:
    """One manager page, with every address it asked for, every script error it raised and,
    when relayed, every frame the server sent it."""

    def __init__(self, page: Page):
        self.page = page
        self.urls: list[str] = []
        self.errors: list[str] = []
        self.frames: list[dict] = []
        page.on("request", lambda r: self.urls.append(r.url))
        page.on("websocket", lambda ws: self.urls.append(ws.url))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def relay(self, hold_back: tuple[str, ...] = ()) -> None:
        """Put a relay between page and server that notes the server's frames and keeps back
        the events named (as if they were still on their way)."""
        def proxy(ws):
            server = ws.connect_to_server()

            def from_server(message):
                frame = json.loads(message)
                self.frames.append(frame)
                if frame.get("ev") not in hold_back:
                    ws.send(message)

            server.on_message(from_server)

        self.page.route_web_socket(re.compile(r"/ws$"), proxy)

    def open(self, hall: LiveHall, path: str = "/manager") -> None:
        self.page.goto(f"{hall.http}{path}")

    def log_in(self, user: str = MANAGER[0], password: str = MANAGER[1]) -> None:
        self.page.get_by_label("用户名").fill(user)
        self.page.get_by_label("密码").fill(password)
        self.page.get_by_role("button", name="登录", exact=True).click()

    def card(self, window: int):
        return self.page.locator(f'.win[data-window="{window}"]')

    def queue(self, category: str):
        return self.page.locator(f'#queues tr[data-category="{category}"]')

    def device(self, name: str):
        return self.page.locator(f'#devices tr[data-device="{name}"]')

    def shot(self, name: str, full_page: bool = False) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=SHOTS / f"{name}.png", full_page=full_page)

    def assert_fits(self) -> None:
        """The live screen never scrolls as a page: its panels scroll inside."""
        sizes = self.page.evaluate("""() => { const e = document.documentElement;
            return [e.scrollWidth, innerWidth, e.scrollHeight, innerHeight]; }""")
        assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], sizes

    def assert_readable(self) -> None:
        assert self.page.evaluate(LOW_CONTRAST) == []

    def assert_only_from(self, hall: LiveHall) -> None:
        """Everything the page loaded came from the hall server itself."""
        server = urlsplit(hall.http).netloc
        assert self.urls
        assert [u for u in self.urls if urlsplit(u).netloc != server] == []


@contextmanager
def dashboard(browser: Browser, hall: LiveHall, viewport: dict = SMALL_SCREEN,
              path: str = "/manager", hold_back: tuple[str, ...] | None = None,
              log_in: bool = True) -> Iterator[Dashboard]:
    context = browser.new_context(viewport=viewport, locale="zh-CN", accept_downloads=True)
    try:
        page = Dashboard(context.new_page())
        if hold_back is not None:
            page.relay(hold_back)
        page.open(hall, path)
        if log_in:
            page.log_in()
            expect(page.page.locator("#connection")).to_have_text("已连接")
            expect(page.page.locator(".win").first).to_be_attached()
        yield page
    finally:
        context.close()


def clerk_at(hall: LiveHall, badge: str, pin: str, window: int, post: str = "A"):
    clerk = hall.hello("clerk", badge=badge, pin=pin)
    reply = clerk.request("sign_in", window=window, post=post)
    assert reply["ok"], reply
    return clerk


# --- log in ---------------------------------------------------------------------------------------

def test_log_in_shows_the_servers_refusal_as_it_is_then_the_hall(hall, browser):
    with dashboard(browser, hall, hold_back=(), log_in=False) as d:
        page = d.page
        expect(page.locator("#login-title")).to_have_text("大厅管理人员登录")
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page.locator("#login-error")).to_have_text("请输入用户名和密码")

        d.log_in(MANAGER[0], "not-the-password")
        expect(page.locator("#login-error")).to_contain_text("用户名或密码不正确")
        refusal = next(f for f in d.frames if f.get("ok") is False)
        assert refusal["error"]["code"] == "unauthorized"
        expect(page.locator("#login-error")).to_have_text(refusal["error"]["message"])
        assert "还可再试 4 次" in refusal["error"]["message"]
        expect(page.locator("#live-screen")).to_be_hidden()
        expect(page.get_by_label("密码")).to_have_value("")

        d.log_in()
        expect(page.locator("#connection")).to_have_text("已连接")
        expect(page.locator("#hall-name")).to_have_text("测试镇便民服务中心")
        expect(page.locator("#who")).to_have_text("管理人员：主任")
        expect(page.locator(".win")).to_have_count(4)
        expect(page.locator("#login-screen")).to_be_hidden()
        assert page.title() == "大厅管理 - 测试镇便民服务中心"
        # user and password live only in the page's memory
        assert page.evaluate("localStorage.length + sessionStorage.length") == 0

        page.get_by_role("button", name="退出").click()
        expect(page.locator("#login-screen")).to_be_visible()
        expect(page.locator("#message")).to_have_text("已退出登录")
        d.assert_only_from(hall)
        assert d.errors == []


# --- the live hall --------------------------------------------------------------------------------

def test_a_changed_password_logs_the_open_page_out_saying_why(hall, browser):
    with dashboard(browser, hall) as d:
        page = d.page
        hall.cli("manager", "add", MANAGER[0], "--name", "主任", "--password", "a-new-password")
        expect(page.locator("#login-error")).to_have_text("管理账号已被更改或删除，请重新登录")
        expect(page.locator("#message")).to_have_text("登录已失效，您已退出")
        expect(page.locator("#live-screen")).to_be_hidden()
        d.assert_readable()
        d.shot("09-logged-out-password-changed")
        assert hall.health()["sessions_revoked"] == 1
        d.log_in(MANAGER[0], "a-new-password")   # the old password is never tried again
        expect(page.locator("#connection")).to_have_text("已连接")
        assert d.errors == []


def test_the_dashboard_follows_the_hall_live(hall, browser):
    kiosk = hall.hello("kiosk")
    with dashboard(browser, hall) as d:
        page = d.page
        expect(d.card(1)).to_have_attribute("data-status", "closed")
        expect(d.card(1)).to_contain_text("未开放")
        expect(d.card(1)).to_contain_text("无人在岗")
        expect(page.locator("#queues-summary")).to_have_text("共 0 人等候")

        for category in "AAABB":
            assert kiosk.request("take_ticket", category=category)["ok"]
        expect(d.queue("A").locator("td").nth(2)).to_have_text("3")
        expect(d.queue("B").locator("td").nth(2)).to_have_text("2")
        expect(d.queue("A").locator(".chip")).to_have_text(["A001", "A002", "A003"])
        expect(d.queue("A").locator(".longest")).to_have_text(re.compile(r"^\d+分\d\d秒$"))
        expect(page.locator("#queues-summary")).to_contain_text("共 5 人等候，最长已等")
        expect(page.locator("#today-summary")).to_contain_text("今日 取号 5 · 办结 0 · 过号 0",
                                                               timeout=10_000)

        zhang = clerk_at(hall, "1001", "1111", 1)
        expect(d.card(1)).to_have_attribute("data-status", "idle")
        expect(d.card(1).locator(".win-clerk")).to_have_text("在岗空闲 张敏 · A岗")
        expect(d.card(1).locator(".win-now")).to_have_text("空闲，有 3 人在等")
        expect(d.queue("A").locator(".staffed")).to_have_text("1 / 3")
        expect(d.queue("B").locator(".staffed")).to_have_text("0 / 3（无人办理）")

        assert zhang.request("call_next")["ticket"]["number"] == "A001"
        card = d.card(1)
        expect(card).to_have_attribute("data-status", "serving")
        expect(card.locator(".win-ticket")).to_have_text("A001")
        expect(card.locator(".win-clerk")).to_have_text("办理中 张敏 · A岗")
        expect(d.queue("A").locator(".chip")).to_have_text(["A002", "A003"])
        # the service time so far is live, from current_since
        first = card.locator(".win-elapsed").inner_text()
        assert re.fullmatch(r"\d+分\d\d秒", first)
        expect(card.locator(".win-elapsed")).not_to_have_text(first, timeout=3000)

        li = clerk_at(hall, "1002", "2222", 2)
        assert li.request("pause", reason="午休")["ok"]
        expect(d.card(2)).to_have_attribute("data-status", "paused")
        expect(d.card(2).locator(".win-now")).to_have_text("暂停原因：午休")
        chen = clerk_at(hall, "1005", "5555", 3, post="B")
        expect(d.card(3).locator(".win-clerk")).to_have_text("在岗空闲 陈静 · B岗")
        expect(page.locator("#windows-summary")).to_have_text(
            "办理中 1 · 在岗空闲 1 · 暂停服务 1 · 未开放 1")
        d.assert_fits()
        d.assert_readable()
        d.shot("01-small-hall-1366")
        page.set_viewport_size(BIG_SCREEN)
        d.assert_fits()
        d.shot("02-small-hall-1920")
        page.set_viewport_size(SMALL_SCREEN)

        # filters: by state, by words, by department
        page.locator("#status-filter").select_option(label="暂停服务")
        expect(page.locator(".win")).to_have_count(1)
        expect(page.locator("#windows-shown")).to_have_text("显示 1 / 4 个")
        page.locator("#status-filter").select_option(label="全部状态")
        page.locator("#window-search").fill("张敏")
        expect(page.locator(".win")).to_have_count(1)
        expect(page.locator(".win")).to_have_attribute("data-window", "1")
        page.locator("#window-search").fill("A001")
        expect(page.locator(".win")).to_have_attribute("data-window", "1")
        page.locator("#window-search").fill("")
        page.locator("#group-filter").select_option(label="民政（2）")
        expect(page.locator(".win")).to_have_count(2)
        expect(page.locator("#queues tr")).to_have_count(1)   # 民政's own category only
        expect(d.queue("B")).to_be_visible()
        page.locator("#group-by").select_option(label="不分组")
        expect(page.locator(".win")).to_have_count(4)
        expect(page.locator(".group-tile")).to_have_count(0)

        # a window change reaches a card only filtered in
        page.locator("#status-filter").select_option(label="办理中")
        assert zhang.request("finish", outcome="done")["ok"]
        expect(page.locator("#window-groups .empty")).to_have_text("没有符合条件的窗口")
        page.locator("#status-filter").select_option(label="全部状态")
        # today's totals, from the server's own KPIs, a few seconds after the finish
        expect(page.locator("#today-summary")).to_have_text(
            re.compile(r"^今日 取号 5 · 办结 1 · 过号 0 · 平均等候 \d+\.\d 分钟$"), timeout=10_000)
        assert zhang.request("sign_out")["ok"]
        expect(d.card(1)).to_have_attribute("data-status", "closed")
        expect(d.card(1).locator(".win-now")).to_have_text("本窗口业务 2 人在等")
        assert chen.request("sign_out")["ok"]
        d.assert_only_from(hall)
        assert d.errors == []


def test_a_printer_fault_is_a_red_warning_acknowledged_once_by_whom_and_when(tmp_path, browser):
    # 脱岗 warnings off: the hall is open round the clock, so every empty window would be one
    hall = LiveHall(tmp_path, hall_text=ROUND_THE_CLOCK.replace(
        "unattended_after_minutes = 10", "unattended_after_minutes = 0"))
    kiosk = hall.hello("kiosk")
    with dashboard(browser, hall) as first, \
            dashboard(browser, hall, hold_back=("warning_acknowledged",)) as second:
        assert kiosk.request("device_status", printer="paper_out", detail="纸仓空")["ok"]
        for d in (first, second):
            warning = d.page.locator(".warning").first
            expect(warning).to_have_attribute("data-level", "red")
            expect(warning.locator(".warning-level")).to_have_text("▲ 红色预警")
            expect(warning.locator(".warning-text")).to_have_text("kiosk-1：打印机缺纸（纸仓空）")
            expect(warning.locator(".warning-meta")).to_contain_text("设备异常")
            expect(d.page.locator("#alarms")).to_have_text("▲ 红色预警 1 条待确认")
            expect(d.device("kiosk-1")).to_contain_text("⚠ 缺纸")
            expect(d.device("kiosk-1")).to_contain_text("● 在线")

        page = first.page
        page.locator(".warning").first.get_by_role("button", name=re.compile("^确认")).click()
        done = page.locator(".warning").first.locator(".warning-done")
        expect(done).to_have_text(re.compile(r"^✓ 已确认：主任（zhuren） \d\d:\d\d:\d\d$"))
        expect(page.locator("#alarms")).to_have_text("✓ 没有待确认的预警")
        expect(page.locator(".warning").first).to_have_attribute("data-acknowledged", "yes")
        snapshot = hall.hello("manager").hello["snapshot"]
        acknowledged = snapshot["warnings"][0]["acknowledged"]
        assert acknowledged["by"] == "主任（zhuren）"
        expect(done).to_have_text(f"✓ 已确认：主任（zhuren） {acknowledged['at'][11:19]}")
        first.assert_readable()
        first.shot("03-warning-acknowledged")

        # The second page has not heard of it yet: its 确认 is refused, and it says by whom.
        later = second.page.locator(".warning").first
        later.get_by_role("button", name=re.compile("^确认")).click()
        expect(later.locator(".warning-error")).to_be_visible()
        refusal = next(f for f in second.frames if f.get("ok") is False)
        assert refusal["error"]["code"] == "conflict"
        assert refusal["error"]["message"] == "这条预警已由主任（zhuren）确认"
        expect(later.locator(".warning-error")).to_have_text("这条预警已由主任（zhuren）确认")

        # paper back: the device says so; a fresh page shows who acknowledged, from the snapshot
        assert kiosk.request("device_status", printer="ok")["ok"]
        expect(first.device("kiosk-1")).to_contain_text("✓ 正常")
        page.reload()
        first.log_in()
        expect(page.locator(".warning").first.locator(".warning-done")).to_have_text(
            f"✓ 已确认：主任（zhuren） {acknowledged['at'][11:19]}")

        # Two more (a yellow one first): open ones on top, newest first; 全部确认 takes both.
        display = hall.hello("display")
        assert display.request("device_status", printer="paper_low")["ok"]
        assert kiosk.request("device_status", printer="offline")["ok"]
        expect(page.locator(".warning .warning-level")).to_have_text(
            ["▲ 红色预警", "● 黄色预警", "▲ 红色预警"])
        expect(page.locator(".warning .warning-text").first).to_have_text("kiosk-1：打印机离线")
        expect(page.locator("#alarms .alarm")).to_have_text(
            ["▲ 红色预警 1 条待确认", "● 黄色预警 1 条待确认"])
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="全部确认").click()
        expect(page.locator("#message")).to_have_text("已确认 2 条预警")
        expect(page.locator(".warning[data-acknowledged=no]")).to_have_count(0)
        for d in (first, second):
            d.assert_only_from(hall)
            assert d.errors == []
    assert hall.stop() == 0


def _log_as_before(hall: LiveHall, *warnings: dict) -> None:
    """Append warnings to the hall's log (server stopped) as the code wrote them from commit
    ffa882c until the protocol's names were restored: kinds `waiting`, `service`, `rating`, the
    ticket as `number`, `since` with microseconds. The log is append-only, so old days stay so."""
    engine = open_engine(f"sqlite:///{hall.db}")
    try:
        with engine.begin() as conn:
            day, _ = event_log.load_latest_day(conn, 1, parse_hall(ROUND_THE_CLOCK).hall.zone)
            seq, at = event_log.last_seq(conn, 1), datetime.now(UTC)
            conn.execute(insert(EventRow), [
                {"hall_id": 1, "seq": seq + i, "day": day, "at": at, "kind": "warning",
                 "data": data} for i, data in enumerate(warnings, 1)])
    finally:
        engine.dispose()


def test_warnings_logged_under_their_old_names_show_after_a_restart_and_are_acknowledged(
        tmp_path, browser):
    hall = LiveHall(tmp_path, hall_text=ROUND_THE_CLOCK.replace(
        "unattended_after_minutes = 10", "unattended_after_minutes = 0"))
    try:
        kiosk = hall.hello("kiosk")
        for _ in range(3):
            assert kiosk.request("take_ticket", category="A")["ok"]
        zhang, zhao = clerk_at(hall, "1001", "1111", 1), clerk_at(hall, "1004", "4444", 4)
        assert zhang.request("call_next")["ticket"]["number"] == "A001"
        assert zhao.request("call_next")["ticket"]["number"] == "A002"
        assert zhao.request("finish", outcome="done")["ok"]
        assert zhao.request("call_next")["ticket"]["number"] == "A003"
        assert hall.stop() == 0
        since = (datetime.now(UTC) - timedelta(minutes=30)).replace(microsecond=318402).astimezone(
            parse_hall(ROUND_THE_CLOCK).hall.zone).isoformat()
        _log_as_before(
            hall,
            {"level": "yellow", "kind": "waiting", "number": "A001", "window": None,
             "minutes": 30, "since": since, "text": "A001 号（社保业务）已等候 30 分钟"},
            {"level": "red", "kind": "rating", "window": 4, "number": "A002", "clerk": "1004",
             "text": "4 号窗口赵磊办理的 A002 号评价为“非常不满意”：服务态度不好"},
            {"level": "yellow", "kind": "service", "number": "A003", "window": 4, "minutes": 30,
             "since": since, "text": "4 号窗口办理 A003 号（社保业务）已 30 分钟"})
        hall.start()

        with dashboard(browser, hall) as d:
            page = d.page
            expect(page.locator(".warning .warning-meta")).to_have_text(
                [re.compile(r" · 办理超时$"), re.compile(r" · 差评$"), re.compile(r" · 等候超时$")])
            expect(page.locator(".warning .warning-level")).to_have_text(
                ["● 黄色预警", "▲ 红色预警", "● 黄色预警"])
            expect(page.locator("#alarms .alarm")).to_have_text(
                ["▲ 红色预警 1 条待确认", "● 黄色预警 2 条待确认"])
            # window 1 is flagged through the ticket at it (A001's long wait), window 4 by its own
            expect(d.card(1)).to_have_attribute("data-warned", "yellow")
            expect(d.card(1).locator(".win-flag")).to_have_text("● 黄色预警待确认")
            expect(d.card(4)).to_have_attribute("data-warned", "red")
            expect(d.card(2)).not_to_have_attribute("data-warned", re.compile(".*"))
            d.assert_readable()
            d.shot("08-warnings-from-an-older-log")

            wait = page.locator(".warning").filter(has_text="A001 号（社保业务）已等候 30 分钟")
            wait.get_by_role("button", name=re.compile("^确认")).click()
            expect(wait.locator(".warning-done")).to_have_text(
                re.compile(r"^✓ 已确认：主任（zhuren） \d\d:\d\d:\d\d$"))
            expect(d.card(1)).not_to_have_attribute("data-warned", re.compile(".*"))
            d.assert_only_from(hall)
            assert d.errors == []

        assert hall.stop() == 0
        hall.start()
        warnings = hall.hello("manager").hello["snapshot"]["warnings"]
        assert [(w["kind"], w["ticket"], w["window"]) for w in warnings] == [
            ("long_wait", "A001", None), ("negative_rating", "A002", 4),
            ("long_service", "A003", 4)]
        assert all("number" not in w for w in warnings)
        assert warnings[0]["since"] == warnings[2]["since"] == since[:19] + since[-6:]
        assert warnings[0]["acknowledged"]["by"] == "主任（zhuren）"
        assert warnings[1]["acknowledged"] is None is warnings[2]["acknowledged"]
    finally:
        hall.stop()


def test_the_notice_and_the_green_channel_reach_the_hall(hall, browser):
    display = hall.hello("display")
    kiosk = hall.hello("kiosk")
    manager = hall.hello("manager")
    with dashboard(browser, hall) as d:
        page = d.page
        expect(page.locator("#current-notice")).to_have_text("当前没有公告")
        notice = "今天下午 3 点起社保系统升级，请提前办理"
        page.get_by_label("新公告内容").fill(notice)
        expect(page.locator("#notice-count")).to_have_text(f"{len(notice)}/300")
        page.get_by_role("button", name="发布公告").click()
        assert display.wait_event("notice")["text"] == notice
        expect(page.locator("#notice-result")).to_have_text("公告已发布")
        expect(page.locator("#current-notice")).to_have_text(f"当前公告：{notice}")
        # one line beside the heading: the whole notice on hover
        expect(page.locator("#current-notice")).to_have_attribute("title", notice)
        d.shot("10-notice-published")
        page.get_by_label("新公告内容").fill("长" * 300)
        expect(page.locator("#notice-count")).to_have_text("300/300")
        page.get_by_label("新公告内容").fill("")
        page.get_by_role("button", name="清除公告").click()
        assert display.wait_event("notice")["text"] == ""
        expect(page.locator("#current-notice")).to_have_text("当前没有公告")
        expect(page.locator("#notice-result")).to_have_text("公告已清除")

        for _ in range(3):
            assert kiosk.request("take_ticket", category="A")["ok"]
        expect(d.queue("A").locator(".chip")).to_have_text(["A001", "A002", "A003"])
        d.queue("A").get_by_role("button", name="A003").click()
        expect(page.get_by_label("号码")).to_have_value("A003")
        page.get_by_role("button", name="开通绿色通道").click()
        reordered = display.wait_event("queue", category="A", next=["A003", "A001", "A002"])
        assert reordered["waiting"] == 3
        expect(page.locator("#green-result")).to_have_text("A003 已开通绿色通道，排到本类第一位")
        expect(d.queue("A").locator(".chip")).to_have_text(["A003", "A001", "A002"])
        clerk = clerk_at(hall, "1001", "1111", 1)
        assert clerk.request("call_next")["ticket"]["number"] == "A003"

        # refusals, in the server's words: a ticket no longer waiting, one that does not exist
        for number in ("a003", "A099"):
            page.get_by_label("号码").fill(number)
            page.get_by_role("button", name="开通绿色通道").click()
            said = manager.request("set_priority", number=number.upper(), priority="green")
            assert not said["ok"]
            expect(page.locator("#green-result")).to_have_text(said["error"]["message"])
        d.assert_readable()
        d.assert_only_from(hall)
        assert d.errors == []


def test_devices_show_online_and_offline_as_they_come_and_go(hall, browser):
    with dashboard(browser, hall) as d:
        page = d.page
        # Every registered device is listed from the start, offline until it connects.
        expect(page.locator("#devices-summary")).to_have_text("在线 0 · 离线 3 · 打印机异常 0")
        expect(d.device("kiosk-1")).to_contain_text("✕ 离线")
        pad = hall.hello("pad")
        row = d.device("pad-1")
        expect(row).to_contain_text("评价器（1号窗口）")
        expect(row).to_contain_text("● 在线")
        display = hall.hello("display")
        expect(d.device("board-1")).to_contain_text("显示屏")
        expect(page.locator("#devices-summary")).to_have_text("在线 2 · 离线 1 · 打印机异常 0")
        pad.close()
        expect(row).to_contain_text("✕ 离线")
        expect(row).to_have_attribute("data-problem", "yes")
        expect(page.locator("#devices-summary")).to_have_text("在线 1 · 离线 2 · 打印机异常 0")
        hall.hello("pad")
        expect(row).to_contain_text("● 在线")
        display.close()
        expect(d.device("board-1")).to_contain_text("✕ 离线")
        d.assert_only_from(hall)
        assert d.errors == []


# --- connection -----------------------------------------------------------------------------------

def test_the_dashboard_comes_back_by_itself_after_a_server_restart(tmp_path, browser):
    hall = LiveHall(tmp_path, port=free_port())   # the same address after the restart
    try:
        hall.hello("kiosk").request("take_ticket", category="A")
        with dashboard(browser, hall) as d:
            page = d.page
            expect(d.queue("A").locator("td").nth(2)).to_have_text("1")
            assert hall.stop() == 0
            expect(page.locator("#connection")).to_have_text("连接中断")
            expect(page.locator("#message")).to_have_text(
                "连接中断，正在重连…（下面显示的是断开前的状态，操作暂不可用）")
            expect(page.get_by_role("button", name="发布公告")).to_be_disabled()
            expect(page.get_by_role("button", name="开通绿色通道")).to_be_disabled()
            expect(d.queue("A").locator("td").nth(2)).to_have_text("1")

            hall.start()
            kiosk = hall.hello("kiosk")
            assert kiosk.request("take_ticket", category="A")["ok"]
            expect(d.queue("A").locator("td").nth(2)).to_have_text("2", timeout=20_000)
            expect(page.locator("#connection")).to_have_text("已连接")
            expect(page.locator("#message")).to_have_text("已重新连接，显示的是服务器上的最新状态")
            expect(page.get_by_role("button", name="发布公告")).to_be_enabled()
            d.assert_only_from(hall)
            # the browser's own notes of the refused connections while the server was down
            assert [e for e in d.errors if "WebSocket" not in e] == []
    finally:
        hall.stop()


def test_a_new_service_day_says_hello_again(tmp_path, browser):
    """At midnight (a simulated hall clock, three times as fast) the server closes the day and
    sends `day_started`: the page says hello again and shows the new day's empty queues."""
    # 20 s before midnight: room for chromium and the login on a busy machine.
    hall = LiveHall(tmp_path, "--simulate-from", "2026-11-23T23:59:00", "--speed", "3")
    try:
        hall.hello("kiosk").request("take_ticket", category="A")
        with dashboard(browser, hall, hold_back=()) as d:
            page = d.page
            expect(d.queue("A").locator("td").nth(2)).to_have_text("1")
            expect(page.locator("#message")).to_have_text(
                "新的服务日（2026-11-24）已开始，已载入今天的状态", timeout=40_000)
            expect(d.queue("A").locator("td").nth(2)).to_have_text("0")
            hellos = [f for f in d.frames if f.get("role") == "manager" and f.get("ok")]
            assert [h["snapshot"]["live"]["day"] for h in hellos] == ["2026-11-23", "2026-11-24"]
            assert any(f.get("ev") == "day_started" for f in d.frames)
            expect(page.locator("#connection")).to_have_text("已连接")
            d.assert_only_from(hall)
            assert d.errors == []
    finally:
        hall.stop()


def test_the_clock_shows_the_halls_time_from_the_login_on(tmp_path, browser):
    """A hall on a simulated clock two weeks behind this PC's: the top bar's clock shows the
    hall's day and time from the hello reply on, before any event has come."""
    hall = LiveHall(tmp_path, "--simulate-from", "2026-11-23T10:00:00")
    try:
        with dashboard(browser, hall, hold_back=()) as d:
            expect(d.page.locator("#clock")).to_contain_text("11月23日")
            expect(d.page.locator("#clock")).to_contain_text("10:0")
            assert not any(f.get("ev") for f in d.frames), "an event came: the test proves nothing"
    finally:
        hall.stop()


# --- the county hall --------------------------------------------------------------------------------

def test_the_county_halls_142_windows_on_one_screen(tmp_path, browser):
    text = round_the_clock((HALLS / "county.toml").read_text(encoding="utf-8"))
    definition = parse_hall(text)
    # all 142 consoles log in from this one address: no per-address login limit
    hall = LiveHall(tmp_path, "--take-limit", "0", "--login-limit", "0", hall_text=text)
    try:
        engine = open_engine(f"sqlite:///{hall.db}")
        with engine.begin() as conn:    # the county file has no PINs: one for everybody
            conn.execute(update(ClerkRow).values(pin_hash=hash_pin("2468")))
        engine.dispose()
        kiosk = hall.hello("kiosk")
        categories = definition.categories
        for i in range(150):
            category = categories[(i * 7) % len(categories)]
            assert kiosk.request("take_ticket", category=category.prefix,
                                 kind=category.kinds[0])["ok"]
        paused, seated = 0, set()
        for i, window in enumerate(definition.windows[:70]):
            if window.a_post in seated:
                continue
            seated.add(window.a_post)
            clerk = clerk_at(hall, window.a_post, "2468", window.number)
            if i % 9 == 4:
                assert clerk.request("pause", reason="业务培训")["ok"]
                paused += 1
            elif i % 5:
                clerk.request("call_next")
            clerk.close()
        kiosk.request("device_status", printer="paper_low")
        departments = {d.code: d.name for d in definition.departments}
        zones = {" ".join(p for p in (w.floor, w.zone) if p) for w in definition.windows}

        with dashboard(browser, hall) as d:
            page = d.page
            expect(page.locator(".win")).to_have_count(142)
            # departments with windows of their own (some work only through others' windows)
            expect(page.locator(".group-tile")).to_have_count(
                len({w.department for w in definition.windows}))
            expect(page.locator("#windows-shown")).to_have_text("共 142 个")
            expect(page.locator(".win[data-status=paused]")).to_have_count(paused)
            d.assert_fits()
            d.assert_readable()
            d.shot("04-county-1366")
            page.set_viewport_size(BIG_SCREEN)
            d.assert_fits()
            d.shot("05-county-1920")

            tax = "国家税务总局青岚县税务局"
            code = next(c for c, name in departments.items() if name == tax)
            theirs = [w.number for w in definition.windows if w.department == code]
            page.locator("#group-filter").select_option(label=f"{tax}（{len(theirs)}）")
            expect(page.locator(".win")).to_have_count(len(theirs))
            shown = page.locator(".win").evaluate_all("cards => cards.map(c => +c.dataset.window)")
            assert shown == theirs
            page.locator("#group-by").select_option(label="按区域")
            expect(page.locator(".group-tile")).to_have_count(len(zones))
            page.locator("#window-search").fill("141号")
            expect(page.locator(".win")).to_have_count(1)
            page.locator("#window-search").fill("")
            page.get_by_label("只看有人等候").check()
            waiting = page.locator("#queues tr").count()
            assert 0 < waiting < len(categories)
            d.assert_only_from(hall)
            assert d.errors == []
    finally:
        hall.stop()


# --- the reports page -------------------------------------------------------------------------------

SATISFACTION = [("1 号 社保窗口", 99.0), ("2 号 民政窗口", 97.5), ("3 号 医保窗口", 92.0)]


def _satisfaction_axis(browser: Browser, values: list[tuple[str, float]]) -> Page:
    """The reports page's satisfaction chart (charts.js `hbars` as reports.js calls it) drawn
    in a bare page 600 px wide, with the pages' own font, its screenshot kept to look at."""
    root = Path(__file__).resolve().parent.parent
    files = {"/": ("text/html", b'<!doctype html><meta charset="utf-8"><link rel="stylesheet" '
                   b'href="/common/base.css"><div id="box" style="width:600px"></div>'
                   b'<script src="/manager/charts.js"></script>'),
             "/common/base.css": ("text/css", (WEB / "common" / "base.css").read_bytes()),
             "/manager/charts.js": ("text/javascript",
                                    (WEB / "manager" / "charts.js").read_bytes()),
             "/fonts/NotoSansSC-Regular.otf": (
                 "font/otf", (root / "assets" / "fonts" / "NotoSansSC-Regular.otf").read_bytes())}
    page = browser.new_page(viewport={"width": 640, "height": 170})
    page.route("http://chart.test/**", lambda route: route.fulfill(
        status=200, content_type=files[urlsplit(route.request.url).path][0],
        body=files[urlsplit(route.request.url).path][1]))
    page.goto("http://chart.test/")
    page.evaluate("""rows => HallCharts.hbars(document.getElementById("box"), {
        title: "各窗口满意率（从高到低）", unit: "%", spread: true,
        rows: rows.map(([label, value]) => ({ label, value, note: "" })) })""", values)
    page.evaluate("document.fonts.ready")
    return page


def test_the_satisfaction_axis_shows_the_spread_and_says_where_it_starts(browser):
    """92–99 %: the axis runs from 85 % (5 points under the lowest, down to a multiple of 5)
    to 100 %, so the bars differ; the chart says the axis does not start at 0. Values down to
    under 10 % start it at 0, and then nothing is said."""
    page = _satisfaction_axis(browser, SATISFACTION)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "satisfaction-spread.png"))
    assert page.locator(".tick-label").all_text_contents() == ["85%", "90%", "95%", "100%"]
    expect(page.locator(".axis-note")).to_have_text("⚠ 横轴从 85% 起，不从 0 起")
    expect(page.locator("svg desc")).to_contain_text("横轴从 85% 起，条形长度只表示高出 85% 的部分")
    widths = [float(w) for w in page.eval_on_selector_all(
        "svg rect", "rects => rects.map(r => r.getAttribute('width'))")]
    assert widths[2] / widths[0] == pytest.approx((92 - 85) / (99 - 85), rel=1e-6)
    page.close()

    page = _satisfaction_axis(browser, [("1 号", 80.0), ("2 号", 6.0)])
    assert page.locator(".tick-label").all_text_contents() == [
        "0%", "20%", "40%", "60%", "80%", "100%"]
    assert page.locator(".axis-note").count() == 0
    page.close()


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Iterator[tuple[LiveHall, list[date]]]:
    """The demo town with six working days of simulated history (bench/sim, direct mode), all in
    the month before this one, then a hall server on that database with its own hall file."""
    folder = tmp_path_factory.mktemp("history")
    engine = open_engine(f"sqlite:///{folder / 'hall.db'}")
    town = model.load("demo-town")
    direct.prepare(engine, town, datetime.now(UTC))
    month_end = datetime.now(town.hall.zone).date().replace(day=1) - timedelta(days=1)
    days = model.service_days(town.hall, month_end, 6)
    direct.simulate_days(engine, town.hall.code, days, model.PROFILES["demo-town"], 11, None, False)
    engine.dispose()
    live = LiveHall(folder, hall_text=(HALLS / "demo-town.toml").read_text(encoding="utf-8"))
    today = datetime.now(town.hall.zone).date().isoformat()
    deadline = time.monotonic() + 15
    while live.health()["service_day"] != today:     # the first tick closes the last day
        assert time.monotonic() < deadline, "the hall did not start today's service day"
        time.sleep(0.1)
    yield live, days
    assert live.stop() == 0


def test_the_reports_page_shows_the_servers_figures_charts_and_rankings(history, browser):
    hall, days = history
    first, last = days[0].isoformat(), days[-1].isoformat()
    manager = hall.hello("manager")
    kpis = manager.request("stats", view="kpis", **{"from": first, "to": last}, by="window",
                           period="all")
    ranking = manager.request("stats", view="ranking", month=last[:7])
    assert kpis["ok"] and ranking["ok"]
    with dashboard(browser, hall, path="/manager/reports", log_in=False) as d:
        page = d.page
        expect(page).to_have_url(re.compile(r"/manager#reports$"))
        d.log_in()
        expect(page.locator("#tab-reports")).to_have_attribute("aria-current", "page")
        expect(page.locator("#report-status")).to_contain_text("已更新")
        page.get_by_label("从", exact=True).fill(first.replace("-", "/"))
        page.get_by_label("到", exact=True).fill(last)
        page.locator("#report-period").select_option(label="整个时段合计")
        page.locator("#report-by").select_option(label="窗口")
        page.get_by_role("button", name="查询").click()
        expect(page.locator("#report-status")).to_have_text(f"已更新：{first} 至 {last}")
        expect(page.get_by_label("从", exact=True)).to_have_value(first)

        rows = page.locator("#kpi-table .kpi-table tbody tr")
        expect(rows).to_have_count(len(kpis["rows"]))
        headers = page.locator("#kpi-table .kpi-table thead th").all_inner_texts()
        finished_column = next(i for i, h in enumerate(headers) if h.startswith("办结数"))
        satisfied_column = next(i for i, h in enumerate(headers) if h.startswith("满意率"))
        for i, row in enumerate(kpis["rows"]):
            cells = rows.nth(i).locator("td, th")
            expect(cells.nth(1)).to_have_text(row["name"])
            expect(cells.nth(finished_column)).to_have_text(str(row["finished"]))
            expect(cells.nth(satisfied_column)).to_have_text(f"{row['satisfied_pct']:.1f}%")
        # sorting by a column: the most tickets finished on top
        page.locator("#kpi-table .kpi-table thead button", has_text="办结数").click()
        most = max(kpis["rows"], key=lambda r: r["finished"])
        expect(rows.first.locator("th")).to_have_text(most["name"])

        hourly = page.locator("#chart-hourly svg")
        expect(hourly.locator("title").first).to_have_text("分时段取号与办结（日均人次）")
        assert hourly.locator("rect").count() >= 10
        expect(page.locator("#chart-wait svg circle").first).to_be_attached()
        rated = [r for r in kpis["rows"] if r["satisfied_pct"] is not None]
        expect(page.locator("#chart-satisfaction svg rect")).to_have_count(len(rated))
        best = max(rated, key=lambda r: (r["satisfied_pct"], r["rated"]))
        expect(page.locator("#chart-satisfaction svg desc")).to_contain_text(
            f"{best['name']} {best['satisfied_pct']:g}%")
        start = max(0, math.floor((min(r["satisfied_pct"] for r in rated) - 5) / 5) * 5)
        expect(page.locator("#chart-satisfaction .tick-label").first).to_have_text(f"{start}%")
        expect(page.locator("#chart-satisfaction .tick-label").last).to_have_text("100%")
        page.locator("#chart-satisfaction summary").click()
        expect(page.locator("#chart-satisfaction details tbody tr")).to_have_count(len(rated))

        expect(page.locator("#ranking-formula")).to_have_text(
            f"{ranking['month']} 排名方法：{ranking['formula']}")
        assert ranking["windows"], "six days give every demo window its 20 tickets"
        best = ranking["windows"][0]
        expect(page.locator("#ranking-windows .best")).to_have_text(
            f"★ 本月最佳窗口：{best['name']}（{best['score']:.1f} 分）")
        top = page.locator("#ranking-windows tbody tr").first
        expect(top).to_contain_text("★ 第 1 名")
        expect(top).to_contain_text(ranking["windows"][0]["name"])
        expect(top).to_contain_text(f"{ranking['windows'][0]['score']:.1f}")
        expect(page.locator("#ranking-clerks tbody tr").first).to_contain_text(
            ranking["clerks"][0]["name"])

        page.locator("#chart-satisfaction summary").click()
        d.shot("06-reports-1366", full_page=True)
        page.set_viewport_size(BIG_SCREEN)
        page.wait_for_timeout(400)   # the charts are drawn again at the new width
        d.shot("07-reports-1920", full_page=True)
        page.set_viewport_size(SMALL_SCREEN)
        d.assert_readable()

        # exports: the server's files, through its short-lived links
        with page.expect_download() as wait:
            page.locator(".kpi-panel").get_by_role("button", name="导出 CSV").click()
        csv = Path(wait.value.path()).read_bytes().decode("utf-8-sig")
        assert wait.value.suggested_filename == f"qingshan-town-kpis-{first}-{last}.csv"
        assert all(row["name"] in csv for row in kpis["rows"])
        with page.expect_download() as wait:
            page.locator(".export-grid button").nth(3).click()   # 评价明细 Excel
        assert wait.value.suggested_filename.endswith(".xlsx")
        assert Path(wait.value.path()).read_bytes()[:2] == b"PK"
        expect(page.locator("#export-result")).to_have_text(
            f"评价明细（Excel，{first} 至 {last}）已开始下载")

        # refusals in words: the page's own check, then the server's
        page.get_by_label("从", exact=True).fill("2026-13-01")
        page.get_by_role("button", name="查询").click()
        expect(page.locator("#report-status")).to_have_text("请按“2026-11-01”的格式填写起止日期")
        page.get_by_label("从", exact=True).fill("2001-01-01")
        page.get_by_role("button", name="查询").click()
        said = manager.request("stats", view="kpis", **{"from": "2001-01-01", "to": last})
        assert not said["ok"]
        expect(page.locator("#report-status")).to_have_text(f"查询未完成：{said['error']['message']}")
        expect(page.locator("#kpi-table")).to_have_text(f"无法获取指标：{said['error']['message']}")

        # back to the live tab, same login
        page.get_by_role("link", name="实时监控").click()
        expect(page.locator("#live-screen")).to_be_visible()
        expect(page.locator(".win")).to_have_count(8)
        d.assert_only_from(hall)
        assert d.errors == []


def test_reports_keep_to_the_hall_of_the_day(history, browser):
    """本周/本月 … are the hall's own dates (its service day), not this PC's."""
    hall, _ = history
    today = hall.health()["service_day"]
    with dashboard(browser, hall, path="/manager#reports") as d:
        page = d.page
        page.get_by_role("button", name="本年").click()
        expect(page.get_by_label("从", exact=True)).to_have_value(f"{today[:4]}-01-01")
        expect(page.get_by_label("到", exact=True)).to_have_value(today)
        expect(page.locator("#report-period")).to_have_value("month")
        page.get_by_role("button", name="本周").click()
        monday = date.fromisoformat(today) - timedelta(days=date.fromisoformat(today).weekday())
        expect(page.get_by_label("从", exact=True)).to_have_value(monday.isoformat())
        expect(page.locator("#report-status")).to_contain_text("已更新")
        month = page.locator("#ranking-month option")
        assert month.first.inner_text() == f"{int(today[:4])}年{int(today[5:7])}月"
        assert d.errors == []


def test_bookings_are_marked_on_the_window_cards_and_the_next_chips(tmp_path, browser):
    """A checked-in booking's ticket (A001) and a walk-in's (A002), over the real server on its
    simulated clock: the 下一位 chips mark A001 预约, then window 1's card while it serves
    A001; neither marks A002."""
    from hall.vocabulary import BOOKED_MARK
    from tests.booked_tickets import booked_and_walk_in, booking_hall

    hall = booking_hall(tmp_path)
    try:
        booked_and_walk_in(hall)
        with dashboard(browser, hall) as d:
            chips = d.queue("A").locator(".chip")
            expect(chips).to_have_text([f"A001{BOOKED_MARK}", "A002"])
            expect(chips.locator(".mark")).to_have_count(1)
            d.shot("booked-next-chip")
            zhang = clerk_at(hall, "1001", "1111", 1)
            assert zhang.request("call_next")["ticket"]["number"] == "A001"
            now = d.card(1).locator(".win-now")
            expect(now.locator(".mark")).to_have_text(BOOKED_MARK)
            expect(now).to_contain_text(f"A001{BOOKED_MARK} 已办理")
            expect(chips).to_have_text(["A002"])
            d.assert_readable()
            d.shot("booked-marks")
            assert zhang.request("finish", outcome="done")["ok"]
            assert zhang.request("call_next")["ticket"]["number"] == "A002"
            expect(now.locator(".win-ticket")).to_have_text("A002")
            expect(now.locator(".mark")).to_have_count(0)
            d.page.reload()          # from the snapshot, as after a reconnect
            d.log_in()
            expect(d.card(1).locator(".win-ticket")).to_have_text("A002")
            expect(d.card(1).locator(".mark")).to_have_count(0)
            assert d.errors == []
    finally:
        assert hall.stop() == 0
