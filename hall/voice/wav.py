"""WAV audio with the standard library only (`wave` and `array`; no audioop, no sox): the mono
16-bit format engines, clips and announcements are joined in, and the generated chime."""

from __future__ import annotations

import itertools
import math
import os
import sys
import threading
import wave
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hall.voice.errors import VoiceError


def wav_seconds(path: str | os.PathLike[str]) -> float:
    """Length of a WAV file; a VoiceError if it is missing or not a WAV."""
    try:
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes() / wav.getframerate()
    except (OSError, EOFError, wave.Error) as exc:
        raise VoiceError(f"语音文件无效：{path}（{exc}）") from exc


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


# --- loudness ---------------------------------------------------------------------------------------

LOUDNESS_FRAME = 0.02  # seconds: the frames loudness is measured in
LOUDNESS_GATE = 20.0  # dB: frames this much quieter than the loudest are pauses, not voice


def loudness(pcm: Pcm) -> float:
    """The level of the voiced part, in dBFS: the RMS over the 20 ms frames no more than 20 dB
    quieter than the loudest frame (so leading, trailing and inner pauses do not count), relative
    to full scale (a full-scale square wave is 0 dBFS). Silence is -inf."""
    frame = max(1, round(pcm.rate * LOUDNESS_FRAME))
    frames = [(sum(s * s for s in pcm.samples[start:start + frame]), min(frame, len(pcm.samples) - start))
              for start in range(0, len(pcm.samples), frame)]
    loudest = max((energy / count for energy, count in frames), default=0.0)
    if loudest == 0:
        return -math.inf
    gate = loudest * 10 ** (-LOUDNESS_GATE / 10)
    voiced = [(energy, count) for energy, count in frames if energy / count >= gate]
    mean = sum(energy for energy, _ in voiced) / sum(count for _, count in voiced)
    return 10 * math.log10(mean / FULL_SCALE ** 2)


def peak(pcm: Pcm) -> float:
    """The loudest sample, in dBFS (-inf for silence)."""
    top = max(map(abs, pcm.samples), default=0)
    return 20 * math.log10(top / FULL_SCALE) if top else -math.inf


def amplified(pcm: Pcm, db: float) -> Pcm:
    """`pcm` `db` decibels louder (or quieter when negative); callers keep the peaks below full
    scale, the clamp only catches rounding."""
    factor = 10 ** (db / 20)
    return Pcm(pcm.rate, array("h", (max(-FULL_SCALE - 1, min(FULL_SCALE, round(s * factor)))
                                     for s in pcm.samples)))


def join(parts: Sequence[array]) -> array:
    """Samples one after the other."""
    out = array("h")
    for part in parts:
        out.extend(part)
    return out
