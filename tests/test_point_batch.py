"""The 代办 batch ticket (issue 18 point 3, docs/points.md 送件): an agent brings several cases of a
village point to the town and takes one ticket at the kiosk for all of them; the window sees
every case of the batch. The town is a real hall server (`queue-server serve` on 127.0.0.1 with
a real SQLite file), the point a PointStore with the real PointLink."""

from __future__ import annotations

import asyncio
import os
import threading
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from pyzbar.pyzbar import decode as zbar_decode

from queue_server.points import batch
from queue_server.points import ledger as L
from queue_server.store import devices
from tests.conftest import ARTIFACTS
from tests.live_hall import LiveHall
from tests.point_link import HALL, POINT, Point, Town, enrol, in_sync, running, until

ITEM = "T-SB-001"   # the small hall's one item, of category A


@pytest.fixture
def town(tmp_path):
    live = LiveHall(tmp_path, "--take-limit", "0")   # the refusals' test tries many codes
    yield live
    assert live.stop() == 0


def _case(point: Point, item: str = ITEM, name: str = "张三") -> str:
    taken = point.fold()
    case = L.case_number(point.code, point.clock().date(), taken)
    point.write(L.CaseRecorded(case, name, "13800001111", item, "城乡居民基本养老保险参保登记",
                               ("居民身份证",), "李四"))
    return case


def _synced(point: Point, town_db: Town) -> None:
    async def sync() -> None:
        point.hub.wake = asyncio.Event()   # of this loop (a test may sync more than once)
        async with running(point.link()):
            await until(lambda: in_sync(point, town_db), "the cases at the town")
    asyncio.run(sync())


# --- the batch code ------------------------------------------------------------------------


def test_a_batch_code_goes_and_comes_back_and_a_damaged_one_is_refused_in_chinese() -> None:
    made = batch.Batch("T03", "P07", ("P07-261207-001", "P07-261207-002", "P07-261208-001"))
    code = batch.encode(made)
    assert code.startswith("DBJB1:T03:P07:261207-001,261207-002,261208-001:")
    assert batch.decode(code) == made and batch.decode(f"  {code}\r\n") == made
    changed = code.replace("261207-002", "261207-003")
    with pytest.raises(batch.BadBatch, match="不完整或已损坏"):
        batch.decode(changed)
    with pytest.raises(batch.BadBatch, match="不是代办交接单"):
        batch.decode("DBJ1-abc-12345678")
    with pytest.raises(ValueError, match="不是代办点 P07 的件号"):
        batch.encode(batch.Batch("T03", "P07", ("P08-261207-001",)))
    twice = "DBJB1:T03:P07:261207-001,261207-001"
    with pytest.raises(batch.BadBatch, match="重复"):
        batch.decode(f"{twice}:{batch._check(twice)}")
    many = "DBJB1:T03:P07:" + ",".join(f"261207-{n:03d}" for n in range(1, batch.MAX_CASES + 2))
    with pytest.raises(batch.BadBatch, match=f"最多 {batch.MAX_CASES} 件"):
        batch.decode(f"{many}:{batch._check(many)}")


def test_a_batch_queues_in_the_category_serving_most_of_its_items() -> None:
    def case(item: str) -> L.Case:
        return L.Case(f"P07-261207-{item}", "张三", "13800001111", item, item, (), "李四", "", "")
    items = {"a1": "A", "a2": "A", "b1": "B", "b2": "B"}
    assert batch.category_for([case("b1"), case("a1"), case("b2")], items, ["A", "B"]) == "B"
    assert batch.category_for([case("b1"), case("a1")], items, ["A", "B"]) == "A"   # hall order
    assert batch.category_for([case("b1"), case("gone")], items, ["A", "B"]) == "B"
    with pytest.raises(batch.BadBatch, match="都不办理"):
        batch.category_for([case("gone")], items, ["A", "B"])


# --- at the town ---------------------------------------------------------------------------


def test_a_scanned_list_takes_one_errand_ticket_that_the_window_sees_whole(town, tmp_path) -> None:
    point, town_db = Point(tmp_path, enrol(town)), Town(town)
    cases = [_case(point, name=n) for n in ("张三", "李四", "王五")]
    _case(point, name="赵六")   # recorded, not on this list
    _synced(point, town_db)
    kiosk = town.hello("kiosk", f"/h/{HALL}")
    code = batch.encode(batch.Batch(HALL, POINT, tuple(cases)))
    reply = kiosk.request("take_batch", code=code)
    assert reply["ok"], reply
    ticket = reply["ticket"]
    assert ticket["kind"] == "errand" and ticket["category"] == "A" and ticket["number"] == "A001"
    assert ticket["point"] == POINT and ticket["cases"] == cases
    assert ticket["point_name"] == "李庄村便民服务站"
    assert [c["case"] for c in reply["cases"]] == cases

    clerk = town.hello("clerk", f"/h/{HALL}", badge="1001", pin="1111")
    assert clerk.request("sign_in", window=1, post="A")["ok"]
    called = clerk.request("call_next")
    assert called["ok"], called
    assert called["ticket"]["kind_text"] == "代办" and called["ticket"]["cases"] == cases
    assert called["ticket"]["point"] == POINT


