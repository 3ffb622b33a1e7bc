"""LED window strips: QLink framing, text for the strips, what they show, the vendor example
codec, and the driver against emulated strips on real pseudo-terminals.

No wall-clock gates: the driver tests wait for a state with a generous limit that only
guards against a hang.
"""

from __future__ import annotations

import asyncio
import functools
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from display_board.led import (
    Ack,
    Clear,
    GetInfo,
    Imm9012Codec,
    InfoReply,
    Nak,
    NoReply,
    Ping,
    PortError,
    QLinkCodec,
    SerialBus,
    SetBrightness,
    Show,
    StripConfig,
    StripDriver,
    TextSpec,
    Unsupported,
    compose,
    fit_text,
    text_width,
)
from display_board.led.emulator import EmulatedStrip, StripEmulator
from display_board.led.imm9012 import Imm9012Parser, encode_text, spread, unspread, xor
from hall import qlink
from hall.qlink import (
    Cmd,
    DeviceInfo,
    Frame,
    FrameError,
    FrameParser,
    NakReason,
    crc16_modbus,
    decode_frame,
    encode_frame,
)

DOC = Path(__file__).resolve().parent.parent / "docs" / "led-protocol.md"
HANG = 10.0          # seconds; only a guard against hanging, never a performance gate


# --- framing --------------------------------------------------------------------------------

