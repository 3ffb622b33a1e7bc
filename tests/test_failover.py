"""Servers that fail over (issue 14): several `serve` processes on one PostgreSQL, each hall led
by one of them (queue_server.leadership). Real server processes on 127.0.0.1, the session's real
PostgreSQL, the devices' own client (hall/client.py).

- the halls spread over the servers, and a server that does not lead a hall sends its devices
  to the one that does;
- the leader killed (SIGKILL) in the middle of a stream of tickets, 20 times: every confirmed
  ticket is in the log once, numbers are never reused, and the kiosk carries on through the
  other server; the takeover times are printed (`-s`), not asserted: a machine's speed is not
  what these tests check;
- the leader paused (SIGSTOP) until the other takes the hall, then resumed: the request it
  took in before the pause is refused, it writes nothing, and it steps down.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import text
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from hall.client import HallClient
from hall.protocol import CLOSE_MOVED
from queue_server.store.database import migrate, open_engine
from tests.browser import chromium
from tests.conftest import ARTIFACTS
from tests.live_hall import ROUND_THE_CLOCK, _add_hall
from tests.live_servers import LIVENESS, Serve, stream_of_tickets, wait_for

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ARTIFACTS / "failover"
SMALL = ROUND_THE_CLOCK.replace("daily_cap = 30", "daily_cap = 999", 1)   # 20 takeovers' tickets
EAST = SMALL.replace('code = "small"', 'code = "east"', 1)


@pytest.fixture
def county(postgres_url):
    engine = open_engine(postgres_url)
    migrate(engine)
    with engine.begin() as conn:
        tokens = {"small": _add_hall(conn, SMALL), "east": _add_hall(conn, EAST)}
    servers = [Serve(postgres_url, "server-a"), Serve(postgres_url, "server-b")]
    yield engine, servers, tokens
    for server in servers:
        server.stop()
    engine.dispose()


def _leader(servers: list[Serve], code: str) -> tuple[Serve, Serve]:
    def led() -> tuple[Serve, Serve] | None:
        leading = [s for s in servers if code in s.leads()]
        if len(leading) == 1:
            other = next(s for s in servers if s is not leading[0])
            return leading[0], other
        return None
    return wait_for(led)


def _issued(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [(hall, (data if isinstance(data, dict) else json.loads(data))["number"])
                for hall, data in conn.execute(text(
            "SELECT h.code, e.data FROM events e JOIN halls h ON h.id = e.hall_id "
            "WHERE e.kind = 'ticket_issued' ORDER BY e.hall_id, e.seq"))]


def test_the_halls_spread_and_a_device_is_sent_to_its_halls_leader(county):
    _, servers, tokens = county

    def spread() -> bool:
        """each server leads one of the two halls"""
        return sorted(len(s.leads()) for s in servers) == [1, 1]
    wait_for(spread)
    leader, other = _leader(servers, "small")
    with connect(other.ws("small")) as raw:        # the other server names the leader
        raw.send(json.dumps({"id": 1, "op": "hello", "role": "kiosk",
                             "token": tokens["small"]["kiosk"]}))
        reply = json.loads(raw.recv(timeout=10))
    assert reply["error"]["code"] == "moved" and reply["error"]["leader"] == leader.ws("small")
    assert "另一台服务器" in reply["error"]["message"]

    async def kiosk() -> str:
        client = HallClient([other.ws("small")], {"role": "kiosk", "token": tokens["small"]["kiosk"]})
        running = asyncio.create_task(client.run())
        while not client.connected:
            await asyncio.sleep(0.05)
        ticket = await client.request("take_ticket", category="A")
        await client.stop()
        await running
        return client.url, ticket["ticket"]["number"]

    assert asyncio.run(kiosk()) == (leader.ws("small"), "A001")
    with urllib.request.urlopen(other.http + "/h/small/clerk/", timeout=5) as page:
        assert page.url == leader.http + "/h/small/clerk/"   # the page too, by a redirect
    with urllib.request.urlopen(other.http + "/h/small/healthz", timeout=5) as reply:
        health = json.load(reply)                          # but its health is its own
    assert health["server"] == other.name and "small" not in health["leads"]


def test_killing_the_leader_twenty_times_loses_no_confirmed_ticket(county):
    engine, servers, tokens = county
    urls = [server.ws("small") for server in servers]
    takeovers = []

    async def scenario() -> None:
        confirmed: list[tuple[float, str]] = []
        refusals: dict[str, int] = {}
        stop = asyncio.Event()
        stream = asyncio.create_task(stream_of_tickets(urls, tokens["small"]["kiosk"],
                                                        confirmed, stop, refusals))
        for _ in range(20):
            leader, _other = await asyncio.to_thread(_leader, servers, "small")
            before = len(confirmed)
            started = time.monotonic()
            while len(confirmed) < before + 5:            # in the middle of a stream
                await asyncio.sleep(0.01)
                assert time.monotonic() - started < LIVENESS, f"the stream stopped: {refusals}"
            killed_at = time.monotonic()
            await asyncio.to_thread(leader.kill)
            while not confirmed or confirmed[-1][0] <= killed_at:
                await asyncio.sleep(0.01)
                assert time.monotonic() - killed_at < LIVENESS, "no ticket after the kill"
            takeovers.append(next(t for t, _ in confirmed if t > killed_at) - killed_at)
            await asyncio.to_thread(leader.start)         # the machine's service restarts it
        stop.set()
        await stream
        numbers = [number for _, number in confirmed]
        issued = [number for hall, number in _issued(engine) if hall == "small"]
        assert len(set(issued)) == len(issued), "a number was issued twice"
        assert set(numbers) <= set(issued), "a confirmed ticket is not in the log"
        assert len(numbers) == len(set(numbers))
        assert issued == sorted(issued)                   # numbering went on, never back

    asyncio.run(scenario())
    print(f"\ntakeover after SIGKILL, 20 times: median {statistics.median(takeovers):.2f} s, "
          f"max {max(takeovers):.2f} s")


def test_a_paused_leader_is_fenced_off_and_steps_down(county):
    engine, servers, tokens = county
    leader, other = _leader(servers, "small")
    with engine.connect() as conn:
        epoch = conn.execute(text("SELECT epoch FROM halls WHERE code = 'small'")).scalar_one()
    with connect(leader.ws("small")) as paused_kiosk:
        paused_kiosk.send(json.dumps({"id": 1, "op": "hello", "role": "kiosk",
                                      "token": tokens["small"]["kiosk"]}))
        assert json.loads(paused_kiosk.recv(timeout=10))["ok"]
        os.kill(leader.process.pid, signal.SIGSTOP)
        paused_kiosk.send(json.dumps({"id": 2, "op": "take_ticket", "category": "A"}))
        wait_for(lambda: "small" in other.leads())

        async def take_one() -> str:
            confirmed: list[tuple[float, str]] = []
            stop = asyncio.Event()
            stream = asyncio.create_task(stream_of_tickets(
                [other.ws("small")], tokens["small"]["kiosk"], confirmed, stop))
            started = time.monotonic()
            while not confirmed:
                await asyncio.sleep(0.01)
                assert time.monotonic() - started < LIVENESS, "no ticket from the new leader"
            stop.set()
            await stream
            return confirmed[0][1]

        taken = asyncio.run(take_one())
        os.kill(leader.process.pid, signal.SIGCONT)
        try:   # refused, or the session ended before the request was decided
            answer = json.loads(paused_kiosk.recv(timeout=LIVENESS))
            assert answer["re"] == 2 and not answer["ok"], answer
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == CLOSE_MOVED
    wait_for(lambda: leader.process.poll() is None and "small" not in leader.leads())
    issued = [number for hall, number in _issued(engine) if hall == "small"]
    assert issued[0] == taken == "A001" and len(issued) == len(set(issued))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT epoch FROM halls WHERE code = 'small'")).scalar_one() > epoch


def test_a_clerks_page_follows_its_hall_to_the_new_leader(county):
    """The console opened at the server that does not lead the hall is sent to the one that
    does; when that one dies, the page finds the hall at the other, from the list of servers
    its hello gave, and logs in again by itself."""
    _, servers, _ = county
    leader, other = _leader(servers, "small")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(other.http + "/h/small/clerk/")
        assert page.url == leader.http + "/h/small/clerk/"
        page.get_by_label("工号").fill("1001")
        page.get_by_label("密码").fill("1111")
        page.get_by_role("button", name="登录", exact=True).click()
        page.get_by_text("请选择今天的窗口和岗位").wait_for(timeout=20_000)
        leader.kill()
        wait_for(lambda: "small" in other.leads())

        def clerk_back() -> bool:
            """the console is connected to the new leader"""
            with urllib.request.urlopen(other.http + "/h/small/healthz", timeout=5) as reply:
                return json.load(reply)["connections"].get("clerk") == 1
        wait_for(clerk_back)
        page.get_by_text("请选择今天的窗口和岗位").wait_for(timeout=20_000)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "clerk-after-takeover.png"))
        leader.start()
