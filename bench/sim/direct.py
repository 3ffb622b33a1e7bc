"""The direct driver: the agents run in this process against `HallService`, on a virtual clock.

Each request an agent makes becomes the core command the server's session would make of it
(same checks of who may do what), run by the service's `HallState` at the simulated moment;
the events are written with the store's own `event_log.append` (the log alone: the facts of
closed days are folded by the first report or `queue-server init` that needs them). By default
they are committed once per simulated day, because each commit's fsync costs several ms: a
year of county days would take hours one commit at a time. `commit="command"` goes through
`HallService.execute_batch` for every command instead, exactly as the live server's writer
does (tests compare the two).

The live server ticks every 5 s (脱岗 warnings, window-targeted tickets sent back); here a
ticker does the same every `tick_seconds` of simulated time, and at midnight a last tick
closes the day (open tickets cancelled, clerks still signed in signed out), as the live
server's midnight tick does.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from bench.sim import model
from bench.sim.agents import Act, Agent, Reply, Sleep, Spawn, WaitWork, World
from bench.sim.summary import DayRecord
from hall.protocol import ProtocolError
from queue_server import commands as cmd
from queue_server import ops, views
from queue_server.domain_errors import DomainError
from queue_server.events import Event
from queue_server.hall_definition import HallDefinition
from queue_server.hall_service import HallService
from queue_server.store import event_log, hall_records
from queue_server.store.database import migrate
from queue_server.store.schema import EventRow

DEFAULT_TICK_SECONDS = 30.0


class SimulationError(Exception):
    """A problem the user can fix (shown as one line, Chinese first)."""


def prepare(engine: Engine, definition_from_file: HallDefinition, now: datetime) -> tuple[int, bool]:
    """Create the schema and the hall if the database does not have them; (hall id, created)."""
    migrate(engine)
    with engine.begin() as conn:
        code = definition_from_file.hall.code
        try:
            return hall_records.hall_id_for(conn, code), False
        except hall_records.HallNotFound:
            hall_id, _ = hall_records.save_definition(conn, definition_from_file, now)
            return hall_id, True


def last_logged_day(engine: Engine, hall_id: int) -> date | None:
    with engine.connect() as conn:
        return conn.execute(select(func.max(EventRow.day)).where(EventRow.hall_id == hall_id)).scalar()


def command_for(act: Act, state, kiosk_names: list[str]) -> cmd.Command:
    """The core command a session would make of this request: the same translation
    (queue_server.ops), with who sends it taken from the agent instead of a hello."""
    if act.actor[0] == "system":
        return cmd.Tick()
    return ops.command_for(act.op, act.params, identity(act.actor, kiosk_names),
                           state.clerk_window.get)


def identity(actor: tuple, kiosk_names: list[str]) -> ops.Identity:
    """Who an agent is, as its hello would have established it."""
    role, key = actor[0], actor[1]
    if role == "kiosk":
        return ops.Identity(role, name=kiosk_names[key])
    if role == "pad":
        return ops.Identity(role, window=key)
    if role == "citizen":
        return ops.Identity(role, name=key, ticket=key)
    if role == "clerk":
        return ops.Identity(role, badge=key)
    raise ValueError(f"the direct driver does not know the role {role}")


def reply_for(act: Act, events: list[Event], state) -> dict[str, Any]:
    """What the server's reply would carry that the agents read."""
    if act.op == "take_ticket":
        issued = next(e for e in events if e.kind == "ticket_issued")
        d = issued.data.fields()
        return {"ticket": {"number": d["number"], "category": d["category"], "kind": d["kind"],
                           "priority": d["priority"], "service": d["service"],
                           "issued_at": views.iso(issued.at), "ahead": d["ahead"], "token": None}}
    if act.op in ("call_next", "recall", "resume_held", "call_number"):
        called = [e for e in events if e.kind == "ticket_called"]
        if not called:
            return {"ticket": None}
        return {"ticket": views.ticket_detail(state, state.tickets[called[-1].data.number])}
    return {}


class Executor:
    """Commands at simulated moments, on one hall's service; events kept until `flush`."""

    def __init__(self, service: HallService, commit: str = "day"):
        self.service = service
        self.commit = commit
        self.pending: list[Event] = []
        self.events_written = 0
        self.commands = 0

    def execute(self, command: cmd.Command, now: datetime) -> list[Event]:
        """The command's events (already applied); raises its DomainError if refused."""
        self.commands += 1
        if self.commit == "command":
            outcome = self.service.execute_batch([(command, now)])[0]
            self.events_written += len(outcome.events)
            if outcome.error is not None:
                raise outcome.error
            return outcome.events
        state = self.service.state
        rolled = state.roll_to(now)
        self.pending += rolled
        events = state.handle(command, now)
        self.pending += events
        return rolled + events

    def flush(self) -> None:
        if self.pending:
            with self.service.engine.begin() as conn:
                event_log.append(conn, self.service.hall_id, self.pending)
            self.events_written += len(self.pending)
            self.pending = []


