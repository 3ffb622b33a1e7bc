"""Load on a real hall server over 127.0.0.1, against a bare `websockets` echo server as baseline.

The server runs as its own process on a fresh SQLite file (`synchronous=FULL`), as in a hall;
this process is the load generator (so on a 2-core machine both share the CPUs, which the
baseline shares too). Every phase is bounded in time. It prints:

1. take_ticket throughput with 16 kiosks (8 requests in flight each), and the echo server's
   throughput under the same 16 clients;
2. the same while 8 clerks call and finish, 20 displays and 50 citizens watch;
3. take_ticket latency (p50, p99) at a steady 200 tickets/s;
4. call → every display: with 1,000 displays connected (held by 4 processes of their own), the
   time from a clerk's call_next to each display receiving ticket_called (p50, p99 over all
   display × call pairs); the display processes' CPU per display and call (each display says
   `bundle`, as `hall.client` does: a call's events in one frame); and the server's own time
   to write a call to all of them, measured with the display processes stopped so that they do
   not compete for the CPUs;
5. the server's memory (RSS) holding 10,000 idle connections that said hello;
6. take_ticket with one request in flight per kiosk, the hall on PostgreSQL (a server of its
   own, fsync on) against the hall on SQLite, in alternating rounds of the same run.

Usage: .venv/bin/python bench/live_load.py [--quick] [--only throughput,displays,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from queue_server.hall_toml import parse_hall  # noqa: E402
from queue_server.store import devices, hall_records  # noqa: E402
from queue_server.store.database import migrate, open_engine  # noqa: E402
from tests.conftest import Cluster  # noqa: E402

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
PREFIXES = [a + b for a in "XY" for b in LETTERS]


def bench_hall() -> str:
    """A hall open round the clock with 52 categories of 999 tickets (as many categories as the
    county hall, and tickets enough for a 5 s burst at 10,000/s) and 8 windows whose clerks
    serve category A."""
    prefixes = PREFIXES
    lines = ['[hall]', 'code = "bench"', 'name = "压力测试大厅"', 'address = "本机"',
             'consultation_phone = "0000-0000000"', 'complaint_phone = "0000-0000001"',
             'sessions = [["00:00", "24:00"]]', 'working_weekdays = [1, 2, 3, 4, 5, 6, 7]',
             'demo = true', '', '[[departments]]', 'code = "zh"', 'name = "综合"']
    lines += ["", "[[categories]]", 'prefix = "A"', 'name = "叫号测试"', "daily_cap = 999"]
    for prefix in prefixes:
        lines += ["", "[[categories]]", f'prefix = "{prefix}"', f'name = "业务{prefix}"',
                  "daily_cap = 999"]
    for n in range(1, 9):
        lines += ["", "[[clerks]]", f'badge = "{1000 + n}"', f'name = "工作人员{n}"', 'pin = "1234"']
    for n in range(1, 9):
        categories = ["A"] + (prefixes if n == 8 else [])
        lines += ["", "[[windows]]", f"number = {n}", f'name = "{n}号窗口"', 'department = "zh"',
                  f"categories = {json.dumps(categories)}", f'a_post = "{1000 + n}"']
    return "\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _stat_seconds(stat: Path) -> float:
    """User + system CPU time in a /proc `stat` file (a process's or a thread's)."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    return _stat_seconds(Path(f"/proc/{pid}/stat"))


def thread_cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time used so far by a process's main thread (the server's event loop) and by the rest."""
    main = others = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            used = _stat_seconds(task / "stat")
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        if task.name == str(pid):
            main = used
        else:
            others += used
    return main, others


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) >= 2 else values[0]


class Server:
    def __init__(self, folder: Path, url: str | None = None):
        url = url or f"sqlite:///{folder / 'hall.db'}"
        engine = open_engine(url)
        migrate(engine)
        now = datetime.now(UTC)
        with engine.begin() as conn:
            hall_id, _ = hall_records.save_definition(conn, parse_hall(bench_hall()), now)
            self.kiosk = devices.add_device(conn, hall_id, "kiosk", "k", None, set(), now)
            self.display = devices.add_device(conn, hall_id, "display", "d", None, set(), now)
        engine.dispose()
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/ws"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "queue_server.cli", "serve", "--port", str(self.port),
             "--take-limit", "0"], cwd=ROOT, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "QUEUE_DB": url})
        assert self.process.stdout is not None     # opened with stdout=PIPE
        self.process.stdout.readline()

    def health(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=10) as reply:
            return json.load(reply)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class Echo:
    """The baseline: a bare websockets server that answers each request with a small reply."""

    CODE = """
