"""One op → command translation: a live session and the simulator's direct mode agree.

Each request goes through a real `Session` (hello said for real, the clerk signed in through
the writer) and is caught in the writer's queue as the command the session submitted; the same
request, from the same actor, goes through `bench.sim.direct.command_for`. They must be equal,
and a request that cannot be a command must be refused alike by both.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.sim import direct
from bench.sim.agents import Act
from hall.protocol import OPS, ProtocolError
from queue_server import ops
from queue_server.county import COUNTY_OPS
from queue_server.domain_errors import DomainError
from queue_server.sessions import OPERATIONS, READ_OPS
from queue_server.ticket_tokens import make_token
from tests.in_process_hall import SECRET, InProcessHall, make_hall
from tests.live_hall import MANAGER

KIOSKS = ["kiosk-1"]   # the simulator's kiosk 0 is the hall's kiosk-1

REQUESTS: list[tuple[tuple, str, dict[str, Any]]] = [
    (("kiosk", 0), "take_ticket", {"category": "A"}),
    (("kiosk", 0), "take_ticket", {"category": "B", "kind": "consult", "priority": "elderly",
                                   "service": "B-01"}),
    (("kiosk", 0), "take_ticket", {"category": "A", "priority": None}),
    (("kiosk", 0), "device_status", {"printer": "paper_low", "detail": "纸将用完"}),
    (("pad", 1), "rate", {"ticket": "A001", "score": 5, "reasons": ["态度好"]}),
    (("pad", 1), "rate", {"score": 5}),                          # no ticket: refused
    (("citizen", "A001", None), "rate", {"score": 2, "reasons": ["等太久"]}),
    (("citizen", "A001", None), "rate", {"ticket": "A001", "score": None}),
    (("citizen", "A001", None), "rate", {"ticket": "A002", "score": 5}),   # not its own
    (("clerk", "1001"), "sign_in", {"window": 2, "post": "B", "takeover": True}),
    (("clerk", "1001"), "sign_out", {}),
    (("clerk", "1001"), "call_next", {}),
    (("clerk", "1001"), "recall", {}),
    (("clerk", "1001"), "no_show", {}),
    (("clerk", "1001"), "resume", {}),
    (("clerk", "1001"), "hold", {"reason": "补材料"}),
    (("clerk", "1001"), "pause", {"reason": "午休"}),
    (("clerk", "1001"), "resume_held", {"number": "A001"}),
    (("clerk", "1001"), "call_number", {"number": "A001"}),
    (("clerk", "1001"), "transfer", {"to_category": "B", "note": "转民政"}),
    (("clerk", "1001"), "transfer", {"to_window": 3}),
    (("clerk", "1001"), "finish", {"outcome": "done", "note": "已办结"}),
    (("clerk", "1002"), "call_next", {}),                        # not signed in: refused
]


def test_every_op_that_changes_the_hall_has_one_translation():
    assert set(ops.COMMANDS) == set(OPS) - READ_OPS - {"hello"} - set(COUNTY_OPS)


def test_every_op_of_the_protocol_is_carried_out_by_a_session():
    """A hall's session carries out every op but the county page's, which its own session
    does (queue_server.county): those whose only role is `county`."""
    county_only = {name for name, op in OPS.items() if op.roles == ("county",)}
    assert set(COUNTY_OPS) == county_only
    assert set(OPERATIONS) == set(OPS) - county_only


def test_a_session_and_the_simulator_make_the_same_command_of_the_same_request(tmp_path):
    engine, _, tokens = make_hall(tmp_path / "hall.db")

    async def scenario() -> list[tuple[Any, Any]]:
        h = InProcessHall(engine, tokens)
        runner = asyncio.create_task(h.writer.run())
        kiosk, _ = await h.hello("kiosk")
        taken = await h.request(kiosk, "take_ticket", category="A")
        assert taken["ok"]
        clerks = {}
        for badge, pin in (("1001", "1111"), ("1002", "2222")):
            clerks[badge], said = await h.hello("clerk", badge=badge, pin=pin)
            assert said["ok"], said
        assert (await h.request(clerks["1001"], "sign_in", window=1, post="A"))["ok"]
        runner.cancel()       # from here on, submitted commands stay in the writer's queue
        sessions = {("kiosk", 0): kiosk, ("pad", 1): (await h.hello("pad"))[0],
                    ("clerk", "1001"): clerks["1001"], ("clerk", "1002"): clerks["1002"],
                    ("citizen", "A001", None): (await h.hello(
                        "citizen", ticket=make_token(SECRET, h.service.state.day, "A001")))[0]}
        pairs = []
        for actor, op, params in REQUESTS:
            pairs.append((await _session_command(h, sessions[actor], op, params),
                          _simulated_command(Act(actor, op, params), h.service.state)))
        manager, _ = await h.hello("manager", user=MANAGER[0], password=MANAGER[1])
        for op, params in (("set_notice", {"text": "系统维护"}), ("ack_warning", {"warning": 3}),
                           ("set_priority", {"number": "A001", "priority": "green"})):
            pairs.append((await _session_command(h, manager, op, params),
                          _command(ops.Identity("manager", signature="主任（zhuren）"), op, params,
                                   h.service.state)))
        h.context.login_gate.close()
        h.writer.close()
        return pairs

    pairs = asyncio.run(scenario())
    engine.dispose()
    assert len(pairs) == len(REQUESTS) + 3
    for live, simulated in pairs:
        assert live == simulated
    refused = [live for live, _ in pairs if isinstance(live, tuple)]
    assert refused == [("bad_request", "缺少参数：ticket"), ("forbidden", "只能评价您自己的小票"),
                       ("conflict", "请先签到到您的窗口")]


async def _session_command(h: InProcessHall, session, op: str, params: dict) -> Any:
    """What the session submitted for this request, or the error it answered with."""
    answer = asyncio.create_task(h.request(session, op, **params))
    while h.writer.queue.empty() and not answer.done():
        await asyncio.sleep(0)
    if answer.done():
        reply = answer.result()
        return reply["error"]["code"], reply["error"]["message"]
    answer.cancel()
    return h.writer.queue.get_nowait().command


def _simulated_command(act: Act, state) -> Any:
    try:
        return direct.command_for(act, state, KIOSKS)
    except (DomainError, ProtocolError) as error:
        return error.code, error.message


def _command(who: ops.Identity, op: str, params: dict, state) -> Any:
    return ops.command_for(op, params, who, state.clerk_window.get)
