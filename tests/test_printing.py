"""The kiosk's printing, end to end on real bytes: layouts are encoded to ESC/POS, the bytes are
drawn back by our renderer, and what a citizen would read (text, QR codes, cuts) is checked on
the result; printers are emulated over a pseudo-terminal and a local TCP socket."""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
import select
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyzbar.pyzbar import decode as zbar_decode

from kiosk.printing import (
    PrinterFault,
    PrinterProfile,
    checklist_layout,
    encode,
    parse_printer_spec,
    print_checklist,
    print_test,
    print_ticket,
    printer_status,
    render,
    render_file,
    sample,
    ticket_layout,
)
from kiosk.printing.blocks import Text, paper_for, text_of
from kiosk.printing.encoder import bitmap_lines
from kiosk.printing.faults import Status, assess
from kiosk.printing.glyphs import draw_line
from kiosk.printing.render import Rendering
from kiosk.printing.textwidth import NO_LINE_START, display_width, wrap, wrap_even

ARTIFACTS = Path(__file__).parent / "artifacts" / "printing"
PAPERS = (58, 80)


def keep(rendering: Rendering, tmp_path: Path, name: str) -> Path:
    """Save the picture under the test's temp dir and copy it to tests/artifacts/printing/."""
    path = rendering.save(tmp_path / name)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, ARTIFACTS / name)
    return path


def qr_in(rendering: Rendering) -> list[str]:
    """QR codes a phone would find in the picture."""
    return [d.data.decode("utf-8") for d in zbar_decode(rendering.image)]


def roundtrip(blocks, profile: PrinterProfile) -> tuple[bytes, Rendering]:
    data = encode(blocks, profile)
    return data, render(data, profile.dots, profile.charset)


def joined(rendering: Rendering) -> str:
    """All printed text with the printer's line breaks and the layout's indents removed."""
    return "".join(t.strip() for t in rendering.texts)


# --- text width and wrapping ----------------------------------------------------------------------

def test_width_counts_what_the_printer_prints():
    assert display_width("A013") == 4
    assert display_width("社会保障") == 8
    assert display_width("：·—①") == 8          # multi-byte in GB18030: Hanzi cells


