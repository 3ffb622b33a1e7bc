"""The 代办 ledger's written rules (docs/points.md): the merged order of the point's and the
town's logs, and each conflict rule, on the pure fold both sides share."""

from __future__ import annotations

import itertools
import random

import pytest

from queue_server.points import enrolment as enrol
from queue_server.points import ledger as L
from queue_server.points.point_store import PointStore

CASE = "P07-261207-001"


def up(seq: int, seen: int, record: L.Record, at: str = "2026-12-07T09:00:00+08:00") -> L.Entry:
    assert record.side == "up"
    return L.Entry(seq, at, seen, record)


def down(seq: int, seen: int, record: L.Record, at: str = "2026-12-07T10:00:00+08:00") -> L.Entry:
    assert record.side == "down"
    return L.Entry(seq, at, seen, record)


RECORDED = L.CaseRecorded(CASE, "张三", "13800001111", "X1", "低保申请", ("身份证", "户口簿"), "李四")
RECEIVED = L.TownReceived(CASE, 3, "王五")


def test_a_case_goes_through_every_stage_in_order() -> None:
    ups = [up(1, 0, RECORDED)]
    downs = [down(1, 1, RECEIVED), down(2, 1, L.TownAccepted(CASE, "王五")),
             down(3, 1, L.TownFinished(CASE, "done", "已批准", "王五"))]
    ups += [up(2, 3, L.CaseFedBack(CASE)), up(3, 3, L.CaseArchived(CASE)),
            up(4, 3, L.CaseVisited(CASE, "satisfied"))]
    case = L.fold(ups, downs)[CASE]
    assert case.stage == "visited" and case.result == "done" and case.visit == "satisfied"
    assert list(case.at) == ["recorded", "delivered", "handling", "finished", "fed_back",
                             "archived", "visited"]
    assert case.conflicts == [] and case.window == 3


def test_the_merged_order_is_the_same_whatever_order_the_logs_arrive_in() -> None:
    ups = [up(1, 0, RECORDED), up(2, 0, L.CaseAmended(CASE, phone="13900002222")),
           up(3, 1, L.CaseWithdrawn(CASE, "不办了"))]
    downs = [down(1, 1, RECEIVED), down(2, 2, L.TownAccepted(CASE, "王五"))]
    orders = {tuple((e.side, e.seq) for e in L.merged(a, b))
              for a in itertools.permutations(ups) for b in itertools.permutations(downs)}
    assert orders == {(("up", 1), ("down", 1), ("up", 2), ("down", 2), ("up", 3))}


def test_a_withdrawal_that_crossed_the_towns_receipt_does_not_apply() -> None:
    # the agent withdraws while cut off (it has seen nothing of the town's log); the town had
    # received the papers meanwhile: the town holds them, the case goes on
    ups = [up(1, 0, RECORDED), up(2, 0, L.CaseWithdrawn(CASE, "群众不办了"))]
    downs = [down(1, 1, RECEIVED)]
    case = L.fold(ups, downs)[CASE]
    assert case.stage == "delivered"
    assert case.conflicts == [("up", 2, "withdraw_late")]
    assert L.conflict_text("withdraw_late") == "撤回未生效：乡镇已接收"


def test_a_withdrawal_the_town_had_seen_stands_and_its_receipt_does_not() -> None:
    ups = [up(1, 0, RECORDED), up(2, 0, L.CaseWithdrawn(CASE, "群众不办了"))]
    downs = [down(1, 2, RECEIVED)]
    case = L.fold(ups, downs)[CASE]
    assert case.stage == "withdrawn" and case.conflicts == [("down", 1, "after_close")]


def test_materials_changed_after_the_town_received_them_wait_for_a_补正_but_the_phone_applies() -> None:
    ups = [up(1, 0, RECORDED),
           up(2, 0, L.CaseAmended(CASE, phone="13900002222", materials=("身份证",)))]
    downs = [down(1, 1, RECEIVED)]
    case = L.fold(ups, downs)[CASE]
    assert case.phone == "13900002222"
    assert case.materials == ("身份证", "户口簿")
    assert case.conflicts == [("up", 2, "materials_late")]