import asyncio, json, sys
from websockets.asyncio.server import serve
async def echo(ws):
    async for frame in ws:
        await ws.send(json.dumps({"re": json.loads(frame).get("id"), "ok": True,
                                  "ticket": {"number": "A001", "ahead": 0}}))
async def main():
    async with serve(echo, "127.0.0.1", int(sys.argv[1]), max_size=65536):
        print("ready", flush=True)
        await asyncio.Future()
asyncio.run(main())
"""

    def __init__(self):
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/ws"
        self.process = subprocess.Popen([sys.executable, "-c", self.CODE, str(self.port)],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None     # opened with stdout=PIPE
        self.process.stdout.readline()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class Conn:
    """A pipelined request/reply connection that skips events."""

    def __init__(self, ws):
        self.ws = ws
        self.ids = 0
        self.waiting: dict[int, asyncio.Future] = {}
        self.reader = asyncio.create_task(self._read())

    async def _read(self):
        async for frame in self.ws:
            if frame.startswith('{"re"'):
                message = json.loads(frame)
                future = self.waiting.pop(message["re"], None)
                if future is not None:
                    future.set_result(message)

    async def request(self, op: str, **params) -> dict:
        self.ids += 1
        future = asyncio.get_running_loop().create_future()
        self.waiting[self.ids] = future
        await self.ws.send(json.dumps({"id": self.ids, "op": op, **params}))
        return await future


async def open_conn(url: str, hello: dict | None) -> Conn:
    ws = await connect(url, max_size=None, ping_interval=None, open_timeout=30, compression=None)
    conn = Conn(ws)
    if hello is not None:
        reply = await conn.request("hello", **hello)
        assert reply["ok"], reply
    return conn


async def hammer(conns: list[Conn], seconds: float, in_flight: int, op: str, params) -> int:
    done = 0
    stop = time.monotonic() + seconds

    async def worker(conn: Conn, k: int):
        nonlocal done
        i = k
        while time.monotonic() < stop:
            reply = await conn.request(op, **params(i))
            assert reply["ok"], reply
            done += 1
            i += in_flight * len(conns)

    await asyncio.gather(*(worker(c, n * in_flight + j) for n, c in enumerate(conns)
                           for j in range(in_flight)))
    return done


def spread_ticket(i: int) -> dict:
    return {"category": PREFIXES[i % len(PREFIXES)]}


async def throughput(server: Server, echo: Echo, seconds: float) -> None:
    """The goal's own terms: 16 kiosks, 8 requests in flight each, against the echo baseline."""
    async def measure(process: subprocess.Popen, conns: list[Conn]) -> tuple[int, str]:
        (loop_cpu, other_cpu), own_cpu = thread_cpu_seconds(process.pid), time.process_time()
        done = await hammer(conns, seconds, 8, "take_ticket", spread_ticket)
        loop_after, other_after = thread_cpu_seconds(process.pid)
        used = loop_after - loop_cpu + other_after - other_cpu
        return done, (f"server process {used / seconds:.0%} of a core, "
                      f"{used / max(done, 1) * 1e6:.0f} µs of its CPU per reply, "
                      f"its main thread {(loop_after - loop_cpu) / seconds:.0%} of a core; "
                      f"load generator {(time.process_time() - own_cpu) / seconds:.0%}")

    baseline = [await open_conn(echo.url, None) for _ in range(16)]
    echoed, echo_cpu = await measure(echo.process, baseline)
    kiosks = [await open_conn(server.url, {"role": "kiosk", "token": server.kiosk})
              for _ in range(16)]
    taken, hall_cpu = await measure(server.process, kiosks)
    health = server.health()
    print(f"take_ticket throughput, 16 kiosks × 8 in flight, {seconds:.0f} s: {taken / seconds:,.0f}/s "
          f"({health['writer']['commands'] / health['writer']['batches']:.0f} commands per commit; "
          f"{hall_cpu})")
    print(f"bare websockets echo server, same 16 clients: {echoed / seconds:,.0f}/s ({echo_cpu}) "
          f"→ hall server at {taken / echoed:.0%} of the baseline")
    for conn in baseline + kiosks:
        await conn.ws.close()


