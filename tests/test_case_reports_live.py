"""The 好差评 closed loop's reports through a real server and chromium: the case KPIs by window
on the reports tab (统计报表), the month's 好差评台账 from its signed link as XLSX (opened back)
and as the page to print, printed by chromium to PDF on A4 (paginated, every column wide enough
to read). Screenshots and the PDF go to tests/artifacts/ledger/ for a person to look at."""

from __future__ import annotations

import calendar
import io
import json
import re
import urllib.request
from datetime import date

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser import chromium
from tests.conftest import ARTIFACTS
from tests.live_hall import SMALL, LiveHall
from tests.test_manager_pages import dashboard

SHOTS = ARTIFACTS / "ledger"
SCORES = [5, 4, 1, 5, 3, 2, 5, 5, 4, 1] * 4    # 40 ratings, 12 差评


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    """Clerk 1001 at window 1 and 1002 at window 2 serve 40 tickets, rated `SCORES` by turns;
    managers handle the cases: the first four 立行立改 with a 回访, the fifth appealed and
    upheld, the rest left open."""
    live = LiveHall(tmp_path_factory.mktemp("ledger"))
    live.cli("manager", "add", "fuzhuren", "--name", "副主任", "--password", "hall-manager-2")
    added = json.loads(live.cli("device", "add", "--role", "pad", "--name", "pad-2", "--window", "2",
                                "--json"))
    pads = {1: live.hello("pad"), 2: live.hello("pad", token=added["token"])}
    clerks = {}
    for badge, pin, window in (("1001", "1111", 1), ("1002", "2222", 2)):
        clerks[window] = live.hello("clerk", badge=badge, pin=pin)
        clerks[window].request("sign_in", window=window, post="A")
    for i, score in enumerate(SCORES):
        window = 1 + i % 2
        taken = live.hello("kiosk").request("take_ticket", category="AB"[window - 1])
        assert taken["ok"], taken
        number = clerks[window].request("call_next")["ticket"]["number"]
        clerks[window].request("finish", outcome="done")
        reply = pads[window].request("rate", ticket=number, score=score,
                            reasons=["服务态度不好", "办事效率低"] if score <= 2 else [])
        assert reply["ok"], reply
    manager = live.hello("manager")
    cases = sorted(c["case"] for c in manager.hello["snapshot"]["cases"])
    assert len(cases) == sum(1 for s in SCORES if s <= 2)
    for case in cases[:4]:
        assert manager.request("handle_case", case=case, measure="at_once",
                               finding="核实属实：窗口人员解释不清，群众多次往返",
                               published="已当场向群众致歉，并对窗口人员进行业务培训")["ok"]
        assert manager.request("follow_up_case", case=case, result="satisfied",
                               note="群众表示满意")["ok"]
    assert manager.request("appeal_case", case=cases[4], reason="群众误按评价器")["ok"]
    second = live.hello("manager", user="fuzhuren", password="hall-manager-2")
    assert second.request("decide_appeal", case=cases[4], uphold=True,
                          reason="监控录像显示服务规范")["ok"]
    # the register: a phone complaint with a contact taken, answered (valid), called back and
    # closed; a suggestion from the 12345 hotline left open
    done = manager.request("register_complaint", kind="complaint", channel="phone",
                           category="服务态度", text="窗口人员答复生硬", name="王小五",
                           phone="13912345678")
    assert done["ok"], done
    while manager.request("complaint_contact", complaint=done["complaint"]).get("saving"):
        pass   # its row written beside the log a moment after
    for op, extra in (("assign_complaint", {}), ("reply_complaint", {"reply": "已核实并致歉",
                                                                      "valid": True}),
                      ("follow_up_complaint", {"result": "satisfied", "note": "群众表示满意"}),
                      ("close_complaint", {})):
        assert manager.request(op, complaint=done["complaint"], **extra)["ok"]
    assert manager.request("register_complaint", kind="suggestion", channel="hotline",
                           hotline_case="20261207-0042", category="环境设施",
                           text="等候区座椅太少")["ok"]
    live.day = live.health()["service_day"]
    live.cases = cases
    yield live
    assert live.stop() == 0


def _link(hall: LiveHall, **params) -> str:
    reply = hall.hello("manager").request("export", **params)
    assert reply["ok"], reply
    return f"{hall.http}{reply['url']}" if reply["url"].startswith("/") else reply["url"]


