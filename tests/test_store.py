"""Storage against real databases: SQLite files and a real PostgreSQL server."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from queue_server import commands as cmd
from queue_server import kpis, reports
from queue_server.hall_service import HallService
from queue_server.hall_toml import parse_hall
from queue_server.store import devices, event_log, hall_records
from queue_server.store.database import default_url, migrate, open_engine
from queue_server.store.schema import (
    Base,
    ClerkRow,
    DeviceRow,
    EventRow,
    HallRow,
    ItemRow,
    WindowRow,
)

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
TEXT = (Path(__file__).parent / "data" / "small-hall.toml").read_text(encoding="utf-8")


def _engine(url: str):
    engine = open_engine(url)
    migrate(engine)
    return engine


def _import(engine, text: str = TEXT):
    with engine.begin() as conn:
        return hall_records.save_definition(conn, parse_hall(text), MONDAY)


def _credentials_version(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(HallRow.credentials_version)).scalar_one()


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_migrations_match_the_models(db_url):
    engine = _engine(db_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_sqlite_is_durable_by_default(tmp_path):
    engine = _engine(f"sqlite:///{tmp_path / 'hall.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_default_database_is_a_file_in_the_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("QUEUE_DB", raising=False)
    monkeypatch.setenv("QUEUE_DATA", str(tmp_path / "data"))
    assert default_url() == f"sqlite:///{tmp_path / 'data' / 'hall.db'}"
    monkeypatch.setenv("QUEUE_DB", "postgresql://h/db")
    assert default_url() == "postgresql://h/db"


def test_the_event_log_is_append_only(db_url):
    engine = _engine(db_url)
    _import(engine)
    HallService(engine, None, MONDAY).execute(cmd.TakeTicket("A"), MONDAY)
    for statement in (update(EventRow).values(kind="x"), delete(EventRow)):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(statement)
    assert _count(engine, EventRow) == 1


def test_reimport_updates_and_never_duplicates(db_url):
    engine = _engine(db_url)
    assert _import(engine) == (1, True)
    assert _import(engine) == (1, False)
    assert (_count(engine, WindowRow), _count(engine, ClerkRow), _count(engine, ItemRow)) == (4, 5, 1)
    changed = TEXT.replace('name = "综合窗口"', 'name = "综合服务窗口"').replace(
        '[[windows]]\nnumber = 4', '[[windows]]\nnumber = 5')
    assert _import(engine, changed) == (1, True)
    with engine.connect() as conn:
        definition = hall_records.load_definition(conn, 1)
        assert hall_records.catalogue_version(conn, 1) == 2
    assert [w.number for w in definition.windows] == [1, 2, 3, 5]
    assert definition.window_by_number[3].name == "综合服务窗口"
    expected = parse_hall(changed)
    assert definition == replace(expected, clerks=tuple(replace(c, pin="") for c in expected.clerks))


def test_demo_pins_are_hashed_and_kept_when_the_file_has_none(db_url):
    engine = _engine(db_url)
    _import(engine)
    with engine.connect() as conn:
        stored = conn.execute(select(ClerkRow.pin_hash).where(ClerkRow.badge == "1001")).scalar()
    assert stored.startswith("scrypt$") and "1111" not in stored
    without_pins = "\n".join(line for line in TEXT.splitlines() if not line.startswith("pin ="))
    _import(engine, without_pins)
    with engine.connect() as conn:
        assert conn.execute(select(ClerkRow.pin_hash).where(ClerkRow.badge == "1001")).scalar() == stored


def _a_busy_morning(service: HallService) -> None:
    now = MONDAY
    run = service.execute
    for prefix in "AABABCA":
        run(cmd.TakeTicket(prefix, "consult" if prefix == "C" else "handle"), now)
    run(cmd.SignIn("1001", 1, "A"), now)
    run(cmd.SignIn("1003", 3, "A"), now)
    run(cmd.CallNext("1001", 1), now)
    run(cmd.Recall("1001", 1), now + timedelta(minutes=1))
    run(cmd.Finish("1001", 1, "done"), now + timedelta(minutes=6))
    run(cmd.Rate("A001", 2, ("办事效率低",), window=1), now + timedelta(minutes=7))
    run(cmd.CallNext("1003", 3), now + timedelta(minutes=7))
    run(cmd.Transfer("1003", 3, to_window=1), now + timedelta(minutes=8))
    run(cmd.CallNext("1001", 1), now + timedelta(minutes=9))
    run(cmd.Hold("1001", 1, "缺户口本"), now + timedelta(minutes=10))
    run(cmd.Pause("1001", 1, "会议"), now + timedelta(minutes=11))
    run(cmd.Resume("1001", 1), now + timedelta(minutes=20))
    run(cmd.SignIn("1002", 1, "B", takeover=True), now + timedelta(minutes=21))
    run(cmd.CallNext("1002", 1), now + timedelta(minutes=22))
    run(cmd.NoShow("1002", 1), now + timedelta(minutes=25))
    run(cmd.Tick(), now + timedelta(minutes=40))


def test_rebuild_at_start_gives_the_same_state(db_url):
    engine = _engine(db_url)
    _import(engine)
    live = HallService(engine, None, MONDAY)
    _a_busy_morning(live)
    restarted = HallService(engine, "small", MONDAY)
    assert restarted.state.seq == live.state.seq
    for number, ticket in live.state.tickets.items():
        again = restarted.state.tickets[number]
        assert (again.status, again.window, again.clerk, again.first_clerk, again.recalls,
                again.issued_at) == (ticket.status, ticket.window, ticket.clerk,
                                     ticket.first_clerk, ticket.recalls, ticket.issued_at)
    assert [w.clerk for w in restarted.state.windows.values()] == [
        w.clerk for w in live.state.windows.values()]
    assert restarted.state.consistency_problems() == []


def test_the_reports_facts_agree_with_the_state(db_url):
    """What the projection tables held until 0006, the facts the reports fold from the log
    give: each ticket's state, the windows' intervals, the ratings."""
    engine = _engine(db_url)
    hall_id, _ = _import(engine)
    service = HallService(engine, None, MONDAY)
    _a_busy_morning(service)
    day = service.state.day
    facts = reports.load_facts(engine, hall_id, service.definition, day, day)
    with engine.connect() as conn:
        seqs = [s for (s,) in conn.execute(select(EventRow.seq).order_by(EventRow.id))]
    assert seqs == list(range(1, len(seqs) + 1))
    tickets = {t.number: t for t in facts.tickets}
    assert tickets.keys() == service.state.tickets.keys()
    for number, ticket in service.state.tickets.items():
        t = tickets[number]
        last = t.visits[-1] if t.visits else None
        assert (t.status, last and last.window, last and (last.ended_by or last.clerk),
                t.category, t.recalls, t.visits[0].clerk if t.visits else None, t.issued_at,
                t.first_called_at, t.ended_at) == (
            ticket.status.value, ticket.window, ticket.clerk, ticket.category, ticket.recalls,
            ticket.first_clerk, ticket.issued_at, ticket.first_called_at, ticket.ended_at)
    # A sign-out's reason is not kept on the absent interval: the presence report never had it.
    window_1 = [(i.clerk, i.state, i.reason, i.ended_at is None)
                for i in facts.intervals if i.window == 1]
    assert window_1 == [("1001", "present", "", False), ("1001", "paused", "会议", False),
                        ("1001", "present", "", False), ("1001", "absent", "", False),
                        ("1002", "present", "", True)]
    assert [(r["number"], r["score"], r["clerk"], r["post"], r["department"], r["reasons"])
            for r in facts.ratings] == [("A001", 2, "1001", "A", "sb", ["办事效率低"])]


def test_next_day_rolls_over_in_the_store(db_url):
    engine = _engine(db_url)
    _import(engine)
    service = HallService(engine, None, MONDAY)
    _a_busy_morning(service)
    service.execute(cmd.TakeTicket("A"), MONDAY + timedelta(days=1))
    facts = reports.load_facts(engine, 1, service.definition, MONDAY.date(), MONDAY.date())
    with engine.connect() as conn:
        day, events = event_log.load_latest_day(conn, 1, TZ)
    assert Counter(t.status for t in facts.tickets) == {"finished": 1, "no_show": 1,
                                                        "cancelled": 5}
    assert day == (MONDAY + timedelta(days=1)).date()
    assert [e.kind for e in events] == ["day_started", "ticket_issued"]
    assert events[1].data.number == "A001"


def test_refused_commands_write_nothing(db_url):
    engine = _engine(db_url)
    _import(engine)
    service = HallService(engine, None, MONDAY)
    with pytest.raises(Exception, match="没有“Q”这个业务类别"):
        service.execute(cmd.TakeTicket("Q"), MONDAY)
    assert _count(engine, EventRow) == 0


def test_a_commit_checked_against_a_moved_credentials_version_writes_nothing(db_url):
    """The writer commits against the `credentials_version` its sessions were checked
    against: once it has moved, the commit writes nothing and says so, and the state is left
    as decided, for the writer to commit again or revert."""
    engine = _engine(db_url)
    hall_id, _ = _import(engine)
    service = HallService(engine, None, MONDAY)
    seen = _credentials_version(engine)
    with engine.begin() as conn:
        hall_records.credentials_changed(conn, hall_id)
    _, events = service.decide([(cmd.TakeTicket("A"), MONDAY)])
    assert service.commit(events, MONDAY, seen) is False
    assert _count(engine, EventRow) == 0 and "A001" in service.state.tickets
    assert service.commit(events, MONDAY, seen + 1) is True
    assert _count(engine, EventRow) == len(events)
    service.revert(MONDAY)
    assert "A001" in service.state.tickets


def test_a_commit_on_postgresql_is_one_round_trip(postgres_url, tmp_path):
    """A batch's commit, the check of the credentials included, is one round trip to the
    server (libpq's trace of the writer's connection: one Sync, no BEGIN or COMMIT), once the
    connection is open and the statement prepared."""
    from psycopg import pq

    engine = _engine(postgres_url)
    _import(engine)
    service = HallService(engine, None, MONDAY)
    seen = _credentials_version(engine)

    def take(tickets: int) -> None:
        _, events = service.decide([(cmd.TakeTicket("A"), MONDAY)] * tickets)
        assert service.commit(events, MONDAY, seen)

    for _ in range(6):       # psycopg prepares a statement on its fifth execution
        take(2)
    pgconn = service._writing.connection.driver_connection.pgconn
    trace = tmp_path / "trace"
    with trace.open("w") as out:
        pgconn.trace(out.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        take(3)
        pgconn.untrace()
    lines = [line.split("\t") for line in trace.read_text().splitlines()]
    sent = [fields[2].split()[0] for fields in lines if fields[0] == "F"]
    # A Sync or a Query each wait for the server's answer; a Parse would mean the statement
    # is not prepared (its text changed with the number of rows).
    assert [m for m in sent if m in ("Parse", "Query", "Sync")] == ["Sync"]
    assert _count(engine, EventRow) == 15
    engine.dispose()


def test_device_tokens_are_hashed_and_revocable(db_url):
    engine = _engine(db_url)
    _import(engine)
    with engine.begin() as conn:
        token = devices.add_device(conn, 1, "pad", "pad-1", 1, {1, 2, 3, 4}, MONDAY)
        with pytest.raises(devices.DeviceError):
            devices.add_device(conn, 1, "pad", "pad-2", None, {1, 2, 3, 4}, MONDAY)
        assert devices.device_for_token(conn, 1, token).window == 1
        devices.revoke_device(conn, 1, "pad-1", MONDAY)
        assert devices.device_for_token(conn, 1, token) is None
        stored = conn.execute(select(DeviceRow.token_hash)).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored


def test_sigkill_mid_burst_loses_no_confirmed_ticket(db_url):
    engine = _engine(db_url)
    _import(engine)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    writer = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "burst_writer.py"), db_url,
         MONDAY.replace(tzinfo=None).isoformat()],
        stdout=subprocess.PIPE, text=True, env=env)
    confirmed = []
    for line in writer.stdout:
        confirmed.append(line.strip())
        if len(confirmed) == 40:
            writer.send_signal(signal.SIGKILL)
            break
    writer.wait()
    confirmed += [line.strip() for line in writer.stdout if line.strip()]
    assert writer.returncode == -signal.SIGKILL
    service = HallService(engine, None, MONDAY + timedelta(minutes=5))
    assert set(confirmed) <= set(service.state.tickets)
    day = (MONDAY + timedelta(minutes=5)).date()
    stored = {t.number for t in reports.load_facts(engine, 1, service.definition, day,
                                                   day).tickets}
    assert set(confirmed) <= stored
    assert stored == set(service.state.tickets)
    for prefix in "AB":
        issued = sorted(int(n[1:]) for n in stored if n[0] == prefix)
        assert issued == list(range(1, len(issued) + 1))
        [event] = service.execute(cmd.TakeTicket(prefix), MONDAY + timedelta(minutes=5))
        assert event.data.number == f"{prefix}{len(issued) + 1:03d}"


def test_the_reports_read_the_log_as_it_was_written(db_url):
    """report_events (the reports' fast reader) gives each event's kind, data and moment, in
    UTC, on SQLite (which keeps text) as on PostgreSQL; folded, they agree with the state."""

    engine = _engine(db_url)
    hall_id, _ = _import(engine)
    service = HallService(engine, None, MONDAY)
    _a_busy_morning(service)
    day = service.state.day
    with engine.connect() as conn:
        logged = event_log.load_days(conn, hall_id, service.definition.hall.zone, day, day)
        fast = event_log.report_events(conn, hall_id, day, day, kpis.FOLDED_KINDS)
    wanted = [e for e in logged if e.kind in kpis.FOLDED_KINDS]
    assert [(e.seq, e.kind, e.at, e.day, e.data) for e in fast] == [
        (e.seq, e.kind, e.at, e.day, e.data) for e in wanted]
    assert all(e.at.utcoffset() == timedelta(0) for e in fast)
    facts = {t.number: t for t in kpis.fold(fast).tickets}
    for number, ticket in service.state.tickets.items():
        assert (facts[number].status, facts[number].first_called_at, facts[number].score) == (
            ticket.status.value, ticket.first_called_at, ticket.score)
