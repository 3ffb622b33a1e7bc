"""Warnings logged under the names the code used for a while (`waiting`, `service`, `rating`,
the ticket as `number`, `since` with microseconds; commit ffa882c) are read back from the
append-only log with the wire contract's names (`long_wait`, `long_service`, `negative_rating`,
`ticket`, whole seconds): a restart rebuilds the same hall from an old log as from a new one,
the manager's snapshot shows them, they can be acknowledged, and reports read them the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from queue_server import commands as cmd
from queue_server import views
from queue_server.events import Event
from queue_server.hall_service import HallService
from queue_server.hall_toml import parse_hall
from queue_server.store import event_log, hall_records
from queue_server.store.database import migrate, open_engine
from queue_server.store.schema import EventRow

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 23, 9, 0, 0, 250000, tzinfo=TZ)   # a Monday; clocks have microseconds
TEXT = (Path(__file__).parent / "data" / "small-hall.toml").read_text(encoding="utf-8")
CONTRACT_KINDS = {"long_wait", "long_service", "unattended", "negative_rating", "device"}
OLD_KINDS = {"long_wait": "waiting", "long_service": "service", "negative_rating": "rating"}


def _engine(url: str):
    engine = open_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        hall_records.save_definition(conn, parse_hall(TEXT), START)
    return engine


def _as_logged_before(e: Event) -> dict:
    """The log's row of an event, a warning as the code wrote it from commit ffa882c until the
    names were restored."""
    row = {"hall_id": 1, "seq": e.seq, "day": e.day, "at": e.at, "kind": e.kind,
           "ticket": None, "window": None, "clerk": None, "data": e.data.fields()}
    if e.kind != "warning":
        return row
    data = {("number" if k == "ticket" else k): v for k, v in e.data.fields().items()}
    data["kind"] = OLD_KINDS.get(data["kind"], data["kind"])
    if "since" in data:   # the precise moment: every clock reading in this day is at .25 s
        data["since"] = (datetime.fromisoformat(data["since"])
                         + timedelta(microseconds=250000)).isoformat()
    return {**row, "data": data}


def _a_day_with_every_warning(service: HallService) -> tuple[list[Event], datetime]:
    now = START
    events: list[Event] = []

    def do(command):
        events.extend(service.execute(command, now))

    do(cmd.SignIn("1001", 1, "A"))
    do(cmd.SignIn("1004", 4, "A"))
    do(cmd.TakeTicket("B"))
    now += timedelta(minutes=30)
    do(cmd.Tick())                                          # B001 waited 30 min: long_wait
    do(cmd.CallNext("1004", 4))
    now += timedelta(minutes=10)
    do(cmd.TakeTicket("A"))                                 # A001, waits on
    now += timedelta(minutes=20)
    do(cmd.Tick())                                          # B001 at window 4 30 min: long_service
    do(cmd.Finish("1004", 4, "done"))
    do(cmd.Rate("B001", 1, ("服务态度不好",), 4))            # negative_rating
    do(cmd.SignOut("1001", 1))
    now += timedelta(minutes=10)
    do(cmd.Tick())                                          # unattended, and A001's long_wait
    do(cmd.ReportDevice("kiosk-1", "kiosk", "paper_out"))   # device
    return events, now


def _replay_state(service: HallService) -> tuple:
    state = service.state
    return (state.seq, state.warnings,
            sorted((t.number, t.wait_warned, t.service_warned) for t in state.tickets.values()),
            sorted((w.number, w.warned, w.warned_since) for w in state.windows.values()))


def test_a_log_with_the_old_warning_names_rebuilds_the_hall_as_the_contract_names_it(db_url, tmp_path):
    new = _engine(f"sqlite:///{tmp_path / 'new.db'}")
    events, now = _a_day_with_every_warning(HallService(new, None, START))
    warnings = [e for e in events if e.kind == "warning"]
    assert [(w.data.kind, w.data.fields().get("ticket")) for w in warnings] == [
        ("long_wait", "B001"), ("long_service", "B001"), ("negative_rating", "B001"),
        ("unattended", None), ("long_wait", "A001"), ("device", None)]

    old = _engine(db_url)
    logged_before = [_as_logged_before(e) for e in events]
    assert {w["data"]["kind"] for w in logged_before if w["kind"] == "warning"} == {
        "waiting", "service", "rating", "unattended", "device"}
    with old.begin() as conn:
        conn.execute(insert(EventRow), logged_before)

    later = now + timedelta(seconds=1)
    from_new, from_old = HallService(new, None, later), HallService(old, None, later)
    assert _replay_state(from_old) == _replay_state(from_new)
    for w in from_old.state.warnings.values():
        assert w["kind"] in CONTRACT_KINDS and "number" not in w
        assert "since" not in w or datetime.fromisoformat(w["since"]).microsecond == 0
    # The levels already raised came back with them: nothing is raised again (A001 still
    # waits, window 1 is still without its clerk).
    assert from_old.execute(cmd.Tick(), later) == []

    # The manager sees them after the restart, as the contract names them, and acknowledges one.
    hall = views.hall_view(from_old.definition)
    seen = views.snapshot(from_old.state, "manager", hall)["warnings"]
    assert seen == views.snapshot(from_new.state, "manager", hall)["warnings"]
    wait = next(w for w in seen if w["kind"] == "long_wait" and w["ticket"] == "A001")
    assert wait["since"] == "2026-11-23T09:40:00+08:00"
    from_old.execute(cmd.AckWarning(wait["seq"], "主任（zhuren）"), later)
    again = HallService(old, None, later + timedelta(seconds=1))
    assert again.state.warnings[wait["seq"]]["acknowledged"] == {"by": "主任（zhuren）",
                                                                  "at": later}
    assert again.state.warnings[wait["seq"]]["kind"] == "long_wait"

    # Reports read the log through the same loader.
    with old.connect() as conn:
        reported = event_log.report_events(conn, 1, START.date(), START.date(), ["warning"])
    assert [(e.seq, e.data) for e in reported] == [(w.seq, w.data) for w in warnings]


def test_warnings_in_the_new_names_are_read_as_they_were_written(tmp_path):
    engine = _engine(f"sqlite:///{tmp_path / 'hall.db'}")
    events, _ = _a_day_with_every_warning(HallService(engine, None, START))
    with engine.connect() as conn:
        day, loaded = event_log.load_latest_day(conn, 1, TZ)
        indexed = conn.execute(select(EventRow.seq, EventRow.ticket)
                               .where(EventRow.kind == "warning").order_by(EventRow.seq)).all()
    assert day == START.date()
    assert [(e.seq, e.kind, e.data) for e in loaded] == [(e.seq, e.kind, e.data) for e in events]
    # the log's ticket column names the warning's ticket, as it does for every ticket event
    assert [tuple(row) for row in indexed] == [
        (e.seq, e.data.fields().get("ticket")) for e in events if e.kind == "warning"]