def test_stats_gives_the_case_kpis_by_window_and_period(hall):
    reply = hall.hello("manager").request("stats", view="cases", by="window", period="day", **{
        "from": hall.day, "to": hall.day})
    assert reply["ok"], reply
    # by hand: window 1 got the even turns (5 1 3 5 4) × 4, window 2 (4 5 2 5 1) × 4, and one
    # 差评 of window 2 is out of the KPIs by its upheld appeal
    rows = {r["name"]: r for r in reply["rows"]}
    assert sorted(rows) == ["1 号 社保窗口", "2 号 民政窗口"]
    one, two = rows["1 号 社保窗口"], rows["2 号 民政窗口"]
    assert (one["rated"], one["bad"], one["bad_pct"]) == (20, 4, 20.0)
    assert (two["rated"], two["bad"], two["bad_pct"]) == (19, 7, 36.8)
    assert (one["cases_open"] + two["cases_open"], one["upheld"] + two["upheld"]) == (7, 1)
    assert one["period"] == two["period"] == hall.day
    assert reply["row"]["rated"] == 39 and reply["row"]["bad"] == 11
    assert reply["row"]["upheld"] == 1 and reply["row"]["cases_open"] == 7
    refused = hall.hello("manager").request("stats", view="cases", by="service", **{
        "from": hall.day, "to": hall.day})
    assert "差评工单指标可按" in refused["error"]["message"]
    said = hall.hello("manager").request("export", what="ledger", format="csv", **{
        "from": hall.day, "to": hall.day})
    assert said["error"]["message"] == "CSV 每次只能导出一张表，请选择一张表或改用 XLSX"
    said = hall.hello("manager").request("export", what="kpis", format="print", **{
        "from": hall.day, "to": hall.day})
    assert "只有好差评台账和代办月报表可以打印" in said["error"]["message"]


def test_the_ledger_downloads_as_excel_with_its_headers_and_dates(hall):
    with urllib.request.urlopen(_link(hall, what="ledger", format="xlsx", **{
            "from": hall.day, "to": hall.day}), timeout=10) as reply:
        assert "attachment" in reply.headers["Content-Disposition"]
        book = load_workbook(io.BytesIO(reply.read()))
    ratings = list(book["评价台账"].iter_rows(values_only=True))
    assert len(ratings) == 1 + len(SCORES)
    assert ratings[1][0].date() == date.fromisoformat(hall.day)        # an Excel date
    cases = list(book["差评工单台账"].iter_rows(values_only=True))
    assert len(cases) == 1 + 12 and cases[0][0] == "工单编号" and cases[0][-1] == "是否按期"
    first = dict(zip(cases[0], cases[1], strict=True))
    assert (first["处理方式"], first["回访结果"], first["状态"], first["是否按期"]) == (
        "立行立改", "满意", "已整改", "按期")


def _cells(book) -> dict[str, list[tuple]]:
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}


def test_the_cli_writes_the_ledger_and_the_case_kpis_the_dashboard_exports(hall, tmp_path):
    """`queue-server report` beside the running server: the 台账 of the month and the closed
    loop's table, from the log, cell for cell the files the dashboard's links give."""
    month = hall.day[:7]
    year, number = map(int, month.split("-"))
    span = {"from": f"{month}-01", "to": f"{month}-{calendar.monthrange(year, number)[1]:02d}"}
    for what, options in (("ledger", ["--month", month]),
                          ("cases", ["--from", span["from"], "--to", span["to"], "--by", "window",
                                     "--period", "day"])):
        extra = {"by": "window", "period": "day"} if what == "cases" else {}
        with urllib.request.urlopen(_link(hall, what=what, format="xlsx", **span, **extra),
                                    timeout=10) as reply:
            exported = _cells(load_workbook(io.BytesIO(reply.read())))
        written = tmp_path / f"{what}.xlsx"
        hall.cli("report", "--table", what, *options, "--format", "xlsx", "-o", str(written))
        assert _cells(load_workbook(written)) == exported
    assert len(exported["差评工单指标"]) == 1 + 2   # the last file: a row per window
    register = hall.cli("report", "--table", "complaints", "--month", month).lstrip("\ufeff")
    lines = register.splitlines()
    assert lines[0].split(",")[:3] == ["编号", "类型", "来源"] and len(lines) == 1 + 2
    assert "王** 139****5678" in lines[1] and "13912345678" not in register
    ledger = _cells(load_workbook(tmp_path / "ledger.xlsx"))
    assert list(ledger) == ["评价台账", "差评工单台账", "投诉建议台账"]
    assert [len(rows) for rows in ledger.values()] == [1 + len(SCORES), 1 + 12, 1 + 2]
    complaints = [dict(zip(ledger["投诉建议台账"][0], row, strict=True))
                  for row in ledger["投诉建议台账"][1:]]
    assert [(c["来源"], c["热线工单号"], c["联系人"], c["核实结论"], c["状态"], c["是否按期"])
            for c in complaints] == [("来电", None, "王** 139****5678", "有效投诉", "已办结", "按期"),
                                     ("12345 热线转办", "20261207-0042", None, None, "已登记",
                                      "未到期")]