def documented_examples() -> dict[str, tuple[str, bytes]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| `([a-z0-9-]+)` \| .* \| (0x[0-9A-F]{4}|–) \| `([0-9A-F ]+)` \|$", line)
        if m:
            rows[m.group(1)] = (m.group(2), bytes.fromhex(m.group(3)))
    return rows


def encoded_examples() -> dict[str, bytes]:
    codec = QLinkCodec()
    return {
        "ping": codec.encode(3, 0x01, Ping()),
        "ack-fresh": encode_frame(Frame(3, Cmd.ACK, 0x01, qlink.ack_payload(Cmd.PING, qlink.STATE_FRESH))),
        "show-call": codec.encode(3, 0x02, Show(("3号窗口", "请A012"), flash_s=5)),
        "ack-show": encode_frame(Frame(3, Cmd.ACK, 0x02, qlink.ack_payload(Cmd.SHOW, 0))),
        "show-paused": codec.encode(3, 0x03, Show(("3号窗口", "暂停服务"))),
        "show-gb18030": codec.encode(12, 0x04, Show(("12号窗口", "王喆")), "gb18030"),
        "nak-text": encode_frame(Frame(12, Cmd.NAK, 0x04, bytes((NakReason.BAD_TEXT,)))),
        "info": codec.encode(3, 0x05, GetInfo()),
        "info-reply": encode_frame(Frame(3, Cmd.INFO_REPLY, 0x05, qlink.info_payload(
            DeviceInfo("gb2312", 2, 64, 16, qlink.CAP_FLASH | qlink.CAP_BRIGHTNESS, "QL-64x32")))),
        "brightness-all": codec.encode(qlink.BROADCAST, 0x06, SetBrightness(8)),
        "clear": codec.encode(5, 0x07, Clear()),
        "imm9012-call": Imm9012Codec().encode(3, 0, Show(("请A012",))),
    }


def test_the_documented_example_frames_are_what_the_encoders_make():
    documented = documented_examples()
    encoded = encoded_examples()
    assert set(documented) == set(encoded)
    for name, (crc, data) in documented.items():
        assert encoded[name] == data, name
        if crc != "–":
            assert int(crc, 16) == crc16_modbus(data[2:-2]) == int.from_bytes(data[-2:], "little"), name
            assert decode_frame(data) == decode_frame(encoded[name])


def test_crc16_modbus_check_value_and_byte_order():
    assert crc16_modbus(b"123456789") == 0x4B37
    frame = encode_frame(Frame(3, Cmd.PING, 1))
    assert frame == bytes.fromhex("AA55 0302 0100 A030")


def test_documented_replies_decode_to_what_they_say():
    examples = documented_examples()
    parser = QLinkCodec().parser()
    replies = parser.feed(b"".join(examples[name][1] for name in ("ack-fresh", "ack-show", "nak-text",
                                                                  "info-reply")))
    assert replies == [
        Ack(3, 1, Cmd.PING, fresh=True),
        Ack(3, 2, Cmd.SHOW, fresh=False),
        Nak(12, 4, NakReason.BAD_TEXT),
        InfoReply(3, 5, DeviceInfo("gb2312", 2, 64, 16, 0x09, "QL-64x32")),
    ]
    assert replies[2].message == "文字不符合显示屏字库"
    show = qlink.parse_show(decode_frame(examples["show-call"][1]).payload)
    assert [line.decode("gb2312") for line in show.lines()] == ["3号窗口", "请A012"]
    assert (show.line, show.effect, show.seconds) == (0, qlink.Effect.FLASH, 5)


def test_frames_up_to_240_bytes_of_payload_round_trip_and_no_longer():
    for size in (0, 1, 17, 240):
        frame = Frame(0xEF, Cmd.SHOW, 0xFF, bytes(range(256))[:size])
        data = encode_frame(frame)
        assert len(data) == 8 + size
        assert decode_frame(data) == frame
    with pytest.raises(FrameError):
        encode_frame(Frame(1, Cmd.SHOW, 0, bytes(241)))
    with pytest.raises(FrameError):
        encode_frame(Frame(256, Cmd.SHOW, 0))


def test_decode_frame_refuses_what_is_not_one_good_frame():
    good = encode_frame(Frame(3, Cmd.PING, 9))
    for bad in (good[:-1], good + b"\x00", b"\x55" + good[1:], good[:-1] + bytes((good[-1] ^ 1,)),
                bytes.fromhex("AA55 0302 01F1") + bytes(243), b""):
        with pytest.raises(FrameError):
            decode_frame(bad)


def test_the_parser_takes_frames_byte_by_byte_and_skips_garbage():
    frames = [Frame(3, Cmd.PING, 1), Frame(4, Cmd.SHOW, 2, b"\x00\x00\x00\x00ABC"), Frame(5, Cmd.ACK, 3, b"\x02\x00")]
    stream = b"\x00\xffnoise\xaa" + encode_frame(frames[0]) + b"\xaa\xaa\x55" + encode_frame(frames[1]) \
        + b"\x55\xaa" + encode_frame(frames[2]) + b"\xaa"
    parser = FrameParser()
    out = []
    for i in range(len(stream)):
        out += parser.feed(stream[i:i + 1])
    assert out == frames
    assert parser.pending == 1            # the trailing AA might begin a preamble
    assert parser.skipped_bytes > 0


def test_the_parser_resyncs_after_a_corrupt_frame_and_a_bad_length():
    a, b = encode_frame(Frame(3, Cmd.PING, 1)), encode_frame(Frame(4, Cmd.PING, 2))
    corrupt = bytearray(encode_frame(Frame(7, Cmd.SHOW, 5, b"\x00\x00\x00\x00" + "请A012".encode("gb2312"))))
    corrupt[12] ^= 0x40
    too_long = bytes.fromhex("AA55 0310 01F5")            # length 245 > 240
    parser = FrameParser()
    assert parser.feed(too_long + bytes(corrupt) + a + b) == [Frame(3, Cmd.PING, 1), Frame(4, Cmd.PING, 2)]
    assert parser.crc_errors == 1 and parser.length_errors == 1


def test_a_frame_starting_inside_a_truncated_one_is_found():
    cut = encode_frame(Frame(9, Cmd.SHOW, 1, bytes(30)))[:15]          # the rest never came
    good = encode_frame(Frame(3, Cmd.PING, 2))
    parser = FrameParser()
    assert parser.feed(cut + good) == []         # held up: the cut frame's length is not reached
    assert parser.timeout() == [Frame(3, Cmd.PING, 2)]     # the line went quiet
    assert parser.pending == 0


frames_strategy = st.builds(Frame, st.integers(0, 255), st.integers(0, 255), st.integers(0, 255),
                            st.binary(max_size=40))


@given(st.lists(st.tuples(st.binary(max_size=12), frames_strategy), max_size=6), st.binary(max_size=12),
       st.integers(1, 9))
@settings(max_examples=300, deadline=None)
def test_parser_finds_every_frame_among_any_garbage(pieces, tail, chunk):
    stream = b"".join(garbage + encode_frame(frame) for garbage, frame in pieces) + tail
    parser = FrameParser()
    found = []
    for i in range(0, len(stream), chunk):
        found += parser.feed(stream[i:i + chunk])
    found += parser.timeout()
    it = iter(found)                          # every frame sent is found, in order
    assert all(any(f == frame for f in it) for _, frame in pieces)


def test_show_payload_limits():
    with pytest.raises(qlink.PayloadError) as info:
        qlink.show_payload(qlink.ShowPayload(bytes(237)[:0] + b"x" * 237))
    assert info.value.reason == NakReason.BAD_LENGTH
    assert len(qlink.show_payload(qlink.ShowPayload(b"x" * 236))) == 240
    with pytest.raises(qlink.PayloadError):
        qlink.parse_show(b"\x01\x00\x00\x00a\nb")          # two lines sent to one line
    with pytest.raises(qlink.PayloadError):
        qlink.parse_show(b"\x00\x07\x00\x00a")             # no effect 7


# --- text -----------------------------------------------------------------------------------

def test_gb2312_text_is_sent_as_is_and_measured_in_dots():
    spec = TextSpec("gb2312", 64, 16)
    line = fit_text("3号窗口", spec)
    assert (line.text, line.data, line.width, line.replaced, line.truncated) == (
        "3号窗口", "3号窗口".encode("gb2312"), 56, (), False)
    assert text_width("请A012", spec) == 48
    assert text_width("欢迎光临", spec) == 64


def test_a_character_outside_the_charset_shows_as_a_box_and_is_reported():
    line = fit_text("王喆", TextSpec("gb2312", 64))
    assert line.text == "王□" and line.data == "王□".encode("gb2312") and line.replaced == ("喆",)
    assert fit_text("王喆", TextSpec("gb18030", 64)).text == "王喆"           # GB18030 has it
    rare = fit_text("𠀀喆𠀀", TextSpec("gbk", 128))                           # outside GBK
    assert rare.text == "□喆□" and rare.replaced == ("𠀀",)
    assert fit_text("𠀀", TextSpec("gb18030", 64)).data == "𠀀".encode("gb18030")   # four bytes
    assert fit_text("𠀀", TextSpec("gb18030", 64)).width == 16


def test_odd_input_never_raises():
    line = fit_text("a\ud800b\u200b\tc\x00", TextSpec("gb2312", 200))
    assert line.text == "a□b c" and line.replaced == ("\ud800",)
    assert fit_text("", TextSpec()).data == b""


def test_look_alikes_keep_the_glyph_on_gb2312():
    assert fit_text("—·〇", TextSpec("gb2312", 200)).data == bytes.fromhex("A1AA A1A4 A1F0")
    assert fit_text("—·〇", TextSpec("gb2312", 200)).replaced == ()


def test_full_width_letters_fold_but_chinese_punctuation_stays():
    assert fit_text("请Ａ０１２（午休）", TextSpec("gb2312", 200)).text == "请A012（午休）"
    assert fit_text("A012 x", TextSpec("gb2312", 200, ascii_fullwidth=True)).text == "Ａ０１２　ｘ"
    assert text_width("A012", TextSpec("gb2312", 200, ascii_fullwidth=True)) == 64


def test_a_line_is_cut_at_the_width_never_inside_a_character():
    line = fit_text("请A0123456789", TextSpec("gb2312", 64))
    assert (line.text, line.width, line.truncated) == ("请A01234", 64, True)
    line = fit_text("A暂停服务", TextSpec("gb2312", 60))
    assert (line.text, line.width, line.truncated) == ("A暂停服", 56, True)


@given(st.text(max_size=40), st.sampled_from(["gb2312", "gbk", "gb18030"]), st.integers(8, 200),
       st.booleans())
@settings(max_examples=300, deadline=None)
def test_any_text_fits_and_encodes(text, charset, width, fullwidth):
    spec = TextSpec(charset, width, 16, fullwidth)
    line = fit_text(text, spec)
    assert line.width <= width
    assert line.data == line.text.encode(charset)
    assert b"\x00" not in line.data and b"\n" not in line.data


# --- what a strip shows ---------------------------------------------------------------------

def view(status="open", current=None, reason=None, window=3):
    return {"window": window, "name": "社会保障窗口", "status": status, "status_text": "办理中",
            "reason": reason, "clerk": {"name": "张敏", "badge": "1001", "photo": "", "post": "A"},
            "current": current}


def test_two_line_strip_texts():
    strip = StripConfig(address=3)
    assert compose(view(current="A012"), strip).lines == ("3号窗口", "请A012")
    assert compose(view(), strip).lines == ("3号窗口", "欢迎光临")
    assert compose(view(status="paused", reason="午休"), strip).lines == ("3号窗口", "暂停服务")
    assert compose(view(status="closed"), strip).lines == ("3号窗口", "未开放")
    assert compose(view(status="whatever"), strip).lines == ("3号窗口", "未开放")
    wide = StripConfig(address=3, width_dots=128)
    assert compose(view(status="paused", reason="午休"), wide).lines == ("3号窗口", "暂停服务（午休）")
    assert compose(view(status="paused", reason="系统升级维护中"), wide).lines == ("3号窗口", "暂停服务")


def test_strip_configuration_changes_the_texts():
    strip = StripConfig(address=21, window=7, idle_text="综合业务", call_format="{number}", label="七号窗口")
    assert compose(view(window=7), strip).lines == ("七号窗口", "综合业务")
    assert compose(view(window=7, current="B003"), strip).lines == ("七号窗口", "B003")


def test_one_and_three_line_strips():
    one = StripConfig(address=3, lines=1, width_dots=128)
    assert compose(view(current="A012"), one).lines == ("3号窗口 请A012",)
    assert compose(view(), one).lines == ("3号窗口 欢迎光临",)
    assert compose(view(status="paused", reason="午休"), one).lines == ("3号窗口 暂停服务",)
    assert compose(view(status="closed"), one).lines == ("3号窗口 未开放",)
    narrow = StripConfig(address=3, lines=1, width_dots=64)
    assert compose(view(current="A012"), narrow).lines == ("请A012",)
    assert compose(view(), narrow).lines == ("3号窗口",)
    assert compose(view(status="paused"), narrow).lines == ("暂停服务",)
    three = StripConfig(address=3, lines=3, width_dots=96)
    assert compose(view(status="paused", reason="午休"), three).lines == ("3号窗口", "暂停服务", "午休")
    assert compose(view(current="A012"), three).lines == ("3号窗口", "请A012", "")


def test_a_just_called_ticket_flashes_for_the_seconds_left():
    strip = StripConfig(address=3, flash_seconds=5)
    call = {"number": "A012", "window": 3, "window_name": "社会保障窗口", "category": "A", "recall": 0}
    assert compose(view(current="A012"), strip, call, 0.0).flash_s == 5
    assert compose(view(current="A012"), strip, call, 3.2).flash_s == 2
    assert compose(view(current="A012"), strip, call, 5.0).flash_s == 0
    assert compose(view(current="A013"), strip, call, 0.0).flash_s == 0       # another ticket now
    assert compose(view(current="A012"), strip).flash_s == 0


def test_a_missing_glyph_in_the_content_is_reported_in_chinese():
    content = compose(view(), StripConfig(address=3, idle_text="喆哲欢迎"))
    assert content.lines == ("3号窗口", "□哲欢迎") and content.replaced == ("喆",)
    assert content.warning == "显示屏字库缺字“喆”，已显示为□"
    cut = compose(view(), StripConfig(address=3, idle_text="欢迎光临指导工作"))
    assert cut.lines[1] == "欢迎光临" and cut.warning == "文字超出屏宽，已截断"


def test_strip_config_is_checked():
    for bad in ({"address": 0}, {"address": 240}, {"address": 3, "charset": "big5"},
                {"address": 3, "call_format": "请"}, {"address": 3, "brightness": 16}, {"address": 3, "lines": 0}):
        with pytest.raises(ValueError):
            StripConfig(**bad)


# --- the example vendor codec ---------------------------------------------------------------

def test_imm9012_golden_bytes_by_hand():
    data = bytes.fromhex("C7EB00 4100 3000 3100 3200")            # 请 A 0 1 2, each followed by 00
    body = bytes.fromhex("03 A5 000B") + data
    expected = bytes.fromhex("A090") + body + bytes((functools.reduce(lambda a, b: a ^ b, body),))
    assert encode_text(3, "请A012") == expected
    assert expected[-1] == 0xF3


def test_imm9012_codec_joins_lines_and_refuses_what_the_strip_lacks():
    codec = Imm9012Codec()
    assert codec.encode(7, 0, Show(("7号窗口", "请A012"), flash_s=5)) == encode_text(7, "7号窗口 请A012")
    assert codec.encode(7, 0, Clear()) == bytes.fromhex("A090 07A5 0000 A2")
    for command in (Ping(), GetInfo(), SetBrightness(3)):
        with pytest.raises(Unsupported):
            codec.encode(7, 0, command)
    assert not codec.answers and codec.parser().feed(b"anything") == []
    with pytest.raises(ValueError):
        spread("𠀀")                                   # four bytes: not GBK


def test_imm9012_strip_side_parser_checks_the_xor_and_resyncs():
    good = encode_text(3, "暂停服务")
    bad = bytearray(encode_text(4, "请A012"))
    bad[-1] ^= 1
    parser = Imm9012Parser()
    frames = parser.feed(b"\x00\xa0" + bytes(bad) + good[:5])
    frames += parser.feed(good[5:])
    assert [(f.address, f.text) for f in frames] == [(3, "暂停服务")]
    assert parser.check_errors == 1
    assert unspread(spread("A请")) == "A请" and xor(b"\x01\x02") == 3


# --- the strip emulator's firmware ----------------------------------------------------------

def test_emulated_strip_answers_like_the_document_says():
    strip = EmulatedStrip(3)
    def ask(command, payload=b""):
        return strip.execute(Frame(3, command, 1, payload))
    assert ask(Cmd.PING) == Frame(3, Cmd.ACK, 1, bytes((Cmd.PING, qlink.STATE_FRESH)))
    show = qlink.show_payload(qlink.ShowPayload("3号窗口\n请A012".encode("gb2312"), effect=1, seconds=5))
    assert ask(Cmd.SHOW, show).command == Cmd.ACK and strip.shown == ("3号窗口", "请A012")
    assert ask(Cmd.SHOW, show).command == Cmd.ACK                  # a retry: done again, counted once
    assert (strip.shows, strip.repeats) == (1, 1)
    assert ask(Cmd.PING).payload == bytes((Cmd.PING, 0))          # no longer fresh
    assert ask(Cmd.SHOW, qlink.show_payload(qlink.ShowPayload(b"x", line=2))).command == Cmd.ACK
    assert strip.shown == ("3号窗口", "x")
    naks = {
        NakReason.UNKNOWN_COMMAND: ask(0x7E),
        NakReason.BAD_LENGTH: ask(Cmd.BRIGHTNESS, b""),
        NakReason.BAD_ARGUMENT: ask(Cmd.BRIGHTNESS, b"\x10"),
        NakReason.BAD_TEXT: ask(Cmd.SHOW, b"\x00\x00\x00\x00\x86\xb4"),        # 喆 in GBK
    }
    for reason, reply in naks.items():
        assert reply == Frame(3, Cmd.NAK, 1, bytes((reason,)))
    assert ask(Cmd.SHOW, qlink.show_payload(qlink.ShowPayload(b"a\nb\nc"))).payload == bytes((NakReason.BAD_ARGUMENT,))
    assert qlink.parse_info(ask(Cmd.INFO).payload).charset == "gb2312"
    strip.reboot()
    assert strip.shown == () and ask(Cmd.PING).payload[1] == qlink.STATE_FRESH


# --- SerialBus over a pty -------------------------------------------------------------------

def fast_bus(path: str, **kw) -> SerialBus:
    return SerialBus(path, QLinkCodec(), reply_timeout=0.1, gap=0.002, **kw)


def test_bus_talks_to_several_strips_and_the_emulator_checks_every_frame():
    with StripEmulator([3, 4, EmulatedStrip(5, charset="gb18030")]) as emu:
        bus = fast_bus(emu.path)
        bus.open()
        try:
            assert isinstance(bus.transact(3, Ping()), Ack)
            assert bus.transact(4, Show(("4号窗口", "请B001"))) == Ack(4, 2, Cmd.SHOW, False)
            assert bus.transact(5, Show(("5号窗口", "王喆")), "gb18030").command == Cmd.SHOW
            info = bus.transact(3, GetInfo())
            assert isinstance(info, InfoReply) and info.info.model == "QLINK-EMU"
            bus.send(qlink.BROADCAST, SetBrightness(4))
            assert emu.wait_for(lambda: all(s.brightness == 4 for s in emu.strips.values()), HANG)
        finally:
            bus.close()
        assert emu.shown(4) == ("4号窗口", "请B001") and emu.shown(5) == ("5号窗口", "王喆")
        assert emu.crc_errors == 0
        assert [f.address for f in emu.requests] == [3, 4, 5, 3, 0xFF]
        assert [f.seq for f in emu.requests] == [1, 2, 3, 4, 5]


def test_bus_retries_a_corrupt_reply_and_a_busy_strip_with_the_same_seq():
    with StripEmulator([3]) as emu:
        bus = fast_bus(emu.path)
        bus.open()
        emu.strip(3).corrupt_replies = 1        # a NAK BUSY that arrives broken (reads as silence),
        emu.strip(3).busy_replies = 2           # then a good NAK BUSY, then the ACK
        try:
            assert bus.transact(3, Show(("3号窗口", "请A001"))).command == Cmd.SHOW
        finally:
            bus.close()
        assert bus.stats["retries"] == 2 and bus.stats["naks"] == 1 and bus.stats["timeouts"] == 1
        assert {f.seq for f in emu.requests} == {1} and len(emu.requests) == 3
        assert emu.crc_errors == 0            # the frames it got were fine; its replies were not


def test_bus_gives_up_on_a_silent_strip_after_four_tries():
    with StripEmulator([3]) as emu:
        emu.strip(3).silent = True
        bus = fast_bus(emu.path, retries=3)
        bus.open()
        try:
            with pytest.raises(NoReply) as info:
                bus.transact(3, Show(("3号窗口",)))
            assert info.value.attempts == 4
            with pytest.raises(NoReply):
                bus.transact(9, Ping(), retries=0)          # nobody at 9
        finally:
            bus.close()
        assert len(emu.requests) == 5


def test_bus_ignores_its_own_echo():
    bus = SerialBus("loop://", QLinkCodec(), reply_timeout=0.05)   # loop:// hands our bytes back
    bus.open()
    try:
        with pytest.raises(NoReply):
            bus.transact(3, Ping(), retries=1)
    finally:
        bus.close()
    assert bus.stats["stray"] == 0


def test_a_missing_port_is_a_port_error_in_chinese(tmp_path):
    bus = fast_bus(str(tmp_path / "ttyUSB9"))
    with pytest.raises(PortError, match="不存在"):
        bus.open()
    assert not bus.is_open


def test_a_vanished_port_is_a_port_error_and_the_bus_closes():
    emu = StripEmulator([3])
    bus = fast_bus(emu.path)
    bus.open()
    assert isinstance(bus.transact(3, Ping()), Ack)
    emu.unplug()
    with pytest.raises(PortError, match="已断开"):
        bus.transact(3, Ping())
    assert not bus.is_open


# --- StripDriver against emulated strips ----------------------------------------------------

FAST = {"reply_timeout": 0.1, "gap": 0.002, "poll_interval": 0.05, "offline_poll_interval": 0.1,
        "offline_after": 2, "reopen_backoff": (0.02, 0.1)}


async def until(predicate, what: str = "", timeout: float = HANG) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"still waiting after {timeout} s: {what}")
        await asyncio.sleep(0.01)


