"""Importing the county hall (142 windows, 369 items) into a fresh SQLite file, and again.

Goal (issue 2): ≤ 2 s for the first import. Prints the times of: reading and checking the
file, the first import, and a re-import of the same file (which changes nothing).
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sim.model import HALLS
from queue_server.hall_toml import load_hall
from queue_server.store.database import migrate, open_engine
from queue_server.store.hall_records import save_definition


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(f"sqlite:///{folder}/hall.db")
        migrate(engine)
        for attempt in ("first import", "re-import"):
            started = time.perf_counter()
            definition = load_hall(HALLS / "county.toml")
            checked = time.perf_counter()
            with engine.begin() as conn:
                _, changed = save_definition(conn, definition, datetime.now(UTC))
            done = time.perf_counter()
            print(f"county {attempt}: read and check {checked - started:.3f} s, "
                  f"store {done - checked:.3f} s, total {done - started:.3f} s (changed: {changed})")


if __name__ == "__main__":
    main()
