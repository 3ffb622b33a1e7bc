"""The protocol driver: a real server process, real WebSocket clients, the agents on its clock.

The database is set up first (schema, hall, the devices a hall has — kiosks and a pad per
staffed window —, PINs for the clerks on the roster, an observer manager account). Then
`queue-server serve --simulate-from T --speed N` starts, every device and clerk connects and
says hello, and the agents act at their simulated moments: a real sleep is the simulated delay
÷ N. The server's clock is the truth: every event's `at` (and a reply's `issued_at` or
`called_at`) tells how far behind our estimate of it may be, and the estimate only ever moves
to fit them. A manager connection sees every event: idle windows are woken when a ticket comes
their way, warnings are counted. When everyone has gone home the server is stopped and the day
is closed in process at midnight, with the same tick the server itself would give it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time as clock_time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from websockets.asyncio.client import ClientConnection, connect

from bench.sim import model
from bench.sim.agents import Act, Agent, Reply, Sleep, Spawn, WaitWork, World
from bench.sim.direct import SimulationError
from bench.sim.summary import DayRecord
from queue_server import commands as cmd
from queue_server.credentials import verify_pin
from queue_server.hall_definition import HallDefinition
from queue_server.hall_service import HallService
from queue_server.store import accounts, devices, hall_records
from queue_server.store.schema import ClerkRow, DeviceRow

ROOT = Path(__file__).resolve().parent.parent.parent
OBSERVER = "sim-observer"
WIRE_TO_LOG = {"rating": "ticket_rated", "device": "device_reported"}
START_LEAD = timedelta(hours=1)
LOGIN_MARGIN_S = 2.0
LOGIN_FACTOR = 3.0                 # logins took 1–3 × the set-up's time, the server being busy too


def sim_pin(hall_code: str, badge: str) -> str:
    """The PIN the simulator gives a clerk who has none (simulation databases only)."""
    digest = int.from_bytes(hashlib.sha256(f"sim-pin:{hall_code}:{badge}".encode()).digest()[:8])
    return f"{digest % 1_000_000:06d}"


@dataclass
class Credentials:
    kiosks: list[tuple[str, str]]       # (name, token)
    pads: dict[int, str]                # window: token
    pins: dict[str, str]                # badge: PIN
    manager: tuple[str, str]


def prepare(engine: Engine, hall_id: int, definition: HallDefinition, file_pins: dict[str, str],
            plan: model.DayPlan, kiosks: int) -> Credentials:
    """Register the simulation's devices (replacing earlier ones of the same name), make sure
    every clerk on the roster can log in, and set the observer's password."""
    now = datetime.now(UTC)
    windows = {w.number for w in definition.windows}
    with engine.begin() as conn:
        existing = set(conn.execute(select(DeviceRow.name).where(
            DeviceRow.hall_id == hall_id, DeviceRow.revoked_at.is_(None))).scalars())

        def device(role: str, name: str, window: int | None) -> str:
            if name in existing:
                devices.revoke_device(conn, hall_id, name, now)
            return devices.add_device(conn, hall_id, role, name, window, windows, now)

        kiosk_tokens = [(f"sim-kiosk-{k + 1}", device("kiosk", f"sim-kiosk-{k + 1}", None))
                        for k in range(kiosks)]
        pads = {w: device("pad", f"sim-pad-{w}", w) for w in plan.staffed}
        password = secrets.token_urlsafe(12)
        accounts.add_manager(conn, hall_id, OBSERVER, "模拟观察员", password)
        hashes = dict(conn.execute(select(ClerkRow.badge, ClerkRow.pin_hash).where(
            ClerkRow.hall_id == hall_id, ClerkRow.badge.in_(plan.clerks))).all())
    pins = {b: file_pins.get(b) or sim_pin(definition.hall.code, b) for b in plan.clerks}

    def settle(badge: str) -> str | None:
        stored = hashes.get(badge)
        if stored is None:
            with engine.begin() as conn:
                hall_records.set_pin(conn, hall_id, badge, pins[badge])
            return None
        return None if verify_pin(pins[badge], stored) else badge

    with ThreadPoolExecutor(4) as pool:
        unknown = [b for b in pool.map(settle, plan.clerks) if b is not None]
    if unknown:
        raise SimulationError(
            f"工号 {'、'.join(unknown[:5])} 已设置了模拟器不知道的密码，模拟器不会改动它；请换一个新的数据库 / "
            "these clerks have PINs the simulator does not know: use a fresh database")
    return Credentials(kiosk_tokens, pads, pins, (OBSERVER, password))