def run_driver(driver: StripDriver, scenario) -> None:
    async def main():
        task = asyncio.create_task(driver.run())
        try:
            await scenario()
        finally:
            driver.stop()
            await asyncio.wait_for(task, HANG)
    asyncio.run(main())


def online(driver, address):
    return driver.status()[address].online


def test_driver_shows_each_window_on_its_strip_and_polls_them():
    with StripEmulator([3, 4, 5]) as emu:
        changes = []
        driver = StripDriver(emu.path, [StripConfig(3), StripConfig(4), StripConfig(5, idle_text="综合业务")],
                             on_status=lambda address, status: changes.append((address, status)), **FAST)

        async def scenario():
            assert set(driver.status().values()) == {(False, "正在连接")}
            driver.update([view(current="A012", window=3), view(status="paused", window=4), view(window=5)])
            driver.show(view(window=99))                     # no strip for it: ignored
            await until(lambda: emu.shown(3) == ("3号窗口", "请A012") and emu.shown(4) == ("4号窗口", "暂停服务")
                        and emu.shown(5) == ("5号窗口", "综合业务"), "content")
            await until(lambda: all(driver.info(a) is not None for a in (3, 4, 5)), "INFO")
            assert driver.status() == {3: (True, "在线"), 4: (True, "在线"), 5: (True, "在线")}
            pings = sum(f.command == Cmd.PING for f in emu.requests)
            await until(lambda: sum(f.command == Cmd.PING for f in emu.requests) >= pings + 6, "polls")

        run_driver(driver, scenario)
        assert emu.crc_errors == 0 and all(emu.strip(a).overflows == 0 for a in (3, 4, 5))
        assert all(emu.strip(a).shows == 1 for a in (3, 4, 5))      # nothing sent twice
        assert (3, (True, "在线")) in changes


