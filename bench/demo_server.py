"""The demo town's hall server for the device benchmarks, in a process of its own, so that the
device process being measured holds nothing but the device.

`DemoServer()` starts this file as a helper process, which sets up the server (opened round
the clock, devices registered, as in `tests/live_hall.py`) and prints its URL and device tokens;
`close()` stops it. A server that has not said where it listens within START_LIMIT seconds, or
that exits first, stops the benchmark with a message instead of a wait without end.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
START_LIMIT = 60.0      # seconds for the server to start (a few on a quiet machine)


class DemoServer:
    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        out = self.process.stdout
        assert out is not None                      # stdout=PIPE
        ready, _, _ = select.select([out], [], [], START_LIMIT)
        line = out.readline() if ready else ""
        if not line:
            self.process.kill()
            _fail(f"the hall server did not start within {START_LIMIT:.0f} s" if not ready
                  else "the hall server exited before it started")
        started = json.loads(line)
        self.ws: str = started["ws"]
        self.tokens: dict[str, str] = started["tokens"]

    def close(self) -> None:
        try:
            self.process.communicate("", timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _fail("the hall server did not stop within 30 s; killed")


def _fail(message: str) -> NoReturn:
    """Stop the benchmark with `message`, on the real stderr (a kivy device's benchmark has
    handed sys.stderr to kivy's logger, which may print nothing)."""
    print(f"demo_server: {message}", file=sys.__stderr__)
    raise SystemExit(1)


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
