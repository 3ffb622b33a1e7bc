"""The village point's page (`/point`, 代办台账) in chromium at 1366×768, 1024×768 and a phone's
width, live against `queue-server point serve` on a real SQLite file with a simulated clock:
cases recorded with real clicks on a Friday, the citizen's receipt with its QR read back with
zbar, refusals in the server's words, then the server restarted on later days: the town's
answers (a 补正 asked, a withdrawal that crossed the town's receipt) and the hand-over
deadline's warnings, yellow then red, said in words."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from pyzbar.pyzbar import decode as zbar_decode

from queue_server.points import ledger as L
from queue_server.points.point_store import PointStore
from tests.browser import PHONE, chromium
from tests.conftest import ARTIFACTS
from tests.live_point import LivePoint

SHOTS = ARTIFACTS / "point"
PC = {"viewport": {"width": 1366, "height": 768}}
SMALL_PC = {"viewport": {"width": 1024, "height": 768}}


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def _shot(page, name: str, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=SHOTS / f"{name}.png", full_page=full_page)


def _record(page, name: str, phone: str, search: str, item: str, materials: list[str]) -> None:
    page.locator("#name").fill(name)
    page.locator("#phone").fill(phone)
    page.locator("#item-search").fill(search)
    page.get_by_role("radio", name=item).click()
    for material in materials:
        page.locator("#materials").get_by_label(material, exact=True).check()
    page.get_by_role("button", name="登记", exact=True).click()


def _case(page, number: str):
    return page.locator(f"li.case[data-case='{number}']")


def test_an_agent_records_cases_prints_a_receipt_and_follows_them_day_by_day(tmp_path, browser):
    point = LivePoint(tmp_path)
    point.start()   # Friday 2026-12-04 09:00
    context = browser.new_context(**PC)
    page = context.new_page()
    try:
        page.goto(f"{point.http}/")
        page.get_by_text("○ 未连接乡镇 · 待上传 0 条").wait_for()
        assert page.locator("#point-name").inner_text() == "李庄村便民服务站"
        assert page.locator("#town").inner_text() == "代办至 城关镇便民服务中心"
        assert page.locator("#today").inner_text() == "12月4日 周五"
        assert page.locator("#items .item").count() == 6   # a few; the rest by typing
        page.get_by_text("还有 2 项，请输入事项名称查找（如“低保”）").wait_for()
        page.get_by_role("button", name="登记", exact=True).click()
        page.get_by_text("请填写：群众姓名、联系电话、办理事项、代办员").wait_for()
        page.locator("#agent").fill("王芳")

        _record(page, "张三", "1380000111", "低保", "最低生活保障申请", ["身份证", "户口簿"])
        page.get_by_text("请填写正确的电话号码：手机 11 位（1 开头），或固定电话").wait_for()
        assert page.locator("#cases li.case").count() == 0
        page.locator("#phone").fill("138 0000 1111")
        page.get_by_role("button", name="登记", exact=True).click()
        page.get_by_text("已登记，件号").wait_for()
        assert page.locator("#recorded-number").inner_text() == "P07-261204-001"
        first = _case(page, "P07-261204-001")
        assert "最低生活保障申请" in first.inner_text()
        assert "材料：身份证、户口簿（未收：收入证明）" in first.inner_text()
        assert "12月10日前送达乡镇" in first.inner_text()   # Tuesday the 8th is a holiday
        page.get_by_text("○ 未连接乡镇 · 待上传 1 条").wait_for()
        _shot(page, "1-recorded-1366")

        page.get_by_role("link", name="打印回执").click()
        page.locator("#number").wait_for()
        assert page.locator("#number").inner_text() == "P07-261204-001"
        receipt = page.locator(".receipt").inner_text()
        for words in ("李庄村便民服务站", "代办至 城关镇便民服务中心", "最低生活保障申请",
                      "身份证、户口簿", "2026年12月4日", "2026年12月10日前由代办员送到城关镇便民服务中心"):
            assert words in receipt
        _shot(page, "2-receipt-1366")
        page.emulate_media(media="print")   # as printed on A5 (148 mm at 96 dpi), buttons hidden
        page.set_viewport_size({"width": 559, "height": 794})
        assert page.get_by_role("button", name="打印回执").is_hidden()
        _shot(page, "2-receipt-print-a5")
        page.emulate_media(media="screen")
        page.set_viewport_size(PC["viewport"])
        qr = Image.open(io.BytesIO(page.locator("#qr svg").screenshot()))
        assert [d.data.decode() for d in zbar_decode(qr)] == [   # the key: ledger.follow_key
            "https://zhen.example.gov.cn/h/T03/p/P07-261204-001?k=9393e0ae7d72"]
        page.get_by_role("link", name="返回台账").click()
        page.get_by_text("○ 未连接乡镇 · 待上传 1 条").wait_for()

        # 更正: a wrong digit of the phone, and a material forgotten at the counter
        _case(page, "P07-261204-001").get_by_role("button", name="更正").click()
        page.locator("#a-phone").fill("13800001112")
        page.locator("#a-materials-box").get_by_label("收入证明").check()
        page.locator("#action-ok").click()
        page.locator("#action-dialog").wait_for(state="hidden")
        first = _case(page, "P07-261204-001").inner_text()
        assert "13800001112" in first and "材料：身份证、户口簿、收入证明" in first
        assert "未收" not in first
        page.get_by_text("○ 未连接乡镇 · 待上传 2 条").wait_for()

        _record(page, "李梅", "0571-8888888", "医疗", "城乡居民医疗保险参保登记", ["身份证"])
        page.get_by_text("已登记，件号").wait_for()
        page.get_by_role("button", name="登记下一件").click()
        _record(page, "赵六", "13900002222", "", "残疾人证申领",
                ["身份证", "户口簿", "近期免冠照片 2 张"])
        page.get_by_text("P07-261204-003").first.wait_for()

        # 撤回 on the second: asked for a reason first
        _case(page, "P07-261204-002").get_by_role("button", name="撤回").click()
        page.locator("#action-ok").click()
        page.get_by_text("请填写撤回原因").wait_for()
        page.locator("#a-reason").fill("群众决定自己去乡镇办理")
        _shot(page, "3-withdraw-dialog-1366")
        page.locator("#action-ok").click()
        page.locator("#action-dialog").wait_for(state="hidden")
        assert _case(page, "P07-261204-002").count() == 0   # no longer 在办
        page.locator(".filter[data-filter=all]").click()
        assert "已撤回" in _case(page, "P07-261204-002").inner_text()
        page.locator(".filter[data-filter=open]").click()

        # the third withdrawn elsewhere meanwhile (another page): this page's 撤回 is refused
        _case(page, "P07-261204-003").get_by_role("button", name="撤回").click()
        page.locator("#a-reason").fill("重复登记")
        other = point.hello()
        assert other.request("withdraw", case="P07-261204-003", reason="重复登记")["ok"]
        page.locator("#action-ok").click()
        page.get_by_text("操作未生效：该件已办结或已撤回").wait_for()
        page.locator("#action-cancel").click()
        assert _case(page, "P07-261204-003").count() == 0   # the other page's withdrawal came

        page.get_by_role("button", name="登记下一件").click()
        _record(page, "钱七", "13700003333", "高龄", "高龄津贴申请", ["身份证", "银行卡复印件"])
        page.get_by_text("P07-261204-004").first.wait_for()
        page.get_by_role("button", name="登记下一件").click()
        page.locator("#item-search").fill("建房")
        page.get_by_role("radio", name="农村建房申请").click()
        _shot(page, "4-form-1366")
        assert point.stop() == 0
    finally:
        context.close()

    # The town's answers, as the sync stores them (the server stopped): case 1 received and a
    # 补正 asked; case 2 received before the town saw its withdrawal (the withdrawal crossed it)
    store = PointStore(point.url)
    store.receive([
        L.Entry(1, "2026-12-07T10:00:00+08:00", 2, L.TownReceived("P07-261204-001", 2, "孙丽")),
        L.Entry(2, "2026-12-07T10:05:00+08:00", 3, L.TownReceived("P07-261204-002", 2, "孙丽")),
        L.Entry(3, "2026-12-07T11:00:00+08:00", 3,
                L.TownAsked("P07-261204-001", "请补交户口簿首页复印件", "孙丽"))])
    store.engine.dispose()

    point.start("2026-12-09T09:00")   # Wednesday: case 4's deadline is tomorrow
    context = browser.new_context(**PC)
    page = context.new_page()
    try:
        page.goto(f"{point.http}/point/")
        page.get_by_text("○ 未连接乡镇 · 待上传 7 条").wait_for()
        fourth = _case(page, "P07-261204-004")
        assert "！ 临近送达期限（应于12月10日前送达乡镇）" in fourth.inner_text()
        assert "case yellow" in fourth.get_attribute("class")
        second = _case(page, "P07-261204-002")
        assert "送达乡镇" in second.inner_text() and "✖ 撤回未生效：乡镇已接收" in second.inner_text()
        first = _case(page, "P07-261204-001")
        assert "乡镇要求补正：请补交户口簿首页复印件" in first.inner_text()
        assert page.locator("#counts").inner_text() == "在办 3 件，共 4 件；临近送达期限 1 件"
        _shot(page, "5-list-1366")
        first.get_by_role("button", name="补交材料").click()
        page.locator("#a-materials").fill("户口簿首页复印件")
        page.locator("#action-ok").click()
        page.locator("#action-dialog").wait_for(state="hidden")
        assert "乡镇要求补正" not in _case(page, "P07-261204-001").inner_text()
    finally:
        context.close()
    for size, name in ((SMALL_PC, "1024"), (PHONE, "phone")):
        context = browser.new_context(**size)
        page = context.new_page()
        page.goto(f"{point.http}/point/")
        _case(page, "P07-261204-004").wait_for()
        _shot(page, f"6-list-{name}", full_page=size is PHONE)   # a phone scrolls
        page.goto(f"{point.http}/point/receipt/P07-261204-004")
        _shot(page, f"7-receipt-{name}")
        context.close()
    assert point.stop() == 0

    store = PointStore(point.url)   # the town finished case 1 after the material came
    store.receive([L.Entry(4, "2026-12-10T15:00:00+08:00", store.last()[0],
                           L.TownFinished("P07-261204-001", "done", "已批准，按月发放", "孙丽"))])
    store.engine.dispose()
    point.start("2026-12-11T09:00")   # Friday: past the deadline
    context = browser.new_context(**SMALL_PC)
    page = context.new_page()
    try:
        page.goto(f"{point.http}/point/")
        fourth = _case(page, "P07-261204-004")
        fourth.wait_for()
        assert "⚠ 已超送达期限（应于12月10日前送达乡镇）" in fourth.inner_text()
        assert page.locator("#cases li.case").first.get_attribute("data-case") == "P07-261204-004"
        assert page.locator("#counts").inner_text() == "在办 3 件，共 4 件；已超送达期限 1 件"
        first = _case(page, "P07-261204-001")
        assert "已办结：准予办理" in first.inner_text() and "办理结果：准予办理，已批准，按月发放" in first.inner_text()
        _shot(page, "8-late-1024")

        # the result told to the citizen, the case filed, then the call-back
        first.get_by_role("button", name="已反馈群众").click()
        page.locator("#a-note").fill("已电话告知")
        page.locator("#action-ok").click()
        page.locator("#action-dialog").wait_for(state="hidden")
        _case(page, "P07-261204-001").get_by_role("button", name="归档").click()
        page.locator("#action-ok").click()
        page.locator("#action-dialog").wait_for(state="hidden")
        assert _case(page, "P07-261204-001").count() == 0   # filed: no longer 在办
        page.locator(".filter[data-filter=all]").click()
        _case(page, "P07-261204-001").get_by_role("button", name="回访").click()
        page.locator("#action-ok").click()
        page.get_by_text("请选择回访结果").wait_for()
        page.get_by_label("满意", exact=True).check()
        page.locator("#action-ok").click()
        page.locator("#action-dialog").wait_for(state="hidden")
        first = _case(page, "P07-261204-001").inner_text()
        assert "回访：满意" in first and "已反馈群众" not in first
        page.get_by_text("○ 未连接乡镇 · 待上传 11 条").wait_for()
    finally:
        context.close()
        point.stop()
