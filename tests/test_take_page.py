"""The hall's mobile 取号 page (`/take`), live against a real server on a real SQLite file:
today's hall code (from the board), the kiosk's words before any tap, one ticket per phone per
category per hall day (decided by the single writer, so concurrent tries cannot both pass), the
limits per address, and the page itself on a phone-sized chromium down to the ticket's page."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from display_board.model import BoardModel
from queue_server import commands as cmd
from queue_server import take_page, views
from queue_server.domain_errors import DomainError
from queue_server.hall_state import HallState, mobile_full_text
from queue_server.hall_toml import load_hall
from queue_server.ticket_tokens import make_token
from tests.browser import PHONE, chromium, phone_page
from tests.conftest import ARTIFACTS, free_port
from tests.live_hall import MANAGER, SMALL, LiveHall

SHOTS = ARTIFACTS / "take"
NUMBER = "13800138000"
ALREADY = ("该手机号今天已取过社保业务的号：{}，请查看本机“我今天取的号”或留意叫号屏；"
           "如不是您本人所取，请到大厅取号机取号")


@pytest.fixture
def hall(tmp_path):
    live = LiveHall(tmp_path)
    yield live
    assert live.stop() == 0


def _code(hall: LiveHall) -> str:
    """Today's hall code as the hall shows it: on the display board (its hello)."""
    board = hall.hello("display")
    code = board.hello["take_code"]
    board.close()
    return code


def _mobile(hall: LiveHall, code: str) -> dict:
    client = hall.client()
    reply = client.request("hello", role="mobile", code=code)
    client.hello = reply
    return client


def _categories(reply: dict) -> dict[str, dict]:
    return {c["prefix"]: c for c in reply["menu"]["categories"]}


def _issued(hall: LiveHall) -> list[dict]:
    rows = sqlite3.connect(hall.db).execute(
        "select data from events where kind = 'ticket_issued' order by seq").fetchall()
    return [json.loads(row[0]) for row in rows]


def _salts(hall: LiveHall) -> list[tuple[str, str]]:
    """The phone salts kept (queue_server.store.phone_salts): (day, salt)."""
    return sqlite3.connect(hall.db).execute(
        "select day, salt from phone_salts order by day").fetchall()


# --- the hall code ------------------------------------------------------------------------------

def test_the_board_shows_the_code_the_server_derives_for_the_day(hall):
    code = _code(hall)
    day = date.fromisoformat(hall.health()["service_day"])
    assert re.fullmatch(r"[0-9]{4}", code)
    assert code == take_page.hall_code(hall.secret(), day)
    assert take_page.hall_code(hall.secret(), day.replace(day=day.day % 28 + 1)) != code or \
        take_page.hall_code("another hall's secret", day) != code
    board = BoardModel()
    board.apply_snapshot(hall.hello("display").hello)
    assert board.ticker().startswith(f"今日取号码 {code}（手机扫描")
    board.notice = "今天下午 3 点停电检修"
    assert board.ticker().endswith("　　今天下午 3 点停电检修") and code in board.ticker()
    board.refused = "设备令牌无效"
    assert board.ticker() == "设备令牌无效"


def test_staff_read_the_days_code_at_a_terminal_as_the_board_shows_it(hall):
    """`queue-server take-code`: today's code (the hall's day) is the board's; `--day` another
    day's, which the server will take on that day; a bad date is one line in Chinese."""
    day = date.fromisoformat(hall.health()["service_day"])
    assert hall.cli("take-code").strip() == _code(hall)
    later = day + timedelta(days=1)
    assert hall.cli("take-code", "--day", later.isoformat()).strip() == take_page.hall_code(
        hall.secret(), later)
    done = subprocess.run([sys.executable, "-m", "queue_server.cli", "take-code", "--day", "12月7日"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "QUEUE_DB": f"sqlite:///{hall.db}"})
    assert done.returncode == 1 and done.stderr.startswith("错误 / error: 无法识别的日期：12月7日")


