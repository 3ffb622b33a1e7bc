"""Rebuilding a day of 10,000 tickets from the event log at server start.

Goal (issue 2): ≤ 1 s. The day (county hall, every ticket issued, called, finished, most
rated) is generated through HallState and written to a fresh SQLite file in one transaction;
then the server's own `rebuild` is timed.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.hall_day import OPENING, drive_day
from bench.sim.model import load
from queue_server.hall_service import rebuild
from queue_server.hall_state import HallState
from queue_server.store import event_log
from queue_server.store.database import migrate, open_engine
from queue_server.store.hall_records import save_definition

TICKETS = 10_000


def main() -> None:
    hall = load("county")
    state = HallState(hall, OPENING.date())
    events = []

    def execute(command, now):
        produced = state.roll_to(now) + state.handle(command, now)
        events.extend(produced)
        return produced

    drive_day(execute, hall, TICKETS)
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(f"sqlite:///{folder}/hall.db")
        migrate(engine)
        with engine.begin() as conn:
            hall_id, _ = save_definition(conn, hall, OPENING)
        started = time.perf_counter()
        with engine.begin() as conn:
            event_log.append(conn, hall_id, events)
        elapsed = time.perf_counter() - started
        print(f"writing the day's {len(events):,} events in one transaction: "
              f"{elapsed:.1f} s ({elapsed / len(events) * 1e6:.0f} µs per event)")
        for attempt in ("cold (as at server start)", "again", "again"):
            started = time.perf_counter()
            rebuilt = rebuild(engine, hall_id, hall, OPENING)
            elapsed = time.perf_counter() - started
            assert rebuilt.seq == state.seq and len(rebuilt.tickets) == TICKETS
            print(f"rebuild of a {TICKETS:,}-ticket day ({len(events):,} events), {attempt}: "
                  f"{elapsed:.3f} s")


if __name__ == "__main__":
    main()