def test_a_called_ticket_flashes_and_a_recall_flashes_again():
    with StripEmulator([3]) as emu:
        driver = StripDriver(emu.path, [StripConfig(3, flash_seconds=5)], **FAST)
        strip = emu.strip(3)

        async def scenario():
            driver.show(view(current="A012"))
            await until(lambda: strip.shows == 1, "first content")
            call = {"number": "A013", "window": 3, "window_name": "社会保障窗口", "category": "A", "recall": 0}
            driver.called(call)
            driver.show(view(current="A013"))                # the window event of the same seq
            await until(lambda: strip.shows == 2, "the call")
            lines, effect, seconds = strip.history[-1]
            assert (lines, effect) == (("3号窗口", "请A013"), qlink.Effect.FLASH) and 0 < seconds <= 5
            driver.show(view(current="A013"))                # the same again: nothing to send
            driver.called({**call, "recall": 1})
            await until(lambda: strip.shows == 3, "the recall")
            assert strip.history[-1][0] == ("3号窗口", "请A013") and strip.history[-1][1] == qlink.Effect.FLASH
            pings = sum(f.command == Cmd.PING for f in emu.requests)
            await until(lambda: sum(f.command == Cmd.PING for f in emu.requests) > pings + 3, "polls")
            assert strip.shows == 3

        run_driver(driver, scenario)
        assert strip.history[0] == (("3号窗口", "请A012"), qlink.Effect.STATIC, 0)