def test_a_wrong_code_is_refused_in_chinese_and_a_right_one_with_full_width_digits_passes(hall):
    code = _code(hall)
    wrong = f"{(int(code) + 1) % 10_000:04d}"
    refused = _mobile(hall, wrong).hello
    assert not refused["ok"] and refused["error"]["code"] == "unauthorized"
    assert refused["error"]["message"] == "取号码不正确或已过期，请查看大厅显示屏上的今日取号码"
    typed = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    reply = _mobile(hall, typed).hello
    assert reply["ok"] and reply["role"] == "mobile"
    assert set(_categories(reply)) == {"A", "B", "C"}
    assert "secret" not in json.dumps(reply) and "tokens" not in reply


def test_yesterdays_code_is_refused_once_the_hall_day_starts(tmp_path):
    """On a simulated clock a few seconds before midnight: the code of the 23rd opens the page
    then; after day_started it is refused, also for a page opened with it the day before, and
    the board's new hello brings the 24th's code, which works."""
    hall = LiveHall(tmp_path, "--simulate-from", "2026-11-23T23:59:52", "--speed", "2")
    try:
        board = hall.hello("display")
        old = board.hello["take_code"]
        opened = _mobile(hall, old)
        assert opened.hello["ok"]
        board.wait_event("day_started", timeout=30, day="2026-11-24")
        new = _code(hall)
        assert new != old and new == take_page.hall_code(hall.secret(), date(2026, 11, 24))
        assert _mobile(hall, old).hello["error"]["message"] == take_page.BAD_CODE
        late = opened.request("take_ticket", category="A", phone=NUMBER)
        assert late["error"] == {"code": "unauthorized", "message": take_page.BAD_CODE}
        assert opened.request("take_menu")["error"]["code"] == "unauthorized"
        assert _mobile(hall, new).request("take_ticket", category="A", phone=NUMBER)["ok"]
    finally:
        assert hall.stop() == 0


def test_code_guesses_sent_at_once_from_one_address_are_limited(hall):
    code = _code(hall)
    guesses = [f"{(int(code) + n) % 10_000:04d}" for n in range(1, 41)]
    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(lambda guess: _mobile(hall, guess).hello, guesses))
    codes = [a["error"]["code"] for a in answers]
    assert codes.count("unauthorized") <= take_page.CODE_LIMIT.burst + 1   # one may refill
    assert codes.count("rate_limited") >= 40 - take_page.CODE_LIMIT.burst - 1
    assert set(codes) == {"unauthorized", "rate_limited"}
    limited = next(a for a in answers if a["error"]["code"] == "rate_limited")
    assert limited["error"]["message"] == "尝试次数过多，请 1 分钟后再试"
    assert not _mobile(hall, code).hello["ok"]   # the right code too, until the bucket refills


def test_right_codes_do_not_count_against_an_address_only_wrong_ones_do(hall):
    """Behind one hall Wi-Fi every phone may share one address: three times the burst of
    hellos with the right code all pass, and still the burst of wrong ones is left; once
    that is used up, every code is refused, the right one too (no answer tells a guesser)."""
    code = _code(hall)
    burst = take_page.CODE_LIMIT.burst
    assert all(_mobile(hall, code).hello["ok"] for _ in range(3 * burst))
    wrong = f"{(int(code) + 1) % 10_000:04d}"
    answers = [_mobile(hall, wrong).hello["error"]["code"] for _ in range(burst + 2)]
    assert answers[:burst] == ["unauthorized"] * burst and "rate_limited" in answers[burst:]
    assert _mobile(hall, code).hello["error"]["code"] == "rate_limited"


# --- what the page says before a tap ------------------------------------------------------------

def test_the_menu_says_what_the_kiosk_says(hall):
    """No window staffed: 该业务暂无窗口办理 (a ticket can still be taken, as at the kiosk); a
    clerk signed in at window 1 (A and C): 可以取号; C's cap of 5 reached: 今日已取完; and how many
    wait, per category."""
    mobile = _mobile(hall, _code(hall))
    said = _categories(mobile.hello)
    assert said["A"]["takeable"] and said["A"]["text"] == "该业务暂无窗口办理，可先取号等候"
    assert mobile.hello["menu"]["takeable"] and "可以取号" in mobile.hello["menu"]["text"]
    assert said["A"]["items"] == [{"code": "T-SB-001", "name": "城乡居民基本养老保险参保登记"}]
    assert said["C"]["kind"] == "consult" and said["A"]["kind"] == "handle"
    clerk = hall.hello("clerk", badge="1001", pin="1111")
    clerk.request("sign_in", window=1, post="A")
    kiosk = hall.hello("kiosk")
    for _ in range(5):
        assert kiosk.request("take_ticket", category="C", kind="consult")["ok"]
    assert hall.hello("kiosk").request("take_ticket", category="A")["ok"]
    said = _categories(mobile.request("take_menu"))
    assert said["A"] | {"items": []} == {
        "prefix": "A", "name": "社保业务", "kind": "handle", "takeable": True, "text": "可以取号",
        "ok": True, "waiting": "本业务当前等候 1 人", "items": []}
    assert not said["C"]["takeable"] and said["C"]["text"].startswith("今日已取完，")
    assert said["B"]["text"] == "该业务暂无窗口办理，可先取号等候"
    refused = mobile.request("take_ticket", category="C", kind="consult", phone=NUMBER)
    assert refused["error"]["code"] == "closed" and "已取完" in refused["error"]["message"]


