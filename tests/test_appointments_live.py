"""Appointments (预约) over the real server on a simulated clock: the booking page's ops, the
kiosk's check-in, the per-address limit, and 200 bookings racing for one slot."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import date

from bench.booking_race import BOOKING_HALL, PLACES, START, race
from tests.live_hall import ROUND_THE_CLOCK, LiveHall

FULL = "11月23日（周一） 10:00–10:30已约满，请选择其他时段"


def test_200_concurrent_bookings_for_one_slot_take_exactly_its_places_and_all_are_answered(tmp_path):
    hall = LiveHall(tmp_path, "--simulate-from", START, "--book-limit", "0", "--book-day-limit", "0",
                    hall_text=BOOKING_HALL)
    try:
        outcomes, _ = asyncio.run(race(hall.ws, 200, "2026-11-23", "10:00"))
        assert dict(outcomes) == {"ok": PLACES, FULL: 200 - PLACES}
        hall.stop()
        hall.start()   # rebuilt from the log: the slot is still full
        page = hall.hello("booking")
        slots = page.request("booking_slots", category="A", day="2026-11-23")
        assert {s["slot"]: s["free"] for s in slots["slots"]}["10:00"] == 0
    finally:
        hall.stop()


def test_a_booking_made_cancelled_and_checked_in_at_the_kiosk(tmp_path):
    hall = LiveHall(tmp_path, "--simulate-from", START, hall_text=BOOKING_HALL)
    try:
        page = hall.hello("booking")
        (menu,) = page.hello["menu"]
        assert (menu["prefix"], menu["name"], menu["days"][0]) == (
            "A", "社保业务", {"day": "2026-11-23", "text": "11月23日（周一）", "open": True})
        slots = page.request("booking_slots", category="A", day="2026-11-23")["slots"]
        assert slots[0] == {"slot": "08:00", "text": "08:00–08:30", "places": PLACES,
                            "free": PLACES, "open": False}   # begun: the clock is past 08:00
        bad = page.request("book", category="A", day="2026-11-23", slot="08:30",
                           phone="12345", id_digits="1234")
        assert bad["error"] == {"code": "bad_request", "message": "请输入 11 位手机号码（1 开头的数字）"}
        bad = page.request("book", category="A", day="2026-11-23", slot="08:30",
                           phone="13900000001", id_digits="12a4")
        assert bad["error"]["message"] == "请输入身份证号码的后四位（数字或 X）"
        bad = page.request("booking_slots", category="A", day="2026-11-29")
        assert bad["error"] == {"code": "closed",
                                "message": "11月29日（周日）大厅不办公（周末或节假日），请选择其他日期"}

        soon = page.request("book", category="A", day="2026-11-23", slot="08:30",
                            phone="139 0000 0001", id_digits="123x")
        assert soon["ok"], soon
        booking = soon["booking"]
        assert len(booking["booking"]) == 8 and booking["booking"].isdigit()
        assert (booking["slot_text"], booking["check_in_from"], booking["check_in_until"],
                booking["status_text"]) == ("08:30–09:00", "08:00", "08:45", "已预约")
        assert "phone_key" not in booking and "id_key" not in booking
        later = page.request("book", category="A", day="2026-11-23", slot="10:00",
                             phone="13900000002", id_digits="5678")["booking"]
        other = page.request("book", category="A", day="2026-11-24", slot="10:00",
                             phone="13900000003", id_digits="0000")["booking"]

        wrong = page.request("cancel_booking", code=other["booking"], id_digits="1111")
        assert wrong["error"]["message"] == "预约码与手机号（或身份证后四位）不符，请核对"
        cancelled = page.request("cancel_booking", code=other["booking"], phone="13900000003")
        assert cancelled["booking"]["status_text"] == "已取消"
        limited = page.request("book", category="A", day="2026-11-24", slot="10:00",
                               phone="13900000004", id_digits="0000")
        assert limited["error"] == {"code": "rate_limited", "message": "操作太频繁，请稍后再试"}

        kiosk = hall.hello("kiosk")
        manager = hall.hello("manager")
        early = kiosk.request("check_in", code=later["booking"])
        assert early["error"]["code"] == "closed"
        assert early["error"]["message"] == (
            "您预约的是11月23日（周一） 10:00–10:30，签到时间未到，请于 09:30 以后再来签到")
        assert early["error"]["come_back_at"] == "2026-11-23T09:30:00+08:00"
        typo = kiosk.request("check_in", code="1234")
        assert typo["error"] == {"code": "bad_request", "message": "预约码应为 8 位数字"}
        on_time = kiosk.request("check_in", code=booking["booking"])
        assert on_time["outcome"] == "on_time"
        ticket = on_time["ticket"]
        assert (ticket["number"], ticket["booked"], ticket["slot_at"]) == (
            "A001", True, "2026-11-23T08:30:00+08:00")
        assert on_time["text"] == "签到成功，您的预约号是 A001，请留意叫号"
        assert manager.wait_event("ticket_issued", number="A001")["booked"] is True
        assert manager.wait_event("booking", booking=booking["booking"])["status"] == "checked_in"
        again = kiosk.request("check_in", code=booking["booking"])
        assert again["error"]["message"] == f"预约 {booking['booking']} 已签到，不能签到"
        refused = page.request("check_in", code=booking["booking"])
        assert refused["error"]["code"] == "forbidden"
    finally:
        hall.stop()


def test_the_servers_tick_releases_a_booking_not_checked_in_by_its_late_limit(tmp_path):
    """On the hall's simulated clock, 10 simulated minutes a second: a booking for 08:30 is
    released at 08:45 (its late limit) by the server's own tick, and the managers hear it."""
    hall = LiveHall(tmp_path, "--simulate-from", START, "--speed", "600", hall_text=BOOKING_HALL)
    try:
        page = hall.hello("booking")
        manager = hall.hello("manager")
        booked = page.request("book", category="A", day="2026-11-23", slot="08:30",
                              phone="13900000009", id_digits="4321")
        assert booked["ok"], booked
        code = booked["booking"]["booking"]
        released = manager.wait_event("booking", timeout=30, booking=code, status="no_show")
        assert released["status_text"] == "未到（已释放）"
        assert released["at"] >= "2026-11-23T08:45"
        late = hall.hello("kiosk").request("check_in", code=code)
        assert late["outcome"] == "late" and late["ticket"]["booked"] is False
        assert late["text"].startswith("您已超过预约签到时间，预约已失效；已按现场取号为您取号")
    finally:
        hall.stop()


