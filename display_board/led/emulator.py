"""Fake LED strips on a pseudo-terminal, for tests, the bench and a demo without hardware.

`StripEmulator` opens a pty pair and plays one or more strips at their addresses on the
master side; the program under test opens `emulator.path` (the slave, or a symlink to it) as
if it were /dev/ttyUSB0. It decodes every frame (CRC checked, garbage skipped), answers as a
QLink strip would (ACK / NAK with a reason / INFO), and keeps what each address shows.
Faults on demand: a strip goes `silent` (off the bus), `corrupt_replies` sends replies with a
broken CRC (only replies to `corrupt_commands` when that is set, so a test can aim the fault
at a SHOW whatever PING or INFO the driver has on the line at that moment), `busy_replies`
answers NAK BUSY, `reboot()` loses the content like a power cut, and `unplug()` / `plug()`
make the whole port vanish and come back (through the same symlink path when `link` is given,
the way udev gives a re-plugged dongle the same name).

With `baudrate` set, each reply is held back by the time the request and the reply would
take on a real line (10 bits a byte), so timings measured over the pty resemble a real bus.
`protocol="imm9012"` plays write-only IMM9012 strips instead (they never answer).
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hall import qlink
from hall.pty_port import PtyPort
from hall.qlink import Cmd, Frame, FrameParser, NakReason, PayloadError

from .imm9012 import Imm9012Parser
from .text import TextSpec, glyph_width


@dataclass
class EmulatedStrip:
    """One strip's firmware state."""

    address: int
    charset: str = "gb2312"
    lines: int = 2
    width_dots: int = 64
    line_dots: int = 16
    model: str = "QLINK-EMU"
    shown: tuple[str, ...] = ()
    effect: int = 0
    seconds: int = 0
    colour: int = 0
    brightness: int = 15
    fresh: bool = True            # nothing shown since power-up
    silent: bool = False          # off the bus: hears nothing, says nothing
    corrupt_replies: int = 0      # the next n replies go out with a broken CRC …
    corrupt_commands: frozenset[int] = frozenset()     # … only replies to these commands, if any
    busy_replies: int = 0         # the next n requests get NAK BUSY
    shows: int = 0
    overflows: int = 0            # lines wider than the strip (the host should never send one)
    history: list[tuple[tuple[str, ...], int, int]] = field(default_factory=list)   # (lines, effect, seconds)
    repeats: int = 0              # retries of an acknowledged frame (same seq and bytes), done again but not counted
    _last: tuple[int, int, bytes] | None = field(default=None, repr=False)

    def reboot(self) -> None:
        self.shown, self.effect, self.seconds, self.brightness, self.fresh = (), 0, 0, 15, True

    def info(self) -> qlink.DeviceInfo:
        caps = qlink.CAP_FLASH | qlink.CAP_BRIGHTNESS
        return qlink.DeviceInfo(self.charset, self.lines, self.width_dots, self.line_dots, caps, self.model)

    def _width(self, text: str) -> int:
        spec = TextSpec(self.charset, self.width_dots, self.line_dots)
        return sum(glyph_width(ch.encode(self.charset), spec) for ch in text)

    def _show(self, show: qlink.ShowPayload, count: bool = True) -> None:
        try:
            texts = [line.decode(self.charset) for line in show.lines()]
        except UnicodeDecodeError as exc:
            raise PayloadError(NakReason.BAD_TEXT, "not in the strip's charset") from exc
        shown = list(self.shown) + [""] * (self.lines - len(self.shown))
        if show.line == 0:
            if len(texts) > self.lines:
                raise PayloadError(NakReason.BAD_ARGUMENT, "more lines than the strip has")
            shown = texts + [""] * (self.lines - len(texts))
        elif show.line <= self.lines:
            shown[show.line - 1] = texts[0]
        else:
            raise PayloadError(NakReason.BAD_ARGUMENT, "no such line")
        self.overflows += sum(self._width(text) > self.width_dots for text in texts)
        self.shown = tuple(shown)
        self.effect, self.seconds, self.colour = show.effect, show.seconds, show.colour
        self.fresh = False
        if count:
            self.shows += 1
            self.history.append((self.shown, show.effect, show.seconds))

    def execute(self, frame: Frame) -> Frame:
        """Carry out one request addressed to this strip and build the reply. A repeat of the
        last acknowledged frame is a retry whose ACK got lost: done again (every command is
        idempotent) but not counted in `shows` and `history`."""
        command = frame.command
        request = (frame.seq, command, frame.payload)
        repeat = request == self._last
        try:
            if self.busy_replies:
                self.busy_replies -= 1
                raise PayloadError(NakReason.BUSY, "busy")
            if command == Cmd.INFO:
                return Frame(self.address, Cmd.INFO_REPLY, frame.seq, qlink.info_payload(self.info()))
            if command == Cmd.PING:
                if frame.payload:
                    raise PayloadError(NakReason.BAD_LENGTH, "PING has no payload")
            elif command == Cmd.SHOW:
                self._show(qlink.parse_show(frame.payload), count=not repeat)
            elif command == Cmd.CLEAR:
                self.shown, self.fresh = ("",) * self.lines, False
            elif command == Cmd.BRIGHTNESS:
                if len(frame.payload) != 1:
                    raise PayloadError(NakReason.BAD_LENGTH, "BRIGHTNESS takes one byte")
                if frame.payload[0] > qlink.MAX_BRIGHTNESS:
                    raise PayloadError(NakReason.BAD_ARGUMENT, "brightness over 15")
                self.brightness = frame.payload[0]
            else:
                raise PayloadError(NakReason.UNKNOWN_COMMAND, f"command {command:#04x}")
        except PayloadError as exc:
            return Frame(self.address, Cmd.NAK, frame.seq, bytes((exc.reason,)))
        self.repeats += repeat
        self._last = request
        state = qlink.STATE_FRESH if self.fresh else 0
        return Frame(self.address, Cmd.ACK, frame.seq, qlink.ack_payload(command, state))


