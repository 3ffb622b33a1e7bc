"""The day simulator (bench/simulate_day.py): its model's shape, and that what it says it did is
what the server stored, through the protocol and in process."""

from __future__ import annotations

import json
import random
import statistics
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bench import simulate_day
from bench.sim import agents, model
from bench.sim.summary import add_up, check
from hall import service_calendar as cal
from queue_server import kpis, reports
from queue_server.store import hall_records
from queue_server.store.database import open_engine
from queue_server.store.schema import EventRow

TOWN, COUNTY = model.load("demo-town"), model.load("county")
MONDAY = date(2026, 11, 23)


# --- the model ---------------------------------------------------------------------------------

@pytest.mark.parametrize("hall", [TOWN, COUNTY], ids=["town", "county"])
def test_arrivals_peak_in_the_morning_with_a_smaller_afternoon_peak(hall):
    weights = model.minute_weights(hall.hall, MONDAY)
    assert sum(w for _, w in weights) == pytest.approx(1.0)
    spans = model.issuing_spans(hall.hall, MONDAY)
    assert all(any(start <= m < end for start, end in spans) for m, _ in weights)
    by_hour = Counter()
    for moment, weight in weights:
        by_hour[moment.hour] += weight
    assert max(by_hour, key=by_hour.get) == 9
    assert by_hour[9] == pytest.approx(model.PEAK_HOUR_SHARE, abs=0.002)
    half_hours = Counter()
    for moment, weight in weights:
        if moment.hour >= 13:
            half_hours[moment.replace(minute=moment.minute // 30 * 30)] += weight
    busiest = max(half_hours, key=half_hours.get)
    assert busiest.time() in (datetime.min.time().replace(hour=14, minute=30),
                              datetime.min.time().replace(hour=15, minute=0))
    morning_peak = max(w for m, w in weights if m.hour < 12)
    afternoon_peak = max(w for m, w in weights if m.hour >= 12)
    assert afternoon_peak < morning_peak


def test_drawn_arrivals_follow_the_shape():
    moments = model.arrival_times(TOWN.hall, MONDAY, 20_000, random.Random(1))
    assert moments == sorted(moments) and len(moments) == 20_000
    by_hour = Counter(m.hour for m in moments)
    assert max(by_hour, key=by_hour.get) == 9
    assert by_hour[9] / len(moments) == pytest.approx(0.20, abs=0.01)
    assert not any(12 <= m.hour < 14 for m in moments)         # lunch: no tickets


def test_day_totals():
    profile = model.PROFILES["county"]
    rng = random.Random(3)
    assert model.day_total(profile, COUNTY.hall, MONDAY, rng, tickets=77) == 77
    assert model.day_total(profile, COUNTY.hall, MONDAY, rng, peak=True) == 1300
    assert model.day_total(model.PROFILES["demo-town"], TOWN.hall, MONDAY, rng, peak=True) == 300
    days = model.year_days(COUNTY.hall, date(2026, 11, 20))
    assert 240 <= len(days) <= 255 and all(cal.is_working_day(COUNTY.hall, d) for d in days)
    totals = [model.day_total(profile, COUNTY.hall, d, rng) for d in days]
    assert statistics.mean(totals) == pytest.approx(profile.average, rel=0.06)
    mondays = [t for d, t in zip(days, totals, strict=True) if d.isoweekday() == 1]
    fridays = [t for d, t in zip(days, totals, strict=True) if d.isoweekday() == 5]
    assert statistics.mean(mondays) > statistics.mean(fridays)


def test_plan_is_deterministic_with_a_seed_and_changes_with_it():
    profile = model.PROFILES["demo-town"]
    first = model.plan_day(TOWN, profile, MONDAY, seed=11)
    again = model.plan_day(TOWN, profile, MONDAY, seed=11)
    other = model.plan_day(TOWN, profile, MONDAY, seed=12)
    assert first.citizens == again.citizens and first.steps == again.steps
    assert first.citizens != other.citizens
    assert len(model.plan_day(TOWN, profile, MONDAY, seed=11, tickets=40).citizens) == 40


def test_service_times_and_behaviour_shares():
    rng = random.Random(5)
    at = datetime(2026, 11, 23, 9, 30, tzinfo=TOWN.hall.zone)
    people = [model.draw_citizen(TOWN, at, 0, rng) for _ in range(6000)]
    by_kind = {k: statistics.median(p.service_s[0] for p in people if p.kind == k)
               for k in ("handle", "consult", "pickup")}
    assert by_kind["pickup"] < by_kind["consult"] < by_kind["handle"]
    assert by_kind["consult"] == pytest.approx(model.CONSULT_MEDIAN_S, rel=0.1)
    share = Counter(p.kind for p in people)
    assert share["handle"] / len(people) == pytest.approx(0.70, abs=0.03)
    elderly = sum(p.priority == "elderly" for p in people) / len(people)
    assert elderly == pytest.approx(0.08, abs=0.015)
    assert {p.outcome for p in people if p.kind == "consult"} == {"consult"}
    categories = Counter(p.category for p in people)
    assert categories.most_common(1)[0][0] == "C"                # the largest daily cap
    scores = Counter(model.score_for(random.random(), 60) for _ in range(10_000))
    assert scores[5] > scores[4] > scores[3] and scores[1] + scores[2] < 600
    assert model.score_for(0.5, 3600) < 5 <= model.score_for(0.5, 60)


def test_county_roster():
    profile = model.PROFILES["county"]
    plan = model.plan_day(COUNTY, profile, MONDAY, seed=7)
    assert len(plan.staffed) == profile.staffed
    served = {p for w in plan.staffed for p in COUNTY.window_by_number[w].categories}
    assert served == set(COUNTY.category_by_prefix)               # every category has a window
    a_posts = {COUNTY.window_by_number[w].a_post for w in plan.staffed}
    for number, steps in plan.steps.items():
        window = COUNTY.window_by_number[number]
        assert steps == sorted(steps, key=lambda s: s.at)
        for step in steps:
            if step.post == "A":
                assert step.clerk == window.a_post
            else:
                assert step.clerk in window.b_posts and step.clerk not in a_posts
    b_windows = Counter()
    for steps in plan.steps.values():
        for clerk in {s.clerk for s in steps if s.post == "B"}:
            b_windows[clerk] += 1
    assert all(n == 1 for n in b_windows.values())               # a B post covers one window a day
    labels = Counter(s.label for steps in plan.steps.values() for s in steps)
    assert labels["absence"] >= 2                                 # the planned 脱岗: out and back


# --- running it ----------------------------------------------------------------------------------

def _run(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / f"summary-{len(list(tmp_path.iterdir()))}.json"
    assert simulate_day.main([*args, "--out", str(out)]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def _matches_database(url: str, result: dict) -> None:
    """Every day's summary against what the store holds for that day, as the reports read it."""
    engine = open_engine(url)
    with engine.connect() as conn:
        for day in result["days"]:
            when = date.fromisoformat(day["day"])
            t = day["tickets"]
            facts = _facts(engine, when)
            tickets = facts.tickets
            status = Counter(r.status for r in tickets)
            assert len(tickets) == t["issued"]
            assert status["finished"] == t["finished"] and status["no_show"] == t["no_show"]
            assert status["cancelled"] == t["cancelled"]
            assert sum(n for s, n in status.items() if s not in ("finished", "no_show", "cancelled")) == t["open"]
            assert Counter(r.category for r in tickets) == Counter(t["final_category"])
            assert Counter(r.outcome for r in tickets if r.status == "finished") == Counter(t["finished_by_outcome"])
            assert sum(r.transfers for r in tickets) == t["transfers"]
            assert sum(r.recalls for r in tickets) == t["recalls"]
            issued = conn.execute(select(EventRow.data).where(
                EventRow.day == when, EventRow.kind == "ticket_issued")).scalars().all()
            assert Counter(d["category"] for d in issued) == Counter(t["issued_by_category"])
            assert Counter(d["priority"] for d in issued) == Counter(t["issued_by_priority"])
            finished_by = Counter((r.visits[-1].ended_by, r.visits[-1].ended_post) for r in tickets
                                  if r.status == "finished")
            assert finished_by == Counter({(badge, post): c["finished"] for badge, posts in day["clerks"].items()
                                           for post, c in posts.items() if c.get("finished")})
            ratings = facts.ratings
            r = day["ratings"]
            assert len(ratings) == r["total"]
            assert Counter("null" if x["score"] is None else str(x["score"]) for x in ratings) == Counter(
                r["by_score"])
            assert Counter(x["channel"] for x in ratings) == Counter(r["by_channel"])
            rated_by = Counter((x["clerk"], x["post"]) for x in ratings)
            assert rated_by == Counter({(badge, post): sum(n for k, n in c.items() if k.startswith("rated_"))
                                        for badge, posts in day["clerks"].items() for post, c in posts.items()
                                        if any(k.startswith("rated_") for k in c)})
            warnings = conn.execute(select(EventRow.data).where(
                EventRow.day == when, EventRow.kind == "warning")).scalars().all()
            assert Counter((w["kind"], w["level"]) for w in warnings) == Counter(
                {(kind, level): n for kind, levels in day["warnings"].items() for level, n in levels.items()})
            pauses = [i.reason for i in facts.intervals if i.state == "paused"]
            assert Counter(pauses) == Counter(day["presence"]["pause"])
    engine.dispose()


def _facts(engine, day: date) -> kpis.Facts:
    with engine.connect() as conn:
        hall_id = hall_records.hall_id_for(conn, None)
        definition = hall_records.load_definition(conn, hall_id)
    return reports.load_facts(engine, hall_id, definition, day, day)


def test_protocol_day_through_a_real_server_matches_the_database(tmp_path):
    url = f"sqlite:///{tmp_path}/town.db"
    result = _run(tmp_path, "--hall", "demo-town", "--day", "2026-11-23", "--tickets", "40",
                  "--speed", "3000", "--db", url)
    [day] = result["days"]
    assert result["mode"] == "protocol" and result["problems"] == [] and check(day) == []
    assert day["unexpected_refusals"] == []
    t = day["tickets"]
    assert t["issued"] + sum(t["refused"].values()) == 40
    assert t["issued"] == t["finished"] + t["no_show"] + t["cancelled"] + t["open"]
    assert t["open"] == 0                                   # the day was closed at midnight
    assert day["ratings"]["by_channel"].get("pad", 0) > 0
    assert day["presence"]["sign_in"]                       # A posts signed in over the protocol
    assert day["device_reports"].get("paper_out") == 1      # the town kiosk's printer ran out
    _matches_database(url, result)


def test_direct_days_match_the_database_and_repeat_with_the_seed(tmp_path):
    url = f"sqlite:///{tmp_path}/history.db"
    args = ["--hall", "demo-town", "--mode", "direct", "--day", "2026-11-23", "--days", "3", "--tickets", "45"]
    result = _run(tmp_path, *args, "--db", url)
    assert [d["day"] for d in result["days"]] == ["2026-11-19", "2026-11-20", "2026-11-23"]   # no weekend
    assert result["problems"] == []
    for day in result["days"]:
        assert day["unexpected_refusals"] == [] and day["tickets"]["issued"] == 45
        assert day["replay"]["arrival_lag_s"]["max"] <= 0    # in process, nobody comes late
    totals = result["totals"]
    assert totals["days"] == 3 and totals["tickets"]["issued"] == 135
    assert totals["tickets"]["issued"] == (totals["tickets"]["finished"] + totals["tickets"]["no_show"]
                                           + totals["tickets"]["cancelled"])
    _matches_database(url, result)
    again = _run(tmp_path, *args, "--db", f"sqlite:///{tmp_path}/again.db")
    assert again["days"] == result["days"]
    other = _run(tmp_path, *args[:-2], "--tickets", "45", "--seed", "8", "--db", f"sqlite:///{tmp_path}/other.db")
    assert other["days"] != result["days"]
    # the history cannot go back before what the database already holds
    assert simulate_day.main([*args, "--db", url]) == 1


@pytest.mark.postgres
def test_direct_days_on_postgresql(postgres_url, tmp_path):
    result = _run(tmp_path, "--hall", "demo-town", "--mode", "direct", "--day", "2026-11-23", "--days", "2",
                  "--tickets", "25", "--db", postgres_url)
    assert result["problems"] == [] and [d["day"] for d in result["days"]] == ["2026-11-20", "2026-11-23"]
    _matches_database(postgres_url, result)


def test_direct_commits_per_day_store_what_the_server_path_stores(tmp_path):
    rows = {}
    for commit in ("day", "command"):
        url = f"sqlite:///{tmp_path}/{commit}.db"
        _run(tmp_path, "--hall", "demo-town", "--mode", "direct", "--day", "2026-11-23", "--tickets", "30",
             "--commit", commit, "--db", url)
        engine = open_engine(url)
        with engine.connect() as conn:
            rows[commit] = (
                conn.execute(select(EventRow.seq, EventRow.kind, EventRow.at, EventRow.data)
                             .order_by(EventRow.seq)).all(),
                sorted((t.number, t.status, t.visits[-1].ended_by if t.visits else None, t.ended_at, t.score)
                       for t in _facts(engine, MONDAY).tickets))
        engine.dispose()
    assert rows["day"] == rows["command"]


def test_county_day_has_a_red_unattended_warning_at_a_staffed_window(tmp_path):
    result = _run(tmp_path, "--hall", "county", "--mode", "direct", "--day", "2026-11-23", "--tickets", "150",
                  "--db", f"sqlite:///{tmp_path}/county.db")
    [day] = result["days"]
    staffed = set(day["plan"]["staffed_windows"])
    assert len(staffed) == 100 and day["unexpected_refusals"] == []
    assert any(w["level"] == "red" and w["window"] in staffed for w in day["unattended_warnings"])
    assert day["presence"]["takeover"] or day["presence"]["sign_in"].get("B:swap") or \
        day["presence"]["sign_in"].get("B:lunch")               # B posts took over somewhere


def test_history_is_made_once(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/demo.db"
    args = ["--hall", "demo-town", "--mode", "direct", "--days", "2", "--tickets", "10", "--db", url, "--if-empty"]
    assert simulate_day.main(args) == 0
    engine = open_engine(url)
    with engine.connect() as conn:
        first = conn.execute(select(EventRow.seq).order_by(EventRow.seq.desc())).first()[0]
    assert simulate_day.main(args) == 0
    assert "不再生成" in capsys.readouterr().out
    with engine.connect() as conn:
        assert conn.execute(select(EventRow.seq).order_by(EventRow.seq.desc())).first()[0] == first
    engine.dispose()


@pytest.mark.parametrize(("args", "words"), [
    (["--hall", "city"], "没有名为 city 的大厅"),
    (["--hall", "county", "--mode", "fast"], "--mode 应为 protocol 或 direct"),
    (["--hall", "county", "--days", "3"], "--days 只能用于 --mode direct"),
    (["--hall", "county", "--mode", "direct", "--speed", "10"], "--speed 只能用于 --mode protocol"),
    (["--hall", "county", "--speed", "0"], "--speed 应在 1 到 10000 之间"),
    (["--hall", "county", "--tickets", "10", "--peak"], "--tickets 和 --peak 只能选一个"),
    (["--hall", "county", "--day", "23/11/2026"], "无法识别的日期"),
    (["--hall", "county", "--day", "2026-11-22"], "是休息日"),
    (["--hall", "county", "--mode", "direct", "--tickets", "many"], "--tickets 应为整数"),
])
def test_bad_options_are_explained_in_chinese(args, words, capsys):
    assert simulate_day.main(args) == 1
    assert words in capsys.readouterr().err


def test_an_unknown_option_is_explained_in_chinese_too(capsys):
    with pytest.raises(SystemExit):
        simulate_day.main(["--hall", "county", "--sped", "3"])
    assert capsys.readouterr().err.startswith("错误 / error: 参数有误")


def test_totals_add_up_every_number_across_days():
    days = [{"day": "a", "tickets": {"issued": 2, "refused": {"closed": 1}},
             "waits": {"first_calls": 2, "wait_s": 10.0}},
            {"day": "b", "tickets": {"issued": 3, "refused": {}}, "waits": {"first_calls": 3, "wait_s": 20.0}}]
    total = add_up(days)
    assert total["tickets"] == {"issued": 5, "refused": {"closed": 1}}
    assert total["waits"]["mean_wait_s"] == 6.0 and total["days"] == 2


def test_a_held_citizen_comes_back_to_the_window_that_holds_the_ticket():
    plan = model.plan_day(TOWN, model.PROFILES["demo-town"], MONDAY, seed=7, tickets=0)
    clock = [datetime(2026, 11, 23, 10, 0, tzinfo=TOWN.hall.zone)]
    world = agents.World(plan, None, lambda: clock[0], ["k"])
    world.held[1] = {"A001": clock[0] + timedelta(minutes=5), "A002": None}
    assert world.held_back(1) is None and world.next_return(1) == clock[0] + timedelta(minutes=5)
    clock[0] += timedelta(minutes=6)
    assert world.held_back(1) == "A001"
