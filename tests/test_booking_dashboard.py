"""The dashboard's 今日预约 (issue 17): today's bookings per category and slot, live, in Debian's
chromium at 1366×768 and 1920×1080, against a real hall server on a simulated clock: bookings
made on the protocol, checked in at a kiosk connection, cancelled, released as no-shows by the
server's own tick, and a phone blocked for them. Screenshots go to tests/artifacts/manager/."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from bench.booking_race import BOOKING_HALL, START
from tests.live_hall import LiveHall
from tests.test_manager_pages import BIG_SCREEN, SMALL_SCREEN, browser, dashboard  # noqa: F401

TWO_CATEGORIES = BOOKING_HALL.replace('department = "mz"\n', '''department = "mz"

[categories.booking]
sessions = [["09:00", "11:00"]]
slot_minutes = 60
capacity = 2
share = 100
''', 1)
"""Categories A (30-minute slots from 08:00, 10 places) and B (hours from 09:00) take bookings."""


def book(page, category: str, slot: str, phone: str) -> str:
    reply = page.request("book", category=category, day="2026-11-23", slot=slot, phone=phone,
                         id_digits="1234")
    assert reply["ok"], reply
    return reply["booking"]["booking"]


def counts(d, category: str, slot: str):
    """The slot's counts, after its category and check-in window (`cells`)."""
    return cells(d, category, slot).and_(d.page.locator("td.num"))


def cells(d, category: str, slot: str):
    return d.page.locator(f'#bookings tr[data-category="{category}"][data-slot="{slot}"] td')


def test_todays_bookings_per_slot_follow_bookings_check_ins_and_cancellations_live(tmp_path, browser):  # noqa: F811
    hall = LiveHall(tmp_path, "--simulate-from", START, "--book-limit", "0",
                    hall_text=TWO_CATEGORIES)
    try:
        page = hall.hello("booking")
        early = book(page, "A", "08:30", "13900000001")
        book(page, "A", "08:30", "13900000002")
        gone = book(page, "A", "10:00", "13900000003")
        book(page, "B", "09:00", "13900000004")
        tomorrow = page.request("book", category="A", day="2026-11-24", slot="08:30",
                                phone="13900000005", id_digits="1234")
        assert tomorrow["ok"]
        with dashboard(browser, hall) as d:
            p = d.page
            expect(p.locator("#bookings-title")).to_have_text("今日预约 4")
            expect(p.locator("#bookings-pane")).to_be_hidden()
            p.get_by_role("tab", name=re.compile("今日预约")).click()
            expect(p.locator("#cases-pane")).to_be_hidden()
            heads = p.locator("#bookings-head th")
            expect(heads).to_have_text(
                ["类别", "时段", "可签到", "预约", "按时", "迟到", "爽约", "取消", "待签"])
            for head, name in zip(heads.all()[3:], ["预约数", "按时签到", "迟到", "爽约", "取消",
                                                   "待签到"], strict=True):
                expect(head).to_have_accessible_name(name)
                expect(head).to_have_attribute("title", name)
            expect(p.locator("#bookings-summary")).to_have_text(
                "预约数 4 · 按时签到 0 · 迟到 0 · 爽约 0 · 取消 0 · 待签到 4")
            expect(p.locator("#bookings tr th")).to_have_text(["08:30", "10:00", "09:00"])
            expect(cells(d, "A", "08:30")).to_have_text(
                ["A", "08:00–08:45", "2", "0", "0", "0", "0", "2"])
            expect(cells(d, "B", "09:00")).to_have_text(
                ["B", "08:30–09:15", "1", "0", "0", "0", "0", "1"])
            expect(p.locator('#bookings tr[data-slot="09:00"] th')).to_have_attribute(
                "title", "09:00–10:00")

            kiosk = hall.hello("kiosk")
            assert kiosk.request("check_in", code=early)["outcome"] == "on_time"
            expect(counts(d, "A", "08:30")).to_have_text(["2", "1", "0", "0", "0", "1"])
            assert page.request("cancel_booking", code=gone, phone="13900000003")["ok"]
            expect(counts(d, "A", "10:00")).to_have_text(["1", "0", "0", "0", "1", "0"])
            book(page, "B", "10:00", "13900000006")
            expect(counts(d, "B", "10:00")).to_have_text(["1", "0", "0", "0", "0", "1"])
            expect(p.locator("#bookings-summary")).to_have_text(
                "预约数 5 · 按时签到 1 · 迟到 0 · 爽约 0 · 取消 1 · 待签到 3")
            expect(p.locator("#bookings-title")).to_have_text("今日预约 5")
            d.assert_fits()
            d.assert_readable()
            d.shot("bookings-1366")
            p.set_viewport_size(BIG_SCREEN)
            d.assert_fits()
            d.shot("bookings-1920")
            p.set_viewport_size(SMALL_SCREEN)
            p.get_by_role("tab", name="差评工单").click()
            expect(p.locator("#cases .empty")).to_have_text("没有待办的差评工单")

            # the reports tab's 预约指标: the hall's by default (by window: not a booking's
            # dimension), then by category and day, and its CSV
            p.locator("#tab-reports").click()
            expect(p.locator("#report-status")).to_contain_text("已更新")
            table = p.locator("#booking-kpi-table table")
            expect(table.locator("thead th")).to_have_text([
                "周期", "名称", "预约数个", "按时签到个", "迟到个", "爽约个", "取消个", "大厅撤销个",
                "待签到个",
                "爽约率%", "预约等候（自时段开始）分钟", "预约等候（自签到）分钟", "现场取号等候分钟"])
            expect(table.locator("tbody tr")).to_have_count(1)
            expect(table.locator("tbody tr").first.locator("td, th")).to_have_text([
                "合计", "测试镇便民服务中心", "5", "1", "0", "0", "1", "0", "3", "0.0%", "—", "—",
                "—"])
            p.locator("#report-by").select_option(label="业务类别")
            p.locator("#report-period").select_option(label="按日")
            p.get_by_role("button", name="查询").click()
            expect(p.locator("#booking-kpi-summary")).to_have_text("按业务类别 · 按日 · 2 行")
            expect(table.locator("tbody tr th")).to_have_text(["A 社保业务", "B 民政业务"])
            with p.expect_download() as wait:
                p.locator(".booking-kpi-panel").get_by_role("button", name="导出 CSV").click()
            rows = Path(wait.value.path()).read_bytes().decode("utf-8-sig").splitlines()
            assert rows[0].startswith("周期,业务类别,预约数（个）,按时签到（个）,迟到（个）,爽约（个）")
            assert rows[1:] == ["2026-11-23,A 社保业务,3,1,0,0,1,0,1,0.0,,,",
                                "2026-11-23,B 民政业务,2,0,0,0,0,0,2,,,,"]
            d.shot("reports-bookings-1366", full_page=True)
            assert d.errors == []
    finally:
        hall.stop()


