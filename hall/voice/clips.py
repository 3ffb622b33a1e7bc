"""Calls made from recorded clips: the display board's voice in the halls.

`ClipEngine` is a `hall.voice.engines.VoiceEngine`: it takes the text `call_text()` produces
("请 A 一 零 五 号 到 十二 号窗口办理"), splits it into clip words
(请 A 一 零 五 号 到 十 二 号窗口办理), and joins the matching WAV files from a clip folder
with a short silence between words. Text it has no clips for is refused with `NoClipError`
(nothing is guessed, nothing is skipped): clips can say calls, nothing else.

The clip set (`CLIPS`, files in `assets/voice/`, listed in its README.md) covers every call for
tickets of letters A–Z and digits, and windows 1–9999. The shipped files are placeholders
made with espeak-ng by `scripts/make_voice_clips.py`; halls should record their own, and
`import_recordings()` (the script's `--from` option) converts and trims such recordings.

Clips should all be mono 16-bit PCM at one sample rate. Others (8/24/32-bit, stereo, another
rate) are converted when the set is loaded, in pure Python, and the log says which. When loaded,
every clip is also brought to one loudness (`TARGET_LOUDNESS`, peaks kept under `PEAK_CEILING`),
so that no word of a call stands out louder or softer than the others.

The speaking rate (`pace`, per cent) acts on the silence between clips only: a recorded word
keeps the length it was recorded at (no time-stretching, which would need signal processing
this package does without and would blur the recordings).
"""

from __future__ import annotations

import copy
import logging
import os
import unicodedata
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from hall.voice.errors import VoiceError
from hall.voice.espeak import DEFAULT_PACE, DEFAULT_SPEED, DEFAULT_VOICE, check_pace, synthesize
from hall.voice.wav import FULL_SCALE, Pcm, amplified, join, loudness, peak, read_pcm, silence, write_chime, write_pcm
from hall.voice.words import CLAUSE_BREAK

log = logging.getLogger(__name__)

DEFAULT_CLIPS_DIR = Path(__file__).resolve().parents[2] / "assets" / "voice"
DEFAULT_WORD_GAP = 0.1  # seconds of silence between two clips
CHIME_FILE = "chime.wav"  # optional in a clip folder; used before calls instead of the generated chime
TARGET_LOUDNESS = -20.0  # dBFS: every clip's voiced part is brought to this level (`wav.loudness`)
PEAK_CEILING = -1.0  # dBFS: no clip's peak goes above it; a peaky clip lowers the whole set's level

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = {"零": "ling", "一": "yi", "二": "er", "三": "san", "四": "si",
           "五": "wu", "六": "liu", "七": "qi", "八": "ba", "九": "jiu"}

# Every clip: the word it says → its file name (ASCII, so that any copy tool or zip keeps it).
CLIPS: dict[str, str] = {
    "请": "qing.wav",
    "号": "hao.wav",
    "到": "dao.wav",
    "号窗口办理": "hao_chuangkou_banli.wav",
    **{word: f"{pinyin}.wav" for word, pinyin in _DIGITS.items()},
    "十": "shi.wav",
    "百": "bai.wav",
    "千": "qian.wav",
    **{letter: f"letter_{letter.lower()}.wav" for letter in _LETTERS},
}

_LONGEST = max(map(len, CLIPS))


class ClipSetError(VoiceError):
    """The clip folder is missing, incomplete or holds a file that is not usable audio."""


class NoClipError(VoiceError):
    """The text has words no clip says; `missing` lists them."""

    def __init__(self, text: str, missing: list[str]):
        self.text = text
        self.missing = missing
        quoted = "、".join(f"“{word}”" for word in missing)
        super().__init__(f"录音片段里没有 {quoted}，无法用录音播报“{text}”。录音片段只能播报叫号"
                         "（请…号到…号窗口办理，票号为字母加数字，窗口号 1–9999）；"
                         "其他内容请改用 espeak 引擎，或补录所缺的片段。")


def _letter(char: str) -> str:
    """A full-width or lower-case Latin letter as its ASCII capital; anything else unchanged."""
    plain = unicodedata.normalize("NFKC", char)
    return plain.upper() if len(plain) == 1 and plain.isascii() and plain.isalpha() else char