def test_a_strip_that_stops_answering_goes_offline_and_gets_its_content_back():
    with StripEmulator([3, 4]) as emu:
        driver = StripDriver(emu.path, [StripConfig(3), StripConfig(4)], **FAST)

        async def scenario():
            driver.update([view(current="A001", window=3), view(current="B001", window=4)])
            await until(lambda: emu.shown(3) == ("3号窗口", "请A001") and emu.shown(4) == ("4号窗口", "请B001"))
            emu.strip(3).silent = True
            await until(lambda: not online(driver, 3), "offline")
            assert "3 号地址的显示屏无应答" in driver.status()[3].message
            driver.update([view(current="A002", window=3), view(current="B002", window=4)])
            await until(lambda: emu.shown(4) == ("4号窗口", "请B002"), "the other strip carries on")
            assert online(driver, 4) and emu.shown(3) == ("3号窗口", "请A001")
            emu.strip(3).reboot()                           # it lost power meanwhile
            emu.strip(3).silent = False
            await until(lambda: emu.shown(3) == ("3号窗口", "请A002"), "content again")
            assert driver.status()[3] == (True, "在线")

        run_driver(driver, scenario)


def test_a_rebooted_strip_gets_its_content_back_without_going_offline():
    with StripEmulator([3]) as emu:
        driver = StripDriver(emu.path, [StripConfig(3)], **FAST)
        offline_seen = []

        def on_status(address, status):
            offline_seen.append(not status.online and status.message != "正在连接")

        driver.on_status = on_status

        async def scenario():
            driver.show(view(status="closed"))
            await until(lambda: emu.shown(3) == ("3号窗口", "未开放"))
            emu.strip(3).reboot()
            await until(lambda: emu.shown(3) == ("3号窗口", "未开放"), "re-sent after FRESH")

        run_driver(driver, scenario)
        assert not any(offline_seen) and emu.strip(3).shows == 2


