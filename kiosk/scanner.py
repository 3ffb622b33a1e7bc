"""The kiosk's QR / barcode scanner (扫码器): a serial device (USB-CDC, or RS-232) that sends
what it read followed by CR and/or LF, as most hall scanners do in their serial mode.

`ScanLines` turns the bytes into lines (pure); `Scanner` reads the port in a thread of its
own (`hall.port_reader`: a vanished port is said in Chinese and opened again) and hands each
line scanned to `on_scan(text)`, from that thread. What a line means (a booking's code, alone
or inside the address of its page) is for the screen to ask the server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hall.port_reader import PortReader

log = logging.getLogger("kiosk.scanner")

LONGEST_LINE = 512          # a scan longer than this is noise: dropped


class ScanLines:
    """Bytes from a scanner → the lines it sent (CR, LF or CR LF ending each; blank lines and
    lines longer than `LONGEST_LINE` dropped)."""

    def __init__(self) -> None:
        self.held = bytearray()

    def feed(self, data: bytes) -> list[str]:
        lines = []
        for byte in data:
            if byte in b"\r\n":
                text = self.held.decode("utf-8", "replace").strip()
                if text and len(self.held) <= LONGEST_LINE:
                    lines.append(text)
                self.held.clear()
            else:
                self.held.append(byte)
        return lines


class Scanner(PortReader):
    device = "扫码器"

    def __init__(self, port: str, *, baudrate: int = 9600,
                 on_scan: Callable[[str], None] | None = None,
                 on_status: Callable[[bool, str], None] | None = None,
                 retry_seconds: float = 1.0) -> None:
        super().__init__(port, baudrate=baudrate, on_status=on_status,
                         retry_seconds=retry_seconds)
        self.on_scan = on_scan

    def _read(self, port: Any) -> None:
        lines = ScanLines()
        while not self._stop.is_set():
            for text in lines.feed(port.read(port.in_waiting or 1)):
                log.info("扫码器读到 %d 个字符", len(text))   # never the code: it checks a citizen in
                if self.on_scan is not None:
                    self.on_scan(text)