def test_material_supplied_for_an_ask_the_town_replaced_leaves_the_new_ask_open() -> None:
    ups = [up(1, 0, RECORDED), up(2, 2, L.MaterialSupplied(CASE, 2, ("收入证明",)))]
    downs = [down(1, 1, RECEIVED), down(2, 1, L.TownAsked(CASE, "收入证明", "王五")),
             down(3, 1, L.TownAsked(CASE, "收入证明（盖章）", "王五"))]
    case = L.fold(ups, downs)[CASE]
    assert case.conflicts == [("up", 2, "supply_stale")]
    assert case.open_ask is not None and case.open_ask.ask == 3
    assert "收入证明" not in case.materials
    answered = L.fold([*ups, up(3, 3, L.MaterialSupplied(CASE, 3, ("收入证明（盖章）",)))], downs)
    assert answered[CASE].open_ask is None and "收入证明（盖章）" in answered[CASE].materials


def test_material_supplied_after_the_town_finished_is_stale_and_the_result_stands() -> None:
    ups = [up(1, 0, RECORDED), up(2, 2, L.MaterialSupplied(CASE, 2, ("收入证明",)))]
    downs = [down(1, 1, RECEIVED), down(2, 1, L.TownAsked(CASE, "收入证明", "王五")),
             down(3, 1, L.TownFinished(CASE, "refused", "材料逾期未补", "王五"))]
    case = L.fold(ups, downs)[CASE]
    assert case.stage == "finished" and case.result == "refused"
    assert case.conflicts == [("up", 2, "supply_stale")]


def test_steps_out_of_order_do_not_move_a_case() -> None:
    ups = [up(1, 0, RECORDED), up(2, 0, L.CaseFedBack(CASE))]
    case = L.fold(ups, [])[CASE]
    assert case.stage == "recorded" and case.conflicts == [("up", 2, "out_of_order")]


def test_clocks_do_not_order_the_ledger() -> None:
    # the point's clock is 10 minutes behind the town's: times are kept as written, the order
    # comes from the numbers alone
    ups = [up(1, 0, RECORDED, at="2026-12-07T09:50:00+08:00"),
           up(2, 1, L.CaseAmended(CASE, note="补充说明"), at="2026-12-07T09:55:00+08:00")]
    downs = [down(1, 1, RECEIVED, at="2026-12-07T10:00:00+08:00")]
    case = L.fold(ups, downs)[CASE]
    assert case.stage == "delivered" and case.note == "补充说明" and case.conflicts == []
    assert case.at["recorded"] == "2026-12-07T09:50:00+08:00"


def test_the_fold_agrees_with_problem_for_random_histories() -> None:
    kinds = [lambda: L.CaseAmended(CASE, phone="1"), lambda: L.CaseWithdrawn(CASE, "x"),
             lambda: L.CaseFedBack(CASE), lambda: L.CaseArchived(CASE),
             lambda: L.CaseVisited(CASE, "basic"), lambda: L.TownReceived(CASE, 1, "c"),
             lambda: L.TownAccepted(CASE, "c"), lambda: L.TownAsked(CASE, "m", "c"),
             lambda: L.TownFinished(CASE, "done", "", "c")]
    rng = random.Random(7)
    for _ in range(300):
        cases: dict[str, L.Case] = {}
        L.apply(cases, up(1, 0, RECORDED))
        for seq in range(2, 12):
            entry = L.Entry(seq, "2026-12-07T09:00:00+08:00", 0, rng.choice(kinds)())
            before = cases[CASE].stage
            expected = L.problem(cases, entry)
            assert L.apply(cases, entry) == expected
            if expected is not None:
                assert cases[CASE].stage == before
            else:
                assert before in L.RULES[type(entry.record)]


