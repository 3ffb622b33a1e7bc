"""The town gives a point its own log back (docs/points.md, "A point behind the town"): a PC
re-enrolled with an empty log, or a point restored from an older backup, gets the entries of its
log the town holds, in order, once, after any cut; a log that is not the beginning of the
town's copy is refused with what to do; only an authenticated point gets its own log. The town
is a real `queue-server serve` on 127.0.0.1 with a real SQLite file; the point a PointStore with
the real PointLink, or a real `queue-server point serve` with its page in chromium."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from queue_server.points import ledger as L
from queue_server.points import sync
from queue_server.store import point_logs
from tests.live_hall import LiveHall
from tests.point_link import POINT, CuttingProxy, Point, Town, enrol, in_sync, running, until

ZONE = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 12, 7, 8, 30, tzinfo=ZONE)


@pytest.fixture
def town(tmp_path):
    live = LiveHall(tmp_path)
    yield live
    assert live.stop() == 0


def _synced(point: Point, town_db: Town) -> None:
    async def sync_once() -> None:
        async with running(point.link()):
            await until(lambda: in_sync(point, town_db), "the point's log at the town")
    asyncio.run(sync_once())


def test_a_pc_re_enrolled_with_again_gets_its_50_cases_back_then_syncs_a_new_one(town, tmp_path):
    old = Point(tmp_path, enrol(town), "old", start=MONDAY, step=timedelta(minutes=9))
    written = [old.record() for _ in range(50)]
    town_db = Town(town)
    _synced(old, town_db)
    answer = town_db.write(L.TownReceived(written[0].record.case, 1, "王五"))
    # the old PC is dead: the town makes a new code, the new PC starts with an empty database
    new = Point(tmp_path, enrol(town, POINT, "--again"), "new",
                start=MONDAY + timedelta(hours=8))
    assert new.store.last() == (0, 0)

    async def back() -> None:
        async with running(new.link()) as link:
            await until(lambda: new.store.last() == (50, 1), "the log and the town's answer")
            assert new.store.town_ahead() == 0
            added = new.record()       # numbered after the day's restored cases
            await until(lambda: in_sync(new, town_db) and new.hub.state.get("pending") == 0,
                        "the new case at the town")
        assert link.sessions == 1 and added.seq == 51
        assert added.record.case == "P07-261207-051"

    asyncio.run(back())
    assert new.store.up()[:50] == written          # each entry as written, in order
    assert new.store.down() == [answer]
    arrived = town_db.read(point_logs.up_entries, POINT)
    assert arrived == new.store.up() and len(arrived) == 51    # the new case once
    assert new.fold() == town_db.fold()
    assert new.fold()[written[0].record.case].stage == "delivered"
    assert new.hub.restorations == 1                # the log came back in one frame (50 ≤ BATCH)
    assert new.hub.state["connected"] and new.hub.state["error"] is None


def test_a_restore_cut_at_random_frames_loses_and_doubles_nothing(town, tmp_path) -> None:
    rng = random.Random(1818)
    original = Point(tmp_path, enrol(town), "original", start=MONDAY,
                     step=timedelta(minutes=1))
    for _ in range(450):     # more than two frames' worth (sync.BATCH)
        original.record()
    town_db = Town(town)
    _synced(original, town_db)
    held = town_db.read(point_logs.up_entries, POINT)
    frames = list(sync.batches("up_back", held))
    assert len(frames) == 3 and all(len(json.loads(t)["entries"]) <= sync.BATCH
                                    for t, _ in frames)
    reach = sum(len(t.encode()) for t, _ in frames)

    async def trials() -> CuttingProxy:
        proxy = CuttingProxy(town.http, rng, reach=reach, ways=("down",))
        url = await proxy.start()
        for trial in range(6):
            # this PC's database as an older backup left it: the first entries, or none
            kept = rng.choice((0, rng.randint(1, 300)))
            restored = Point(tmp_path, original.store.enrolment(), f"trial{trial}")
            restored.store.put("installation", original.store.get("installation"))
            restored.store.restore(held[:kept])
            async with running(restored.link(url)):
                await until(lambda r=restored: in_sync(r, town_db), f"trial {trial} in sync",
                            timeout=90)
            assert restored.store.up() == held, f"trial {trial}"
            assert restored.fold() == town_db.fold()
            assert restored.hub.restorations >= 1
            restored.store.engine.dispose()
        proxy.server.close()
        return proxy

    proxy = asyncio.run(trials())
    assert proxy.cuts >= 6, proxy.cuts      # the link really dropped during the restores
    assert town_db.read(point_logs.up_entries, POINT) == held    # the town's copy untouched


def test_a_log_that_is_not_the_beginning_of_the_towns_is_refused_with_what_to_do(town, tmp_path):
    original = Point(tmp_path, enrol(town), "original", start=MONDAY,
                     step=timedelta(minutes=5))
    written = [original.record() for _ in range(5)]
    town_db = Town(town)
    _synced(original, town_db)
    # restored from a backup with two entries, then a case recorded before it reached the town:
    # its number is the town's third entry's, with another citizen
    restored = Point(tmp_path, original.store.enrolment(), "restored")
    restored.store.put("installation", original.store.get("installation"))
    restored.store.restore(written[:2])
    restored.store.write(replace(written[2].record, name="王二"), written[2].at)
    # and a copy of the first two whose second differs in one field only
    other = Point(tmp_path, original.store.enrolment(), "other")
    other.store.put("installation", original.store.get("installation"))
    other.store.restore([written[0], replace(written[1], at="2026-12-07T08:36:00+08:00")])

    async def refused(point: Point) -> None:
        async with running(point.link()):
            await until(lambda: "不一致" in (point.hub.state.get("error") or ""), "refused")

    asyncio.run(refused(restored))
    asyncio.run(refused(other))
    message = restored.hub.state["error"]
    assert "本机台账的前 3 条与乡镇收到的本点记录不一致" in message
    assert "point enrol --again" in message and "point init" in message
    assert restored.hub.restorations == 0 and restored.store.last() == (3, 0)
    assert other.hub.restorations == 0 and other.store.last() == (2, 0)
    assert town_db.read(point_logs.up_entries, POINT) == written
    assert restored.store.town_ahead() == 2      # and its server writes nothing more


async def _recv(connection) -> dict:
    return json.loads(await asyncio.wait_for(connection.recv(), 10))


async def _hello(url: str, point: str, up_last: int = 0):
    connection = await connect(url, max_size=None)
    await connection.send(json.dumps({
        "t": "hello", "point": point, "installation": "pc-1", "nonce": "n" * 8,
        "now": datetime.now(UTC).isoformat(), "up_last": up_last, "down_have": 0,
        "catalogue": 99}))
    return connection, (await _recv(connection))["nonce"]


def test_only_an_authenticated_point_gets_its_own_log_back(town, tmp_path) -> None:
    p07 = Point(tmp_path, enrol(town), "p07")
    p07.store.put("installation", "pc-1")
    p08 = Point(tmp_path, enrol(town, "P08"), "p08")
    p08.store.put("installation", "pc-1")
    for _ in range(3):
        p07.record()
    for _ in range(2):
        p08.record()
    town_db = Town(town)
    _synced(p07, town_db)
    _synced(p08, town_db)
    url = p07.store.enrolment().town_url
    empty = sync.log_digest([])

    async def attempts() -> list[dict]:
        replies = []
        # a restore instead of the proof
        connection, _ = await _hello(url, POINT)
        await connection.send(json.dumps({"t": "restore", "after": 0, "digest": empty}))
        replies.append(await _recv(connection))
        # a wrong secret
        connection, nonce = await _hello(url, POINT)
        await connection.send(json.dumps({"t": "proof", "mac": sync.proof(
            "00" * 32, "point", POINT, "pc-1", nonce)}))
        replies.append(await _recv(connection))
        # P08, authenticated, asks for its log: its own two entries and nothing else
        for code, secret in (("P08", p08.store.enrolment().secret),
                             (POINT, p07.store.enrolment().secret)):
            connection, nonce = await _hello(url, code)
            await connection.send(json.dumps({"t": "proof", "mac": sync.proof(
                secret, "point", code, "pc-1", nonce)}))
            welcome = await _recv(connection)
            await connection.send(json.dumps({"t": "restore", "after": 0, "digest": empty}))
            replies.append(welcome | {"back": (await _recv(connection))["entries"]})
            await connection.close()
        # a point not behind the town may not ask
        connection, nonce = await _hello(url, "P08", up_last=2)
        await connection.send(json.dumps({"t": "proof", "mac": sync.proof(
            p08.store.enrolment().secret, "point", "P08", "pc-1", nonce)}))
        assert (await _recv(connection))["t"] == "welcome"
        await connection.send(json.dumps({"t": "restore", "after": 0, "digest": empty}))
        replies.append(await _recv(connection))
        with pytest.raises(ConnectionClosed):
            await _recv(connection)
        return replies

    instead, forged, p08_back, p07_back, not_behind = asyncio.run(attempts())
    assert instead == {"t": "error", "message": "此时不应收到此类消息：restore"}
    assert forged["t"] == "error" and "代办点身份验证失败" in forged["message"]
    assert p08_back["up_have"] == 2
    assert [L.entry_from_wire(e) for e in p08_back["back"]] == p08.store.up()
    assert all(e["case"].startswith("P08-") for e in p08_back["back"])
    assert [L.entry_from_wire(e) for e in p07_back["back"]] == p07.store.up()
    assert not_behind == {"t": "error", "message": "此时不应收到此类消息：restore"}
