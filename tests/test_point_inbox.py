"""The clerk console's 代办件 (docs/clerk-console.md) in chromium at a window PC's 1366×768,
against a real `queue-server serve` on 127.0.0.1 with a real SQLite file; a village point's cases
brought there by the real sync (tests/point_link.py). Window 1 serves category A: it lists the
cases of A's item, not those of B's; every answer by clicks (接收材料, 要求补正, 确认受理, 确认办结),
each written in the town's log; a case the point withdrew meanwhile refused in the server's words;
a new case that syncs in shows without a reload. The manager's dashboard has a line per point:
its last contact, what the town holds, what waits to go down, a clock that is off. Screenshots
in tests/artifacts/clerk/ and tests/artifacts/manager/."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from queue_server.points import ledger as L
from queue_server.store import point_logs
from tests.browser import chromium
from tests.live_hall import ROUND_THE_CLOCK, LiveHall
from tests.point_link import POINT, Point, Town, enrol, in_sync, running, until
from tests.test_clerk_console import console_page
from tests.test_manager_pages import dashboard

ZONE = ZoneInfo("Asia/Shanghai")
MZ_ITEM = """
[[items]]
code = "T-MZ-001"
name = "最低生活保障申请"
department = "mz"
category = "B"
handling = "direct"
type = "promised"
legal_basis = ["《社会救助暂行办法》第十一条"]
conditions = ["共同生活的家庭成员人均收入低于当地最低生活保障标准"]
steps = ["窗口提交材料", "审核"]
statutory_days = 30
promised_days = 20
fee = "不收费"

[[items.materials]]
name = "户口簿"
form = "original"
"""


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def town(tmp_path):
    live = LiveHall(tmp_path, "--simulate-from", "2026-12-07T09:00",
                    hall_text=ROUND_THE_CLOCK + MZ_ITEM)
    yield live
    assert live.stop() == 0


def _record(point: Point, day: int, name: str, phone: str, item: str, item_name: str,
            materials: tuple[str, ...]) -> str:
    """A case recorded at the point on `day` of December 2026, 10:00: due 3 working days after
    (Monday to Friday; the town's day is Monday the 7th)."""
    point.now = datetime(2026, 12, day, 10, 0, tzinfo=ZONE)
    taken = point.fold()
    case = L.case_number(POINT, point.clock().date(), taken)
    point.write(L.CaseRecorded(case, name, phone, item, item_name, materials, "王芳"))
    return case


def _sync(point: Point, town_db: Town) -> None:
    """One sync session until the town holds the point's log (in a thread of its own: the
    browser's driver holds this one's event loop)."""
    async def synced() -> None:
        point.hub.wake = asyncio.Event()   # of this session's loop
        async with running(point.link()):
            await until(lambda: in_sync(point, town_db), "the point's log at the town")
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, synced()).result()