def test_a_closed_hall_says_when_it_opens_and_issues_nothing(tmp_path):
    """The small hall's own hours (08:30–12:00, 14:00–17:30), at 20:00 on a Monday."""
    hall = LiveHall(tmp_path, "--simulate-from", "2026-11-23T20:00:00", hall_text=SMALL)
    try:
        mobile = _mobile(hall, _code(hall))
        menu = mobile.hello["menu"]
        assert not menu["takeable"] and menu["text"] == "今日取号已结束，请明天 8:30 后再来"
        assert all(not c["takeable"] and c["text"] == menu["text"] for c in menu["categories"])
        refused = mobile.request("take_ticket", category="A", phone=NUMBER)
        assert refused["error"] == {"code": "closed", "message": menu["text"]}
        assert _issued(hall) == []
    finally:
        assert hall.stop() == 0


# --- one ticket per phone per category ---------------------------------------------------------

def test_one_ticket_per_phone_per_category_and_only_a_hash_of_the_number_is_kept(hall):
    mobile = _mobile(hall, _code(hall))
    bad = mobile.request("take_ticket", category="A", phone="1380013800")
    assert bad["error"] == {"code": "bad_request", "message": take_page.BAD_PHONE}
    first = mobile.request("take_ticket", category="A", service="T-SB-001", priority="elderly",
                           phone="138 0013 8000")
    assert first["ok"], first
    ticket = first["ticket"]
    assert ticket["number"] == "A001" and ticket["priority"] == "elderly"
    assert urlsplit(ticket["url"]).path == f"/t/{ticket['token']}"
    again = _mobile(hall, _code(hall)).request("take_ticket", category="A", phone=NUMBER)
    assert again["error"] == {   # the number only: never the link, which anyone could open
        "code": "conflict", "message": ALREADY.format("A001")}
    other = mobile.request("take_ticket", category="B", phone=NUMBER)
    assert other["ok"] and other["ticket"]["number"] == "B001"
    assert mobile.request("take_ticket", category="A", phone="13900139000")["ok"]
    kiosk = hall.hello("kiosk")
    assert kiosk.request("take_ticket", category="A")["ok"]   # the kiosk asks no phone
    issued = _issued(hall)
    assert [(e["number"], e["source"]) for e in issued] == [
        ("A001", "mobile"), ("B001", "mobile"), ("A002", "mobile"), ("A003", None)]
    keys = [e["phone_key"] for e in issued]
    assert keys[0] == keys[1] != keys[2] and keys[3] is None
    assert NUMBER not in sqlite3.connect(hall.db).execute(
        "select group_concat(data) from events").fetchone()[0]
    day = date.fromisoformat(hall.health()["service_day"])
    assert _salts(hall) == [(day.isoformat(), _salts(hall)[0][1])]
    assert take_page.phone_key(_salts(hall)[0][1], NUMBER) == keys[0]   # the day's salt