class StripEmulator:
    """Strips at several addresses behind one pseudo-terminal. Use as a context manager."""

    def __init__(self, strips: Iterable[int | EmulatedStrip] = (1,), *, link: str | Path | None = None,
                 baudrate: int | None = None, turnaround: float = 0.0, protocol: str = "qlink") -> None:
        if protocol not in ("qlink", "imm9012"):
            raise ValueError(f"unknown protocol {protocol!r}")
        self.strips: dict[int, EmulatedStrip] = {}
        for strip in strips:
            strip = strip if isinstance(strip, EmulatedStrip) else EmulatedStrip(strip)
            self.strips[strip.address] = strip
        self.port = PtyPort(link)
        self.baudrate = baudrate
        self.turnaround = turnaround
        self.protocol = protocol
        self.requests: list[Frame] = []           # every good frame heard (QLink)
        self.crc_errors = 0
        self.replies_sent = 0
        self.cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.plug()

    # --- the port ---------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """What the host opens: the symlink if there is one, else the pty's slave."""
        return self.port.path

    @property
    def plugged(self) -> bool:
        return self._thread is not None

    def plug(self) -> None:
        """A new pty (a re-plugged device); the symlink, if any, is pointed at it."""
        if self.plugged:
            return
        self.port.open()
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name=f"led-emulator-{self.port.tty}",
                                        daemon=True)
        self._thread.start()

    def unplug(self, remove_link: bool = True) -> None:
        """The device vanishes: the pty closes (the host's reads and writes fail)."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=5)
        self._thread = None
        self.port.close(remove_link)

    def close(self) -> None:
        self.unplug()

    def __enter__(self) -> StripEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- what tests look at -----------------------------------------------------------------

    def strip(self, address: int) -> EmulatedStrip:
        return self.strips[address]

    def shown(self, address: int) -> tuple[str, ...]:
        with self.cond:
            return self.strips[address].shown

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Wait (in this thread) until `predicate()` holds; it runs under the emulator's lock."""
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    # --- the strips' side of the line -------------------------------------------------------

    def wire_time(self, size: int) -> float:
        return size * 10 / self.baudrate if self.baudrate else 0.0

    def _serve(self) -> None:
        parser: FrameParser | Imm9012Parser = FrameParser() if self.protocol == "qlink" else Imm9012Parser()
        quiet = max(0.02, self.wire_time(20))
        last = time.monotonic()
        master = self.port.master
        while not self._stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.01)
            if not ready:
                if isinstance(parser, FrameParser) and parser.pending and time.monotonic() - last > quiet:
                    self._dispatch(parser.timeout())
                continue
            try:
                data = os.read(master, 4096)
            except OSError:           # no slave open at the moment
                time.sleep(0.01)
                continue
            last = time.monotonic()
            if isinstance(parser, FrameParser):
                before = parser.crc_errors
                frames = parser.feed(data)
                with self.cond:
                    self.crc_errors += parser.crc_errors - before
                self._dispatch(frames)
            else:
                self._imm9012(parser.feed(data))

    def _dispatch(self, frames: list[Frame]) -> None:
        for frame in frames:
            reply = None
            strip: EmulatedStrip | None
            with self.cond:
                self.requests.append(frame)
                if not frame.is_reply:
                    if frame.address == qlink.BROADCAST:
                        for strip in self.strips.values():
                            if not strip.silent:
                                strip.execute(frame)
                    else:
                        strip = self.strips.get(frame.address)
                        if strip is not None and not strip.silent:
                            reply = qlink.encode_frame(strip.execute(frame))
                            if strip.corrupt_replies and (not strip.corrupt_commands
                                                          or frame.command in strip.corrupt_commands):
                                strip.corrupt_replies -= 1
                                reply = reply[:-1] + bytes((reply[-1] ^ 0xFF,))
                self.cond.notify_all()
            if reply is None:
                continue
            request_size = qlink.HEADER_SIZE + len(frame.payload) + qlink.CRC_SIZE
            delay = self.wire_time(request_size) + self.turnaround + self.wire_time(len(reply))
            if delay:
                time.sleep(delay)
            try:
                os.write(self.port.master, reply)
            except OSError:
                return
            with self.cond:
                self.replies_sent += 1

    def _imm9012(self, frames: list) -> None:
        with self.cond:
            for frame in frames:
                strip = self.strips.get(frame.address)
                if strip is not None and not strip.silent:
                    strip.shown = (frame.text,)
                    strip.fresh = False
                    strip.shows += 1
                    strip.history.append((strip.shown, 0, 0))
            self.cond.notify_all()
