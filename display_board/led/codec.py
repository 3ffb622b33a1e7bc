"""What the driver asks of a strip, and the codecs that put it into bytes.

The driver speaks in semantic commands (`Show`, `Ping`, …) and gets semantic replies (`Ack`,
`Nak`, `InfoReply`); a `Codec` turns them into one vendor's bytes and back. `QLinkCodec` is
our own framing (docs/led-protocol.md); `imm9012.Imm9012Codec` is an example vendor layout.
A codec is pure: it never touches the port, so each one is tested on golden bytes alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from hall import qlink
from hall.qlink import Cmd, DeviceInfo, Effect, Frame, FrameParser

# --- commands (host → strip) ---------------------------------------------------------------

@dataclass(frozen=True)
class Ping:
    """Are you there? A QLink strip answers ACK with its state (FRESH after power-up)."""


@dataclass(frozen=True)
class GetInfo:
    """What are you? Charset, lines, width, capabilities, model."""


@dataclass(frozen=True)
class Show:
    """Replace the whole strip's text. `lines` are normalised already (text.fit_text): each
    encodes in the strip's charset and fits its width. `flash_s` > 0 blinks for that long."""

    lines: tuple[str, ...]
    flash_s: int = 0
    colour: int = qlink.Colour.DEFAULT


@dataclass(frozen=True)
class Clear:
    """Blank the strip."""


@dataclass(frozen=True)
class SetBrightness:
    level: int          # 0 (dimmest) … 15 (brightest)


Command = Ping | GetInfo | Show | Clear | SetBrightness


# --- replies (strip → host) ----------------------------------------------------------------

@dataclass(frozen=True)
class Ack:
    address: int
    seq: int
    command: int = 0        # the command acknowledged
    fresh: bool = False     # nothing shown since power-up: send the content again


@dataclass(frozen=True)
class Nak:
    address: int
    seq: int
    reason: int

    @property
    def busy(self) -> bool:
        return self.reason == qlink.NakReason.BUSY

    @property
    def message(self) -> str:
        return qlink.nak_message(self.reason)


@dataclass(frozen=True)
class InfoReply:
    address: int
    seq: int
    info: DeviceInfo


Reply = Ack | Nak | InfoReply


class Unsupported(ValueError):
    """The codec's devices have no such command (e.g. brightness on a write-only vendor strip)."""


class ReplyParser(Protocol):
    def feed(self, data: bytes) -> list[Reply]: ...

    def reset(self) -> None: ...


@runtime_checkable
class Codec(Protocol):
    """One device family's bytes.

    `answers`: whether devices reply to addressed frames. Without replies the driver cannot
    know whether a strip is there; it re-sends content periodically instead of polling.
    `charsets`: the text charsets the family can take. `broadcast`: the address every device
    obeys without answering, or None. `max_reply`: bytes of the longest reply (for timeouts).
    """

    name: str
    answers: bool
    charsets: tuple[str, ...]
    broadcast: int | None
    max_reply: int

    def encode(self, address: int, seq: int, command: Command, charset: str) -> bytes: ...

    def parser(self) -> ReplyParser: ...


# --- QLink ---------------------------------------------------------------------------------

def _show_text(lines: tuple[str, ...], charset: str) -> bytes:
    sep = bytes((qlink.LINE_SEPARATOR,))
    return sep.join(line.encode(charset) for line in lines)


def qlink_request(address: int, seq: int, command: Command, charset: str = "gb2312") -> Frame:
    """The QLink frame for a command (before framing into bytes)."""
    if isinstance(command, Ping):
        return Frame(address, Cmd.PING, seq)
    if isinstance(command, GetInfo):
        return Frame(address, Cmd.INFO, seq)
    if isinstance(command, Clear):
        return Frame(address, Cmd.CLEAR, seq)
    if isinstance(command, SetBrightness):
        if not 0 <= command.level <= qlink.MAX_BRIGHTNESS:
            raise ValueError(f"brightness {command.level} not in 0..{qlink.MAX_BRIGHTNESS}")
        return Frame(address, Cmd.BRIGHTNESS, seq, bytes((command.level,)))
    if isinstance(command, Show):
        flash = min(max(command.flash_s, 0), 255)
        payload = qlink.show_payload(qlink.ShowPayload(
            _show_text(command.lines, charset), line=0,
            effect=Effect.FLASH if flash else Effect.STATIC, seconds=flash, colour=command.colour))
        return Frame(address, Cmd.SHOW, seq, payload)
    raise Unsupported(f"QLink has no command {command!r}")


def qlink_reply(frame: Frame) -> Reply | None:
    """A reply frame as a semantic reply; None for requests (our own echo) and bad payloads."""
    try:
        if frame.command == Cmd.ACK:
            command, state = qlink.parse_ack(frame.payload)
            return Ack(frame.address, frame.seq, command, bool(state & qlink.STATE_FRESH))
        if frame.command == Cmd.NAK:
            return Nak(frame.address, frame.seq, frame.payload[0] if frame.payload else 0)
        if frame.command == Cmd.INFO_REPLY:
            return InfoReply(frame.address, frame.seq, qlink.parse_info(frame.payload))
    except qlink.PayloadError:
        return None
    return None


class QLinkReplyParser:
    def __init__(self) -> None:
        self.frames = FrameParser()

    def feed(self, data: bytes) -> list[Reply]:
        out = []
        for frame in self.frames.feed(data):
            reply = qlink_reply(frame)
            if reply is not None:
                out.append(reply)
        return out

    def reset(self) -> None:
        self.frames.reset()


class QLinkCodec:
    name = "qlink"
    answers = True
    charsets: tuple[str, ...] = ("gb2312", "gbk", "gb18030")
    broadcast: int | None = qlink.BROADCAST
    max_reply = qlink.HEADER_SIZE + 7 + qlink.MAX_MODEL + qlink.CRC_SIZE   # an INFO reply

    def encode(self, address: int, seq: int, command: Command, charset: str = "gb2312") -> bytes:
        return qlink.encode_frame(qlink_request(address, seq, command, charset))

    def parser(self) -> QLinkReplyParser:
        return QLinkReplyParser()