def test_the_phone_keys_salt_is_kept_for_its_day_only_and_survives_a_restart(tmp_path):
    """The key of a phone is made with the day's random salt, kept in the database: a server
    started again in the day (or one taking the hall over) keeps the rule with it; once the
    hall's day starts anew the salt is deleted, and the log's key cannot be tested against
    any number any more, not even with the hall's secret."""
    hall = LiveHall(tmp_path, "--simulate-from", "2026-11-23T23:59:45", "--speed", "2")
    try:
        code = _code(hall)
        assert _mobile(hall, code).request("take_ticket", category="A", phone=NUMBER)["ok"]
        [(day, salt)] = _salts(hall)
        assert day == "2026-11-23" and len(salt) == 64
        hall.stop()
        hall.start()   # the same database, a few simulated seconds later: the same day
        again = _mobile(hall, code).request("take_ticket", category="A", phone=NUMBER)
        assert again["error"] == {"code": "conflict", "message": ALREADY.format("A001")}
        assert _salts(hall) == [(day, salt)]
        board = hall.hello("display")
        board.wait_event("day_started", timeout=60, day="2026-11-24")
        deadline = time.monotonic() + 10
        while _salts(hall) and time.monotonic() < deadline:   # deleted after the day change
            time.sleep(0.1)
        assert _salts(hall) == []
        [issued] = _issued(hall)
        assert issued["phone_key"] == take_page.phone_key(salt, NUMBER)
        assert _mobile(hall, _code(hall)).request("take_ticket", category="A",
                                                  phone=NUMBER)["ok"]
        assert [d for d, _ in _salts(hall)] == ["2026-11-24"]
    finally:
        assert hall.stop() == 0


def test_twenty_takes_at_once_with_one_phone_give_one_ticket(tmp_path):
    """Twenty requests at once with the same phone for the same category, two on each of ten
    pages (the page's requests are answered concurrently; the per-address take limit lifted:
    they all come from 127.0.0.1): the single writer decides, exactly one ticket is issued and
    the nineteen others are told which one it is."""
    hall = LiveHall(tmp_path, "--mobile-limit", "0")
    try:
        code = _code(hall)
        pages = [_mobile(hall, code) for _ in range(10)]
        assert all(page.hello["ok"] for page in pages)
        for page in pages:
            for n in (1, 2):
                page.send({"id": n, "op": "take_ticket", "category": "A", "phone": NUMBER})
        answers = [page.reply() for page in pages for _ in (1, 2)]
        issued = [a for a in answers if a["ok"]]
        assert len(issued) == 1 and len(_issued(hall)) == 1
        number = issued[0]["ticket"]["number"]
        refusals = [a["error"] for a in answers if not a["ok"]]
        assert len(refusals) == 19 and {r["code"] for r in refusals} == {"conflict"}
        assert {r["message"] for r in refusals} == {ALREADY.format(number)}
    finally:
        assert hall.stop() == 0


def test_a_second_try_is_told_its_number_whatever_the_hall_says_now():
    """The core, on the small hall's own hours: a phone's ticket of a category is the answer to
    the same phone's next try in the lunch break, after issuing has ended, and once the
    category's cap is reached, before any of those refusals."""
    definition = load_hall(Path(__file__).parent / "data" / "small-hall.toml")
    morning = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    state = HallState(definition, morning.date())
    key = take_page.phone_key("the day's salt", NUMBER)

    def take(category: str, at: datetime, phone_key: str | None = key) -> str:
        kind = "consult" if category == "C" else "handle"
        command = cmd.TakeTicket(category, kind, phone_key=phone_key)
        try:
            events = state.handle(command, at)
        except DomainError as refused:
            return f"{refused.code}: {refused.message}"
        return events[0].data.number

    assert take("A", morning) == "A001" and take("C", morning) == "C001"
    for _ in range(4):
        take("C", morning, None)   # the kiosk: C's cap of 5 reached
    for hour, minute in ((12, 30), (17, 40), (9, 5)):
        at = morning.replace(hour=hour, minute=minute)
        assert take("A", at) == "conflict: " + ALREADY.format("A001")
        assert take("C", at) == "conflict: " + ALREADY.format("C001").replace("社保业务", "综合咨询")
    assert take("C", morning, "another phone's key").startswith("closed: 今日")


