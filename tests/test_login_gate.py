"""The login gate without sockets: the order in which tries are checked, and what is refused."""

from __future__ import annotations

import asyncio
import threading

import pytest

from queue_server.login_gate import PER_ADDRESS_WAITING, TOTAL_WAITING, LoginGate, LoginRefused
from queue_server.rate_limits import MAX_ADDRESSES, PerAddress, RateLimit, address_key


class Checks:
    """Login checks that block until released, recording the order they ran in."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.release = threading.Event()

    def make(self, name: str):
        def check() -> str:
            self.order.append(name)
            self.release.wait(10)
            return name
        return check


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0.01)


def test_addresses_take_turns_so_a_flood_does_not_hold_up_a_real_login():
    async def scenario():
        gate, checks = LoginGate(RateLimit(0, 1), threads=1), Checks()
        flood = [asyncio.create_task(gate.check("10.0.0.9", checks.make(f"flood-{i}")))
                 for i in range(PER_ADDRESS_WAITING)]
        await _settle()
        real = asyncio.create_task(gate.check("10.0.0.1", checks.make("real")))
        await _settle()
        checks.release.set()
        assert await real == "real"
        await asyncio.gather(*flood)
        gate.close()
        return checks.order

    order = asyncio.run(scenario())
    # flood-0 was running; the real login, the first try of its address, goes next
    assert order[:2] == ["flood-0", "real"]
    assert len(order) == PER_ADDRESS_WAITING + 1


def test_an_address_over_its_limit_is_refused_before_any_check():
    async def scenario():
        gate, checks = LoginGate(RateLimit(3, 60)), Checks()
        checks.release.set()
        results = await asyncio.gather(*(gate.check("10.0.0.9", checks.make(str(i)))
                                         for i in range(5)), return_exceptions=True)
        other = await gate.check("10.0.0.1", checks.make("other"))
        gate.close()
        return results, other, checks.order, gate.figures()

    results, other, order, figures = asyncio.run(scenario())
    assert results[:3] == ["0", "1", "2"]
    assert all(isinstance(r, LoginRefused) and "频繁" in str(r) for r in results[3:])
    assert other == "other" and len(order) == 4
    assert figures["checked"] == 4 and figures["refused"] == 2


def test_waiting_is_bounded_per_address_and_in_all_and_a_new_address_still_gets_a_place():
    async def scenario():
        gate, checks = LoginGate(RateLimit(0, 1), threads=1), Checks()
        running = asyncio.create_task(gate.check("10.0.0.200", checks.make("running")))
        await _settle()
        # 10.0.0.9: its first try goes first; 8 more wait in its own queue; the next is refused
        own = [asyncio.create_task(gate.check("10.0.0.9", checks.make(f"9-{i}")))
               for i in range(PER_ADDRESS_WAITING + 2)]
        await _settle()
        assert isinstance(own[-1].exception(), LoginRefused)
        others = [asyncio.create_task(gate.check(f"10.0.1.{i}", checks.make(f"o-{i}")))
                  for i in range(TOTAL_WAITING - PER_ADDRESS_WAITING - 1)]
        await _settle()
        assert gate.waiting_count == TOTAL_WAITING
        newcomer = asyncio.create_task(gate.check("10.0.2.1", checks.make("newcomer")))
        await _settle()
        # the busiest address (8 waiting) gave up its newest place to the newcomer
        assert isinstance(own[-2].exception(), LoginRefused)
        assert not newcomer.done() and gate.waiting_count == TOTAL_WAITING
        late = asyncio.create_task(gate.check("10.0.1.0", checks.make("late")))
        await _settle()
        # 10.0.1.0's second try: none of its own waits in the round, 10.0.0.9 still has 7
        assert not late.done() and isinstance(own[-3].exception(), LoginRefused)
        checks.release.set()
        await asyncio.gather(running, newcomer, late, *others, *own[:-3])
        gate.close()
        return checks.order

    order = asyncio.run(scenario())
    first_tries = ["running", "9-0", *(f"o-{i}" for i in range(23)), "newcomer"]
    assert order[:len(first_tries)] == first_tries          # first tries, in order of arrival
    assert order[len(first_tries):] == ["9-1", "late", *(f"9-{i}" for i in range(2, 7))]


@pytest.mark.parametrize("text", ["0", "5/10", "20/60"])
def test_rate_limits_parse(text):
    limit = RateLimit.parse(text)
    assert str(limit) == text       # as `serve --help` shows the defaults
    assert (limit.burst, limit.seconds) == ((0, 1.0) if text == "0" else tuple(
        float(x) if i else int(x) for i, x in enumerate(text.split("/"))))


@pytest.mark.parametrize("text", ["", "5", "a/b", "0/10", "5/0", "-1/3"])
def test_rate_limits_refuse_nonsense(text):
    with pytest.raises(ValueError, match="0 表示不限"):
        RateLimit.parse(text)


def test_the_buckets_per_address_are_a_bounded_map_that_forgets_the_least_recently_seen():
    """A flood of hellos from new addresses (no credential needed on `/take`) costs a bounded
    amount of work per address: the map never holds more than its cap, inserting drops exactly
    the least recently seen one, and an address kept busy keeps its (emptied) bucket."""
    now = [1000.0]
    limits = PerAddress(RateLimit(2, 60), lambda: now[0], cap=100)
    busy = "198.51.100.7"
    for _ in range(2):
        assert limits.take(busy)
    assert not limits.take(busy)
    for i in range(20_000):
        limits.take(f"2001:db8:{i // 65536:x}:{i % 65536:x}::1")   # 20,000 different /64s
        if i % 50 == 0:
            assert not limits.take(busy)   # seen again: still empty, never forgotten
        assert len(limits) <= 100
        now[0] += 0.0001
    kept = list(limits.buckets)
    assert kept[-1] == "2001:db8:0:4e1f::/64" and len(kept) == 100
    assert "2001:db8:0:4e1e::/64" in kept and "2001:db8:0:4d00::/64" not in kept


def test_an_ipv6_slash_64_is_one_address_and_ipv4_mapped_is_ipv4():
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:ffff::9") == (
        "2001:db8:1:2::/64")
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.1") == address_key("192.0.2.1") == "192.0.2.1"
    limits = PerAddress(RateLimit(3, 60), lambda: 0.0)
    assert [limits.take(f"2001:db8::{i:x}") for i in range(4)] == [True, True, True, False]


def test_the_gate_remembers_a_bounded_number_of_addresses():
    async def scenario():
        gate, checks = LoginGate(RateLimit(0, 1)), Checks()
        checks.release.set()
        for i in range(MAX_ADDRESSES + 500):
            await gate.check(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", checks.make(str(i)))
        gate.close()
        return gate

    gate = asyncio.run(scenario())
    assert len(gate.last_try) == MAX_ADDRESSES and len(gate.tries) == MAX_ADDRESSES
