"""QLink v1: our own serial framing, for LED window strips on RS-485 (see docs/led-protocol.md)
and for the pad's button evaluators (docs/pad.md), so it lives in `hall/` beside the other code
the devices share.

Pure functions and a streaming parser; no I/O. Both sides use this module: the host driver
(`display_board.led.codec.QLinkCodec`) and the strip emulator
(`display_board.led.emulator.StripEmulator`), so a change to the framing shows in both at once,
and the documented example frames are checked against it. The evaluator decoder
(`satisfaction_pad.evaluator.QLinkKeyDecoder`) reads key presses with the same parser.

    AA 55 | addr | cmd | seq | len | payload (len ≤ 240) | crc16 (low byte first)
    crc16 = CRC-16/MODBUS (poly 0x8005 reflected = 0xA001, init 0xFFFF) over addr..payload
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

PREAMBLE = b"\xaa\x55"
HEADER_SIZE = 6          # preamble, addr, cmd, seq, len
CRC_SIZE = 2
MAX_PAYLOAD = 240
MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE     # 248 bytes
BROADCAST = 0xFF
FIRST_ADDRESS = 0x01
LAST_ADDRESS = 0xEF
SHOW_HEADER = 4          # line, effect, seconds, colour
MAX_TEXT = MAX_PAYLOAD - SHOW_HEADER                 # 236 bytes of text in one SHOW
LINE_SEPARATOR = 0x0A    # never a byte of a GB2312/GBK/GB18030 multi-byte character
MAX_BRIGHTNESS = 15
MAX_MODEL = 32


class Cmd(IntEnum):
    INFO = 0x01
    PING = 0x02
    SHOW = 0x10
    CLEAR = 0x11
    BRIGHTNESS = 0x12
    ACK = 0x06
    NAK = 0x15
    INFO_REPLY = 0x81


REQUESTS = frozenset({Cmd.INFO, Cmd.PING, Cmd.SHOW, Cmd.CLEAR, Cmd.BRIGHTNESS})
REPLIES = frozenset({Cmd.ACK, Cmd.NAK, Cmd.INFO_REPLY})


class NakReason(IntEnum):
    UNKNOWN_COMMAND = 0x01
    BAD_LENGTH = 0x02
    BAD_ARGUMENT = 0x03
    BAD_TEXT = 0x04
    BUSY = 0x05


NAK_MESSAGES = {
    NakReason.UNKNOWN_COMMAND: "显示屏不支持此命令",
    NakReason.BAD_LENGTH: "命令长度不对",
    NakReason.BAD_ARGUMENT: "参数超出显示屏范围",
    NakReason.BAD_TEXT: "文字不符合显示屏字库",
    NakReason.BUSY: "显示屏忙",
}


def nak_message(reason: int) -> str:
    try:
        return NAK_MESSAGES[NakReason(reason)]
    except ValueError:
        return f"显示屏拒绝（原因码 {reason:#04x}）"


class Effect(IntEnum):
    STATIC = 0
    FLASH = 1
    SCROLL = 2


class Colour(IntEnum):
    DEFAULT = 0
    RED = 1
    GREEN = 2
    YELLOW = 3


CHARSET_CODES = {"gb2312": 0, "gbk": 1, "gb18030": 2}
CHARSET_NAMES = {code: name for name, code in CHARSET_CODES.items()}

STATE_FRESH = 0x01       # ACK state bit: nothing shown since the strip powered up

CAP_FLASH = 0x01
CAP_SCROLL = 0x02
CAP_COLOUR = 0x04
CAP_BRIGHTNESS = 0x08


class FrameError(ValueError):
    """Bytes that are not one well-formed frame."""


class PayloadError(ValueError):
    """A frame whose payload does not fit its command; `reason` is the NAK a strip answers."""

    def __init__(self, reason: NakReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def crc16_modbus(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


@dataclass(frozen=True)
class Frame:
    address: int
    command: int
    seq: int
    payload: bytes = b""

    @property
    def is_reply(self) -> bool:
        return self.command in REPLIES


def encode_frame(frame: Frame) -> bytes:
    for name in ("address", "command", "seq"):
        value = getattr(frame, name)
        if not 0 <= value <= 0xFF:
            raise FrameError(f"{name} {value} is not a byte")
    if len(frame.payload) > MAX_PAYLOAD:
        raise FrameError(f"payload of {len(frame.payload)} bytes, at most {MAX_PAYLOAD}")
    body = bytes((frame.address, frame.command, frame.seq, len(frame.payload))) + frame.payload
    return PREAMBLE + body + crc16_modbus(body).to_bytes(2, "little")


def decode_frame(data: bytes) -> Frame:
    """Exactly one frame, nothing before or after it."""
    if len(data) < HEADER_SIZE + CRC_SIZE or data[:2] != PREAMBLE:
        raise FrameError("no preamble or too short")
    length = data[5]
    if length > MAX_PAYLOAD:
        raise FrameError(f"length {length} over {MAX_PAYLOAD}")
    if len(data) != HEADER_SIZE + length + CRC_SIZE:
        raise FrameError(f"{len(data)} bytes for a payload of {length}")
    body = data[2:HEADER_SIZE + length]
    if int.from_bytes(data[-2:], "little") != crc16_modbus(body):
        raise FrameError("bad CRC")
    return Frame(data[2], data[3], data[4], bytes(data[HEADER_SIZE:HEADER_SIZE + length]))


class FrameParser:
    """Turns a byte stream into frames: hunts for AA 55, checks the length and the CRC, and on a
    bad frame drops only its first byte, so a good frame starting inside the bad one is found.

    A frame whose length byte was corrupted upwards would hold up the stream until enough bytes
    arrive; the host calls `reset()` before each attempt and a device calls `timeout()` after a
    silence in the middle of a frame (the line is quiet, so that frame will never complete)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.frames = 0
        self.crc_errors = 0
        self.length_errors = 0
        self.skipped_bytes = 0

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def reset(self) -> None:
        self.skipped_bytes += len(self._buffer)
        self._buffer.clear()

    def timeout(self) -> list[Frame]:
        """The line went quiet: what is in hand will never complete; keep any whole frame that
        starts inside it and drop the rest."""
        out: list[Frame] = []
        while self._buffer:
            del self._buffer[:1]
            self.skipped_bytes += 1
            out += self.feed(b"")
        return out

    def feed(self, data: bytes) -> list[Frame]:
        buf = self._buffer
        buf += data
        out: list[Frame] = []
        while True:
            start = buf.find(PREAMBLE)
            if start < 0:
                keep = 1 if buf[-1:] == PREAMBLE[:1] else 0
                self.skipped_bytes += len(buf) - keep
                del buf[:len(buf) - keep]
                return out
            if start:
                self.skipped_bytes += start
                del buf[:start]
            if len(buf) < HEADER_SIZE:
                return out
            length = buf[5]
            if length > MAX_PAYLOAD:
                self.length_errors += 1
                self.skipped_bytes += 1
                del buf[:1]
                continue
            size = HEADER_SIZE + length + CRC_SIZE
            if len(buf) < size:
                return out
            body = bytes(buf[2:HEADER_SIZE + length])
            if int.from_bytes(buf[size - 2:size], "little") != crc16_modbus(body):
                self.crc_errors += 1
                self.skipped_bytes += 1
                del buf[:1]
                continue
            out.append(Frame(body[0], body[1], body[2], body[4:]))
            self.frames += 1
            del buf[:size]


