"""The citizen's ticket page (/t/<token>) on a phone-sized chromium, live against a real server:
the position moves as tickets are called, the call says which window, and after service the
rating is offered once, unless the pad got one."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import pytest

from kiosk.model import KioskModel, ticket_lines
from kiosk.printing import PrinterProfile, encode, render, ticket_layout
from queue_server.ticket_tokens import make_token
from tests.browser import PHONE, chromium, phone_page
from tests.conftest import ARTIFACTS
from tests.live_hall import ROUND_THE_CLOCK, LiveHall

SHOTS = ARTIFACTS / "citizen"


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def hall(tmp_path):
    live = LiveHall(tmp_path)
    yield live
    assert live.stop() == 0


@pytest.fixture
def phone(browser, hall):
    with phone_page(browser, hall.http) as page:
        yield page


def _ratings(hall) -> list[dict]:
    rows = sqlite3.connect(hall.db).execute(
        "select data from events where kind = 'ticket_rated' order by seq").fetchall()
    return [json.loads(row[0]) for row in rows]


def test_the_page_follows_the_ticket_and_takes_one_rating(hall, phone):
    SHOTS.mkdir(parents=True, exist_ok=True)
    clerk = hall.hello("clerk", badge="1001", pin="1111")
    clerk.request("sign_in", window=1, post="A")   # a window serves A: there is a time to say
    kiosk = hall.hello("kiosk")
    tickets = [kiosk.request("take_ticket", category="A", service="T-SB-001")["ticket"]
               for _ in range(3)]
    mine = tickets[2]
    phone.goto(mine["url"])
    phone.get_by_text("实时更新中").wait_for()
    assert phone.locator("#number").inner_text() == mine["number"]
    assert phone.locator("#status").inner_text() == "等待中"
    assert phone.locator("#ahead").inner_text() == "2"
    assert phone.locator("#wait").inner_text() == "约 15 分钟"   # 3 × the 5-minute default, 1 window
    assert "社保业务 · 城乡居民基本养老保险参保登记" in phone.locator("#service").inner_text()
    guide = phone.locator("#guide")   # the guide as it was when the ticket was taken
    assert guide.is_visible() and mine["catalogue_version"] == 1
    assert guide.evaluate("a => a.href") == f"{hall.http}/guide/T-SB-001?v=1" == mine["guide_url"]
    phone.screenshot(path=SHOTS / "waiting.png", full_page=True)

    clerk.request("call_next")
    phone.wait_for_function("document.getElementById('ahead').textContent === '1'")
    clerk.request("no_show")
    clerk.request("call_next")
    phone.wait_for_function("document.getElementById('ahead').textContent === '0'")
    assert "马上就到您了" in phone.locator("#hint").inner_text()
    clerk.request("finish", outcome="done")
    clerk.request("call_next")
    phone.get_by_text("请到 1 号窗口").first.wait_for()
    assert "请带好材料到 1 号窗口（社保窗口）办理" in phone.locator("#hint").inner_text()
    assert phone.locator("#rating").is_hidden()
    phone.screenshot(path=SHOTS / "called.png", full_page=True)

    clerk.request("finish", outcome="done")
    phone.locator("#rating").wait_for()
    assert phone.locator("#status").inner_text() == "已办结"
    phone.get_by_role("button", name="不满意", exact=True).click()
    submit = phone.get_by_role("button", name="提交评价")
    assert submit.is_disabled()   # a low score needs a reason
    phone.screenshot(path=SHOTS / "rating.png", full_page=True)
    phone.get_by_label("等候时间过长").check()
    submit.click()
    phone.get_by_text("感谢您的评价").wait_for()
    assert phone.locator("#rating").is_hidden()
    phone.screenshot(path=SHOTS / "thanks.png", full_page=True)
    assert _ratings(hall) == [{
        "number": mine["number"], "score": 2, "reasons": ["等候时间过长"], "channel": "citizen",
        "window": 1, "clerk": "1001", "post": "A", "department": "sb", "service": "T-SB-001"}]

    phone.reload()   # once rated, the page never offers it again
    phone.get_by_text("实时更新中").wait_for()
    assert phone.locator("#status").inner_text() == "已办结"
    assert phone.locator("#rating").is_hidden()


NO_WINDOW = "该业务暂无窗口办理，请留意叫号或咨询工作人员"


def test_no_time_is_shown_while_no_window_serves_the_category(hall, phone):
    """No 马上就到您了, 约 5 分钟 when nobody may call the ticket; the page learns it when a
    window opens and when it closes again."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    kiosk = hall.hello("kiosk")
    first, mine = (kiosk.request("take_ticket", category="A")["ticket"] for _ in range(2))
    phone.goto(mine["url"])
    phone.get_by_text("实时更新中").wait_for()
    card = phone.locator("main .card").first
    assert phone.locator("#status").inner_text() == "等待中"
    assert phone.locator("#hint").inner_text() == NO_WINDOW
    assert phone.locator("#ahead").inner_text() == "1"            # who is ahead, still said
    assert phone.locator("#wait-row").is_hidden()
    assert "分钟" not in card.inner_text() and "马上就到您了" not in card.inner_text()
    phone.screenshot(path=SHOTS / "no-window.png", full_page=True)

    clerk = hall.hello("clerk", badge="1001", pin="1111")
    clerk.request("sign_in", window=1, post="A")                   # window 1 serves A
    phone.wait_for_function("document.getElementById('wait').textContent === '约 10 分钟'")
    assert phone.locator("#wait-row").is_visible()
    assert phone.locator("#hint").inner_text() == "请在大厅休息区等候，轮到您时会叫号。"
    phone.screenshot(path=SHOTS / "window-opened.png", full_page=True)

    clerk.request("sign_out")
    phone.get_by_text(NO_WINDOW).wait_for()
    assert phone.locator("#wait-row").is_hidden()
    assert first["number"] != mine["number"]