def test_a_no_show_and_the_phone_blocked_for_it_reach_the_dashboard(tmp_path, browser):  # noqa: F811
    """10 simulated minutes a second, one no-show blocks a phone: the 08:30 booking is released
    at 08:45 by the server's tick; the dashboard counts it and says a phone was blocked, without
    the number; the citizen who comes later is counted late instead."""
    strict = TWO_CATEGORIES.replace("[hall]\n", "[hall]\nbooking_no_show_limit = 1\n", 1)
    hall = LiveHall(tmp_path, "--simulate-from", START, "--speed", "600", hall_text=strict)
    try:
        with dashboard(browser, hall) as d:
            p = d.page
            p.get_by_role("tab", name=re.compile("今日预约")).click()
            expect(p.locator("#bookings .empty")).to_have_text("今天没有预约")
            code = book(hall.hello("booking"), "A", "08:30", "13912345678")
            expect(counts(d, "A", "08:30")).to_have_text(["1", "0", "0", "0", "0", "1"])
            expect(counts(d, "A", "08:30")).to_have_text(["1", "0", "0", "1", "0", "0"],
                                                         timeout=30_000)
            notice = p.locator("#booking-notices li")
            expect(notice).to_have_text(re.compile(
                r"^⚠ 08:\d\d 一个手机号爽约达 1 次，暂停预约至12月23日$"))
            expect(p.locator("#bookings-title")).to_have_text("今日预约 1 ⚠")
            assert "5678" not in p.locator("#live-screen").inner_text()
            assert hall.hello("kiosk").request("check_in", code=code)["outcome"] == "late"
            expect(counts(d, "A", "08:30")).to_have_text(["1", "0", "1", "0", "0", "0"])
            d.assert_fits()
            d.shot("bookings-no-show-1366")
            assert d.errors == []
    finally:
        hall.stop()