def clip_words(text: str, words: Iterable[str] = CLIPS) -> list[str]:
    """The clip words that say `text`, in order; `NoClipError` if any part has no clip.

    Words are separated by spaces, or by the ， between the calls of a merged sentence
    (`CLAUSE_BREAK`); a word that is not a clip itself is split into the longest clips that
    make it up (十二 → 十 二, 一百零一 → 一 百 零 一). Full-width and lower-case letters count as
    their ASCII capitals.
    """
    known = set(words)
    longest = max(map(len, known), default=1)
    found: list[str] = []
    missing: list[str] = []
    for word in "".join(map(_letter, text)).replace(CLAUSE_BREAK, " ").split():
        start = 0
        unknown_from: int | None = None
        while start < len(word):
            for size in range(min(longest, len(word) - start), 0, -1):
                if word[start:start + size] in known:
                    break
            else:
                size = 0
            if size:
                if unknown_from is not None:
                    missing.append(word[unknown_from:start])
                    unknown_from = None
                found.append(word[start:start + size])
                start += size
            else:
                if unknown_from is None:
                    unknown_from = start
                start += 1
        if unknown_from is not None:
            missing.append(word[unknown_from:])
    if missing:
        raise NoClipError(text, list(dict.fromkeys(missing)))
    if not found:
        raise ValueError("没有要朗读的文字")
    return found