def test_corrupt_replies_are_retried_and_the_strip_stays_online():
    with StripEmulator([3]) as emu:
        driver = StripDriver(emu.path, [StripConfig(3)], **FAST)
        strip = emu.strip(3)

        async def scenario():
            await until(lambda: online(driver, 3))
            with emu.cond:
                # Aimed at the SHOW: the INFO or PING the driver may have on the line right now
                # is sent once by design, so a broken reply to it would not be retried.
                strip.corrupt_commands = frozenset({Cmd.SHOW})
                strip.corrupt_replies = 2
            driver.show(view(current="A007"))
            await until(lambda: emu.shown(3) == ("3号窗口", "请A007"), "content")
            await until(lambda: driver.bus.stats["retries"] >= 2 and online(driver, 3), "retried, online")

        run_driver(driver, scenario)
        shows = [f.seq for f in emu.requests if f.command == Cmd.SHOW]
        assert len(shows) >= 3 and shows[:3] == [shows[0]] * 3        # both broken replies retried, same seq
        assert strip.corrupt_replies == 0 and strip.repeats >= 2 and emu.crc_errors == 0


def test_an_info_whose_reply_was_lost_is_asked_again_after_the_next_answered_poll():
    strip = EmulatedStrip(3, corrupt_replies=1, corrupt_commands=frozenset({Cmd.INFO}))
    with StripEmulator([strip]) as emu:
        driver = StripDriver(emu.path, [StripConfig(3)], **FAST)

        async def scenario():
            await until(lambda: driver.info(3) is not None, "INFO asked again")

        run_driver(driver, scenario)
        asked = [f.command for f in emu.requests if f.command in (Cmd.INFO, Cmd.PING)]
        first = asked.index(Cmd.INFO)
        second = asked.index(Cmd.INFO, first + 1)
        assert strip.corrupt_replies == 0 and Cmd.PING in asked[first + 1:second]   # not at once
        assert driver.info(3) == strip.info()


