"""A village point's server at rest (issue 18's figure: ≤ 60 MB RSS and ≤ 2% of a core).

A point database enrolled with the test point's code (tests/live_point.py) holds `--cases`
cases (default 1,000), half of them answered by the town (received, a third of those finished);
a real `queue-server point serve` process on 127.0.0.1 serves it with the agent's page open (one
WebSocket, hello said, then idle, as the page stays open all day) and one receipt printed (its
QR drawn). After `--settle` seconds its
RSS and CPU time are read from /proc every second for `--seconds` (default 30).

Usage: .venv/bin/python bench/point_idle.py [--cases 1000] [--seconds 30] [--settle 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.live_load import cpu_seconds, rss_mb  # noqa: E402
from queue_server.points import ledger as L  # noqa: E402
from queue_server.points.point_store import PointStore  # noqa: E402
from tests.live_point import ENROLMENT  # noqa: E402


def fill(url: str, cases: int) -> None:
    store = PointStore(url)
    store.enrol(ENROLMENT)
    item = ENROLMENT.items[0]
    down = 0
    for n in range(1, cases + 1):
        day = 1 + (n - 1) * 28 // cases   # spread over November
        number = f"{ENROLMENT.point}-2611{day:02d}-{n:03d}"
        at = f"2026-11-{day:02d}T09:00:00+08:00"
        store.write(L.CaseRecorded(number, f"群众{n}", f"138{n:08d}", item.code, item.name,
                                   item.materials[:2], "王芳", ""), at)
        if n % 2 == 0:
            up = store.last()[0]
            answers: list[L.Record] = [L.TownReceived(number, 2, "孙丽")]
            if n % 6 == 0:
                answers.append(L.TownFinished(number, "done", "已批准", "孙丽"))
            store.receive([L.Entry(down := down + 1, at, up, record) for record in answers])
    store.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--settle", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'point.db'}"
        fill(url, args.cases)
        server = subprocess.Popen(
            [sys.executable, "-m", "queue_server", "point", "serve", "--db", url, "--port",
             "0", "--simulate-from", "2026-12-01T09:00"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            ws = line.split("serving at ")[1].split()[0].replace("http", "ws", 1) + "/ws"
            with connect(ws, max_size=None) as page:
                page.send(json.dumps({"id": 1, "op": "hello", "role": "point"}))
                hello = json.loads(page.recv(timeout=30))
                assert hello["ok"] and len(hello["cases"]) == args.cases
                number = hello["cases"][-1]["case"]
                http = ws.replace("ws", "http", 1).removesuffix("/ws")
                with urllib.request.urlopen(f"{http}/point/receipt/{number}") as receipt:
                    assert b"<svg" in receipt.read()
                time.sleep(args.settle)
                rss, started, cpu0 = [], time.monotonic(), cpu_seconds(server.pid)
                for _ in range(args.seconds):
                    time.sleep(1)
                    rss.append(rss_mb(server.pid))
                spent = cpu_seconds(server.pid) - cpu0
                elapsed = time.monotonic() - started
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"point server, {args.cases} cases, page open, idle {args.seconds} s: "
          f"RSS {rss[-1]:.1f} MB (max {max(rss):.1f} MB), CPU {100 * spent / elapsed:.2f}% "
          f"of a core ({spent:.2f} s in {elapsed:.0f} s); goals ≤ 60 MB, ≤ 2%")


if __name__ == "__main__":
    main()
