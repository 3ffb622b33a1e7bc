"""The 好差评 closed loop in the reports (issue 16 point 5): the case KPIs by period and by
window, department and clerk from a hand-worked month kept in a real SQLite file, the month's
好差评台账 as XLSX (opened back) and the overdue warning on the hall's clock."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from hall.vocabulary import is_bad
from queue_server import commands as cmd
from queue_server import complaint_contacts, kpis, reports, web_pages
from queue_server import events as ev
from queue_server.hall_service import HallService
from queue_server.hall_toml import load_hall
from queue_server.store import hall_records
from queue_server.store.database import migrate, open_engine

HALL = load_hall(Path(__file__).parent / "data" / "small-hall.toml")
TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TZ)


def _service(tmp_path: Path, now: datetime) -> HallService:
    engine = open_engine(f"sqlite:///{tmp_path / 'hall.db'}")
    migrate(engine)
    with engine.begin() as conn:
        hall_records.save_definition(conn, HALL, now)
    return HallService(engine, None, now)


def _rated(service: HallService, now: datetime, window: int, clerk: str, category: str,
           scores: list[int]) -> list[str]:
    """Tickets served at `window` by `clerk` and rated `scores`; the cases opened, in order."""
    service.execute(cmd.SignIn(clerk, window, "A"), now)
    opened = []
    for score in scores:
        number = service.execute(cmd.TakeTicket(category), now)[0].data.number
        service.execute(cmd.CallNumber(clerk, window, number), now)
        service.execute(cmd.Finish(clerk, window, "done"), now)
        events = service.execute(cmd.Rate(number, score, ("服务态度不好",) if is_bad(score) else ()),
                                 now)
        opened += [e.data.case for e in events if e.kind == "case_opened"]
    service.execute(cmd.SignOut(clerk, window), now)
    return opened


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    """December 2026, worked by hand (deadlines: five working days after the rating's day):

    Tue 1st, window 1 (张敏 1001, 社会保障): 5, 4, 2 → case C1: 立行立改 the same day, 回访 满意.
    Tue 1st, window 2 (李强 1002, 民政): 5, 1 → case C2: appealed, upheld by a second manager.
    Thu 3rd, window 1: 3, 1 → case C3 (deadline Thu 10th): 限期整改, done Mon 14th (late),
             回访 不满意.
    Mon 14th, window 2: 2 → case C4 (deadline Mon 21st), left open.
    The report is made on Tue 22nd: C4 is past its deadline."""
    service = _service(tmp_path_factory.mktemp("month"), at(1, 9))
    c1, = _rated(service, at(1), 1, "1001", "A", [5, 4, 2])
    c2, = _rated(service, at(1, 11), 2, "1002", "B", [5, 1])
    service.execute(cmd.HandleCase(c1, "at_once", "态度生硬属实", "已当场致歉并整改", "主任甲"), at(1, 15))
    service.execute(cmd.FollowUpCase(c1, "satisfied", "群众表示满意", "主任甲"), at(1, 16))
    service.execute(cmd.AppealCase(c2, "群众误按", "主任甲", account="zhuren-jia"), at(1, 16))
    service.execute(cmd.DecideAppeal(c2, True, "录像显示服务规范", "主任乙", "zhuren-yi"), at(1, 17))
    c3, = _rated(service, at(3), 1, "1001", "A", [3, 1])
    service.execute(cmd.HandleCase(c3, "deadline", "办事效率低属实", "限期整改", "主任甲"), at(3, 15))
    k1, k2 = (_complained(service, at(3, 11), kind, channel, category, text, **extra)
              for kind, channel, category, text, extra in (
                  ("complaint", "phone", "服务态度", "窗口人员答复生硬", {"window": 1}),
                  ("suggestion", "hall", "环境设施", "等候区座椅太少", {})))
    with service.engine.begin() as conn:   # K2's contact is gone (purged), K1's kept
        complaint_contacts.keep(conn, service.hall_id, k1, "李四", "13800135678")
    for act in (cmd.AssignComplaint(k1, "主任甲"), cmd.ReplyComplaint(k1, "已核实并致歉", True, "主任甲"),
                cmd.FollowUpComplaint(k1, "satisfied", "群众表示满意", "主任甲"),
                cmd.CloseComplaint(k1, "已办结", "主任甲"), cmd.AssignComplaint(k2, "主任乙"),
                cmd.ReplyComplaint(k2, "座椅数量符合标准", False, "主任乙"),
                cmd.FollowUpComplaint(k2, "unreached", "无人接听", "主任乙")):
        service.execute(act, at(3, 16))
    c4, = _rated(service, at(14), 2, "1002", "B", [2])
    service.execute(cmd.RectifyCase(c3, "已组织业务培训", "主任甲"), at(14, 15))
    service.execute(cmd.FollowUpCase(c3, "dissatisfied", "认为整改太慢", "主任甲"), at(14, 16))
    for result in ("unreached", "unreached"):
        service.execute(cmd.FollowUpComplaint(k2, result, "无人接听", "主任乙"), at(14, 16))
    service.execute(cmd.CloseComplaint(k2, "", "主任乙"), at(14, 17))
    k3 = _complained(service, at(14, 11), "complaint", "hotline", "办事效率", "办理太慢",
                     hotline_case="20261214-0007", clerk="1002")
    service.execute(cmd.AssignComplaint(k3, "主任甲"), at(14, 12))
    service.execute(cmd.TakeTicket("A"), at(22, 9))   # the hall's day is now Tue 22nd
    service.cases = (c1, c2, c3, c4)
    service.complaints = (k1, k2, k3)
    return service


def _complained(service: HallService, now: datetime, kind: str, channel: str, category: str,
                text: str, **extra) -> str:
    """A complaint or suggestion registered by 主任甲, with a contact; its number."""
    (registered,) = service.execute(cmd.RegisterComplaint(kind, channel, category, text,
                                                          contact=True, by="主任甲", **extra), now)
    return registered.data.complaint


def _rows(service: HallService, by: str, period: str) -> list[dict]:
    first, last = date(2026, 12, 1), date(2026, 12, 31)
    book = reports.CaseBook.of(service.state, first, last)
    tallied = reports.load_tallied(service.engine, service.hall_id, first, last,
                                   kpis.case_tally_kind(by))
    return kpis.case_rows(tallied.tally, book.cases, service.definition, by, period, book.today)


FIGURES = ("rated", "bad", "bad_pct", "cases_open", "upheld", "rectified_pct", "on_time_pct",
           "follow_up_pct", "follow_up_satisfied_pct", "satisfied_pct",
           "satisfied_after_appeals_pct")


def _figures(row: dict) -> tuple:
    return tuple(row[k] for k in FIGURES)


# By hand: 8 rated, 4 差评 (C1–C4); C2 upheld, so its rating is out of the KPIs: 7 count, 3 of
# them 差评, and 3 cases stand: C1 and C3 closed, C4 open and past its deadline; on time only C1
# (C3 closed on the 14th, its deadline the 10th); both closed cases reached on 回访, C1 满意, C3
# 不满意; 满意率 4 of the 8 before the appeal, 4 of the 7 that count after it.
HALL_MONTH = (7, 3, 42.9, 1, 1, 66.7, 33.3, 100.0, 50.0, 50.0, 57.1)
# Window 1: 5, 4, 2, 3, 1 and C1, C3. Window 2: 5, 1, 2 and C2 (upheld), C4 (open, late).
WINDOW_1 = (5, 2, 40.0, 0, 0, 100.0, 50.0, 100.0, 50.0, 60.0, 60.0)
WINDOW_2 = (2, 1, 50.0, 1, 1, 0.0, 0.0, None, None, 33.3, 50.0)   # the upheld 1 out


def test_the_case_kpis_of_a_hand_worked_month_by_period_and_dimension(month):
    assert [(r["period"], r["name"], _figures(r)) for r in _rows(month, "hall", "month")] == [
        ("2026-12", "测试镇便民服务中心", HALL_MONTH)]
    assert [(r["period"], _figures(r)) for r in _rows(month, "hall", "year")] == [
        ("2026", HALL_MONTH)]
    # by day, each case under its rating's day: the 1st has 5 ratings (5 4 2 5 1), C1 and C2,
    # and C2's 1 upheld: 4 count
    days = {r["period"]: _figures(r) for r in _rows(month, "hall", "day")}
    assert sorted(days) == ["2026-12-01", "2026-12-03", "2026-12-14"]
    assert days["2026-12-01"] == (4, 1, 25.0, 0, 1, 100.0, 100.0, 100.0, 100.0, 60.0, 75.0)
    assert days["2026-12-14"] == (1, 1, 100.0, 1, 0, 0.0, 0.0, None, None, 0.0, 0.0)
    assert [(r["name"], _figures(r)) for r in _rows(month, "window", "month")] == [
        ("1 号 社保窗口", WINDOW_1), ("2 号 民政窗口", WINDOW_2)]
    assert [(r["name"], _figures(r)) for r in _rows(month, "department", "month")] == [
        ("民政", WINDOW_2), ("社会保障", WINDOW_1)]
    assert [(r["name"], _figures(r)) for r in _rows(month, "clerk", "month")] == [
        ("张敏（1001）", WINDOW_1), ("李强（1002）", WINDOW_2)]
    with pytest.raises(ValueError, match=r"差评工单指标可按.*不能按业务类别"):
        _rows(month, "category", "month")


def test_an_appeal_upheld_after_its_day_closed_takes_the_rating_out_of_every_kpi(tmp_path):
    """The 1st's facts are stored (a report read them) before the appeal is upheld on the 2nd:
    the KPI table by hall and by window (stored tallies), the table made of the tickets (the
    exports' and the rankings') and the closed loop's figures all count the upheld 差评 as
    neither rated nor 未评 from then on, and the log still holds the rating."""
    service = _service(tmp_path, at(1, 9))
    case, = _rated(service, at(1), 1, "1001", "A", [5, 1])
    service.execute(cmd.TakeTicket("A"), at(2, 9))    # the 1st has closed
    first = last = date(2026, 12, 1)

    def figures() -> list[tuple]:
        tables = [kpis.rows(reports.load_tallied(service.engine, service.hall_id, first, last, by),
                            service.definition, by, "all") for by in ("hall", "window", "clerk")]
        facts = reports.load_facts(service.engine, service.hall_id, service.definition, first,
                                   last)
        tables.append(kpis.kpi_rows(facts, service.definition, "hall", "all"))
        return [(r["rated"], r["unrated"], r["satisfied_pct"], r["score_mean"])
                for table in tables for r in table if r["finished"]]

    assert figures() == [(2, 0, 50.0, 3.0)] * 4       # the 1st's facts stored by these reads
    service.execute(cmd.AppealCase(case, "群众误按", "主任甲", account="jia"), at(2, 10))
    service.execute(cmd.DecideAppeal(case, True, "录像显示服务规范", "主任乙", "yi"), at(2, 11))
    assert figures() == [(1, 0, 100.0, 5.0)] * 4
    book = reports.CaseBook.of(service.state, first, last)
    tally = reports.load_tallied(service.engine, service.hall_id, first, last, "window").tally
    (row,) = kpis.case_rows(tally, book.cases, service.definition, "hall", "all", book.today)
    assert (row["rated"], row["bad"], row["upheld"], row["satisfied_pct"],
            row["satisfied_after_appeals_pct"]) == (1, 0, 1, 50.0, 100.0)
    facts = reports.load_facts(service.engine, service.hall_id, service.definition, first, last)
    assert [r["score"] for r in facts.ratings] == [5, 1]   # as given, in the log


def test_reconciliation_every_bad_rating_has_one_case_and_every_case_one_state(month):
    first, last = date(2026, 12, 1), date(2026, 12, 31)
    facts = reports.load_facts(month.engine, month.hall_id, month.definition, first, last)
    sheets = reports.ledger(facts, month.definition, reports.CaseBook.of(month.state, first, last))
    headers, ratings = sheets["评价台账"]
    bad = [r for r in ratings if r[headers.index("差评")] == "是"]
    opened = [r[headers.index("工单编号")] for r in bad]
    case_headers, cases = sheets["差评工单台账"]
    assert sorted(opened) == sorted(c[0] for c in cases) == sorted(month.cases)   # one each
    assert all(r[headers.index("工单编号")] == "" for r in ratings if r not in bad)
    states = [c[case_headers.index("状态")] for c in cases]
    assert states == ["已整改", "申诉成立", "已整改", "待核实"]
    assert [c[case_headers.index("是否按期")] for c in cases] == [
        "按期", "申诉成立，不计", "超期", "已超期"]


def test_the_exports_of_the_month_open_in_excel_with_names_and_dates(month):
    first, last = date(2026, 12, 1), date(2026, 12, 31)
    facts = reports.load_facts(month.engine, month.hall_id, month.definition, first, last)
    book = reports.CaseBook.of(month.state, first, last)
    kpi_book = load_workbook(io.BytesIO(reports.export(
        facts, month.definition, "xlsx", ["cases"], "window", "day", book)))
    sheet = kpi_book["差评工单指标"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("周期", "窗口", "评价数（条）", "差评数（条）", "差评率（%）")
    assert rows[0][-1] == "满意率（申诉后）（%）"
    assert rows[1][:4] == (datetime(2026, 12, 1), "1 号 社保窗口", 3, 1)   # a real Excel date
    assert sheet.cell(2, 1).number_format == "yyyy-mm-dd"
    csv_text = reports.export(facts, month.definition, "csv", ["cases"], "department", "month",
                              book).decode("utf-8-sig")
    assert csv_text.splitlines()[1] == "2026-12,民政,2,1,50.0,1,1,0.0,0.0,,,33.3,50.0"

    ledger = load_workbook(io.BytesIO(reports.export(facts, month.definition, "xlsx",
                                                     [reports.LEDGER], book=book)))
    assert ledger.sheetnames == ["评价台账", "差评工单台账", "投诉建议台账"]
    ratings = list(ledger["评价台账"].iter_rows(values_only=True))
    assert ratings[0] == ("日期", "时间", "号码", "评价", "评分", "差评", "原因", "渠道", "窗口",
                          "工作人员", "工号", "部门", "事项", "工单编号")
    assert len(ratings) == 1 + 8
    assert ratings[3][:10] == (datetime(2026, 12, 1), time(10, 0), "A003", "不满意", 2, "是",
                               "服务态度不好", "手机", "1 号 社保窗口", "张敏")
    cases = list(ledger["差评工单台账"].iter_rows(values_only=True))
    assert cases[0] == tuple(reports.LEDGER_CASE_HEADERS)
    c3 = dict(zip(cases[0], cases[3], strict=True))
    assert (c3["工单编号"], c3["评价日期"], c3["评价"], c3["部门"], c3["工作人员"]) == (
        "20261203-01", datetime(2026, 12, 3), "非常不满意", "社会保障", "张敏")
    assert (c3["办理期限"], c3["处理方式"], c3["核实人"], c3["整改完成时间"], c3["整改情况"]) == (
        datetime(2026, 12, 10), "限期整改", "主任甲", datetime(2026, 12, 14, 15), "已组织业务培训")
    assert (c3["回访结果"], c3["回访次数"], c3["回访记录"], c3["状态"], c3["办结日期"],
            c3["是否按期"]) == ("不满意", 1, "认为整改太慢", "已整改", datetime(2026, 12, 14), "超期")
    c2 = dict(zip(cases[0], cases[2], strict=True))
    assert (c2["申诉人"], c2["申诉理由"], c2["审核结论"], c2["审核人"], c2["审核意见"]) == (
        "主任甲", "群众误按", "申诉成立", "主任乙", "录像显示服务规范")
    with pytest.raises(ValueError, match="CSV 每次只能导出一张表"):
        reports.export(facts, month.definition, "csv", [reports.LEDGER], book=book)


def test_the_ledger_holds_the_complaints_register_with_contacts_only_masked(month):
    """K1 (Thu 3rd, a phone call about window 1, deadline Thu 10th): answered valid, 回访 满意,
    closed the same day; K2 (a suggestion from the hall's QR, the 3rd): answered not valid,
    three 回访 未接通, closed on Mon 14th, late; its contact purged. K3 (a 12345 transfer of the
    14th about 李强, deadline Mon 21st): taken on, open on the 22nd, so past it."""
    first, last = date(2026, 12, 1), date(2026, 12, 31)
    facts = reports.load_facts(month.engine, month.hall_id, month.definition, first, last)
    book = reports.with_contacts(reports.CaseBook.of(month.state, first, last), month.engine,
                                 month.hall_id, month.definition.hall)
    workbook = load_workbook(io.BytesIO(reports.export(facts, month.definition, "xlsx",
                                                       [reports.LEDGER], book=book)))
    rows = list(workbook["投诉建议台账"].iter_rows(values_only=True))
    assert rows[0] == tuple(reports.LEDGER_COMPLAINT_HEADERS)
    k1, k2, k3 = month.complaints
    assert [row[0] for row in rows[1:]] == [k1, k2, k3]
    k1, k2, k3 = (dict(zip(rows[0], row, strict=True)) for row in rows[1:])
    assert (k1["类型"], k1["来源"], k1["类别"], k1["涉及窗口"], k1["联系人"], k1["登记人"],
            k1["登记时间"], k1["办理期限"]) == (
        "投诉", "来电", "服务态度", "1 号 社保窗口", "李* 138****5678", "主任甲",
        datetime(2026, 12, 3, 11), datetime(2026, 12, 10))
    assert (k1["承办人"], k1["答复"], k1["核实结论"], k1["回访结果"], k1["回访次数"], k1["回访记录"],
            k1["办结人"], k1["办结说明"], k1["状态"], k1["办结日期"], k1["是否按期"]) == (
        "主任甲", "已核实并致歉", "有效投诉", "满意", 1, "群众表示满意", "主任甲", "已办结",
        "已办结", datetime(2026, 12, 3), "按期")
    assert (k2["类型"], k2["来源"], k2["涉及窗口"], k2["联系人"], k2["核实结论"], k2["回访结果"],
            k2["回访次数"], k2["办结人"], k2["办结日期"], k2["是否按期"]) == (
        "建议", "大厅二维码", None, None, "无效投诉", "未接通", 3, "主任乙",
        datetime(2026, 12, 14), "超期")
    assert (k3["来源"], k3["热线工单号"], k3["涉及工作人员"], k3["工号"], k3["办理期限"],
            k3["承办人"], k3["答复"], k3["状态"], k3["办结日期"], k3["是否按期"]) == (
        "12345 热线转办", "20261214-0007", "李强", "1002", datetime(2026, 12, 21), "主任甲", None,
        "处理中", None, "已超期")
    # K2's contact has no row: 已按规定删除 once its 180 days after closing have passed
    later = reports.with_contacts(replace(book, today=date(2027, 6, 12)), month.engine,
                                  month.hall_id, month.definition.hall)
    k1, k2, _ = month.complaints
    assert later.contacts == {k1: "李* 138****5678", k2: "已按规定删除"}
    assert book.contacts == {k1: "李* 138****5678"}
    cells = [str(v) for sheet in workbook for row in sheet.iter_rows(values_only=True)
             for v in row if v is not None]
    assert not [c for c in cells if "13800135678" in c or "李四" in c]   # never whole
    # the page to print has the register too, gathered for A4
    page = web_pages.ledger_html({"name": "测试镇便民服务中心"}, first, last,
                                 reports.ledger(facts, month.definition, book))
    assert "投诉建议台账（3 条）" in page and "李* 138****5678" in page
    assert "13800135678" not in page and "<th>答复</th>" in page


# --- an overdue case is warned of once, on the hall's clock --------------------------------------

def test_an_overdue_case_warns_once_on_the_first_working_day_after_its_deadline(tmp_path):
    friday = at(4)
    service = _service(tmp_path, friday)
    case, = _rated(service, friday, 1, "1001", "A", [1])
    assert service.state.cases[case].deadline == date(2026, 12, 11)   # Mon 7th … Fri 11th

    def overdue(now: datetime) -> list:
        return [e.data for e in service.execute(cmd.Tick(), now)
                if e.kind == "warning" and e.data.kind == "case_overdue"]

    for day in (7, 11):                                   # before and on the deadline
        assert overdue(at(day, 17, 29)) == []
    assert overdue(at(12, 10)) == [] and overdue(at(13, 10)) == []   # the weekend after it
    warned, = overdue(at(14, 0, 5))                       # Monday: past it, a working day
    assert (warned.level, warned.case, warned.window, warned.clerk) == ("red", case, 1, "1001")
    assert "差评工单 20261204-01（1 号窗口张敏）已超过办理期限 12月11日" in warned.text
    assert overdue(at(14, 10)) == [] and overdue(at(15, 10)) == []    # once
    restarted = HallService(service.engine, None, at(15, 11))
    assert restarted.state.cases[case].overdue_warned
    assert [e for e in restarted.execute(cmd.Tick(), at(16, 10)) if e.kind == "warning"] == []
    # a case closed in time is never warned of
    other, = _rated(restarted, at(16), 1, "1001", "A", [2])
    restarted.execute(cmd.HandleCase(other, "explain", "按规定办理", "已解释", "主任甲"), at(16, 11))
    assert [e for e in restarted.execute(cmd.Tick(), at(31, 10)) if e.kind == "warning"] == []


def test_the_warning_names_the_case_on_the_wire():
    warning = ev.WarningRaised("red", "case_overdue", "x", window=1, clerk="1001", case="20261204-01")
    assert warning.fields() == {"level": "red", "kind": "case_overdue", "text": "x",
                                "case": "20261204-01", "window": 1, "clerk": "1001"}
