"""Token buckets: `burst` acts at once, refilled evenly over `seconds`.

One kiosk connection's tickets (`serve --take-limit`), one address's login tries
(`serve --login-limit`), its 查询码 tries (`/q`) and its hall codes and tickets on the mobile
取号 page (`/take`), its complaints and its complaint status tries (`/ts`) are limited this way.
A burst of 0 means no limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    burst: int
    seconds: float

    def bucket(self, clock: Callable[[], float] = time.monotonic) -> Bucket:
        return Bucket(self, float(self.burst), clock(), clock)

    def __str__(self) -> str:
        """As written on the command line: `5/10`, or `0` for no limit."""
        return "0" if self.burst <= 0 else f"{self.burst}/{self.seconds:g}"

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """`N/SECONDS` as written on the command line, or `0` for no limit."""
        if text.strip() == "0":
            return cls(0, 1.0)
        burst, _, seconds = text.partition("/")
        try:
            limit = cls(int(burst), float(seconds))
        except ValueError:
            raise ValueError("应写成 次数/秒数，如 5/10；0 表示不限") from None
        if limit.burst < 1 or not limit.seconds > 0:
            raise ValueError("次数和秒数都应大于 0；0 表示不限")
        return limit


@dataclass
class Bucket:
    limit: RateLimit
    tokens: float
    at: float
    clock: Callable[[], float] = time.monotonic

    def take(self) -> bool:
        if self.limit.burst <= 0:
            return True
        now = self.clock()
        rate = self.limit.burst / self.limit.seconds
        self.tokens = min(self.limit.burst, self.tokens + (now - self.at) * rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    @property
    def full(self) -> bool:
        """Refilled to the brim by now: the same as a new bucket, so it may be forgotten."""
        elapsed = self.clock() - self.at
        return self.tokens + elapsed * self.limit.burst / self.limit.seconds >= self.limit.burst


FORGET_BUCKETS_OVER = 4096      # addresses remembered before the full buckets are dropped


class PerAddress:
    """One bucket per client address, under one limit."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.clock = clock
        self.buckets: dict[str, Bucket] = {}

    def bucket(self, address: str) -> Bucket:
        bucket = self.buckets.get(address)
        if bucket is None:
            if len(self.buckets) > FORGET_BUCKETS_OVER:   # many addresses: forget the refilled
                self.buckets = {a: b for a, b in self.buckets.items() if not b.full}
            bucket = self.buckets[address] = self.limit.bucket(self.clock)
        return bucket

    def take(self, address: str) -> bool:
        return self.bucket(address).take()

    def __len__(self) -> int:
        return len(self.buckets)


TAKE_LIMIT = RateLimit(5, 10.0)     # a kiosk connection's tickets: 5 at once, 5 more per 10 s
MOBILE_TAKE_LIMIT = RateLimit(5, 60.0)   # an address's tickets on the mobile page (`/take`)
COMPLAIN_LIMIT = RateLimit(3, 600.0)   # an address's complaints: 3 at once, one more per 200 s
STATUS_LIMIT = RateLimit(10, 60.0)   # an address's complaint status tries (`/s`): then one per 6 s
LOGIN_LIMIT = RateLimit(20, 60.0)   # an address's login tries: 20 at once, then one per 3 s