async def mixed_throughput(server: Server, seconds: float) -> None:
    """The same kiosks while 8 clerks call and finish, 20 displays and 50 citizens watch."""
    kiosks = [await open_conn(server.url, {"role": "kiosk", "token": server.kiosk})
              for _ in range(16)]
    watchers = [await open_conn(server.url, {"role": "display", "token": server.display})
                for _ in range(20)]
    citizens = []
    for _ in range(50):
        token = (await kiosks[0].request("take_ticket", category="A"))["ticket"]["token"]
        citizens.append(await open_conn(server.url, {"role": "citizen", "ticket": token}))
    clerks = []
    for n in range(1, 9):
        clerk = await open_conn(server.url, {"role": "clerk", "badge": str(1000 + n), "pin": "1234"})
        await clerk.request("sign_in", window=n, post="A")
        clerks.append(clerk)

    async def clerk_loop(clerk: Conn, stop: float) -> int:
        served = 0
        while time.monotonic() < stop:
            called = await clerk.request("call_next")
            if called.get("ticket"):
                await clerk.request("finish", outcome="done")
                served += 1
            else:
                await asyncio.sleep(0.05)
        return served

    stop = time.monotonic() + seconds
    clerks_task = asyncio.gather(*(clerk_loop(c, stop) for c in clerks))
    taken = await hammer(kiosks, seconds, 8, "take_ticket", spread_ticket)
    served = sum(await clerks_task)
    print(f"the same with 8 clerks calling and finishing ({served / seconds:,.0f}/s), 20 displays "
          f"and 50 citizens watching: take_ticket {taken / seconds:,.0f}/s")
    for conn in kiosks + watchers + citizens + clerks:
        await conn.ws.close()


async def latency(server: Server, seconds: float, rate: int) -> None:
    kiosks = [await open_conn(server.url, {"role": "kiosk", "token": server.kiosk})
              for _ in range(16)]
    samples: list[float] = []
    prefixes = PREFIXES[::-1]

    async def one(i: int):
        started = time.perf_counter()
        reply = await kiosks[i % 16].request("take_ticket", category=prefixes[i % len(prefixes)])
        assert reply["ok"], reply
        samples.append((time.perf_counter() - started) * 1000)

    tasks = []
    begin = time.perf_counter()
    for i in range(int(seconds * rate)):
        delay = begin + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    print(f"take_ticket latency at {rate}/s for {seconds:.0f} s ({len(samples)} tickets): "
          f"p50 {pct(samples, 50):.1f} ms, p99 {pct(samples, 99):.1f} ms, "
          f"max {max(samples):.1f} ms")
    for conn in kiosks:
        await conn.ws.close()


def display_worker(url: str, token: str, count: int, pipe) -> None:
    """One of the processes holding the displays: says "ready" once all of them said hello,
    notes when each ticket_called arrives (CLOCK_MONOTONIC, the same clock in every process),
    and sends the notes back when told to stop, with the CPU time it used in between."""

    cpu: list[float] = []

    async def run() -> list[tuple[str, float]]:
        received: list[tuple[str, float]] = []
        # as a real display (`hall.client`) says it: a call's events come as one frame
        hello = json.dumps({"id": 1, "op": "hello", "role": "display", "token": token,
                            "bundle": True})

        async def board():
            ws = await connect(url, max_size=None, ping_interval=None, open_timeout=60,
                               compression=None)
            await ws.send(hello)
            await ws.recv()
            return ws

        boards = []
        for start in range(0, count, 100):
            boards += await asyncio.gather(*(board() for _ in range(start, min(count, start + 100))))

        async def listen(ws):
            async for frame in ws:
                if '"ticket_called"' in frame:
                    message = json.loads(frame)
                    received.extend((m["number"], time.monotonic())
                                    for m in (message if isinstance(message, list) else [message])
                                    if m["ev"] == "ticket_called")

        listeners = [asyncio.create_task(listen(ws)) for ws in boards]
        # A real display holds one connection, not 250: this process's own full garbage
        # collections over its 250 connections are not a display's, so they are kept out of
        # the figure (as the server keeps its long-lived objects out of them).
        gc.collect()
        gc.freeze()
        pipe.send("ready")
        started = time.process_time()
        await asyncio.to_thread(pipe.recv)
        cpu.append(time.process_time() - started)
        # Closing ends each listener; they read on meanwhile, so no connection stalls with a
        # full receive queue before the server's closing frame.
        await asyncio.gather(*(ws.close() for ws in boards))
        await asyncio.gather(*listeners)
        return received

    received = asyncio.run(run())
    pipe.send((received, cpu[0]))


