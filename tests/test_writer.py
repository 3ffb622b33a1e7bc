"""The single writer commits on a thread of its own: nobody sees a batch before it is durable.

Each test holds the commit thread on a barrier in front of the real commit (the slow disk or
the far database of a real hall), and looks at what readers and submitters get meanwhile and
after. The sessions are the server's own (`sessions.Session`), driven in process; their frames
are the protocol's, as a device would send them.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from queue_server.events import Event, NoticeSet
from queue_server.store import event_log
from queue_server.ticket_tokens import make_token
from tests.in_process_hall import SECRET, InProcessHall, make_hall

STEPS = 50   # loop turns given to a reader that would answer at once if it did not wait


@pytest.fixture
def hall(tmp_path):
    engine, hall_id, tokens = make_hall(tmp_path / "hall.db")
    yield engine, hall_id, tokens
    engine.dispose()


class HeldCommit:
    """Wraps `HallService.commit`: the commit thread waits at the barrier, then commits."""

    def __init__(self, commit: Callable[..., bool]):
        self.commit = commit
        self.holding = threading.Event()
        self.release = threading.Event()
        self.committed = 0

    def __call__(self, *args) -> bool:
        self.holding.set()
        # Bounded, so that a test failing before it releases the commit fails instead of
        # leaving this thread, and with it the whole test run, waiting for ever.
        if not self.release.wait(timeout=60):
            raise TimeoutError("the test never released the held commit")
        written = self.commit(*args)
        self.committed += 1
        return written


class HeldHall(InProcessHall):
    def __init__(self, engine, tokens):
        super().__init__(engine, tokens)
        self.held = HeldCommit(self.service.commit)
        self.service.commit = self.held            # type: ignore[method-assign]

    async def hold_a_take(self):
        """The writer running, and a kiosk's take_ticket decided with its commit held."""
        runner = asyncio.create_task(self.writer.run())
        kiosk, _ = await self.hello("kiosk")
        take = asyncio.create_task(self.request(kiosk, "take_ticket", category="A"))
        await asyncio.to_thread(self.held.holding.wait)
        return runner, kiosk, take


def waiting(reply: dict) -> dict[str, int]:
    return {q["category"]: q["waiting"] for q in reply["snapshot"]["live"]["queues"]}


async def _turns() -> None:
    for _ in range(STEPS):
        await asyncio.sleep(0)


def test_hellos_during_a_commit_wait_for_it_and_the_next_batch_waits_too(hall):
    """While a take_ticket's commit is held, the ticket is in memory, but the citizen page of
    that very ticket is not let in, a display's hello is not answered, the kiosk has no reply,
    nothing is fanned out, and a second take_ticket is not decided. Released, the citizen sees
    its committed ticket, and the display a snapshot of what was committed when it was answered."""
    engine, _, tokens = hall

    async def scenario():
        h = HeldHall(engine, tokens)
        runner, kiosk, take = await h.hold_a_take()
        assert list(h.service.state.tickets) == ["A001"]      # decided, not yet durable
        token = make_token(SECRET, h.service.state.day, "A001")
        citizen = asyncio.create_task(h.hello("citizen", ticket=token))
        display = asyncio.create_task(h.hello("display"))
        second = asyncio.create_task(h.request(kiosk, "take_ticket", category="A"))
        await _turns()
        assert not citizen.done() and not display.done()
        assert not take.done() and not second.done()
        assert h.published == [] and list(h.service.state.tickets) == ["A001"]
        assert h.writer.committed_seq == 0
        h.held.release.set()
        (_, seen), (_, board) = await citizen, await display
        replies = await take, await second
        runner.cancel()
        h.writer.close()
        return h, seen, board, replies

    h, seen, board, (first, second) = asyncio.run(scenario())
    # woken when A001 landed, before A002 was decided: it shows A001's commit and no more
    assert seen["ok"] and seen["seq"] == 1 and seen["ticket"]["number"] == "A001"
    # the display's token is read on a thread first: it is answered after either commit
    assert board["ok"] and waiting(board)["A"] == board["seq"] in (1, 2)
    with engine.connect() as conn:
        _, logged = event_log.load_latest_day(conn, h.service.hall_id, h.service.definition.hall.zone)
    assert [e.data.number for e in logged if e.kind == "ticket_issued"] == ["A001", "A002"]
    assert first["ticket"]["number"] == "A001"
    assert second["ticket"]["number"] == "A002"
    assert h.held.committed == 2


