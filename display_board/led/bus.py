"""One serial port with strips on it: `SerialBus` owns the port and serialises every frame.

Blocking by design: the driver runs each call in its own single I/O thread (see driver.py),
and everything that touches the port holds one lock, so two callers can never interleave
frames on a half-duplex RS-485 line.

One transaction: wait for the line to be quiet for `gap` seconds, drop stale input, write the
frame, wait for the reply with the same address and seq until
    end of write + wire time of the request + `reply_timeout`,
and try again (same seq, so a late reply still counts) up to `retries` more times on silence,
on a reply that failed its CRC (the parser drops it, so it reads as silence) or on NAK BUSY.
The wire time is added because a USB-serial adapter returns from flush() when the bytes
reach the adapter, not when they leave the wire.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import serial

from hall.serial_errors import PORT_ERRORS, describe_port_error

from .codec import Codec, Command, Nak, Reply

READ_SLICE = 0.02          # the port's read timeout: how often a waiting read looks at the clock


class PortError(Exception):
    """The port cannot be opened or stopped working; `str()` is a Chinese message for people."""


class NoReply(Exception):
    """The device did not answer any attempt."""

    def __init__(self, address: int, attempts: int) -> None:
        super().__init__(f"address {address}: no reply to {attempts} attempt(s)")
        self.address = address
        self.attempts = attempts


class SerialBus:
    """The port and the line discipline of one RS-485 (or RS-232) bus.

    `serial_factory(port, **settings)` opens the port; pyserial's `serial_for_url` by default,
    so `loop://` and `socket://` URLs work as well as device paths. `exclusive` locks the
    device against a second program. `rs485` switches on the kernel's RS-485 mode for
    adapters that need it (most USB dongles switch direction themselves; ptys refuse it)."""

    def __init__(self, port: str, codec: Codec, *, baudrate: int = 9600, reply_timeout: float = 0.2,
                 retries: int = 3, gap: float = 0.01, exclusive: bool = True, rs485: bool = False,
                 serial_factory: Callable[..., Any] | None = None) -> None:
        self.port = port
        self.codec = codec
        self.baudrate = baudrate
        self.reply_timeout = reply_timeout
        self.retries = retries
        self.gap = max(gap, self.wire_time(3.5))
        self.exclusive = exclusive
        self.rs485 = rs485
        self._factory = serial_factory or serial.serial_for_url
        self._serial: Any = None
        self._parser = codec.parser()
        self._lock = threading.Lock()
        self._seq = 0
        self._quiet_at = 0.0
        self.stats = {"frames": 0, "bytes_out": 0, "bytes_in": 0, "timeouts": 0, "retries": 0,
                      "naks": 0, "stray": 0, "opens": 0, "failures": 0}

    # --- the port ---------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    def wire_time(self, size: float) -> float:
        """Seconds `size` bytes take on the line: 10 bits a byte (8N1)."""
        return size * 10 / self.baudrate

    def open(self) -> None:
        with self._lock:
            if self._serial is not None:
                return
            settings: dict[str, Any] = {"baudrate": self.baudrate, "bytesize": 8, "parity": "N",
                                        "stopbits": 1, "timeout": READ_SLICE,
                                        "write_timeout": 1 + self.wire_time(512)}
            if self.exclusive and "://" not in self.port:
                settings["exclusive"] = True
            try:
                port = self._factory(self.port, **settings)
            except PORT_ERRORS as exc:
                raise PortError(describe_port_error(self.port, exc, opening=True)) from exc
            if self.rs485:
                try:
                    import serial.rs485
                    port.rs485_mode = serial.rs485.RS485Settings()
                except (ValueError, *PORT_ERRORS) as exc:
                    port.close()
                    raise PortError(f"串口 {self.port} 不支持 RS-485 模式，请在配置中关闭 rs485") from exc
            self._serial = port
            self._parser.reset()
            self._quiet_at = time.monotonic() + self.gap
            self.stats["opens"] += 1

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            with contextlib.suppress(*PORT_ERRORS):
                port.close()

    def _fail(self, exc: BaseException) -> PortError:
        self.stats["failures"] += 1
        self._close()
        return PortError(describe_port_error(self.port, exc, opening=False))

    # --- frames -----------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    def _wait_quiet(self) -> None:
        delay = self._quiet_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def _write(self, frame: bytes) -> float:
        if self._serial is None:
            raise PortError(f"串口 {self.port} 未打开")
        try:
            self._serial.reset_input_buffer()
            self._serial.write(frame)
            self._serial.flush()
        except PORT_ERRORS as exc:
            raise self._fail(exc) from exc
        self.stats["frames"] += 1
        self.stats["bytes_out"] += len(frame)
        return time.monotonic()

    def _read(self) -> bytes:
        try:
            waiting = self._serial.in_waiting
            data = self._serial.read(waiting or 1)
        except PORT_ERRORS as exc:
            raise self._fail(exc) from exc
        if data:
            self.stats["bytes_in"] += len(data)
            self._quiet_at = time.monotonic() + self.gap
        return data

    def _await_reply(self, address: int, seq: int, deadline: float) -> Reply | None:
        while time.monotonic() < deadline:
            for reply in self._parser.feed(self._read()):
                if reply.address == address and reply.seq == seq:
                    return reply
                self.stats["stray"] += 1
        return None

    def send(self, address: int, command: Command, charset: str = "gb2312") -> None:
        """A frame nobody answers: a broadcast, or any frame of a write-only codec."""
        with self._lock:
            frame = self.codec.encode(address, self._next_seq(), command, charset)
            self._wait_quiet()
            written = self._write(frame)
            self._quiet_at = written + self.wire_time(len(frame)) + self.gap

    def transact(self, address: int, command: Command, charset: str = "gb2312",
                 retries: int | None = None) -> Reply:
        """Send a command and return the device's reply (an ACK, a NAK other than BUSY, or an
        INFO); raises NoReply when every attempt went unanswered, PortError when the port
        failed (it is then closed; `open()` again later)."""
        attempts = 1 + (self.retries if retries is None else retries)
        with self._lock:
            seq = self._next_seq()
            frame = self.codec.encode(address, seq, command, charset)
            last: Reply | None = None
            for attempt in range(attempts):
                if attempt:
                    self.stats["retries"] += 1
                self._wait_quiet()
                self._parser.reset()
                written = self._write(frame)
                deadline = written + self.wire_time(len(frame)) + self.reply_timeout
                reply = self._await_reply(address, seq, deadline)
                self._quiet_at = max(self._quiet_at, time.monotonic() + self.gap)
                if reply is None:
                    self.stats["timeouts"] += 1
                    continue
                if isinstance(reply, Nak):
                    self.stats["naks"] += 1
                    if reply.busy:
                        last = reply
                        continue
                return reply
            if last is not None:
                return last
            raise NoReply(address, attempts)
