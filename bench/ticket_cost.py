"""Where the server's CPU goes for one take_ticket: each step of its path, timed in process.

`bench/live_load.py` shows the live server CPU-bound (about 93% of a core) at its peak
take_ticket rate. This script times the same steps without sockets, on the bench hall of
`live_load.py` (52 categories) and a fresh SQLite file (WAL, `synchronous=FULL`), with commits
of 37 tickets, as the live server made under that load. It prints microseconds per ticket:

- parsing and checking the request frame (`hall.protocol.parse_request`);
- the core deciding (`HallState.handle`) and the views for the fan-out (`Hub.observe`);
- writing the events as the server's writer does (`HallService.commit`: one statement on a
  kept connection in autocommit mode, the check of the credentials included, and its fsync,
  shared by the tickets of a commit), and how much of that is this process's CPU;
- the reply: the ticket's signed token, its view, and the JSON text.

What is left of the live figure (one ticket every 1 / rate seconds of a busy core) is the
`websockets` and asyncio work of reading the request and writing the reply, which the bare
echo server of `live_load.py` measures on its own.

Then a clerk calls and finishes tickets one after the other, and it prints what storing one
call and one finish event costs (`event_log.append` of that command's events, before its
commit; commits of 37 commands): the goal is ≤ 100 µs each.

Usage: .venv/bin/python bench/ticket_cost.py [--db URL]   (default: a new SQLite file; a
PostgreSQL URL names an empty database)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.live_load import PREFIXES, bench_hall
from hall.protocol import encode_bytes, ok_reply, parse_request
from queue_server import commands as cmd
from queue_server import views
from queue_server.fanout import Hub, Subscriber
from queue_server.hall_service import HallService
from queue_server.hall_toml import parse_hall
from queue_server.revocation import Revocation
from queue_server.store import event_log, hall_records
from queue_server.store.database import migrate, open_engine
from queue_server.ticket_tokens import make_token

TICKETS = 18_000      # 52 categories × 999 tickets a day is the bench hall's limit
PER_COMMIT = 37
SERVED = 6_000        # tickets called and finished for the cost of storing those events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="an empty database (default: a new SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(args.db or f"sqlite:///{folder}/hall.db")
        migrate(engine)
        with engine.begin() as conn:
            hall_records.save_definition(conn, parse_hall(bench_hall()), datetime.now(UTC))
        service = HallService(engine, None, datetime.now(UTC))
        state, zone = service.state, service.definition.hall.zone
        hub: Hub[Subscriber] = Hub()
        credentials = Revocation(engine, service.hall_id, lambda: []).version
        steps = dict.fromkeys(["parse", "decide", "observe", "write", "reply"], 0.0)
        write_cpu = 0.0
        clock = time.perf_counter
        for first in range(0, TICKETS, PER_COMMIT):
            numbers = range(first, min(TICKETS, first + PER_COMMIT))
            frames = [json.dumps({"id": n, "op": "take_ticket", "category": PREFIXES[n % 52]})
                      for n in numbers]
            started = clock()
            requests = [parse_request(frame) for frame in frames]
            parsed = clock()
            now = datetime.now(zone)
            produced = [state.handle(cmd.TakeTicket(r.params["category"], "handle", "normal", None),
                                     now) for r in requests]
            decided = clock()
            for events in produced:
                hub.observe(state, events)
            observed = clock()
            cpu = time.thread_time()
            assert service.commit([e for es in produced for e in es], now, credentials)
            committed = clock()
            write_cpu += time.thread_time() - cpu
            for request, events in zip(requests, produced, strict=True):
                issued = events[0]
                number = issued.data.number
                token = make_token("0" * 64, issued.day, number)
                encode_bytes(ok_reply(request.id, ticket={
                    "number": number, "category": issued.data.category,
                    "issued_at": views.iso(issued.at), "ahead": issued.data.ahead,
                    "token": token, "url": f"http://hall/t/{token}"}))
            replied = clock()
            for step, (a, b) in zip(steps, [(started, parsed), (parsed, decided),
                                            (decided, observed), (observed, committed),
                                            (committed, replied)], strict=True):
                steps[step] += b - a
        stored = _serve(engine, service)
    total = sum(steps.values())
    print(f"per take_ticket, {TICKETS:,} tickets in commits of {PER_COMMIT} "
          f"({engine.dialect.name}):")
    for step, seconds in steps.items():
        print(f"  {step:8} {seconds / TICKETS * 1e6:6.1f} µs")
    print(f"  (of the write, {write_cpu / TICKETS * 1e6:.1f} µs of this process's CPU; the rest "
          "is waiting for the disk or the database server)")
    print(f"  {'total':8} {total / TICKETS * 1e6:6.1f} µs → at most {TICKETS / total:,.0f} "
          f"tickets/s on one core before any socket work")
    print(f"storing one event, {SERVED:,} calls and finishes of one clerk, commits of "
          f"{PER_COMMIT} commands (goal ≤ 100 µs):")
    for kind, samples in stored.items():
        print(f"  {kind:16} {statistics.mean(samples) * 1e6:6.1f} µs mean, "
              f"{statistics.median(samples) * 1e6:6.1f} µs median")


def _serve(engine, service: HallService) -> dict[str, list[float]]:
    """Window 8's clerk calls and finishes tickets: the time `append` takes for each command's
    events, by the kind of its event (a call or a finish writes one)."""
    state, zone, clock = service.state, service.definition.hall.zone, time.perf_counter
    stored: dict[str, list[float]] = {"ticket_called": [], "ticket_finished": []}
    commands: list[cmd.Command] = [cmd.SignIn("1008", 8, "A")]
    for _ in range(SERVED):
        commands += [cmd.CallNext("1008", 8), cmd.Finish("1008", 8, "done")]
    for first in range(0, len(commands), PER_COMMIT):
        with engine.connect() as conn, conn.begin():
            for command in commands[first:first + PER_COMMIT]:
                events = state.handle(command, datetime.now(zone))
                began = clock()
                event_log.append(conn, service.hall_id, events)
                took = clock() - began
                if len(events) == 1 and events[0].kind in stored:
                    stored[events[0].kind].append(took)
    return stored


if __name__ == "__main__":
    main()
