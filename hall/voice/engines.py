"""The engines and how one is chosen: anything with `synthesize(text, wav_path)` is a
`VoiceEngine`; `make_engine()` and `engine_from_config()` pick espeak-ng
(`hall.voice.espeak.EspeakEngine`) or recorded clips (`hall.voice.clips.ClipEngine`) by name."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, cast

from hall.voice.clips import DEFAULT_CLIPS_DIR, DEFAULT_WORD_GAP, ClipEngine
from hall.voice.errors import VoiceError
from hall.voice.espeak import DEFAULT_SPEED, DEFAULT_VOICE, EngineMissing, EspeakEngine

ENGINES = ("espeak", "clips")


class VoiceEngine(Protocol):
    """Anything that turns (already normalised) text into a PCM WAV file: `EspeakEngine`, `ClipEngine`;
    `pace` is its speaking rate in per cent of its normal one, `at_pace(pace)` the same engine at
    another."""

    def synthesize(self, text: str, wav_path: Path) -> None: ...

    @property
    def pace(self) -> int: ...

    def at_pace(self, pace: int) -> VoiceEngine: ...


def make_engine(name: str = "espeak", *, clips_dir: str | os.PathLike[str] | None = None,
                word_gap: float | None = None, voice: str = DEFAULT_VOICE, speed: int = DEFAULT_SPEED,
                executable: str = "espeak-ng") -> VoiceEngine:
    """An engine by name: "espeak" (development, CI, fallback) or "clips" (recorded clips, for halls).

    The choice is checked now, so that a misconfigured board says so when it starts rather
    than at its first call: espeak-ng must be installed (`EngineMissing`), and the clip folder
    (default `assets/voice/`) must hold every clip in a usable format
    (`hall.voice.clips.ClipSetError`).
    """
    key = str(name).strip().lower()
    if key == "espeak":
        if shutil.which(executable) is None:
            raise EngineMissing(f"找不到语音合成程序 {executable}：请先安装（Debian/Ubuntu：sudo apt-get install "
                                "espeak-ng），或在配置中改用录音片段（engine = \"clips\"）。")
        return EspeakEngine(voice, speed, executable)
    if key == "clips":
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
    # The types are checked above; the casts only tell the type checker so.
    clips_dir = cast("str | os.PathLike[str] | None", settings.get("clips_dir"))
    if clips_dir is not None and base is not None:
        clips_dir = Path(base) / Path(clips_dir)  # an absolute clips_dir stays as it is
    word_gap = cast("float | None", settings.get("word_gap"))
    return make_engine(cast(str, settings.get("engine", "espeak")), clips_dir=clips_dir,
                       word_gap=None if word_gap is None else float(word_gap),
                       voice=cast(str, settings.get("voice", DEFAULT_VOICE)),
                       speed=cast(int, settings.get("speed", DEFAULT_SPEED)))