ADVICE = "过号后请到服务台说明情况，重新取号"


def test_the_missed_call_advice_is_the_hall_files_on_the_slip_the_kiosk_and_the_page(
        browser, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    text = ROUND_THE_CLOCK.replace("[hall]\n", f'[hall]\nmissed_call = "{ADVICE}"\n', 1)
    hall = LiveHall(tmp_path, hall_text=text)
    context = browser.new_context(**PHONE)
    try:
        kiosk = hall.hello("kiosk")
        catalogue = kiosk.request("catalogue")
        ticket = kiosk.request("take_ticket", category="A", service="T-SB-001")["ticket"]
        item = next(i for i in catalogue["items"] if i["code"] == "T-SB-001")
        tip = f"请留意叫号，{ADVICE}"

        # the slip: the ESC/POS bytes the printer gets, read back as it prints them
        profile = PrinterProfile(80)
        data = encode(ticket_layout(ticket, kiosk.hello["snapshot"]["hall"], 80, item), profile)
        printed = "".join(t.strip() for t in render(data, profile.dots, profile.charset).texts)
        assert tip in printed and "过号请重新取号" not in printed

        # the kiosk's ticket screen, from what the kiosk was told
        model = KioskModel()
        model.set_catalogue({k: v for k, v in catalogue.items() if k not in ("re", "ok")})
        model.apply_snapshot(kiosk.hello["snapshot"])
        assert tip in ticket_lines(model, ticket)

        # the citizen's page, before and after the call it missed
        phone = context.new_page()
        phone.goto(ticket["url"])
        phone.get_by_text("实时更新中").wait_for()
        assert phone.locator("#missed-call").inner_text() == ADVICE
        clerk = hall.hello("clerk", badge="1001", pin="1111")
        clerk.request("sign_in", window=1, post="A")
        clerk.request("call_next")
        clerk.request("no_show")
        phone.locator("#status").get_by_text("已过号").wait_for()
        assert phone.locator("#hint").inner_text() == f"叫号时您未到窗口，号码已过。{ADVICE}。"
        # every word about a missed call on the page is the hall's
        body = phone.locator("body").inner_text()
        assert "过号" not in body.replace(ADVICE, "").replace("已过号", "")
        phone.screenshot(path=SHOTS / "missed.png", full_page=True)
    finally:
        context.close()
        assert hall.stop() == 0


def _served_and_rated_by_the_pad(hall, score: int | None) -> dict:
    """A ticket taken, served at window 1 and rated there (None: the pad's 未评)."""
    ticket = hall.hello("kiosk").request("take_ticket", category="A")["ticket"]
    clerk = hall.hello("clerk", badge="1001", pin="1111")
    clerk.request("sign_in", window=1, post="A")
    clerk.request("call_next")
    clerk.request("finish", outcome="done")
    assert hall.hello("pad").request("rate", ticket=ticket["number"], score=score)["ok"]
    return ticket


def test_no_rating_on_the_phone_when_the_pad_got_one(hall, phone):
    ticket = _served_and_rated_by_the_pad(hall, 5)
    phone.goto(ticket["url"])
    phone.get_by_text("实时更新中").wait_for()
    assert phone.locator("#status").inner_text() == "已办结"
    assert phone.locator("#rating").is_hidden()


def test_a_pad_left_unrated_lets_the_phone_rate(hall, phone):
    ticket = _served_and_rated_by_the_pad(hall, None)
    phone.goto(ticket["url"])
    phone.get_by_role("button", name="非常满意").click()
    phone.get_by_text("感谢您的评价").wait_for()
    assert [(r["channel"], r["score"]) for r in _ratings(hall)] == [("pad", None), ("citizen", 5)]


def test_bad_and_expired_tokens_get_a_clear_page(hall, phone):
    SHOTS.mkdir(parents=True, exist_ok=True)
    response = phone.goto(hall.http + "/t/20261123A001-notours")
    assert response.status == 404
    assert phone.locator("h1").inner_text() == "二维码无效"
    phone.screenshot(path=SHOTS / "invalid.png", full_page=True)
    token = hall.hello("kiosk").request("take_ticket", category="A")["ticket"]["token"]
    secret = sqlite3.connect(hall.db).execute("select secret from halls").fetchone()[0]
    response = phone.goto(hall.http + "/t/" + make_token(secret, date(2020, 1, 1), token[8:12]))
    assert response.status == 410
    assert phone.locator("h1").inner_text() == "这张小票已过期"


def test_the_page_offers_the_halls_names_for_the_five_levels(browser, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    # a name is the hall file's text, shown as it is written, never read as markup
    names = '["很满意", "满意", "<i>一般", "不满意", "很不满意"]'
    hall = LiveHall(tmp_path, hall_text=ROUND_THE_CLOCK.replace(
        "[hall]\n", f"[hall]\nrating_levels = {names}\n", 1))
    context = browser.new_context(**PHONE)
    try:
        clerk = hall.hello("clerk", badge="1001", pin="1111")
        clerk.request("sign_in", window=1, post="A")
        ticket = hall.hello("kiosk").request("take_ticket", category="A")["ticket"]
        clerk.request("call_next")
        clerk.request("finish", outcome="done")
        phone = context.new_page()
        phone.goto(ticket["url"])
        phone.locator("#rating").wait_for()
        labels = phone.locator("#scores button").all_inner_texts()
        assert [label.strip() for label in labels] == ["很满意", "满意", "<i>一般", "不满意", "很不满意"]
        assert phone.locator("#scores button i").count() == 0
        phone.get_by_role("button", name="很不满意", exact=True).click()
        assert phone.locator("#reasons").is_visible()   # a 差评 asks for a reason
        phone.screenshot(path=SHOTS / "rating-hall-levels.png", full_page=True)
    finally:
        context.close()
        assert hall.stop() == 0


def test_a_booked_tickets_page_says_it_is_a_booking_and_a_walk_ins_does_not(browser, tmp_path):
    """A checked-in booking's ticket (A001) and a walk-in's (A002), over the real server on its
    simulated clock: A001's page shows 预约 08:30–09:00 under the number and, while it waits,
    how it is ordered; A002's shows neither."""
    from hall.vocabulary import BOOKED_MARK
    from tests.booked_tickets import SLOT_TEXT, booked_and_walk_in, booking_hall

    hall = booking_hall(tmp_path)
    try:
        booked, walked = booked_and_walk_in(hall)
        SHOTS.mkdir(parents=True, exist_ok=True)
        with phone_page(browser, hall.http) as phone:
            phone.goto(booked["url"])
            phone.get_by_text("实时更新中").wait_for()
            assert phone.locator("#number").inner_text() == "A001"
            assert phone.locator("#booked").inner_text() == f"{BOOKED_MARK} {SLOT_TEXT}"
            order = phone.locator("#booked-order")
            assert order.is_visible() and order.inner_text().startswith("按预约时段排队")
            phone.screenshot(path=SHOTS / "booked-waiting.png", full_page=True)

            clerk = hall.hello("clerk", badge="1001", pin="1111")
            clerk.request("sign_in", window=1, post="A")
            clerk.request("call_next")
            phone.get_by_text("请到 1 号窗口").first.wait_for()
            assert phone.locator("#booked").is_visible() and order.is_hidden()
            phone.screenshot(path=SHOTS / "booked-called.png", full_page=True)
        with phone_page(browser, hall.http) as phone:
            phone.goto(walked["url"])
            phone.get_by_text("实时更新中").wait_for()
            assert phone.locator("#number").inner_text() == "A002"
            assert phone.locator("#booked").is_hidden()
            assert phone.locator("#booked-order").is_hidden()
            assert BOOKED_MARK not in phone.locator("main").inner_text()
    finally:
        assert hall.stop() == 0
