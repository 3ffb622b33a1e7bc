"""Commands per second through HallState in process (no I/O): the core's own speed.

Goal (issue 2): ≥ 50,000 commands/s. Prints one line per hall.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.hall_day import OPENING, drive_day
from bench.sim.model import load
from queue_server.hall_state import HallState


def measure(name: str, tickets: int) -> float:
    hall = load(name)
    state = HallState(hall, OPENING.date())

    def execute(command, now):
        return state.roll_to(now) + state.handle(command, now)

    started = time.perf_counter()
    sent = drive_day(execute, hall, tickets)
    elapsed = time.perf_counter() - started
    assert state.consistency_problems() == []
    rate = sent / elapsed
    print(f"core throughput, {name}: {sent} commands in {elapsed:.3f} s = {rate:,.0f} commands/s")
    return rate


if __name__ == "__main__":
    measure("demo-town", 500)
    measure("county", 10_000)
