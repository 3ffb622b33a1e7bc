"""The complaints register on the pages, in chromium against a real server: a complaint from the
citizen's ticket page reaches the managers' 投诉建议 tab, is taken on and answered there, and the
citizen reads the answer on the status page (`/ts`); the hall's QR page (`/complain`) with
today's hall code; a phone call and a 12345 transfer typed in on the dashboard; a second manager
sees the phone masked; complaints past their deadline red and near it yellow. Screenshots go to
tests/artifacts/complaints/ for a person to look at."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from queue_server import events as ev
from tests.browser import chromium, phone_page
from tests.conftest import ARTIFACTS
from tests.live_hall import LiveHall
from tests.test_bad_rating_cases_live import ZONE
from tests.test_complaints_live import SECOND, served_ticket, two_managers
from tests.test_manager_pages import dashboard

SHOTS = ARTIFACTS / "complaints"


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def hall(tmp_path):
    with two_managers(tmp_path) as live:
        yield live


def complaints_tab(d):
    d.page.get_by_role("link", name="投诉建议").click()
    expect(d.page.locator("#complaints-screen")).to_be_visible()
    return d.page.locator("#complaints .case")


def test_a_complaint_from_the_ticket_page_is_answered_and_the_citizen_reads_it(hall, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    ticket = served_ticket(hall)
    with phone_page(browser, hall.http) as phone, dashboard(browser, hall) as d:
        phone.goto(ticket["url"])
        phone.get_by_text("实时更新中").wait_for()
        phone.locator("#complain summary").click()
        phone.get_by_label("建议", exact=True).check()
        phone.get_by_label("投诉", exact=True).check()
        phone.get_by_label("类别").select_option("服务态度")
        phone.get_by_role("button", name="提交").click()
        expect(phone.locator(".complaint-form .error")).to_have_text("请填写投诉建议内容")
        phone.get_by_label("内容").fill("1 号窗口工作人员答复不耐烦")
        phone.get_by_label("姓名（可不填）").fill("李四")
        phone.get_by_label("联系电话（可不填，用于回访）").fill("13800135678")
        phone.screenshot(path=SHOTS / "ticket-page-form.png", full_page=True)
        phone.get_by_role("button", name="提交").click()
        number = phone.locator("#complaint-number")
        expect(number).to_have_text(f"TS{datetime.now(ZONE):%Y%m%d}-001")
        code = phone.locator("#complaint-code").inner_text()
        assert len(code) == 6 and code.isdigit()
        phone.screenshot(path=SHOTS / "ticket-page-received.png", full_page=True)

        listed = complaints_tab(d)
        expect(d.page.locator("#tab-complaints")).to_have_text("投诉建议（1）")
        expect(listed).to_have_count(1)
        item = listed.first
        expect(item.locator(".case-status")).to_have_text("已登记")
        expect(item.locator(".case-about")).to_have_text(
            f"投诉 · 服务态度 · 小票页面 · 1 号窗口 · 张敏 · {ticket['number']} 号：1 号窗口工作人员答复不耐烦")
        expect(item.locator(".case-contact")).to_have_text("联系人：李* 138****5678（承办人可见完整信息）")
        item.get_by_role("button", name="承办").click()
        item.get_by_role("button", name="确定承办").click()
        expect(item.locator(".case-status")).to_have_text("处理中")
        expect(item.locator(".case-contact")).to_have_text("联系人：李四 13800135678")
        item.get_by_role("button", name="答复").click()
        item.get_by_role("button", name="确定答复").click()
        expect(item.locator(".case-error")).to_have_text("请填写答复内容（群众在办理进度页面看到）")
        item.get_by_label("答复内容（群众在办理进度页面看到）").fill("经核实属实，已对该工作人员批评教育，并向您致歉")
        expect(item.locator(".case-error")).to_have_count(0)   # the stale refusal goes as one types
        item.get_by_label("核实结论").select_option("true")
        d.shot("complaints-reply-form")
        item.get_by_role("button", name="确定答复").click()
        expect(item.locator(".case-status")).to_have_text("已答复，待回访")
        expect(item.locator(".case-history")).to_contain_text("答复（有效投诉）：经核实属实")
        d.assert_fits()
        d.assert_readable()
        d.shot("complaints-tab")
        assert d.errors == []
        d.assert_only_from(hall)

        phone.locator("#complaint-status").click()
        expect(phone.locator("h1")).to_have_text("投诉建议办理进度")
        status = phone.locator("#status")
        expect(status).to_contain_text("已答复")
        expect(status).to_contain_text("经核实属实，已对该工作人员批评教育，并向您致歉")
        assert "李四" not in phone.content() and "5678" not in phone.content()
        phone.screenshot(path=SHOTS / "status-page.png", full_page=True)
        phone.get_by_label("查询码（6 位数字）").fill(f"{(int(code) + 1) % 10**6:06d}")
        phone.get_by_role("button", name="查看").click()
        expect(phone.locator("main")).to_contain_text("没有找到：请核对编号和查询码")
        expect(phone.locator("#status")).to_have_count(0)
        phone.screenshot(path=SHOTS / "status-page-not-found.png", full_page=True)


def test_the_halls_complain_page_takes_a_suggestion_with_todays_code(hall, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    code = hall.hello("display").hello["take_code"]
    assert hall.hello("kiosk").hello["complain_url"] == f"{hall.http}/complain"
    with phone_page(browser, hall.http) as phone:
        phone.goto(f"{hall.http}/complain")
        phone.get_by_label("今日取号码").fill("0000" if code != "0000" else "1111")
        phone.get_by_role("button", name="下一步").click()
        expect(phone.locator("#code-error")).to_contain_text("取号码不正确")
        phone.screenshot(path=SHOTS / "complain-page-code.png", full_page=True)
        phone.get_by_label("今日取号码").fill(code)
        phone.get_by_role("button", name="下一步").click()
        phone.get_by_label("建议", exact=True).check()
        phone.get_by_label("类别").select_option("环境设施")
        phone.get_by_label("内容").fill("建议在等候区增加老花镜和充电插座")
        phone.screenshot(path=SHOTS / "complain-page-form.png", full_page=True)
        phone.get_by_role("button", name="提交").click()
        expect(phone.locator("#complaint-number")).to_have_text(f"TS{datetime.now(ZONE):%Y%m%d}-001")
        phone.screenshot(path=SHOTS / "complain-page-received.png", full_page=True)
    view = hall.hello("manager").hello["snapshot"]["complaints"][0]
    assert (view["kind_name"], view["channel_name"], view["window"], view["contact"]) == (
        "建议", "大厅二维码", None, False)


def test_a_phone_call_and_a_12345_transfer_typed_in_and_a_second_manager_sees_it_masked(hall, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with dashboard(browser, hall) as d:
        complaints_tab(d)
        form = d.page.locator("#complaint-register")
        form.get_by_label("来源").select_option("hotline")
        form.get_by_label("内容").fill("市民反映社保窗口排队时间过长")
        form.get_by_role("button", name="登记").click()
        expect(d.page.locator("#complaint-register-result")).to_have_text("请填写 12345 热线的工单编号")
        form.get_by_label("12345 工单编号").fill("2026120700123")
        form.get_by_label("类别").select_option("办事效率")
        form.get_by_label("涉及窗口").select_option("1")
        form.get_by_role("button", name="登记").click()
        expect(d.page.locator("#complaint-register-result")).to_contain_text("已登记 TS")
        form.get_by_label("来源").select_option("phone")
        expect(form.get_by_label("12345 工单编号")).to_be_hidden()
        form.get_by_label("内容").fill("来电反映大厅空调温度过低")
        form.get_by_label("类别").select_option("环境设施")
        form.get_by_label("联系人姓名（可不填）").fill("王小五")
        form.get_by_label("联系电话（可不填）").fill("13912345678")
        form.get_by_role("button", name="登记").click()
        expect(d.page.locator("#complaint-register-result")).to_contain_text("-002")
        listed = d.page.locator("#complaints .case")
        expect(listed).to_have_count(2)
        expect(listed.nth(0).locator(".case-about")).to_have_text(
            "投诉 · 办事效率 · 12345 热线转办（热线工单 2026120700123） · 1 号窗口：市民反映社保窗口排队时间过长")
        expect(listed.nth(1).locator(".case-history")).to_contain_text("登记：主任（zhuren）")
        listed.nth(1).get_by_role("button", name="承办").click()
        listed.nth(1).get_by_role("button", name="确定承办").click()
        expect(listed.nth(1).locator(".case-contact")).to_have_text("联系人：王小五 13912345678")
        expect(listed.nth(1).get_by_role("button", name="承办")).to_have_count(0)   # it is ours
        d.assert_fits()
        d.assert_readable()
        d.shot("complaints-registered")
        assert d.errors == []
    with dashboard(browser, hall, log_in=False) as second:
        second.log_in(*SECOND)
        listed = complaints_tab(second)
        expect(listed.nth(1).locator(".case-contact")).to_have_text(
            "联系人：王** 139****5678（承办人可见完整信息）")
        expect(listed.nth(1).locator(".case-history")).to_contain_text("承办人：主任（zhuren）")
        expect(listed.nth(1).get_by_role("button", name="答复")).to_have_count(0)   # not its handler
        listed.nth(1).get_by_role("button", name="承办").click()   # take it over
        listed.nth(1).get_by_role("button", name="确定承办").click()
        expect(listed.nth(1).locator(".case-contact")).to_have_text("联系人：王小五 13912345678")
        second.shot("complaints-second-manager")


def test_complaints_past_their_deadline_are_red_and_near_it_yellow(tmp_path, browser):
    hall = LiveHall(tmp_path)
    try:
        assert hall.stop() == 0
        today = datetime.now(ZONE).date()
        came = today - timedelta(days=9)
        at = datetime.combine(came, datetime.min.time(), ZONE) + timedelta(hours=10)
        deadlines = {"001": today - timedelta(days=1), "002": today, "003": today + timedelta(days=9)}
        records = [ev.ComplaintRegistered(f"TS{came:%Y%m%d}-{n}", "complaint", "phone", "服务态度",
                                          "态度生硬", None, None, None, None, deadline.isoformat(),
                                          "主任（zhuren）", False)
                   for n, deadline in deadlines.items()]
        hall.log_earlier(came, at, records)
        hall.start()
        with dashboard(browser, hall) as d:
            expect(d.page.locator("#tab-complaints")).to_have_text("投诉建议（3） ▲1")
            listed = complaints_tab(d)
            expect(listed.locator(".case-number")).to_have_text(
                [f"TS{came:%Y%m%d}-001", f"TS{came:%Y%m%d}-002", f"TS{came:%Y%m%d}-003"])
            expect(listed.nth(0)).to_have_attribute("data-due", "red")
            expect(listed.nth(0).locator(".case-due")).to_have_text("▲ 已超期")
            expect(listed.nth(1)).to_have_attribute("data-due", "yellow")
            expect(listed.nth(1).locator(".case-due")).to_have_text("● 临近期限")
            expect(listed.nth(2)).to_have_attribute("data-due", "")
            expect(d.page.locator("#complaints-summary")).to_have_text("待办 3 件，已超期 1，临近期限 1")
            d.assert_readable()
            d.shot("complaints-due")
    finally:
        hall.stop()


def test_closed_complaints_are_found_by_month_status_and_number_and_exported(hall, browser):
    """The 投诉建议 tab's list holds what is still to do; under it the register finds the closed
    ones too — the month's, of a status, or by number — and exports the month's sheet, the
    contact masked."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    manager = hall.hello("manager")
    numbers = []
    for kind, channel, text, extra, acts in (
            ("complaint", "phone", "窗口人员答复生硬，多次询问后仍不耐烦",
             {"name": "王小五", "phone": "13912345678"},
             [("reply_complaint", {"reply": "已核实并致歉", "valid": True}),
              ("follow_up_complaint", {"result": "satisfied", "note": "群众表示满意"}),
              ("close_complaint", {})]),
            ("complaint", "hotline", "市民反映社保窗口排队时间过长，希望高峰时段增开窗口",
             {"hotline_case": "2026120700123"},
             [("reply_complaint", {"reply": "经调取叫号记录核实，当日等候未超过规定时限",
                                   "valid": False}), ("close_complaint", {})]),
            ("suggestion", "phone", "建议等候区增加座椅", {}, [])):
        done = manager.request("register_complaint", kind=kind, channel=channel,
                               category="服务态度", text=text, **extra)
        assert done["ok"], done
        numbers.append(done["complaint"])
        while manager.request("complaint_contact", complaint=done["complaint"]).get("saving"):
            pass   # its row written beside the log a moment after
        for op, params in [("assign_complaint", {}), *acts]:
            assert manager.request(op, complaint=done["complaint"], **params)["ok"]
    month = hall.health()["service_day"][:7]
    title = f"{month.replace('-', '年')}月"
    with dashboard(browser, hall) as d:
        expect(complaints_tab(d)).to_have_count(1)          # to do: the suggestion only
        found = d.page.locator("#complaint-found tbody tr")
        summary = d.page.locator("#complaint-found-summary")
        expect(summary).to_have_text(f"{title}投诉建议 3 条")
        headers = d.page.locator("#complaint-found thead th").all_inner_texts()
        assert headers[:3] == ["编号", "状态", "是否按期"] and "核实结论" in headers
        expect(found.nth(0)).to_contain_text("已办结")
        expect(found.nth(1)).to_contain_text("12345 热线转办")
        expect(found.nth(1)).to_contain_text("无效投诉")
        form = d.page.locator("#complaint-find")
        form.get_by_label("状态").select_option("closed")
        form.get_by_role("button", name="查询").click()
        expect(summary).to_have_text(f"{title}已办结的投诉建议 2 条")
        expect(found).to_have_count(2)
        form.get_by_label("或按编号").fill(numbers[2][-4:])
        form.get_by_label("状态").select_option("")
        form.get_by_role("button", name="查询").click()
        expect(summary).to_have_text(f"编号含“{numbers[2][-4:]}”投诉建议 1 条")
        expect(found.nth(0)).to_contain_text(numbers[2])
        expect(found.nth(0)).to_contain_text("处理中")
        form.get_by_label("或按编号").fill("TS19990101")
        form.get_by_role("button", name="查询").click()
        expect(found).to_have_text(["没有找到投诉建议"])
        form.get_by_label("或按编号").fill("")
        form.get_by_label("状态").select_option("closed")
        form.get_by_role("button", name="查询").click()
        expect(found).to_have_count(2)
        with d.page.expect_download() as download:
            form.get_by_role("button", name="导出该月 Excel").click()
        expect(d.page.locator("#register-result")).to_contain_text("投诉建议台账（Excel，")
        assert download.value.suggested_filename.endswith(".xlsx")
        book = load_workbook(io.BytesIO(download.value.path().read_bytes()))
        assert book.sheetnames == ["投诉建议台账"]
        rows = list(book["投诉建议台账"].iter_rows(values_only=True))
        assert [r[0] for r in rows[1:]] == numbers      # the month's, whatever the status
        contact = dict(zip(rows[0], rows[1], strict=True))["联系人"]
        assert contact == "王** 139****5678"
        assert not [v for r in rows for v in r if v and "13912345678" in str(v)]
        d.page.locator("#complaint-find-title").scroll_into_view_if_needed()
        d.assert_fits()
        d.assert_readable()
        d.shot("complaints-register-closed")
        assert d.errors == []
    for month in ("2026/12", "9999-12"):
        refused = manager.request("find_complaints", month=month)
        assert refused["error"]["message"] == "month 应为月份，如 2026-11"
