"""Offline Mandarin speech: the display board's calls and the kiosk's 长辈模式 read-aloud.

Four layers, each usable alone:

* Text normalisation (pure): `call_text()` builds a call ("请 A 零 一 二 号 到 十二 号窗口办理") and
  `speakable()` rewrites digits in running text into the words a person would say. espeak-ng's
  Mandarin voice reads digits wrongly for announcements (012 as 零十二, 105 as 一百五) and reads
  Latin letters followed by a digit as pinyin with a tone ("A4" as à), so nothing with a digit
  in it may reach it.
* An engine turns text into a WAV file (`VoiceEngine`: anything with `synthesize(text,
  wav_path)`). `EspeakEngine` (espeak-ng, voice `cmn-latn-pinyin`: the plain `cmn` voice of
  espeak-ng 1.51 speaks tone digits in English) is for development, CI and as a fallback;
  `hall.voice_clips.ClipEngine` joins recorded clips and is for the halls. `make_engine()` and
  `engine_from_config()` choose one by name.
* `render_announcement()` makes the one WAV of an announcement (the chime, then the text
  `repeat` times with pauses); `announcement_wav()` does it for a call. The Speaker plays
  exactly what they write.
* `Speaker` plays announcements one after the other from a queue served by one worker thread.
  `say()` only enqueues, so it is safe to call from the asyncio loop (kivy's included): the
  waits for the engine and for the player happen on the worker thread, never on the loop. It
  returns a `concurrent.futures.Future`; `await speaker.say_async(...)` (or
  `asyncio.wrap_future`) awaits the end of the announcement.

WAV handling uses the standard library only (`wave` and `array`; no audioop, no sox).
See docs/voice.md for the rules and the configuration.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unicodedata
import wave
from array import array
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

DEFAULT_VOICE = "cmn-latn-pinyin"
DEFAULT_SPEED = 140  # words per minute; espeak-ng's own default (175) is too fast for the elderly
DIGIT_WORDS = "零一二三四五六七八九"
PHONE_ONE = "幺"  # how 1 is said in phone numbers, so that it is not heard as 7

# --- numbers as words ---------------------------------------------------------------------------

_SECTION_UNITS = ("", "万", "亿", "万亿")


def _section(n: int) -> str:
    """0 < n < 10000, with 零 where a zero digit sits between non-zero ones (一千零五)."""
    words: list[str] = []
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit == 0:
            zero = zero or bool(words)
            continue
        if zero:
            words.append("零")
            zero = False
        words.append(DIGIT_WORDS[digit] + unit)
    return "".join(words)


def cardinal(n: int) -> str:
    """A whole number as it is read out: 10 → 十, 12 → 十二, 101 → 一百零一, 110 → 一百一十."""
    if n < 0:
        return "负" + cardinal(-n)
    if n == 0:
        return "零"
    sections: list[int] = []
    while n:
        sections.append(n % 10000)
        n //= 10000
    if len(sections) > len(_SECTION_UNITS):
        raise ValueError("数字太大，无法朗读")
    words = ""
    gap = False
    for index in reversed(range(len(sections))):
        section = sections[index]
        if section == 0:
            gap = gap or bool(words)
            continue
        if words and (gap or section < 1000):
            words += "零"
        words += _section(section) + _SECTION_UNITS[index]
        gap = False
    # 十二, not 一十二, when the number starts with it (but 一百一十 keeps its 一).
    return words[1:] if words.startswith("一十") else words


def read_digits(digits: str, *, one: str = "一", sep: str = " ") -> str:
    """Digits one by one: "012" → "零 一 二"."""
    return sep.join(one if d == "1" else DIGIT_WORDS[int(d)] for d in digits)


# --- calls ---------------------------------------------------------------------------------------

_TICKET = re.compile(r"([A-Z]+)(\d+)")


def spell_ticket(ticket: str) -> str:
    """A ticket number as said in a call: "A012" → "A 零 一 二", "AB105" → "A B 一 零 五".

    Letters are spaced one by one: espeak-ng reads a single letter by its name, but a run of
    letters as an English word.
    """
    number = unicodedata.normalize("NFKC", ticket).strip().upper()
    found = _TICKET.fullmatch(number)
    if not found:
        raise ValueError(f"票号 {ticket!r} 格式不对：应为字母加数字，如 A012")
    letters, digits = found.groups()
    return " ".join([*letters, read_digits(digits)])


def call_text(ticket: str, window: int) -> str:
    """The words of a call: call_text("A012", 12) == "请 A 零 一 二 号 到 十二 号窗口办理"."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"窗口号 {window!r} 不对：应为正整数")
    return f"请 {spell_ticket(ticket)} 号 到 {cardinal(window)} 号窗口办理"