def test_a_batch_is_refused_in_chinese_unless_its_cases_wait_at_the_town(town, tmp_path) -> None:
    point, town_db = Point(tmp_path, enrol(town)), Town(town)
    first, second, third = _case(point), _case(point), _case(point)
    point.write(L.CaseWithdrawn(third, "群众不办了"))
    _synced(point, town_db)
    town_db.write(L.TownReceived(second, 1, "张敏（1001）"))
    late = _case(point)   # recorded after the sync: the town has not heard of it
    kiosk = town.hello("kiosk", f"/h/{HALL}")

    def refused(*cases: str, hall: str = HALL) -> dict:
        reply = kiosk.request("take_batch", code=batch.encode(batch.Batch(hall, POINT, cases)))
        assert not reply.get("ok"), reply
        return reply["error"]

    late_error = refused(first, late)
    assert late_error["message"] == f"这些件尚未同步到乡镇，请代办点先联网同步：{late}"
    assert refused(first, second)["message"] == f"已送达的件不能重复送件：{second}"
    assert refused(third)["message"] == f"这些件已撤回，不能送件：{third}"
    assert "不是交给本中心的" in refused(first, hall="T99")["message"]
    damaged = batch.encode(batch.Batch(HALL, POINT, (first,)))[:-1] + "Z"
    error = kiosk.request("take_batch", code=damaged)["error"]
    assert error["code"] == "bad_request" and "不完整或已损坏" in error["message"]
    error = kiosk.request("take_batch", code="P99")["error"]
    assert error["code"] == "not_found" and "没有编号为 P99 的代办点" in error["message"]
    # the point's code typed: every case the town holds at 已受理 (not the one it has not heard of)
    reply = kiosk.request("take_batch", code=POINT.lower())
    assert reply["ok"] and reply["ticket"]["cases"] == [first], reply
    error = kiosk.request("take_batch", code=POINT)["error"]   # its one case is in that ticket
    assert error["code"] == "conflict" and "没有待送的件" in error["message"]
    scanned = kiosk.request("take_batch", code=batch.encode(batch.Batch(HALL, POINT, (first,))))
    assert "已在送件号 A001 中" in scanned["error"]["message"]


