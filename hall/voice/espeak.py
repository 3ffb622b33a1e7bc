"""The espeak-ng engine: voice `cmn-latn-pinyin` (the plain `cmn` voice of espeak-ng 1.51 speaks
tone digits in English), for development, CI and as a fallback. It is given text already
worded by `hall.voice.words`."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from hall.voice.errors import VoiceError
from hall.voice.wav import wav_seconds

DEFAULT_VOICE = "cmn-latn-pinyin"
DEFAULT_SPEED = 140  # words per minute; espeak-ng's own default (175) is too fast for the elderly
DEFAULT_PACE = 100  # per cent of each engine's normal speaking rate (hall file: voice_pace)


class EngineMissing(VoiceError):
    """The speech program is not installed."""


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


@dataclass(frozen=True)
class EspeakEngine:
    """espeak-ng with the pinyin Mandarin voice; the development, CI and fallback engine.

    `pace` (per cent) scales `speed`: espeak-ng is given `speed × pace / 100` words a minute,
    so its words and its own pauses both follow it."""

    voice: str = DEFAULT_VOICE
    speed: int = DEFAULT_SPEED
    executable: str = "espeak-ng"
    pace: int = DEFAULT_PACE

    def __post_init__(self) -> None:
        check_pace(self.pace)

    @property
    def words_per_minute(self) -> int:
        return round(self.speed * self.pace / DEFAULT_PACE)

    def at_pace(self, pace: int) -> EspeakEngine:
        """The same voice at another pace (per cent of `speed`)."""
        return replace(self, pace=pace)

    def synthesize(self, text: str, wav_path: Path) -> None:
        synthesize(text, wav_path, self.voice, self.words_per_minute, executable=self.executable)


def check_pace(pace: int) -> None:
    """A pace is a whole per cent above 0 (the hall file allows 70–150)."""
    if isinstance(pace, bool) or not isinstance(pace, int) or pace <= 0:
        raise ValueError(f"语速应为正整数（百分比，100 为正常语速），而不是 {pace!r}")