def test_bookings_of_earlier_days_outlive_them_when_the_server_starts(tmp_path):
    """A booking made on Thursday for Tuesday still holds its place when the server starts on
    Monday, after a Friday in between: bookings of the days that still matter are replayed."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from queue_server import events as ev
    from queue_server.events import Event
    from queue_server.store import event_log
    from queue_server.store.database import open_engine

    hall = LiveHall(tmp_path, "--simulate-from", START, hall_text=BOOKING_HALL)
    try:
        assert hall.stop() == 0
        zone = ZoneInfo("Asia/Shanghai")
        thursday, friday = date(2026, 11, 19), date(2026, 11, 20)
        engine = open_engine(f"sqlite:///{hall.db}")
        with engine.begin() as conn:
            event_log.append(conn, 1, [
                Event(1, datetime(2026, 11, 19, 10, 0, tzinfo=zone), thursday, ev.BookingMade(
                    "12345678", "A", None, "2026-11-24", "10:00", "phone-key", "id-key")),
                Event(2, datetime(2026, 11, 20, 0, 0, tzinfo=zone), friday,
                      ev.DayStarted(friday.isoformat()))])
        engine.dispose()
        hall.start()
        page = hall.hello("booking")
        slots = page.request("booking_slots", category="A", day="2026-11-24")["slots"]
        assert {s["slot"]: s["free"] for s in slots}["10:00"] == PLACES - 1
        cancelled = page.request("cancel_booking", code="12345678", phone="13900000001")
        assert cancelled["error"]["message"] == "预约码与手机号（或身份证后四位）不符，请核对"
    finally:
        hall.stop()


def test_a_restart_replays_only_the_bookings_that_still_matter_and_a_new_day_drops_the_rest(tmp_path):
    """Through the real `hall_service.rebuild`: a booking of a day older than the no-show
    window (30 + 30 days here) is not replayed, one within it is, with its no-show; and when
    the day moves past the window, the core drops it."""
    from datetime import date, datetime, timedelta
    from zoneinfo import ZoneInfo

    from queue_server import commands as cmd
    from queue_server import events as ev
    from queue_server import hall_service
    from queue_server.store import hall_records
    from queue_server.store.database import open_engine

    hall = LiveHall(tmp_path, "--simulate-from", START, hall_text=BOOKING_HALL)
    hall.stop()
    zone = ZoneInfo("Asia/Shanghai")
    old, recent, today = date(2026, 9, 1), date(2026, 10, 30), date(2026, 11, 23)
    hall.log_earlier(old, datetime(2026, 9, 1, 9, tzinfo=zone), [
        ev.BookingMade("00000001", "A", None, "2026-09-02", "10:00", "k1", "i1"),
        ev.BookingMade("00000002", "A", None, "2026-10-30", "10:00", "k2", "i2"),
        ev.DayStarted("2026-09-02"), ev.BookingReleased("00000001"),
        ev.DayStarted("2026-10-30"), ev.BookingReleased("00000002"),
        ev.DayStarted(today.isoformat())])
    engine = open_engine(f"sqlite:///{hall.db}")
    try:
        with engine.connect() as conn:
            definition = hall_records.load_definition(conn, 1)
        state = hall_service.rebuild(engine, 1, definition, datetime(2026, 11, 23, 8, tzinfo=zone))
    finally:
        engine.dispose()
    assert list(state.bookings) == ["00000002"] and list(state.bookings_by_day) == [recent]
    assert state.no_shows == {"k2": [recent]}
    state.roll_to(datetime.combine(recent + timedelta(days=61), datetime.min.time(), zone))
    assert state.bookings == {} and state.bookings_by_day == {} and state.no_shows == {}
    assert state.handle(cmd.Tick(), datetime(2026, 12, 30, 9, tzinfo=zone)) == []


def test_a_booking_made_under_a_longer_horizon_since_shortened_keeps_its_place(tmp_path):
    """A booking made on 1 September for 30 November under a 90-day horizon, the hall file's
    horizon since cut to 7 days: a restart on 23 November still replays it (the window reaches
    back by the longest horizon allowed, not by today's), its place stays taken, and the salt
    it was keyed under is kept while it is pending."""
    from dataclasses import replace
    from datetime import date, datetime, time
    from zoneinfo import ZoneInfo

    from queue_server import bookings, hall_service
    from queue_server import events as ev
    from queue_server.store import event_log, hall_records
    from queue_server.store.database import open_engine

    hall = LiveHall(tmp_path, "--simulate-from", START, hall_text=BOOKING_HALL)
    hall.stop()
    zone = ZoneInfo("Asia/Shanghai")
    made, day = date(2026, 9, 1), date(2026, 11, 30)
    engine = open_engine(f"sqlite:///{hall.db}")
    try:
        with engine.begin() as conn:   # made on its day; today's first event on today
            event_log.append(conn, 1, [
                ev.Event(1, datetime(2026, 9, 1, 9, tzinfo=zone), made, ev.BookingMade(
                    "00000009", "A", None, day.isoformat(), "10:00", "k9", "i9", 30)),
                ev.Event(2, datetime(2026, 11, 23, 7, tzinfo=zone), date(2026, 11, 23),
                         ev.DayStarted("2026-11-23"))])
        with engine.connect() as conn:
            definition = hall_records.load_definition(conn, 1)
        a = definition.category_by_prefix["A"]
        assert a.booking is not None
        rules = replace(a.booking, horizon_days=7)
        definition = replace(definition, categories=tuple(
            replace(c, booking=rules) if c.prefix == "A" else c for c in definition.categories))
        state = hall_service.rebuild(engine, 1, definition, datetime(2026, 11, 23, 8, tzinfo=zone))
    finally:
        engine.dispose()
    assert list(state.bookings) == ["00000009"]
    assert state.free_places("A", day, time(10)) == rules.places - 1
    earliest = min(b.made_at.date() for b in state.bookings.values())
    assert bookings.salts_needed_since(definition, state.day, earliest) <= bookings.salt_period(made)


def test_booking_keys_are_made_under_a_period_salt_deleted_once_nothing_needs_it(tmp_path):
    """The log's phone and ID keys are HMACs under a random salt kept apart from the log (not
    the hall's secret, which sits in the same database); a server taking the hall once no
    booking of that period can matter deletes the salt, and the keys are untestable."""
    import sqlite3

    from queue_server import bookings

    hall = LiveHall(tmp_path, "--simulate-from", START, hall_text=BOOKING_HALL)
    try:
        page = hall.hello("booking")
        made = page.request("book", category="A", day="2026-11-24", slot="10:00",
                            phone="13900000001", id_digits="1234")["booking"]
        again = page.request("book", category="A", day="2026-11-24", slot="10:30",
                             phone="13900000001", id_digits="1234")
        assert again["error"]["code"] == "conflict"   # the same phone, matched under the salts
        hall.stop()
        with sqlite3.connect(hall.db) as db:
            (since, salt), = db.execute("SELECT since, salt FROM booking_salts").fetchall()
            secret, = db.execute("SELECT secret FROM halls").fetchone()
            data = json.loads(db.execute(
                "SELECT data FROM events WHERE kind = 'booking_made'").fetchone()[0])
        assert since == bookings.salt_period(date(2026, 11, 23)).isoformat()
        assert data["phone_key"] == bookings.phone_key(salt, "13900000001")
        assert data["id_key"] == bookings.id_key(salt, made["booking"], "1234")
        assert data["phone_key"] != bookings.phone_key(secret, "13900000001")
        hall.start()   # the same period: the booking is cancelled with the phone
        page = hall.hello("booking")
        cancelled = page.request("cancel_booking", code=made["booking"], phone="13900000001")
        assert cancelled["booking"]["status"] == "cancelled"
        hall.stop()
        # 30 days of the period, 7 of horizon, 30 of no-shows and 30 of blocks later
        hall.serve_args[hall.serve_args.index("--simulate-from") + 1] = "2027-03-15T08:00:00"
        hall.start()   # its day starts: the salts no booking needs are deleted
        for _ in range(100):
            with sqlite3.connect(hall.db) as db:
                kept = db.execute("SELECT count(*) FROM booking_salts").fetchone()
            if kept == (0,):
                break
            time.sleep(0.1)
        assert kept == (0,)
    finally:
        hall.stop()


def test_import_hall_says_how_many_pending_bookings_a_change_withdraws(tmp_path):
    """A hall file that stops category A's bookings: `import-hall` says how many pending
    bookings it withdraws, and the server withdraws them (已撤销), not as no-shows."""
    hall = LiveHall(tmp_path, "--simulate-from", START, hall_text=BOOKING_HALL)
    try:
        page = hall.hello("booking")
        codes = [page.request("book", category="A", day="2026-11-23", slot=slot,
                              phone=f"1390000000{i}", id_digits="1234")["booking"]["booking"]
                 for i, slot in enumerate(("09:00", "10:00"))]
        hall.stop()
        plain = tmp_path / "plain.toml"
        plain.write_text(ROUND_THE_CLOCK, encoding="utf-8")
        said = hall.cli("import-hall", str(plain))
        assert ("注意：此次修改撤销 2 个尚未签到的预约（社保业务已停止预约 2 个），由服务器在几秒内撤销，"
                "不计为爽约。") in said
        hall.start()
        manager = hall.hello("manager")   # its hello works with them (not on the old code)
        statuses = {b["booking"]: b["status"] for b in manager.hello["snapshot"]["bookings"]}
        for code in codes:   # the server's tick withdraws them
            if statuses[code] != "withdrawn":
                manager.wait_event("booking", booking=code, status="withdrawn")
        refused = hall.hello("kiosk").request("check_in", code=codes[0])
        assert refused["error"]["message"] == f"预约 {codes[0]} 已撤销（大厅调整），不能签到"
        hall.stop()
        assert "撤销" not in hall.cli("import-hall", str(plain))   # none pending any more
    finally:
        hall.stop()


def test_five_wrong_proofs_for_a_code_refuse_its_cancellation_for_the_day(tmp_path):
    """The ID's last four digits are only 10,000 guesses: after 5 wrong phones or ID digits for
    one code, its cancellation is refused for the rest of the day, even with the right ones."""
    hall = LiveHall(tmp_path, "--simulate-from", START, "--book-limit", "0", hall_text=BOOKING_HALL)
    try:
        page = hall.hello("booking")
        code = page.request("book", category="A", day="2026-11-24", slot="10:00",
                            phone="13900000001", id_digits="1234")["booking"]["booking"]
        for guess in ("0000", "0001", "0002", "0003", "0004"):
            wrong = page.request("cancel_booking", code=code, id_digits=guess)
            assert wrong["error"]["code"] == "not_found"
        refused = page.request("cancel_booking", code=code, id_digits="1234")
        assert refused["error"] == {"code": "forbidden",
                                    "message": "该预约码今天已核对错误 5 次，今天不能在网上取消"}
        other = page.request("book", category="A", day="2026-11-24", slot="10:00",
                             phone="13900000002", id_digits="5678")["booking"]["booking"]
        assert page.request("cancel_booking", code=other, id_digits="5678")["ok"]
    finally:
        hall.stop()


def test_a_manager_lifts_a_phones_no_show_block_by_typing_the_number(tmp_path):
    """Two no-shows block a phone (the hall's limit is 2 here); the manager types the number,
    and the phone may book again; managers hear it, without the phone's keys."""
    text = BOOKING_HALL.replace("[hall]\n", "[hall]\nbooking_no_show_limit = 2\n", 1).replace(
        "share = 100\n", "share = 100\nper_phone_per_day = 2\n", 1)
    hall = LiveHall(tmp_path, "--simulate-from", START, "--book-limit", "0", "--speed", "600",
                    hall_text=text)
    try:
        page = hall.hello("booking")
        manager = hall.hello("manager")
        for slot in ("09:00", "09:30"):
            booked = page.request("book", category="A", day="2026-11-23", slot=slot,
                                  phone="13900000001", id_digits="1234")
            assert booked["ok"], booked
        blocked = manager.wait_event("booking_blocked", timeout=60)
        assert blocked["no_shows"] == 2
        refused = page.request("book", category="A", day="2026-11-24", slot="10:00",
                               phone="13900000001", id_digits="1234")
        assert refused["error"]["code"] == "forbidden"
        bad = manager.request("lift_booking_block", phone="123")
        assert bad["error"]["code"] == "bad_request"
        lifted = manager.request("lift_booking_block", phone="139 0000 0001")
        assert lifted["text"] == ("已解除手机号 139****0001 的预约限制（原限制到12月23日（周三）），"
                                  "该手机号现在可以预约")
        heard = manager.wait_event("booking_block_lifted")
        assert "phone_keys" not in heard and heard["until"] == "2026-12-23"
        again = manager.request("lift_booking_block", phone="13900000001")
        assert again["error"] == {"code": "conflict", "message": "该手机号目前没有被限制预约"}
        assert page.request("book", category="A", day="2026-11-24", slot="10:00",
                            phone="13900000001", id_digits="1234")["ok"]
    finally:
        hall.stop()


def test_an_address_books_at_most_its_daily_cap(tmp_path):
    """Phones are not verified: an address's bookings in a hall day are capped
    (`serve --book-day-limit`), whatever numbers it types; cancelling does not give one back."""
    hall = LiveHall(tmp_path, "--simulate-from", START, "--book-limit", "0",
                    "--book-day-limit", "3", hall_text=BOOKING_HALL)
    try:
        page = hall.hello("booking")
        made = [page.request("book", category="A", day="2026-11-24", slot="10:00",
                             phone=f"1390000000{i}", id_digits="1234") for i in range(3)]
        assert all(m["ok"] for m in made)
        assert page.request("cancel_booking", code=made[0]["booking"]["booking"],
                            id_digits="1234")["ok"]
        fourth = page.request("book", category="A", day="2026-11-25", slot="10:00",
                              phone="13900000009", id_digits="1234")
        assert fourth["error"] == {"code": "rate_limited",
                                   "message": "此网络今天已预约 3 个，请明天再试或到大厅现场取号"}
    finally:
        hall.stop()
    bad = subprocess.run([sys.executable, "-m", "queue_server.cli", "serve", "--book-day-limit", "x"],
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "QUEUE_DB": f"sqlite:///{hall.db}"})
    assert bad.returncode != 0 and "--book-day-limit 应为 0 或正整数（0 不限），而不是“x”" in bad.stderr


def test_the_booking_pages_hellos_are_limited_per_address(tmp_path):
    """The booking page needs no credential: its hellos are limited per address (240 at once,
    then one per 15 s), and each carries the hall's card and menu, not the hall's live state."""
    hall = LiveHall(tmp_path, "--simulate-from", START, hall_text=BOOKING_HALL)
    try:
        for _ in range(240):
            page = hall.client()
            reply = page.request("hello", role="booking")
            assert reply["ok"] and set(reply["snapshot"]) == {"hall"}, reply
            page.close()
        refused = hall.client().request("hello", role="booking")
        assert refused["error"] == {"code": "rate_limited", "message": "访问太频繁，请稍后再试"}
    finally:
        hall.stop()
