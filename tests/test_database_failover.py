"""The database fails over too (issue 14): a primary PostgreSQL with a synchronous streaming
standby (Debian's packages, set up here), the server reaching them through one multi-host URL
with `target_session_attrs=read-write`. The primary is killed (`pg_ctl stop -m immediate`, as a
power cut) in the middle of a stream of tickets, the standby promoted: the server carries on by
itself on the new primary, and every ticket it confirmed is there."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from queue_server.store.database import migrate, open_engine
from tests.conftest import Cluster
from tests.live_hall import ROUND_THE_CLOCK, _add_hall
from tests.live_servers import LIVENESS, Serve, stream_of_tickets

pytestmark = pytest.mark.postgres
SMALL = ROUND_THE_CLOCK.replace("daily_cap = 30", "daily_cap = 999", 1)


@pytest.fixture
def primary_and_standby():
    root = Path(tempfile.mkdtemp(prefix="hallq-pg-pair-"))
    root.chmod(0o755)      # the clusters' folders within, the postgres user's
    primary = Cluster(root / "primary", "-c wal_level=replica -c max_wal_senders=4 "
                                        "-c synchronous_standby_names='*' -c synchronous_commit=on")
    primary.start()
    standby = Cluster(root / "standby", "-c hot_standby=on", data=root / "standby" / "data")
    primary.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                "-D", str(standby.data), "-R", "-X", "stream")
    standby.start()
    try:
        yield primary, standby
    finally:
        primary.stop("immediate")
        standby.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def test_the_primary_dies_the_standby_is_promoted_and_no_confirmed_ticket_is_lost(
        primary_and_standby):
    primary, standby = primary_and_standby
    import psycopg
    plain = primary.url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE hall")
        state = conn.execute("SELECT sync_state FROM pg_stat_replication").fetchall()
    assert state == [("sync",)], state             # every commit waits for the standby's flush
    both = (f"postgresql+psycopg://postgres@/hall?host=127.0.0.1:{primary.port}"
            f"&host=127.0.0.1:{standby.port}&target_session_attrs=read-write")
    engine = open_engine(both)
    migrate(engine)
    with engine.begin() as conn:
        token = _add_hall(conn, SMALL)["kiosk"]
    engine.dispose()
    server = Serve(both, "server-a")

    async def scenario() -> list[str]:
        confirmed: list[tuple[float, str]] = []
        refusals: dict[str, int] = {}
        stop = asyncio.Event()
        stream = asyncio.create_task(stream_of_tickets([server.ws("small")], token, confirmed,
                                                        stop, refusals))
        started = time.monotonic()
        while len(confirmed) < 20:
            await asyncio.sleep(0.01)
            assert time.monotonic() - started < LIVENESS, refusals
        await asyncio.to_thread(primary.stop, "immediate")     # the primary's machine dies
        died_at = time.monotonic()
        await asyncio.to_thread(standby.run, "pg_ctl", "-D", str(standby.data), "-w", "promote")
        while not confirmed or confirmed[-1][0] <= died_at + 0.5:
            await asyncio.sleep(0.05)
            assert time.monotonic() - died_at < LIVENESS, f"no ticket on the new primary: {refusals}"
        after = len([t for t, _ in confirmed if t > died_at])
        while len([t for t, _ in confirmed if t > died_at]) < after + 10:
            await asyncio.sleep(0.05)
            assert time.monotonic() - died_at < LIVENESS, refusals
        stop.set()
        await stream
        return [number for _, number in confirmed]

    try:
        numbers = asyncio.run(scenario())
    finally:
        server.stop()
    engine = open_engine(standby.url + "/hall")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, data FROM events WHERE kind = 'ticket_issued' "
                                 "ORDER BY seq")).all()
        kinds = conn.execute(text("SELECT seq, kind, at FROM events ORDER BY seq")).all()
    engine.dispose()
    issued = [(data if isinstance(data, dict) else json.loads(data))["number"] for _, data in rows]
    assert len(issued) == len(set(issued)), f"a number was issued twice: {rows} {kinds}"
    assert set(numbers) <= set(issued), f"confirmed but lost: {sorted(set(numbers) - set(issued))}"
    assert issued == sorted(issued)