def test_the_reports_tab_shows_the_case_kpis_and_the_ledger_prints_on_a4(hall, browser):
    with dashboard(browser, hall, path="/manager#reports") as d:
        page = d.page
        page.locator("#report-by").select_option(label="窗口")
        page.locator("#report-period").select_option(label="整个时段合计")
        page.get_by_role("button", name="查询").click()
        table = page.locator("#case-kpi-table table")
        expect(table.locator("tbody tr")).to_have_count(2)
        headers = table.locator("thead th").all_inner_texts()
        # each header's name, without its unit's span (inner text joins them as laid out)
        names = table.locator("thead th").evaluate_all("ths => ths.map((th) => th.firstChild.textContent)")
        assert headers and names[:5] == ["周期", "名称", "评价数", "差评数", "差评率"]
        first_row = table.locator("tbody tr").first.locator("td, th").all_inner_texts()
        assert first_row[:5] == ["合计", "1 号 社保窗口", "20", "4", "20.0%"]
        expect(page.locator("#complaint-kpis")).to_have_text(
            "投诉建议 2 件 · 其中投诉 1 件 · 已办结 1 件 · 投诉办结率 50.0% · 按期办结率 100.0% · "
            "有效投诉 1 件")
        page.locator("#case-kpi-title").scroll_into_view_if_needed()
        d.shot("../ledger/reports-case-kpis")
        with page.expect_popup() as opened:
            page.locator(".case-kpi-panel").get_by_role("button", name="打印（A4）").click()
        printed = opened.value
        printed.wait_for_load_state()
        assert re.search(r"/export/", printed.url)
        expect(printed.locator("h1")).to_contain_text("好差评台账")
        printed.close()

    # the page at the width it prints on: A4 landscape less the page's margins (281 × 190 mm)
    page_px = round((297 - 16) / 25.4 * 96)
    context = browser.new_context(viewport={"width": page_px, "height": round(190 / 25.4 * 96)},
                                  locale="zh-CN")
    page = context.new_page()
    page.goto(_link(hall, what="ledger", format="print", **{"from": hall.day, "to": hall.day}))
    page.emulate_media(media="print")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "ledger-print-a4.png", full_page=True)
    # every column at least two characters wide, and nothing wider than the page's 281 mm
    widths = page.evaluate("""() => [...document.querySelectorAll("table")].map((t) =>
        [t.getBoundingClientRect().width, ...[...t.querySelectorAll("thead th")].map(
            (th) => th.getBoundingClientRect().width)])""")
    for table_width, *columns in widths:
        assert table_width <= page_px + 1, widths
        assert min(columns) >= 24, columns      # 9pt text: two characters and padding
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    (SHOTS / "ledger-a4.pdf").write_bytes(pdf)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages >= 2, pages         # 40 ratings on one page, the 12 cases on the next ones
    size = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", pdf)
    assert size and (round(float(size[1])), round(float(size[2]))) == (842, 595)   # A4 landscape
    context.close()


# --- an overdue case on the dashboard, on the hall's simulated clock --------------------------------

def hall_now(hall: LiveHall) -> str:
    """The hall's clock now, as a hello says it (ISO, the hall's zone)."""
    return hall.hello("display").hello["now"]


def test_a_case_past_its_deadline_warns_the_dashboard_once_on_monday_not_at_the_weekend(
        tmp_path, browser):
    """A 差评 on Friday 4 December (the small hall's own calendar: no weekend work) has its
    deadline on Friday 11th. The server is started again on Sunday 13th, 150 s before midnight
    (a simulated clock, ten times as fast: 15 s for chromium and the dashboard before
    midnight): nothing on Sunday; on Monday's first tick one red 工单超期 warning on the
    dashboard, and no second one as the ticks go on."""
    live = LiveHall(tmp_path, "--simulate-from", "2026-12-04T10:00:00", "--speed", "1",
                    hall_text=SMALL)
    try:
        clerk = live.hello("clerk", badge="1001", pin="1111")
        clerk.request("sign_in", window=1, post="A")
        live.hello("kiosk").request("take_ticket", category="A")
        number = clerk.request("call_next")["ticket"]["number"]
        clerk.request("finish", outcome="done")
        assert live.hello("pad").request("rate", ticket=number, score=1,
                                         reasons=["服务态度不好"])["ok"]
        (case,) = live.hello("manager").hello["snapshot"]["cases"]
        assert case["deadline"] == "2026-12-11"
    finally:
        assert live.stop() == 0
    live.serve_args = ["--port", "0", "--simulate-from", "2026-12-13T23:57:30", "--speed", "10"]
    live.start()
    try:
        with dashboard(browser, live) as d:
            page = d.page
            overdue = page.locator("#warnings li.warning", has_text="工单超期")
            assert hall_now(live) < "2026-12-14T00:00:00" and overdue.count() == 0   # Sunday
            expect(overdue).to_have_count(1, timeout=60_000)      # Monday's first tick
            assert live.health()["service_day"] == "2026-12-14"
            expect(overdue).to_have_attribute("data-level", "red")
            expect(overdue).to_contain_text(f"差评工单 {case['case']}（1 号窗口张敏）已超过办理期限 12月11日")
            # more ticks of the hall's clock (5 s each, half a second here): still the one warning
            while hall_now(live) < "2026-12-14T00:00:30":
                page.wait_for_timeout(500)
            assert overdue.count() == 1
            d.shot("../ledger/dashboard-case-overdue")
        warnings = live.hello("manager").hello["snapshot"]["warnings"]
        assert [w["kind"] for w in warnings].count("case_overdue") == 1
    finally:
        assert live.stop() == 0
