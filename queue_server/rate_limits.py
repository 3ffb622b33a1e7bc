"""Token buckets: `burst` acts at once, refilled evenly over `seconds`.

One kiosk connection's tickets (`serve --take-limit`), one address's login tries
(`serve --login-limit`), its 查询码 tries (`/q`) and its hall codes and tickets on the mobile
取号 page (`/take`), its complaints and its complaint status tries (`/ts`), its looks at a 代办
case's follow page (`/p/<case>`), its bookings and cancellations (`/book`) are limited this way.
A burst of 0 means no limit.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

V = TypeVar("V")


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
        if not self.ready:
            return False
        if self.limit.burst > 0:
            self.tokens -= 1
        return True

    @property
    def ready(self) -> bool:
        """Whether a `take` now would pass (the bucket refilled to now, nothing taken)."""
        if self.limit.burst <= 0:
            return True
        now = self.clock()
        rate = self.limit.burst / self.limit.seconds
        self.tokens = min(self.limit.burst, self.tokens + (now - self.at) * rate)
        self.at = now
        return self.tokens >= 1


MAX_ADDRESSES = 4096   # addresses remembered at most: beyond, the least recently seen is forgotten


def address_key(address: str) -> str:
    """What a limit counts by: an IPv4 address as it is (an IPv4-mapped IPv6 one too), an IPv6
    address by its /64, the block one subscriber or one LAN is given: from a /64 one client
    can use as many addresses as it likes."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class Recent(OrderedDict[str, V]):
    """A map of at most `cap` keys, the least recently used forgotten first: inserting and
    forgetting cost the same whatever the number of keys, so a flood of new addresses costs
    the event loop nothing more than its own length."""

    def __init__(self, cap: int = MAX_ADDRESSES):
        super().__init__()
        self.cap = cap

    def touch(self, key: str) -> V | None:
        """The value of `key`, now the most recently used; None if it is not (or no longer)
        remembered."""
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def put(self, key: str, value: V) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.cap:
            self.popitem(last=False)


class PerAddress:
    """One bucket per client address (`address_key`: an IPv6 /64 as one), under one limit; the
    buckets of the `MAX_ADDRESSES` addresses seen most recently are kept (one forgotten is as
    a new one: full)."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic,
                 cap: int = MAX_ADDRESSES):
        self.limit = limit
        self.clock = clock
        self.buckets: Recent[Bucket] = Recent(cap)

    def bucket(self, address: str) -> Bucket:
        key = address_key(address)
        bucket = self.buckets.touch(key)
        if bucket is None:
            bucket = self.limit.bucket(self.clock)
            self.buckets.put(key, bucket)
        return bucket

    def take(self, address: str) -> bool:
        return self.bucket(address).take()

    def __len__(self) -> int:
        return len(self.buckets)


TAKE_LIMIT = RateLimit(5, 10.0)     # a kiosk connection's tickets: 5 at once, 5 more per 10 s
MOBILE_TAKE_LIMIT = RateLimit(5, 60.0)   # an address's tickets on the mobile page (`/take`)
COMPLAIN_LIMIT = RateLimit(3, 600.0)   # an address's complaints: 3 at once, one more per 200 s
STATUS_LIMIT = RateLimit(10, 60.0)   # an address's complaint status tries (`/s`): then one per 6 s
BOOK_LIMIT = RateLimit(5, 600.0)   # an address's bookings and cancellations (/book): then one per 2 min
BOOK_HELLO_LIMIT = RateLimit(240, 3600.0)   # the booking page's hellos per address: then one per 15 s
BOOK_DAY_LIMIT = 20   # an address's bookings in one hall day (/book; phones are not verified)


class PerAddressDay:
    """How many times each client address (`address_key`) did something in one hall day,
    against a cap (0: none); the `MAX_ADDRESSES` addresses seen most recently are kept."""

    def __init__(self, cap: int, addresses: int = MAX_ADDRESSES):
        self.cap = cap
        self.day: date | None = None
        self.counts: Recent[int] = Recent(addresses)

    def take(self, address: str, day: date) -> bool:
        """Whether `address` may do it once more on `day`, counted at once if so (before it is
        done, so that many at once cannot all pass the cap); `give_back` if it was not done."""
        if day != self.day:
            self.day, self.counts = day, Recent(self.counts.cap)
        key = address_key(address)
        done = self.counts.touch(key) or 0
        if self.cap > 0 and done >= self.cap:
            return False
        self.counts.put(key, done + 1)
        return True

    def give_back(self, address: str, day: date) -> None:
        """One `take` of `address` on `day` that was not done after all."""
        done = self.counts.touch(address_key(address)) if day == self.day else None
        if done:
            self.counts.put(address_key(address), done - 1)


LOGIN_LIMIT = RateLimit(20, 60.0)   # an address's login tries: 20 at once, then one per 3 s
