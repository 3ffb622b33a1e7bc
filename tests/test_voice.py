"""Mandarin speech: the words of calls and guides, espeak-ng output, and the queued Speaker.

The espeak-ng tests run the real program (Debian's espeak-ng, installed by the set-up); without
it they fail saying how to install it. The Speaker is checked with a fake engine that turns
each text into a constant tone and a player that reads the played WAVs back: this kind of
machine has no sound card. The clip engine and `announcement_wav()` are in test_voice_clips.py.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
import time
import wave
from array import array
from pathlib import Path

import pytest

from hall.voice.announcement import announcement_wav
from hall.voice.errors import VoiceError
from hall.voice.espeak import EngineMissing, EspeakEngine, synthesize
from hall.voice.playback import CommandPlayer, SilentPlayer, Speaker, find_player
from hall.voice.wav import Pcm, read_pcm, wav_seconds, write_chime, write_pcm
from hall.voice.words import call_text, cardinal, speakable, spell_ticket

# --- numbers and calls (pure) ---------------------------------------------------------------------

@pytest.mark.parametrize(("ticket", "window", "text"), [
    ("A012", 12, "请 A 零 一 二 号 到 十二 号窗口办理"),
    ("A100", 10, "请 A 一 零 零 号 到 十 号窗口办理"),
    ("A105", 20, "请 A 一 零 五 号 到 二十 号窗口办理"),
    ("A010", 101, "请 A 零 一 零 号 到 一百零一 号窗口办理"),
    ("B001", 3, "请 B 零 零 一 号 到 三 号窗口办理"),
    ("AB110", 110, "请 A B 一 一 零 号 到 一百一十 号窗口办理"),
    ("ａ０１２", 1, "请 A 零 一 二 号 到 一 号窗口办理"),
])
def test_call_text(ticket: str, window: int, text: str) -> None:
    assert call_text(ticket, window) == text


@pytest.mark.parametrize(("number", "words"), [
    (0, "零"), (1, "一"), (10, "十"), (11, "十一"), (12, "十二"), (20, "二十"), (21, "二十一"),
    (100, "一百"), (101, "一百零一"), (110, "一百一十"), (111, "一百一十一"), (150, "一百五十"),
    (1001, "一千零一"), (1010, "一千零一十"), (1100, "一千一百"), (10000, "一万"), (10001, "一万零一"),
    (100010, "十万零一十"), (110000, "十一万"), (100000001, "一亿零一"), (-5, "负五"),
])
def test_cardinal(number: int, words: str) -> None:
    assert cardinal(number) == words


@pytest.mark.parametrize("ticket", ["", "012", "A", "A-012", "号A012"])
def test_a_malformed_ticket_is_refused(ticket: str) -> None:
    with pytest.raises(ValueError, match="票号"):
        spell_ticket(ticket)


@pytest.mark.parametrize("window", [0, -1, True, 1.5])
def test_a_malformed_window_is_refused(window: object) -> None:
    with pytest.raises(ValueError, match="窗口号"):
        call_text("A001", window)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "said"), [
    ("咨询电话：0000-6281001", "咨询电话：零 零 零 零，六 二 八 幺 零 零 幺"),
    ("手机13812345678", "手机幺 三 八 幺 二 三 四 五 六 七 八"),
    ("请拨打12345热线", "请拨打幺 二 三 四 五热线"),
    ("8:30", "八点三十分"),
    ("8：05开门", "八点零五分开门"),
    ("受理时间 8:30-12:00，14:00—17:30", "受理时间 八点三十分到十二点，十四点到十七点三十分"),
    ("3个工作日", "三个工作日"),
    ("2个工作日内答复", "两个工作日内答复"),
    ("第2项", "第二项"),
    ("需要1-3份复印件", "需要一到三份复印件"),
    ("¥20", "二十元"),
    ("￥20", "二十元"),
    ("20元", "二十元"),
    ("工本费¥12.50元", "工本费十二元五角"),
    ("0.5元", "五角"),
    ("10000元", "一万元"),
    ("共1,000元", "共一千元"),
    ("满意率95%，办结率99.5%", "满意率百分之九十五，办结率百分之九十九点五"),
    ("2026年11月5日起", "二零二六年十一月五日起"),
    ("2026-11-05", "二零二六年十一月五日"),
    ("请A012号到3号窗口", "请A 零 一 二号到三号窗口"),
    ("编号007", "编号零零七"),
    ("ETC卡办理", "E T C卡办理"),
    ("２０元", "二十元"),
    ("不收费", "不收费"),
])
def test_speakable(text: str, said: str) -> None:
    assert speakable(text) == said


def test_speakable_leaves_no_digit_and_keeps_call_texts() -> None:
    guide = ("办理时限：承诺3个工作日，法定20个工作日。收费标准：¥20。咨询电话 0000-6813007，"
             "受理时间 9:00-12:00、13:30-17:00。材料：身份证原件1份，复印件2份，照片2张。")
    assert not any(ch.isdigit() for ch in speakable(guide))
    for ticket, window in (("A012", 12), ("AZ105", 150)):
        assert speakable(call_text(ticket, window)) == call_text(ticket, window)


# --- espeak-ng ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def espeak() -> str:
    program = shutil.which("espeak-ng")
    if program is None:
        pytest.fail("espeak-ng 未安装：请运行 apt-get install espeak-ng（scripts 的测试命令会安装）")
    return program


def phonemes(espeak: str, text: str) -> str:
    done = subprocess.run([espeak, "-v", "cmn-latn-pinyin", "-q", "-x", "-b", "1", "--stdin"],
                          input=text.encode(), capture_output=True, check=True)
    return done.stdout.decode()


def test_calls_are_all_mandarin(espeak: str) -> None:
    calls = [call_text(f"{prefix}{number:03d}", window)
             for prefix, number, window in (("A", 12, 12), ("A", 100, 10), ("A", 105, 20), ("A", 10, 101),
                                            ("B", 1, 1), ("AZ", 999, 150), ("Q", 7, 110))]
    calls += [call_text("C001", window) for window in range(1, 151)]
    for text in calls[:7]:
        out = phonemes(espeak, text)
        assert "(en)" not in out, (text, out)
        assert any(ch.isdigit() for ch in out)  # tone numbers: read as Mandarin
    everything = phonemes(espeak, "\n".join(calls))
    assert "(en)" not in everything


def test_normalised_guide_text_is_all_mandarin(espeak: str) -> None:
    text = speakable("ETC卡办理：承诺3个工作日，¥20，电话0000-6281001，8:30-12:00，A4纸2张。")
    assert "(en)" not in phonemes(espeak, text)


def test_synthesize_writes_a_valid_wav(espeak: str, tmp_path: Path) -> None:
    target = synthesize(call_text("A012", 12), tmp_path / "call.wav")
    assert target == tmp_path / "call.wav"
    with wave.open(str(target), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        seconds = wav.getnframes() / wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    assert seconds > 1.0
    assert any(frames)  # not silence
    assert list(tmp_path.iterdir()) == [target]  # no partial file left behind


def test_synthesize_takes_text_that_looks_like_an_option(espeak: str, tmp_path: Path) -> None:
    assert wav_seconds(synthesize("-h --help 请稍候", tmp_path / "x.wav")) > 0.5


def test_missing_espeak_is_said_in_chinese(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EngineMissing, match="apt-get install espeak-ng") as caught:
        synthesize("请 A 零 零 一 号", tmp_path / "x.wav")
    assert "找不到语音合成程序" in str(caught.value)
    with pytest.raises(EngineMissing):
        EspeakEngine(executable="espeak-ng-not-here").synthesize("你好", tmp_path / "y.wav")
    assert not list(tmp_path.glob("*.wav"))


def test_an_unknown_voice_is_a_voice_error(espeak: str, tmp_path: Path) -> None:
    with pytest.raises(VoiceError, match="语音合成失败"):
        synthesize("你好", tmp_path / "x.wav", voice="nonexistent")
    assert not list(tmp_path.iterdir())


def test_nothing_to_say_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        synthesize("  ", tmp_path / "x.wav")


# --- chime and players ------------------------------------------------------------------------------

def test_the_chime_is_two_soft_tones(tmp_path: Path) -> None:
    chime = write_chime(tmp_path / "chime.wav")
    with wave.open(str(chime), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 22050)
        count = wav.getnframes()
        samples = memoryview(wav.readframes(count)).cast("h")
    assert 0.8 < count / 22050 < 1.1
    loudest = max(abs(s) for s in samples)
    assert 8000 < loudest < 32767
    assert abs(samples[0]) < 200 and abs(samples[-1]) < 2000  # fades in and dies away: no clicks


def test_find_player_falls_back_to_silence(tmp_path: Path) -> None:
    nothing = find_player(which=lambda _: None, cards=tmp_path / "none")
    assert isinstance(nothing, SilentPlayer)
    cards = tmp_path / "cards"
    cards.write_text("--- no soundcards ---\n")
    only_aplay = {"aplay": "/usr/bin/aplay"}.get
    assert isinstance(find_player(which=only_aplay, cards=cards), SilentPlayer)
    cards.write_text(" 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n")
    player = find_player(which=only_aplay, cards=cards)
    assert isinstance(player, CommandPlayer)
    assert player.command == ["/usr/bin/aplay", "-q"]


def test_the_silent_player_says_once_that_nothing_is_played(tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    chime = write_chime(tmp_path / "chime.wav")
    player = SilentPlayer()
    with caplog.at_level("WARNING", logger="hall.voice"):
        player.play(chime)
        player.play(chime)
    told = "未检测到音频设备（没有声卡或声音服务）：语音只合成、不播放。"
    assert [r.getMessage() for r in caplog.records].count(told) == 1


def test_a_command_player_reports_failure_and_can_be_interrupted(tmp_path: Path) -> None:
    chime = write_chime(tmp_path / "chime.wav")
    CommandPlayer(["true"]).play(chime)
    with pytest.raises(VoiceError, match=r"播放失败.*没有声卡"):
        CommandPlayer(["sh", "-c", "echo 没有声卡 >&2; exit 1", "player"]).play(chime)
    slow = CommandPlayer(["sh", "-c", "exec sleep 60", "player"])
    worker = threading.Thread(target=slow.play, args=(chime,))
    worker.start()
    while slow._process is None:
        time.sleep(0.01)
    slow.interrupt()
    worker.join(timeout=10)
    assert not worker.is_alive()


# --- the Speaker ------------------------------------------------------------------------------------

class ToneEngine:
    """A fake engine: each distinct text becomes 50 ms of one constant sample value, so that what
    was played can be read back from the WAV alone."""

    rate = 22050

    def __init__(self, fail_on: str | None = None):
        self.values: dict[str, int] = {}
        self.fail_on = fail_on

    def synthesize(self, text: str, wav_path: Path) -> None:
        if text == self.fail_on:
            raise VoiceError("测试：合成失败")
        value = self.values.setdefault(text, 1000 + 500 * len(self.values))
        write_pcm(wav_path, Pcm(self.rate, array("h", [value] * (self.rate // 20))))

    def text_of(self, value: int) -> str:
        return next(text for text, known in self.values.items() if known == value)


class RecordingPlayer:
    """Reads back each played WAV as (chime first?, the texts said in it); notes any overlap."""

    def __init__(self, engine: ToneEngine, hold: threading.Event | None = None):
        self.engine = engine
        self.chime: array | None = None  # the chime's samples, once the Speaker has one
        self.played: list[tuple[bool, list[str]]] = []
        self.active = 0
        self.most = 0
        self.interrupts = 0
        self.hold = hold
        self.started = threading.Event()
        self.lock = threading.Lock()

    def decode(self, wav_path: Path) -> tuple[bool, list[str]]:
        samples = read_pcm(wav_path).samples
        chimed = self.chime is not None and samples[:len(self.chime)] == self.chime
        if chimed:
            samples = samples[len(self.chime):]
        said, previous = [], 0
        for sample in samples:
            if sample and sample != previous:
                said.append(self.engine.text_of(sample))
            previous = sample
        return chimed, said

    def play(self, wav_path: Path) -> None:
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
        self.played.append(self.decode(wav_path))
        self.started.set()
        if self.hold is not None:
            self.hold.wait(timeout=10)
        else:
            time.sleep(0.005)  # room for an overlap, were there a second worker
        with self.lock:
            self.active -= 1

    def interrupt(self) -> None:
        self.interrupts += 1
        if self.hold is not None:
            self.hold.set()


def speaker_for(engine: ToneEngine, player: RecordingPlayer, **options: object) -> Speaker:
    speaker = Speaker(engine, player, **options)  # type: ignore[arg-type]
    player.chime = read_pcm(speaker.chime).samples
    return speaker


def test_the_speaker_plays_in_order_without_overlap() -> None:
    engine = ToneEngine()
    player = RecordingPlayer(engine)
    with speaker_for(engine, player, gap=0.1) as speaker:
        futures = [speaker.say("第一条：请带好身份证"), speaker.call("A012", 12),
                   speaker.say("办理时限3个工作日", repeat=2)]
        for future in futures:
            future.result(timeout=60)
    call = "请 A 零 一 二 号 到 十二 号窗口办理"
    limit = "办理时限三个工作日"
    # One WAV per announcement: the chime first for calls, then each repeat.
    assert player.played == [(False, ["第一条：请带好身份证"]), (True, [call, call]), (False, [limit, limit])]
    assert player.most == 1


def test_a_burst_of_calls_is_announced_in_order_without_overlap() -> None:
    engine = ToneEngine()
    player = RecordingPlayer(engine)
    calls = [(f"{'ABC'[n % 3]}{n:03d}", n % 7 + 1) for n in range(20)]
    with speaker_for(engine, player, call_repeat=2) as speaker:
        futures = [speaker.call(ticket, window) for ticket, window in calls]
        for future in futures:
            future.result(timeout=60)
    assert player.played == [(True, [call_text(t, w)] * 2) for t, w in calls]
    assert player.most == 1


def test_the_speaker_plays_what_announcement_wav_writes(tmp_path: Path) -> None:
    engine = ToneEngine()
    kept: list[bytes] = []

    class Keeps(RecordingPlayer):
        def play(self, wav_path: Path) -> None:
            kept.append(wav_path.read_bytes())

    with Speaker(engine, Keeps(engine), gap=0.25) as speaker:
        speaker.call("A105", 12, repeat=3).result(timeout=60)
    written = announcement_wav("A105", 12, tmp_path / "call.wav", engine=engine, repeat=3, gap=0.25)
    assert kept == [written.read_bytes()]


def test_a_configured_chime_is_used(tmp_path: Path) -> None:
    chime = write_chime(tmp_path / "ding.wav", tones=((1000.0, 0.2),))
    engine = ToneEngine()
    player = RecordingPlayer(engine)
    with speaker_for(engine, player, chime=chime, call_repeat=1) as speaker:
        assert speaker.chime == chime
        speaker.call("B001", 3).result(timeout=60)
    assert player.played == [(True, ["请 B 零 零 一 号 到 三 号窗口办理"])]


def test_a_bad_chime_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "chime.wav"
    bad.write_text("not a wav")
    with pytest.raises(VoiceError, match="语音文件无效"):
        Speaker(ToneEngine(), SilentPlayer(), chime=bad)


def test_stop_cuts_the_current_announcement_and_drops_the_queue() -> None:
    engine = ToneEngine()
    hold = threading.Event()
    player = RecordingPlayer(engine, hold=hold)
    with speaker_for(engine, player, gap=0) as speaker:
        first = speaker.say("第一条", repeat=3)
        assert player.started.wait(timeout=60)
        rest = [speaker.say("第二条"), speaker.say("第三条")]
        speaker.stop()
        first.result(timeout=60)
        assert all(f.cancelled() for f in rest)
        assert player.interrupts == 1  # the one WAV of all three rounds was cut
        assert player.played == [(False, ["第一条"])]  # gap=0: three rounds read back as one run
        player.hold = None
        speaker.say("停止以后还能再说").result(timeout=60)
    assert player.played == [(False, ["第一条"]), (False, ["停止以后还能再说"])]


def test_a_failed_announcement_does_not_stop_the_next() -> None:
    engine = ToneEngine(fail_on="坏的")
    player = RecordingPlayer(engine)
    with speaker_for(engine, player) as speaker:
        bad, good = speaker.say("坏的"), speaker.say("好的")
        with pytest.raises(VoiceError, match="合成失败"):
            bad.result(timeout=60)
        good.result(timeout=60)
    assert player.played == [(False, ["好的"])]


def test_say_does_not_block_the_event_loop() -> None:
    engine = ToneEngine()
    loop_ran = threading.Event()

    class WaitsForTheLoop(RecordingPlayer):
        def play(self, wav_path: Path) -> None:
            # Finishes only once the loop has run on after say(): a blocking say() would hang here.
            assert loop_ran.wait(timeout=30), "the event loop was blocked while speaking"
            super().play(wav_path)

    player = WaitsForTheLoop(engine)

    async def main(speaker: Speaker) -> None:
        speaking = asyncio.create_task(speaker.say_async("请稍候"))
        await asyncio.sleep(0)
        loop_ran.set()
        await speaking

    with speaker_for(engine, player) as speaker:
        asyncio.run(main(speaker))
    assert player.played == [(False, ["请稍候"])]


def test_the_speaker_works_without_a_sound_card(espeak: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="hall.voice"), Speaker(player=SilentPlayer(), gap=0) as speaker:
        speaker.call("A001", 1).result(timeout=60)
    assert any("语音只合成、不播放" in r.getMessage() for r in caplog.records)


def test_a_closed_speaker_refuses_more(tmp_path: Path) -> None:
    speaker = Speaker(ToneEngine(), SilentPlayer(), workdir=tmp_path)
    speaker.close()
    speaker.close()
    with pytest.raises(VoiceError, match="已关闭"):
        speaker.say("你好")


@pytest.mark.parametrize("repeat", [0, -1, True])
def test_a_bad_repeat_is_refused(repeat: object) -> None:
    with Speaker(ToneEngine(), SilentPlayer()) as speaker:
        with pytest.raises(ValueError, match="repeat"):
            speaker.say("你好", repeat)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="repeat"):
            speaker.call("A001", 1, repeat=repeat)  # type: ignore[arg-type]
