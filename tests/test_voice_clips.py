"""The clip engine, the shipped clip set, engine choice and `announcement_wav()`.

Audio is checked by reading WAVs back with the standard library's `wave`: formats, exact frame
counts, and the exact samples where they are known (the clips, the chime). The espeak-ng tests
run the real program, as in test_voice.py.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import subprocess
import sys
import wave
from array import array
from pathlib import Path

import pytest

from hall.voice.announcement import CHIME_PAUSE, DEFAULT_GAP, announcement_wav
from hall.voice.clips import (
    CHIME_FILE,
    CLIPS,
    DEFAULT_CLIPS_DIR,
    DEFAULT_WORD_GAP,
    PEAK_CEILING,
    TARGET_LOUDNESS,
    ClipEngine,
    ClipSetError,
    NoClipError,
    clip_words,
    import_recordings,
    make_placeholder_clips,
    trim_silence,
)
from hall.voice.engines import engine_from_config, make_engine
from hall.voice.errors import VoiceError
from hall.voice.espeak import EngineMissing, EspeakEngine
from hall.voice.playback import SilentPlayer, Speaker
from hall.voice.wav import FULL_SCALE, Pcm, amplified, loudness, peak, read_pcm, resample, write_chime, write_pcm
from hall.voice.words import call_text, merged_call_text

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def clips() -> ClipEngine:
    return ClipEngine()


@pytest.fixture
def clip_copy(tmp_path: Path) -> Path:
    """A copy of the shipped clip set that a test may spoil."""
    return Path(shutil.copytree(DEFAULT_CLIPS_DIR, tmp_path / "voice", ignore=shutil.ignore_patterns("*.md")))


def frames(path: Path) -> tuple[tuple[int, int, int], bytes]:
    """(channels, sample width, rate) and the raw frames of a WAV, straight from `wave`."""
    with wave.open(str(path), "rb") as wav:
        return (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()), wav.readframes(wav.getnframes())


def write_raw(path: Path, data: bytes, *, channels: int, width: int, rate: int) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(data)
    return path


# --- from call text to clips (pure) ------------------------------------------------------------------

@pytest.mark.parametrize(("ticket", "window", "text", "words"), [
    ("A105", 12, "请 A 一 零 五 号 到 十二 号窗口办理",
     ["请", "A", "一", "零", "五", "号", "到", "十", "二", "号窗口办理"]),
    ("A100", 10, "请 A 一 零 零 号 到 十 号窗口办理",
     ["请", "A", "一", "零", "零", "号", "到", "十", "号窗口办理"]),
    ("A010", 101, "请 A 零 一 零 号 到 一百零一 号窗口办理",
     ["请", "A", "零", "一", "零", "号", "到", "一", "百", "零", "一", "号窗口办理"]),
    ("A105", 20, "请 A 一 零 五 号 到 二十 号窗口办理",
     ["请", "A", "一", "零", "五", "号", "到", "二", "十", "号窗口办理"]),
    ("AB110", 110, "请 A B 一 一 零 号 到 一百一十 号窗口办理",
     ["请", "A", "B", "一", "一", "零", "号", "到", "一", "百", "一", "十", "号窗口办理"]),
    ("Z999", 9999, "请 Z 九 九 九 号 到 九千九百九十九 号窗口办理",
     ["请", "Z", "九", "九", "九", "号", "到", "九", "千", "九", "百", "九", "十", "九", "号窗口办理"]),
])
def test_call_texts_split_into_clips(ticket: str, window: int, text: str, words: list[str]) -> None:
    assert call_text(ticket, window) == text
    assert clip_words(text) == words


def test_every_call_to_windows_1_to_9999_has_clips() -> None:
    for window in range(1, 10000):
        clip_words(call_text("A001", window))
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        assert clip_words(call_text(f"{letter}0123456789", 1))[1] == letter


@pytest.mark.parametrize(("text", "missing"), [
    (call_text("A001", 10000), ["万"]),
    ("你好", ["你好"]),
    ("请 A012 号", ["012"]),
    ("请到3号窗口", ["3", "窗口"]),
    ("请 A 一 号。到 二 号窗口办理", ["。"]),   # the ， between merged calls is a word break
])
def test_text_without_clips_is_refused(clips: ClipEngine, tmp_path: Path, text: str, missing: list[str]) -> None:
    with pytest.raises(NoClipError) as caught:
        clips.synthesize(text, tmp_path / "x.wav")
    assert caught.value.missing == missing
    assert caught.value.text == text
    message = str(caught.value)
    assert message.startswith("录音片段里没有") and "espeak" in message
    assert not list(tmp_path.iterdir())  # nothing written


def test_merged_calls_split_into_clips_at_the_comma() -> None:
    text = merged_call_text([("A012", 3), ("A013", 5)])
    assert text == "请 A 零 一 二 号 到 三 号窗口办理，A 零 一 三 号 到 五 号窗口办理"
    assert clip_words(text) == [*clip_words(call_text("A012", 3)), *clip_words(call_text("A013", 5))[1:]]


def test_nothing_to_say_is_refused() -> None:
    with pytest.raises(ValueError, match="没有要朗读的文字"):
        clip_words("   ")


def test_full_width_and_lower_case_letters_find_their_clips() -> None:
    assert clip_words("请 ａ b 一 号") == ["请", "A", "B", "一", "号"]


# --- the shipped clip set -------------------------------------------------------------------------------

def test_the_shipped_clip_set_is_complete_small_and_of_one_format(clips: ClipEngine) -> None:
    names = sorted([*CLIPS.values(), CHIME_FILE])
    assert sorted(p.name for p in DEFAULT_CLIPS_DIR.glob("*.wav")) == names
    assert len(CLIPS) == 43
    total = 0
    for name in names:
        path = DEFAULT_CLIPS_DIR / name
        total += path.stat().st_size
        (channels, width, rate), data = frames(path)
        assert (channels, width, rate) == (1, 2, 22050), name
        samples = array("h", data)
        assert 0.2 < len(samples) / rate < 2.5, name
        assert max(map(abs, samples)) > 3000, name  # holds sound
        if name != CHIME_FILE:  # trimmed, with fades
            assert samples[0] == 0 and samples[-1] == 0, name
    assert total < 1_000_000  # well under 2 MB
    assert clips.rate == 22050 and clips.converted == []
    assert clips.chime == DEFAULT_CLIPS_DIR / CHIME_FILE


def test_the_readme_lists_every_clip_and_says_where_they_come_from() -> None:
    readme = (DEFAULT_CLIPS_DIR / "README.md").read_text()
    for word, name in CLIPS.items():
        assert f"`{name}`" in readme, name
        assert word in readme, word
    assert "espeak-ng" in readme and "GPL" in readme and "mono, 16-bit" in readme


# --- joining clips -------------------------------------------------------------------------------------

@pytest.mark.parametrize("gap", [0.0, DEFAULT_WORD_GAP, 0.25])
def test_a_call_is_its_clips_joined_with_gaps(clip_copy: Path, tmp_path: Path, gap: float) -> None:
    engine = ClipEngine(clip_copy, word_gap=gap)
    text = call_text("A105", 12)
    out = tmp_path / "call.wav"
    engine.synthesize(text, out)
    fmt, data = frames(out)
    assert fmt == (1, 2, 22050)
    words = engine.words(text)
    pieces = [engine.clips[word].samples.tobytes() for word in words]   # the clips as levelled
    gap_bytes = bytes(2 * round(22050 * gap))
    assert len(data) // 2 == sum(len(p) // 2 for p in pieces) + (len(words) - 1) * round(22050 * gap)
    assert data == gap_bytes.join(pieces)  # exactly the clips, in order


# --- loudness and pace ----------------------------------------------------------------------------------

def _spoil_levels(folder: Path) -> None:
    """Clips re-recorded softer and louder (where they have the headroom): 26 dB apart in all."""
    for name, db in [("qing.wav", -18.0), ("san.wav", -12.0), ("letter_a.wav", -6.0), ("si.wav", 8.0)]:
        write_pcm(folder / name, amplified(read_pcm(folder / name), db))


def test_clips_recorded_at_different_levels_come_out_at_one_loudness(clip_copy: Path, tmp_path: Path) -> None:
    _spoil_levels(clip_copy)
    recorded = [loudness(read_pcm(clip_copy / name)) for name in CLIPS.values()]
    assert max(recorded) - min(recorded) > 20                     # as spoiled on disk
    engine = ClipEngine(clip_copy)
    assert engine.level == TARGET_LOUDNESS
    levels = [loudness(pcm) for pcm in engine.clips.values()]
    assert max(levels) - min(levels) <= 1.0 and abs(min(levels) - TARGET_LOUDNESS) <= 0.5, levels
    assert max(peak(pcm) for pcm in engine.clips.values()) <= PEAK_CEILING + 0.01
    engine.synthesize(call_text("A105", 12), tmp_path / "call.wav")   # 请 A 一 零 五 …: soft and loud clips
    said = read_pcm(tmp_path / "call.wav").samples
    assert FULL_SCALE not in said and -FULL_SCALE - 1 not in said


def test_a_peaky_clip_lowers_the_whole_set_rather_than_clip(clip_copy: Path, caplog: pytest.LogCaptureFixture) -> None:
    _spoil_levels(clip_copy)
    spiky = read_pcm(clip_copy / "qing.wav")    # the softened clip, about -37 dBFS
    samples = array("h", spiky.samples)
    samples[len(samples) // 2] = FULL_SCALE     # a click at full scale: 37 dB above the voice
    clicked = Pcm(spiky.rate, samples)
    write_pcm(clip_copy / "qing.wav", clicked)
    engine = ClipEngine(clip_copy)
    assert engine.level == pytest.approx(PEAK_CEILING - (peak(clicked) - loudness(clicked)))
    assert engine.level < TARGET_LOUDNESS - 10
    assert "整套片段统一到" in caplog.text
    levels = [loudness(pcm) for pcm in engine.clips.values()]
    assert max(levels) - min(levels) <= 1.0 and abs(min(levels) - engine.level) <= 0.5, levels
    assert max(peak(pcm) for pcm in engine.clips.values()) <= PEAK_CEILING + 0.01


def test_the_pace_changes_the_silence_between_clips_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="hall.voice.clips")
    engine = ClipEngine()
    text = call_text("A105", 12)
    gaps = len(engine.words(text)) - 1
    normal = engine.render(text)
    assert engine.at_pace(100).render(text) == normal and engine.pace == 100
    for pace in (70, 150):
        other = engine.at_pace(pace)
        said = other.render(text)
        assert other.clips is engine.clips and other.pace == pace
        assert said.seconds == pytest.approx(other.seconds(text), abs=gaps / engine.rate)
        assert said.seconds - normal.seconds == pytest.approx(gaps * DEFAULT_WORD_GAP * (100 / pace - 1), abs=0.005)
    assert "voice_pace 只调整字与字之间的停顿（150%：0.067 秒）" in caplog.text
    with pytest.raises(ValueError, match="语速应为正整数"):
        engine.at_pace(0)


def test_espeak_follows_the_pace(tmp_path: Path) -> None:
    """espeak-ng is given speed × pace / 100 words a minute: a call said at 150 is about a third
    shorter than at 100, at 70 about a third longer."""
    text = call_text("A105", 12)
    seconds = {}
    for pace in (70, 100, 150):
        engine = EspeakEngine().at_pace(pace)
        assert engine.words_per_minute == round(140 * pace / 100)
        engine.synthesize(text, tmp_path / f"{pace}.wav")
        seconds[pace] = read_pcm(tmp_path / f"{pace}.wav").seconds
    assert seconds[150] < 0.8 * seconds[100] and seconds[70] > 1.2 * seconds[100], seconds


def test_a_missing_clip_folder_is_said_in_chinese(tmp_path: Path) -> None:
    with pytest.raises(ClipSetError, match="找不到录音片段目录") as caught:
        ClipEngine(tmp_path / "nowhere")
    assert "espeak" in str(caught.value)
    with pytest.raises(ClipSetError, match="找不到录音片段目录"):
        make_engine("clips", clips_dir=tmp_path / "nowhere")


def test_missing_clips_are_named(clip_copy: Path) -> None:
    (clip_copy / "hao.wav").unlink()
    (clip_copy / "letter_q.wav").unlink()
    with pytest.raises(ClipSetError, match="录音片段不全") as caught:
        ClipEngine(clip_copy)
    assert "hao.wav（号）" in str(caught.value) and "letter_q.wav（Q）" in str(caught.value)


def test_an_unreadable_or_silent_clip_is_refused(clip_copy: Path) -> None:
    (clip_copy / "san.wav").write_bytes(b"ID3 an mp3 renamed")
    with pytest.raises(ClipSetError, match=r"录音片段无效.*san\.wav"):
        ClipEngine(clip_copy)
    write_raw(clip_copy / "san.wav", bytes(4000), channels=1, width=2, rate=22050)
    with pytest.raises(ClipSetError, match=r"录音片段没有声音.*san\.wav"):
        ClipEngine(clip_copy)


def test_the_chime_is_optional(clip_copy: Path) -> None:
    (clip_copy / CHIME_FILE).unlink()
    engine = ClipEngine(clip_copy)
    assert engine.chime is None
    with Speaker(engine, SilentPlayer()) as speaker:  # falls back to the generated chime
        assert speaker.chime.name == "chime.wav" and speaker.chime.parent != clip_copy
        assert read_pcm(speaker.chime).seconds > 0.5


def test_clips_of_other_formats_are_converted(clip_copy: Path, tmp_path: Path) -> None:
    original = read_pcm(clip_copy / "qing.wav")
    # qing.wav as a 44.1 kHz stereo 24-bit recording, the same sound on both channels.
    louder = resample(original.samples, 22050, 44100)
    data = b"".join((s * 256).to_bytes(3, "little", signed=True) * 2 for s in louder)
    write_raw(clip_copy / "qing.wav", data, channels=2, width=3, rate=44100)
    engine = ClipEngine(clip_copy)
    assert engine.rate == 22050 and engine.converted == ["qing.wav"]
    back = engine.clips["请"]
    assert abs(len(back.samples) - len(original.samples)) <= 1
    # the same sound, brought to the set's loudness: its peak stands as far above it as before
    assert peak(back) - loudness(back) == pytest.approx(peak(original) - loudness(original), abs=0.5)
    assert loudness(back) == pytest.approx(engine.level, abs=0.1)
    engine.synthesize(call_text("A105", 12), tmp_path / "call.wav")
    assert frames(tmp_path / "call.wav")[0] == (1, 2, 22050)


def test_read_pcm_converts_widths_and_channels(tmp_path: Path) -> None:
    eight = write_raw(tmp_path / "8.wav", bytes([128, 255, 0]), channels=1, width=1, rate=8000)
    assert list(read_pcm(eight).samples) == [0, 127 * 256, -32768]
    deep = write_raw(tmp_path / "24.wav", bytes([0x56, 0x34, 0x12, 0x00, 0x00, 0x80]), channels=1, width=3,
                     rate=8000)
    assert list(read_pcm(deep).samples) == [0x1234, -32768]
    wide = write_raw(tmp_path / "32.wav", (0x12345678).to_bytes(4, "little"), channels=1, width=4, rate=8000)
    assert list(read_pcm(wide).samples) == [0x1234]
    stereo = array("h", [1000, 3000, -200, -400])
    pcm = read_pcm(write_raw(tmp_path / "st.wav", stereo.tobytes(), channels=2, width=2, rate=8000))
    assert (pcm.rate, list(pcm.samples)) == (8000, [2000, -300])


def test_resampling_keeps_length_and_pitch() -> None:
    rate = 48000
    tone = array("h", (round(10000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(rate // 2)))
    down = resample(tone, rate, 22050)
    assert len(down) == 11025
    crossings = sum(1 for a, b in itertools.pairwise(down) if a < 0 <= b)
    assert 218 <= crossings <= 222  # 440 Hz for half a second
    assert list(resample(array("h", [500] * 100), 22050, 44100)) == [500] * 200


def test_trim_silence_cuts_both_ends_with_fades() -> None:
    rate = 22050
    tone = [round(8000 * math.sin(2 * math.pi * 300 * i / rate)) for i in range(rate // 5)]
    padded = array("h", [3] * rate + tone + [-3] * rate)
    trimmed = trim_silence(padded, rate, pad=0.02)
    assert abs(len(trimmed) - (len(tone) + 2 * round(0.02 * rate))) < 20
    assert trimmed[0] == 0 and trimmed[-1] == 0
    assert len(trim_silence(array("h", [5] * 1000), rate)) == 0


# --- engines by name and configuration ----------------------------------------------------------------

def test_engines_are_chosen_by_name(clip_copy: Path) -> None:
    assert isinstance(make_engine(), EspeakEngine)
    assert isinstance(make_engine("espeak"), EspeakEngine)
    engine = make_engine(" Clips ", clips_dir=clip_copy, word_gap=0.3)
    assert isinstance(engine, ClipEngine) and engine.folder == clip_copy and engine.word_gap == 0.3
    assert make_engine("clips").folder == DEFAULT_CLIPS_DIR  # type: ignore[attr-defined]
    with pytest.raises(VoiceError, match="未知的语音引擎 'piper'"):
        make_engine("piper")


def test_choosing_espeak_without_it_is_said_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EngineMissing, match="找不到语音合成程序 espeak-ng"):
        make_engine("espeak")


def test_engines_from_configuration(clip_copy: Path) -> None:
    assert isinstance(engine_from_config(None), EspeakEngine)
    espeak = engine_from_config({"engine": "espeak", "voice": "cmn", "speed": 120})
    assert espeak == EspeakEngine(voice="cmn", speed=120)
    engine = engine_from_config({"engine": "clips", "clips_dir": "voice", "word_gap": 0}, base=clip_copy.parent)
    assert isinstance(engine, ClipEngine) and engine.folder == clip_copy and engine.word_gap == 0
    with pytest.raises(ClipSetError, match="找不到录音片段目录"):
        engine_from_config({"engine": "clips", "clips_dir": "missing"}, base=clip_copy.parent)
    with pytest.raises(VoiceError, match="不认识的项：engin"):
        engine_from_config({"engin": "clips"})
    with pytest.raises(VoiceError, match="speed 的值 'fast' 类型不对"):
        engine_from_config({"speed": "fast"})


# --- one WAV per announcement ---------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ["espeak", "clips"])
def test_announcement_wav_is_the_chime_then_the_call(engine: str, tmp_path: Path) -> None:
    out = announcement_wav("A105", 12, tmp_path / "out.wav", engine=engine)
    assert out == tmp_path / "out.wav"
    (channels, width, rate), data = frames(out)
    assert (channels, width) == (1, 2)
    samples = array("h", data)
    assert len(samples) / rate > 1.0
    chime = read_pcm(DEFAULT_CLIPS_DIR / CHIME_FILE if engine == "clips" else write_chime(tmp_path / "c.wav"))
    assert samples[:len(chime.samples)] == chime.samples  # the chime comes first, unchanged
    pause = round(rate * CHIME_PAUSE)
    assert not any(samples[len(chime.samples):len(chime.samples) + pause])  # then a pause
    assert max(map(abs, samples[len(chime.samples) + pause:])) > 3000  # then speech
    assert {p.name for p in tmp_path.iterdir()} - {"c.wav"} == {"out.wav"}  # no temporary file left


def test_announcement_wav_repeats_with_gaps(clips: ClipEngine, tmp_path: Path) -> None:
    once = clips.render(call_text("A010", 101))
    chime = read_pcm(clips.chime)  # type: ignore[arg-type]
    for repeat in (1, 2, 3):
        out = announcement_wav("A010", 101, tmp_path / f"{repeat}.wav", engine=clips, repeat=repeat)
        samples = read_pcm(out).samples
        gap = round(22050 * DEFAULT_GAP)
        assert len(samples) == (len(chime.samples) + round(22050 * CHIME_PAUSE)
                                + repeat * len(once.samples) + (repeat - 1) * gap)
        assert samples[-len(once.samples):] == once.samples


def test_announcement_wav_without_or_with_another_chime(clips: ClipEngine, tmp_path: Path) -> None:
    once = clips.render(call_text("B001", 3))
    plain = announcement_wav("B001", 3, tmp_path / "plain.wav", engine=clips, chime=False)
    assert read_pcm(plain).samples == once.samples
    ding = Pcm(44100, array("h", [4000, -4000] * 2205))  # another rate: converted to the clips' rate
    write_pcm(tmp_path / "ding.wav", ding)
    out = announcement_wav("B001", 3, tmp_path / "ding-call.wav", engine=clips, chime=tmp_path / "ding.wav")
    assert len(read_pcm(out).samples) == 2205 + round(22050 * CHIME_PAUSE) + len(once.samples)


def test_announcement_wav_refuses_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="票号"):
        announcement_wav("105", 3, tmp_path / "x.wav", engine="clips")
    with pytest.raises(ValueError, match="repeat"):
        announcement_wav("A105", 3, tmp_path / "x.wav", engine="clips", repeat=0)
    with pytest.raises(NoClipError, match="万"):
        announcement_wav("A105", 10000, tmp_path / "x.wav", engine="clips")
    assert not list(tmp_path.iterdir())


def test_a_speaker_on_clips_uses_their_chime_and_plays_what_announcement_wav_writes(tmp_path: Path) -> None:
    kept: list[bytes] = []

    class Keeps:
        def play(self, wav_path: Path) -> None:
            kept.append(wav_path.read_bytes())

        def interrupt(self) -> None:
            pass

    engine = make_engine("clips")
    with Speaker(engine, Keeps()) as speaker:
        assert speaker.chime == DEFAULT_CLIPS_DIR / CHIME_FILE
        speaker.call("A105", 12).result(timeout=60)
        bad = speaker.say("办理时限3个工作日")  # clips cannot say running text
        with pytest.raises(NoClipError):
            bad.result(timeout=60)
    written = announcement_wav("A105", 12, tmp_path / "call.wav", engine=engine, repeat=2)
    assert kept == [written.read_bytes()]


# --- making clip sets ---------------------------------------------------------------------------------

def test_placeholders_are_made_with_espeak(tmp_path: Path) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng 未安装：请运行 apt-get install espeak-ng")
    written = make_placeholder_clips(tmp_path / "made")
    assert sorted(p.name for p in written) == sorted([*CLIPS.values(), CHIME_FILE])
    engine = ClipEngine(tmp_path / "made")
    assert engine.rate == 22050 and engine.converted == []
    for word, pcm in engine.clips.items():  # as long as the shipped clip, give or take 20 %
        shipped = read_pcm(DEFAULT_CLIPS_DIR / CLIPS[word])
        assert abs(pcm.seconds - shipped.seconds) < 0.2 * shipped.seconds, word


def test_the_script_turns_recordings_into_a_clip_set(tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    for name in [*CLIPS.values(), CHIME_FILE]:  # "recorded" at 44.1 kHz in stereo, with silence around
        pcm = read_pcm(DEFAULT_CLIPS_DIR / name)
        padded = array("h", bytes(8820)) + resample(pcm.samples, 22050, 44100) + array("h", bytes(8820))
        stereo = array("h", (s for sample in padded for s in (sample, sample)))
        write_raw(recordings / name, stereo.tobytes(), channels=2, width=2, rate=44100)
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_voice_clips.py"), "--from", str(recordings),
                           "--out", str(tmp_path / "set"), "--rate", "22050"],
                          capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0, done.stderr
    assert "44 个文件" in done.stdout and "22050 Hz" in done.stdout
    engine = ClipEngine(tmp_path / "set")
    for word, pcm in engine.clips.items():
        shipped = read_pcm(DEFAULT_CLIPS_DIR / CLIPS[word])
        assert pcm.seconds < shipped.seconds + 0.1, word  # the added silence was cut
    assert frames(tmp_path / "set" / CHIME_FILE)[0] == (1, 2, 22050)


def test_incomplete_recordings_write_nothing(tmp_path: Path) -> None:
    recordings = Path(shutil.copytree(DEFAULT_CLIPS_DIR, tmp_path / "rec"))
    (recordings / "jiu.wav").unlink()
    with pytest.raises(ClipSetError, match=r"jiu\.wav"):
        import_recordings(recordings, tmp_path / "out")
    assert not (tmp_path / "out").exists()
