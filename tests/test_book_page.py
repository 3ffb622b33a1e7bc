"""The booking page (`/book`, 网上预约) on a phone-sized chromium, live against a real server on a
real SQLite file with a simulated clock (a Monday, 08:00): a slot booked, its code and QR (read
back from the screenshot with zbar) checked in at a kiosk; another booked and cancelled, its
slot free again; a full slot, a closed day, bad input, a blocked phone, the per-address limit
and a server gone for a while."""

from __future__ import annotations

import io
import sqlite3
from datetime import date, datetime

import pytest
from PIL import Image
from pyzbar.pyzbar import decode as zbar_decode

from bench.booking_race import BOOKING_HALL, PLACES, START
from queue_server import bookings
from queue_server import events as ev
from queue_server.store import booking_salts
from queue_server.store.database import open_engine
from tests.browser import PHONE, chromium
from tests.conftest import ARTIFACTS, free_port
from tests.live_hall import LiveHall

SHOTS = ARTIFACTS / "book"
DAY = "2026-11-23"   # START's day, a Monday
SMALL_PHONE = {**PHONE, "viewport": {"width": 360, "height": 640}}


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def _phone(browser, size=PHONE, asked: list[str] | None = None):
    """A phone-sized page whose confirmations (the cancel's) are answered yes, unless the last
    item of `asked` is "no"; each question is added to `asked`."""
    context = browser.new_context(**size)
    page = context.new_page()

    def answer(dialog) -> None:
        no = bool(asked) and asked[-1] == "no"
        if asked is not None:
            asked.append(dialog.message)
        dialog.dismiss() if no else dialog.accept()

    page.on("dialog", answer)
    return context, page


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def _free(hall: LiveHall, slot: str) -> int:
    page = hall.hello("booking")
    slots = page.request("booking_slots", category="A", day=DAY)["slots"]
    return {s["slot"]: s["free"] for s in slots}[slot]


def _open_day(page, hall: LiveHall) -> None:
    page.goto(f"{hall.http}/book")
    page.get_by_text("已连接").wait_for()
    page.locator("section.category[data-prefix=A] button").first.click()
    page.locator(f"button.day[data-day='{DAY}']").click()
    page.locator("button.slot[data-slot='09:00']").wait_for()


def _fill(page, phone: str, digits: str) -> None:
    page.locator("#phone").fill(phone)
    page.locator("#id-digits").fill(digits)
    page.get_by_role("button", name="确认预约").click()


