"""A fake button evaluator on a pseudo-terminal, for tests, the bench and a demo without one.

The pad opens `emulator.path` (the pty's slave, or a symlink to it) as if it were
/dev/ttyUSB0; `press(key)` sends what a box sends for that key, `noise(data)` puts any bytes on
the line, and `unplug()` / `plug()` make the port vanish and come back (through the same
symlink when `link` is given, the way udev names a re-plugged dongle).

    with EvaluatorEmulator() as box:
        pad = Evaluator(box.path, parse_keys("5"), on_score=print)
        pad.start(); box.press(1)          # prints 5 1
"""

from __future__ import annotations

import contextlib
import os
import tty
from pathlib import Path

from satisfaction_pad.evaluator import PROTOCOLS, key_ascii, key_frame


class EvaluatorEmulator:
    def __init__(self, protocol: str = "qlink", *, link: str | Path | None = None,
                 address: int = 1, repeat: int = 1) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}")
        self.protocol, self.address, self.repeat = protocol, address, repeat
        self.link = Path(link) if link is not None else None
        self.seq = 0
        self.sent: list[bytes] = []
        self._master = self._slave = -1
        self._tty = ""
        self.plug()

    @property
    def path(self) -> str:
        return str(self.link) if self.link is not None else self._tty

    @property
    def plugged(self) -> bool:
        return self._master >= 0

    def plug(self) -> None:
        if self.plugged:
            return
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)        # raw bytes, no echo, before the pad opens it
        self._tty = os.ttyname(self._slave)
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
            self.link.symlink_to(self._tty)

    def unplug(self) -> None:
        """The box vanishes: the pty closes, the pad's reads fail, the symlink goes."""
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()

    def close(self) -> None:
        self.unplug()

    def __enter__(self) -> EvaluatorEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def press(self, key: int) -> bytes:
        """One key press as the box sends it (`repeat` times for a QLink box that repeats its
        frames on a noisy line); returns the bytes of one copy."""
        self.seq = (self.seq + 1) & 0xFF
        data = (key_frame(key, self.seq, self.address) if self.protocol == "qlink"
                else key_ascii(key))
        for _ in range(self.repeat if self.protocol == "qlink" else 1):
            self.noise(data)
        return data

    def noise(self, data: bytes) -> None:
        if not self.plugged:
            raise OSError("the emulated evaluator is unplugged")
        os.write(self._master, data)
        self.sent.append(data)
