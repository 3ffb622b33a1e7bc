"""Serial button evaluators (按键评价器): the 4- or 5-key boxes screwed to the counter.

A box sends one message per key press down its serial line (RS-232, or USB-serial); the pad
turns the key into a score with a configurable mapping and feeds it to the same rating flow as
the touch buttons. The wire formats are in docs/pad.md:

- `qlink` (the default): a QLink v1 frame (the project's own framing, docs/led-protocol.md) per
  press, `AA 55 | addr | 21 | seq | 01 | key | crc16`; the seq counts presses, so a frame sent
  again for a noisy line (same seq) counts once. Noise, broken CRCs and partial frames are
  skipped by the frame parser.
- `ascii`: the cheapest boxes send the key's digit, `1` … `9`, often with CR LF; every other
  byte is ignored. Line noise that happens to be a digit cannot be told from a press.

The decoders are pure (bytes in, key numbers out); `Evaluator` is the I/O around them: a thread
that opens the port, reads, and when the port vanishes (unplugged, powered off) says so in
Chinese and opens it again every `retry_seconds`, for as long as the pad runs.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

from hall.port_reader import PortReader
from hall.qlink import Frame, FrameParser, encode_frame
from satisfaction_pad.model import LEVEL_NAMES

log = logging.getLogger("satisfaction_pad.evaluator")

KEY_EVENT = 0x21            # the QLink command of a key press (EVENT)
MAX_KEY = 9
PRESETS: dict[str, dict[int, int]] = {
    "5": {1: 5, 2: 4, 3: 3, 4: 2, 5: 1},   # 非常满意 满意 基本满意 不满意 非常不满意
    "4": {1: 5, 2: 4, 3: 3, 4: 2},         # 非常满意 满意 基本满意 不满意
}
PROTOCOLS = ("qlink", "ascii")
QUIET_SECONDS = 0.05        # silence in the middle of a frame: that frame will not complete


class MappingError(ValueError):
    """A key mapping that cannot be used; the message says why, in Chinese."""


def parse_keys(text: str | None) -> dict[int, int]:
    """`1=5,2=4,3=3,4=1` → {key: score}; `5` or `4` (or nothing: `5`) name the usual boxes."""
    text = (text or "").strip()
    if not text:
        return dict(PRESETS["5"])
    if text in PRESETS:
        return dict(PRESETS[text])
    mapping: dict[int, int] = {}
    for part in re.split(r"[,，;；\s]+", text):
        if not part:
            continue
        match = re.fullmatch(r"(\d+)[=:：](\d+)", part)
        if match is None:
            raise MappingError(f"按键映射写法有误：“{part}”应写成 键=分数，如 1=5"
                               "（分数 5 为非常满意 … 1 为非常不满意），多项用逗号隔开")
        key, score = int(match[1]), int(match[2])
        if not 1 <= key <= MAX_KEY:
            raise MappingError(f"按键号 {key} 超出范围：应为 1 到 {MAX_KEY}")
        if score not in LEVEL_NAMES:
            raise MappingError(f"按键 {key} 的分数 {score} 超出范围：应为 1（非常不满意）到 5（非常满意）")
        if key in mapping:
            raise MappingError(f"按键 {key} 映射了两次")
        mapping[key] = score
    if not mapping:
        raise MappingError("按键映射为空：请写成 1=5,2=4,3=3,4=2 这样的形式")
    return mapping


def describe_keys(mapping: dict[int, int]) -> str:
    return "，".join(f"{key} 键={LEVEL_NAMES[score]}" for key, score in sorted(mapping.items()))


# --- the wire formats --------------------------------------------------------------------------

def key_frame(key: int, seq: int, address: int = 1) -> bytes:
    """What a QLink box sends for one press."""
    return encode_frame(Frame(address, KEY_EVENT, seq & 0xFF, bytes((key,))))


def key_ascii(key: int) -> bytes:
    """What an ASCII box sends for one press."""
    return f"{key}\r\n".encode("ascii")


class QLinkKeyDecoder:
    """Bytes of a QLink box → key numbers. A frame repeating the seq of the one before is the
    same press sent again and counts once; frames of other commands or shapes are ignored."""

    def __init__(self) -> None:
        self.parser = FrameParser()
        self.last_seq: int | None = None
        self.repeats = 0
        self.ignored = 0

    @property
    def pending(self) -> int:
        return self.parser.pending

    def feed(self, data: bytes) -> list[int]:
        return self._keys(self.parser.feed(data))

    def timeout(self) -> list[int]:
        """The line went quiet in the middle of a frame: drop what will not complete."""
        return self._keys(self.parser.timeout())

    def _keys(self, frames: list[Frame]) -> list[int]:
        keys = []
        for frame in frames:
            if frame.command != KEY_EVENT or len(frame.payload) != 1 or not frame.payload[0]:
                self.ignored += 1
                continue
            if frame.seq == self.last_seq:
                self.repeats += 1
                continue
            self.last_seq = frame.seq
            keys.append(frame.payload[0])
        return keys


class AsciiKeyDecoder:
    """Bytes of an ASCII box → key numbers: each digit 1–9 is a press; anything else is not."""

    pending = 0

    def __init__(self) -> None:
        self.ignored = 0

    def feed(self, data: bytes) -> list[int]:
        keys = [byte - 0x30 for byte in data if 0x31 <= byte <= 0x39]
        self.ignored += sum(1 for byte in data if byte not in b"\r\n") - len(keys)
        return keys

    def timeout(self) -> list[int]:
        return []


def make_decoder(protocol: str) -> QLinkKeyDecoder | AsciiKeyDecoder:
    if protocol == "qlink":
        return QLinkKeyDecoder()
    if protocol == "ascii":
        return AsciiKeyDecoder()
    raise MappingError(f"不认识的评价器协议“{protocol}”：可用 {'、'.join(PROTOCOLS)}")


# --- the port ----------------------------------------------------------------------------------

class Evaluator(PortReader):
    """Reads key presses from `port` in a thread of its own (`hall.port_reader`);
    `on_score(score, key)` and `on_status(ok, text)` are called from that thread (hop to the
    app's loop yourself)."""

    device = "评价器"

    def __init__(self, port: str, keys: dict[int, int], *, baudrate: int = 9600,
                 protocol: str = "qlink",
                 on_score: Callable[[int, int], None] | None = None,
                 on_status: Callable[[bool, str], None] | None = None,
                 retry_seconds: float = 1.0,
                 serial_factory: Callable[..., Any] | None = None) -> None:
        make_decoder(protocol)                   # an unknown protocol fails here, not later
        super().__init__(port, baudrate=baudrate, on_status=on_status,
                         retry_seconds=retry_seconds, serial_factory=serial_factory)
        self.keys, self.protocol = dict(keys), protocol
        self.on_score = on_score
        self.presses = 0
        self.unmapped = 0

    def _read(self, port: Any) -> None:
        decoder = make_decoder(self.protocol)
        last = time.monotonic()
        while not self._stop.is_set():
            data = port.read(port.in_waiting or 1)
            now = time.monotonic()
            if data:
                last = now
                keys = decoder.feed(data)
            elif decoder.pending and now - last > QUIET_SECONDS:
                keys = decoder.timeout()
            else:
                continue
            for key in keys:
                self._pressed(key)

    def _pressed(self, key: int) -> None:
        score = self.keys.get(key)
        if score is None:
            self.unmapped += 1
            log.warning("评价器按键 %s 未配置分数，已忽略", key)
            return
        self.presses += 1
        if self.on_score is not None:
            self.on_score(score, key)
