"""The booking page's limits against abuse, with many clients acting at once on the real server
(a simulated Monday 08:00): the per-address burst and day cap, the per-phone day limit, the
hello limit, the wrong proofs that lock a code's cancellation, and a block lifted while the
phone books. Each client is its own connection; the ones "from another address" connect from
another loopback address (127.0.0.x), which the server counts apart."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from websockets.asyncio.client import ClientConnection, connect

from bench.booking_race import BOOKING_HALL, START
from tests.live_hall import LiveHall

DAY = "2026-11-24"   # the Tuesday after the simulated Monday
SLOTS = ("08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30")
BUSY = "操作太频繁，请稍后再试"
LOCKED = "该预约码今天已核对错误 5 次，今天不能在网上取消"
WRONG = "预约码与手机号（或身份证后四位）不符，请核对"


async def pages(url: str, count: int, spread: bool = False) -> list[ClientConnection]:
    """`count` connections, each said hello as the booking page; `spread`: each from an address
    of its own (127.0.0.10, 127.0.0.11, …), else all from 127.0.0.1."""
    connections = [await connect(url, open_timeout=30, max_size=None,
                                 local_addr=(f"127.0.0.{10 + i}" if spread else "127.0.0.1", 0))
                   for i in range(count)]
    for ws in connections:
        assert (await ask(ws, "hello", role="booking"))["ok"]
    return connections


async def ask(ws: ClientConnection, op: str, **params) -> dict:
    """One request on `ws`, its reply (the events between are skipped)."""
    await ws.send(json.dumps({"id": op, "op": op, **params}))
    while True:
        message = json.loads(await ws.recv())
        if message.get("re") == op:
            return message


def outcome(reply: dict) -> str:
    """"ok", or the refusal's words."""
    return "ok" if reply["ok"] else reply["error"]["message"]


async def at_once(requests) -> list[dict]:
    """The replies of requests sent together, in their order."""
    return list(await asyncio.gather(*requests))


async def close(connections: list[ClientConnection]) -> None:
    await asyncio.gather(*(ws.close() for ws in connections))


def book(ws: ClientConnection, i: int, phone: str | None = None):
    return ask(ws, "book", category="A", day=DAY, slot=SLOTS[i % len(SLOTS)],
               phone=phone or f"139{i:08d}", id_digits="1234")


def test_an_address_booking_many_at_once_gets_exactly_its_burst(tmp_path):
    """`--book-limit 5/600`: 20 bookings sent at once from one address, each with its own phone
    and room in its slot: exactly 5 are made, 15 refused in words."""
    hall = LiveHall(tmp_path, "--simulate-from", START, "--book-limit", "5/600",
                    "--book-day-limit", "0", hall_text=BOOKING_HALL)

    async def run() -> Counter[str]:
        connections = await pages(hall.ws, 20)
        try:
            replies = await at_once(book(ws, i) for i, ws in enumerate(connections))
            return Counter(outcome(r) for r in replies)
        finally:
            await close(connections)

    try:
        assert asyncio.run(run()) == {"ok": 5, BUSY: 15}
    finally:
        hall.stop()


def test_an_address_booking_many_at_once_makes_exactly_its_daily_cap(tmp_path):
    """`--book-day-limit 3`, no burst limit: 3 bookings of a slot already begun, sent at once,
    are refused by the core and not counted; then 20 bookings sent at once from the address
    make exactly 3, the others refused with the cap's words; another address still books."""
    hall = LiveHall(tmp_path, "--simulate-from", START, "--book-limit", "0",
                    "--book-day-limit", "3", hall_text=BOOKING_HALL)

    async def run() -> tuple[Counter[str], dict]:
        connections = await pages(hall.ws, 20)
        try:
            begun = await at_once(ask(ws, "book", category="A", day="2026-11-23", slot="08:00",
                                      phone=f"1380000000{i}", id_digits="1234")
                                  for i, ws in enumerate(connections[:3]))
            assert {outcome(r) for r in begun} == {"08:00–08:30这个时段已开始，请选择稍后的时段"}
            replies = await at_once(book(ws, i) for i, ws in enumerate(connections))
            again = await book(connections[0], 99)
            assert outcome(again) == "此网络今天已预约 3 个，请明天再试或到大厅现场取号"
            (other,) = await pages(hall.ws, 1, spread=True)
            elsewhere = await book(other, 98)
            await other.close()
            return Counter(outcome(r) for r in replies), elsewhere
        finally:
            await close(connections)

    try:
        outcomes, elsewhere = asyncio.run(run())
        assert outcomes == {"ok": 3, "此网络今天已预约 3 个，请明天再试或到大厅现场取号": 17}
        assert elsewhere["ok"], elsewhere
    finally:
        hall.stop()


