"""A village point and its town for the sync's tests and bench: the town is a real hall server
(tests/live_hall.py, `queue-server serve` on 127.0.0.1 with a real SQLite file) with a point
enrolled by `queue-server point enrol`; the point is a PointStore on its own SQLite file with the
real PointLink, in the caller's event loop, telling a hub that records what it is told."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from queue_server.points import ledger as L
from queue_server.points import sync
from queue_server.points.enrolment import CatalogueItem, Enrolment, decode
from queue_server.points.point_store import PointStore
from queue_server.points.sync import PointLink
from queue_server.store import hall_records, point_logs
from queue_server.store.database import open_engine
from tests.live_hall import LiveHall

HALL = "small"
POINT = "P07"


class RecordingHub:
    """What the point's server would be told by its link, kept in order."""

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.entries: list[L.Entry] = []
        self.states: list[dict[str, Any]] = []
        self.catalogues: list[tuple[int, tuple[CatalogueItem, ...]]] = []
        self.restorations = 0

    def town_entries(self, entries: list[L.Entry]) -> None:
        self.entries += entries

    def link_state(self, state: Mapping[str, Any]) -> None:
        self.states.append(dict(state))

    def catalogue(self, version: int, items: tuple[CatalogueItem, ...]) -> None:
        self.catalogues.append((version, items))

    def restored(self) -> None:
        self.restorations += 1

    @property
    def state(self) -> dict[str, Any]:
        return self.states[-1] if self.states else {}


def enrol(town: LiveHall, point: str = POINT, *more: str) -> Enrolment:
    return decode(town.cli("point", "enrol", "--point", point, "--name", "李庄村便民服务站",
                           "--public-url", f"{town.http}/h/{HALL}", *more))


class Point:
    """A point's PC: its store, its hub, its clock (a simulated one that each write moves on)."""

    def __init__(self, folder: Path, enrolment: Enrolment, name: str = "point",
                 start: datetime | None = None, step: timedelta = timedelta(0),
                 skew: timedelta = timedelta(0)):
        self.store = PointStore(f"sqlite:///{folder / (name + '.db')}")
        self.store.enrol(enrolment)
        self.hub = RecordingHub()
        self.code = enrolment.point
        self.now = start
        self.step = step
        self.skew = skew

    def clock(self) -> datetime:
        if self.now is None:
            return datetime.now().astimezone() + self.skew
        return self.now

    def at(self) -> str:
        moment = self.clock()
        if self.now is not None:
            self.now += self.step
        return moment.isoformat(timespec="seconds")

    def record(self, day: date | None = None) -> L.Entry:
        """One case taken at the counter (一事一记)."""
        day = day or self.clock().date()
        taken = L.fold(self.store.up(), self.store.down())
        case = L.case_number(self.code, day, taken)
        entry = self.store.write(L.CaseRecorded(case, "张三", "13800001111", "X1", "低保申请",
                                                ("身份证",), "李四"), self.at())
        self.hub.wake.set()
        return entry

    def write(self, record: L.Record) -> L.Entry:
        entry = self.store.write(record, self.at())
        self.hub.wake.set()
        return entry

    def link(self, url: str | None = None, **options: Any) -> PointLink:
        return PointLink(self.store, self.hub, url, clock=self.clock,
                         backoff=options.pop("backoff", (0.05, 0.5)), **options)

    def fold(self) -> dict[str, L.Case]:
        return L.fold(self.store.up(), self.store.down())


class CuttingProxy:
    """Between the point and the town: a connection is cut (both sockets aborted, as a link
    that drops) after a random number of bytes in a random direction, mid-frame or between
    frames. A new connection is armed so three times in four; `rearm` arms every live one anew
    (each trial's sync is cut somewhere)."""

    def __init__(self, target: str, rng: random.Random, reach: int = 1_200,
                 ways: tuple[str, ...] = ("up", "down")):
        self.reach = reach   # the most bytes a connection carries before its cut…
        self.ways = ways     # …in one of these directions
        self.host, port = target.removeprefix("http://").split(":")
        self.port = int(port)
        self.rng = rng
        self.cuts = 0
        self.live: list[dict[str, int | None]] = []

    async def start(self) -> str:
        self.server = await asyncio.start_server(self.joined, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}/h/{HALL}{sync.SYNC_PATH}"

    def arm(self, budget: dict[str, int | None]) -> None:
        way = self.rng.choice(self.ways)
        budget.update({way: self.rng.randint(1, self.reach), "up" if way == "down" else "down": None})

    def rearm(self) -> None:
        for budget in self.live:
            self.arm(budget)

    async def joined(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        budget: dict[str, int | None] = {"up": None, "down": None}
        if self.rng.random() < 0.75:
            self.arm(budget)
        self.live.append(budget)
        writers = (writer, up_writer)

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter, way: str) -> None:
            while data := await source.read(4096):
                left = budget[way]
                if left is not None and len(data) >= left:
                    sink.write(data[:left])
                    self.cuts += 1
                    for w in writers:
                        w.transport.abort()
                    return
                if left is not None:
                    budget[way] = left - len(data)
                sink.write(data)
            for w in writers:
                w.close()

        try:
            await asyncio.gather(pump(reader, up_writer, "up"), pump(up_reader, writer, "down"),
                                 return_exceptions=True)
        finally:
            self.live.remove(budget)


class Town:
    """The town's database, read and written as the tests' other process."""

    def __init__(self, live: LiveHall):
        self.engine = open_engine(f"sqlite:///{live.db}")
        with self.engine.connect() as conn:
            self.hall_id = hall_records.hall_id_for(conn, HALL)

    def read(self, reader: Callable[..., Any], *args: Any) -> Any:
        with self.engine.connect() as conn:
            return reader(conn, self.hall_id, *args)

    def last(self, point: str = POINT) -> tuple[int, int]:
        return self.read(point_logs.last_seqs, point)

    def write(self, record: L.Record, point: str = POINT) -> L.Entry:
        return point_logs.write_town_entry(self.engine, HALL, point, record,
                                           datetime.now().astimezone())

    def fold(self, point: str = POINT) -> dict[str, L.Case]:
        return self.read(point_logs.fold, point)


async def until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait for `check` to hold (a bound on a hang, not a figure: nothing is asserted on time)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout:g} s: {what}")
        await asyncio.sleep(0.02)


def in_sync(point: Point, town: Town) -> bool:
    return point.store.last() == town.last(point.code)


@contextlib.asynccontextmanager
async def running(link: PointLink):
    task = asyncio.create_task(link.run())
    try:
        yield link
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