def trim_silence(samples: array, rate: int, *, threshold: float = 0.01, pad: float = 0.02,
                 fade: float = 0.005) -> array:
    """Cut leading and trailing silence, keeping `pad` seconds either side, with short fades.

    Silence is anything quieter than `threshold` of full scale (1 %, like sox's `silence … 1%`).
    The fades (`fade` seconds) keep a cut from clicking. Audio with no sound at all comes back
    empty.
    """
    level = threshold * FULL_SCALE
    loud = [i for i, sample in enumerate(samples) if abs(sample) > level]
    if not loud:
        return array("h")
    keep = round(pad * rate)
    out = array("h", samples[max(0, loud[0] - keep):loud[-1] + 1 + keep])
    steps = min(round(fade * rate), len(out) // 2)
    for i in range(steps):
        gain = i / steps
        out[i] = round(out[i] * gain)
        out[-1 - i] = round(out[-1 - i] * gain)
    return out


class ClipEngine:
    """Calls joined from recorded clips, `word_gap` seconds apart at the normal pace; a `VoiceEngine`.

    Every clip of `CLIPS` is loaded and checked now: a missing folder, a missing clip, a file
    that is not a PCM WAV, or a silent clip is a `ClipSetError` with a Chinese message. Clips
    are brought to mono 16-bit at `rate` (default: the rate most clips have), then to one
    loudness, `level` (`TARGET_LOUDNESS`, or lower if a clip's peaks would pass `PEAK_CEILING`).
    `pace` (per cent) divides the silence between clips (`gap`). `chime` is the folder's
    `chime.wav`, or None.
    """

    def __init__(self, folder: str | os.PathLike[str] = DEFAULT_CLIPS_DIR, *,
                 word_gap: float = DEFAULT_WORD_GAP, rate: int | None = None, pace: int = DEFAULT_PACE):
        if word_gap < 0:
            raise ValueError("word_gap 不能为负数")
        check_pace(pace)
        self.folder = Path(folder)
        self.word_gap = float(word_gap)
        self.pace = pace
        if not self.folder.is_dir():
            raise ClipSetError(f"找不到录音片段目录：{self.folder}。请按 assets/voice/README.md 录制片段放入该目录，"
                               "或在配置中改用 espeak 引擎（engine = \"espeak\"）。")
        absent = [f"{name}（{word}）" for word, name in CLIPS.items() if not (self.folder / name).is_file()]
        if absent:
            raise ClipSetError(f"录音片段不全：{self.folder} 中缺少 {len(absent)} 个文件：{'、'.join(absent)}。"
                               "请按 assets/voice/README.md 补录，或在配置中改用 espeak 引擎（engine = \"espeak\"）。")
        loaded = {word: self._load(self.folder / name) for word, name in CLIPS.items()}
        rates = Counter(pcm.rate for pcm in loaded.values())
        self.rate = rate or max(rates, key=lambda r: (rates[r], r))
        self.converted = sorted(CLIPS[word] for word, pcm in loaded.items() if pcm.rate != self.rate)
        if self.converted:
            log.info("录音片段采样率不一，已转为 %d Hz：%s", self.rate, "、".join(self.converted))
        self.clips: Mapping[str, Pcm] = self._levelled({word: pcm.at_rate(self.rate) for word, pcm in loaded.items()})
        chime = self.folder / CHIME_FILE
        self.chime: Path | None = None
        if chime.is_file():
            self._load(chime)
            self.chime = chime

    def _levelled(self, clips: dict[str, Pcm]) -> dict[str, Pcm]:
        """Every clip at one loudness, `self.level`: `TARGET_LOUDNESS`, or as close to it as the
        peakiest clip allows without going over `PEAK_CEILING` (no clip is ever clipped)."""
        levels = {word: loudness(pcm) for word, pcm in clips.items()}
        room = min(PEAK_CEILING - (peak(pcm) - levels[word]) for word, pcm in clips.items())
        self.level = min(TARGET_LOUDNESS, room)
        if self.level < TARGET_LOUDNESS:
            log.warning("录音片段峰值偏高，整套片段统一到 %.1f dBFS（目标 %.0f dBFS）以免削波", self.level,
                        TARGET_LOUDNESS)
        return {word: amplified(pcm, self.level - levels[word]) for word, pcm in clips.items()}

    @property
    def gap(self) -> float:
        """Seconds of silence between two clips at this pace."""
        return self.word_gap * DEFAULT_PACE / self.pace

    def at_pace(self, pace: int) -> ClipEngine:
        """The same clips at another pace (they are shared, not loaded again)."""
        check_pace(pace)
        if pace != DEFAULT_PACE:
            log.info("录音片段按录制时的语速播报：voice_pace 只调整字与字之间的停顿（%d%%：%.3f 秒）",
                     pace, self.word_gap * DEFAULT_PACE / pace)
        other = copy.copy(self)
        other.pace = pace
        return other

    @staticmethod
    def _load(path: Path) -> Pcm:
        try:
            pcm = read_pcm(path)
        except VoiceError as exc:
            raise ClipSetError(f"录音片段无效：{exc}") from exc
        if not any(abs(sample) > 0.01 * FULL_SCALE for sample in pcm.samples):
            raise ClipSetError(f"录音片段没有声音：{path}。请重新录制。")
        return pcm

    def words(self, text: str) -> list[str]:
        """The clips `text` is made of (see `clip_words()`)."""
        return clip_words(text, self.clips)

    def seconds(self, text: str) -> float:
        """How long `render(text)` lasts, from the clips' lengths alone (nothing is rendered)."""
        words = self.words(text)
        return (sum(len(self.clips[word].samples) for word in words) / self.rate
                + self.gap * (len(words) - 1))

    def render(self, text: str) -> Pcm:
        """`text` as audio: its clips with `gap` seconds of silence between them."""
        gap = silence(self.rate, self.gap)
        parts: list[array] = []
        for index, word in enumerate(self.words(text)):
            if index:
                parts.append(gap)
            parts.append(self.clips[word].samples)
        return Pcm(self.rate, join(parts))

    def synthesize(self, text: str, wav_path: Path) -> None:
        write_pcm(wav_path, self.render(text))


# --- making clip sets -------------------------------------------------------------------------------

def make_placeholder_clips(out: str | os.PathLike[str], *, voice: str = DEFAULT_VOICE,
                           speed: int = DEFAULT_SPEED) -> list[Path]:
    """Synthesise every clip with espeak-ng, trimmed, plus the generated chime, into `out`."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for word, name in CLIPS.items():
        target = folder / name
        synthesize(word, target, voice, speed)
        pcm = read_pcm(target)
        write_pcm(target, Pcm(pcm.rate, trim_silence(pcm.samples, pcm.rate)))
        written.append(target)
    written.append(write_chime(folder / CHIME_FILE, rate=read_pcm(written[0]).rate))
    return written


def import_recordings(source: str | os.PathLike[str], out: str | os.PathLike[str], *,
                      rate: int | None = None, trim: bool = True) -> list[Path]:
    """Turn a folder of recordings (named as in `CLIPS`, any PCM WAV format) into a clip set in `out`.

    Each file becomes mono 16-bit at `rate` (default: the rate most recordings have) and, with
    `trim`, loses its leading and trailing silence. `chime.wav` is taken too if present. The
    whole set is checked first: nothing is written if a recording is missing or unusable.
    """
    source_dir, folder = Path(source), Path(out)
    names = [*CLIPS.values(), *([CHIME_FILE] if (source_dir / CHIME_FILE).is_file() else [])]
    absent = [name for name in names if not (source_dir / name).is_file()]
    if absent:
        raise ClipSetError(f"录音不全：{source_dir} 中缺少 {'、'.join(absent)}")
    sounds = {name: ClipEngine._load(source_dir / name) for name in names}
    rates = Counter(pcm.rate for pcm in sounds.values())
    target_rate = rate or max(rates, key=lambda r: (rates[r], r))
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, pcm in sounds.items():
        samples = pcm.at_rate(target_rate).samples
        if trim and name != CHIME_FILE:
            samples = trim_silence(samples, target_rate)
        written.append(write_pcm(folder / name, Pcm(target_rate, samples)))
    return written
