"""An example vendor adapter: the "IMM9012" window strip layout described in
shared/notes/hardware.md §3.2 (a 重庆中意 strip type carried by an older queue framework).

Written from the layout in the notes, not from a device or its manual; confirm it with a
capture before use. The layout, in our words:

    A0 90 | addr | A5 | lenH lenL | data | X

- `data` is the text in GBK with a 00 byte after every character (a Hanzi takes 3 bytes,
  an ASCII character 2); `len` counts the bytes of `data`, high byte first.
- `X` is the XOR of every byte from `addr` to the last byte of `data`.
- The strip never answers, has one line, no flash, no brightness and no ping; so the codec
  joins the lines with a space, shows a flash as steady text, and refuses the rest with
  `Unsupported`. The driver then cannot know whether the strip is there and re-sends its
  content periodically instead of polling.

`Imm9012Parser` is the strip's side (used by the emulator and the golden tests).
"""

from __future__ import annotations

from dataclasses import dataclass

from .codec import Clear, Command, Reply, Show, Unsupported

HEAD = b"\xa0\x90"
MARK = 0xA5
MAX_DATA = 1024        # our own cap for resynchronising; the vendor's is unknown


def xor(data: bytes) -> int:
    out = 0
    for byte in data:
        out ^= byte
    return out


def spread(text: str, charset: str = "gbk") -> bytes:
    """Each character's bytes followed by 00."""
    out = bytearray()
    for ch in text:
        encoded = ch.encode(charset)
        if len(encoded) > 2:
            raise ValueError(f"{ch!r} takes {len(encoded)} bytes; the strip knows GBK only")
        out += encoded + b"\x00"
    return bytes(out)


def unspread(data: bytes, charset: str = "gbk") -> str:
    """The strip's reading of `data`: a byte ≥ 0x80 starts a two-byte character; each
    character must be followed by 00."""
    out = []
    i = 0
    while i < len(data):
        size = 2 if data[i] & 0x80 else 1
        if i + size >= len(data) or data[i + size] != 0:
            raise ValueError(f"no 00 after the character at offset {i}")
        out.append(data[i:i + size].decode(charset))
        i += size + 1
    return "".join(out)


def encode_text(address: int, text: str, charset: str = "gbk") -> bytes:
    if not 0 <= address <= 0xFF:
        raise ValueError(f"address {address} is not a byte")
    data = spread(text, charset)
    if len(data) > MAX_DATA:
        raise ValueError(f"{len(data)} bytes of data, at most {MAX_DATA}")
    body = bytes((address, MARK)) + len(data).to_bytes(2, "big") + data
    return HEAD + body + bytes((xor(body),))


class _NoReplies:
    def feed(self, data: bytes) -> list[Reply]:
        return []

    def reset(self) -> None:
        pass


class Imm9012Codec:
    name = "imm9012"
    answers = False
    charsets = ("gb2312", "gbk")          # GB2312 text is GBK text with the same bytes
    broadcast: int | None = None
    max_reply = 0

    def encode(self, address: int, seq: int, command: Command, charset: str = "gbk") -> bytes:
        if isinstance(command, Show):
            return encode_text(address, " ".join(line for line in command.lines if line), "gbk")
        if isinstance(command, Clear):
            return encode_text(address, "", "gbk")
        raise Unsupported(f"IMM9012 strips have no {type(command).__name__}")

    def parser(self) -> _NoReplies:
        return _NoReplies()


@dataclass(frozen=True)
class Imm9012Frame:
    address: int
    text: str


class Imm9012Parser:
    """The strip's side: frames out of a byte stream, with the XOR checked; a bad frame costs
    its first byte and the hunt for A0 90 goes on."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.frames = 0
        self.check_errors = 0

    def feed(self, data: bytes) -> list[Imm9012Frame]:
        buf = self._buffer
        buf += data
        out: list[Imm9012Frame] = []
        while True:
            start = buf.find(HEAD)
            if start < 0:
                del buf[:len(buf) - (1 if buf[-1:] == HEAD[:1] else 0)]
                return out
            del buf[:start]
            if len(buf) < 6:
                return out
            length = int.from_bytes(buf[4:6], "big")
            if buf[3] != MARK or length > MAX_DATA:
                del buf[:1]
                continue
            size = 6 + length + 1
            if len(buf) < size:
                return out
            body = bytes(buf[2:6 + length])
            try:
                if xor(body) != buf[size - 1]:
                    raise ValueError("bad XOR")
                text = unspread(body[4:])
            except (ValueError, UnicodeDecodeError):
                self.check_errors += 1
                del buf[:1]
                continue
            out.append(Imm9012Frame(body[0], text))
            self.frames += 1
            del buf[:size]
