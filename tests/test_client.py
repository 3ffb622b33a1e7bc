"""hall/client.py against a real server that goes away and comes back."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from hall.client import HallClient, NotConnected, RequestFailed
from tests.conftest import free_port
from tests.live_hall import LiveHall


class BoardModel:
    """What a display would keep: the snapshot's queues, updated by queue events."""

    def __init__(self) -> None:
        self.waiting: dict[str, int] = {}
        self.snapshots = 0

    def snapshot(self, reply: dict) -> None:
        self.snapshots += 1
        self.waiting = {q["category"]: q["waiting"] for q in reply["snapshot"]["live"]["queues"]}

    def event(self, message: dict) -> None:
        if message["ev"] == "queue":
            self.waiting[message["category"]] = message["waiting"]


async def _until(condition, timeout: float) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError
        await asyncio.sleep(0.01)
    return time.monotonic() - started


def test_client_catches_up_within_2_s_after_a_server_restart(tmp_path):
    port = free_port()
    hall = LiveHall(tmp_path, port=port)
    try:
        asyncio.run(_restart_scenario(hall))
    finally:
        hall.stop()


async def _restart_scenario(hall: LiveHall) -> None:
    board = BoardModel()
    statuses: list[tuple[bool, str]] = []
    client = HallClient([hall.ws], {"role": "display", "token": hall.tokens["display"]},
                        on_snapshot=board.snapshot, on_event=board.event,
                        on_status=lambda ok, text: statuses.append((ok, text)),
                        first_delay=0.1, max_delay=1.0)
    runner = asyncio.create_task(client.run())
    await _until(lambda: client.connected, 5)
    kiosk = await asyncio.to_thread(hall.hello, "kiosk")
    await asyncio.to_thread(kiosk.request, "take_ticket", category="A")
    await _until(lambda: board.waiting.get("A") == 1, 5)

    await asyncio.to_thread(hall.kill)
    await _until(lambda: not client.connected, 5)
    with pytest.raises(NotConnected):
        await client.request("catalogue")
    await asyncio.sleep(1.5)                      # the server is down for a while
    await asyncio.to_thread(hall.start)
    back = time.monotonic()
    # Something changes at once, possibly before the board has reconnected.
    other = await asyncio.to_thread(hall.hello, "kiosk")
    await asyncio.to_thread(other.request, "take_ticket", category="A")
    fresh = await asyncio.to_thread(hall.hello, "display")
    truth = {q["category"]: q["waiting"] for q in fresh.hello["snapshot"]["live"]["queues"]}
    await _until(lambda: client.connected and board.waiting == truth, 5)
    assert time.monotonic() - back <= 2.0
    assert board.snapshots == 2 and board.waiting["A"] == 2
    assert [ok for ok, _ in statuses][:2] == [True, False]
    await client.stop()
    await asyncio.wait_for(runner, 5)


def test_client_tries_the_next_url_and_reports_refusals(tmp_path):
    hall = LiveHall(tmp_path)
    try:
        asyncio.run(_urls_scenario(hall))
    finally:
        hall.stop()


async def _urls_scenario(hall: LiveHall) -> None:
    dead = f"ws://127.0.0.1:{free_port()}/ws"
    client = HallClient([dead, hall.ws], {"role": "kiosk", "token": hall.tokens["kiosk"]},
                        first_delay=0.05, max_delay=0.2)
    runner = asyncio.create_task(client.run())
    await _until(lambda: client.connected, 5)
    assert client.url == hall.ws
    ticket = await client.request("take_ticket", category="B")
    assert ticket["ticket"]["number"] == "B001"
    with pytest.raises(RequestFailed) as refused:
        await client.request("call_next")
    assert refused.value.code == "forbidden"
    await client.stop()
    await asyncio.wait_for(runner, 5)

    statuses: list[str] = []
    wrong = HallClient([hall.ws], {"role": "kiosk", "token": "revoked"},
                       on_status=lambda ok, text: statuses.append(text),
                       first_delay=0.05, max_delay=0.1)
    runner = asyncio.create_task(wrong.run())
    await _until(lambda: len(statuses) >= 2, 5)
    assert statuses[0] == "服务器拒绝连接：设备令牌无效或已被吊销，请联系管理员重新发放"
    await wrong.stop()
    runner.cancel()


class _Frames:
    """A stand-in connection that yields given frames (for the stale-event and bundle rules)."""

    def __init__(self, frames: list[dict | list[dict]]):
        self.frames = [json.dumps(f) for f in frames]

    def __aiter__(self):
        return self._gen()

    async def _gen(self):
        for frame in self.frames:
            yield frame


