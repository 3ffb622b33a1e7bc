"""Which login tries get their slow hash checked, and when: so that a flood cannot slow a real clerk.

A PIN or password check costs a scrypt (about 50 ms of a core). A flood of wrong hellos would,
on a shared thread pool, make every real login wait behind it. The gate stands before the hash:

- **A limit per address** (`serve --login-limit`, default 20 tries at once, then one every
  3 s): a flood from one address is refused at once with `rate_limited`, before any hash or
  database work.
- **Fair turns between addresses.** The first try of an address not heard from for a minute
  (a clerk logging in) goes first, in order of arrival. Other tries wait in one queue per
  address, and the hashing threads (two: this is a 2-core box's worth) take the next try from
  each waiting address in turn. A real login is therefore checked next, or at worst after one
  try of every address ahead of it, not after the whole flood.
- **Bounded, fairly shared waiting.** At most `PER_ADDRESS_WAITING` tries of one address and
  `TOTAL_WAITING` tries in all may wait (a round of turns is then at most 16 hashes per thread,
  under a second). When all places are taken, a try from an address with fewer tries waiting
  than the busiest one takes the busiest one's newest place (that try is refused), so a clerk at
  a new address still gets in during a flood from many addresses; otherwise the new try is
  refused at once ("please try again in a few seconds") rather than queued without end.

The hashing threads are the gate's own, so a long report (which runs on the default pool) never
holds up a login, nor a login flood a report.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from queue_server.rate_limits import LOGIN_LIMIT, PerAddress, RateLimit, Recent, address_key

T = TypeVar("T")

HASH_THREADS = 2
PER_ADDRESS_WAITING = 8
TOTAL_WAITING = 32
FRESH_SECONDS = 60.0            # an address quiet this long gets its next try checked first


BUSY = "正在核对的登录太多，请稍候几秒再试"


class LoginRefused(Exception):
    """Not checked at all: too many tries from this address, or too many waiting."""


@dataclass(slots=True)
class _Try:
    check: Callable[[], Any]
    done: asyncio.Future


class LoginGate:
    def __init__(self, limit: RateLimit = LOGIN_LIMIT, threads: int = HASH_THREADS,
                 clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.threads = threads
        self.clock = clock
        self.tries = PerAddress(limit, clock)
        self.last_try: Recent[float] = Recent()
        self.fresh: deque[_Try] = deque()          # first tries of quiet addresses, in order
        self.waiting: OrderedDict[str, deque[_Try]] = OrderedDict()   # the others, by address
        self.waiting_count = 0
        self.running = 0
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="login-hash")
        self.checked = 0            # for /healthz
        self.refused = 0

    async def check(self, address: str, check: Callable[[], T]) -> T:
        """Run `check` (a blocking login check) on a hashing thread when this address's turn
        comes; raise LoginRefused without running it when the address or the queue is over
        its limit."""
        address = address_key(address)   # an IPv6 /64 is one address, as for its tries
        if not self.tries.take(address):
            self.refused += 1
            raise LoginRefused("登录尝试过于频繁，请 1 分钟后再试")
        fresh = self._first_in_a_while(address)
        queue = self.waiting.get(address)
        mine = 0 if fresh or queue is None else len(queue)
        if mine >= PER_ADDRESS_WAITING or (self.waiting_count >= TOTAL_WAITING
                                           and not self._make_room(mine)):
            self.refused += 1
            raise LoginRefused(BUSY)
        attempt = _Try(check, asyncio.get_running_loop().create_future())
        if fresh:
            self.fresh.append(attempt)
        else:
            self.waiting.setdefault(address, deque()).append(attempt)
        self.waiting_count += 1
        self._start_next()
        return await attempt.done

    def _first_in_a_while(self, address: str) -> bool:
        now = self.clock()
        last = self.last_try.touch(address)
        fresh = last is None or now - last > FRESH_SECONDS
        self.last_try.put(address, now)
        return fresh

    def _make_room(self, mine: int) -> bool:
        """Free a place for an address with `mine` tries waiting, taken from the address with
        the most, if it has more; False when every address waits as few as this one."""
        if not self.waiting:          # all places are first tries: none is taken from
            return False
        address, queue = max(self.waiting.items(), key=lambda item: len(item[1]))
        if len(queue) <= mine:
            return False
        bumped = queue.pop()
        if not queue:
            del self.waiting[address]
        self.waiting_count -= 1
        self.refused += 1
        if not bumped.done.done():
            bumped.done.set_exception(LoginRefused(BUSY))
        return True

    def _start_next(self) -> None:
        loop = asyncio.get_running_loop()
        while self.running < self.threads and (self.fresh or self.waiting):
            if self.fresh:
                attempt = self.fresh.popleft()
            else:
                address, queue = next(iter(self.waiting.items()))
                attempt = queue.popleft()
                if queue:
                    self.waiting.move_to_end(address)    # its next try waits for the others'
                else:
                    del self.waiting[address]
            self.waiting_count -= 1
            if attempt.done.done():                  # its connection is gone
                continue
            self.running += 1
            running = loop.run_in_executor(self.executor, attempt.check)
            running.add_done_callback(partial(self._finished, attempt))

    def _finished(self, attempt: _Try, result: asyncio.Future) -> None:
        self.running -= 1
        self.checked += 1
        if not attempt.done.done():
            if result.cancelled():                   # the server is stopping
                attempt.done.cancel()
            elif (error := result.exception()) is not None:
                attempt.done.set_exception(error)
            else:
                attempt.done.set_result(result.result())
        self._start_next()

    def figures(self) -> dict[str, int]:
        return {"checked": self.checked, "refused": self.refused, "waiting": self.waiting_count,
                "addresses_limited": len(self.tries)}

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