def test_window_1s_inbox_lists_its_items_cases_and_answers_them_by_clicks(town, browser,
                                                                          tmp_path) -> None:
    point, town_db = Point(tmp_path, enrol(town)), Town(town)
    pension = _record(point, 3, "张三", "13800001111", "T-SB-001", "城乡居民基本养老保险参保登记",
                      ("居民身份证",))
    _record(point, 4, "李四", "13900002222", "T-MZ-001", "最低生活保障申请", ("户口簿",))
    withdrawn = _record(point, 1, "王五", "13700003333", "T-SB-001",
                        "城乡居民基本养老保险参保登记", ())
    _sync(point, town_db)

    with console_page(browser, town) as console:
        page = console.page
        console.log_in("1001", "1111")
        console.choose(1, "A")
        toggle = page.locator("#inbox-toggle")
        expect(toggle).to_have_text("代办件 2")   # 李四's item is category B: not window 1's
        toggle.click()
        cases = page.locator("#pcases li.pcase")
        expect(cases).to_have_count(2)
        first = page.locator(f"li.pcase[data-case='{pension}']")
        for words in ("李庄村便民服务站", "已受理", "群众：张三　13800001111",
                      "事项：城乡居民基本养老保险参保登记", "代办员：王芳", "收到材料：居民身份证"):
            expect(first).to_contain_text(words)
        expect(first.locator(".pcase-stage")).to_have_text("代办点已受理（材料未送达）")
        expect(first.locator(".pcase-due")).to_have_text("！ 临近送达期限（应于12月8日前送达）")
        expect(page.locator(f"li.pcase[data-case='{withdrawn}'] .pcase-due")).to_have_text(
            "⚠ 已超送达期限（应于12月4日前送达）")
        expect(first.locator(".pcase-acts button")).to_have_text(["接收材料"])
        expect(page.locator("#pcases")).not_to_contain_text("李四")
        console.assert_readable()
        console.shot("inbox-1-listed")

        # the point withdraws 王五's case; its entry reaches the town by another process, so
        # the console still offers 接收材料: the server refuses by the written rule
        point.write(L.CaseWithdrawn(withdrawn, "群众不办了"))
        with town_db.engine.begin() as conn:
            point_logs.store_up(conn, town_db.hall_id, POINT, point.store.up(),
                                point.clock(), 0)
        page.locator(f"li.pcase[data-case='{withdrawn}'] button", has_text="接收材料").click()
        expect(page.locator("#message")).to_have_text(
            f"件 {withdrawn}：操作未生效：该件已办结或已撤回")
        gone = page.locator(f"li.pcase[data-case='{withdrawn}']")
        expect(gone.locator(".pcase-stage")).to_have_text("已撤回")   # listed anew
        expect(gone.locator("button")).to_have_count(0)
        expect(toggle).to_have_text("代办件 1")
        console.shot("inbox-2-refused")

        first.get_by_role("button", name="接收材料").click()
        expect(first).to_contain_text("已送达乡镇")
        expect(first.locator(".pcase-acts button")).to_have_text(["确认受理", "要求补正", "确认办结"])
        first.get_by_role("button", name="要求补正").click()
        dialog = page.locator("#point-dialog")
        expect(dialog).to_be_visible()
        dialog.get_by_role("button", name="确定要求补正").click()
        expect(dialog.locator(".form-error")).to_have_text("请填写需要补交的材料")
        page.locator("#point-what").fill("缺户口簿复印件（户主页和本人页）")
        dialog.get_by_role("button", name="确定要求补正").click()
        expect(dialog).to_be_hidden()
        expect(first.locator(".pcase-ask")).to_contain_text("补正中")
        expect(first.locator(".pcase-ask")).to_contain_text("缺户口簿复印件（户主页和本人页）")
        first.get_by_role("button", name="确认受理").click()
        expect(first.locator(".pcase-stage")).to_have_text("办理中")
        console.shot("inbox-3-asked")

        # a new case syncs in while the console is open: it shows without a reload
        new = _record(point, 7, "赵六", "13600004444", "T-SB-001", "城乡居民基本养老保险参保登记",
                      ("居民身份证",))
        _sync(point, town_db)
        fresh = page.locator(f"li.pcase[data-case='{new}']")
        expect(fresh).to_contain_text("群众：赵六")
        expect(fresh.locator(".pcase-due")).to_have_text("应于12月10日前送达")
        expect(toggle).to_have_text("代办件 2")

        first.get_by_role("button", name="确认办结").click()
        dialog.get_by_role("button", name="确定办结").click()
        expect(dialog.locator(".form-error")).to_have_text("请选择办理结果")
        dialog.get_by_text("准予办理").click()
        page.locator("#point-note").fill("已参保，下月起缴费")
        dialog.get_by_role("button", name="确定办结").click()
        expect(dialog).to_be_hidden()
        expect(first.locator(".pcase-stage")).to_have_text("已办结：准予办理")
        expect(first.locator(".pcase-acts")).to_have_count(0)
        expect(page.locator("#pcases li.pcase").first).to_have_attribute("data-case", new)
        console.assert_readable()
        console.shot("inbox-4-finished")
        page.get_by_role("button", name="返回叫号").click()
        expect(page.locator("#ticket-card")).to_be_visible()
        expect(toggle).to_have_text("代办件 1")
        assert console.errors == []

    held = town_db.fold()[pension]
    assert held.stage == "finished" and held.window == 1 and held.result == "done"
    assert held.result_note == "已参保，下月起缴费" and held.clerk == "张敏（1001）"
    assert held.asks[0].what == "缺户口簿复印件（户主页和本人页）"
    assert town_db.fold()[withdrawn].stage == "withdrawn"


def test_the_dashboard_shows_each_points_sync(town, browser, tmp_path) -> None:
    # the point's clock 10 minutes fast against the town's (simulated from 09:00 today)
    point, town_db = Point(tmp_path, enrol(town)), Town(town)
    enrol(town, "P08")   # enrolled, never installed
    case = _record(point, 7, "张三", "13800001111", "T-SB-001", "城乡居民基本养老保险参保登记",
                   ("居民身份证",))
    point.now = datetime(2026, 12, 7, 9, 10, tzinfo=ZONE)
    _sync(point, town_db)
    with dashboard(browser, town) as d:
        page = d.page
        line = page.locator("#points li[data-point='P07']")
        expect(line).to_contain_text("李庄村便民服务站（P07）")
        expect(line).to_contain_text("最近联系 12月7日 09:0")
        expect(line).to_contain_text("已收 1 条")
        expect(line).to_contain_text("待下发 0 条")
        expect(line).to_contain_text("⚠ 代办点电脑时钟与乡镇相差 10 分钟")
        expect(page.locator("#points li[data-point='P08']")).to_contain_text("尚未安装")
        # a clerk answers while the point is away: the line says it waits to go down, live
        clerk = town.hello("clerk", badge="1001", pin="1111")
        assert clerk.request("point_answer", point=POINT, case=case, kind="town_received",
                             window=1)["ok"]
        expect(line.locator(".point-pending")).to_have_text("待下发 1 条")
        expect(page.locator("#points-summary")).to_have_text("2 个，待下发 1 条")
        d.assert_fits()
        d.assert_readable()
        d.shot("points-panel-1366")
        assert d.errors == []