def test_the_port_vanishes_and_comes_back_through_the_same_path(tmp_path):
    link = tmp_path / "ttyUSB0"
    with StripEmulator([3, 4], link=link) as emu:
        driver = StripDriver(str(link), [StripConfig(3), StripConfig(4)], **FAST)

        async def scenario():
            driver.update([view(current="A001", window=3), view(status="closed", window=4)])
            await until(lambda: emu.shown(3)[1:] == ("请A001",) and emu.shown(4)[1:] == ("未开放",))
            emu.unplug()                                    # the dongle is pulled: pty closed, link gone
            for strip in emu.strips.values():
                strip.reboot()                              # and the strips lost power with it
            await until(lambda: not any(s.online for s in driver.status().values()), "offline")
            await until(lambda: "不存在" in driver.status()[3].message, "reopen failing")
            assert "串口" in driver.status()[4].message and "秒后重试" in driver.status()[4].message
            driver.show(view(current="A002", window=3))     # the hall goes on meanwhile
            await asyncio.sleep(0.2)
            emu.plug()                                      # a new pty behind the same link
            await until(lambda: emu.shown(3) == ("3号窗口", "请A002") and emu.shown(4) == ("4号窗口", "未开放"),
                        "content re-sent")
            await until(lambda: online(driver, 3) and online(driver, 4))

        run_driver(driver, scenario)
        assert driver.bus.stats["opens"] >= 2


def test_a_port_missing_at_start_is_waited_for(tmp_path):
    link = tmp_path / "ttyUSB1"
    driver = StripDriver(str(link), [StripConfig(3)], **FAST)
    emu = None

    async def scenario():
        nonlocal emu
        driver.show(view(current="A001"))
        await until(lambda: "不存在" in driver.status()[3].message)
        assert not online(driver, 3)
        emu = StripEmulator([3], link=link)
        await until(lambda: emu.shown(3) == ("3号窗口", "请A001"))

    try:
        run_driver(driver, scenario)
    finally:
        if emu is not None:
            emu.close()


def test_a_character_outside_gb2312_is_boxed_on_the_strip_and_named_in_the_status():
    with StripEmulator([3, EmulatedStrip(4, charset="gb18030")]) as emu:
        driver = StripDriver(emu.path, [StripConfig(3, idle_text="喆欢迎"),
                                        StripConfig(4, charset="gb18030", idle_text="喆欢迎")], **FAST)

        async def scenario():
            driver.update([view(window=3), view(window=4)])
            await until(lambda: emu.shown(3) and emu.shown(4))
            await until(lambda: driver.status()[3].online)

        run_driver(driver, scenario)
        assert emu.shown(3) == ("3号窗口", "□欢迎") and emu.shown(4) == ("4号窗口", "喆欢迎")
        assert driver.status()[3] == (True, "在线；显示屏字库缺字“喆”，已显示为□")
        assert driver.status()[4] == (True, "在线")