async def call_to_displays(server: Server, displays: int, calls: int, processes: int = 4) -> None:
    context = multiprocessing.get_context("spawn")
    workers = []
    for n in range(processes):
        ours, theirs = context.Pipe()
        share = displays // processes + (1 if n < displays % processes else 0)
        process = context.Process(target=display_worker,
                                  args=(server.url, server.display, share, theirs))
        process.start()
        workers.append((process, ours))
    for _, pipe in workers:
        assert await asyncio.to_thread(pipe.recv) == "ready"
    kiosk = await open_conn(server.url, {"role": "kiosk", "token": server.kiosk})
    clerk = await open_conn(server.url, {"role": "clerk", "badge": "1001", "pin": "1234"})
    await clerk.request("sign_in", window=1, post="A")

    async def call() -> tuple[str, float, float]:
        """One ticket taken, then called: (its number, when the call was sent, and the
        server's own time to write that call's fan-out to every socket)."""
        number = (await kiosk.request("take_ticket", category="A"))["ticket"]["number"]
        await asyncio.sleep(0.3)           # every display has long had the last call
        sent = time.monotonic()
        await clerk.request("call_next")
        fanout_ms = (await asyncio.to_thread(server.health))["fanout"]["last_ms"]
        await clerk.request("finish", outcome="done")
        return number, sent, fanout_ms

    sent_at: dict[str, float] = {}
    for _ in range(calls):
        number, sent_at[number], _ = await call()
    await asyncio.sleep(1)
    # The same with every display process stopped (SIGSTOP): the kernel only queues the bytes,
    # no reader is woken to compete for the 2 cores, so this is the server's own cost.
    for process, _ in workers:
        assert process.pid is not None             # started above
        os.kill(process.pid, signal.SIGSTOP)
    alone = [(await call())[2] for _ in range(10)]
    for process, _ in workers:
        assert process.pid is not None
        os.kill(process.pid, signal.SIGCONT)
    received = []
    display_cpu = 0.0
    for process, pipe in workers:
        pipe.send("stop")
        theirs, cpu = await asyncio.to_thread(pipe.recv)
        received += [(n, at) for n, at in theirs if n in sent_at]
        display_cpu += cpu
        process.join()
    delays = [(at - sent_at[number]) * 1000 for number, at in received]
    slowest = sorted(max(at for n, at in received if n == number) - sent
                     for number, sent in sent_at.items())
    firsts = [min(at for n, at in received if n == number) - sent for number, sent in sent_at.items()]
    print(f"call → every display, {displays:,} displays in {processes} processes × {calls} calls "
          f"({len(delays):,} of {displays * calls:,} deliveries): p50 {pct(delays, 50):.1f} ms, "
          f"p99 {pct(delays, 99):.1f} ms, max {max(delays):.1f} ms; the first display of each "
          f"call within {max(firsts) * 1000:.1f} ms; the last display of a call: median "
          f"{statistics.median(slowest) * 1000:.1f} ms, the slowest three calls "
          f"{', '.join(f'{t * 1000:.0f}' for t in slowest[-3:])} ms")
    print(f"  the server's own fan-out of a call to {displays:,} displays, readers paused: "
          f"median {statistics.median(alone):.1f} ms, max {max(alone):.1f} ms")
    print(f"  the display processes' CPU: {display_cpu / (calls + len(alone)) / displays * 1e6:.1f} "
          f"µs per display for each ticket taken, called and finished ({calls + len(alone)} of them)")
    pauses = server.health()["gc"]
    print(f"  the server's garbage collector meanwhile: {pauses['full']} full collections, the "
          f"slowest {pauses['slowest_full_ms']:.1f} ms; the slowest young one "
          f"{pauses['slowest_young_ms']:.1f} ms; {pauses['frozen']:,} objects frozen")
    await kiosk.ws.close()
    await clerk.ws.close()


