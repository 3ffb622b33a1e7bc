"""The sync between a village point and its town (issue 18 point 2, docs/points.md): the town is
a real hall server (`queue-server serve` on 127.0.0.1 with a real SQLite file), the point a
PointStore with the real PointLink; each log arrives once, in order, after any cut."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from queue_server.points import ledger as L
from queue_server.points import sync
from queue_server.store import point_logs
from tests.live_hall import LiveHall
from tests.point_link import HALL, POINT, Point, Town, enrol, in_sync, running, until

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def town(tmp_path):
    live = LiveHall(tmp_path)
    yield live
    assert live.stop() == 0


def test_a_day_cut_off_with_50_cases_arrives_once_and_in_order(town, tmp_path) -> None:
    enrolment = enrol(town)
    # the working day, on the point's clock: a case every 9 minutes from 08:30, no link at all
    point = Point(tmp_path, enrolment, start=datetime(2026, 12, 7, 8, 30, tzinfo=ZONE),
                  step=timedelta(minutes=9))
    written = [point.record() for _ in range(50)]
    written.append(point.write(L.CaseAmended(written[3].record.case, phone="13900002222")))
    town_db = Town(town)
    assert town_db.last() == (0, 0)

    async def reconnect() -> None:
        link = point.link()
        async with running(link):
            await until(lambda: in_sync(point, town_db), "the day's cases at the town")
            await until(lambda: point.hub.state.get("pending") == 0, "nothing pending")
        assert link.sessions == 1    # one session carried the whole backlog

    asyncio.run(reconnect())
    arrived = town_db.read(point_logs.up_entries, POINT)
    assert arrived == written       # every entry, once, in the point's order, as written
    assert len({e.record.case for e in arrived if e.record.tag == "case_recorded"}) == 50
    assert [seq for seq, _, _ in town_db.read(point_logs.received, POINT)] == list(range(1, 52))
    assert town_db.fold() == point.fold()
    state = point.hub.state
    assert state["connected"] and state["error"] is None and state["last_contact"]
    assert point.store.get("sync")["town_has"] == 51
