"""The KPIs over a simulated day, replayed through the real protocol, checked two independent ways:
against what the simulator itself saw (its summary), and against a computation of our own here
from the raw rows of the event log (read with sqlite3, each ticket's state kept by `_tickets`),
which shares no code with the KPI fold."""

from __future__ import annotations

import json
import sqlite3
import statistics
import subprocess
import sys
from collections import Counter
from datetime import date, datetime

import pytest

from queue_server import kpis, reports
from queue_server.store import hall_records
from queue_server.store.database import open_engine

DAY = "2026-11-20"


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("simulated")
    db, out = folder / "day.db", folder / "summary.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.simulate_day", "--hall", "demo-town", "--mode", "protocol",
         "--tickets", "80", "--speed", "3000", "--day", DAY, "--seed", "11",
         "--db", f"sqlite:///{db}", "--out", str(out)],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(out.read_text(encoding="utf-8"))
    [day] = summary["days"]
    engine = open_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        hall_id = hall_records.hall_id_for(conn, None)
        definition = hall_records.load_definition(conn, hall_id)
    facts = reports.load_facts(engine, hall_id, definition, date.fromisoformat(DAY),
                               date.fromisoformat(DAY))
    engine.dispose()
    return {"db": db, "day": day, "facts": facts, "definition": definition}


def _rows(simulated, by) -> dict[str, dict]:
    return {r["key"]: r for r in kpis.kpi_rows(simulated["facts"], simulated["definition"], by, "day")}


def _tickets(simulated) -> list[dict]:
    """Each ticket of the day as the store's `tickets` table held it up to schema 0005: its
    times, status, score, the post that finished it, its transfers and holds."""
    conn = sqlite3.connect(simulated["db"])
    tickets: dict[str, dict] = {}
    for kind, at, text in conn.execute(
            "select kind, at, data from events where day = ? and kind like 'ticket_%' "
            "order by seq", (DAY,)):
        data = json.loads(text)
        if kind == "ticket_issued":
            tickets[data["number"]] = {"issued_at": at, "first_called_at": None,
                                       "status": "waiting", "score": None, "post": None,
                                       "transfers": 0, "holds": 0}
            continue
        t = tickets[data["number"]]
        if kind == "ticket_called" and data["via"] != "recall":
            t["status"], t["first_called_at"] = "called", t["first_called_at"] or at
        elif kind in ("ticket_no_show", "ticket_finished", "ticket_cancelled", "ticket_held"):
            t["status"] = kind.removeprefix("ticket_")
            t["holds"] += kind == "ticket_held"
            t["post"] = data["post"] if kind == "ticket_finished" else t["post"]
        elif kind == "ticket_transferred":
            t["status"], t["transfers"] = "waiting", t["transfers"] + 1
        elif kind == "ticket_rated" and data["score"] is not None:
            t["score"] = data["score"]
    conn.close()
    return list(tickets.values())


def _seconds(later: str, earlier: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def test_counts_match_what_the_simulator_saw(simulated):
    truth = simulated["day"]["tickets"]
    hall = _rows(simulated, "hall")["qingshan-town"]
    assert (hall["issued"], hall["finished"], hall["no_show"], hall["cancelled"], hall["open"]) == (
        truth["issued"], truth["finished"], truth["no_show"], truth["cancelled"], truth["open"])
    assert hall["issued"] == hall["finished"] + hall["no_show"] + hall["cancelled"] + hall["open"]
    categories = _rows(simulated, "category")
    assert {k: r["issued"] for k, r in categories.items()} == {
        k: v for k, v in truth["final_category"].items()}
    assert {k: r["finished"] for k, r in categories.items() if r["finished"]} == truth[
        "finished_by_category"]
    windows = _rows(simulated, "window")
    assert {k: r["finished"] for k, r in windows.items() if r["finished"]} == truth[
        "finished_by_window"]
    outcomes = truth["finished_by_outcome"]
    handled = sum(n for outcome, n in outcomes.items() if outcome in kpis.HANDLED_OUTCOMES)
    assert hall["onsite_pct"] == round(100 * outcomes.get("done", 0) / handled, 1)
    # Tickets transferred or held at least once, against the simulator's counts of the acts.
    assert hall["transferred"] <= truth["transfers"] and (hall["transferred"] > 0) == (
        truth["transfers"] > 0)
    assert hall["held"] <= truth["holds"] and (hall["held"] > 0) == (truth["holds"] > 0)


def test_ratings_match_what_the_simulator_saw(simulated):
    ratings = simulated["day"]["ratings"]["by_score"]
    scored = {s: n for s, n in ratings.items() if s != "null"}
    hall = _rows(simulated, "hall")["qingshan-town"]
    # A pad's 未评 later rated on the phone is one rating event of each; the KPI keeps the score.
    phone_after_unrated = simulated["day"]["ratings"]["by_channel"].get("citizen", 0)
    assert hall["rated"] == sum(scored.values())
    assert hall["scores"] == {s: scored.get(s, 0) for s in ("5", "4", "3", "2", "1")}
    assert hall["unrated"] == hall["finished"] - hall["rated"]
    assert hall["unrated"] >= ratings.get("null", 0) - phone_after_unrated


def test_times_and_rates_match_our_own_computation_from_the_log(simulated):
    rows = _tickets(simulated)
    hall = _rows(simulated, "hall")["qingshan-town"]
    waits = [_seconds(r["first_called_at"], r["issued_at"]) for r in rows if r["first_called_at"]]
    assert hall["wait_mean_s"] == round(statistics.fmean(waits), 1)
    assert hall["wait_median_s"] == round(statistics.median(waits), 1)
    target = simulated["definition"].hall.service_level_minutes * 60
    missed_uncalled = sum(1 for r in rows if r["first_called_at"] is None
                          and r["status"] in ("cancelled", "no_show", "finished"))
    assert hall["service_level_pct"] == round(
        100 * sum(w <= target for w in waits) / (len(waits) + missed_uncalled), 1)
    finished = [r for r in rows if r["status"] == "finished"]
    scores = [r["score"] for r in finished if r["score"] is not None]
    assert hall["rating_rate_pct"] == round(100 * len(scores) / len(finished), 1)
    assert hall["satisfied_pct"] == round(100 * sum(s >= 3 for s in scores) / len(scores), 1)
    by_post = Counter(r["post"] for r in finished)
    assert (hall["post_a"], hall["post_b"]) == (by_post["A"], by_post["B"])
    assert hall["transferred"] == sum(1 for r in rows if r["transfers"])
    assert hall["held"] == sum(1 for r in rows if r["holds"])
    status = Counter(r["status"] for r in rows)
    assert (hall["finished"], hall["no_show"], hall["cancelled"]) == (
        status["finished"], status["no_show"], status["cancelled"])


def test_every_dimension_reconciles(simulated):
    for by in ("hall", "department", "category", "service"):
        rows = kpis.kpi_rows(simulated["facts"], simulated["definition"], by, "day")
        assert sum(r["issued"] for r in rows) == _rows(simulated, "hall")["qingshan-town"]["issued"]
        for row in rows:
            assert row["issued"] == row["finished"] + row["no_show"] + row["cancelled"] + row["open"]
    clerks = kpis.kpi_rows(simulated["facts"], simulated["definition"], "clerk", "day")
    assert sum(r["finished"] for r in clerks) == _rows(simulated, "hall")["qingshan-town"]["finished"]