class VirtualHall:
    """Runs agents on a virtual clock: each agent sleeps until its next moment, requests take
    no simulated time, and an idle window wakes when an event may have brought it work."""

    def __init__(self, executor: Executor, kiosk_names: list[str], tick_seconds: float):
        self.executor = executor
        self.kiosk_names = kiosk_names
        self.tick = timedelta(seconds=tick_seconds)
        self.clock = datetime.min
        self._heap: list[tuple[datetime, int, Agent, Any, int | None]] = []
        self._order = itertools.count()
        self._waiting: dict[int, tuple[Agent, int]] = {}
        self._wait_windows: dict[int, int] = {}
        self._live = 0
        self.world: World | None = None

    def now(self) -> datetime:
        return self.clock

    def _push(self, at: datetime, agent: Agent, value: Any, wait_id: int | None = None) -> None:
        heapq.heappush(self._heap, (at, next(self._order), agent, value, wait_id))

    def _wake(self, window: int) -> None:
        waiting = self._waiting.pop(window, None)
        if waiting is not None:
            self._push(self.clock, waiting[0], True)

    def act(self, act: Act) -> Reply:
        if act.op == "watch":                  # a phone's page: nothing to open in process
            return Reply(True, {})
        state = self.executor.service.state
        try:
            command = command_for(act, state, self.kiosk_names)
            events = self.executor.execute(command, self.clock)
        except (DomainError, ProtocolError) as error:
            return Reply(False, {}, error.code, error.message)
        assert self.world is not None          # act runs only inside run_day, which sets it
        woken: set[int] = set()
        for event in events:
            woken |= self.world.observe(event.kind, event.data.fields(), event.at)
        for window in sorted(woken):
            self._wake(window)
        return Reply(True, reply_for(act, events, state))

    def _run(self, agent: Agent, value: Any, daemon: bool) -> None:
        """Advance one agent until it waits for time or work."""
        while True:
            try:
                instruction = agent.send(value)
            except StopIteration:
                if not daemon:
                    self._live -= 1
                return
            if isinstance(instruction, Act):
                value = self.act(instruction)
            elif isinstance(instruction, Sleep):
                self._push(max(instruction.until, self.clock), agent, None)
                return
            elif isinstance(instruction, WaitWork):
                wait_id = next(self._order)
                self._waiting[instruction.window] = (agent, wait_id)
                self._wait_windows[wait_id] = instruction.window
                self._push(max(instruction.until, self.clock), agent, False, wait_id)
                return
            elif isinstance(instruction, Spawn):
                self._live += 1
                self._push(self.clock, instruction.agent, None)
                value = None
            else:
                raise TypeError(f"unknown instruction {instruction!r}")

    def _ticker(self) -> Agent:
        while True:
            yield Sleep(self.clock + self.tick)
            yield Act(("system",), "tick")

    def run_day(self, plan: model.DayPlan, record: DayRecord, start: datetime) -> None:
        self.world = World(plan, record, self.now, self.kiosk_names)
        self.clock = start
        agents = self.world.agents()
        self._live = len(agents)
        ticker = self._ticker()
        daemons = {id(ticker)}
        for agent in agents:
            self._push(start, agent, None)
        self._push(start, ticker, None)
        while self._live > 0 and self._heap:
            at, _, agent, value, wait_id = heapq.heappop(self._heap)
            if wait_id is not None:            # a WaitWork's time-out: stale if already woken
                window = self._wait_windows.pop(wait_id, None)
                if window is None or self._waiting.get(window, (None, None))[1] != wait_id:
                    continue
                del self._waiting[window]
            self.clock = max(self.clock, at)
            self._run(agent, value, id(agent) in daemons)
        self._heap.clear()
        self._waiting.clear()
        self._wait_windows.clear()
        # the live server's midnight tick: open tickets cancelled, the day closed
        midnight = datetime.combine(plan.day + timedelta(days=1), time(0), plan.hall.hall.zone)
        self.clock = midnight
        events = self.executor.execute(cmd.Tick(), midnight)
        for event in events:
            self.world.observe(event.kind, event.data.fields(), event.at)


def day_start(hall: HallDefinition, day: date) -> datetime:
    """Where a simulated day begins: an hour before the first session."""
    return model.session_spans(hall.hall, day)[0][0] - timedelta(hours=1)


def simulate_days(engine: Engine, hall_code: str, days: list[date], profile: model.Profile,
                  seed: int, tickets: int | None, peak: bool, commit: str = "day",
                  tick_seconds: float = DEFAULT_TICK_SECONDS,
                  progress: Callable[[dict[str, Any]], None] | None = None) -> tuple[list[dict], Executor]:
    """Simulate `days` (working days, oldest first) into the database; one summary per day."""
    first = days[0]
    service = HallService(engine, hall_code, day_start_for(engine, hall_code, first))
    last = last_logged_day(engine, service.hall_id)
    if last is not None and last >= first:
        raise SimulationError(
            f"数据库里已有 {last} 的记录，只能模拟此后的日子（最早 {last + timedelta(days=1)}）/ "
            f"the database already holds {last}; simulate later days only")
    definition = service.definition
    kiosk_names = [f"sim-kiosk-{k + 1}" for k in range(profile.kiosks)]
    hall = VirtualHall(Executor(service, commit), kiosk_names, tick_seconds)
    summaries = []
    for day in days:
        plan = model.plan_day(definition, profile, day, seed, tickets, peak)
        record = DayRecord(plan.planned(), day.isoformat(), definition.hall.code)
        hall.run_day(plan, record, day_start(definition, day))
        hall.executor.flush()
        summary = record.summary()
        summaries.append(summary)
        if progress is not None:
            progress(summary)
    return summaries, hall.executor


def day_start_for(engine: Engine, hall_code: str, day: date) -> datetime:
    with engine.connect() as conn:
        definition = hall_records.load_definition(conn, hall_records.hall_id_for(conn, hall_code))
    return day_start(definition, day)