def test_text_the_strip_refuses_is_reported_and_not_sent_again():
    with StripEmulator([3]) as emu:                            # the strip knows GB2312 only …
        driver = StripDriver(emu.path, [StripConfig(3, charset="gb18030", idle_text="喆")], **FAST)

        async def scenario():
            driver.show(view())                               # … but was configured as GB18030
            await until(lambda: "拒绝" in driver.status()[3].message)
            pings = sum(f.command == Cmd.PING for f in emu.requests)
            await until(lambda: sum(f.command == Cmd.PING for f in emu.requests) > pings + 3, "polls")
            assert "拒绝" in driver.status()[3].message         # still said after the polls
            driver.show(view(current="A001"))                 # new content is tried
            await until(lambda: emu.shown(3) == ("3号窗口", "请A001"))

        run_driver(driver, scenario)
        assert sum(f.command == Cmd.SHOW for f in emu.requests) == 2
        assert driver.status()[3] == (True, "在线")


def test_content_too_long_for_a_frame_is_reported_and_the_driver_goes_on():
    with StripEmulator([3, 4]) as emu:
        huge = StripConfig(3, width_dots=4000, idle_text="欢迎" * 70)         # 280 bytes of text
        driver = StripDriver(emu.path, [huge, StripConfig(4)], **FAST)

        async def scenario():
            driver.update([view(window=3), view(window=4)])
            await until(lambda: "超出一帧" in driver.status()[3].message)
            await until(lambda: emu.shown(4) == ("4号窗口", "欢迎光临"))
            driver.show(view(window=3, current="A001"))
            await until(lambda: emu.shown(3) == ("3号窗口", "请A001"))

        run_driver(driver, scenario)


class BrokenPort:
    """A port whose driver misbehaves in a way the bus does not expect."""

    opened = 0

    def __init__(self, *args, **kwargs):
        BrokenPort.opened += 1

    def reset_input_buffer(self):
        pass

    def write(self, data):
        raise RuntimeError("driver bug")

    def close(self):
        pass


def test_an_unexpected_error_restarts_the_port_instead_of_stopping_the_driver():
    BrokenPort.opened = 0
    driver = StripDriver("/dev/ttyFAKE", [StripConfig(3)], serial_factory=BrokenPort,
                         **{**FAST, "reopen_backoff": (0.01, 0.02)})

    async def scenario():
        await until(lambda: BrokenPort.opened >= 3, "reopened")
        await until(lambda: driver.status()[3] == (False, "显示屏驱动出错（RuntimeError），正在重新连接"))

    run_driver(driver, scenario)


def test_brightness_goes_to_every_strip_and_again_after_a_power_cut():
    with StripEmulator([3, 4]) as emu:
        driver = StripDriver(emu.path, [StripConfig(3, brightness=6), StripConfig(4)], **FAST)

        async def scenario():
            await until(lambda: emu.strip(3).brightness == 6 and online(driver, 4))
            driver.set_brightness(2)
            await until(lambda: emu.strip(3).brightness == 2 and emu.strip(4).brightness == 2)
            emu.strip(4).reboot()
            await until(lambda: emu.strip(4).brightness == 2, "restored")

        run_driver(driver, scenario)
        with pytest.raises(ValueError):
            driver.set_brightness(16)


def test_a_write_only_vendor_strip_is_driven_and_refreshed():
    with StripEmulator([3], protocol="imm9012") as emu:
        driver = StripDriver(emu.path, [StripConfig(3, lines=1, width_dots=128, charset="gbk", brightness=5)],
                             codec=Imm9012Codec(), refresh_interval=0.1, **FAST)

        async def scenario():
            driver.show(view(current="A012"))
            await until(lambda: emu.shown(3) == ("3号窗口 请A012",))
            await until(lambda: emu.strip(3).shows >= 3, "periodic re-send")
            assert driver.status()[3] == (True, "已发送（此型号不回复，无法确认是否在线）；此型号不能调亮度")

        run_driver(driver, scenario)


def test_driver_refuses_a_bad_strip_list():
    with pytest.raises(ValueError):
        StripDriver("/dev/null", [StripConfig(3), StripConfig(3)])
    with pytest.raises(ValueError):
        StripDriver("/dev/null", [StripConfig(3, charset="gb18030")], codec=Imm9012Codec())


def test_cancelling_run_closes_the_port():
    with StripEmulator([3]) as emu:
        driver = StripDriver(emu.path, [StripConfig(3)], **FAST)

        async def main():
            task = asyncio.create_task(driver.run())
            await until(lambda: online(driver, 3))
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert not driver.bus.is_open

        asyncio.run(main())
