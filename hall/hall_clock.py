"""The hall's clock on a device: what every on-screen clock and date shows, and what the kiosk
judges the hall's hours by.

Every hello reply brings the server's hall clock, `now`, and how fast it runs, `clock_speed`
(1 on a real clock; N for `queue-server serve --simulate-from … --speed N`, the demo at night).
A device's own clock may be off, or the server's may be simulated; from the last hello the
device keeps the difference and runs on at the hall's speed:

    hall time = machine time at the hello + behind + (machine time since the hello) × speed

At speed 1 that is the machine's time plus `behind`, as long as the machine's clock runs; at
speed N the minutes pass N times as fast, as in the hall. Each hello (each reconnect) takes
both again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

CLOCK_TOLERANCE = timedelta(seconds=5)


def clock_behind(hall_now: str | None, here: datetime) -> timedelta:
    """How far this machine's clock is behind the hall's, from the `now` a hello reply brings.
    Within `CLOCK_TOLERANCE` (the reply's own travel), none."""
    if not hall_now:
        return timedelta(0)
    try:
        behind = datetime.fromisoformat(hall_now) - here
    except ValueError:
        return timedelta(0)
    return behind if abs(behind) > CLOCK_TOLERANCE else timedelta(0)


def clock_speed(value: Any) -> float:
    """The reply's `clock_speed`, or 1 where it gives none that makes sense (an older server)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return 1.0
    return float(value)


class HallClock:
    """Call it for the hall's time now (aware). Before the first hello, the machine's time."""

    def __init__(self, wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.wall_clock = wall_clock      # the machine's own time (aware); injected by tests
        self.behind = timedelta(0)        # how far this machine's clock was behind at the hello
        self.speed = 1.0
        self.since: datetime | None = None   # the machine's time at the last hello

    def follow(self, reply: Mapping[str, Any]) -> None:
        """Take the hall's clock from a hello reply (its `now` and `clock_speed`)."""
        here = self.wall_clock()
        self.since = here
        self.behind = clock_behind(reply.get("now"), here)
        self.speed = clock_speed(reply.get("clock_speed"))

    def __call__(self) -> datetime:
        here = self.wall_clock()
        if self.since is None:
            return here
        return self.since + self.behind + (here - self.since) * self.speed