@pytest.mark.parametrize("cols", [8, 16, 22, 32, 48])
def test_wrap_fits_keeps_words_and_loses_nothing(cols):
    text = ("住宅类不动产登记费 80 元/件（含第一本证书工本费），每增加一本证书加收工本费 10 元；"
            "咨询电话 0000-6281001，网址 http://192.168.1.10:8765/guide/QS-SB-001。")
    lines = wrap(text, cols, indent=2)
    assert all(display_width(line) <= cols for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert all(line.strip()[0] not in NO_LINE_START for line in lines[1:])
    if cols >= 16:
        assert any("0000-6281001" in line for line in lines)      # a phone number stays whole


def test_even_wrap_leaves_no_orphan():
    lines = wrap_even("社会保障（劳动保障）窗口", 22)
    assert len(lines) == 2 and display_width(lines[-1]) >= 8


# --- layouts ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("paper", PAPERS)
def test_layout_lines_fit_and_fixed_words_are_gb2312(paper):
    p = paper_for(paper)
    for blocks in (ticket_layout(sample.TICKET, sample.HALL, paper, sample.ITEM),
                   checklist_layout(sample.ITEM, sample.HALL, sample.GUIDE_URL, paper)):
        assert all(b.fits(p) for b in blocks if isinstance(b, Text))
        # Our own words print as text even on GB2312-only firmware.
        assert bitmap_lines(blocks, PrinterProfile(paper, "gb2312")) == []


@pytest.mark.parametrize("paper", PAPERS)
def test_ticket_reads_back(paper, tmp_path):
    profile = PrinterProfile(paper)
    blocks = ticket_layout(sample.TICKET, sample.HALL, paper, sample.ITEM)
    data, r = roundtrip(blocks, profile)
    keep(r, tmp_path, f"ticket-{paper}mm.png")

    assert data.startswith(b"\x1b@\x1c&")                  # ESC @, then FS & (Chinese mode)
    assert "社会保障（办理）".encode("gb18030") in data
    assert r.texts == text_of(blocks, profile.paper_spec)   # exactly what the layout meant
    assert r.unknown == [] and not r.overflow
    number = next(line for line in r.lines if line.text == "A013")
    assert (number.width, number.height, number.bold) == (4, 4, True)
    text = joined(r)
    for expected in ("青山镇便民服务中心", "您的排队号码", "社会保障（办理）",
                     "城乡居民基本养老保险参保登记", "【老年人优先】",
                     "办理窗口：1 号窗口（一楼 A区）", "社会保障（劳动保障）窗口",
                     "8 号窗口（一楼 B区）", "综合受理窗口", "前面等候：2 人",
                     "取号时间：2026-11-23 09:16", "咨询电话：0000-6281001",
                     "投诉电话：0000-6281110", "请留意叫号，过号请重新取号", "查询码：483920"):
        assert expected in text, expected
    assert "不便扫码时，打开http://192.168.1.10:8765/q输入号码和查询码" in "".join(text.split())
    assert r.qr_codes == [sample.TICKET["url"]]
    assert qr_in(r) == [sample.TICKET["url"]]
    assert r.cuts == 1


@pytest.mark.parametrize("paper", PAPERS)
def test_a_checked_in_bookings_ticket_prints_its_mark_and_slot(paper, tmp_path):
    """【预约】 at double size under the service and the slot's start beside its label; the QR
    still read; a walk-in's ticket has neither."""
    profile = PrinterProfile(paper)
    booked = {**sample.TICKET, "priority": "normal", "booked": True,
              "slot_at": "2026-11-23T09:30:00+08:00"}
    blocks = ticket_layout(booked, sample.HALL, paper, sample.ITEM)
    _, r = roundtrip(blocks, profile)
    keep(r, tmp_path, f"ticket-booked-{paper}mm.png")
    mark = next(line for line in r.lines if line.text.strip() == "【预约】")
    assert (mark.width, mark.height, mark.bold) == (2, 2, True)
    assert "预约时间：2026-11-23 09:30" in joined(r)
    assert r.texts == text_of(blocks, profile.paper_spec) and not r.overflow
    assert qr_in(r) == [sample.TICKET["url"]]
    _, walk_in = roundtrip(ticket_layout({**booked, "booked": False}, sample.HALL, paper,
                                         sample.ITEM), profile)
    assert "预约" not in joined(walk_in)


@pytest.mark.parametrize("paper", PAPERS)
def test_a_batch_tickets_slip_prints_its_cases_and_point(paper, tmp_path):
    """代办送件 (docs/points.md): 【代办 N 件】 at double size, the point's name and each case's
    number, all read back from the bytes; the QR still read by zbar."""
    profile = PrinterProfile(paper)
    cases = ["P07-261207-001", "P07-261207-002", "P07-261208-001"]
    errand = {**sample.TICKET, "priority": "normal", "kind": "errand", "point": "P07",
              "point_name": "李庄村便民服务站", "cases": cases}
    blocks = ticket_layout(errand, sample.HALL, paper)
    _, r = roundtrip(blocks, profile)
    keep(r, tmp_path, f"ticket-errand-{paper}mm.png")
    mark = next(line for line in r.lines if line.text.strip() == "【代办 3 件】")
    assert (mark.width, mark.height, mark.bold) == (2, 2, True)
    texts = [t.strip() for t in r.texts]
    assert "李庄村便民服务站" in texts and "送件件号：" in texts
    assert [t for t in texts if t.startswith("P07-")] == cases
    assert r.texts == text_of(blocks, profile.paper_spec) and not r.overflow
    assert qr_in(r) == [sample.TICKET["url"]]


@pytest.mark.parametrize("paper", PAPERS)
def test_checklist_reads_back(paper, tmp_path):
    profile = PrinterProfile(paper)
    blocks = checklist_layout(sample.ITEM, sample.HALL, sample.GUIDE_URL, paper)
    _, r = roundtrip(blocks, profile)
    keep(r, tmp_path, f"checklist-{paper}mm.png")

    assert r.texts == text_of(blocks, profile.paper_spec)
    assert r.unknown == [] and not r.overflow
    text = joined(r)
    for expected in ("一次性告知单", "事项名称：城乡居民基本养老保险参保登记",
                     "办理部门：社会保障服务所", "申请材料（共 5 项）：",
                     "1. 参保人居民身份证或社会保障卡", "原件 1 份；核验后退还",
                     "2. 居民户口簿", "原件及复印件各 1 份", "5. 近期一寸免冠彩色照片",
                     "原件 2 份", "承诺时限：即办，当场办结", "法定时限：5 个工作日",
                     "收费标准：不收费", "1 号窗口（一楼 A区）", "咨询电话：0000-6281021"):
        assert expected in text, expected
    assert qr_in(r) == [sample.GUIDE_URL]
    assert r.cuts == 1


def _crowded() -> tuple[dict, dict, dict]:
    """Everything as long as a real hall file allows."""
    hall = copy.deepcopy(sample.HALL)
    hall["name"] = "云岭省青溪县人民政府政务服务中心青山镇分中心便民服务大厅"
    hall["address"] = "云岭省青溪县青山镇人民路 18 号青山镇人民政府综合办公楼东侧附属楼一至三层"
    windows = [{"window": n, "name": f"不动产登记与自然资源规划建设综合受理第{n}窗口",
                "department": "sb", "zone": f"东侧综合业务{n}区", "floor": "三楼北侧大厅",
                "categories": ["A"]} for n in range(1, 11)]
    hall["windows"] = windows
    hall["categories"][0]["windows"] = [w["window"] for w in windows]
    ticket = copy.deepcopy(sample.TICKET)
    ticket["category_name"] = "不动产登记与自然资源规划建设综合业务"
    ticket["number"] = "ZX123"
    ticket["windows"] = [{"window": w["window"], "name": w["name"],
                          "location": f"{w['floor']} {w['zone']}"} for w in windows]
    ticket["url"] = "http://192.168.100.200:8765/t/20261123ZX123-" + "q3MhT5kLp0aZ" * 4
    item = copy.deepcopy(sample.ITEM)
    item["name"] = ("农村集体经济组织成员宅基地使用权及房屋所有权首次登记（含因继承、分家析产、"
                    "赠与等原因申请的转移登记和变更登记）")
    item["materials"] = [{"name": f"第{i}项：申请人及共有人（含代理人）的居民身份证、户口簿、"
                                  f"婚姻状况证明等身份材料（No.{i:02d}）",
                          "form": ("original", "copy", "original_and_copy")[i % 3],
                          "copies": i, "notes": "核验后退还原件，复印件须由申请人签字并注明"
                                                "“与原件一致”，加盖村（社区）公章"}
                         for i in range(1, 21)]
    item["fee"] = sample.ITEM["fee"] + "；" + "住宅类不动产登记费 80 元/件（含第一本证书工本费）" * 2
    item["fee_basis"] = "《国家发展改革委 财政部关于不动产登记收费标准等有关问题的通知》（发改价格规〔2016〕2559号）"
    item["statutory_days"], item["promised_days"] = 30, 10
    return hall, ticket, item


@pytest.mark.parametrize("paper", PAPERS)
def test_long_content_never_overflows(paper, tmp_path):
    hall, ticket, item = _crowded()
    profile = PrinterProfile(paper)
    p = profile.paper_spec
    for name, blocks in (("ticket", ticket_layout(ticket, hall, paper, item)),
                         ("checklist", checklist_layout(item, hall, ticket["url"], paper))):
        assert all(b.fits(p) for b in blocks if isinstance(b, Text))
        _, r = roundtrip(blocks, profile)
        keep(r, tmp_path, f"{name}-crowded-{paper}mm.png")
        assert not r.overflow and r.unknown == []
        assert r.texts == text_of(blocks, p)
        assert qr_in(r) == [ticket["url"]]
        text = joined(r)
        assert "".join(item["name"].split()) in text.replace(" ", "") or name == "ticket"
    assert "20. 第20项" in joined(r)
    assert "1、2、3、4、5、6、7、8、9、10 号窗口" in joined(render(encode(
        ticket_layout(ticket, hall, paper, item), profile), profile.dots))


def test_ticket_and_checklist_variants():
    consult = {**sample.TICKET, "kind": "consult", "priority": "normal", "ahead": 0, "url": ""}
    texts = text_of(ticket_layout(consult, sample.HALL, 80), paper_for(80))
    assert "社会保障（咨询）" in texts and "前面等候：0 人，请留意叫号" in texts
    assert not any("优先" in t or "扫码" in t for t in texts)
    from datetime import datetime

    item = {**sample.ITEM, "materials": [], "promised_days": 3, "statutory_days": 20,
            "fee": "工本费 20 元/本", "fee_basis": "《某省收费标准》", "phone": ""}
    texts = text_of(checklist_layout(item, sample.HALL, "", 58, datetime(2026, 11, 23, 9, 20)),
                    paper_for(58))
    for expected in ("申请材料：无需提交材料", "承诺时限：3 个工作日", "法定时限：20 个工作日",
                     "收费标准：工本费 20 元/本", "收费依据：《某省收费标准》",
                     "咨询电话：0000-6281001", "打印时间：2026-11-23 09:20"):
        assert expected in texts, expected


def test_a_long_number_shrinks_to_fit():
    blocks = ticket_layout({**sample.TICKET, "number": "ZXCV12345"}, sample.HALL, 58)
    number = next(b for b in blocks if isinstance(b, Text) and b.text == "ZXCV12345")
    assert number.width == 3 and number.fits(paper_for(58))


# --- charsets and bitmap lines ------------------------------------------------------------------

@pytest.mark.parametrize(("charset", "rare", "as_bitmap"), [
    ("gb2312", "喆", True), ("gbk", "喆", False), ("gb18030", "喆", False),
    ("gbk", "𠀀", True), ("gb18030", "𠀀", False),
])
def test_a_character_the_charset_lacks_prints_as_a_bitmap(charset, rare, as_bitmap, tmp_path):
    item = copy.deepcopy(sample.ITEM)
    item["materials"][3]["name"] = f"代办人王{rare}的居民身份证"
    profile = PrinterProfile(80, charset)
    blocks = checklist_layout(item, sample.HALL, sample.GUIDE_URL, 80)
    data, r = roundtrip(blocks, profile)
    line = next(b for b in blocks if isinstance(b, Text) and rare in b.text)
    meant = text_of(blocks, profile.paper_spec)
    assert r.unknown == [] and not r.overflow
    if not as_bitmap:
        assert line.text.encode(charset) in data
        assert r.texts == meant
        return
    keep(r, tmp_path, f"checklist-{charset}-bitmap.png")
    assert bitmap_lines(blocks, profile) == [line]
    assert r.texts == [t for t in meant if t != line.text]       # every other line is text
    assert len(r.rasters) == 1
    raster = r.rasters[0]
    # It sits where the line belongs: after the line before it, before the line after it.
    before, after = meant[meant.index(line.text) - 1], meant[meant.index(line.text) + 1]
    y_of = {t.text: t.y for t in r.lines}
    assert y_of[before] < raster.y < y_of[after]
    # It is the line drawn with Noto Sans SC, dot for dot, left-aligned like the text.
    drawn = draw_line(line.text, line.width, line.height, line.bold)
    assert raster.image.crop((0, 0, drawn.width, drawn.height)).tobytes() == drawn.tobytes()
    assert raster.image.getbbox() is not None


# --- QR as an image, cutter ----------------------------------------------------------------------

@pytest.mark.parametrize("paper", PAPERS)
def test_qr_as_an_image_still_decodes(paper, tmp_path):
    profile = PrinterProfile(paper, native_qr=False)
    data, r = roundtrip(ticket_layout(sample.TICKET, sample.HALL, paper), profile)
    keep(r, tmp_path, f"ticket-imageqr-{paper}mm.png")
    assert b"\x1d(k" not in data and b"\x1dv0" in data
    assert r.qr_codes == [] and len(r.rasters) == 1
    assert qr_in(r) == [sample.TICKET["url"]]
    assert not r.overflow


@pytest.mark.parametrize("cutter", [True, False])
def test_cut_only_with_a_cutter(cutter):
    profile = PrinterProfile(58, cutter=cutter)
    data, r = roundtrip(ticket_layout(sample.TICKET, sample.HALL, 58), profile)
    assert (b"\x1dV" in data) is cutter
    assert r.cuts == (1 if cutter else 0)


# --- the renderer on its own ----------------------------------------------------------------------

def test_renderer_skips_what_it_does_not_draw_and_reports_unknown_commands():
    data = (b"\x1b@\x1c&" + b"\x1bt\x00" + b"\x1dB\x00" + b"\x1b\x99" + "号码".encode("gb18030")
            + b"\n" + b"\x1dk\x04A001\x00" + b"\x10\x04\x01" + b"\x1d!\x11" + b"A001\n"
            + b"\x1c.\x82\n" + b"\x1dv0\x00\xff")
    r = render(data, 384)
    assert r.texts == ["号码", "A001", "é"]
    assert r.lines[1].width == 2 and r.lines[1].height == 2
    assert any("ESC 0x99" in u for u in r.unknown)
    assert any("ends inside a command" in u for u in r.unknown)
    assert any("barcode" in i for i in r.ignored)


def test_renderer_marks_and_wraps_an_overflowing_line():
    r = render(b"\x1b@\x1c&\x1d!\x11" + "青山镇便民服务中心".encode("gb18030") + b"\n", 384)
    assert r.overflow and r.lines[0].dots == 9 * 48
    assert r.image.height > 2 * 48                 # the printer wraps it onto two rows


def test_render_file_and_print_test_to_a_file(tmp_path):
    out = print_test(f"file:{tmp_path / 't.bin'}", 58, "gb2312")
    assert out.status == "ok" and not out.checked and out.bytes_sent > 0
    r = render_file(tmp_path / "t.bin", tmp_path / "t.png", 58, "gb2312")
    assert (tmp_path / "t.png").exists()
    assert "A013" in r.texts and r.qr_codes == [sample.TICKET["url"]]


def test_preview_printer_writes_a_png(tmp_path):
    folder = tmp_path / "prints"
    out = print_checklist(f"preview:{folder}", sample.ITEM, sample.HALL, sample.GUIDE_URL,
                          PrinterProfile(58, native_qr=False))
    assert out.preview is not None and out.preview.parent == folder
    assert out.preview.suffix == ".png" and "checklist-QS-SB-001" in out.preview.name
    from PIL import Image

    with Image.open(out.preview) as image:
        assert [d.data.decode() for d in zbar_decode(image)] == [sample.GUIDE_URL]


# --- printer specs and status rules ---------------------------------------------------------------

def test_printer_specs():
    s = parse_printer_spec("usb:0416:5011")
    assert (s.kind, s.vid, s.pid) == ("usb", 0x0416, 0x5011)
    s = parse_printer_spec("serial:/dev/ttyUSB0:115200")
    assert (s.kind, s.target, s.number, s.status) == ("serial", "/dev/ttyUSB0", 115200, True)
    assert parse_printer_spec("serial:/dev/ttyS0").number == 9600
    assert parse_printer_spec("net:192.168.1.50").number == 9100
    s = parse_printer_spec("net:[fe80::1]:9101?status=off&timeout=2")
    assert (s.target, s.number, s.status, s.timeout) == ("fe80::1", 9101, False, 2.0)
    assert parse_printer_spec("file:/tmp/t.bin").target == "/tmp/t.bin"
    assert parse_printer_spec("preview:/tmp/prints").kind == "preview"
    for bad in ("lp0", "usb:xyz:1", "net:", "ftp:x", "serial:/dev/ttyS0?colour=red"):
        with pytest.raises(ValueError, match="打印机设置"):
            parse_printer_spec(bad)
    with pytest.raises(PrinterFault) as caught:
        print_test("usb:nope")
    assert caught.value.kind == "error" and "设置有误" in caught.value.message


@pytest.mark.parametrize(("replies", "kind", "words"), [
    ({1: 0x12, 4: 0x12}, "ok", ""),
    ({1: 0x12, 4: 0x1E}, "paper_low", "即将用完"),
    ({1: 0x12, 4: 0x72}, "paper_out", "缺纸"),
    ({1: 0x1A, 2: 0x32, 4: 0x72}, "paper_out", "缺纸"),
    ({1: 0x1A, 2: 0x16, 4: 0x12}, "offline", "盖"),
    ({1: 0x1A, 2: 0x52, 3: 0x1A, 4: 0x12}, "error", "切刀"),
    ({1: 0x1A, 2: 0x12, 4: 0x12}, "offline", "未连接"),
    ({}, "offline", "没有响应"),
])
def test_status_rules(replies, kind, words):
    def ask(n):
        return replies.get(n)
    if kind in ("ok", "paper_low"):
        status = assess(ask)
        assert status == Status(kind, status.message) and words in status.message
    else:
        with pytest.raises(PrinterFault) as caught:
            assess(ask)
        assert caught.value.kind == kind and words in caught.value.message


# --- emulated printers ----------------------------------------------------------------------------

class StatusAnswers:
    """The printer side of DLE EOT: collects what it is sent and answers each DLE EOT n with
    `replies[n]` (no answer if missing)."""

    def __init__(self, replies: dict[int, int]) -> None:
        self.replies = replies
        self.received = bytearray()
        self.scanned = 0
        self.queries: list[int] = []
        self.arrived = threading.Condition()

    def wait_for(self, size: int) -> None:
        """Until `size` bytes arrived: a job written without a status query after it may still
        be on its way through the pseudo-terminal when the print call returns."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= size, timeout=10)

    def feed(self, chunk: bytes) -> bytes:
        with self.arrived:
            self.received += chunk
            self.arrived.notify_all()
        out = bytearray()
        while (i := self.received.find(b"\x10\x04", self.scanned)) != -1 and i + 2 < len(self.received):
            n = self.received[i + 2]
            self.queries.append(n)
            if n in self.replies:
                out.append(self.replies[n])
            self.scanned = i + 3
        return bytes(out)

    def job(self) -> bytes:
        """What was sent besides the status queries."""
        return bytes(self.received).replace(b"\x10\x04\x01", b"").replace(b"\x10\x04\x04", b"")


class PtyPrinter:
    """A serial printer on a pseudo-terminal: the kiosk opens `path`, we answer on the master."""

    def __init__(self, replies: dict[int, int], vanish_on_query: bool = False) -> None:
        self.answers = StatusAnswers(replies)
        self.vanish_on_query = vanish_on_query
        self.master, self.slave = os.openpty()
        self.path = os.ttyname(self.slave)
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.stopping:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            reply = self.answers.feed(chunk)
            if self.answers.queries and self.vanish_on_query:
                self.close()
                return
            if reply:
                os.write(self.master, reply)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def stop(self) -> None:
        self.stopping = True
        self.thread.join(timeout=5)
        if not self.vanish_on_query:
            self.close()


@pytest.fixture
def pty_printer() -> Iterator:
    made: list[PtyPrinter] = []

    def make(replies: dict[int, int], **kw) -> PtyPrinter:
        made.append(PtyPrinter(replies, **kw))
        return made[-1]

    yield make
    for printer in made:
        printer.stop()


def test_serial_printer_prints_a_ticket(pty_printer):
    fake = pty_printer({1: 0x12, 4: 0x12})
    profile = PrinterProfile(58)
    out = print_ticket(f"serial:{fake.path}:115200", sample.TICKET, sample.HALL, profile)
    assert (out.status, out.checked) == ("ok", True)
    assert fake.answers.queries == [1, 4, 1, 4]            # before the job and after it
    job = fake.answers.job()
    assert job == encode(ticket_layout(sample.TICKET, sample.HALL, 58), profile)
    assert "A013" in render(job, profile.dots).texts


def test_serial_printer_without_paper_raises_paper_out_and_prints_nothing(pty_printer):
    fake = pty_printer({1: 0x12, 4: 0x72})
    with pytest.raises(PrinterFault) as caught:
        print_ticket(f"serial:{fake.path}", sample.TICKET, sample.HALL, PrinterProfile(58))
    assert caught.value.kind == "paper_out"
    assert caught.value.message == "打印机缺纸，请联系工作人员加纸"
    assert fake.answers.job() == b""                       # the ticket was not swallowed


def test_serial_printer_with_little_paper_prints_and_warns(pty_printer):
    fake = pty_printer({1: 0x12, 4: 0x1E})
    out = print_ticket(f"serial:{fake.path}", sample.TICKET, sample.HALL, PrinterProfile(80))
    assert out.status == "paper_low" and "即将用完" in out.message
    assert out.warning is not None and out.warning.kind == "paper_low"
    assert "A013" in render(fake.answers.job(), 576).texts


def test_a_vanished_serial_device_is_offline(pty_printer, tmp_path):
    with pytest.raises(PrinterFault) as caught:
        print_test(f"serial:{tmp_path / 'ttyUSB9'}")
    assert caught.value.kind == "offline" and "未连接" in caught.value.message
    fake = pty_printer({1: 0x12, 4: 0x12}, vanish_on_query=True)   # unplugged mid-job
    with pytest.raises(PrinterFault) as caught:
        print_test(f"serial:{fake.path}?timeout=0.2")
    assert caught.value.kind == "offline"
    assert printer_status(f"serial:{tmp_path / 'ttyUSB9'}")[0] == "offline"


def test_printer_status_says_ok_only_when_the_printer_answered(pty_printer, tmp_path):
    """A healthy printer that answers DLE EOT is `ok`; a line that cannot be asked (a file, a
    preview folder) tells nothing, so the kiosk reports nothing for it at start."""
    fake = pty_printer({1: 0x12, 4: 0x12})
    assert printer_status(f"serial:{fake.path}:115200") == ("ok", "")
    assert printer_status(f"file:{tmp_path / 'out.bin'}") == ("", "")
    assert printer_status(f"preview:{tmp_path / 'prints'}") == ("", "")


def test_a_silent_serial_printer_is_offline_unless_status_is_off(pty_printer):
    fake = pty_printer({})
    with pytest.raises(PrinterFault) as caught:
        print_test(f"serial:{fake.path}?timeout=0.2")
    assert caught.value.kind == "offline" and "没有响应" in caught.value.message
    fake.answers.wait_for(3)                                 # the unanswered DLE EOT 1
    before = len(fake.answers.received)
    out = print_test(f"serial:{fake.path}?status=off")
    assert out.status == "ok" and not out.checked
    fake.answers.wait_for(before + out.bytes_sent)
    assert b"A013" in fake.answers.job()


class TcpPrinter:
    """A network printer on 127.0.0.1: raw TCP, answering DLE EOT like the pty one."""

    def __init__(self, replies: dict[int, int]) -> None:
        self.answers = StatusAnswers(replies)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            while chunk := conn.recv(4096):
                reply = self.answers.feed(chunk)
                if reply:
                    conn.sendall(reply)

    def stop(self) -> None:
        self.server.close()
        self.thread.join(timeout=5)


def test_network_printer(tmp_path):
    fake = TcpPrinter({1: 0x12, 4: 0x12})
    try:
        out = print_test(f"net:127.0.0.1:{fake.port}", 80)
    finally:
        fake.stop()
    assert out.status == "ok" and out.checked
    assert "A013" in render(fake.answers.job(), 576).texts
    fake = TcpPrinter({1: 0x12, 4: 0x72})
    try:
        with pytest.raises(PrinterFault) as caught:
            print_test(f"net:127.0.0.1:{fake.port}")
    finally:
        fake.stop()
    assert caught.value.kind == "paper_out"
    with pytest.raises(PrinterFault) as caught:
        print_test(f"net:127.0.0.1:{fake.port}")            # nobody listens any more
    assert caught.value.kind == "offline"


@pytest.mark.parametrize("paper", [58, 80])
def test_the_checklist_never_parts_a_number_from_its_unit_and_prints_no_nbsp(paper):
    """The slip wraps by itself with the kiosk's rule (`hall.guide.no_break`): no printed line
    ends with a number whose unit begins the next (近 6 | 个月, 2 | 号窗口); the no-break spaces
    that hold them go out as plain spaces, never as GB18030's four bytes for U+00A0."""
    import re

    item = copy.deepcopy(sample.ITEM)
    item["materials"] = [{"name": "证明" + "材" * k, "form": "copy", "copies": 2,
                          "notes": "料" * k + "近 6 个月的银行流水，到 2 号窗口领表"}
                         for k in range(24)]
    blocks = checklist_layout(item, sample.HALL, sample.GUIDE_URL, paper)
    lines = text_of(blocks, paper_for(paper))
    assert sum("近 6 个月" in line for line in lines) >= 12       # joined ones print whole
    for above, below in itertools.pairwise(lines):
        assert not (re.search(r"\d\s*$", above) and re.match(r"\s*[份号个张项]", below)), \
            (above, below)
    assert not any("\u00a0" in line for line in lines)
    data, _ = roundtrip(blocks, PrinterProfile(paper, "gb18030"))
    assert "\u00a0".encode("gb18030") not in data
