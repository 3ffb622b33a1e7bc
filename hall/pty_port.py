"""A serial device played by this process, for the emulators of the LED strips and the button
evaluators: a raw pseudo-terminal whose `master` end the emulator reads and writes as the
device, and whose other end the program under test opens by `path`, as if it were /dev/ttyUSB0.

With `link`, `path` is a fixed symlink to the pty, re-pointed at each `open()`: the way udev
names a dongle that is unplugged and plugged back. `close()` makes the port vanish: the
program's reads and writes fail.
"""

from __future__ import annotations

import contextlib
import os
import tty
from pathlib import Path


class PtyPort:
    def __init__(self, link: str | Path | None = None) -> None:
        self.link = Path(link) if link is not None else None
        self.master = self.slave = -1
        self.tty = ""

    @property
    def path(self) -> str:
        """What the program under test opens: the symlink if there is one, else the pty."""
        return str(self.link) if self.link is not None else self.tty

    @property
    def is_open(self) -> bool:
        return self.master >= 0

    def open(self) -> None:
        """A new pty; the symlink, if any, is pointed at it."""
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)        # raw bytes: no echo or line editing before it is opened
        self.tty = os.ttyname(self.slave)
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
            self.link.symlink_to(self.tty)

    def close(self, remove_link: bool = True) -> None:
        for fd in (self.master, self.slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master = self.slave = -1
        if remove_link and self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
