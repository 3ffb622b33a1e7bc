"""A serial device read in a thread of its own, for as long as the program runs: the pad's
button evaluators and the kiosk's QR scanner. The port is opened, read until it vanishes
(unplugged, powered off), and opened again every `retry_seconds`; each change is said in
Chinese to the log and to `on_status(ok, text)` (called from the reader's thread: hop to the
app's loop yourself). A subclass says what its bytes mean (`_read`)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import serial

from hall.serial_errors import PORT_ERRORS, describe_port_error

log = logging.getLogger("hall.port_reader")


class PortReader:
    device = "串口设备"      # what the status lines call the device (评价器, 扫码器)

    def __init__(self, port: str, *, baudrate: int = 9600,
                 on_status: Callable[[bool, str], None] | None = None,
                 retry_seconds: float = 1.0,
                 serial_factory: Callable[..., Any] | None = None) -> None:
        self.port, self.baudrate = port, baudrate
        self.on_status = on_status
        self.retry_seconds = retry_seconds
        self._factory = serial_factory or serial.serial_for_url
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.status: tuple[bool, str] = (False, f"{self.device}（{port}）正在连接…")
        self.opens = 0

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"{type(self).__name__}-{self.port}")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _say(self, ok: bool, text: str) -> None:
        if (ok, text) == self.status:
            return
        self.status = (ok, text)
        (log.info if ok else log.warning)("%s", text)
        if self.on_status is not None:
            self.on_status(ok, text)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                port = self._factory(self.port, baudrate=self.baudrate, bytesize=8, parity="N",
                                     stopbits=1, timeout=0.05)
            except PORT_ERRORS as error:
                self._say(False, describe_port_error(self.port, error, opening=True) + "；正在重试")
                self._stop.wait(self.retry_seconds)
                continue
            self.opens += 1
            self._say(True, f"{self.device}已连接（{self.port}）")
            try:
                self._read(port)
            except PORT_ERRORS as error:
                self._say(False, self.device + describe_port_error(self.port, error, opening=False)
                          + "；正在重连")
            finally:
                with contextlib.suppress(*PORT_ERRORS):
                    port.close()
            self._stop.wait(self.retry_seconds)

    def _read(self, port: Any) -> None:
        """Read `port` until the reader is stopped (return) or the port fails (raise)."""
        raise NotImplementedError