async def idle_connections(server: Server, count: int) -> None:
    before = rss_mb(server.process.pid)
    conns = []
    hello = json.dumps({"id": 1, "op": "hello", "role": "display", "token": server.display})

    async def one():
        ws = await connect(server.url, max_size=None, ping_interval=None, open_timeout=120)
        await ws.send(hello)
        await ws.recv()
        return ws

    for start in range(0, count, 250):
        conns += await asyncio.gather(*(one() for _ in range(start, min(count, start + 250))))
    await asyncio.sleep(1)
    after = rss_mb(server.process.pid)
    print(f"{count:,} idle connections (each said hello as a display): server RSS "
          f"{after:.0f} MB (was {before:.0f} MB before them)")
    for start in range(0, len(conns), 500):
        await asyncio.gather(*(ws.close() for ws in conns[start:start + 500]))


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A PostgreSQL server of its own (Debian's, as the tests start it: fsync on), in a
    temporary folder on a free port; yields the URL of an empty database."""
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="hallq-bench-pg-")))
    cluster.start()
    try:
        cluster.run("createdb", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres",
                    "bench")
        yield f"{cluster.url}/bench"
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


async def postgres_against_sqlite(seconds: float, rounds: int = 3) -> None:
    """take_ticket with one request in flight per kiosk (16 kiosks), where each ticket waits
    for its commit's round trips: the hall on PostgreSQL against the hall on SQLite, in
    alternating rounds of the same run, each round on a fresh server and database."""
    rates: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    with postgres_database() as pg_url:
        for _ in range(rounds):
            for kind in ("sqlite", "postgresql"):
                with tempfile.TemporaryDirectory() as folder:
                    if kind == "postgresql":
                        drop_all(pg_url)
                    server = Server(Path(folder), pg_url if kind == "postgresql" else None)
                    try:
                        kiosks = [await open_conn(server.url, {"role": "kiosk",
                                                               "token": server.kiosk})
                                  for _ in range(16)]
                        taken = await hammer(kiosks, seconds, 1, "take_ticket", spread_ticket)
                        rates[kind].append(taken / seconds)
                        for conn in kiosks:
                            await conn.ws.close()
                    finally:
                        server.stop()
    for (sqlite, postgresql) in zip(rates["sqlite"], rates["postgresql"], strict=True):
        print(f"take_ticket, 16 kiosks × 1 in flight, {seconds:.0f} s: SQLite {sqlite:,.0f}/s, "
              f"PostgreSQL {postgresql:,.0f}/s → PostgreSQL at {postgresql / sqlite:.0%} of SQLite")


def drop_all(url: str) -> None:
    """An empty database again, for the next round."""
    engine = open_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


async def main(quick: bool, only: set[str]) -> None:
    scale = 0.2 if quick else 1.0
    echo: Echo                                     # started below, before any phase runs
    phases = {"throughput": lambda server: throughput(server, echo, 5 * scale),
              "mixed": lambda server: mixed_throughput(server, 5 * scale),
              "latency": lambda server: latency(server, 5 * scale, 200),
              "displays": lambda server: call_to_displays(server, int(1000 * scale),
                                                          int(30 * scale)),
              "idle": lambda server: idle_connections(server, int(10_000 * scale))}
    echo = Echo()
    try:
        for name, phase in phases.items():     # each phase on a fresh server and database
            if only and name not in only:
                continue
            with tempfile.TemporaryDirectory() as folder:
                server = Server(Path(folder))
                try:
                    await phase(server)
                finally:
                    server.stop()
    finally:
        echo.stop()
    if not only or "postgres" in only:
        await postgres_against_sqlite(5 * scale)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fifth of every figure, to try it")
    parser.add_argument("--only", default="", help="comma-separated phases to run (throughput, "
                        "mixed, latency, displays, idle, postgres); all by default")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.quick, {p for p in arguments.only.split(",") if p}))