def test_a_slot_booked_on_the_phone_is_checked_in_at_the_kiosk_and_another_cancelled(
        tmp_path, browser):
    hall = LiveHall(tmp_path, "--simulate-from", START, "--book-limit", "0",
                    hall_text=BOOKING_HALL)
    asked: list[str] = []
    context, page = _phone(browser, asked=asked)
    try:
        booker = hall.hello("booking")   # 10:00 is taken by others, to the last place
        for n in range(PLACES):
            assert booker.request("book", category="A", day=DAY, slot="10:00",
                                  phone=f"1370000{n:04d}", id_digits="0000")["ok"]

        page.goto(f"{hall.http}/book")
        page.get_by_text("已连接").wait_for()
        assert page.locator("#hall").inner_text() == "测试镇便民服务中心 · 网上预约"
        assert page.locator("#mine").is_hidden()
        _shot(page, "1-items")
        page.locator("section.category[data-prefix=A] button").first.click()
        page.locator("button.day[data-day='2026-11-29']").click()   # a Sunday
        page.get_by_text("11月29日（周日）大厅不办公（周末或节假日），请选择其他日期").wait_for()
        assert "不办公" in page.locator("button.day[data-day='2026-11-29']").inner_text()
        _shot(page, "2-closed-day")

        page.locator(f"button.day[data-day='{DAY}']").click()
        full = page.locator("button.slot[data-slot='10:00']")
        full.wait_for()
        assert full.is_disabled() and "已约满" in full.inner_text()
        assert page.locator("button.slot[data-slot='08:00']").is_disabled()   # begun
        nine = page.locator("button.slot[data-slot='09:00']")
        assert nine.is_enabled() and f"剩余 {PLACES} 个" in nine.inner_text()
        _shot(page, "3-slots")

        page.locator("button.slot[data-slot='08:30']").click()
        _fill(page, "1390000123", "12a4")
        page.get_by_text("手机号码应为 11 位，您填了 10 位").wait_for()
        page.get_by_text("后四位应为数字，只有最后一位可以是 X").wait_for()
        _fill(page, "12900001234", "123")
        page.get_by_text("请填写正确的手机号码（1 开头，第二位是 3 到 9）").wait_for()
        page.get_by_text("只需身份证号码的后四位，您填了 3 位").wait_for()
        assert "不需要也不保存完整的身份证号码" in page.locator("#who-step").inner_text()
        _shot(page, "4-bad-input")
        _fill(page, "139 0000 1234", "123x")   # as typed: spaces, a small x
        page.locator("#done-step").wait_for()
        code = page.locator("#done-code").inner_text().replace(" ", "")
        assert len(code) == 8 and code.isdigit()
        assert page.locator("#done-window").inner_text() == "08:00–08:45"
        assert page.locator("#done-when").inner_text() == "11月23日（周一）\n08:30–09:00"
        assert "到大厅取号机签到" in page.locator("#done-how").inner_text()
        _shot(page, "5-booked")
        qr = Image.open(io.BytesIO(page.locator("#done-qr").screenshot()))
        assert [d.data.decode() for d in zbar_decode(qr)] == [code]

        kiosk = hall.hello("kiosk")   # the simulated clock is in 08:30's check-in window
        checked = kiosk.request("check_in", code=code)
        assert checked["outcome"] == "on_time" and checked["ticket"]["booked"]

        page.get_by_role("button", name="返回首页").click()
        mine = page.locator("#mine")
        assert mine.is_visible() and f"预约码 {code[:4]} {code[4:]}" in mine.inner_text()
        _shot(page, "6-mine")

        page.locator("section.category[data-prefix=A] button").first.click()
        page.locator(f"button.day[data-day='{DAY}']").click()
        page.locator("button.slot[data-slot='09:00']").click()
        _fill(page, "13900005678", "5678")
        page.locator("#done-step").wait_for()
        second = page.locator("#done-code").inner_text().replace(" ", "")
        assert _free(hall, "09:00") == PLACES - 1
        page.get_by_role("button", name="取消这个预约").click()
        assert page.locator("#cancel-code").input_value() == second
        page.locator("#cancel-proof").fill("5678")
        asked.append("no")   # the citizen thinks again: nothing is sent
        page.get_by_role("button", name="取消预约").click()
        assert asked[-1] == f"确定取消预约 {second[:4]} {second[4:]} 吗？取消后该时段可能被他人预约。"
        assert _free(hall, "09:00") == PLACES - 1 and page.locator("#cancel-done").is_hidden()
        asked.append("yes")
        page.locator("#cancel-proof").fill("1111")
        page.get_by_role("button", name="取消预约").click()
        page.get_by_text("预约码与手机号（或身份证后四位）不符，请核对").wait_for()   # the server's
        page.locator("#cancel-proof").fill("5678")
        page.get_by_role("button", name="取消预约").click()
        page.get_by_text(f"已取消预约 {second[:4]} {second[4:]}").wait_for()
        _shot(page, "7-cancelled")
        assert _free(hall, "09:00") == PLACES   # the slot is free again
        cancels = sqlite3.connect(hall.db).execute(
            "select count(*) from events where kind = 'booking_cancelled'").fetchone()[0]
        assert cancels == 1   # the one confirmed, not the one thought better of
        page.get_by_role("button", name="返回首页").click()
        assert "已取消" in page.locator("#mine").inner_text()
    finally:
        context.close()
        assert hall.stop() == 0