def test_two_kiosks_scanning_one_list_at_once_give_one_ticket(town, tmp_path) -> None:
    point, town_db = Point(tmp_path, enrol(town)), Town(town)
    cases = (_case(point), _case(point))
    _synced(point, town_db)
    with town_db.engine.begin() as conn:
        other = devices.add_device(conn, town_db.hall_id, "kiosk", "kiosk-2", None, {1, 2, 3, 4},
                                   datetime.now(UTC))
    kiosks = [town.hello("kiosk", f"/h/{HALL}"), town.hello("kiosk", f"/h/{HALL}", token=other)]
    code = batch.encode(batch.Batch(HALL, POINT, cases))
    replies: list[dict] = [{}, {}]
    start = threading.Barrier(2)

    def take(n: int) -> None:
        start.wait()
        replies[n] = kiosks[n].request("take_batch", code=code)

    threads = [threading.Thread(target=take, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = [r for r in replies if r.get("ok")]
    refused = [r for r in replies if not r.get("ok")]
    assert len(taken) == 1 and len(refused) == 1, replies
    assert refused[0]["error"]["code"] == "conflict"
    assert "已在送件号 A001 中，请等候叫号" in refused[0]["error"]["message"]

    # once that ticket ends with the cases not received, they may come again
    clerk = town.hello("clerk", f"/h/{HALL}", badge="1001", pin="1111")
    assert clerk.request("sign_in", window=1, post="A")["ok"]
    assert clerk.request("call_next")["ticket"]["number"] == "A001"
    assert clerk.request("finish", outcome="incomplete")["ok"]
    again = kiosks[1].request("take_batch", code=code)
    assert again["ok"] and again["ticket"]["number"] == "A002", again


# --- at the window: the console's panel of the batch (chromium) ------------------------------


def test_the_window_receives_a_batch_case_by_case_and_all_at_once(town, tmp_path) -> None:
    from tests.browser import chromium
    from tests.test_clerk_console import console_page

    point, town_db = Point(tmp_path, enrol(town)), Town(town)
    cases = [_case(point, name=n) for n in ("张三", "李四", "王五")]
    _synced(point, town_db)
    kiosk = town.hello("kiosk", f"/h/{HALL}")
    assert kiosk.request("take_batch", code=batch.encode(batch.Batch(HALL, POINT, tuple(cases))))["ok"]
    with chromium() as browser, console_page(browser, town) as console:
        page = console.page
        console.log_in("1001", "1111")
        console.choose(1, "A")
        console.button("呼叫下一位").click()
        panel = page.locator("#batch-panel")
        expect(panel.locator("h3")).to_have_text(f"代办送件 · 李庄村便民服务站（{POINT}） · 代办员 李四 · 共 3 件")
        rows = panel.locator("tbody tr")
        expect(rows).to_have_count(3)
        expect(rows.nth(1)).to_contain_text(cases[1])
        expect(rows.nth(1)).to_contain_text("李四 13800001111")
        expect(rows.nth(1)).to_contain_text("居民身份证")
        console.shot("batch-01-called")
        # the page does not scroll; a batch longer than the card scrolls within it
        assert page.evaluate("() => document.documentElement.scrollHeight <= innerHeight")
        console.assert_readable()
        rows.nth(0).get_by_role("button", name="接收").click()
        expect(rows.nth(0)).to_contain_text("已送达乡镇")
        expect(page.locator("#batch-note")).to_have_text("未接收 2 件：核对材料后点“接收”")
        # 办结 with cases not received asks first
        console.button("办结").click()
        expect(page.locator("#confirm-text")).to_contain_text("还有 2 件未接收")
        console.shot("batch-02-finish-asks")
        page.locator("#confirm-dialog button[value=cancel]").click()
        page.get_by_role("button", name="全部接收（2 件）").click()
        expect(page.locator("#batch-note")).to_have_text("本次送来的件已全部接收")
        expect(panel.get_by_role("button", name="接收")).to_have_count(0)
        console.shot("batch-03-all-received")
        console.button("办结").click()
        expect(page.locator("#finish-dialog")).to_be_visible()
        assert console.errors == []
    held = town_db.fold()
    assert [held[c].stage for c in cases] == ["delivered"] * 3
    assert {held[c].window for c in cases} == {1} and held[cases[0]].clerk == "张敏（1001）"


# --- at the kiosk: 代办送件 with the scanner (kivy, offscreen) --------------------------------


def test_the_kiosk_takes_a_batch_ticket_from_a_scanned_list(window, town, tmp_path) -> None:
    """代办送件 on home (the hall has a point); the 交接单's QR read by the scanner on a serial
    line (a pty): the ticket on screen with the point and the count, and its slip printed with
    【代办 N 件】; the same list again is refused in the server's words."""
    from hall.pty_port import PtyPort
    from hall.widgets import BigButton
    from kiosk.scanner import Scanner
    from tests.kivy_driving import frames, tap, texts, widgets
    from tests.kivy_driving import until as settled
    from tests.test_kiosk_check_in import file_printer, printed
    from tests.test_kiosk_ui import run_kiosk, shoot

    point, town_db = Point(tmp_path, enrol(town)), Town(town)
    cases = (_case(point), _case(point, name="李四"))
    left = _case(point, name="王五")   # not on the list: brought by typing the point's code
    _synced(point, town_db)
    code = batch.encode(batch.Batch(HALL, POINT, cases))
    port = PtyPort(link=tmp_path / "scanner")
    port.open()
    scanner = Scanner(port.path, retry_seconds=0.1)
    slip, first_slip = tmp_path / "slip.bin", tmp_path / "first-slip.bin"

    async def scenario(shell, app):
        await settled(lambda: shell.model.scanner and shell.model.scanner[0])
        await frames(3)
        await shoot(app, "portrait-49-home-with-batch")
        await tap(widgets(app.root, BigButton, "代办送件")[0])
        assert app.screen == "batch"
        assert "代办员送件：请把交接单上的二维码对准扫码器" in texts(app.root)
        await shoot(app, "portrait-50-batch-scan")
        os.write(port.master, f"{code}\r\n".encode())
        await settled(lambda: app.screen == "ticket")
        assert "李庄村便民服务站 · 本次送件 2 件" in texts(app.root)
        assert "A001" in texts(app.root)
        await settled(lambda: slip.exists() and slip.stat().st_size > 0)
        first_slip.write_bytes(slip.read_bytes())   # the printer's file is written anew each time
        slip.unlink()
        await frames(3)
        await shoot(app, "portrait-51-batch-ticket")
        await tap(widgets(app.root, BigButton, "完成，返回首页")[0])
        os.write(port.master, f"{code}\r\n".encode())   # the same list again, on home
        await settled(lambda: app.screen == "batch" and app.batch_said)
        assert "已在送件号 A001 中" in app.batch_said
        await frames(3)
        await shoot(app, "portrait-52-batch-refused")
        # no list: the point's code typed (a slip put right by 删除), every case left waiting
        for label in ("P", "X", "删除", "0", "7"):
            await tap(widgets(app.root, BigButton, label)[0])
        assert app.point_code == POINT and app.batch_said == ""
        await frames(3)
        await shoot(app, "portrait-53-batch-typed")
        await tap(widgets(app.root, BigButton, "确认送件")[0])
        await settled(lambda: app.screen == "ticket")
        assert "李庄村便民服务站 · 本次送件 1 件" in texts(app.root) and "A002" in texts(app.root)
        await settled(lambda: slip.exists() and slip.stat().st_size > 0)

    try:
        run_kiosk(window, town, tmp_path, (1080, 1920), scenario, scanner=scanner,
                  printer=file_printer(slip))
    finally:
        port.close()
    for name, path, mark, numbers in (("batch-ticket", first_slip, "【代办 2 件】", list(cases)),
                                      ("batch-ticket-typed", slip, "【代办 1 件】", [left])):
        rendering = printed(path, name)
        lines = [t.strip() for t in rendering.texts]
        assert mark in lines and "李庄村便民服务站" in lines
        assert [t for t in lines if t.startswith(f"{POINT}-")] == numbers
        [url] = [d.data.decode() for d in zbar_decode(rendering.image)]
        assert "/t/" in url


def test_the_kiosk_offers_no_batch_where_the_hall_has_no_points(window, town, tmp_path) -> None:
    from hall.widgets import BigButton
    from tests.kivy_driving import widgets
    from tests.test_kiosk_ui import run_kiosk

    async def scenario(shell, app):
        assert shell.model.points is False
        assert widgets(app.root, BigButton, "代办送件") == []

    run_kiosk(window, town, tmp_path, (1080, 1920), scenario)


# --- at the point: the 交接单 (chromium) --------------------------------------------------------


def test_the_point_prints_a_handover_list_whose_qr_is_the_batch(tmp_path) -> None:
    """打印交接单 on /point: the cases not yet delivered (a withdrawn one is not), the point, the
    day, the agent, each case's number, item, citizen and materials, and a QR that zbar reads as
    the batch code of the cases ticked; one unticked, the list and its QR follow. A4 as printed."""
    import io

    from PIL import Image

    from tests.browser import chromium
    from tests.live_point import LivePoint

    point = LivePoint(tmp_path)
    point.start()   # Friday 2026-12-04 09:00
    agent = point.hello()
    made = [agent.request("record", name=n, phone="13800001111", item=i, materials=["身份证"],
                          agent="王芳")["case"]["case"] for n, i in
            (("张三", "X1"), ("李四", "X2"), ("王五", "X4"), ("赵六", "X1"))]
    assert agent.request("withdraw", case=made[3], reason="群众不办了")["ok"]
    shots = ARTIFACTS / "point"
    shots.mkdir(parents=True, exist_ok=True)

    def qr_of(page) -> list[str]:
        image = Image.open(io.BytesIO(page.locator("#qr svg").screenshot()))
        return [d.data.decode() for d in zbar_decode(image)]

    try:
        with chromium() as browser:
            context = browser.new_context(viewport={"width": 1366, "height": 768})
            page = context.new_page()
            page.goto(f"{point.http}/")
            page.get_by_text("○ 未连接乡镇").wait_for()
            with context.expect_page() as opened:
                page.get_by_role("link", name="打印交接单").click()
            sheet = opened.value
            sheet.locator("#count").wait_for()
            text = sheet.locator(".handover").inner_text()
            for words in ("代办点：李庄村便民服务站", "送往：城关镇便民服务中心", "2026年12月4日",
                          "代办员：王芳", "最低生活保障申请", "城乡居民医疗保险参保登记", "张三"):
                assert words in text, words
            assert made[3] not in text and sheet.locator("#count").inner_text() == "3"
            [code] = qr_of(sheet)
            assert batch.decode(code) == batch.Batch("T03", "P07", tuple(made[:3]))
            sheet.screenshot(path=shots / "8-handover-1366.png", full_page=True)
            sheet.get_by_label(f"{made[1]} 李四", exact=False).uncheck()
            sheet.get_by_role("button", name="更新交接单").click()
            sheet.wait_for_url("**case=*")
            assert sheet.locator("#count").inner_text() == "2"
            [code] = qr_of(sheet)
            assert batch.decode(code).cases == (made[0], made[2])
            sheet.emulate_media(media="print")   # A4 (210 mm at 96 dpi), the buttons hidden
            sheet.set_viewport_size({"width": 794, "height": 1123})
            assert sheet.get_by_role("button", name="打印交接单").is_hidden()
            sheet.screenshot(path=shots / "8-handover-print-a4.png")
            context.close()
    finally:
        assert point.stop() == 0