class ServerProcess:
    """`queue-server serve` on a free port with the simulated clock."""

    def __init__(self, url: str, hall_code: str, start: datetime, speed: float):
        self.log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 (closed in stop)
        command = [sys.executable, "-m", "queue_server.cli", "--db", url, "--hall", hall_code, "serve",
                   # every kiosk and every clerk of the hall connect from this one address
                   "--port", "0", "--take-limit", "0", "--login-limit", "0",
                   "--simulate-from", start.isoformat(timespec="seconds"), "--speed", f"{speed:g}"]
        self.launched = clock_time.monotonic()
        self.cpu_s: float | None = None
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=self.log,
                                        text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        line = self.process.stdout.readline()
        self.ready = clock_time.monotonic()
        if "serving at" not in line:
            self.process.wait(timeout=10)
            self.log.seek(0)
            raise SimulationError(f"服务器未能启动 / the server did not start: {line}{self.log.read()[-2000:]}")
        self.http = line.split("serving at ")[1].split()[0]
        self.ws = self.http.replace("http", "ws", 1) + "/ws"

    def health(self) -> dict:
        with urllib.request.urlopen(f"{self.http}/healthz", timeout=10) as reply:
            return json.load(reply)

    def cpu_seconds(self) -> float | None:
        """The server process's CPU time so far (Linux /proc), for the timings."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> str:
        self.cpu_s = self.cpu_seconds()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process.stdout.close()
        self.log.seek(0)
        text = self.log.read()
        self.log.close()
        return text


class SimClock:
    """Our estimate of the server's simulated clock, which is start + (t − began) × speed on
    the same monotonic clock. `began` is unknown but bounded above by any moment we knew the
    server's time to have reached a given value; the estimate takes the tightest such bound,
    so it is never ahead of the server, and behind it by about one message's latency."""

    def __init__(self, start: datetime, speed: float, began_at_most: float):
        self.start, self.speed, self.began = start, speed, began_at_most

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(clock_time.monotonic() - self.began) * self.speed)

    def saw(self, at: str | None, received: float) -> None:
        if at:
            moment = datetime.fromisoformat(at)
            self.began = min(self.began, received - (moment - self.start).total_seconds() / self.speed)

    async def sleep_until(self, until: datetime) -> None:
        delay = (until - self.now()).total_seconds() / self.speed
        if delay > 0:
            await asyncio.sleep(delay)


class Link:
    """One WebSocket connection: requests matched to replies; events to `on_event`, if any."""

    def __init__(self, ws: ClientConnection, on_event: Callable[[dict, float], None] | None = None):
        self.ws = ws
        self.on_event = on_event
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future] = {}
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, hello: dict[str, Any],
                   on_event: Callable[[dict, float], None] | None = None) -> tuple[Link, dict]:
        ws = await connect(url, max_size=None, compression=None, open_timeout=30, ping_interval=None)
        link = cls(ws, on_event)
        reply = await link.request("hello", **hello)
        if not reply.get("ok"):
            await link.close()
            raise SimulationError(f"{hello.get('role')} 登录失败 / hello refused: {reply['error']['message']}")
        return link, reply

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for frame in self.ws:
                if frame.startswith('{"ev"'):
                    if self.on_event is not None:
                        self.on_event(json.loads(frame), clock_time.monotonic())
                    continue
                message = json.loads(frame)
                future = self.pending.pop(message.get("re"), None)
                if future is not None and not future.done():
                    future.set_result(message)
        code = self.ws.close_code
        for future in self.pending.values():
            if not future.done():
                future.set_exception(SimulationError(
                    f"与服务器的连接已断开 / connection lost (close code {code}, {self.ws.close_reason or ''})"))

    async def request(self, op: str, **params: Any) -> dict[str, Any]:
        number = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        self.pending[number] = future
        await self.ws.send(json.dumps({"id": number, "op": op, **params}, ensure_ascii=False))
        return await asyncio.wait_for(future, 60)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self.reader.cancel()


