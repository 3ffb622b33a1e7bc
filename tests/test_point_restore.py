"""The town gives a point its own log back (docs/points.md, "A point behind the town"): a PC
re-enrolled with an empty log, or a point restored from an older backup, gets the entries of its
log the town holds, in order, once, after any cut; a log that is not the beginning of the
town's copy is refused with what to do; only an authenticated point gets its own log. The town
is a real `queue-server serve` on 127.0.0.1 with a real SQLite file; the point a PointStore with
the real PointLink, or a real `queue-server point serve` with its page in chromium."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import shutil
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from queue_server.points import ledger as L
from queue_server.points import point_page, sync
from queue_server.points.point_store import PointStore
from queue_server.store import point_logs
from tests.browser import chromium
from tests.conftest import ARTIFACTS
from tests.live_hall import LiveHall
from tests.live_point import LivePoint, cli, waited
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


def _older_copy(point: Point, entries: list[L.Entry]) -> None:
    """`point`'s database as an older backup left it: the first of these entries, written as
    they were (the same records, times and numbers)."""
    for entry in entries:
        assert point.store.write(entry.record, entry.at) == entry


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
    assert new.store.town_ahead() == 50     # known from the code, before any contact

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
            _older_copy(restored, held[:kept])
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
    _older_copy(restored, written[:2])
    restored.store.write(replace(written[2].record, name="王二"), written[2].at)
    # and a copy of the first two whose second differs in one field only
    other = Point(tmp_path, original.store.enrolment(), "other")
    other.store.put("installation", original.store.get("installation"))
    _older_copy(other, [written[0]])
    other.store.write(written[1].record, "2026-12-07T08:36:00+08:00")

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
    # its page does not promise that the records will come back by themselves
    assert restored.hub.state["refused"] is True
    words = point_page.link_view(restored.hub.state, 0, restored.store.town_ahead())["restoring"]
    assert words.startswith("乡镇有本点的 2 条记录本机还没有，乡镇拒绝了同步，不能自动取回"), words
    # and so the agent sees it: the page of that PC's own server, refused by the town in turn
    served = LivePoint(tmp_path, db=tmp_path / "restored.db")
    served.start(simulate_from=None)    # no clock warning: what it shows is the refusal
    try:
        with chromium() as browser:
            for width, height, name in ((1366, 768, "refused.png"), (390, 844, "refused-phone.png")):
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                page.goto(f"{served.http}/")
                banner = page.locator("#restoring")
                banner.filter(has_text="乡镇拒绝了同步，不能自动取回（见下方说明）").wait_for(
                    timeout=30_000)
                assert banner.inner_text().startswith("⚠ ")   # a warning: nothing is under way
                page.get_by_text("本机台账的前 3 条与乡镇收到的本点记录不一致").wait_for()
                page.get_by_text("point enrol --again").first.wait_for()
                assert page.evaluate("document.documentElement.scrollWidth") <= width  # fits
                page.screenshot(path=ARTIFACTS / "point" / name, full_page=True)
                context.close()
    finally:
        assert served.stop() == 0


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
    empty = hashlib.sha256().hexdigest()    # the digest of no entries

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


def _cases(point: LivePoint) -> dict[str, dict]:
    """The cases a page opened now is given (the point's ledger in memory)."""
    client = point.hello()
    views = {c["case"]: c for c in client.hello["cases"]}
    client.close()
    return views


def test_a_point_restored_from_an_older_backup_gets_the_rest_and_numbers_after_it(town, tmp_path):
    enrolment = enrol(town)
    town_db = Town(town)
    (tmp_path / "pc").mkdir()
    point = LivePoint(tmp_path / "pc", enrolment)
    item = enrolment.items[0]
    record = {"phone": "13800001111", "item": item.code, "materials": list(item.materials),
              "agent": "王芳"}
    copy = tmp_path / "usb" / "point-copy.db"
    copy.parent.mkdir()
    point.start()      # Friday 2026-12-04 09:00, simulated
    try:
        page = point.hello()
        for n in range(3):
            assert page.request("record", name=f"群众{n}", **record)["ok"]
        waited(lambda: town_db.last() == (3, 0), "the first three cases at the town")
        done = cli("point", "backup", str(copy), "--db", point.url)
        assert done.returncode == 0, done.stderr
        for n in range(3, 7):
            assert page.request("record", name=f"群众{n}", **record)["ok"]
        assert page.request("amend", case="P07-261204-002", phone="13900002222")["ok"]
        waited(lambda: town_db.last() == (8, 0), "the day's cases at the town")
        town_db.write(L.TownReceived("P07-261204-001", 1, "王五"))
        waited(lambda: _cases(point)["P07-261204-001"]["stage"] == "delivered", "the answer")
    finally:
        assert point.stop() == 0
    # the disk is replaced; the evening's copy is from before the last four cases
    point.db.unlink()
    shutil.copy(copy, point.db)
    old = PointStore(point.url)
    assert old.last() == (3, 0)
    old.engine.dispose()
    point.start("2026-12-04T16:00")
    try:
        views = waited(lambda: len(cases := _cases(point)) == 7 and cases, "the cases back")
        assert views["P07-261204-002"]["phone"] == "13900002222"
        assert views["P07-261204-001"]["stage"] == "delivered"
        page = point.hello()
        assert page.hello["link"]["restoring"] is None
        added = page.request("record", name="群众7", **record)
        assert added["ok"], added
        assert added["case"]["case"] == "P07-261204-008"    # after the restored day's cases
        waited(lambda: town_db.last() == (9, 1), "the new case at the town")
    finally:
        assert point.stop() == 0
    restored = PointStore(point.url)
    assert restored.up() == town_db.read(point_logs.up_entries, POINT)
    assert L.fold(restored.up(), restored.down()) == town_db.fold()
    restored.engine.dispose()


class UpBackBlocker:
    """Between a point and its town, in a thread of its own, a slow link: while `blocking` is
    set, what the town sends stalls as soon as it starts giving the point its log back (an
    `up_back` frame), and goes on once it is cleared; the point stays connected, behind."""

    MARK = b'{"t":"up_back"'

    def __init__(self, target: str):
        self.host, port = target.removeprefix("http://").split(":")
        self.port = int(port)
        self.blocking = threading.Event()
        self.blocking.set()
        self.stalled = 0
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        threading.Thread(target=self._run, args=(started,), daemon=True).start()
        started.wait(10)

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self.joined, "127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        started.set()
        self.loop.run_forever()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)

    async def joined(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        writers = (writer, up_writer)

        async def pump(source, sink, watch: bool) -> None:
            tail = b""
            while data := await source.read(4096):
                if watch and self.blocking.is_set() and self.MARK in tail + data:
                    self.stalled += 1
                    while self.blocking.is_set():
                        await asyncio.sleep(0.05)
                tail = data[-len(self.MARK):]
                sink.write(data)
            for w in writers:
                w.close()

        await asyncio.gather(pump(reader, up_writer, False), pump(up_reader, writer, True),
                             return_exceptions=True)


def _record_on_page(page, name: str, item) -> None:
    page.locator("#name").fill(name)
    page.locator("#phone").fill("13800001111")
    page.get_by_role("radio", name=item.name).click()
    page.locator("#materials").get_by_label(item.materials[0], exact=True).check()
    page.locator("#agent").fill("王芳")
    page.get_by_role("button", name="登记", exact=True).click()


def test_the_page_says_the_point_is_getting_its_log_back_and_records_nothing_meanwhile(
        town, tmp_path):
    # just now, on the town calendar's day, as the page's real clock
    first = Point(tmp_path, enrol(town), "old", start=datetime.now(ZONE))
    numbers = [first.record().record.case for _ in range(3)]
    town_db = Town(town)
    _synced(first, town_db)
    blocker = UpBackBlocker(town.http)
    enrolment = enrol(town, POINT, "--again")
    enrolment = replace(enrolment, town_url=enrolment.town_url.replace(
        town.http.removeprefix("http://"), blocker.address))
    (tmp_path / "pc").mkdir()
    point = LivePoint(tmp_path / "pc", enrolment)
    done = cli("point", "init", "--code", str(tmp_path / "pc" / "code.txt"), "--db",
               f"sqlite:///{tmp_path / 'another.db'}")
    assert "乡镇已有本点的 3 条记录：连上乡镇后会自动取回，取回前不能登记" in done.stdout
    point.start(simulate_from=None)    # the same day as the town's three cases
    shot = ARTIFACTS / "point" / "restoring.png"
    try:
        with chromium() as browser:
            context = browser.new_context(viewport={"width": 1366, "height": 768})
            page = context.new_page()
            page.goto(f"{point.http}/")
            banner = page.locator("#restoring")
            banner.filter(has_text="正在从乡镇取回本点的 3 条记录…取回前不能登记或更改").wait_for(
                timeout=30_000)
            page.get_by_text("● 已连接乡镇").wait_for()
            _record_on_page(page, "赵六", enrolment.items[0])
            page.get_by_text("取回前不能登记或更改（以免件号和记录序号与乡镇已有的重复）").wait_for()
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=shot)
            assert blocker.stalled == 1
            behind = PointStore(point.url)
            assert behind.last() == (0, 0) and behind.town_ahead() == 3   # nothing written
            behind.engine.dispose()
            blocker.blocking.clear()      # the link lets the log through
            banner.wait_for(state="hidden", timeout=30_000)
            for number in numbers:
                page.locator(f"li.case[data-case='{number}']").wait_for()
            _record_on_page(page, "赵六", enrolment.items[0])
            following = numbers[-1][:-3] + "004"      # after the restored day's cases
            page.locator(f"li.case[data-case='{following}']").wait_for()
            page.screenshot(path=ARTIFACTS / "point" / "restored.png")
            context.close()
        waited(lambda: town_db.last() == (4, 0), "the new case at the town")
    finally:
        assert point.stop() == 0
        blocker.stop()
    up = town_db.read(point_logs.up_entries, POINT)
    assert up[:3] == first.store.up() and up[3].record.name == "赵六"
