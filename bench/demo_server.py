"""The demo town's hall server for the device benchmarks, in a process of its own, so that the
device process being measured holds nothing but the device.

`DemoServer()` starts this file as a helper process, which sets up the server (opened round
the clock, devices registered, as in `tests/live_hall.py`) and prints its URL and device tokens;
`close()` stops it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class DemoServer:
    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        started = json.loads(self.process.stdout.readline())
        self.ws: str = started["ws"]
        self.tokens: dict[str, str] = started["tokens"]

    def close(self) -> None:
        self.process.communicate("", timeout=30)


def _serve() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.live_hall import LiveHall, round_the_clock

    hall = LiveHall(Path(tempfile.mkdtemp()), "--take-limit", "0", hall_text=round_the_clock(
        (ROOT / "assets/halls/demo-town.toml").read_text(encoding="utf-8")))
    print(json.dumps({"ws": hall.ws, "tokens": hall.tokens}), flush=True)
    sys.stdin.read()          # until the benchmark closes our stdin
    hall.stop()


if __name__ == "__main__":
    _serve()
