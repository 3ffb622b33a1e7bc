"""A county's halls in one server process (issue 14): memory per idle hall, and each hall's
take_ticket latency while every hall has its peak hour at once.

The database holds the county hall and the 16 township halls of `assets/halls/` (SQLite file,
or `--db` for PostgreSQL). The server is a real `queue-server serve` process on 127.0.0.1, on a
simulated clock that starts on a working Monday at 09:30 (so the halls are open at any hour);
this process is the load generator.

1. **Memory.** RSS of a server serving one township hall, then of one serving all 16 township
   halls, both idle (no connection) a few seconds after start: (RSS16 - RSS1) / 15 is the cost
   of one more idle hall. The county hall (142 windows, 369 items) alone is shown too.
2. **Peak hour in every hall at once.** One process serves all 17 halls. Each hall gets one
   kiosk taking tickets at its peak-hour rate (requirements.md §11.2: a county hall 260 an hour,
   a town centre 60) times `--factor` (default 10, as the requirements' replays run), one
   display watching, and two clerks at windows 1 and 2 calling and finishing, so the queues
   move. Each take_ticket's time from request to reply is recorded per hall.

Usage: .venv/bin/python bench/county_process.py [--seconds 180] [--factor 10] [--db URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.live_load import free_port, rss_mb  # noqa: E402
from bench.measure import percentile  # noqa: E402
from queue_server.hall_toml import load_hall  # noqa: E402
from queue_server.store import devices, hall_records  # noqa: E402
from queue_server.store.database import migrate, open_engine  # noqa: E402

HALLS = ROOT / "assets" / "halls"
COUNTY = HALLS / "county.toml"
TOWNSHIPS = sorted((HALLS / "townships").glob("*.toml"))
PEAK_PER_HOUR = {"county": 260, "town": 60}    # requirements.md §11.2, classes M and S
PIN = "2468"
SIMULATE_FROM = "2026-12-07T09:30"             # a Monday, a working day in every hall file


@dataclass
class Hall:
    code: str
    path: str
    peak_per_hour: int
    kiosk: str = ""
    display: str = ""
    clerks: list[tuple[str, int]] = field(default_factory=list)   # badge, window
    categories: list[tuple[str, str]] = field(default_factory=list)  # windows 1 and 2's, a kind each
    takes_ms: list[float] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)   # why, how many times


def make_database(url: str) -> list[Hall]:
    """The 17 halls with a kiosk, a display and two clerks with PINs each."""
    engine = open_engine(url)
    migrate(engine)
    halls = []
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for file, kind in [(COUNTY, "county"), *((t, "town") for t in TOWNSHIPS)]:
            definition = load_hall(file)
            hall_id, _ = hall_records.save_definition(conn, definition, now)
            code = definition.hall.code
            hall = Hall(code, f"/h/{code}", PEAK_PER_HOUR[kind])
            hall.kiosk = devices.add_device(conn, hall_id, "kiosk", "kiosk-1", None, set(), now)
            hall.display = devices.add_device(conn, hall_id, "display", "board-1", None, set(), now)
            for window in definition.windows[:2]:
                hall_records.set_pin(conn, hall_id, window.a_post, PIN)
                hall.clerks.append((window.a_post, window.number))
                hall.categories += [(c, definition.category_by_prefix[c].kinds[0])
                                    for c in window.categories
                                    if c not in (known for known, _ in hall.categories)]
            halls.append(hall)
    engine.dispose()
    return halls


class ServerProcess:
    def __init__(self, url: str, *args: str):
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "queue_server.cli", "serve", "--port", str(self.port),
             "--take-limit", "0", "--login-limit", "0", "--simulate-from", SIMULATE_FROM, *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "QUEUE_DB": url})
        assert self.process.stdout is not None     # opened with stdout=PIPE
        line = self.process.stdout.readline()
        if "serving at" not in line:
            raise RuntimeError(f"the server did not start: {line}")
        self.ws = f"ws://127.0.0.1:{self.port}"

    def rss_after(self, seconds: float) -> float:
        time.sleep(seconds)
        return rss_mb(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def memory(url: str) -> None:
    towns = [t.stem for t in TOWNSHIPS]
    sizes = {}
    for label, halls in [("1 township hall", towns[:1]), (f"{len(towns)} township halls", towns),
                         ("the county hall", ["qinglan-county"])]:
        server = ServerProcess(url, "--halls", ",".join(halls))
        sizes[label] = server.rss_after(3)
        server.stop()
        print(f"  RSS serving {label}, idle: {sizes[label]:.1f} MB")
    per_hall = (sizes[f"{len(towns)} township halls"] - sizes["1 township hall"]) / (len(towns) - 1)
    print(f"  one more idle township hall: {per_hall:.2f} MB "
          f"(the county hall: {sizes['the county hall'] - sizes['1 township hall']:.1f} MB "
          "more than a township)")


async def _hello(ws: str, hall: Hall, **params) -> ClientConnection:
    connection = await connect(f"{ws}{hall.path}/ws", max_size=None)
    await connection.send(json.dumps({"id": 0, "op": "hello", **params}))
    reply = json.loads(await connection.recv())
    if not reply.get("ok"):
        raise RuntimeError(f"{hall.code}: hello refused: {reply}")
    return connection


async def _request(connection, op: str, **params) -> dict:
    await connection.send(json.dumps({"id": 1, "op": op, **params}))
    while True:
        message = json.loads(await connection.recv())
        if "re" in message:
            return message


async def _kiosk(ws: str, hall: Hall, interval: float, until: float) -> None:
    connection = await _hello(ws, hall, role="kiosk", device="kiosk-1", token=hall.kiosk)
    rng = random.Random(hall.code)
    await asyncio.sleep(rng.uniform(0, interval))
    while time.monotonic() < until:
        started = time.perf_counter()
        category, kind = rng.choice(hall.categories)
        reply = await _request(connection, "take_ticket", category=category, kind=kind)
        hall.takes_ms.append((time.perf_counter() - started) * 1000)
        if not reply["ok"]:
            why = reply["error"]["message"]
            hall.refused[why] = hall.refused.get(why, 0) + 1
        await asyncio.sleep(rng.expovariate(1 / interval))
    await connection.close()


async def _sign_in(ws: str, hall: Hall, badge: str, window: int) -> ClientConnection:
    connection = await _hello(ws, hall, role="clerk", badge=badge, pin=PIN)
    await _request(connection, "sign_in", window=window, post="A")
    return connection


async def _clerk(connection, interval: float, until: float) -> None:
    while time.monotonic() < until:
        if (await _request(connection, "call_next"))["ok"]:
            await asyncio.sleep(interval / 2)
            await _request(connection, "finish", outcome="done")
        await asyncio.sleep(interval)
    await connection.close()


async def _display(ws: str, hall: Hall, until: float) -> None:
    connection = await _hello(ws, hall, role="display", device="board-1", token=hall.display)
    while time.monotonic() < until:
        try:
            await asyncio.wait_for(connection.recv(), timeout=max(0.1, until - time.monotonic()))
        except TimeoutError:
            break
    await connection.close()


async def _peak(ws: str, halls: list[Hall], factor: float, seconds: float) -> None:
    # The clerks log in first, one after another: 34 PIN checks at once from one address would
    # be refused by the login gate as a flood is (queue_server.login_gate); in a county each
    # clerk's PC has an address of its own, which this one process cannot have, hence also
    # `--login-limit 0`.
    clerks = {hall.code: [await _sign_in(ws, hall, badge, window) for badge, window in hall.clerks]
              for hall in halls}
    until = time.monotonic() + seconds
    tasks = []
    for hall in halls:
        interval = 3600 / (hall.peak_per_hour * factor)
        tasks.append(_kiosk(ws, hall, interval, until))
        tasks.append(_display(ws, hall, until))
        tasks += [_clerk(connection, interval, until) for connection in clerks[hall.code]]
    await asyncio.gather(*tasks)


def peak(url: str, halls: list[Hall], factor: float, seconds: float) -> None:
    server = ServerProcess(url)
    try:
        asyncio.run(_peak(server.ws, halls, factor, seconds))
        rss = rss_mb(server.process.pid)
    finally:
        server.stop()
    everything = [ms for hall in halls for ms in hall.takes_ms]
    print(f"  {len(halls)} halls, {len(everything)} tickets in {seconds:.0f} s "
          f"(peak hour × {factor:g}); server RSS at the end {rss:.0f} MB")
    for hall in halls:
        t = hall.takes_ms
        print(f"  {hall.code:28} {len(t):4} tickets  p50 {percentile(t, 0.5):5.1f} ms  "
              f"p99 {percentile(t, 0.99):5.1f} ms  max {max(t):5.1f} ms"
              + "".join(f"  refused {n}: {why}" for why, n in hall.refused.items()))
    # a hall without tickets has no p99 (None): the line above already fails on it, as before
    worst = max(percentile(hall.takes_ms, 0.99) for hall in halls)  # type: ignore[type-var]
    print(f"  every hall's take_ticket: p50 {percentile(everything, 0.5):.1f} ms, "
          f"p99 {percentile(everything, 0.99):.1f} ms; the worst hall's p99 {worst:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--factor", type=float, default=10)
    parser.add_argument("--db", help="a database URL (default: a new SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.db or f"sqlite:///{Path(folder) / 'county.db'}"
        halls = make_database(url)
        print("Memory (idle halls):")
        memory(url)
        print("Peak hour in every hall at once:")
        peak(url, halls, args.factor, args.seconds)


if __name__ == "__main__":
    main()