def test_the_mobile_page_takes_at_most_its_share_of_a_categorys_day(hall):
    """Made-up phone numbers cannot empty a category's day: the page takes at most half of its
    `daily_cap` (the hall file's `mobile_share`, 50 by default; C: 5 → 2); then its menu and
    the core say so, and the kiosk still issues."""
    mobile = _mobile(hall, _code(hall))
    for n in range(2):
        assert mobile.request("take_ticket", category="C", kind="consult",
                              phone=f"1390000{n:04d}")["ok"]
    refused = mobile.request("take_ticket", category="C", kind="consult", phone="13700137000")
    assert refused["error"] == {"code": "closed", "message": mobile_full_text("综合咨询")}
    said = _categories(mobile.request("take_menu"))["C"]
    assert not said["takeable"] and said["text"] == mobile_full_text("综合咨询")
    assert _categories(mobile.request("take_menu"))["A"]["takeable"]
    assert hall.hello("kiosk").request("take_ticket", category="C", kind="consult")["ok"]


def test_takes_from_one_address_are_limited(hall):
    """Different phones, one address: the default limit (`serve --mobile-limit`) holds."""
    from queue_server.rate_limits import MOBILE_TAKE_LIMIT

    mobile = _mobile(hall, _code(hall))
    answers = [mobile.request("take_ticket", category="B", phone=f"1390000{n:04d}")
               for n in range(MOBILE_TAKE_LIMIT.burst + 3)]
    assert sum(a["ok"] for a in answers) == MOBILE_TAKE_LIMIT.burst
    assert answers[-1]["error"] == {"code": "rate_limited", "message": "取号太频繁，请稍候再试"}


# --- the page, on a phone ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def phone(browser, hall):
    with phone_page(browser, hall.http) as page:
        yield page


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_citizen_takes_a_ticket_on_the_phone_and_lands_on_its_page(hall, phone):
    SHOTS.mkdir(parents=True, exist_ok=True)
    code = _code(hall)
    phone.goto(f"{hall.http}/take")
    phone.locator("#code").fill(f"{(int(code) + 1) % 10_000:04d}")
    phone.get_by_role("button", name="下一步").click()
    phone.get_by_text(take_page.BAD_CODE).wait_for()
    _fits(phone)
    phone.screenshot(path=SHOTS / "code.png", full_page=True)

    phone.locator("#code").fill(code)
    phone.get_by_role("button", name="下一步").click()
    phone.locator("#items-step").wait_for()
    assert phone.locator("#hall").inner_text() == "测试镇便民服务中心 · 手机取号"
    card = phone.locator("section.category[data-prefix=A]")
    assert "⚠ 该业务暂无窗口办理，可先取号等候" in card.inner_text()
    assert "本业务当前等候 0 人" in card.inner_text()
    _fits(phone)
    phone.screenshot(path=SHOTS / "items.png", full_page=True)

    card.get_by_role("button", name="城乡居民基本养老保险参保登记").click()
    assert phone.locator("#chosen").inner_text() == "社保业务 · 城乡居民基本养老保险参保登记"
    phone.locator("#phone").fill("12345")
    phone.get_by_role("button", name="确认取号").click()
    phone.get_by_text(take_page.BAD_PHONE).wait_for()
    phone.locator("#phone").fill(NUMBER)
    phone.get_by_label("老年人优先").check()
    _fits(phone)
    phone.screenshot(path=SHOTS / "phone.png", full_page=True)
    phone.get_by_role("button", name="确认取号").click()
    phone.wait_for_url(re.compile(r"/t/"))
    phone.get_by_text("实时更新中").wait_for()
    assert phone.locator("#number").inner_text() == "A001"
    assert phone.locator("#status").inner_text() == "等待中"
    phone.screenshot(path=SHOTS / "ticket.png", full_page=True)
    assert [(e["number"], e["priority"], e["source"]) for e in _issued(hall)] == [
        ("A001", "elderly", "mobile")]

    phone.goto(f"{hall.http}/take")   # the same phone, the same category again
    phone.locator("#code").fill(code)
    phone.get_by_role("button", name="下一步").click()
    phone.locator("section.category[data-prefix=A] button").click()
    phone.locator("#phone").fill(NUMBER)
    phone.get_by_role("button", name="确认取号").click()
    phone.get_by_text(ALREADY.format("A001")).wait_for()
    mine = phone.locator("#mine")   # the way back to the ticket: this phone's own list
    mine.wait_for()      # drawn after the refusal's words, not with them
    assert mine.locator("h2").inner_text() == "我今天取的号"
    link = mine.get_by_role("link", name="A001 社保业务 · 查看排队进度")
    assert link.get_attribute("href") == f"{hall.http}/t/{_token(hall, 'A001')}"
    _fits(phone)
    phone.screenshot(path=SHOTS / "already.png", full_page=True)
    assert len(_issued(hall)) == 1