def test_a_blocked_phone_is_told_why_and_an_address_booking_too_often_is_limited(tmp_path, browser):
    """A phone blocked for no-shows (three bookings of the Friday before released by the
    server's tick as no-shows, in the log, keyed under the period's salt) is refused in the
    server's words; the address's second try passes, the third is limited, and the form keeps
    what was typed."""
    hall = LiveHall(tmp_path, "--simulate-from", START, "--book-limit", "2/600",
                    hall_text=BOOKING_HALL)
    assert hall.stop() == 0
    blocked = "13911112222"
    friday = date(2026, 11, 20)
    engine = open_engine(f"sqlite:///{hall.db}")
    with engine.begin() as conn:
        salt, _ = booking_salts.salts(conn, 1, bookings.salt_period(friday))
    engine.dispose()
    codes = [f"9000000{n}" for n in range(3)]
    hall.log_earlier(friday, datetime.fromisoformat("2026-11-20T12:00:00+08:00"), [
        *(ev.BookingMade(code, "A", None, friday.isoformat(), "09:00",
                         bookings.phone_key(salt, blocked), bookings.id_key(salt, code, "1234"))
          for code in codes),
        *(ev.BookingReleased(code) for code in codes)])
    hall.start()
    context, page = _phone(browser, SMALL_PHONE)
    try:
        _open_day(page, hall)
        page.locator("button.slot[data-slot='09:00']").click()
        _fill(page, blocked, "1234")
        refusal = page.locator("#book-error")
        refusal.get_by_text("该手机号近 30 天内预约后未到 3 次").wait_for()
        assert "12月20日" in refusal.inner_text() or "2026-12-20" in refusal.inner_text()
        _shot(page, "8-blocked-360")
        _fill(page, "13911113333", "1234")
        page.locator("#done-step").wait_for()

        page.get_by_role("button", name="返回首页").click()
        page.locator("section.category[data-prefix=A] button").first.click()
        page.locator(f"button.day[data-day='{DAY}']").click()
        page.locator("button.slot[data-slot='09:30']").click()
        _fill(page, "13911114444", "4321")
        refusal.get_by_text("操作太频繁，请稍后再试").wait_for()
        assert page.locator("#phone").input_value() == "13911114444"
        assert page.locator("#id-digits").input_value() == "4321"
        _shot(page, "9-limited-360")
    finally:
        context.close()
        assert hall.stop() == 0


def test_a_booking_sent_while_the_server_is_away_is_kept_and_goes_through_once_it_is_back(
        tmp_path, browser):
    port = free_port()
    hall = LiveHall(tmp_path, "--simulate-from", START, port=port, hall_text=BOOKING_HALL)
    context, page = _phone(browser)
    try:
        _open_day(page, hall)
        page.locator("button.slot[data-slot='09:00']").click()
        hall.stop()
        page.get_by_text("连接中断，正在重新连接…").wait_for()
        _fill(page, "13922223333", "8888")
        page.locator("#book-error").get_by_text("未连接到服务器，请稍候重试").wait_for()
        assert page.locator("#phone").input_value() == "13922223333"
        _shot(page, "10-offline")
        hall.start()
        page.get_by_text("已连接").wait_for(timeout=20_000)
        page.get_by_role("button", name="确认预约").click()
        page.locator("#done-step").wait_for()
        assert _free(hall, "09:00") == PLACES - 1
    finally:
        context.close()
        assert hall.stop() == 0


def test_the_page_under_a_halls_path_books_in_that_hall_and_says_when_a_hall_takes_none(
        tmp_path, browser):
    """On a server of two halls: `/h/east/book` speaks to the east hall (which takes bookings),
    `/h/small/book` to the other (which takes none, and says so); each keeps its own 我的预约."""
    east = BOOKING_HALL.replace('code = "small"', 'code = "east"', 1).replace(
        'name = "测试镇便民服务中心"', 'name = "东区便民服务中心"', 1)
    hall = LiveHall(tmp_path, "--simulate-from", START, more_halls=(east,))
    context, page = _phone(browser)
    try:
        page.goto(f"{hall.http}/h/east/book")
        page.get_by_text("已连接").wait_for()
        assert page.locator("#hall").inner_text() == "东区便民服务中心 · 网上预约"
        page.locator("section.category[data-prefix=A] button").first.click()
        page.locator(f"button.day[data-day='{DAY}']").click()
        page.locator("button.slot[data-slot='09:00']").click()
        _fill(page, "13933334444", "1111")
        page.locator("#done-step").wait_for()
        page.goto(f"{hall.http}/h/small/book")
        page.get_by_text("已连接").wait_for()
        assert page.locator("#menu-state").inner_text() == "本大厅暂未开放网上预约，请到大厅取号机现场取号"
        assert page.locator("section.category").count() == 0 and page.locator("#mine").is_hidden()
        _shot(page, "11-no-bookings")
        page.goto(f"{hall.http}/h/east/book")
        page.get_by_text("已连接").wait_for()
        assert "11月23日（周一） 09:00–09:30" in page.locator("#mine").inner_text()
    finally:
        context.close()
        assert hall.stop() == 0