# --- payloads -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShowPayload:
    text: bytes                  # lines in the strip's charset, separated by 0A
    line: int = 0                # 0 = the whole strip from line 1; n = only line n
    effect: int = Effect.STATIC
    seconds: int = 0             # how long a FLASH lasts; 0 = until the next SHOW
    colour: int = Colour.DEFAULT

    def lines(self) -> list[bytes]:
        return self.text.split(bytes((LINE_SEPARATOR,)))


def show_payload(show: ShowPayload) -> bytes:
    for name in ("line", "effect", "seconds", "colour"):
        if not 0 <= getattr(show, name) <= 0xFF:
            raise PayloadError(NakReason.BAD_ARGUMENT, f"{name} is not a byte")
    if len(show.text) > MAX_TEXT:
        raise PayloadError(NakReason.BAD_LENGTH, f"{len(show.text)} bytes of text, at most {MAX_TEXT}")
    if 0 in show.text:
        raise PayloadError(NakReason.BAD_TEXT, "NUL in the text")
    return bytes((show.line, show.effect, show.seconds, show.colour)) + show.text


def parse_show(payload: bytes) -> ShowPayload:
    if len(payload) < SHOW_HEADER:
        raise PayloadError(NakReason.BAD_LENGTH, "SHOW needs line, effect, seconds, colour")
    line, effect, seconds, colour = payload[:SHOW_HEADER]
    text = bytes(payload[SHOW_HEADER:])
    if effect not in tuple(Effect) or colour not in tuple(Colour):
        raise PayloadError(NakReason.BAD_ARGUMENT, "unknown effect or colour")
    if 0 in text:
        raise PayloadError(NakReason.BAD_TEXT, "NUL in the text")
    if line and LINE_SEPARATOR in text:
        raise PayloadError(NakReason.BAD_ARGUMENT, "several lines sent to one line")
    return ShowPayload(text, line, effect, seconds, colour)


@dataclass(frozen=True)
class DeviceInfo:
    """What a strip says about itself in answer to INFO."""

    charset: str = "gb2312"
    lines: int = 2
    width_dots: int = 64
    line_dots: int = 16
    caps: int = CAP_FLASH | CAP_BRIGHTNESS
    model: str = ""
    version: int = 1


def info_payload(info: DeviceInfo) -> bytes:
    model = info.model.encode("ascii")[:MAX_MODEL]
    return (bytes((info.version, CHARSET_CODES[info.charset], info.lines))
            + info.width_dots.to_bytes(2, "little") + bytes((info.line_dots, info.caps)) + model)


def parse_info(payload: bytes) -> DeviceInfo:
    if not 7 <= len(payload) <= 7 + MAX_MODEL:
        raise PayloadError(NakReason.BAD_LENGTH, "INFO reply of a wrong length")
    charset = CHARSET_NAMES.get(payload[1])
    if charset is None:
        raise PayloadError(NakReason.BAD_ARGUMENT, f"unknown charset code {payload[1]}")
    return DeviceInfo(charset=charset, lines=payload[2], width_dots=int.from_bytes(payload[3:5], "little"),
                      line_dots=payload[5], caps=payload[6],
                      model=payload[7:].decode("ascii", errors="replace"), version=payload[0])


def ack_payload(command: int, state: int = 0) -> bytes:
    return bytes((command, state))


def parse_ack(payload: bytes) -> tuple[int, int]:
    """(the command acknowledged, the state bits)."""
    if len(payload) != 2:
        raise PayloadError(NakReason.BAD_LENGTH, "ACK carries the command and the state")
    return payload[0], payload[1]
