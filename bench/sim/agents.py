"""The people of the hall as agents: generators that say what they do and when, driver-agnostic.

An agent yields instructions and gets answers back:

- `Act(actor, op, params)` → a `Reply`: a request in the wire protocol's own terms, made by
  `actor` — ("kiosk", k), ("clerk", badge), ("pad", window), ("citizen", number, token);
- `Sleep(until)` → None, once the hall's clock reads `until`;
- `WaitWork(window, until)` → True when something may have arrived for that window (a ticket
  issued, transferred or returned to it), False when `until` came first;
- `Spawn(agent)` → None: another agent starts now (a pad's rating after a finish).

One request is not an op of the protocol: a citizen's `watch`, opening the ticket's page on the
phone (the protocol driver keeps a `citizen` connection open until the ticket is called; the
direct driver has nothing to open).

Agents read the hall's clock with `world.now()`. The direct driver runs them on a virtual clock
against `HallService`, the protocol driver on the simulated server clock over WebSockets; both
run exactly this code, so the behaviour is defined once.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bench.sim import model
from bench.sim.summary import DayRecord


@dataclass(frozen=True, slots=True)
class Act:
    actor: tuple
    op: str
    params: dict[str, Any] = field(default_factory=dict)
    window: int | None = None


@dataclass(frozen=True, slots=True)
class Sleep:
    until: datetime


@dataclass(frozen=True, slots=True)
class WaitWork:
    window: int
    until: datetime


@dataclass(frozen=True, slots=True)
class Spawn:
    agent: Generator


@dataclass(frozen=True, slots=True)
class Reply:
    ok: bool
    data: dict[str, Any]
    code: str = ""
    message: str = ""


Agent = Generator[Any, Any, None]

REACTION_S = (5.0, 30.0)           # from one ticket done to calling the next
NOTICE_S = (3.0, 15.0)             # from a ticket arriving at an idle window to calling it
RECALL_GAP_S = (30.0, 60.0)
MIN_GAP = timedelta(minutes=1)     # between one window change and the next (pause and resume …)


@dataclass
class Visit:
    """A citizen holding a ticket, as far as the simulator knows."""

    citizen: model.Citizen
    number: str
    token: str | None
    issued_at: datetime
    called: bool = False
    waited_s: float = 0.0


class World:
    """The day as the agents share it: the plan, the tickets handed out, held tickets at each
    window, and the record of what happened."""

    def __init__(self, plan: model.DayPlan, record: DayRecord, now: Callable[[], datetime],
                 kiosk_names: list[str]):
        self.plan = plan
        self.hall = plan.hall
        self.record = record
        self.now = now
        self.kiosk_names = kiosk_names
        self.visits: dict[str, Visit] = {}
        self.held: dict[int, dict[str, datetime | None]] = {w: {} for w in plan.staffed}
        self.staffed = set(plan.staffed)
        self.serving = {prefix: [w for w in windows if w in self.staffed]
                        for prefix, windows in plan.hall.windows_by_category.items()}

    def rng(self, *purpose: Any) -> random.Random:
        return random.Random(f"{self.plan.day.isoformat()}:{self.hall.hall.code}:" + ":".join(map(str, purpose)))

    def agents(self) -> list[Agent]:
        kiosks = sorted({c.kiosk for c in self.plan.citizens} | {r[1] for r in self.plan.kiosk_reports})
        return ([kiosk_agent(self, k) for k in kiosks]
                + [window_agent(self, w) for w in sorted(self.plan.steps)])

    def observe(self, kind: str, data: dict[str, Any], at: datetime) -> set[int]:
        """An event seen in the hall; returns the windows that may now have work."""
        self.record.observed(kind, data, at)
        if kind in ("ticket_issued", "ticket_returned"):
            return set(self.serving.get(data["category"], ()))
        if kind == "ticket_transferred":
            if data.get("to_window") is not None:
                return {data["to_window"]}
            return set(self.serving.get(data.get("to_category"), ()))
        return set()

    def held_back(self, window: int) -> str | None:
        """A ticket held at `window` whose citizen is back by now."""
        now = self.now()
        ready = [(at, n) for n, at in self.held[window].items() if at is not None and at <= now]
        return min(ready)[1] if ready else None

    def next_return(self, window: int) -> datetime | None:
        coming = [at for at in self.held[window].values() if at is not None]
        return min(coming) if coming else None


def _later(world: World, seconds: float) -> Sleep:
    return Sleep(world.now() + timedelta(seconds=seconds))


# --- the kiosk ------------------------------------------------------------------------------

def kiosk_agent(world: World, kiosk: int) -> Agent:
    """Citizens take their tickets at kiosk `kiosk`, as planned, each on their own (one slow
    reply does not hold up the next citizen); the kiosk also reports its printer (ok at start;
    on the town day paper low, out and refilled around noon)."""
    actor = ("kiosk", kiosk)
    happenings: list[tuple[datetime, int, Any]] = [
        (at, 0, (printer, detail)) for at, k, printer, detail in world.plan.kiosk_reports if k == kiosk]
    happenings += [(c.at, 1, c) for c in world.plan.citizens if c.kiosk == kiosk]
    happenings.sort(key=lambda h: (h[0], h[1]))
    for at, what, item in happenings:
        if world.now() < at:
            yield Sleep(at)
        if what == 1:
            yield Spawn(citizen_arrives(world, kiosk, item))
            continue
        printer, detail = item
        reply = yield Act(actor, "device_status", {"printer": printer, "detail": detail})
        if reply.ok:
            world.record.device(printer)
        else:
            world.record.unexpected_refusal(actor, "device_status", reply.code, reply.message)


def citizen_arrives(world: World, kiosk: int, citizen: model.Citizen) -> Agent:
    actor = ("kiosk", kiosk)
    params: dict[str, Any] = {"category": citizen.category, "kind": citizen.kind}
    if citizen.priority != "normal":
        params["priority"] = citizen.priority
    if citizen.service:
        params["service"] = citizen.service
    reply = yield Act(actor, "take_ticket", params)
    if not reply.ok:
        world.record.refused_ticket(reply.code)
        if reply.code != "closed":
            world.record.unexpected_refusal(actor, "take_ticket", reply.code, reply.message)
        return
    ticket = reply.data["ticket"]
    issued_at = datetime.fromisoformat(ticket["issued_at"])
    world.visits[ticket["number"]] = Visit(citizen, ticket["number"], ticket.get("token"), issued_at)
    world.record.issued(ticket, kiosk)
    world.record.arrival_lag((issued_at - citizen.at).total_seconds(), citizen.at)
    if citizen.watches:
        actor = ("citizen", ticket["number"], ticket.get("token"))
        reply = yield Act(actor, "watch")
        if reply.ok:
            world.record.watching()
        else:
            world.record.unexpected_refusal(actor, "watch", reply.code, reply.message)


# --- a window, with whoever staffs it ------------------------------------------------------

@dataclass
class Desk:
    number: int
    clerk: str | None = None
    post: str | None = None
    paused: bool = False
    stopped: bool = False
    changed_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.clerk is not None and not self.paused and not self.stopped


def window_agent(world: World, number: int) -> Agent:
    """The clerks of one window work through its roster: sign in, call and serve while open,
    pause, hand over to the B post and back, go to lunch, leave at the end."""
    desk = Desk(number)
    rng = world.rng("window", number)
    steps = deque(world.plan.steps[number])
    while steps:
        step = steps[0]
        if desk.open:
            yield from _work(world, desk, rng, step.at, steps)
            if not steps or steps[0] is not step:
                continue                   # a takeover happened in the middle of a ticket
            if step.drain and desk.open:
                yield from _work(world, desk, rng, step.at + model.OVERTIME, steps, drain=True)
        if world.now() < step.at:
            yield Sleep(step.at)
        steps.popleft()
        yield from _do_step(world, desk, step)


def _clerk_act(world: World, desk: Desk, op: str, **params: Any) -> Generator[Any, Any, Reply]:
    actor = ("clerk", desk.clerk)
    reply = yield Act(actor, op, params, desk.number)
    if not reply.ok:
        world.record.unexpected_refusal(actor, op, reply.code, reply.message)
    return reply


def _do_step(world: World, desk: Desk, step: model.Step) -> Generator[Any, Any, None]:
    if desk.changed_at is not None and step.action in ("sign_in", "takeover", "resume"):
        earliest = desk.changed_at + MIN_GAP
        if world.now() < earliest:
            yield Sleep(earliest)
    if step.action in ("sign_in", "takeover"):
        if desk.clerk == step.clerk:
            return
        takeover = desk.clerk is not None
        actor = ("clerk", step.clerk)
        reply = yield Act(actor, "sign_in", {"window": desk.number, "post": step.post,
                                             "takeover": takeover}, desk.number)
        if not reply.ok:
            world.record.unexpected_refusal(actor, "sign_in", reply.code, reply.message)
            return
        desk.clerk, desk.post, desk.paused = step.clerk, step.post, False
        world.record.signed_in(desk.number, step.post, takeover, step.label)
    elif desk.clerk is None:
        return
    elif step.action == "sign_out":
        reply = yield from _clerk_act(world, desk, "sign_out")
        if reply.ok:
            world.record.signed_out(desk.number, step.label)
            desk.clerk = desk.post = None
            desk.paused = False
    elif step.action == "pause":
        if desk.paused:
            return
        reply = yield from _clerk_act(world, desk, "pause", reason=step.reason)
        if reply.ok:
            desk.paused = True
            world.record.paused(desk.number, step.reason)
    elif step.action == "resume":
        if not desk.paused:
            return
        reply = yield from _clerk_act(world, desk, "resume")
        if reply.ok:
            desk.paused = False
    elif step.action == "stop":
        desk.stopped = True
        return
    desk.changed_at = world.now()


def _work(world: World, desk: Desk, rng: random.Random, until: datetime, steps: deque,
          drain: bool = False) -> Generator[Any, Any, None]:
    """Call and serve until `until`; with `drain`, stop as soon as nobody waits."""
    while desk.open and world.now() < until:
        back = world.held_back(desk.number)
        if back is not None:
            reply = yield from _clerk_act(world, desk, "resume_held", number=back)
            world.held[desk.number].pop(back, None)
            if reply.ok:
                world.record.resumed(back)
                yield from _serve(world, desk, rng, reply.data["ticket"], steps, resumed=True)
                yield _later(world, rng.uniform(*REACTION_S))
            continue
        reply = yield from _clerk_act(world, desk, "call_next")
        ticket = reply.data.get("ticket") if reply.ok else None
        if ticket is not None:
            yield from _serve(world, desk, rng, ticket, steps, resumed=False)
            yield _later(world, rng.uniform(*REACTION_S))
            continue
        if drain:
            return
        wake = until
        coming = world.next_return(desk.number)
        if coming is not None and coming < wake:
            wake = max(coming, world.now())
        if (yield WaitWork(desk.number, wake)):
            yield _later(world, rng.uniform(*NOTICE_S))
        if steps and steps[0].at <= world.now():
            return


def _serving_time(world: World, desk: Desk, seconds: float, steps: deque) -> Generator[Any, Any, None]:
    """Serve for `seconds`; a mid-ticket takeover due meanwhile happens then, and the newcomer
    finishes the ticket."""
    end = world.now() + timedelta(seconds=seconds)
    while steps and steps[0].action == "takeover" and steps[0].mid_ticket and steps[0].at < end:
        step = steps.popleft()
        if world.now() < step.at:
            yield Sleep(step.at)
        yield from _do_step(world, desk, step)
    if world.now() < end:
        yield Sleep(end)


def _serve(world: World, desk: Desk, rng: random.Random, ticket: dict[str, Any], steps: deque,
           resumed: bool) -> Generator[Any, Any, None]:
    number = ticket["number"]
    visit = world.visits.get(number)
    first = visit is not None and not visit.called
    wait = None
    if first:
        visit.called = True
        wait = visit.waited_s = (datetime.fromisoformat(ticket["called_at"]) - visit.issued_at).total_seconds()
    world.record.called(number, wait, ticket["category"], desk.clerk, desk.post)
    if visit is None:                      # not one of ours: serve it plainly
        yield _later(world, 180)
        reply = yield from _clerk_act(world, desk, "finish", outcome="done")
        if reply.ok:
            world.record.finished(number, desk.number, desk.clerk, desk.post, "done")
        return
    citizen = visit.citizen
    if first and (citizen.gone or visit.waited_s > citizen.patience_s):
        for _ in range(citizen.no_show_recalls):
            yield _later(world, rng.uniform(*RECALL_GAP_S))
            if (yield from _clerk_act(world, desk, "recall")).ok:
                world.record.recalled()
        yield _later(world, rng.uniform(*RECALL_GAP_S))
        if (yield from _clerk_act(world, desk, "no_show")).ok:
            world.record.no_show(number, desk.number, desk.clerk, desk.post)
        return
    if first and citizen.extra_recall:
        yield _later(world, rng.uniform(*RECALL_GAP_S))
        if (yield from _clerk_act(world, desk, "recall")).ok:
            world.record.recalled()
    yield _later(world, citizen.walk_s)
    visit_index = min(int(ticket.get("transfers") or 0), 1)
    yield from _serving_time(world, desk, citizen.resume_s if resumed else citizen.service_s[visit_index],
                             steps)
    end = citizen.end if first else "finish"
    if end == "transfer_category":
        targets = sorted(p for p, windows in world.serving.items() if windows and p != ticket["category"])
        if targets:
            to = targets[int(citizen.pick * len(targets))]
            reply = yield from _clerk_act(world, desk, "transfer", to_category=to, note=citizen.note)
            if reply.ok:
                world.record.transferred(number, to, None, desk.clerk, desk.post)
            return
    elif end == "transfer_window":
        targets = sorted(world.staffed - {desk.number})
        if targets:
            to = targets[int(citizen.pick * len(targets))]
            reply = yield from _clerk_act(world, desk, "transfer", to_window=to, note=citizen.note)
            if reply.ok:
                world.record.transferred(number, None, to, desk.clerk, desk.post)
            return
    elif end == "hold":
        reply = yield from _clerk_act(world, desk, "hold", reason=citizen.hold_reason)
        if reply.ok:
            world.record.held(number, desk.number, desk.clerk, desk.post)
            back = citizen.hold_return_s
            world.held[desk.number][number] = (
                None if back is None else world.now() + timedelta(seconds=back))
        return
    reply = yield from _clerk_act(world, desk, "finish", outcome=citizen.outcome)
    if reply.ok:
        world.record.finished(number, desk.number, desk.clerk, desk.post, citizen.outcome)
        yield Spawn(pad_agent(world, desk.number, visit, desk.clerk, desk.post))


# --- ratings -------------------------------------------------------------------------------------

def pad_agent(world: World, window: int, visit: Visit, clerk: str, post: str) -> Agent:
    """The window's pad asks for a rating: the citizen taps a score, or walks away (未评 after
    the pad's timeout) and maybe rates later on the phone."""
    citizen = visit.citizen
    actor = ("pad", window)
    hall = world.hall.hall
    if citizen.unrated:
        yield _later(world, model.PAD_TIMEOUT_S)
        reply = yield Act(actor, "rate", {"ticket": visit.number, "score": None})
        if not reply.ok:
            world.record.unexpected_refusal(actor, "rate", reply.code, reply.message)
            return
        world.record.rated(None, "pad", window, clerk, post, [])
        if citizen.citizen_later:
            yield Spawn(citizen_agent(world, window, visit, clerk, post))
        return
    score = model.score_for(citizen.rating_u, visit.waited_s)
    reasons = model.reasons_for(citizen, score, hall, visit.waited_s)
    yield _later(world, citizen.pad_delay_s)
    reply = yield Act(actor, "rate", {"ticket": visit.number, "score": score, "reasons": reasons})
    if reply.ok:
        world.record.rated(score, "pad", window, clerk, post, reasons)
    else:
        world.record.unexpected_refusal(actor, "rate", reply.code, reply.message)


def citizen_agent(world: World, window: int, visit: Visit, clerk: str, post: str) -> Agent:
    citizen = visit.citizen
    yield _later(world, citizen.citizen_delay_s)
    score = model.score_for(citizen.citizen_u, visit.waited_s)
    reasons = model.reasons_for(citizen, score, world.hall.hall, visit.waited_s)
    actor = ("citizen", visit.number, visit.token)
    reply = yield Act(actor, "rate", {"score": score, "reasons": reasons})
    if reply.ok:
        world.record.rated(score, "citizen", window, clerk, post, reasons)
    else:
        world.record.unexpected_refusal(actor, "rate", reply.code, reply.message)
