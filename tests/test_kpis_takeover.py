"""Who is credited with what when a clerk takes a window over in the middle of a ticket (issue 12,
point 7; docs/kpis.md, "A takeover in the middle of a ticket"): the 受理 is the caller's, and so
is the wait; each hold, transfer, no-show and finish is whoever did it, the finish with the
visit's whole service time, its outcome, post and rating. Days built by the real core and store,
read back as the reports read them: `kpi_rows`, `queue-server report`, and the manager's `stats`.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from queue_server import commands as cmd
from queue_server import kpis, reports
from queue_server.hall_service import HallService
from queue_server.hall_toml import parse_hall
from queue_server.store import hall_records
from queue_server.store.database import migrate, open_engine
from tests.live_hall import LiveHall

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)
SMALL = (Path(__file__).parent / "data" / "small-hall.toml").read_text(encoding="utf-8")


def _at(clock: str) -> datetime:
    return datetime.combine(MONDAY, time.fromisoformat(clock), TZ)


@pytest.fixture(scope="module")
def hall(tmp_path_factory) -> dict:
    """Window 1 of the small hall: 1001 is its A post, 1002 one of its B posts."""
    db = tmp_path_factory.mktemp("takeover") / "hall.db"
    engine = open_engine(f"sqlite:///{db}")
    migrate(engine)
    with engine.begin() as conn:
        hall_records.save_definition(conn, parse_hall(SMALL), _at("08:00"))
    service = HallService(engine, None, _at("08:00"))
    for clock, command in [
        ("09:00", cmd.SignIn("1001", 1, "A")),
        ("09:00", cmd.TakeTicket("A", "handle", "normal", None)),        # A001
        ("09:01", cmd.TakeTicket("A", "handle", "normal", None)),        # A002
        ("09:02", cmd.TakeTicket("A", "handle", "normal", None)),        # A003
        ("09:05", cmd.CallNext("1001", 1)),                              # A001, waited 300 s
        ("09:15", cmd.SignIn("1002", 1, "B", takeover=True)),            # in the middle of A001
        ("09:20", cmd.Finish("1002", 1, "done")),
        ("09:21", cmd.Rate("A001", 4, (), window=1)),
        ("09:22", cmd.CallNext("1002", 1)),                              # A002, waited 1,260 s
        ("09:25", cmd.SignIn("1001", 1, "A", takeover=True)),            # back, mid A002
        ("09:27", cmd.NoShow("1001", 1)),
        ("09:28", cmd.CallNext("1001", 1)),                              # A003, waited 1,560 s
        ("09:30", cmd.SignIn("1002", 1, "B", takeover=True)),            # mid A003
        ("09:31", cmd.Hold("1002", 1, "回家取材料")),
        ("09:40", cmd.ResumeHeld("1002", 1, "A003")),
        ("09:45", cmd.Finish("1002", 1, "accepted")),                    # 承诺件, no rating
    ]:
        service.execute(command, _at(clock))
    with engine.connect() as conn:
        hall_id = hall_records.hall_id_for(conn, None)
        definition = hall_records.load_definition(conn, hall_id)
    facts = reports.load_facts(engine, hall_id, definition, MONDAY, MONDAY)
    engine.dispose()
    return {"db": db, "facts": facts, "definition": definition}


def _rows(hall, by) -> dict[str, dict]:
    return {r["key"]: r for r in kpis.kpi_rows(hall["facts"], hall["definition"], by, "day")}


FIGURES = ("accepted", "finished", "no_show", "held", "transferred", "wait_mean_s",
           "service_mean_s", "rated", "unrated", "score_mean", "onsite_pct", "post_a", "post_b")


def test_clerk_rows_follow_the_definitions(hall):
    clerks = _rows(hall, "clerk")
    assert set(clerks) == {"1001", "1002"}
    # 1001 called A001 (1002 finished it) and A003 (1002 held it), and marked A002 a no-show
    # after taking the window back from 1002, who had called it.
    assert {k: clerks["1001"][k] for k in FIGURES} == {
        "accepted": 2, "finished": 0, "no_show": 1, "held": 0, "transferred": 0,
        "wait_mean_s": (300 + 1560) / 2, "service_mean_s": None, "rated": 0, "unrated": 0,
        "score_mean": None, "onsite_pct": None, "post_a": 0, "post_b": 0}
    # 1002 called A002 and A003 (again, from hold); finished A001 (the whole visit from
    # 1001's call: 900 s, and its rating) and A003 (300 s); held A003.
    assert {k: clerks["1002"][k] for k in FIGURES} == {
        "accepted": 2, "finished": 2, "no_show": 0, "held": 1, "transferred": 0,
        "wait_mean_s": 1260.0, "service_mean_s": 600.0, "rated": 1, "unrated": 1,
        "score_mean": 4.0, "onsite_pct": 50.0, "post_a": 0, "post_b": 2}
    assert clerks["1002"]["scores"] == {"5": 0, "4": 1, "3": 0, "2": 0, "1": 0}
    assert clerks["1001"]["name"] == "张敏（1001）"


def test_window_and_hall_rows_are_the_same_tickets(hall):
    [window] = _rows(hall, "window").values()
    [whole] = _rows(hall, "hall").values()
    for row in (window, whole):
        assert (row["accepted"], row["finished"], row["no_show"], row["held"]) == (3, 2, 1, 1)
        assert (row["wait_mean_s"], row["service_mean_s"]) == ((300 + 1260 + 1560) / 3, 600.0)
        assert (row["rated"], row["post_a"], row["post_b"]) == (1, 0, 2)
    clerks = _rows(hall, "clerk").values()
    for key in ("finished", "no_show", "held", "rated", "unrated", "post_b"):
        assert sum(r[key] for r in clerks) == whole[key]


def test_ticket_and_rating_tables_name_who_ended_it(hall):
    headers, body = reports.table(hall["facts"], hall["definition"], "tickets")
    tickets = {row[headers.index("号码")]: dict(zip(headers, row, strict=True)) for row in body}
    assert {n: (t["窗口"], t["工号"], t["岗位"]) for n, t in tickets.items()} == {
        "A001": ("1 号 社保窗口", "1002", "B岗（协办/顶岗）"),
        "A002": ("1 号 社保窗口", "1001", "A岗（主办）"),
        "A003": ("1 号 社保窗口", "1002", "B岗（协办/顶岗）")}
    assert tickets["A001"]["工作人员"] == "李强"
    assert tickets["A001"]["办理（分钟）"] == 15.0
    headers, [rating] = reports.table(hall["facts"], hall["definition"], "ratings")
    assert (rating[headers.index("工号")], rating[headers.index("岗位")]) == (
        "1002", "B岗（协办/顶岗）")


def test_the_command_line_report_by_clerk(hall):
    done = subprocess.run(
        [sys.executable, "-m", "queue_server.cli", "--db", f"sqlite:///{hall['db']}", "report",
         "--from", MONDAY.isoformat(), "--to", MONDAY.isoformat(), "--by", "clerk",
         "--period", "day"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    rows = {r["工号"]: r for r in csv.DictReader(io.StringIO(done.stdout.removeprefix("\ufeff")))}
    assert {k: (r["受理数（张）"], r["办结数（张）"], r["过号数（张）"], r["挂起数（张）"],
                r["平均办理（分钟）"], r["评价数（条）"], r["B岗办结（张）"])
            for k, r in rows.items()} == {
        "1001": ("2", "0", "1", "0", "", "0", "0"),
        "1002": ("2", "2", "0", "1", "10.0", "1", "2")}


def test_the_managers_stats_by_clerk_after_a_takeover(tmp_path):
    live = LiveHall(tmp_path)
    try:
        number = live.hello("kiosk").request("take_ticket", category="A")["ticket"]["number"]
        first = live.hello("clerk", badge="1001", pin="1111")
        assert first.request("sign_in", window=1, post="A")["ok"]
        assert first.request("call_next")["ticket"]["number"] == number
        second = live.hello("clerk", badge="1002", pin="2222")
        assert second.request("sign_in", window=1, post="B", takeover=True)["ok"]
        assert second.request("finish", outcome="done")["ok"]
        assert live.hello("pad").request("rate", ticket=number, score=5)["ok"]
        day = live.health()["service_day"]
        rows = live.hello("manager").request("stats", view="kpis", by="clerk", period="day", **{
            "from": day, "to": day})["rows"]
        assert [(r["key"], r["accepted"], r["finished"], r["rated"], r["post_b"]) for r in rows] == [
            ("1001", 1, 0, 0, 0), ("1002", 0, 1, 1, 1)]
    finally:
        assert live.stop() == 0


# --- the day simulator, whose clerks sometimes take a window over with a ticket in hand ---------

SIMULATED_DAY, SEED = "2026-11-20", "3"   # this seed's day has one takeover mid-ticket


def test_a_simulated_day_with_a_takeover_mid_ticket(tmp_path):
    db, out = tmp_path / "day.db", tmp_path / "summary.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.simulate_day", "--hall", "demo-town", "--mode", "direct",
         "--day", SIMULATED_DAY, "--seed", SEED, "--db", f"sqlite:///{db}", "--out", str(out)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    [truth] = json.loads(out.read_text(encoding="utf-8"))["days"]
    # From the raw log: the takeovers while a ticket was at the window, and who called what.
    conn = sqlite3.connect(db)
    at_window: dict[int, str] = {}
    caught: list[str] = []
    called: dict[str, set[str]] = {}
    for kind, data in conn.execute("select kind, data from events order by seq"):
        d = json.loads(data)
        if kind == "ticket_called" and d["via"] != "recall":
            at_window[d["window"]] = d["number"]
            called.setdefault(d["clerk"], set()).add(d["number"])
        elif kind in ("ticket_finished", "ticket_held", "ticket_transferred", "ticket_no_show"):
            at_window.pop(d["window"], None)
        elif kind == "clerk_signed_in" and d["takeover"] and d["window"] in at_window:
            caught.append(at_window[d["window"]])
    conn.close()
    assert caught, "pick a seed whose day has a takeover in the middle of a ticket"

    engine = open_engine(f"sqlite:///{db}")
    with engine.connect() as c:
        hall_id = hall_records.hall_id_for(c, None)
        definition = hall_records.load_definition(c, hall_id)
    day = date.fromisoformat(SIMULATED_DAY)
    facts = reports.load_facts(engine, hall_id, definition, day, day)
    engine.dispose()
    rows = {r["key"]: r for r in kpis.kpi_rows(facts, definition, "clerk", "day")}
    # The simulator credits each act to the clerk at the window at that moment (docs/simulator.md).
    for badge in set(rows) | set(truth["clerks"]):
        acts: Counter = Counter()
        for counts in truth["clerks"].get(badge, {}).values():
            acts.update(counts)
        row = rows.get(badge) or dict.fromkeys(("accepted", "finished", "no_show", "rated"), 0)
        assert (row["finished"], row["no_show"]) == (acts["finished"], acts["no_show"]), badge
        assert row["rated"] == sum(n for k, n in acts.items() if k.startswith("rated_")
                                   and k != "rated_null"), badge
        assert row["accepted"] == len(called.get(badge, ())) <= acts["called"], badge
