"""The complaints register (投诉/建议) in the core: its deadline on the hall's calendar and the
cases' one rule of yellow and red, the numbering by day, the window and clerk of a ticket, its
life across restarts, and what is kept of a complainant (masked, purged after its period)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from queue_server import commands as cmd
from queue_server import complaint_contacts, kpis
from queue_server.domain_errors import DomainError
from queue_server.hall_service import HallService
from queue_server.hall_state import HallState
from queue_server.lifecycle import ComplaintStatus
from queue_server.store import hall_records
from queue_server.store.database import migrate, open_engine
from queue_server.store.schema import ComplaintContactRow
from tests.test_bad_ratings import CALENDAR, FRIDAY, HALL, MONDAY, TZ, _served

BOSS = "主任（zhuren）"


def _phone_call(state: HallState, at: datetime, contact: bool = False) -> str:
    (registered,) = state.handle(cmd.RegisterComplaint(
        "complaint", "phone", "服务态度", "态度生硬", contact=contact, by=BOSS), at)
    return registered.data.complaint


def test_a_complaints_deadline_is_in_working_days_and_due_by_the_cases_rule():
    hall = replace(HALL, hall=replace(CALENDAR, complaint_deadline_days=5))
    state = HallState(hall, FRIDAY)
    number = _phone_call(state, datetime.combine(FRIDAY, time(10), TZ))
    complaint = state.complaints[number]
    # Mon 7, Tue 8, (Wed 9 a holiday), Thu 10, Fri 11, Sat 12 (a make-up working day)
    assert (number, complaint.deadline) == ("TS20261204-001", date(2026, 12, 12))
    assert complaint.due(state.hall, date(2026, 12, 10)) is None
    assert complaint.due(state.hall, date(2026, 12, 11)) == "yellow"
    assert complaint.due(state.hall, date(2026, 12, 12)) == "yellow"
    assert complaint.due(state.hall, date(2026, 12, 13)) == "red"
    for command in (cmd.AssignComplaint(number, BOSS), cmd.ReplyComplaint(number, "已处理", True, BOSS),
                    cmd.CloseComplaint(number, "", BOSS)):   # no contact kept: no 回访 awaited
        state.handle(command, datetime.combine(FRIDAY, time(11), TZ))
    assert complaint.due(state.hall, date(2026, 12, 13)) is None   # closed


def test_a_ticket_names_the_window_and_clerk_and_numbers_run_by_day():
    state = HallState(HALL, MONDAY.date())
    ticket = _served(state)
    (registered,) = state.handle(cmd.RegisterComplaint("suggestion", "ticket", "环境设施", "座椅太少",
                                                       ticket=ticket), MONDAY)
    assert (registered.data.window, registered.data.clerk, registered.data.by) == (1, "1001", None)
    assert _phone_call(state, MONDAY) == "TS20261123-002"
    with pytest.raises(DomainError, match="没有工号为 9999 的工作人员"):
        state.handle(cmd.RegisterComplaint("complaint", "phone", "其他", "态度", clerk="9999",
                                           by=BOSS), MONDAY)
    with pytest.raises(DomainError, match="没有 99 号窗口"):
        state.handle(cmd.RegisterComplaint("complaint", "phone", "其他", "态度", window=99,
                                           by=BOSS), MONDAY)
    with pytest.raises(DomainError, match="请填写投诉建议内容"):
        state.handle(cmd.RegisterComplaint("complaint", "phone", "其他", "  ", by=BOSS), MONDAY)


def test_complaints_survive_restarts_and_contacts_are_purged_after_their_period(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'hall.db'}")
    migrate(engine)
    with engine.begin() as conn:
        hall_records.save_definition(conn, replace(HALL, hall=replace(
            HALL.hall, complaint_contact_days=3)), MONDAY)
    service = HallService(engine, None, MONDAY)
    (registered,) = service.execute(cmd.RegisterComplaint(
        "complaint", "phone", "其他", "态度生硬", contact=True, by=BOSS), MONDAY)
    number = registered.data.complaint
    with engine.begin() as conn:
        complaint_contacts.keep(conn, service.hall_id, number, "李四", "13800135678")
    tuesday = MONDAY + timedelta(days=1)
    service.execute(cmd.AssignComplaint(number, BOSS), tuesday)
    service.execute(cmd.ReplyComplaint(number, "已批评教育", True, BOSS), tuesday)
    service.execute(cmd.FollowUpComplaint(number, "satisfied", "", BOSS), tuesday)
    service.execute(cmd.CloseComplaint(number, "", BOSS), tuesday)
    friday = MONDAY + timedelta(days=4)
    service.execute(cmd.TakeTicket("A"), friday)       # a later day
    service = HallService(engine, None, friday)        # a restart
    complaint = service.state.complaints[number]
    assert complaint.status == ComplaintStatus.CLOSED and complaint.closed_on == tuesday.date()
    assert complaint.handler == BOSS and complaint.reply["valid"] is True
    # closed on Tuesday, kept 3 days: still there on Thursday, gone from Friday
    assert complaint_contacts.purge_due(service.state, date(2026, 11, 26)) == []
    assert complaint_contacts.purge_due(service.state, friday.date()) == [number]
    with engine.begin() as conn:
        assert complaint_contacts.purge(conn, service.hall_id, [number]) == 1
        assert conn.execute(select(ComplaintContactRow)).all() == []
        assert complaint_contacts.read(conn, service.hall_id, number) is None


def test_contacts_are_checked_and_masked():
    assert complaint_contacts.checked(" 李四 ", "138 0013-5678") == ("李四", "13800135678")
    assert complaint_contacts.checked("", "（0571）88886666") == ("", "057188886666")
    with pytest.raises(ValueError, match="联系电话应为 7 到 15 位数字"):
        complaint_contacts.checked("", "12ab")
    with pytest.raises(ValueError, match="姓名不能超过 20 个字"):
        complaint_contacts.checked("长" * 21, "")
    assert complaint_contacts.masked_phone("13800135678") == "138****5678"
    assert complaint_contacts.masked_phone("057188886666") == "057*****6666"
    assert complaint_contacts.masked_phone("8888666") == "*******"
    assert complaint_contacts.shown("王小五", "13912345678", whole=False) == {
        "name": "王**", "phone": "139****5678", "masked": True}
    assert complaint_contacts.shown("王小五", "13912345678", whole=True)["phone"] == "13912345678"


def test_the_registers_kpis_of_a_hand_worked_span():
    """投诉办结率 and 按期办结率 (`kpis.complaint_kpis`): three came in on Friday the 4th (deadline
    Saturday the 12th, a make-up working day): A closed that day, valid; B closed on Monday the
    14th, late, not valid; C, a suggestion, still open on the 14th and so past its deadline."""
    hall = replace(HALL, hall=replace(CALENDAR, complaint_deadline_days=5))
    state = HallState(hall, FRIDAY)
    friday = datetime.combine(FRIDAY, time(10), TZ)
    a, b = _phone_call(state, friday), _phone_call(state, friday)
    (c,) = state.handle(cmd.RegisterComplaint("suggestion", "phone", "环境设施", "座椅太少", by=BOSS),
                        friday)
    for number, valid in ((a, True), (b, False)):
        state.handle(cmd.AssignComplaint(number, BOSS), friday)
        state.handle(cmd.ReplyComplaint(number, "已核实处理", valid, BOSS), friday)
    state.handle(cmd.CloseComplaint(a, "", BOSS), friday)
    monday = datetime(2026, 12, 14, 9, 0, tzinfo=TZ)
    state.roll_to(monday)
    state.handle(cmd.CloseComplaint(b, "", BOSS), monday)
    assert state.complaints[c.data.complaint].is_open
    assert kpis.complaint_kpis(state.complaints.values(), monday.date()) == {
        "registered": 3, "complaints": 2, "closed": 2,
        "closed_pct": 66.7,       # 2 of 3
        "on_time_pct": 33.3,      # A of the 3 due: A and B closed, C open past the 12th
        "valid": 1,
    }
    assert kpis.complaint_kpis([], monday.date()) == {
        "registered": 0, "complaints": 0, "closed": 0, "closed_pct": None, "on_time_pct": None,
        "valid": 0}


def test_an_unknown_or_settled_case_or_complaint_is_refused_in_the_words_of_its_kind():
    """The one check of a case's and a complaint's number and table (`hall_state._allowed`):
    `not_found` for a number that is not there, `conflict` naming its status and the act."""
    state = HallState(HALL, MONDAY.date())
    (case,) = [e.data.case for e in state.handle(cmd.Rate(_served(state), 1, ("服务态度不好",)), MONDAY)
               if e.kind == "case_opened"]
    complaint = _phone_call(state, MONDAY)
    for command, code, message in (
            (cmd.RectifyCase("20261123-99", "已整改", BOSS), "not_found", "没有编号为 20261123-99 的差评工单"),
            (cmd.RectifyCase(case, "已整改", BOSS), "conflict", f"差评工单 {case} 待核实，不能整改完成"),
            (cmd.AssignComplaint("TS20261123-099", BOSS), "not_found",
             "没有编号为 TS20261123-099 的投诉建议"),
            (cmd.CloseComplaint(complaint, "", BOSS), "conflict", f"投诉建议 {complaint} 已登记，不能办结")):
        seq = state.seq
        with pytest.raises(DomainError) as refused:
            state.handle(command, MONDAY)
        assert (refused.value.code, refused.value.message) == (code, message)
        assert state.seq == seq   # nothing changed
