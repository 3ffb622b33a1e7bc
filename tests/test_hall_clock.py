"""The hall's clock on a device (`hall.hall_clock`): taken from each hello reply's `now` and
`clock_speed`, kept as a difference beyond the reply's travel, run on at the hall's speed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hall.hall_clock import CLOCK_TOLERANCE, HallClock, clock_behind, clock_speed


class MachineClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_a_device_follows_the_halls_clock_only_beyond_the_replys_travel():
    here = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)
    assert clock_behind("2026-12-08T08:30:00+08:00", here) == timedelta(hours=2, minutes=30)
    assert clock_behind((here + CLOCK_TOLERANCE).isoformat(), here) == timedelta(0)
    assert clock_behind((here + timedelta(minutes=3)).isoformat(), here) == timedelta(minutes=3)
    assert clock_behind(None, here) == clock_behind("not a time", here) == timedelta(0)


def test_the_halls_clock_runs_at_the_speed_the_hello_says_and_each_hello_takes_it_again():
    machine = MachineClock(datetime(2026, 12, 7, 19, 25, tzinfo=UTC))   # 03:25 in Beijing
    clock = HallClock(machine)
    assert clock() == machine.now                                      # before any hello
    clock.follow({"now": "2026-11-23T09:00:00+08:00", "clock_speed": 60})
    assert clock() == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    machine.now += timedelta(seconds=30)
    assert clock() == datetime(2026, 11, 23, 1, 30, tzinfo=UTC)        # 30 s here, 30 min there
    clock.follow({"now": "2026-11-23T10:00:00+08:00", "clock_speed": 1})   # a reconnect
    machine.now += timedelta(minutes=2)
    assert clock() == datetime(2026, 11, 23, 2, 2, tzinfo=UTC)
    clock.follow({"now": machine.now.isoformat()})                     # an older server: speed 1
    machine.now += timedelta(minutes=1)
    assert clock() == machine.now


def test_a_speed_that_makes_no_sense_is_taken_as_1():
    assert [clock_speed(v) for v in (None, 0, -2, True, "60", 2.5)] == [1.0] * 5 + [2.5]