class ProtocolHall:
    """Runs the agents against the server: each request on its actor's own connection."""

    def __init__(self, server: ServerProcess, clock: SimClock, credentials: Credentials):
        self.server = server
        self.clock = clock
        self.credentials = credentials
        self.links: dict[tuple, Link] = {}
        self.flags: dict[int, asyncio.Event] = {}
        self.world: World | None = None
        self.seen_seq = 0
        self.requests = 0
        self.tasks: set[asyncio.Task] = set()
        self.health: dict[str, Any] = {}
        self.clerk_links: dict[tuple, asyncio.Task] = {}
        self.watchers: dict[str, Link] = {}
        self.tasks_closing: set[asyncio.Task] = set()
        self.logins: asyncio.Task | None = None
        self.clerks_in: tuple[float, datetime] | None = None

    # --- connections -------------------------------------------------------------------------

    def _on_manager_event(self, message: dict[str, Any], received: float) -> None:
        self.clock.saw(message.get("at"), received)
        self.seen_seq = max(self.seen_seq, message.get("seq") or 0)
        kind = WIRE_TO_LOG.get(message["ev"], message["ev"])
        if self.world is None or kind in ("window", "queue", "clerk"):
            return
        at = datetime.fromisoformat(message["at"])
        for window in self.world.observe(kind, message, at):
            flag = self.flags.get(window)
            if flag is not None:
                flag.set()

    async def connect_all(self, plan: model.DayPlan) -> None:
        """The observer, kiosks and pads now; the clerks in the background, a few at a time (the
        server closes a connection whose hello is not through in 10 s, and a clerk's hello costs
        it a scrypt), each awaited by its clerk's first request."""
        url = self.server.ws
        user, password = self.credentials.manager
        self.links[("manager",)], _ = await Link.open(
            url, {"role": "manager", "user": user, "password": password}, self._on_manager_event)
        gate = asyncio.Semaphore(6)

        async def open_one(hello: dict[str, Any]) -> Link:
            async with gate:
                link, _ = await Link.open(url, hello)
                return link

        devices_ = [(("kiosk", k), {"role": "kiosk", "token": token})
                    for k, (_, token) in enumerate(self.credentials.kiosks)]
        devices_ += [(("pad", w), {"role": "pad", "token": token}) for w, token in self.credentials.pads.items()]
        for (actor, _), link in zip(devices_, await asyncio.gather(*(open_one(h) for _, h in devices_)),
                                    strict=True):
            self.links[actor] = link
        self.flags = {w: asyncio.Event() for w in plan.staffed}
        began = clock_time.perf_counter()
        first_act = {}
        for steps in plan.steps.values():
            for step in steps:
                if step.clerk and step.action in ("sign_in", "takeover"):
                    first_act[step.clerk] = min(first_act.get(step.clerk, step.at), step.at)
        for badge in sorted(plan.clerks, key=lambda b: (first_act.get(b, datetime.max.replace(
                tzinfo=plan.hall.hall.zone)), b)):
            self.clerk_links[("clerk", badge)] = asyncio.create_task(
                open_one({"role": "clerk", "badge": badge, "pin": self.credentials.pins[badge]}))

        async def all_in() -> None:
            await asyncio.gather(*self.clerk_links.values())
            self.clerks_in = (clock_time.perf_counter() - began, self.clock.now())

        self.logins = asyncio.create_task(all_in())

    async def link_for(self, actor: tuple) -> Link:
        link = self.links.get(actor)
        if link is None:
            link = self.links[actor] = await self.clerk_links[actor]
        return link

    async def close_all(self) -> None:
        if self.logins is not None:
            await self.logins
        for actor, task in self.clerk_links.items():
            self.links.setdefault(actor, task.result())
        await asyncio.gather(*(link.close() for link in [*self.links.values(), *self.watchers.values()]))

    # --- the agents' instructions ---------------------------------------------------------------

    async def act(self, act: Act) -> Reply:
        self.requests += 1
        if act.op == "watch":
            return await self.watch(act.actor[1], act.actor[2])
        if act.actor[0] == "citizen":
            token = act.actor[2]
            link, _ = await Link.open(self.server.ws, {"role": "citizen", "ticket": token})
            try:
                reply = await link.request(act.op, **act.params)
            finally:
                await link.close()
        else:
            link = await self.link_for(act.actor)
            if act.op == "call_next" and act.window in self.flags:
                self.flags[act.window].clear()
            reply = await link.request(act.op, **act.params)
        received = clock_time.monotonic()
        if not reply.get("ok"):
            error = reply.get("error") or {}
            return Reply(False, {}, error.get("code", ""), error.get("message", ""))
        ticket = reply.get("ticket")
        if isinstance(ticket, dict):
            self.clock.saw(ticket.get("called_at") if act.op != "take_ticket" else ticket.get("issued_at"),
                           received)
        return Reply(True, {k: v for k, v in reply.items() if k not in ("re", "ok")})

    async def watch(self, number: str, token: str) -> Reply:
        """The ticket's page on a phone: a citizen connection that follows the ticket until it
        is called."""
        def on_event(message: dict[str, Any], received: float) -> None:
            if message.get("ev") == "ticket" and message.get("status") != "waiting":
                link = self.watchers.pop(number, None)
                if link is not None:
                    task = asyncio.create_task(link.close())
                    self.tasks_closing.add(task)
                    task.add_done_callback(self.tasks_closing.discard)

        link, reply = await Link.open(self.server.ws, {"role": "citizen", "ticket": token}, on_event)
        self.watchers[number] = link
        return Reply(True, {"ticket": reply.get("ticket")})

    async def wait_work(self, window: int, until: datetime) -> bool:
        flag = self.flags[window]
        if flag.is_set():
            flag.clear()
            return True
        delay = max(0.0, (until - self.clock.now()).total_seconds() / self.clock.speed)
        try:
            await asyncio.wait_for(flag.wait(), delay)
        except TimeoutError:
            return False
        flag.clear()
        return True

    def spawn(self, agent: Agent) -> None:
        task = asyncio.create_task(self.drive(agent))
        self.tasks.add(task)

    async def drive(self, agent: Agent) -> None:
        value: Any = None
        while True:
            try:
                instruction = agent.send(value)
            except StopIteration:
                return
            if isinstance(instruction, Act):
                value = await self.act(instruction)
            elif isinstance(instruction, Sleep):
                await self.clock.sleep_until(instruction.until)
                value = None
            elif isinstance(instruction, WaitWork):
                value = await self.wait_work(instruction.window, instruction.until)
            elif isinstance(instruction, Spawn):
                self.spawn(instruction.agent)
                value = None
            else:
                raise TypeError(f"unknown instruction {instruction!r}")

    async def run(self, world: World) -> None:
        self.world = world
        for agent in world.agents():
            self.spawn(agent)
        while self.tasks:
            done, _ = await asyncio.wait(self.tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                self.tasks.discard(task)
                if task.exception() is not None:
                    for other in self.tasks:
                        other.cancel()
                    raise task.exception()

    async def catch_up(self, timeout: float = 10.0) -> None:
        """Wait until the observer has seen the server's last event."""
        self.health = await asyncio.to_thread(self.server.health)
        target = self.health["seq"]
        deadline = clock_time.monotonic() + timeout
        while self.seen_seq < target and clock_time.monotonic() < deadline:
            await asyncio.sleep(0.02)


def start_for(definition: HallDefinition, day, speed: float, setup_seconds: float) -> datetime:
    """When the simulated clock starts: an hour before opening, or earlier if logging the clerks
    in may take longer than that at this speed. Their logins cost the server about what setting
    up their PINs cost us (one scrypt each), so the set-up time, measured on this machine as it
    is now, is the estimate."""
    opening = model.session_spans(definition.hall, day)[0][0]
    logins = timedelta(seconds=(LOGIN_MARGIN_S + LOGIN_FACTOR * setup_seconds) * speed)
    return opening - max(START_LEAD, logins)


def close_day(engine: Engine, hall_code: str, definition: HallDefinition, day, world: World) -> None:
    """The midnight tick the server would give the day: open tickets cancelled, day closed."""
    midnight = datetime.combine(day + timedelta(days=1), time(0), definition.hall.zone)
    service = HallService(engine, hall_code, midnight)
    outcome = service.execute_batch([(cmd.Tick(), midnight)])[0]
    for event in outcome.events:
        world.observe(event.kind, event.data, event.at)


def simulate_day(engine: Engine, url: str, hall_id: int, definition: HallDefinition,
                 file_pins: dict[str, str], profile: model.Profile, day, seed: int,
                 tickets: int | None, peak: bool, speed: float,
                 report: Callable[[str], None] = lambda text: None) -> tuple[dict, dict]:
    """One day through the protocol; returns the day's summary and the timings (seconds)."""
    timings: dict[str, float] = {}
    began = clock_time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    plan = model.plan_day(definition, profile, day, seed, tickets, peak)
    credentials = prepare(engine, hall_id, definition, file_pins, plan, profile.kiosks)
    timings["setup_s"] = clock_time.perf_counter() - began
    start = start_for(definition, day, speed, timings["setup_s"])
    report(f"服务器启动：模拟时钟 {start:%H:%M} 起，{speed:g} 倍速；{len(plan.staffed)} 个窗口有人，"
           f"{len(plan.clerks)} 名工作人员，计划 {len(plan.citizens)} 人次取号")
    server = ServerProcess(url, definition.hall.code, start, speed)
    record = DayRecord(plan.planned(), day.isoformat(), definition.hall.code)
    clock = SimClock(start, speed, server.ready)
    hall = ProtocolHall(server, clock, credentials)
    world = World(plan, record, clock.now, [name for name, _ in credentials.kiosks])
    log = ""

    async def main() -> None:
        connected = clock_time.perf_counter()
        await hall.connect_all(plan)
        timings["devices_s"] = clock_time.perf_counter() - connected
        running = clock_time.perf_counter()
        await hall.run(world)
        await hall.catch_up()
        timings["day_s"] = clock_time.perf_counter() - running
        await hall.close_all()
        timings["logins_s"], logged_in = hall.clerks_in
        first = min(s.at for steps in plan.steps.values() for s in steps)
        if logged_in > first:
            report(f"注意：工作人员全部登录时已是模拟时间 {logged_in:%H:%M}，晚于最早的签到 {first:%H:%M}")

    try:
        asyncio.run(main())
    except Exception as error:
        log = server.stop()
        raise SimulationError(f"{error}；服务器日志 / server log:\n{log[-3000:]}") from error
    log = server.stop()
    closing = clock_time.perf_counter()
    close_day(engine, definition.hall.code, definition, day, world)
    timings["close_s"] = clock_time.perf_counter() - closing
    timings["total_s"] = clock_time.perf_counter() - began
    timings["requests"] = hall.requests
    timings["cpu_server_s"] = server.cpu_s
    usage = resource.getrusage(resource.RUSAGE_SELF)
    timings["cpu_simulator_s"] = usage.ru_utime + usage.ru_stime - cpu_before
    timings["server_frames"] = hall.health.get("fanout", {}).get("frames")
    timings["server_batches"] = hall.health.get("writer", {}).get("batches")
    if "Traceback" in log:
        report("服务器日志中有异常 / the server logged an exception:\n" + log[-3000:])
    return record.summary(), {k: round(v, 2) if isinstance(v, float) else v for k, v in timings.items()}
