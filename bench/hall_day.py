"""A flat busy service day, driven through any `execute(command, now) -> events`, for the core
benchmarks (commands per second, rebuild time).

Every window is staffed at opening; tickets arrive evenly over the day's issuing hours in the
hall's categories; a window that serves the category calls, sometimes recalls, and finishes;
most citizens rate. Deterministic (fixed seed), so runs are comparable. Nothing waits, nobody
leaves: for a realistic day (arrival peaks, service times, A/B posts, pauses, no-shows,
transfers, ratings) use the day simulator, `bench/simulate_day.py`, whose model
(`bench/sim/model.py`) this shares the hall files and the issuing hours with.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bench.sim.model import issuing_spans
from queue_server import commands as cmd
from queue_server.events import Event
from queue_server.hall_definition import HallDefinition

OPENING = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday, early

Execute = Callable[[cmd.Command, datetime], list[Event]]


def drive_day(execute: Execute, hall: HallDefinition, tickets: int, seed: int = 7) -> int:
    """Run a day of `tickets` tickets through `execute`; return how many commands were sent."""
    rng = random.Random(seed)
    now = _in_sessions(_issuing_spans(hall), 0)
    sent = 0

    def send(command: cmd.Command) -> list[Event]:
        nonlocal sent
        sent += 1
        return execute(command, now)

    for window in hall.windows:
        send(cmd.SignIn(window.a_post, window.number, "A"))
    kind = {c.prefix: "handle" if "handle" in c.kinds else c.kinds[0] for c in hall.categories}
    left = {c.prefix: c.daily_cap for c in hall.categories}
    serving = {p: [w for w in hall.windows if p in w.categories] for p in left}
    spans = _issuing_spans(hall)
    open_prefixes = list(left)
    for i in range(tickets):
        now = _in_sessions(spans, i / tickets)
        prefix = rng.choice(open_prefixes)
        left[prefix] -= 1
        if left[prefix] == 0:
            open_prefixes.remove(prefix)
        send(cmd.TakeTicket(prefix, kind[prefix], "elderly" if rng.random() < 0.1 else "normal"))
        window = rng.choice(serving[prefix])
        [called] = send(cmd.CallNext(window.a_post, window.number))
        if rng.random() < 0.1:
            send(cmd.Recall(window.a_post, window.number))
        send(cmd.Finish(window.a_post, window.number, "done"))
        if rng.random() < 0.8:
            send(cmd.Rate(called.data.number, rng.choice([3, 4, 5, 5, 5]), (), window.number))
        if rng.random() < 0.05:
            send(cmd.Tick())
    return sent


def _issuing_spans(hall: HallDefinition) -> list[tuple[datetime, datetime]]:
    return issuing_spans(hall.hall, OPENING.date())


def _in_sessions(spans: list[tuple[datetime, datetime]], fraction: float) -> datetime:
    """The moment `fraction` of the way through the day's ticket-issuing hours."""
    total = sum((end - start for start, end in spans), timedelta())
    offset = total * fraction
    for start, end in spans:
        if offset < end - start:
            return start + offset
        offset -= end - start
    return spans[-1][1] - timedelta(seconds=1)
