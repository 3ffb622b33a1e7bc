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

import os
from pathlib import Path

from hall.pty_port import PtyPort
from satisfaction_pad.evaluator import PROTOCOLS, key_ascii, key_frame


class EvaluatorEmulator:
    def __init__(self, protocol: str = "qlink", *, link: str | Path | None = None,
                 address: int = 1, repeat: int = 1) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}")
        self.protocol, self.address, self.repeat = protocol, address, repeat
        self.port = PtyPort(link)
        self.seq = 0
        self.sent: list[bytes] = []
        self.plug()

    @property
    def path(self) -> str:
        return self.port.path

    @property
    def plugged(self) -> bool:
        return self.port.is_open

    def plug(self) -> None:
        if not self.plugged:
            self.port.open()

    def unplug(self) -> None:
        """The box vanishes: the pty closes, the pad's reads fail, the symlink goes."""
        self.port.close()

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
        os.write(self.port.master, data)
        self.sent.append(data)
