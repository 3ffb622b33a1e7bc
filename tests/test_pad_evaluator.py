"""The serial button evaluator: the key mapping, the two wire decoders (noise, partial frames,
repeats), the reader thread over an emulated box on a pty (the port vanishing and coming back),
and a key press on the emulated box giving a rating stored by a real server."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from hall.qlink import Frame, encode_frame
from satisfaction_pad.evaluator import (
    KEY_EVENT,
    AsciiKeyDecoder,
    Evaluator,
    MappingError,
    QLinkKeyDecoder,
    describe_keys,
    key_ascii,
    key_frame,
    make_decoder,
    parse_keys,
)
from satisfaction_pad.evaluator_emulator import EvaluatorEmulator
from tests.live_hall import LiveHall, round_the_clock

DEMO_TOWN = Path(__file__).parent.parent / "assets" / "halls" / "demo-town.toml"


# --- the mapping ---------------------------------------------------------------------------------

def test_key_mappings_presets_and_written_out():
    assert parse_keys(None) == parse_keys("") == parse_keys("5") == {1: 5, 2: 4, 3: 3, 4: 2, 5: 1}
    assert parse_keys("4") == {1: 5, 2: 4, 3: 3, 4: 2}
    assert parse_keys("1=5,2=4,3=3,4=1") == {1: 5, 2: 4, 3: 3, 4: 1}
    assert parse_keys(" 1=5， 2:3；4：1 ") == {1: 5, 2: 3, 4: 1}
    assert describe_keys({1: 5, 2: 1}) == "1 键=非常满意，2 键=非常不满意"


@pytest.mark.parametrize("text,message", [
    ("1-5", "按键映射写法有误：“1-5”应写成 键=分数"),
    ("a=5", "按键映射写法有误"),
    ("0=5", "按键号 0 超出范围：应为 1 到 9"),
    ("10=5", "按键号 10 超出范围"),
    ("1=6", "按键 1 的分数 6 超出范围：应为 1（非常不满意）到 5（非常满意）"),
    ("1=0", "按键 1 的分数 0 超出范围"),
    ("1=5,1=4", "按键 1 映射了两次"),
    (",,", "按键映射为空"),
])
def test_bad_mappings_are_refused_in_words(text, message):
    with pytest.raises(MappingError) as caught:
        parse_keys(text)
    assert str(caught.value).startswith(message)


# --- the decoders ------------------------------------------------------------------------------

def test_qlink_frame_bytes_are_as_documented():
    """The example frames of docs/pad.md, byte for byte (CRC-16/MODBUS over 01 21 07 01 02)."""
    assert key_frame(2, 7).hex(" ") == "aa 55 01 21 07 01 02 22 6c"
    assert key_frame(1, 1).hex(" ") == "aa 55 01 21 01 01 01 82 6c"
    assert key_ascii(3) == b"3\r\n"
    assert QLinkKeyDecoder().feed(bytes.fromhex("aa55012107010222 6c".replace(" ", ""))) == [2]


def test_qlink_decoder_survives_noise_partial_frames_and_repeats():
    decoder = QLinkKeyDecoder()
    one, two, three = key_frame(1, 1), key_frame(4, 2), key_frame(5, 3)
    stream = b"\x00\xff\xaa" + one + b"noise\xaa\x55" + two + two + three
    keys = []
    for byte in stream:                            # one byte at a time: every split of a frame
        keys += decoder.feed(bytes((byte,)))
    # "AA 55" in the noise reads as a header whose length (0x21) runs past what came: the frames
    # behind it wait until the line has been quiet (QUIET_SECONDS), then all are found
    assert keys == [1] and decoder.pending
    keys += decoder.timeout()
    assert keys == [1, 4, 5] and decoder.repeats == 1
    broken = bytearray(key_frame(3, 4))
    broken[-1] ^= 0xFF                             # a bad CRC: dropped, the next frame is found
    assert decoder.feed(bytes(broken) + key_frame(2, 5)) == [2]
    assert decoder.parser.crc_errors == 1
    other = encode_frame(Frame(1, 0x22, 6, b""))   # not a key press
    wrong = encode_frame(Frame(1, KEY_EVENT, 7, b"\x01\x02"))
    zero = encode_frame(Frame(1, KEY_EVENT, 8, b"\x00"))
    assert decoder.feed(other + wrong + zero) == [] and decoder.ignored == 3
    half = key_frame(1, 9)[:5]
    assert decoder.feed(half) == [] and decoder.pending == 5
    assert decoder.timeout() == [] and decoder.pending == 0   # the line went quiet mid-frame
    assert decoder.feed(key_frame(1, 10)) == [1]


def test_qlink_decoder_finds_a_frame_hidden_behind_a_false_start():
    decoder = QLinkKeyDecoder()
    false_start = b"\xaa\x55\x01\x21\x09\xf1"        # a length over 240: skipped at once
    assert decoder.feed(false_start + key_frame(3, 11)) == [3]


def test_ascii_decoder():
    decoder = AsciiKeyDecoder()
    assert decoder.feed(key_ascii(1) + key_ascii(5)) == [1, 5]
    assert decoder.feed(b"0x\x00\xff3") == [3] and decoder.ignored == 4
    assert decoder.timeout() == [] and decoder.pending == 0
    with pytest.raises(MappingError, match="不认识的评价器协议"):
        make_decoder("modbus")


# --- the reader thread over an emulated box ----------------------------------------------------------

class Heard:
    def __init__(self):
        self.scores: list[tuple[int, int]] = []
        self.statuses: list[tuple[bool, str]] = []
        self.cond = threading.Condition()

    def score(self, score, key):
        with self.cond:
            self.scores.append((score, key))
            self.cond.notify_all()

    def status(self, ok, text):
        with self.cond:
            self.statuses.append((ok, text))
            self.cond.notify_all()

    def wait(self, predicate, timeout=10):
        with self.cond:
            assert self.cond.wait_for(predicate, timeout), (self.scores, self.statuses)


@pytest.mark.parametrize("protocol", ["qlink", "ascii"])
def test_presses_on_an_emulated_box_become_scores(protocol):
    heard = Heard()
    with EvaluatorEmulator(protocol, repeat=2) as box:
        reader = Evaluator(box.path, parse_keys("1=5,2=4,3=3,4=1"), protocol=protocol,
                           on_score=heard.score, on_status=heard.status, retry_seconds=0.1)
        reader.start()
        try:
            heard.wait(lambda: heard.statuses and heard.statuses[-1][0])
            assert heard.statuses[-1] == (True, f"评价器已连接（{box.path}）")
            for key in (1, 4, 7, 2):                  # 7 is not mapped
                box.noise(b"\x13\xa5 ")              # not digits: an ASCII box would take those
                box.press(key)
            heard.wait(lambda: len(heard.scores) == 3)
            time.sleep(0.1)
            assert heard.scores == [(5, 1), (1, 4), (4, 2)]
            assert reader.unmapped == 1 and reader.presses == 3
        finally:
            reader.stop()


def test_the_port_vanishes_and_comes_back(tmp_path):
    heard = Heard()
    link = tmp_path / "ttyEVAL"
    with EvaluatorEmulator(link=link) as box:
        reader = Evaluator(str(link), parse_keys("5"), on_score=heard.score,
                           on_status=heard.status, retry_seconds=0.1)
        reader.start()
        try:
            heard.wait(lambda: heard.statuses and heard.statuses[-1][0])
            box.press(2)
            heard.wait(lambda: heard.scores == [(4, 2)])
            box.unplug()                                  # pulled out
            heard.wait(lambda: not heard.statuses[-1][0])
            lost = [text for ok, text in heard.statuses if not ok]
            assert lost[0] == f"评价器串口 {link} 已断开（设备被拔出或断电）；正在重连"
            heard.wait(lambda: "不存在" in heard.statuses[-1][1])   # and it cannot be opened
            assert heard.statuses[-1] == (
                False, f"串口 {link} 不存在（设备未插好或已拔出），请检查串口线；正在重试")
            box.plug()                                    # back, under the same name
            heard.wait(lambda: heard.statuses[-1][0])
            time.sleep(0.1)
            box.press(5)
            heard.wait(lambda: heard.scores == [(4, 2), (1, 5)])
            assert reader.opens == 2
        finally:
            reader.stop()
    assert not reader._thread


def test_a_port_that_never_existed_is_reported_and_stop_ends_the_thread(tmp_path):
    heard = Heard()
    reader = Evaluator(str(tmp_path / "nothing"), parse_keys("4"), on_status=heard.status,
                       retry_seconds=0.05)
    reader.start()
    heard.wait(lambda: heard.statuses)
    assert heard.statuses[0][1].startswith(f"串口 {tmp_path / 'nothing'} 不存在")
    reader.stop()
    assert reader.opens == 0


# --- a key press on the box gives a stored rating --------------------------------------------------

@pytest.mark.parametrize("keys_only", [False, True])
def test_live_key_presses_rate_the_finished_ticket(tmp_path, keys_only):
    """A real server and the pad offscreen with an emulated 4-key box: 1 (非常满意) rates one
    ticket; 4 (不满意) on the next one opens the reason picker on a touch pad, or on a keys-only
    pad is sent at once with the hall's first reason."""
    from kivy.core.window import Window

    from hall.look import register_font
    from satisfaction_pad.app import PadShell
    from satisfaction_pad.model import PadModel

    register_font()
    Window.size = (1280, 800)
    hall = LiveHall(tmp_path, hall_text=round_the_clock(DEMO_TOWN.read_text(encoding="utf-8")))

    async def until(condition, seconds=10.0):
        for _ in range(int(seconds * 20)):
            if condition():
                return
            await asyncio.sleep(0.05)
        raise AssertionError("not in time")

    async def scenario(box):
        reader = Evaluator(box.path, parse_keys("4"), retry_seconds=0.1)
        shell = PadShell([hall.ws], hall.tokens["pad"], PadModel(keys_only=keys_only),
                         evaluator=reader)
        runner = asyncio.get_running_loop().create_task(shell.run())
        try:
            await until(lambda: shell.snapshots and shell.model.evaluator
                        and shell.model.evaluator[0])
            box.press(1)                                   # no prompt open: nothing happens
            await asyncio.sleep(0.3)
            assert shell.model.screen == "idle" and not shell.model.outbox
            kiosk, clerk = hall.hello("kiosk"), hall.hello("clerk", badge="1001", pin="4826")
            for _ in range(2):
                kiosk.request("take_ticket", category="A")
            clerk.request("sign_in", window=1, post="A")
            for number, key in (("A001", 1), ("A002", 4)):
                clerk.request("call_next")
                clerk.request("finish", outcome="done")
                await until(lambda n=number: shell.model.prompt and shell.model.prompt.ticket == n)
                box.press(key)
                await until(lambda: shell.model.screen != "prompt")
            if not keys_only:
                assert shell.model.screen == "reasons"
                shell.model.toggle_reason("业务不熟练", shell.clock())   # the screen's part,
                shell.model.submit(shell.clock())                      # tested in test_pad_ui
                shell.wake()
            await until(lambda: len(shell.sent) == 2)
            assert shell.refusals == []
        finally:
            shell.app.stop()
            await asyncio.wait_for(runner, 10)

    try:
        with EvaluatorEmulator() as box:
            asyncio.run(scenario(box))
        rows = [(r.ticket, r.score, r.reasons, r.channel, r.window, r.clerk, r.post)
                for r in hall.ratings()]
        reason = "等候时间过长" if keys_only else "业务不熟练"
        assert rows == [("A001", 5, [], "pad", 1, "1001", "A"),
                        ("A002", 2, [reason], "pad", 1, "1001", "A")]
    finally:
        hall.stop()