def _token(hall: LiveHall, number: str) -> str:
    return make_token(hall.secret(), date.fromisoformat(hall.health()["service_day"]), number)


def test_the_page_says_a_closed_hall_and_issues_nothing(tmp_path, browser):
    hall = LiveHall(tmp_path, "--simulate-from", "2026-11-23T20:00:00", hall_text=SMALL)
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        page.goto(f"{hall.http}/take")
        page.locator("#code").fill(_code(hall))
        page.get_by_role("button", name="下一步").click()
        page.get_by_text("今日取号已结束，请明天 8:30 后再来").first.wait_for()
        assert page.locator("#hall-state").inner_text() == "今日取号已结束，请明天 8:30 后再来"
        assert page.locator("button.item").count() == 3
        assert all(b.is_disabled() for b in page.locator("button.item").all())
        page.screenshot(path=SHOTS / "closed.png", full_page=True)
        assert _issued(hall) == []
    finally:
        context.close()
        assert hall.stop() == 0


def test_the_page_lists_the_tickets_taken_on_it_today_while_the_hall_is_closed(tmp_path,
                                                                               browser):
    """A ticket taken at 10:00 on the small hall's simulated Monday; the server restarted at
    12:30 (its lunch break) on the same address: the page, opened again, lists the ticket
    with its link under 我今天取的号 before the code and after it, the hall closed; the server,
    asked again with the same phone, tells the number; on the phone's next day the list is not
    shown, and it is forgotten only by the hall's own day."""
    port = free_port()
    hall = LiveHall(tmp_path, "--simulate-from", "2026-11-23T10:00:00", port=port,
                    hall_text=SMALL)
    shanghai = ZoneInfo("Asia/Shanghai")
    context = browser.new_context(**PHONE, timezone_id="Asia/Shanghai")
    try:
        page = context.new_page()
        page.clock.set_fixed_time(datetime(2026, 11, 23, 10, 0, tzinfo=shanghai))
        page.goto(f"{hall.http}/take")
        assert page.locator("#mine").is_hidden()
        code = _code(hall)
        page.locator("#code").fill(code)
        page.get_by_role("button", name="下一步").click()
        page.locator("section.category[data-prefix=A] button").click()
        page.locator("#phone").fill(NUMBER)
        page.get_by_role("button", name="确认取号").click()
        page.wait_for_url(re.compile(r"/t/"))
        url = page.url

        hall.stop()
        hall.serve_args = ["--port", str(port), "--simulate-from", "2026-11-23T12:30:00"]
        hall.start()
        page.goto(f"{hall.http}/take")
        mine = page.locator("#mine")
        link = mine.get_by_role("link", name="A001 社保业务 · 查看排队进度")
        assert mine.is_visible() and link.get_attribute("href") == url
        page.locator("#code").fill(code)
        page.get_by_role("button", name="下一步").click()
        page.locator("#items-step").wait_for()
        assert page.locator("#hall-state").inner_text().startswith("现在是休息时间，暂停取号")
        assert all(b.is_disabled() for b in page.locator("button.item").all())
        assert mine.is_visible() and link.get_attribute("href") == url
        _fits(page)
        page.screenshot(path=SHOTS / "mine-closed.png", full_page=True)
        again = _mobile(hall, code).request("take_ticket", category="A", phone=NUMBER)
        assert again["error"] == {"code": "conflict", "message": ALREADY.format("A001")}

        page.clock.set_fixed_time(datetime(2026, 11, 24, 9, 0, tzinfo=shanghai))
        page.reload()
        page.locator("#code").wait_for()
        assert mine.is_hidden()       # not today's on the phone's date: not shown …
        # … but forgotten only once the hall's own day says so (the hello), never by the phone's
        # clock alone, which a phone in another time zone gets wrong
        assert "A001" in page.evaluate("JSON.stringify(localStorage)")
        assert len(_issued(hall)) == 1
    finally:
        context.close()
        assert hall.stop() == 0