# --- running text --------------------------------------------------------------------------------

# Full-width digits and Latin letters, as typed on Chinese keyboards, to their ASCII forms.
_FULL_WIDTH = {code: code - 0xFEE0 for code in itertools.chain(
    range(0xFF10, 0xFF1A), range(0xFF21, 0xFF3B), range(0xFF41, 0xFF5B))}
# What a number may count; a number right before one of these is an amount, not a code.
_UNITS = "个份张位名件本次天日月年周时分秒元角万亿人户号项种页岁倍平米克斤吨度元%％"
_TWO_BEFORE = "个份张位名件本次天周项种页岁倍"  # 2 before these is 两 (两个工作日)

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_TICKET_IN_TEXT = re.compile(r"(?<![A-Za-z\d])([A-Z]{1,2})(\d{3})(?![\d.])")
_DATE = re.compile(r"(?<![\d.])(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?![\d.])")
_YEAR = re.compile(r"(?<![\d.])(\d{4})\s*年")
_PHONES = (
    re.compile(r"(?<![\d.])0\d{2,3}[-－]\d{7,8}(?![\d.])"),              # 0871-12345678
    re.compile(r"(?<![\d.])1[3-9]\d{9}(?![\d.])"),                       # mobile
    re.compile(r"(?<![\d.])[48]00[-－]?\d{3}[-－]?\d{4}(?![\d.])"),       # 400/800 lines
    re.compile(rf"(?<![\d.¥￥])(?:12\d{{3}}|95\d{{3}})(?![\d.]|\s*[{_UNITS}])"),  # 12345, 95598
)
_RANGE = re.compile(r"(?<=\d)\s*[-－~～–—]\s*(?=\d)")
_TIME = re.compile(r"(?<![\d:：])(\d{1,2})[:：](\d{2})(?![\d:：])")
_MONEY_SIGN = re.compile(r"[¥￥]\s*(\d+(?:\.\d{1,2})?)(?![\d.])\s*元?")
_MONEY_YUAN = re.compile(r"(?<![\d.])(\d+(?:\.\d{1,2})?)\s*元")
_PERCENT = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*[%％]")
_DECIMAL = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?![\d.])")
_TWO = re.compile(rf"(?<![\d.第])2(?=\s*(?:[{_TWO_BEFORE}]|小时))")
_INTEGER = re.compile(r"\d+")
_LATIN_RUN = re.compile(r"[A-Za-z]{2,}")


def _phone(found: re.Match[str]) -> str:
    groups = re.split(r"[-－]", found.group(0))
    return "，".join(read_digits(group, one=PHONE_ONE) for group in groups)


def _date(found: re.Match[str]) -> str:
    year, month, day = found.group(1), int(found.group(2)), int(found.group(3))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return found.group(0)
    return f"{read_digits(year, sep='')}年{cardinal(month)}月{cardinal(day)}日"


def _time(found: re.Match[str]) -> str:
    hour, minute = int(found.group(1)), int(found.group(2))
    if hour > 24 or minute > 59:
        return found.group(0)
    if minute == 0:
        return f"{cardinal(hour)}点"
    said = cardinal(minute) if minute >= 10 else "零" + DIGIT_WORDS[minute]
    return f"{cardinal(hour)}点{said}分"