# Of each list in the side column at 1366×768: how many of its rows are wholly inside its
# scroll box (under the sticky head), whether one is cut by the box's bottom edge, and the box's
# `data-more` (the fade that says rows lie below). Each column head: its lines; whether a table
# is wider than its box.
SIDE_LISTS = """() => {
    const list = (box, rows) => {
        const edge = box.getBoundingClientRect();
        const head = box.querySelector("thead");
        const top = head ? head.getBoundingClientRect().bottom : edge.top;
        const seen = [...box.querySelectorAll(rows)].map((r) => r.getBoundingClientRect());
        return {
            whole: seen.filter((r) => r.top >= top - 0.5 && r.bottom <= edge.bottom + 0.5).length,
            cut: seen.some((r) => r.top < edge.bottom - 0.5 && r.bottom > edge.bottom + 0.5),
            more: box.dataset.more,
        };
    };
    const lines = (th) => {
        const range = document.createRange();
        range.selectNodeContents(th);
        return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
    };
    return {
        bookings: list(document.querySelector("#bookings-pane .table-scroll"), "#bookings tr"),
        devices: list(document.querySelector(".devices-panel .table-scroll"), "#devices tr"),
        heads: [...document.querySelectorAll("#bookings-head th")].map(lines),
        warnings: document.querySelector(".warnings-panel").getBoundingClientRect().height,
        wide: [...document.querySelectorAll(".live-side .table-scroll")]
            .some((box) => box.scrollWidth > box.clientWidth),
    };
}"""


def test_the_side_column_gives_the_bookings_the_height_an_empty_warning_list_does_not_need(
        tmp_path, browser):  # noqa: F811
    """At 1366×768, with bookings in 6 slots (2 withdrawn: all ten columns) and 9 devices: the
    empty 今日预警 is one line high, at least 4 slots of 今日预约 show whole under column heads
    of one line each, no table is wider than the column, 设备 shows at least 3 whole rows, and a
    list cut at its pane's bottom edge fades there (`data-more`). At 1920×1080 all 6 slots and
    all 9 devices show."""
    hall = LiveHall(tmp_path, "--simulate-from", START, "--book-limit", "0",
                    hall_text=TWO_CATEGORIES)
    try:
        for n in range(2, 5):
            hall.cli("device", "add", "--role", "kiosk", "--name", f"kiosk-{n}")
            hall.cli("device", "add", "--role", "display", "--name", f"board-{n}")
        page = hall.hello("booking")
        slots = [("A", "08:30"), ("A", "09:00"), ("A", "09:30"), ("A", "10:00"), ("B", "09:00"),
                 ("B", "10:00")]
        for n, (category, slot) in enumerate(slots):
            book(page, category, slot, f"139000000{n:02d}")
        # B stops taking bookings: its two are withdrawn (大厅撤销), a tenth column
        hall.stop()
        only_a = tmp_path / "only-a.toml"
        only_a.write_text(BOOKING_HALL, encoding="utf-8")
        assert "撤销 2 个尚未签到的预约" in hall.cli("import-hall", str(only_a))
        hall.start()
        with dashboard(browser, hall) as d:
            p = d.page
            p.get_by_role("tab", name=re.compile("今日预约")).click()
            expect(p.locator("#bookings tr")).to_have_count(6)
            expect(p.locator("#bookings-summary")).to_contain_text("大厅撤销 2")
            expect(p.locator("#devices tr")).to_have_count(9)
            expect(p.locator("#warnings .empty")).to_have_text("今天还没有预警")
            side = p.evaluate(SIDE_LISTS)
            assert side["warnings"] <= 80, side
            assert side["heads"] == [1] * 10 and side["wide"] is False, side
            assert side["bookings"]["whole"] >= 4, side
            assert side["devices"]["whole"] >= 3, side
            for name in ("bookings", "devices"):
                if side[name]["cut"]:
                    assert side[name]["more"] == "yes", side
            assert side["devices"]["more"] == "yes", side   # 9 devices do not fit at 1366×768
            d.assert_fits()
            d.assert_readable()
            d.shot("side-column-1366")
            p.set_viewport_size(BIG_SCREEN)
            expect(p.locator("#devices tr").last).to_be_visible()
            side = p.evaluate(SIDE_LISTS)
            assert side["bookings"]["whole"] == 6, side
            assert side["heads"] == [1] * 10 and side["wide"] is False, side
            assert side["devices"]["whole"] == 9, side
            d.assert_fits()
            d.shot("side-column-1920")
            assert d.errors == []
    finally:
        hall.stop()