def test_a_stop_while_waiting_to_reconnect_ends_the_run_at_once():
    """No server at the address, and an hour between tries: the client waits to try again, and
    `stop()` ends that wait (a device, or a test's teardown, does not sit out the back-off)."""
    statuses: list[str] = []

    async def scenario() -> None:
        client = HallClient([f"ws://127.0.0.1:{free_port()}/ws"], {"role": "display", "token": "x"},
                            on_status=lambda ok, text: statuses.append(text),
                            first_delay=3600, max_delay=3600)
        runner = asyncio.create_task(client.run())
        await _until(lambda: statuses, 30)          # the first try failed: now it waits
        await client.stop()
        await asyncio.wait_for(runner, 30)           # a bound, far below the hour's wait

    asyncio.run(scenario())
    assert statuses == ["无法连接服务器（ConnectionRefusedError），正在重试"]


def test_events_not_newer_than_the_snapshot_are_dropped():
    seen: list[int] = []
    client = HallClient(["ws://unused"], {}, on_event=lambda m: seen.append(m["seq"]))
    client.connected, client.snapshot_seq = True, 10
    frames = [{"ev": "queue", "seq": s} for s in (9, 10, 11, 11, 12)]
    asyncio.run(client._read(_Frames(frames)))
    assert seen == [11, 11, 12] and client.last_seq == 12


def test_a_bundle_is_handed_over_as_its_events_in_order():
    """The hello asks for `bundle`: a fan-out's events may come as one frame, a JSON array; each
    is handed to `on_event` on its own, in order, by the same rule for stale ones."""
    seen: list[tuple[str, int]] = []
    client = HallClient(["ws://unused"], {}, on_event=lambda m: seen.append((m["ev"], m["seq"])))
    client.connected, client.snapshot_seq = True, 10
    frames = [[{"ev": "queue", "seq": 10}, {"ev": "window", "seq": 10}],
              [{"ev": "ticket_called", "seq": 11}, {"ev": "window", "seq": 11},
               {"ev": "queue", "seq": 11}], {"ev": "window", "seq": 12}]
    asyncio.run(client._read(_Frames(frames)))
    assert seen == [("ticket_called", 11), ("window", 11), ("queue", 11), ("window", 12)]
    assert client.last_seq == 12


def test_a_server_older_than_bundle_is_greeted_without_it():
    """A device updated before its server: the server refuses hello's `bundle` as an unknown
    parameter (as every server before it did), and the client says hello again without it."""
    from websockets.asyncio.server import serve

    hellos: list[dict] = []

    async def old_server(ws) -> None:
        async for frame in ws:
            request = json.loads(frame)
            hellos.append(request)
            if "bundle" in request:
                await ws.send(json.dumps({"re": request["id"], "ok": False, "error": {
                    "code": "bad_request", "message": "hello 不接受参数 bundle"}}))
            else:
                await ws.send(json.dumps({"re": request["id"], "ok": True, "seq": 5,
                                          "snapshot": {}}))

    async def scenario() -> list[str]:
        statuses: list[str] = []
        async with serve(old_server, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            client = HallClient([f"ws://127.0.0.1:{port}/ws"], {"role": "display", "token": "x"},
                                on_status=lambda ok, text: statuses.append(text))
            runner = asyncio.create_task(client.run())
            await _until(lambda: client.connected, 30)
            assert client.snapshot_seq == 5
            await client.stop()
            await asyncio.wait_for(runner, 30)
        return statuses

    assert asyncio.run(scenario())[0] == "已连接"
    assert [h.get("bundle") for h in hellos] == [True, None]


def test_a_new_service_day_brings_a_new_snapshot(tmp_path):
    """At midnight (a simulated one, a few seconds away) the server closes the day and sends
    day_started; the client says hello again by itself, so a board forgets yesterday's queue."""
    hall = LiveHall(tmp_path, "--simulate-from", "2026-11-23T23:59:44", "--speed", "2")
    try:
        asyncio.run(_midnight_scenario(hall))
    finally:
        hall.stop()


async def _midnight_scenario(hall: LiveHall) -> None:
    board = BoardModel()
    days: list[str] = []
    client = HallClient([hall.ws], {"role": "display", "token": hall.tokens["display"]},
                        on_snapshot=lambda reply: (board.snapshot(reply),
                                                   days.append(reply["snapshot"]["live"]["day"])),
                        on_event=board.event, first_delay=0.1, max_delay=1.0)
    runner = asyncio.create_task(client.run())
    await _until(lambda: client.connected, 5)
    kiosk = await asyncio.to_thread(hall.hello, "kiosk")
    await asyncio.to_thread(kiosk.request, "take_ticket", category="A")
    await _until(lambda: board.waiting.get("A") == 1, 5)
    await _until(lambda: board.snapshots == 2, 30)
    assert days == ["2026-11-23", "2026-11-24"] and board.waiting["A"] == 0
    await client.stop()
    await asyncio.wait_for(runner, 5)