@pytest.mark.parametrize("data, words", [
    ({"kind": "nope"}, "未知的台账记录类型"),
    ({"kind": "case_withdrawn", "seq": -1, "seen": 0, "at": "2026-12-07T09:00:00+08:00",
      "case": CASE, "reason": "x"}, "非负整数"),
    ({"kind": "case_withdrawn", "seq": 1, "seen": 0, "at": "2026-12-07T09:00:00",
      "case": CASE, "reason": "x"}, "带时区"),
    ({"kind": "case_withdrawn", "seq": 1, "seen": 0, "at": "2026-12-07T09:00:00+08:00",
      "case": CASE}, "缺少字段：reason"),
    ({"kind": "case_visited", "seq": 1, "seen": 0, "at": "2026-12-07T09:00:00+08:00",
      "case": CASE, "result": "great"}, "回访结果不对"),
    ({"kind": "case_recorded", "seq": 1, "seen": 0, "at": "2026-12-07T09:00:00+08:00",
      "case": CASE, "name": "张", "phone": 1, "item": "X", "item_name": "Y",
      "materials": [], "agent": "李"}, "phone 类型不对"),
])
def test_an_entry_from_the_other_side_is_checked_field_by_field(data: dict, words: str) -> None:
    with pytest.raises(L.BadEntry, match=words):
        L.entry_from_wire(data)


def test_a_case_number_counts_per_point_and_day() -> None:
    from datetime import date
    day = date(2026, 12, 7)
    assert L.case_number("P07", day, []) == "P07-261207-001"
    assert L.case_number("P07", day, ["P07-261207-001", "P07-261207-009", "P08-261207-010",
                                      "P07-261206-011"]) == "P07-261207-010"


ENROLMENT = enrol.Enrolment(
    town_url="ws://127.0.0.1:8765/h/T03", hall="T03", hall_name="城关镇便民服务中心",
    point="P07", point_name="李庄村便民服务站", secret="ab" * 32, handover_days=3,
    calendar={"timezone": "Asia/Shanghai", "sessions": [["08:30", "17:30"]], "calendar": {}},
    catalogue_version=4,
    items=(enrol.CatalogueItem("X1", "低保申请", ("身份证", "户口簿")),),
    issued_at="2026-12-07T09:00:00+08:00")


def test_an_enrolment_code_carries_everything_and_refuses_a_damaged_copy() -> None:
    code = enrol.encode(ENROLMENT)
    assert enrol.decode(f"  {code[:30]}\n{code[30:]}  ") == ENROLMENT
    with pytest.raises(enrol.BadCode, match="校验不符"):
        enrol.decode(code[:-12] + ("A" if code[-12] != "A" else "B") + code[-11:])
    with pytest.raises(enrol.BadCode, match="不完整"):
        enrol.decode(code[:-1])
    with pytest.raises(enrol.BadCode, match="不是代办点登记码"):
        enrol.decode("hello")
    with pytest.raises(enrol.BadCode, match="版本不支持"):
        enrol.decode("DBJ2-" + code[5:])


def test_the_point_store_keeps_its_log_and_the_towns_once(tmp_path) -> None:
    store = PointStore(f"sqlite:///{tmp_path / 'point.db'}")
    with pytest.raises(Exception, match="尚未登记"):
        store.enrolment()
    store.enrol(ENROLMENT)
    with pytest.raises(ValueError, match="已登记"):
        store.enrol(ENROLMENT)
    assert store.enrolment() == ENROLMENT
    first = store.write(RECORDED, "2026-12-07T09:00:00+08:00")
    assert (first.seq, first.seen) == (1, 0)
    received = down(1, 1, RECEIVED)
    assert store.receive([received]) == [received]
    assert store.receive([received]) == []
    second = store.write(L.CaseAmended(CASE, note="x"), "2026-12-07T09:05:00+08:00")
    assert (second.seq, second.seen) == (2, 1)
    again = PointStore(f"sqlite:///{tmp_path / 'point.db'}")
    assert again.up() == [first, second] and again.down() == [received]
    assert again.up(after=1) == [second] and again.last() == (2, 1)
    assert L.fold(again.up(), again.down())[CASE].stage == "delivered"
