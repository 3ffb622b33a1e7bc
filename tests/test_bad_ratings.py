"""差评 (bad ratings) and their cases (差评工单): the hall's names for the five levels, the one
rule of what is 差评, and the closed loop every 差评 opens (next-wave.md §3, issue 16)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from hall import service_calendar as cal
from hall.vocabulary import BAD_SCORES, SCORES, is_bad
from queue_server import commands as cmd
from queue_server import events as ev
from queue_server import kpis, ops, views
from queue_server.domain_errors import DomainError
from queue_server.events import Event
from queue_server.hall_service import HallService
from queue_server.hall_state import HallState
from queue_server.hall_toml import load_hall
from queue_server.lifecycle import FOLLOW_UP_TRIES, CaseStatus
from queue_server.store import hall_records
from queue_server.store.database import migrate, open_engine

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


# --- deadlines on the hall's calendar ------------------------------------------------------------

FRIDAY = date(2026, 12, 4)
CALENDAR = replace(HALL.hall, holidays=(date(2026, 12, 9),), makeup_workdays=(date(2026, 12, 12),))


def test_a_deadline_counts_working_days_across_a_weekend_a_holiday_and_a_make_up_day():
    assert cal.working_days_after(CALENDAR, FRIDAY, 1) == date(2026, 12, 7)           # a weekend
    assert cal.working_days_after(CALENDAR, date(2026, 12, 8), 1) == date(2026, 12, 10)  # a holiday
    assert cal.working_days_after(CALENDAR, date(2026, 12, 11), 1) == date(2026, 12, 12)  # 调休
    # all three: Mon 7, Tue 8, (Wed 9 off), Thu 10, Fri 11, Sat 12 (a make-up working day)
    assert cal.working_days_after(CALENDAR, FRIDAY, 5) == date(2026, 12, 12)
    assert cal.working_days_after(HALL.hall, FRIDAY, 5) == date(2026, 12, 11)        # plain weeks
    assert cal.working_days_left(CALENDAR, FRIDAY, date(2026, 12, 12)) == 5
    assert cal.working_days_left(CALENDAR, date(2026, 12, 12), date(2026, 12, 12)) == 0
    assert cal.working_days_left(CALENDAR, date(2026, 12, 14), date(2026, 12, 12)) == 0


def test_a_case_is_yellow_near_its_deadline_and_red_past_it():
    state = HallState(replace(HALL, hall=CALENDAR), FRIDAY)
    friday = datetime.combine(FRIDAY, time(10), TZ)
    number = _served(state, friday)
    state.handle(cmd.Rate(number, 2, ("等候时间过长",), 1), friday)
    (case,) = state.cases.values()
    assert case.deadline == date(2026, 12, 12)
    hall = state.hall
    assert case.due(hall, FRIDAY) is None
    assert case.due(hall, date(2026, 12, 10)) is None       # Fri 11 and Sat 12 left: 2 > 1
    assert case.due(hall, date(2026, 12, 11)) == "yellow"   # one working day left
    assert case.due(hall, date(2026, 12, 12)) == "yellow"   # the deadline day
    assert case.due(hall, date(2026, 12, 13)) == "red"
    state.handle(cmd.HandleCase(case.number, "explain", "按规定办理", "已向群众解释", "主任"), friday)
    assert case.due(hall, date(2026, 12, 13)) is None       # closed: no longer due


# --- every 差评 opens one case ---------------------------------------------------------------------

def test_every_bad_rating_opens_one_case_for_the_department_of_the_window_that_served():
    state = HallState(HALL, MONDAY.date())
    scores = {_served(state): score for score in (5, 4, 3, 2, 1)}
    for number, score in scores.items():
        state.handle(cmd.Rate(number, score, ("服务态度不好",) if is_bad(score) else (), 1), MONDAY)
    cases = list(state.cases.values())
    assert [(c.number, c.score) for c in cases] == [("20261123-01", 2), ("20261123-02", 1)]
    assert {c.ticket for c in cases} == {n for n, s in scores.items() if is_bad(s)}
    window = HALL.window_by_number[1]
    assert all(c.window == 1 and c.clerk == "1001" and c.department == window.department
               and c.status == CaseStatus.CHECKING for c in cases)
    # five working days: Tue 24 … Fri 27, and Sat 28, the small hall's make-up working day
    assert all(c.deadline == date(2026, 11, 28) for c in cases)
    assert state.cases["20261123-02"].reasons == ("服务态度不好",)


def _case_of(state: HallState) -> str:
    number = _served(state)
    events = state.handle(cmd.Rate(number, 1, ("服务态度不好",), 1), MONDAY)
    return next(e.data.case for e in events if e.kind == "case_opened")


def _refused(state: HallState, command) -> DomainError:
    seq, before = state.seq, repr(state.cases)
    with pytest.raises(DomainError) as caught:
        state.handle(command, MONDAY)
    assert state.seq == seq and repr(state.cases) == before, "a refused act changed something"
    return caught.value


def test_a_clerk_appeals_only_their_own_case_and_a_manager_never_decides_their_own_appeal():
    state = HallState(HALL, MONDAY.date())
    case = _case_of(state)
    assert _refused(state, cmd.AppealCase(case, "误评", "1003", "1003")).code == "forbidden"
    state.handle(cmd.AppealCase(case, "群众误评", "主任甲"), MONDAY)
    refusal = _refused(state, cmd.DecideAppeal(case, True, "属实", "主任甲", "主任甲"))
    assert refusal.code == "forbidden" and "另一位管理人员" in refusal.message
    state.handle(cmd.DecideAppeal(case, True, "监控显示服务规范", "主任乙", "主任乙"), MONDAY)
    decided = state.cases[case]
    assert decided.status == CaseStatus.UPHELD and decided.decision["by"] == "主任乙"
    assert decided.appeal["by"] == "主任甲" and decided.score == 1   # the rating is kept

    other = _case_of(state)
    state.handle(cmd.AppealCase(other, "群众误评", "1001", "1001"), MONDAY)   # the clerk rated
    state.handle(cmd.DecideAppeal(other, False, "理由不足", "主任甲", "主任甲"), MONDAY)
    assert state.cases[other].status == CaseStatus.REJECTED
    state.handle(cmd.HandleCase(other, "deadline", "态度生硬属实", "限期整改", "主任甲"), MONDAY)
    state.handle(cmd.RectifyCase(other, "已培训", "主任甲"), MONDAY)
    assert state.cases[other].status == CaseStatus.RECTIFIED


def _by(state: HallState, who: ops.Identity, op: str, **params) -> cmd.Command:
    """The command a request of `who` becomes, as a live session makes it."""
    return ops.command_for(op, params, who, state.clerk_window.get)


def _manager(name: str, account: str) -> ops.Identity:
    return ops.Identity("manager", signature=f"{name}（{account}）", person=account)


def test_a_manager_whose_name_was_reset_is_still_the_one_who_appealed():
    # `manager add zhang --name 张三丰` renames the account: the signature changes, the account not
    state = HallState(HALL, MONDAY.date())
    case = _case_of(state)
    state.handle(_by(state, _manager("张三", "zhang"), "appeal_case", case=case, reason="群众误评"),
                 MONDAY)
    assert state.cases[case].appeal["account"] == "zhang"
    renamed = _by(state, _manager("张三丰", "zhang"), "decide_appeal", case=case, uphold=True,
                  reason="成立")
    assert _refused(state, renamed).code == "forbidden"
    # another account of the same name is another manager; a county manager from the county's
    # page is never a hall account of the same user name (sessions.Session.person)
    state.handle(_by(state, _manager("张三", "县级:zhang"), "decide_appeal", case=case,
                     uphold=False, reason="理由不足"), MONDAY)
    assert state.cases[case].status == CaseStatus.REJECTED
    assert state.cases[case].decision["account"] == "县级:zhang"


def test_an_appeal_logged_before_accounts_were_recorded_replays_and_is_judged_by_its_signature():
    state = HallState(HALL, MONDAY.date())
    case = _case_of(state)
    old = {"case": case, "reason": "群众误评", "by": "张三（zhang）", "clerk": None}   # no account
    state.apply(Event(state.seq + 1, MONDAY, state.day, ev.record("case_appealed", old)))
    assert state.cases[case].appeal["account"] is None
    same = _by(state, _manager("张三", "zhang"), "decide_appeal", case=case, uphold=True, reason="成立")
    assert _refused(state, same).code == "forbidden"
    state.handle(_by(state, _manager("李四", "lisi"), "decide_appeal", case=case, uphold=True,
                     reason="成立"), MONDAY)
    assert state.cases[case].status == CaseStatus.UPHELD


def test_only_the_one_who_appealed_withdraws_it_and_the_case_is_checked_again():
    # a township hall with one manager: nobody else can decide their appeal, so they take it back
    state = HallState(HALL, MONDAY.date())
    boss = _manager("主任", "boss")
    case = _case_of(state)
    state.handle(_by(state, boss, "appeal_case", case=case, reason="群众误评"), MONDAY)
    assert _refused(state, _by(state, boss, "decide_appeal", case=case, uphold=False,
                               reason="撤回")).code == "forbidden"
    assert _refused(state, _by(state, _manager("副主任", "fu"), "withdraw_appeal",
                               case=case)).message == "只能撤回您本人提出的申诉"
    assert _refused(state, _by(state, ops.Identity("clerk", badge="1001"), "withdraw_appeal",
                               case=case)).code == "forbidden"
    state.handle(_by(state, _manager("王主任", "boss"), "withdraw_appeal", case=case), MONDAY)
    withdrawn = state.cases[case]
    assert withdrawn.status == CaseStatus.CHECKING and withdrawn.appeal is None
    assert [(w["by"], w["reason"]) for w in withdrawn.withdrawn] == [("王主任（boss）", "群众误评")]
    assert views.case_view(state, withdrawn)["withdrawn"][0]["by"] == "王主任（boss）"
    state.handle(_by(state, boss, "handle_case", case=case, measure="explain", finding="核实",
                     published="已向群众解释"), MONDAY)
    assert withdrawn.status == CaseStatus.EXPLAINED

    # a clerk's appeal: only that clerk (by badge) takes it back, never a manager
    other = _case_of(state)
    clerk = ops.Identity("clerk", badge="1001")
    state.handle(_by(state, clerk, "appeal_case", case=other, reason="群众误评"), MONDAY)
    assert _refused(state, _by(state, boss, "withdraw_appeal", case=other)).code == "forbidden"
    assert _refused(state, cmd.WithdrawAppeal(other, "1003", "1003")).code == "forbidden"
    state.handle(_by(state, clerk, "withdraw_appeal", case=other), MONDAY)
    assert state.cases[other].status == CaseStatus.CHECKING
    assert _refused(state, _by(state, clerk, "withdraw_appeal", case=other)).code == "conflict"


def test_a_pads_ratings_lost_across_midnight_warn_the_managers_naming_each_bad_one():
    # the pad of window 1 was cut off on Monday evening; it is back on Tuesday
    tuesday = MONDAY + timedelta(days=1)
    state = HallState(HALL, tuesday.date())
    pad = ops.Identity("pad", name="pad-1", window=1)
    lost = [{"ticket": "A012", "score": 1, "reasons": ["服务态度不好", "办事效率低"]},
            {"ticket": "A013", "score": 5, "reasons": []}, {"ticket": "A014", "score": None,
                                                            "reasons": []}]
    (warning,) = state.handle(_by(state, pad, "lost_ratings", day="2026-11-23", ratings=lost),
                              tuesday)
    assert (warning.data.level, warning.data.kind, warning.data.device) == ("red", "device", "pad-1")
    assert warning.data.text == ("pad-1：1 号窗口评价器有 3 条11月23日的评价未能上传，不再计入；"
                                 "其中差评：A012 号“非常不满意”（服务态度不好、办事效率低）")
    assert state.warnings[warning.seq]["acknowledged"] is None     # on the dashboard, to confirm
    assert not state.tickets and not state.cases                   # nothing stored as a rating
    (fine,) = state.handle(_by(state, pad, "lost_ratings", day="2026-11-22",
                               ratings=lost[1:]), tuesday)
    assert fine.data.level == "yellow" and "其中差评" not in fine.data.text
    for day, words in (("2026-11-24", "只能报告已结束的服务日"), ("11月23日", "无法识别的日期")):
        refusal = _refused(state, _by(state, pad, "lost_ratings", day=day, ratings=lost))
        assert refusal.code == "bad_request" and words in refusal.message


def test_bad_words_are_refused_in_chinese_with_no_change():
    state = HallState(HALL, MONDAY.date())
    case = _case_of(state)
    assert "请选择处理方式" in _refused(state, cmd.HandleCase(case, "later", "x", "y", "主任")).message
    assert _refused(state, cmd.HandleCase(case, "explain", " ", "y", "主任")).message == "请填写核实情况"
    assert "不能超过 500 个字" in _refused(
        state, cmd.HandleCase(case, "explain", "查" * 501, "y", "主任")).message
    assert _refused(state, cmd.HandleCase("20991231-01", "explain", "x", "y", "主任")).code == "not_found"
    assert "不能回访" in _refused(state, cmd.FollowUpCase(case, "satisfied", "", "主任")).message


def test_a_follow_up_is_retried_when_unreached_and_made_once_when_reached():
    state = HallState(HALL, MONDAY.date())
    case = _case_of(state)
    state.handle(cmd.HandleCase(case, "at_once", "核实属实", "已当场整改", "主任"), MONDAY)
    assert state.cases[case].awaits_follow_up
    for _ in range(FOLLOW_UP_TRIES):
        state.handle(cmd.FollowUpCase(case, "unreached", "无人接听", "主任"), MONDAY)
    assert "未接通" in _refused(state, cmd.FollowUpCase(case, "satisfied", "", "主任")).message
    assert not state.cases[case].awaits_follow_up
    reached = _case_of(state)
    state.handle(cmd.HandleCase(reached, "explain", "按规定办理", "已解释", "主任"), MONDAY)
    state.handle(cmd.FollowUpCase(reached, "unreached", "", "主任"), MONDAY)
    state.handle(cmd.FollowUpCase(reached, "basic", "表示理解", "主任"), MONDAY)
    follow_ups = state.cases[reached].follow_ups
    assert [(f["result"], f["attempt"], f["by"]) for f in follow_ups] == [
        ("unreached", 1, "主任"), ("basic", 2, "主任")]
    assert "已回访" in _refused(state, cmd.FollowUpCase(reached, "satisfied", "", "主任")).message


# --- cases outlive the day and the server ----------------------------------------------------------

def test_cases_survive_restarts_and_days_rebuilt_from_the_log(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'hall.db'}")
    migrate(engine)
    with engine.begin() as conn:
        hall_records.save_definition(conn, HALL, MONDAY)
    service = HallService(engine, None, MONDAY)
    for command in (cmd.SignIn("1001", 1, "A"), cmd.TakeTicket("A"), cmd.CallNext("1001", 1),
                    cmd.Finish("1001", 1, "done"), cmd.Rate("A001", 1, ("服务态度不好",), 1)):
        service.execute(command, MONDAY)
    tuesday, thursday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=3)
    service.execute(cmd.TakeTicket("A"), tuesday)      # a new day: the ticket's day is gone
    statements: list = []
    listen = lambda conn, cursor, sql, params, context, many: statements.append((sql, params))  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    service = HallService(engine, None, tuesday)       # a restart
    event.remove(engine, "before_cursor_execute", listen)
    # the earlier days' case events are found by the index on kinds (migration 0011), not by
    # reading every event of the hall
    (earlier,) = [(sql, params) for sql, params in statements if "case_opened" in str(params)]
    with engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + earlier[0], earlier[1]).all()
    assert "ix_events_hall_kind" in str(plan), plan
    (case,) = service.state.cases.values()
    assert (case.number, case.ticket, case.day, case.deadline) == (
        "20261123-01", "A001", MONDAY.date(), date(2026, 11, 28))
    service.execute(cmd.HandleCase(case.number, "deadline", "态度生硬属实", "限期整改", "主任甲"),
                    tuesday)
    service.execute(cmd.TakeTicket("A"), thursday)
    service = HallService(engine, None, thursday)      # another restart, two days on
    case = service.state.cases["20261123-01"]
    assert case.status == CaseStatus.RECTIFYING and case.handling["by"] == "主任甲"
    assert case.handling["at"] == tuesday and service.state.seq > 0
    service.execute(cmd.RectifyCase(case.number, "已组织培训", "主任甲"), thursday)
    service = HallService(engine, None, thursday)
    case = service.state.cases["20261123-01"]
    assert case.status == CaseStatus.RECTIFIED and case.closed_on == thursday.date()
    # a second 差评 on another day gets that day's number
    for command in (cmd.SignIn("1001", 1, "A"), cmd.CallNext("1001", 1),
                    cmd.Finish("1001", 1, "done")):
        service.execute(command, thursday)
    served = next(t.number for t in service.state.tickets.values() if t.window == 1)
    service.execute(cmd.Rate(served, 2, ("等候时间过长",), 1), thursday)
    assert sorted(service.state.cases) == ["20261123-01", "20261126-01"]


# --- the closed loop's KPIs ------------------------------------------------------------------------

def test_the_kpis_of_a_hand_worked_span_and_every_bad_rating_has_exactly_one_case():
    state = HallState(HALL, MONDAY.date())
    scores = [5, 5, 5, 4, 4, 3, 2, 2, 1, 1]
    for score in scores:
        number = _served(state)
        state.handle(cmd.Rate(number, score, ("服务态度不好",) if is_bad(score) else (), 1), MONDAY)
    late, at_once, upheld, still_open = "20261123-01", "20261123-02", "20261123-03", "20261123-04"
    state.handle(cmd.HandleCase(at_once, "at_once", "属实", "已当场整改", "主任"), MONDAY)
    state.handle(cmd.FollowUpCase(at_once, "satisfied", "", "主任"), MONDAY)
    state.handle(cmd.HandleCase(late, "deadline", "属实", "限期整改", "主任"), MONDAY)
    state.handle(cmd.AppealCase(upheld, "误评", "主任"), MONDAY)
    state.handle(cmd.DecideAppeal(upheld, True, "录像为证", "副主任", "副主任"), MONDAY)
    tuesday = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)    # the deadline was Sat 28 (调休)
    state.roll_to(tuesday)
    state.handle(cmd.RectifyCase(late, "已培训", "主任"), tuesday)
    for _ in range(FOLLOW_UP_TRIES):
        state.handle(cmd.FollowUpCase(late, "unreached", "", "主任"), tuesday)
    cases = state.cases.values()
    assert sorted(c.score for c in cases) == sorted(s for s in scores if is_bad(s))   # one each
    assert all(c.is_open or c.status in (CaseStatus.RECTIFIED, CaseStatus.EXPLAINED,
                                         CaseStatus.UPHELD) for c in cases)
    assert state.cases[still_open].is_open and state.cases[late].closed_on == tuesday.date()
    assert state.cases[upheld].score == 1
    counted = [5, 5, 5, 4, 4, 3, 2, 2, 1]   # the upheld 差评 (a 1) is out of the KPIs
    assert kpis.case_kpis(counted, cases, tuesday.date()) == {
        "rated": 9, "bad": 3, "bad_pct": 33.3, "cases_open": 1, "upheld": 1,
        "rectified_pct": 66.7,            # 2 closed of the 3 差评 that stand
        "on_time_pct": 33.3,              # 1 closed by its deadline of 3 due (2 closed, 1 past)
        "follow_up_pct": 50.0,            # 1 of the 2 closed reached
        "follow_up_satisfied_pct": 100.0,
        "satisfied_pct": 60.0,            # before the appeals: 6 of 10
        "satisfied_after_appeals_pct": 66.7,   # 6 of the 9 that count
    }