def _decimal(number: str) -> str:
    whole, _, fraction = number.partition(".")
    words = cardinal(int(whole))
    return words + "点" + read_digits(fraction, sep="") if fraction else words


def _money(found: re.Match[str]) -> str:
    whole, _, fraction = found.group(1).partition(".")
    yuan = int(whole)
    jiao, fen = (int(d) for d in (fraction + "00")[:2])
    words = ""
    if yuan or not (jiao or fen):
        words = ("两" if yuan == 2 else cardinal(yuan)) + "元"
    if jiao:
        words += DIGIT_WORDS[jiao] + "角"
    if fen:
        words += ("零" if words and not jiao else "") + DIGIT_WORDS[fen] + "分"
    return words


def _integer(found: re.Match[str]) -> str:
    digits = found.group(0)
    if len(digits) > 1 and digits.startswith("0"):
        return read_digits(digits, sep="")         # codes: 007
    if len(digits) >= 7:
        return read_digits(digits, one=PHONE_ONE, sep="")  # phone numbers and codes
    return cardinal(int(digits))


def speakable(text: str) -> str:
    """Running text with every digit rewritten as words, ready for espeak-ng.

    Phone numbers digit by digit (1 as 幺), times as 八点三十分, amounts of money in 元/角/分,
    dates and years with the year digit by digit, percentages, decimals, ranges (1-3 → 一到三),
    counts (3个工作日 → 三个工作日, 2个 → 两个), ticket numbers as in calls; any other number as a
    cardinal, unless it starts with 0 or has seven digits or more (a code: digit by digit).
    Latin letter runs are spaced, so that each is read as a letter name.
    """
    text = text.translate(_FULL_WIDTH)
    text = _THOUSANDS.sub("", text)
    text = _TICKET_IN_TEXT.sub(lambda m: spell_ticket(m.group(0)), text)
    text = _DATE.sub(_date, text)
    text = _YEAR.sub(lambda m: read_digits(m.group(1), sep="") + "年", text)
    for pattern in _PHONES:
        text = pattern.sub(_phone, text)
    text = _RANGE.sub("到", text)
    text = _TIME.sub(_time, text)
    text = _MONEY_SIGN.sub(_money, text)
    text = _MONEY_YUAN.sub(_money, text)
    text = _PERCENT.sub(lambda m: "百分之" + _decimal(m.group(1)), text)
    text = _DECIMAL.sub(lambda m: _decimal(m.group(0)), text)
    text = _TWO.sub("两", text)
    text = _INTEGER.sub(_integer, text)
    return _LATIN_RUN.sub(lambda m: " ".join(m.group(0).upper()), text)


# --- engines ---------------------------------------------------------------------------------------

class VoiceError(RuntimeError):
    """Speech could not be made or played; the message says what to do, in Chinese."""


class EngineMissing(VoiceError):
    """The speech program is not installed."""


class VoiceEngine(Protocol):
    """Anything that turns (already normalised) text into a PCM WAV file: `EspeakEngine`, `ClipEngine`."""

    def synthesize(self, text: str, wav_path: Path) -> None: ...


