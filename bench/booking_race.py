"""200 citizens booking the same slot at once (issue 17's figure): never over-booked, all answered.

The server runs as its own process on the small test hall (tests/live_hall.py) with its
category A taking bookings (`BOOKING_HALL`: 10 places a slot) and no per-address booking limit
(`--book-limit 0 --book-day-limit 0`: every request here comes from 127.0.0.1). Each of 200 connections says hello
as the booking page (`booking`) first; then all 200 send `book` for the same slot at once, each
with a phone number of its own. Printed: how many were accepted (must be the slot's places),
how many refused as full, and the time from the first request sent to the last reply.

    .venv/bin/python bench/booking_race.py
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.live_hall import ROUND_THE_CLOCK, LiveHall

PLACES = 10
BOOKING_HALL = ROUND_THE_CLOCK.replace('department = "sb"\n', f'''department = "sb"

[categories.booking]
sessions = [["08:00", "12:00"]]
slot_minutes = 30
capacity = {PLACES}
share = 100
''', 1)
"""The live tests' hall with bookings for category A, 08:00–12:00, `PLACES` a slot."""

START = "2026-11-23T08:00:00"   # the hall's simulated clock: a Monday morning


async def race(url: str, count: int, day: str, slot: str) -> tuple[Counter[str], float]:
    """`count` connections book `slot` on `day` at once; each reply's outcome counted ("ok" or
    the error's message), and the seconds from the first request to the last reply."""
    connections = [await connect(url, open_timeout=30, max_size=None) for _ in range(count)]
    try:
        for ws in connections:
            await ws.send(json.dumps({"id": 1, "op": "hello", "role": "booking"}))
            reply = json.loads(await ws.recv())
            assert reply["ok"], reply

        async def book(i: int, ws) -> str:
            await ws.send(json.dumps({"id": 2, "op": "book", "category": "A", "day": day,
                                      "slot": slot, "phone": f"139{i:08d}", "id_digits": "1234"}))
            while True:
                message = json.loads(await ws.recv())
                if message.get("re") == 2:
                    return "ok" if message["ok"] else message["error"]["message"]

        began = time.perf_counter()
        outcomes = await asyncio.gather(*(book(i, ws) for i, ws in enumerate(connections)))
        return Counter(outcomes), time.perf_counter() - began
    finally:
        await asyncio.gather(*(ws.close() for ws in connections))


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        hall = LiveHall(Path(folder), "--simulate-from", START, "--book-limit", "0", "--book-day-limit", "0",
                        hall_text=BOOKING_HALL)
        try:
            outcomes, seconds = asyncio.run(race(hall.ws, 200, "2026-11-23", "10:00"))
        finally:
            hall.stop()
    print(f"200 concurrent bookings for one slot of {PLACES} places: "
          f"{outcomes['ok']} accepted, {sum(outcomes.values()) - outcomes['ok']} refused, "
          f"all answered in {seconds * 1000:.0f} ms")
    for outcome, times in outcomes.most_common():
        print(f"  {times:4d} × {outcome}")


if __name__ == "__main__":
    main()
