"""The login gate without sockets: the order in which tries are checked, and what is refused."""

from __future__ import annotations

import asyncio
import threading

import pytest

from queue_server.login_gate import PER_ADDRESS_WAITING, TOTAL_WAITING, LoginGate, LoginRefused
from queue_server.rate_limits import RateLimit


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
