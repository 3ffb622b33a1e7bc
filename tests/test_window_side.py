"""The window side end to end, as issue 6 asks: the clerk console in chromium (Playwright, on a
thread of its own) and the real satisfaction pad (kivy, offscreen, on the main thread) at the
same window of a real server, with a display watching the calls.

A signs in and calls while the display observes the call and the pad shows the number; A
finishes, the pad asks, a touch rates, and the rating is stored with A. A signs out, B takes
the window, and the next rating goes to B.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, FLAGS
from tests.conftest import free_port
from tests.kivy_driving import frames, tap, texts, until, widgets
from tests.live_hall import LiveHall, round_the_clock
from tests.test_pad_ui import run_pad, shoot

DEMO_TOWN = Path(__file__).parent.parent / "assets" / "halls" / "demo-town.toml"
ZHANG = ("1001", "4826")          # 张丽华, A岗 of window 1
LIU = ("1002", "73150")           # 刘建军, B岗 of window 1


@pytest.fixture
def hall(tmp_path):
    live = LiveHall(tmp_path, "--take-limit", "0", port=free_port(),
                    hall_text=round_the_clock(DEMO_TOWN.read_text(encoding="utf-8")))
    yield live
    live.stop()


@pytest.fixture(scope="module", autouse=True)
def window():
    from kivy.base import EventLoop

    from hall.look import register_font

    register_font()
    EventLoop.ensure_window()


class BrowserThread:
    """Playwright's sync API kept on one worker thread, so kivy keeps the main one."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(1)

    async def __call__(self, work, *args):
        return await asyncio.get_running_loop().run_in_executor(self.pool, work, *args)

    def start(self) -> None:
        from playwright.sync_api import sync_playwright

        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        self.page = self.browser.new_page(viewport={"width": 1366, "height": 768})

    def stop(self) -> None:
        self.browser.close()
        self.playwright.stop()


def _log_in(page, url: str, badge: str, pin: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    page.get_by_label("工号").fill(badge)
    page.get_by_label("密码").fill(pin)
    page.get_by_role("button", name="登录", exact=True).click()
    page.locator("button.post", has_text="1 号窗口").first.wait_for()
    expect(page.locator("#login-error")).to_be_empty()


def _wrong_pin(page, url: str) -> str:
    page.goto(url)
    page.get_by_label("工号").fill(ZHANG[0])
    page.get_by_label("密码").fill("0000")
    page.get_by_role("button", name="登录", exact=True).click()
    from playwright.sync_api import expect

    error = page.locator("#login-error")
    expect(error).not_to_be_empty()
    return error.inner_text()


def _sign_in(page, post: str) -> None:
    page.locator("button.post", has_text="1 号窗口").filter(has_text=f"{post}岗").click()
    page.locator(".actions button", has_text="呼叫下一位").wait_for()


def _click(page, name: str) -> None:
    page.locator(".actions button", has_text=name).click()


def _finish(page) -> None:
    _click(page, "办结")
    page.locator("#finish-dialog").get_by_role("button", name="确定办结").click()


def _sign_out(page) -> None:
    _click(page, "签退")
    page.locator("#confirm-dialog").get_by_role("button", name="确定签退").click()
    page.get_by_text("已在 1 号窗口签退").wait_for()


def test_console_and_pad_at_one_window(hall):
    from satisfaction_pad.app import LevelButton

    display = hall.hello("display")
    kiosk = hall.hello("kiosk")
    numbers = [kiosk.request("take_ticket", category="A")["ticket"]["number"] for _ in range(2)]
    console = BrowserThread()
    url = f"{hall.http}/clerk"

    async def scenario(shell, app):
        await console(console.start)
        try:
            assert "密码" in await console(_wrong_pin, console.page, url)
            await console(_log_in, console.page, url, *ZHANG)
            await console(_sign_in, console.page, "A")
            await until(lambda: app.model.status == "open")
            assert "张丽华" in texts(app.root)

            await console(_click, console.page, "呼叫下一位")
            called = await asyncio.to_thread(display.wait_event, "ticket_called")
            assert (called["number"], called["window"]) == (numbers[0], 1)
            await until(lambda: numbers[0] in texts(app.root))

            await console(_finish, console.page)
            await until(lambda: app.model.screen == "prompt")
            await frames(3)
            assert "请您对本次服务进行评价" in texts(app.root) and "张丽华" in texts(app.root)
            await tap(widgets(app.root, LevelButton, "满意")[1])          # 满意, not 非常满意
            await until(lambda: len(hall.ratings()) == 1)

            # A signs out; B takes the window; the next rating is B's.
            await console(_sign_out, console.page)
            await until(lambda: app.model.status == "closed")
            await console(_log_in, console.page, url, *LIU)
            await console(_sign_in, console.page, "B")
            await until(lambda: "刘建军" in texts(app.root))
            await console(_click, console.page, "呼叫下一位")
            assert (await asyncio.to_thread(display.wait_event, "ticket_called"))["number"] == numbers[1]
            await console(_finish, console.page)
            await until(lambda: app.model.screen == "prompt")
            await frames(3)
            assert "刘建军" in texts(app.root)
            await shoot(app, "window-side-prompt-b-post")
            await tap(widgets(app.root, LevelButton, "非常满意")[0])
            await until(lambda: len(hall.ratings()) == 2)
        finally:
            await console(console.stop)

    run_pad(hall, "landscape", scenario)
    assert [(r.ticket, r.score, r.clerk, r.post, r.window, r.department) for r in hall.ratings()] == [
        (numbers[0], 4, "1001", "A", 1, "sb"), (numbers[1], 5, "1002", "B", 1, "sb")]