def test_one_phone_booking_from_many_addresses_at_once_gets_its_day_limit(tmp_path):
    """A phone may book 2 a day here; 20 addresses book the same day with it at once, each its
    own slot-room, each address allowed one booking (`--book-limit 1/600`, so the 2 accepted
    prove the server tells the addresses apart): exactly 2 made, 18 refused by the phone's
    limit."""
    text = BOOKING_HALL.replace("share = 100\n", "share = 100\nper_phone_per_day = 2\n", 1)
    hall = LiveHall(tmp_path, "--simulate-from", START, "--book-limit", "1/600", hall_text=text)

    async def run() -> Counter[str]:
        connections = await pages(hall.ws, 20, spread=True)
        try:
            replies = await at_once(book(ws, i, phone="13900000001")
                                    for i, ws in enumerate(connections))
            return Counter(outcome(r) for r in replies)
        finally:
            await close(connections)

    try:
        assert asyncio.run(run()) == {
            "ok": 2, "该手机号已预约了11月24日（周二）的号（每个手机号每天最多预约 2 个）": 18}
    finally:
        hall.stop()


def test_the_booking_pages_hellos_at_once_from_one_address_stop_at_the_limit(tmp_path):
    """300 booking pages of one address say hello at once: 240 are answered (the limit), 60
    refused in words."""
    hall = LiveHall(tmp_path, "--simulate-from", START, hall_text=BOOKING_HALL)

    async def run() -> Counter[str]:
        connections = [await connect(hall.ws, open_timeout=30, max_size=None) for _ in range(300)]
        try:
            replies = await at_once(ask(ws, "hello", role="booking") for ws in connections)
            return Counter(outcome(r) for r in replies)
        finally:
            await close(connections)

    try:
        assert asyncio.run(run()) == {"ok": 240, "访问太频繁，请稍后再试": 60}
    finally:
        hall.stop()


def booking_status(hall: LiveHall, code: str) -> str:
    """"booked" or "cancelled", as the kiosk's check-in says (on the Monday, a booking for the
    Tuesday is still to come, or cancelled)."""
    kiosk = hall.hello("kiosk")
    try:
        error = kiosk.request("check_in", code=code)["error"]
    finally:
        kiosk.close()
    if error["message"] == f"预约 {code} 已取消，不能签到":
        return "cancelled"
    assert error["code"] == "closed", error
    return "booked"


def test_twenty_wrong_proofs_at_once_check_five_and_lock_the_codes_cancellation(tmp_path):
    """20 cancellations of one code with wrong ID digits, sent at once: only 5 are checked
    (不符), 15 refused by the lock, and the right digits after are refused too; the booking
    stays. A code with 4 wrong proofs gets its right one and 10 wrong ones at once (the right
    one sent first, or in the middle): as if one after another, exactly one more wrong one is
    checked, and the right one cancels the booking if it came before that one, else is refused
    by the lock."""
    hall = LiveHall(tmp_path, "--simulate-from", START, "--book-limit", "0", hall_text=BOOKING_HALL)

    async def run(code: str, right: str | None = None, at: int = 0) -> list[dict]:
        """20 wrong proofs for `code` at once; or 10, with the `right` one sent `at` their
        place."""
        connections = await pages(hall.ws, 20 if right is None else 11)
        try:
            proofs = [f"{i:04d}" for i in range(len(connections))]
            if right is not None:
                proofs[at] = right
            return await at_once(ask(ws, "cancel_booking", code=code, id_digits=proof)
                                 for ws, proof in zip(connections, proofs, strict=True))
        finally:
            await close(connections)

    try:
        page = hall.hello("booking")
        code = page.request("book", category="A", day=DAY, slot="10:00", phone="13900000001",
                            id_digits="1234")["booking"]["booking"]
        assert Counter(outcome(r) for r in asyncio.run(run(code))) == {WRONG: 5, LOCKED: 15}
        assert page.request("cancel_booking", code=code, id_digits="1234")["error"] == {
            "code": "forbidden", "message": LOCKED}
        assert page.request("cancel_booking", code=code, phone="13900000001")["error"]["message"] \
            == LOCKED
        assert booking_status(hall, code) == "booked"

        for i, at in enumerate((0, 5)):
            other = page.request("book", category="A", day=DAY, slot="10:00",
                                 phone=f"1390000001{i}", id_digits="5678")["booking"]["booking"]
            for guess in ("9000", "9001", "9002", "9003"):
                assert outcome(page.request("cancel_booking", code=other, id_digits=guess)) == WRONG
            replies = asyncio.run(run(other, "5678", at))
            right = replies.pop(at)
            assert Counter(outcome(r) for r in replies) == {WRONG: 1, LOCKED: 9}
            assert outcome(right) in ("ok", LOCKED)
            assert booking_status(hall, other) == ("cancelled" if right["ok"] else "booked")
    finally:
        hall.stop()


