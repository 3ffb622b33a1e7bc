"""The lockout in the database, under concurrency, on SQLite and PostgreSQL.

Thirty threads try one badge at once with wrong PINs: exactly five are evaluated, whatever the
interleaving, because each try is reserved in one atomic statement before its hash; the right
PIN after them is refused without a hash. An unknown badge is answered, counted and locked exactly like a real one.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from queue_server.hall_toml import parse_hall
from queue_server.store import accounts, hall_records
from queue_server.store.database import migrate, open_engine
from tests.conftest import SMALL_HALL


@pytest.fixture
def hall(db_url):
    engine = open_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        hall_id, _ = hall_records.save_definition(
            conn, parse_hall(SMALL_HALL.read_text(encoding="utf-8")), datetime.now(UTC))
    yield engine, hall_id
    engine.dispose()


@pytest.fixture
def counted_hashes(monkeypatch):
    """Count every PIN hash the login evaluates."""
    count = {"hashes": 0}
    lock = threading.Lock()
    real = accounts.verify_pin

    def verify(pin, stored):
        with lock:
            count["hashes"] += 1
        return real(pin, stored)

    monkeypatch.setattr(accounts, "verify_pin", verify)
    return count


def _storm(engine, hall_id, badge: str, pins: list[str], now: datetime) -> list[accounts.Login]:
    start = threading.Barrier(len(pins))

    def one(pin: str) -> accounts.Login:
        start.wait()
        return accounts.login(engine, hall_id, accounts.CLERK, badge, pin, now)

    with ThreadPoolExecutor(len(pins)) as pool:
        return list(pool.map(one, pins))


@pytest.mark.parametrize("badge", ["1002", "9999"])   # a real badge, and an unknown one
def test_thirty_simultaneous_wrong_guesses_get_at_most_five_hashes(hall, counted_hashes, badge):
    engine, hall_id = hall
    now = datetime.now(UTC)
    for _ in range(4):                  # four storms, each after the last one's lock ran out
        counted_hashes["hashes"] = 0
        results = _storm(engine, hall_id, badge, ["0000"] * 30, now)
        hashed = [r for r in results if r.hashed]
        assert counted_hashes["hashes"] == len(hashed) == accounts.LOCK_AFTER
        assert sum("已锁定 5 分钟" in r.message for r in hashed) == 1   # the fifth set the lock
        assert all("已锁定" in r.message for r in results if not r.hashed)
        # the right PIN now: refused without a hash until the lock runs out
        after = accounts.login(engine, hall_id, accounts.CLERK, badge, "2222", now)
        assert not after.ok and "分钟后再试" in after.message and not after.hashed
        now += accounts.LOCK_FOR + timedelta(seconds=1)


def test_a_right_pin_in_a_storm_of_wrong_ones_gets_in_only_among_the_first_five(
        hall, counted_hashes):
    """Whoever sends the right PIN among wrong ones knows it already: if its try is among the
    first five it logs in (and its success clears the count, as any success does); if not, it
    is refused like the rest. Never more than five wrong ones are checked before either."""
    engine, hall_id = hall
    now = datetime.now(UTC)
    for round_ in range(6):
        pins = ["0000"] * 29
        pins.insert(round_ * 5 % 30, "2222")
        results = _storm(engine, hall_id, "1002", pins, now)
        right = results[pins.index("2222")]
        if not right.ok:     # not among the first five: five wrong ones locked the badge first
            assert sum(r.hashed for r in results) <= accounts.LOCK_AFTER
        now += accounts.LOCK_FOR + timedelta(seconds=1)


def test_unknown_and_real_badges_get_the_same_answers(hall):
    engine, hall_id = hall
    now = datetime.now(UTC)
    for badge in ("1002", "9999"):
        answers = [accounts.login(engine, hall_id, accounts.CLERK, badge, "0000", now).message
                   for _ in range(6)]
        assert answers == ["工号或密码不正确（还可再试 4 次）", "工号或密码不正确（还可再试 3 次）",
                           "工号或密码不正确（还可再试 2 次）", "工号或密码不正确（还可再试 1 次）",
                           "密码连续输错 5 次，账号已锁定 5 分钟",
                           "密码连续输错 5 次，账号已锁定，请 5 分钟后再试"]


def test_a_right_pin_clears_the_count_and_a_new_pin_lifts_the_lock(hall):
    engine, hall_id = hall
    now = datetime.now(UTC)
    for _ in range(3):
        assert not accounts.login(engine, hall_id, accounts.CLERK, "1002", "0000", now).ok
    assert accounts.login(engine, hall_id, accounts.CLERK, "1002", "2222", now).ok
    assert accounts.login(engine, hall_id, accounts.CLERK, "1002", "0000", now).message.endswith(
        "还可再试 4 次）")
    for _ in range(4):
        accounts.login(engine, hall_id, accounts.CLERK, "1002", "0000", now)
    assert not accounts.login(engine, hall_id, accounts.CLERK, "1002", "2222", now).ok
    with engine.begin() as conn:
        assert hall_records.set_pin(conn, hall_id, "1002", "7777")
    assert accounts.login(engine, hall_id, accounts.CLERK, "1002", "7777", now).ok


def test_counts_are_forgotten_a_day_after_the_last_try(hall):
    engine, hall_id = hall
    now = datetime.now(UTC)
    accounts.login(engine, hall_id, accounts.CLERK, "4242", "0000", now)
    for _ in range(5):
        accounts.login(engine, hall_id, accounts.CLERK, "1002", "0000", now)
    later = now + accounts.FORGET_AFTER + timedelta(minutes=1)
    with engine.begin() as conn:
        assert accounts.forget_old_tries(conn, hall_id, now + timedelta(hours=23)) == 0
    with engine.begin() as conn:
        assert accounts.forget_old_tries(conn, hall_id, later) == 2
    assert accounts.login(engine, hall_id, accounts.CLERK, "4242", "0000", later).message.endswith(
        "还可再试 4 次）")
