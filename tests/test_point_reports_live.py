"""The 代办月报表 through a real town server (docs/kpis.md 代办月报表): two village points' cases
put at the town by the real sync (each point's clock simulated), the town's answers written in its
database; the manager's `stats` gives the table, the reports tab shows it (a screenshot at
1366×768 in tests/artifacts/manager/), and `queue-server report --table errands` writes the very
XLSX the tab's 导出 Excel gives."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import urllib.request
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from queue_server.points import ledger as L
from queue_server.points.enrolment import decode
from queue_server.store import point_logs
from tests.browser import chromium
from tests.conftest import ARTIFACTS
from tests.live_hall import SMALL, LiveHall
from tests.point_link import HALL, Point, Town, enrol, in_sync, running, until
from tests.test_manager_pages import dashboard

ZONE = ZoneInfo("Asia/Shanghai")
ITEMS = {"T-SB-001": "城乡居民基本养老保险参保登记", "T-MZ-009": "最低生活保障申请"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def record(point: Point, when: str, agent: str, item: str) -> str:
    """A case taken at the point at `when` (its clock)."""
    point.now = at(when)
    case = L.case_number(point.code, point.now.date(), point.fold())
    point.write(L.CaseRecorded(case, "张三", "13800001111", item, ITEMS[item], ("身份证",), agent))
    return case


def write_up(point: Point, when: str, record_: L.Record) -> None:
    point.now = at(when)
    point.write(record_)


async def synced(point: Point, town: Town) -> None:
    async with running(point.link()):
        await until(lambda: in_sync(point, town), f"{point.code} in sync with the town")


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    """November 2026 at 测试镇 (the small hall's calendar: Saturday 11-28 a 调休 working day),
    hand-over within 3 working days:

    李庄村 P01: (1) 李四, 养老, Fri 11-20, due Wed 11-25 (the weekend skipped), received 11-25:
    on time; 准予办理, fed back, archived, called back 满意. (2) 李四, 低保, Thu 11-26, due Mon 11-30
    (Fri 27, Sat 28 worked, Mon 30), received Tue 12-01: late. (3) 赵六, 养老, Mon 11-30, due Thu
    12-03, never received: overdue today.
    王庄村 P02: (4) 钱七, 低保, Tue 11-24, received 11-25: on time; 不予办理, fed back, archived,
    called back 不满意. (5) 钱七, 养老, Tue 11-24, withdrawn. (6) 钱七, 养老, Tue 12-01: December's.
    """
    folder = tmp_path_factory.mktemp("errands")
    live = LiveHall(folder, hall_text=SMALL)
    town_db = Town(live)
    p01 = Point(folder, enrol(live, "P01"), name="p01")
    p02 = Point(folder, decode(live.cli("point", "enrol", "--point", "P02", "--name", "王庄村便民服务站",
                                       "--public-url", f"{live.http}/h/{HALL}")), name="p02")
    c1 = record(p01, "2026-11-20T10:00", "李四", "T-SB-001")
    c2 = record(p01, "2026-11-26T10:00", "李四", "T-MZ-009")
    record(p01, "2026-11-30T10:00", "赵六", "T-SB-001")
    c4 = record(p02, "2026-11-24T09:00", "钱七", "T-MZ-009")
    c5 = record(p02, "2026-11-24T10:00", "钱七", "T-SB-001")
    write_up(p02, "2026-11-24T11:00", L.CaseWithdrawn(c5, "群众不办了"))
    record(p02, "2026-12-01T09:00", "钱七", "T-SB-001")

    def answer(point: str, case: str, when: str, result: str | None = None) -> None:
        for entry in (L.TownReceived(case, 1, "1001"), L.TownAccepted(case, "1001")):
            point_logs.write_town_entry(town_db.engine, HALL, point, entry, at(when))
        if result is not None:
            point_logs.write_town_entry(town_db.engine, HALL, point,
                                        L.TownFinished(case, result, "", "1001"),
                                        at("2026-11-27T10:00"))

    async def sync_all() -> None:
        for point in (p01, p02):
            await synced(point, town_db)

    async def month() -> None:   # one event loop: each point's hub belongs to it
        await sync_all()                            # the cases up
        answer("P01", c1, "2026-11-25T09:00", "done")
        answer("P01", c2, "2026-12-01T09:00")
        answer("P02", c4, "2026-11-25T15:00", "refused")
        await sync_all()                            # the answers down
        for point, case, result in ((p01, c1, "satisfied"), (p02, c4, "dissatisfied")):
            for record_ in (L.CaseFedBack(case), L.CaseArchived(case),
                            L.CaseVisited(case, result)):
                write_up(point, "2026-11-30T16:00", record_)
        await sync_all()                            # the call-backs up

    asyncio.run(month())
    yield live
    town_db.engine.dispose()
    assert live.stop() == 0


HEADERS = ["代办点", "编号", "受理数（件）", "送达乡镇（件）", "按期送达（件）", "按期送达率（%）",
           "超期未送达（件）", "办结数（件）", "准予办理（件）", "不予办理（件）", "已反馈（件）",
           "已归档（件）", "回访数（件）", "回访满意率（%）", "撤回数（件）"]
BY_POINT = [["李庄村便民服务站", "P01", 3, 2, 1, 50.0, 1, 1, 1, 0, 1, 1, 1, 100.0, 0],
            ["王庄村便民服务站", "P02", 2, 1, 1, 100.0, 0, 1, 0, 1, 1, 1, 1, 0.0, 1],
            ["合计", "", 5, 3, 2, 66.7, 1, 2, 1, 1, 2, 2, 2, 50.0, 1]]


def test_stats_gives_the_months_errands_by_point_and_agent(town) -> None:
    manager = town.hello("manager")
    reply = manager.request("stats", view="errands", month="2026-11", by="point")
    assert reply["ok"], reply
    assert reply["headers"] == HEADERS and reply["cells"] == BY_POINT
    agents = manager.request("stats", view="errands", month="2026-11", by="agent")["cells"]
    assert [row[:7] for row in agents] == [
        ["李庄村便民服务站 李四", "P01/李四", 2, 2, 1, 50.0, 0],
        ["李庄村便民服务站 赵六", "P01/赵六", 1, 0, 0, None, 1],
        ["王庄村便民服务站 钱七", "P02/钱七", 2, 1, 1, 100.0, 0],
        ["合计", "", 5, 3, 2, 66.7, 1]]
    refused = manager.request("export", what="errands", format="xlsx", by="window",
                              **{"from": "2026-11-01", "to": "2026-11-30"})
    assert "代办月报表可按代办点、代办员、事项统计" in refused["error"]["message"]


def _cells(book) -> dict[str, list[tuple]]:
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}


def test_the_cli_writes_the_errands_table_the_reports_tab_exports(town, tmp_path) -> None:
    for by in ("point", "item"):
        reply = town.hello("manager").request("export", what="errands", format="xlsx", by=by,
                                              **{"from": "2026-11-01", "to": "2026-11-30"})
        assert reply["ok"], reply
        with urllib.request.urlopen(f"{town.http}{reply['url']}", timeout=10) as got:
            exported = _cells(load_workbook(io.BytesIO(got.read())))
        written = tmp_path / f"errands-{by}.xlsx"
        town.cli("report", "--table", "errands", "--month", "2026-11", "--by", by,
                 "--format", "xlsx", "-o", str(written))
        assert _cells(load_workbook(written)) == exported
    for wrong, said in ((["--table", "errands", "--by", "window"], "代办月报表可按 point / agent / item"),
                        (["--table", "kpis", "--by", "point"], "只用于代办月报表"),
                        (["--table", "errands", "--table", "kpis"], "代办月报表须单独导出")):
        done = subprocess.run([sys.executable, "-m", "queue_server.cli", "report", "--month",
                               "2026-11", *wrong], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "QUEUE_DB": f"sqlite:///{town.db}"})
        assert done.returncode != 0 and said in done.stderr, done.stderr
    assert exported["代办月报表"][0][0] == "事项"
    assert [row[:4] for row in exported["代办月报表"][1:]] == [
        ("最低生活保障申请", "T-MZ-009", 2, 2), ("城乡居民基本养老保险参保登记", "T-SB-001", 3, 1),
        ("合计", None, 5, 3)]


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def test_the_reports_tab_shows_the_errands_table_and_prints_it(town, browser) -> None:
    with dashboard(browser, town, path="/manager#reports") as d:
        page = d.page
        panel = page.locator(".errand-panel")
        expect(panel.locator("h2")).to_have_text("代办月报表")
        page.locator("#errand-month").select_option("2026-11")
        table = panel.locator("table")
        expect(table.locator("tbody tr")).to_have_count(3)
        assert table.locator("thead th").evaluate_all("ths => ths.map((th) => th.title)") == HEADERS
        assert table.locator("tbody tr").first.locator("td").all_inner_texts() == [
            "李庄村便民服务站", "P01", "3", "2", "1", "50.0", "1", "1", "1", "0", "1", "1", "1",
            "100.0", "0"]
        page.locator("#errand-by").select_option(label="代办员")
        expect(table.locator("tbody tr")).to_have_count(4)
        expect(table.locator("tbody tr").nth(1).locator("td").nth(5)).to_have_text("—")
        panel.scroll_into_view_if_needed()
        d.shot("reports-errands")
        with page.expect_popup() as opened:
            panel.get_by_role("button", name="打印（A4）").click()
        printed = opened.value
        printed.wait_for_load_state()
        expect(printed.locator("h1")).to_have_text("测试镇便民服务中心 代办月报表")
        expect(printed.locator("tbody tr")).to_have_count(4)
        printed.set_viewport_size({"width": 1062, "height": 718})   # A4 landscape, less margins
        printed.emulate_media(media="print")
        printed.screenshot(path=ARTIFACTS / "manager" / "errands-print.png", full_page=True)
        printed.close()