def test_a_block_lifted_while_the_phone_books_at_once_lets_exactly_one_booking_through(tmp_path):
    """A phone blocked by 2 no-shows (the hall's limit here) books from 20 addresses while a
    manager lifts its block, all at once (the lift sent amid the bookings), then 5 more at
    once: each booking decided before the lift is refused by the block, and of those after it
    exactly one is made (one a day per phone), after the lift in the log."""
    from queue_server import bookings
    from queue_server import events as ev
    from queue_server.store import booking_salts
    from queue_server.store.database import open_engine

    text = BOOKING_HALL.replace("[hall]\n", "[hall]\nbooking_no_show_limit = 2\n", 1)
    hall = LiveHall(tmp_path, "--simulate-from", START, hall_text=text)
    hall.stop()
    engine = open_engine(f"sqlite:///{hall.db}")
    with engine.begin() as conn:
        _, (salt,) = booking_salts.salts(conn, 1, bookings.salt_period(date(2026, 11, 23)))
    engine.dispose()
    phone = "13900000001"
    key = bookings.phone_key(salt, phone)
    hall.log_earlier(date(2026, 11, 19), datetime(2026, 11, 19, 9, tzinfo=ZoneInfo("Asia/Shanghai")), [
        ev.BookingMade("00000001", "A", None, "2026-11-19", "10:00", key, "i1"),
        ev.BookingMade("00000002", "A", None, "2026-11-20", "10:00", key, "i2"),
        ev.BookingReleased("00000001"), ev.DayStarted("2026-11-20"),
        ev.BookingReleased("00000002"), ev.DayStarted("2026-11-23")])
    hall.start()

    async def run() -> tuple[Counter[str], dict, Counter[str]]:
        connections = await pages(hall.ws, 25, spread=True)
        manager = await connect(hall.ws, open_timeout=30)
        user, password = "zhuren", "hall-manager-1"
        assert (await ask(manager, "hello", role="manager", user=user, password=password))["ok"]
        try:
            during = [book(ws, i, phone) for i, ws in enumerate(connections[:20])]
            first = await at_once([*during[:10], ask(manager, "lift_booking_block", phone=phone),
                                   *during[10:]])
            lifted = first.pop(10)
            later = await at_once(book(ws, i, phone) for i, ws in enumerate(connections[20:]))
            return Counter(outcome(r) for r in first), lifted, Counter(outcome(r) for r in later)
        finally:
            await close([*connections, manager])

    try:
        blocked = "该手机号近 30 天内预约后未到 2 次，12月20日（周日）及以前不能预约；现场取号不受影响"
        page = hall.hello("booking")
        assert outcome(page.request("book", category="A", day=DAY, slot="10:00", phone=phone,
                                    id_digits="1234")) == blocked
        during, lifted, later = asyncio.run(run())
        assert lifted["ok"], lifted
        full = "该手机号已预约了11月24日（周二）的号（每个手机号每天最多预约 1 个）"
        assert set(during) | set(later) <= {"ok", blocked, full}
        assert during["ok"] + later["ok"] == 1
        assert later[blocked] == 0
        with sqlite3.connect(hall.db) as db:
            kinds = [kind for kind, data in db.execute(
                "SELECT kind, data FROM events WHERE kind IN ('booking_made', 'booking_block_lifted')"
                " ORDER BY seq") if kind != "booking_made" or json.loads(data)["phone_key"] == key]
        assert kinds[-2:] == ["booking_block_lifted", "booking_made"]
    finally:
        hall.stop()