def synthesize(text: str, wav_path: str | os.PathLike[str], voice: str = DEFAULT_VOICE,
               speed: int = DEFAULT_SPEED, *, executable: str = "espeak-ng", timeout: float = 60.0) -> Path:
    """Speak `text` into `wav_path` with espeak-ng; returns the path of a checked, non-empty WAV.

    The text goes in on stdin (no shell, nothing parsed as an option) and is written to a
    temporary file that replaces `wav_path` only once it has been checked.
    """
    if not text.strip():
        raise ValueError("没有要朗读的文字")
    program = shutil.which(executable)
    if program is None:
        raise EngineMissing(f"找不到语音合成程序 {executable}：请先安装"
                            "（Debian/Ubuntu：sudo apt-get install espeak-ng），再重新启动本程序。")
    target = Path(wav_path)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
    command = [program, "-v", voice, "-s", str(int(speed)), "-b", "1", "-w", str(partial), "--stdin"]
    try:
        try:
            done = subprocess.run(command, input=text.encode("utf-8"), capture_output=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise VoiceError(f"语音合成超时（{timeout:.0f} 秒）：请检查 espeak-ng 是否正常。") from exc
        problem = done.stderr.decode("utf-8", "replace").strip()
        if done.returncode != 0:
            raise VoiceError(f"语音合成失败（espeak-ng 退出码 {done.returncode}）：{problem or '无错误信息'}。"
                             f"请检查语音 {voice!r} 是否已安装（espeak-ng --voices=cmn）。")
        seconds = wav_seconds(partial)
        if seconds <= 0:
            raise VoiceError(f"语音合成没有产生声音：{problem or '文件为空'}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def wav_seconds(path: str | os.PathLike[str]) -> float:
    """Length of a WAV file; a VoiceError if it is missing or not a WAV."""
    try:
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes() / wav.getframerate()
    except (OSError, EOFError, wave.Error) as exc:
        raise VoiceError(f"语音文件无效：{path}（{exc}）") from exc


@dataclass(frozen=True)
class EspeakEngine:
    """espeak-ng with the pinyin Mandarin voice; the development, CI and fallback engine."""

    voice: str = DEFAULT_VOICE
    speed: int = DEFAULT_SPEED
    executable: str = "espeak-ng"

    def synthesize(self, text: str, wav_path: Path) -> None:
        synthesize(text, wav_path, self.voice, self.speed, executable=self.executable)


# --- the chime ---------------------------------------------------------------------------------------

def write_chime(path: str | os.PathLike[str], tones: Sequence[tuple[float, float]] = ((784.0, 0.35), (523.25, 0.6)),
                rate: int = 22050, volume: float = 0.45) -> Path:
    """A soft two-tone "ding-dong" (G5 then C5) as a 16-bit mono WAV, made with the standard library.

    Each tone starts with a 10 ms fade-in and dies away exponentially, like a struck bell,
    so there are no clicks.
    """
    samples = array("h")
    for frequency, seconds in tones:
        count = int(rate * seconds)
        attack = max(1, int(rate * 0.01))
        for i in range(count):
            envelope = min(1.0, i / attack) * math.exp(-4.0 * i / count)
            value = volume * envelope * (math.sin(2 * math.pi * frequency * i / rate)
                                         + 0.3 * math.sin(4 * math.pi * frequency * i / rate)) / 1.3
            samples.append(int(value * 32767))
    target = Path(path)
    with wave.open(str(target), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return target


# --- WAV audio (standard library only) -------------------------------------------------------------

FULL_SCALE = 32767


@dataclass(frozen=True)
class Pcm:
    """Mono 16-bit audio in memory: the one format engines, clips and announcements are joined in."""

    rate: int
    samples: array  # array("h")

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate

    def at_rate(self, rate: int) -> Pcm:
        """The same sound at another sample rate (itself when it already has that rate)."""
        return self if rate == self.rate else Pcm(rate, resample(self.samples, self.rate, rate))


def _int16(data: bytes, width: int) -> array:
    """Little-endian PCM frames of 8, 16, 24 or 32 bits as 16-bit samples (the top 16 bits kept)."""
    if width == 1:  # 8-bit WAV is unsigned
        return array("h", ((byte - 128) << 8 for byte in data))
    if width == 2:
        samples = array("h", data)
        if sys.byteorder == "big":
            samples.byteswap()
        return samples
    if width in (3, 4):
        return array("h", (int.from_bytes(data[i + width - 2:i + width], "little", signed=True)
                           for i in range(0, len(data) - width + 1, width)))
    raise VoiceError(f"不支持 {width * 8} 位的 WAV：请转为 16 位")


def _mono(samples: array, channels: int) -> array:
    if channels == 1:
        return samples
    return array("h", (sum(frame) // channels
                       for frame in zip(*(samples[c::channels] for c in range(channels)), strict=False)))


def read_pcm(path: str | os.PathLike[str]) -> Pcm:
    """Any PCM WAV (8/16/24/32-bit, mono or more channels) as mono 16-bit at its own rate.

    A file that is missing or not a PCM WAV (e.g. a float WAV or an MP3 renamed) is a
    VoiceError with a Chinese message.
    """
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            data = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise VoiceError(f"语音文件无效：{path}（{exc}）。需要 PCM 编码的 WAV 文件。") from exc
    return Pcm(rate, _mono(_int16(data, width), channels))


def resample(samples: array, rate: int, to_rate: int) -> array:
    """Linear-interpolation resampling; when lowering the rate, a moving average first.

    Good enough for speech and chimes. Clips recorded at one rate never go through it.
    """
    if rate == to_rate or not samples:
        return array("h", samples)
    source: Sequence[float] = samples
    if to_rate < rate:  # a crude low-pass against aliasing: average over one output period
        width = max(1, round(rate / to_rate))
        running = list(itertools.accumulate(samples, initial=0))
        half = width // 2
        count = len(samples)
        source = [(running[min(count, i + width - half)] - running[max(0, i - half)])
                  / (min(count, i + width - half) - max(0, i - half)) for i in range(count)]
    last = len(source) - 1
    step = rate / to_rate
    out = array("h")
    for i in range(max(1, round(len(source) * to_rate / rate))):
        position = i * step
        j = min(int(position), last)
        fraction = position - j
        nxt = source[min(j + 1, last)]
        out.append(max(-FULL_SCALE - 1, min(FULL_SCALE, round(source[j] + (nxt - source[j]) * fraction))))
    return out


def silence(rate: int, seconds: float) -> array:
    """`seconds` of silence as 16-bit samples."""
    return array("h", bytes(2 * max(0, round(rate * seconds))))


def write_pcm(path: str | os.PathLike[str], pcm: Pcm) -> Path:
    """Write mono 16-bit audio as a WAV, through a temporary file that replaces `path` once complete."""
    target = Path(path)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
    data = pcm.samples
    if sys.byteorder == "big":
        data = array("h", data)
        data.byteswap()
    try:
        with wave.open(str(partial), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(pcm.rate)
            wav.writeframes(data.tobytes())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def join(parts: Sequence[array]) -> array:
    """Samples one after the other."""
    out = array("h")
    for part in parts:
        out.extend(part)
    return out


# --- players ------------------------------------------------------------------------------------------

class Player(Protocol):
    """Plays one WAV to the end (blocking the worker thread); `interrupt()` may come from any thread."""

    def play(self, wav_path: Path) -> None: ...

    def interrupt(self) -> None: ...


class CommandPlayer:
    """Plays through a command line player such as `aplay -q` or `paplay`."""

    def __init__(self, command: Sequence[str]):
        self.command = list(command)
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._interrupted = False

    def play(self, wav_path: Path) -> None:
        with self._lock:
            self._interrupted = False
            self._process = subprocess.Popen([*self.command, str(wav_path)], stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _, error = self._process.communicate()
        finally:
            with self._lock:
                process, self._process = self._process, None
        if process.returncode != 0 and not self._interrupted:
            raise VoiceError(f"播放失败（{self.command[0]} 退出码 {process.returncode}）："
                             f"{error.decode('utf-8', 'replace').strip() or '无错误信息'}。请检查音箱和声卡设置。")

    def interrupt(self) -> None:
        with self._lock:
            self._interrupted = True
            if self._process is not None and self._process.poll() is None:
                self._process.terminate()


class SilentPlayer:
    """No audio device: nothing is played; says so once in the log, then each skipped file at debug."""

    def __init__(self, reason: str = "未检测到音频设备（没有声卡或声音服务）"):
        self.reason = reason
        self._told = False

    def play(self, wav_path: Path) -> None:
        if not self._told:
            self._told = True
            log.warning("%s：语音只合成、不播放。", self.reason)
        log.debug("未播放（无音频设备）：%s，%.1f 秒", wav_path, wav_seconds(wav_path))

    def interrupt(self) -> None:
        pass


def _pulse_running(which: Callable[[str], str | None]) -> bool:
    pactl = which("pactl")
    if pactl is None:
        return bool(os.environ.get("PULSE_SERVER"))
    try:
        return subprocess.run([pactl, "info"], capture_output=True, timeout=3, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _alsa_has_card(cards: Path) -> bool:
    try:
        listing = cards.read_text(errors="replace")
    except OSError:
        return False
    return bool(listing.strip()) and "no soundcards" not in listing


def find_player(which: Callable[[str], str | None] = shutil.which,
                cards: Path = Path("/proc/asound/cards")) -> Player:
    """paplay when a PulseAudio/PipeWire server answers, else aplay when ALSA has a card, else silence."""
    paplay = which("paplay")
    if paplay is not None and _pulse_running(which):
        return CommandPlayer([paplay])
    aplay = which("aplay")
    if aplay is not None and _alsa_has_card(cards):
        return CommandPlayer([aplay, "-q"])
    return SilentPlayer()


# --- announcements -------------------------------------------------------------------------------------

DEFAULT_GAP = 0.6  # seconds between the repeats of a call
CHIME_PAUSE = 0.3  # seconds between the chime and the words
ENGINES = ("espeak", "clips")


def render_announcement(engine: VoiceEngine, text: str, out: str | os.PathLike[str], *, repeat: int = 1,
                        chime: str | os.PathLike[str] | None = None, gap: float = DEFAULT_GAP,
                        chime_pause: float = CHIME_PAUSE) -> Path:
    """Write one WAV: the chime (if given), a pause, then `text` said `repeat` times, `gap` seconds apart.

    `text` goes to the engine as it is (callers normalise it). The result is mono 16-bit at the
    engine's rate; a chime of another format is converted. This is the only place an
    announcement is put together: `Speaker` plays its output and `announcement_wav()` saves it.
    """
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError("repeat 至少为 1")
    target = Path(out)
    spoken = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.speech.wav")
    try:
        engine.synthesize(text, spoken)
        speech = read_pcm(spoken)
    finally:
        spoken.unlink(missing_ok=True)
    rate = speech.rate
    parts: list[array] = []
    if chime is not None:
        parts += [read_pcm(chime).at_rate(rate).samples, silence(rate, chime_pause)]
    for round_ in range(repeat):
        if round_:
            parts.append(silence(rate, gap))
        parts.append(speech.samples)
    return write_pcm(target, Pcm(rate, join(parts)))


def default_chime(engine: VoiceEngine, folder: str | os.PathLike[str]) -> Path:
    """The engine's own chime (a clip set's `chime.wav`) if it has one, else `write_chime()` into `folder`."""
    own = getattr(engine, "chime", None)
    if own is not None:
        return Path(own)
    return write_chime(Path(folder) / "chime.wav")


def make_engine(name: str = "espeak", *, clips_dir: str | os.PathLike[str] | None = None,
                word_gap: float | None = None, voice: str = DEFAULT_VOICE, speed: int = DEFAULT_SPEED,
                executable: str = "espeak-ng") -> VoiceEngine:
    """An engine by name: "espeak" (development, CI, fallback) or "clips" (recorded clips, for halls).

    The choice is checked now, so that a misconfigured board says so when it starts rather
    than at its first call: espeak-ng must be installed (`EngineMissing`), and the clip folder
    (default `assets/voice/`) must hold every clip in a usable format
    (`hall.voice_clips.ClipSetError`).
    """
    key = str(name).strip().lower()
    if key == "espeak":
        if shutil.which(executable) is None:
            raise EngineMissing(f"找不到语音合成程序 {executable}：请先安装（Debian/Ubuntu：sudo apt-get install "
                                "espeak-ng），或在配置中改用录音片段（engine = \"clips\"）。")
        return EspeakEngine(voice, speed, executable)
    if key == "clips":
        # Imported here because hall.voice_clips imports this module.
        from hall.voice_clips import DEFAULT_CLIPS_DIR, DEFAULT_WORD_GAP, ClipEngine

        return ClipEngine(clips_dir or DEFAULT_CLIPS_DIR,
                          word_gap=DEFAULT_WORD_GAP if word_gap is None else word_gap)
    raise VoiceError(f"未知的语音引擎 {name!r}：可选 espeak（开发、测试用）或 clips（录音片段，大厅正式使用）。")


_CONFIG_TYPES: dict[str, tuple[type, ...]] = {
    "engine": (str,), "clips_dir": (str, os.PathLike), "word_gap": (int, float), "voice": (str,), "speed": (int,),
}


def engine_from_config(config: Mapping[str, object] | None = None, *,
                       base: str | os.PathLike[str] | None = None) -> VoiceEngine:
    """The engine a configuration table describes, e.g. a board's `[voice]` section:

        engine = "clips"            # or "espeak" (the default)
        clips_dir = "assets/voice"  # relative to `base`; default: the shipped assets/voice/
        word_gap = 0.1              # seconds between clips
        voice = "cmn-latn-pinyin"   # espeak-ng only
        speed = 140                 # espeak-ng only, words per minute

    Unknown keys and wrong types are refused (a typo must not silently fall back to espeak).
    """
    settings = dict(config or {})
    unknown = sorted(set(settings) - set(_CONFIG_TYPES))
    if unknown:
        raise VoiceError(f"语音配置中有不认识的项：{'、'.join(unknown)}（可用：{'、'.join(_CONFIG_TYPES)}）")
    for key, value in settings.items():
        if isinstance(value, bool) or not isinstance(value, _CONFIG_TYPES[key]):
            raise VoiceError(f"语音配置 {key} 的值 {value!r} 类型不对")
    clips_dir = settings.get("clips_dir")
    if clips_dir is not None and base is not None:
        clips_dir = Path(base) / Path(clips_dir)  # an absolute clips_dir stays as it is
    word_gap = settings.get("word_gap")
    return make_engine(settings.get("engine", "espeak"), clips_dir=clips_dir,  # type: ignore[arg-type]
                       word_gap=None if word_gap is None else float(word_gap),  # type: ignore[arg-type]
                       voice=settings.get("voice", DEFAULT_VOICE),  # type: ignore[arg-type]
                       speed=settings.get("speed", DEFAULT_SPEED))  # type: ignore[arg-type]


def announcement_wav(ticket: str, window: int, out: str | os.PathLike[str], *,
                     engine: str | VoiceEngine = "espeak", repeat: int = 1,
                     chime: bool | str | os.PathLike[str] = True, gap: float = DEFAULT_GAP,
                     clips_dir: str | os.PathLike[str] | None = None) -> Path:
    """Write the call of `ticket` to `window` as ONE WAV: the chime, then the call `repeat` times.

    The same audio `Speaker.call()` plays (both go through `render_announcement()`).
    `engine` is a name for `make_engine()` ("espeak" or "clips", with `clips_dir`) or an engine.
    `chime` is True for the engine's chime (a clip set's own, else the generated one), False
    for none, or a WAV file. Returns `out`.
    """
    text = call_text(ticket, window)
    voice = make_engine(engine, clips_dir=clips_dir) if isinstance(engine, str) else engine
    with tempfile.TemporaryDirectory(prefix="hall-voice-") as folder:
        if chime is True:
            sound: str | os.PathLike[str] | None = default_chime(voice, folder)
        else:
            sound = chime or None
        return render_announcement(voice, text, out, repeat=repeat, chime=sound, gap=gap)


# --- the speaker ------------------------------------------------------------------------------------

@dataclass
class _Job:
    text: str
    repeat: int
    chime: bool
    generation: int
    future: Future[None]


class Speaker:
    """Announcements in order, never overlapping: one queue, one worker thread.

    `say()` and `call()` return at once with a Future that completes when the announcement has
    been played (or was skipped by `stop()`), or fails with the VoiceError that stopped it; a
    failed announcement is logged and the next one still plays.

    Each announcement is rendered by `render_announcement()` into one WAV (chime, pause, the
    words `repeat` times with `gap` seconds between) and played once, so a call sounds exactly
    like the file `announcement_wav()` writes. Without `chime`, the engine's own chime is used
    (a clip set's `chime.wav`), else a generated one.
    """

    def __init__(self, engine: VoiceEngine | None = None, player: Player | None = None, *,
                 chime: str | os.PathLike[str] | None = None, call_repeat: int = 2, gap: float = DEFAULT_GAP,
                 workdir: str | os.PathLike[str] | None = None):
        self.engine: VoiceEngine = engine or EspeakEngine()
        self.player: Player = player or find_player()
        self.call_repeat = call_repeat
        self.gap = gap
        self._own_dir = tempfile.TemporaryDirectory(prefix="hall-voice-") if workdir is None else None
        self._dir = Path(self._own_dir.name if self._own_dir else workdir)
        self.chime = Path(chime) if chime else default_chime(self.engine, self._dir)
        read_pcm(self.chime)  # a bad chime file is a configuration error: say so now
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._generation = 0
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="speaker", daemon=True)
        self._worker.start()

    # -- what callers use

    def _enqueue(self, text: str, repeat: int, chime: bool) -> Future[None]:
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
            raise ValueError("repeat 至少为 1")
        future: Future[None] = Future()
        with self._lock:
            if self._closed:
                raise VoiceError("语音播报已关闭")
            self._jobs.put(_Job(text, repeat, chime, self._generation, future))
        return future

    def say(self, text: str, repeat: int = 1, *, chime: bool = False) -> Future[None]:
        """Queue `text` (digits are rewritten with `speakable()`), `repeat` times, after the chime if asked."""
        return self._enqueue(speakable(text), repeat, chime)

    def call(self, ticket: str, window: int, repeat: int | None = None) -> Future[None]:
        """The chime, then the call `repeat` times (default `call_repeat`): `announcement_wav()`'s audio."""
        return self._enqueue(call_text(ticket, window), self.call_repeat if repeat is None else repeat, True)

    async def say_async(self, text: str, repeat: int = 1, *, chime: bool = False) -> None:
        """`say()` awaited from asyncio code: the loop keeps running while it plays."""
        await asyncio.wrap_future(self.say(text, repeat, chime=chime))

    def stop(self) -> None:
        """Drop everything queued and cut the announcement playing now (e.g. on leaving a page)."""
        with self._lock:
            self._generation += 1
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:  # close() is waiting for it
                    self._jobs.put(None)
                    break
                job.future.cancel()
        self.player.interrupt()

    def close(self) -> None:
        """Stop, end the worker and remove the temporary files."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.stop()
        self._jobs.put(None)
        self._worker.join()
        if self._own_dir is not None:
            self._own_dir.cleanup()

    def __enter__(self) -> Speaker:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the worker thread

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if not job.future.set_running_or_notify_cancel():
                continue
            try:
                self._perform(job)
            except Exception as exc:
                log.error("语音播报失败：%s（%s）", exc, job.text)
                job.future.set_exception(exc)
            else:
                job.future.set_result(None)

    def _current(self, job: _Job) -> bool:
        return job.generation == self._generation

    def _perform(self, job: _Job) -> None:
        wav = self._dir / f"say-{next(self._counter)}.wav"
        try:
            render_announcement(self.engine, job.text, wav, repeat=job.repeat,
                                chime=self.chime if job.chime else None, gap=self.gap)
            if self._current(job):  # stop() during synthesis drops it; during playback, interrupts it
                self.player.play(wav)
        finally:
            wav.unlink(missing_ok=True)
