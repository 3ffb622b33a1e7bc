"""`queue-server serve` processes on a shared PostgreSQL, for the failover tests: started,
killed, paused and started again at the same address, as a machine's service manager would;
and a kiosk taking a stream of tickets through the devices' own client."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from hall.client import HallClient, NotConnected, RequestFailed
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
PACE = 0.1       # seconds between a kiosk's tickets: 20 takeovers must stay within a day's cap
LIVENESS = 60.0   # seconds: a bound on waiting for something that must happen, not a speed goal


class Serve:
    """One `queue-server serve` process on the shared database, on a fixed port (so that it can
    be started again at the same address after a kill, as a machine's service would)."""

    def __init__(self, url: str, name: str):
        self.db, self.name = url, name
        self.port = free_port()
        self.http = f"http://127.0.0.1:{self.port}"
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "queue_server.cli", "serve", "--port", str(self.port),
             "--name", self.name, "--take-limit", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "QUEUE_DB": self.db})
        line = self.process.stdout.readline()
        assert "serving at" in line, line

    def ws(self, code: str) -> str:
        return f"ws://127.0.0.1:{self.port}/h/{code}/ws"

    def leads(self) -> list[str]:
        try:
            with urllib.request.urlopen(self.http + "/healthz", timeout=5) as reply:
                return json.load(reply)["leads"]
        except OSError:
            return []

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=20)


def wait_for(what, until: float = LIVENESS):
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {until:.0f} s: {what.__doc__ or what}")


async def stream_of_tickets(urls: list[str], token: str, confirmed: list[tuple[float, str]],
                             stop: asyncio.Event, refusals: dict[str, int] | None = None) -> None:
    """Take tickets one after another until `stop`; each confirmed one with when it came, and
    how often each refusal came (while no server leads the hall, or this one is not it)."""
    client = HallClient(urls, {"role": "kiosk", "token": token}, first_delay=0.05, max_delay=0.5)
    running = asyncio.create_task(client.run())
    refusals = {} if refusals is None else refusals
    while not stop.is_set():
        try:
            reply = await client.request("take_ticket", category="A")
            confirmed.append((time.monotonic(), reply["ticket"]["number"]))
            await asyncio.sleep(PACE)
        except (NotConnected, RequestFailed) as refused:
            refusals[refused.message] = refusals.get(refused.message, 0) + 1
            await asyncio.sleep(0.02)
    await client.stop()
    await running