def test_the_page_is_served_under_a_halls_path_on_a_server_of_several(tmp_path):
    east = SMALL.replace('code = "small"', 'code = "east"', 1)
    hall = LiveHall(tmp_path, more_halls=(east,))
    try:
        with urllib.request.urlopen(f"{hall.http}/h/east/take", timeout=5) as reply:
            assert "今日取号码" in reply.read().decode()
        board = hall.hello("display", "/h/east", token=hall.more_tokens["east"]["display"])
        mobile = hall.client("/h/east")
        assert mobile.request("hello", role="mobile", code=board.hello["take_code"])["ok"]
    finally:
        assert hall.stop() == 0


def test_the_poster_warns_the_manager_only_of_a_local_address():
    assert all(take_page.local_address(f"http://{host}:8000/take") for host in (
        "127.0.0.1", "localhost", "192.168.1.20", "10.0.0.5", "[fe80::1]", "[::1]", "hall-pc",
        "hall-pc.local"))
    assert not any(take_page.local_address(url) for url in (
        "https://paidui.example.gov.cn/h/qingshan/take", "http://121.40.1.1:8000/take"))


def test_the_menu_is_computed_once_a_hall_second_and_again_after_any_event():
    definition = load_hall(Path(__file__).parent / "data" / "small-hall.toml")
    morning = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    state = HallState(definition, morning.date())
    hall = views.hall_view(definition)
    cache = take_page.MenuCache()
    first = cache.get(state, hall, morning)
    assert cache.get(state, hall, morning.replace(microsecond=900_000)) is first
    state.handle(cmd.TakeTicket("A"), morning)
    after = cache.get(state, hall, morning)
    assert after is not first and after == take_page.menu(state, hall, morning)
    assert "等候 1 人" in after["categories"][0]["waiting"]
    assert cache.get(state, hall, morning + timedelta(seconds=1)) is not after


def test_a_manager_prints_the_entrance_poster_from_the_dashboard(hall, browser):
    """The dashboard's 生成今日海报 gives a link (sealed, for managers only) to an A4 page with
    the QR of /take and today's code; a made-up or altered link is refused in Chinese."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    code = _code(hall)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{hall.http}/manager")
        page.get_by_label("用户名").fill(MANAGER[0])
        page.get_by_label("密码").fill(MANAGER[1])
        page.get_by_role("button", name="登录", exact=True).click()
        page.get_by_role("button", name="生成今日海报").click()
        link = page.get_by_role("link", name="打开海报并打印（10 分钟内有效）")
        href = link.get_attribute("href")
        assert href.startswith("/poster/")
        page.locator("#poster-form").screenshot(path=SHOTS / "dashboard-poster.png")
        page.screenshot(path=SHOTS / "dashboard.png", full_page=True)
        with context.expect_page() as opened:
            link.click()
        poster = opened.value
        poster.wait_for_load_state()
        note = poster.locator(".manager-note")   # the hall has no public_url: 127.0.0.1
        assert "本机或内部网络的地址" in note.inner_text() and "public_url" in note.inner_text()
        poster.screenshot(path=SHOTS / "poster-screen.png", full_page=True)
        poster.emulate_media(media="print")
        assert note.is_hidden()   # for the manager, not printed
        text = poster.locator("body").inner_text()
        assert code in text and "今日取号码" in text and f"{hall.http}/take" in text
        assert poster.locator("svg").count() == 1
        poster.screenshot(path=SHOTS / "poster.png", full_page=True)
        poster.pdf(path=SHOTS / "poster.pdf", format="A4")
        assert poster.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()
    forged = href[:-3] + ("AAA" if not href.endswith("AAA") else "BBB")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{hall.http}{forged}", timeout=5)
    assert refused.value.code == 403
    assert refused.value.read().decode().startswith("海报链接无效")


def test_the_live_board_runs_todays_code_along_its_bottom(hall):
    """The board app (kivy, offscreen) against the server: its bottom line ends with the code
    the server gave in its hello."""
    from tests.test_board import board_screenshot

    SHOTS.mkdir(parents=True, exist_ok=True)
    code = _code(hall)
    board = BoardModel()
    board.apply_snapshot(hall.hello("display").hello)
    assert board.ticker() == (f"今日取号码 {code}（手机扫描大厅入口二维码取号）"
                              "　　欢迎来到测试镇便民服务中心，请取号后留意叫号")
    board_screenshot(hall, SHOTS / "board.png")