def test_a_failed_commit_tells_nobody_done_and_leaves_the_state_as_on_disk(hall):
    """Another writer takes the batch's place in the log while its commit is held: the commit
    fails on the log's unique sequence. The kiosk is told nothing was done, nothing is fanned
    out, and the state is the log's (the other writer's notice, no ticket), which is also all
    the hellos made meanwhile get to see: the ticket's citizen page is refused."""
    engine, hall_id, tokens = hall

    async def scenario():
        h = HeldHall(engine, tokens)
        runner, _, take = await h.hold_a_take()
        [issued] = [e for e in h.service.state.tickets.values()]
        with engine.begin() as conn:    # the other writer: the same seq, committed first
            event_log.append(conn, hall_id, [Event(h.service.state.seq, issued.issued_at,
                                                   h.service.state.day,
                                                   NoticeSet("另一个写入者", "测试"))])
        token = make_token(SECRET, h.service.state.day, issued.number)
        citizen = asyncio.create_task(h.hello("citizen", ticket=token))
        display = asyncio.create_task(h.hello("display"))
        await _turns()
        assert not citizen.done() and not display.done()
        h.held.release.set()
        reply = await take
        (_, refused), (_, hello) = await citizen, await display
        runner.cancel()
        h.writer.close()
        return h, reply, refused, hello

    h, reply, refused, hello = asyncio.run(scenario())
    assert refused["error"] == {"code": "unauthorized", "message": "这张小票已过期（只在取号当天有效）"}
    assert reply == {"re": 2, "ok": False, "error": {
        "code": "internal", "message": "服务器暂时无法保存，请稍后重试；本次操作未生效"}}
    assert h.published == [] and h.held.committed == 0
    assert h.writer.failed is not None and "IntegrityError" in h.writer.failed
    assert h.service.state.tickets == {} and h.service.state.notice == "另一个写入者"
    assert h.writer.committed_seq == h.service.state.seq == 1
    assert waiting(hello)["A"] == 0
    assert hello["snapshot"]["live"]["notice"] == "另一个写入者"



def test_a_state_the_database_cannot_give_back_is_shown_to_nobody_until_rebuilt(hall, monkeypatch):
    """The database goes away in the middle of a take_ticket's commit, so the state cannot be
    rebuilt from it either: the kiosk is told nothing was done, and a display saying hello
    meanwhile waits rather than see the ticket that is only in memory. The database back, the
    hall's next tick rebuilds the state first (on the commit thread), and the display is
    answered with the disk's state: no ticket."""
    from queue_server import commands as cmd
    from queue_server import hall_service

    engine, _, tokens = hall
    away = threading.Event()
    rebuild, append = hall_service.rebuild, event_log.append

    def rebuild_unless_away(*args):
        if away.is_set():
            raise OSError("数据库暂时不可用（测试）")
        return rebuild(*args)

    def append_cut_off(*args):    # the connection breaks in the middle of the commit
        if away.is_set():
            raise OSError("连接中断（测试）")
        return append(*args)

    monkeypatch.setattr(hall_service, "rebuild", rebuild_unless_away)
    monkeypatch.setattr(event_log, "append", append_cut_off)

    async def scenario():
        h = HeldHall(engine, tokens)
        away.set()
        runner, _, take = await h.hold_a_take()
        h.held.release.set()
        reply = await take
        assert h.service.ahead and list(h.service.state.tickets) == ["A001"]
        display = asyncio.create_task(h.hello("display"))
        await _turns()
        assert not display.done()
        away.clear()                 # the database answers again
        await h.writer.submit(cmd.Tick())
        (_, board) = await display
        runner.cancel()
        h.writer.close()
        return h, reply, board

    h, reply, board = asyncio.run(scenario())
    assert reply["error"]["code"] == "internal"
    assert not h.service.ahead and h.service.state.tickets == {}
    assert board["ok"] and board["seq"] == 0 and waiting(board)["A"] == 0


