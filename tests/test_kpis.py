"""The KPIs of docs/kpis.md on a day small enough to work out by hand, from its event log."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from queue_server import commands as cmd
from queue_server import kpis
from queue_server.hall_state import HallState
from queue_server.hall_toml import load_hall

HALL = load_hall(Path(__file__).parent / "data" / "small-hall.toml")
TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)


def _day() -> list:
    """The day the expectations below were worked out for (times are Monday's)."""
    state = HallState(HALL, MONDAY)
    log = []

    def at(clock: str, command) -> list:
        now = datetime.combine(MONDAY, datetime.strptime(clock, "%H:%M").time(), TZ)
        events = state.roll_to(now) + state.handle(command, now)
        log.extend(events)
        return events

    at("09:00", cmd.SignIn("1001", 1, "A"))
    at("09:00", cmd.SignIn("1004", 4, "A"))
    at("09:00", cmd.TakeTicket("A", "handle", "normal", "T-SB-001"))        # A001
    at("09:05", cmd.TakeTicket("A", "handle", "normal", None))              # A002
    at("09:06", cmd.TakeTicket("A", "handle", "normal", None))              # A003
    at("09:07", cmd.TakeTicket("B", "handle", "normal", None))              # B001
    at("09:08", cmd.CallNumber("1004", 4, "B001"))
    at("09:10", cmd.Hold("1004", 4, "回家取材料"))
    at("09:10", cmd.CallNext("1001", 1))                                    # A001
    at("09:20", cmd.Finish("1001", 1, "done"))
    at("09:20", cmd.Rate("A001", 5, (), 1))
    at("09:20", cmd.CallNext("1001", 1))                                    # A002
    at("09:21", cmd.Recall("1001", 1))
    at("09:22", cmd.NoShow("1001", 1))
    at("09:22", cmd.CallNext("1001", 1))                                    # A003
    at("09:25", cmd.Transfer("1001", 1, "B", None, "应办低保"))
    at("09:30", cmd.TakeTicket("A", "handle", "normal", None))              # A004, never called
    at("09:30", cmd.ResumeHeld("1004", 4, "B001"))
    at("09:38", cmd.Finish("1004", 4, "consult"))
    at("09:38", cmd.Rate("B001", None, (), 4))                              # the pad's 未评
    at("09:40", cmd.CallNumber("1004", 4, "A003"))
    at("09:50", cmd.Finish("1004", 4, "accepted"))
    at("09:51", cmd.Rate("A003", 2, ("等候时间过长",)))                      # on the phone
    at("10:00", cmd.Pause("1001", 1, "午休"))
    at("10:30", cmd.Resume("1001", 1))
    at("11:00", cmd.SignOut("1001", 1))
    at("11:30", cmd.SignIn("1002", 1, "B"))
    at("11:31", cmd.TakeTicket("A", "handle", "normal", None))              # A005
    at("11:32", cmd.CallNumber("1002", 1, "A005"))
    at("11:40", cmd.Finish("1002", 1, "done"))
    log.extend(state.roll_to(datetime.combine(MONDAY + timedelta(days=1), datetime.min.time(), TZ)
                             + timedelta(hours=8)))
    return log


@pytest.fixture(scope="module")
def facts() -> kpis.Facts:
    return kpis.fold(_day())


def _rows(facts, by, period="day") -> dict[str, dict]:
    return {r["key"]: r for r in kpis.kpi_rows(facts, HALL, by, period)}


def test_the_hall_row_worked_out_by_hand(facts):
    row = _rows(facts, "hall")["small"]
    assert (row["period"], row["name"]) == ("2026-11-23", "测试镇便民服务中心")
    assert {k: row[k] for k in ("issued", "accepted", "finished", "no_show", "cancelled", "open",
                                "transferred", "held")} == {
        "issued": 6, "accepted": 5, "finished": 4, "no_show": 1, "cancelled": 1, "open": 0,
        "transferred": 1, "held": 1}
    # Waits (s): A001 600, A002 900, A003 960, B001 60, A005 60; A004 never called.
    assert (row["wait_mean_s"], row["wait_median_s"], row["wait_p90_s"]) == (516.0, 600.0, 960.0)
    assert row["service_level_pct"] == 83.3            # 5 within 30 min of 6 (A004 counts against)
    # Services (s), the finishing visit: A001 600, A003 600, B001 480, A005 480.
    assert (row["service_mean_s"], row["service_median_s"], row["service_p90_s"]) == (
        540.0, 540.0, 600.0)
    assert row["onsite_pct"] == 66.7                   # done 2 of 3 handled (B001 was a consult)
    assert (row["rated"], row["unrated"], row["rating_rate_pct"], row["satisfied_pct"],
            row["score_mean"]) == (2, 2, 50.0, 50.0, 3.5)
    assert row["scores"] == {"5": 1, "4": 0, "3": 0, "2": 1, "1": 0}
    assert (row["post_a"], row["post_b"], row["post_b_pct"]) == (3, 1, 25.0)
    assert (row["unattended_min"], row["paused_min"]) == (30.0, 30.0)


def test_category_rows_reconcile_and_follow_a_transfer(facts):
    rows = _rows(facts, "category")
    assert (rows["A"]["issued"], rows["A"]["finished"], rows["A"]["no_show"],
            rows["A"]["cancelled"]) == (4, 2, 1, 1)
    assert (rows["B"]["issued"], rows["B"]["finished"]) == (2, 2)   # A003 ended in B
    for by in ("hall", "department", "category", "service"):
        for row in kpis.kpi_rows(facts, HALL, by, "month"):
            assert row["issued"] == row["finished"] + row["no_show"] + row["cancelled"] + row["open"]
    assert _rows(facts, "service")["T-SB-001"]["name"] == "城乡居民基本养老保险参保登记"
    assert _rows(facts, "service")[""]["issued"] == 5
    assert _rows(facts, "department")["sb"]["issued"] == 4


def test_window_and_clerk_rows_count_where_tickets_were_served(facts):
    windows = _rows(facts, "window")
    one, four = windows["1"], windows["4"]
    assert (one["accepted"], one["finished"], one["no_show"], one["transferred"]) == (4, 2, 1, 1)
    assert one["issued"] is None and one["wait_mean_s"] == (600 + 900 + 960 + 60) / 4
    assert (one["unattended_min"], one["paused_min"], one["post_b"]) == (30.0, 30.0, 1)
    assert (four["accepted"], four["finished"], four["held"], four["rated"]) == (2, 2, 1, 1)
    assert four["unattended_min"] == 0.0
    clerks = _rows(facts, "clerk")
    assert {k: (r["accepted"], r["finished"]) for k, r in clerks.items()} == {
        "1001": (3, 1), "1002": (1, 1), "1004": (2, 2)}
    assert clerks["1004"]["scores"]["2"] == 1 and clerks["1001"]["scores"]["5"] == 1
    assert clerks["1002"]["unattended_min"] is None


@pytest.mark.parametrize(("period", "key"), [
    ("day", "2026-11-23"), ("week", "2026-W48"), ("month", "2026-11"), ("quarter", "2026-Q4"),
    ("year", "2026"), ("all", "全部")])
def test_every_period(facts, period, key):
    assert [r["period"] for r in kpis.kpi_rows(facts, HALL, "hall", period)] == [key]


def test_hourly_and_ranking(facts):
    hours = {h["hour"]: h for h in kpis.hourly(facts, HALL)}
    assert sorted(hours) == [9, 10, 11]
    assert (hours[9]["arrivals"], hours[9]["served"], hours[11]["arrivals"]) == (5, 3, 1)
    assert hours[10]["arrivals"] == 0 and hours[10]["wait_mean_s"] is None
    assert kpis.ranking(facts, HALL, "window") == []   # nobody finished 20: luck is no ranking


def test_unknown_period_or_dimension_is_refused_in_words(facts):
    with pytest.raises(ValueError, match="未知的统计周期"):
        kpis.kpi_rows(facts, HALL, "hall", "fortnight")
    with pytest.raises(ValueError, match="未知的统计维度"):
        kpis.kpi_rows(facts, HALL, "floor", "day")


def test_the_ranking_weighs_the_work_done_not_only_a_rounding_of_satisfaction():
    """Window 6 finished 28 tickets, every one rated 非常满意; window 3 finished 86, one of them
    rated 基本满意 and a few waited long: window 3 leads. Between halls, volume is left out."""
    def row(key: str, finished: int, satisfied: float, level: float, rated: float) -> dict:
        return {"key": key, "name": f"{key}号", "finished": finished, "satisfied_pct": satisfied,
                "service_level_pct": level, "rating_rate_pct": rated}

    rows = [row("6", 28, 100.0, 100.0, 100.0), row("3", 86, 98.8, 95.0, 90.0),
            row("9", 19, 100.0, 100.0, 100.0)]            # too few to be ranked
    ranked = kpis.rank(rows)
    assert [(r["key"], r["score"]) for r in ranked] == [("3", 96.8), ("6", 86.5)]
    assert ranked[1]["volume_pct"] == 32.6 and ranked[0]["volume_pct"] == 100.0
    halls = kpis.rank(rows, kpis.HALL_RANKING_WEIGHTS)
    assert [r["key"] for r in halls] == ["6", "3"] and "volume_pct" not in halls[0]
    assert "办结量指数" in kpis.RANKING_FORMULA
    assert "办结量指数" not in kpis.ranking_formula("当月", kpis.HALL_RANKING_WEIGHTS)
