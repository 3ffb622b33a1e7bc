"""差评 (bad ratings) and their cases (差评工单): the hall's names for the five levels, the one
rule of what is 差评, and the closed loop every 差评 opens (next-wave.md §3, issue 16)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hall.vocabulary import BAD_SCORES, SCORES, is_bad
from queue_server import commands as cmd
from queue_server import kpis, views
from queue_server.hall_state import HallState
from queue_server.hall_toml import load_hall

HALL = load_hall(Path(__file__).parent / "data" / "small-hall.toml")
NAMED = replace(HALL, hall=replace(HALL.hall, rating_levels=("很满意", "满意", "一般", "不满意",
                                                             "很不满意")))
TZ = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)


def _served(state: HallState, now: datetime = MONDAY) -> str:
    """A ticket taken, called at window 1 (clerk 1001) and finished: its number."""
    if state.windows[1].clerk is None:
        state.handle(cmd.SignIn("1001", 1, "A"), now)
    number = state.handle(cmd.TakeTicket("A"), now)[0].data.number
    state.handle(cmd.CallNumber("1001", 1, number), now)
    state.handle(cmd.Finish("1001", 1, "done"), now)
    return number


def test_bad_is_the_two_lowest_of_the_national_five():
    assert [name for _, name in SCORES] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    assert [s for s in range(1, 6) if is_bad(s)] == sorted(BAD_SCORES) == [1, 2]
    assert not is_bad(None) and not is_bad(3)


def test_the_halls_names_reach_the_devices_and_the_warning():
    assert views.hall_view(NAMED)["rating_levels"] == [
        [5, "很满意"], [4, "满意"], [3, "一般"], [2, "不满意"], [1, "很不满意"]]
    state = HallState(NAMED, MONDAY.date())
    number = _served(state)
    events = state.handle(cmd.Rate(number, 1, ("服务态度不好",), 1), MONDAY)
    (warning,) = [e.data for e in events if e.kind == "warning"]
    assert warning.level == "red" and "评价为“很不满意”" in warning.text


def test_satisfaction_counts_every_rating_that_is_not_bad():
    group = kpis.Group()
    group.scores.extend([5, 4, 3, 2, 1])
    assert kpis._finish(group, (0, 0), "hall")["satisfied_pct"] == 60.0