def test_the_ticket_page_and_healthz_wait_for_the_commit_in_flight(hall):
    """The HTTP side reads the same state: while the take_ticket's commit is held, neither the
    new ticket's citizen page nor /healthz (its seq) is answered; released, both show it."""
    from websockets.datastructures import Headers
    from websockets.http11 import Request

    from queue_server import commands as cmd
    from queue_server.leadership import sole_leadership
    from queue_server.server import Server

    engine, _, _ = hall

    async def scenario():
        server = Server(engine, ["small"])
        (hall_id,) = server.codes
        epochs = sole_leadership(engine, "test", "http://127.0.0.1:1", [hall_id])
        await server.lead(hall_id, epochs[hall_id])
        (hall,) = server.halls.values()
        held = HeldCommit(hall.service.commit)
        hall.service.commit = held               # type: ignore[method-assign]
        runner = asyncio.create_task(hall.writer.run())
        take = asyncio.create_task(hall.writer.submit(cmd.TakeTicket("A", "handle", "normal", None)))
        await asyncio.to_thread(held.holding.wait)
        token = make_token(hall.context.secret, hall.service.state.day, "A001")
        page = asyncio.create_task(server.process_request(None, Request(f"/t/{token}", Headers())))
        health = asyncio.create_task(server.process_request(None, Request("/healthz", Headers())))
        await _turns()
        assert not page.done() and not health.done()
        held.release.set()
        await take
        answers = await page, await health
        runner.cancel()
        server.close()
        return answers

    page, health = asyncio.run(scenario())
    assert page.status_code == 200 and b"<html" in page.body.lower()
    assert health.status_code == 200 and json.loads(health.body)["seq"] == 1


class _CountingLoop(asyncio.SelectorEventLoop):
    """An event loop that counts its turns."""

    turns = 0

    def _run_once(self) -> None:
        self.turns += 1
        super()._run_once()


def test_a_batchs_replies_are_written_in_the_turn_that_tells_its_submitters(hall):
    """Three takes from one kiosk land in one batch. Their outcomes' callbacks (the server's
    `HallHost._answered`) make the replies in the turn after the commit, and the writer's
    `answered` hook (the server's `Replies.flush`), scheduled behind them, writes them in that
    same turn, in one write and in order: not a turn later, which every request in flight
    would wait for (docs/performance.md)."""
    from datetime import UTC, datetime

    from queue_server import commands as cmd
    from queue_server.fanout import Hub, Replies
    from queue_server.hall_service import HallService
    from queue_server.writer import Writer
    from tests.test_fanout import Connection, received

    engine, _, _ = hall
    loop = _CountingLoop()
    kiosk = Connection()
    made: list[int] = []     # the turn each reply was made in
    written: list[int] = []  # the turn of each write to the kiosk
    record = kiosk.transport.write
    kiosk.transport.write = lambda data: (written.append(loop.turns), record(data))  # type: ignore[method-assign]

    async def scenario() -> None:
        replies = Replies()
        writer = Writer(HallService(engine, None, datetime.now(UTC)), Hub().observe,
                        lambda _: None, answered=replies.flush)

        def answered(done: asyncio.Future) -> None:
            made.append(loop.turns)
            number = next(e for e in done.result().events if e.kind == "ticket_issued").data.number
            replies.add(kiosk, json.dumps({"number": number}).encode())

        outcomes = [writer.enqueue(cmd.TakeTicket("A")) for _ in range(3)]
        for outcome in outcomes:
            outcome.add_done_callback(answered)
        runner = asyncio.create_task(writer.run())
        await asyncio.gather(*outcomes)
        await _turns()
        runner.cancel()
        writer.close()

    loop.run_until_complete(scenario())
    loop.close()
    assert len(made) == 3 and len(set(made)) == 1
    assert written == made[:1]
    assert received(SimpleNamespace(connection=kiosk)) == [
        {"number": "A001"}, {"number": "A002"}, {"number": "A003"}]
