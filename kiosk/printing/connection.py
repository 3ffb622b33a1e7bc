"""Where the bytes go: a printer named by a config string, opened, asked, written to.

    usb:VID:PID              e.g. usb:0416:5011 (hex), options in=, out= (endpoints)
    serial:DEVICE[:BAUD]     e.g. serial:/dev/ttyUSB0:115200 (9600 by default)
    net:HOST[:PORT]          e.g. net:192.168.1.50 (raw TCP, port 9100 by default)
    file:PATH                e.g. file:/dev/usb/lp0, or a .bin file
    preview:DIR              a PNG of each job, drawn by our renderer, into DIR

Options follow a `?`: `serial:/dev/ttyS0?status=off&timeout=1`. `status=off` is for printers
that never answer DLE EOT (otherwise silence means the printer is off); `timeout` (seconds) is
how long to wait for a status reply, 0.5 by default.

Only this module and `jobs.py` touch devices; the escpos printer classes do the opening.
"""

from __future__ import annotations

import contextlib
import re
import select
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from kiosk.printing import faults
from kiosk.printing.faults import PrinterFault
from kiosk.printing.profile import PrinterProfile

KINDS = ("usb", "serial", "net", "file", "preview")
DEFAULT_BAUD = 9600
DEFAULT_PORT = 9100
STATUS_TIMEOUT = 0.5
IO_TIMEOUT = 5.0
"""Seconds a write may take beyond the line's own transfer time."""
CONNECT_TIMEOUT = 2.0
"""Seconds to reach a network printer: a printer switched off on the LAN does not refuse, it
is silent, and the citizen waits for this before the ticket shows on screen instead."""


@dataclass(frozen=True, slots=True)
class PrinterSpec:
    """A parsed config string. `target` is the device, host, file or folder; `number` the baud
    rate (serial) or port (net); `vid`/`pid` the USB ids."""

    kind: str
    target: str = ""
    number: int | None = None
    vid: int | None = None
    pid: int | None = None
    status: bool = True
    timeout: float = STATUS_TIMEOUT
    options: dict[str, str] = field(default_factory=dict)

    @property
    def asks_status(self) -> bool:
        """Whether DLE EOT replies are read: serial, network and USB links carry them back."""
        return self.status and self.kind in ("usb", "serial", "net")


def parse_printer_spec(text: str) -> PrinterSpec:
    """`usb:0416:5011`, `serial:/dev/ttyUSB0:9600`, `net:host:9100`, `file:PATH`, `preview:DIR`.

    Raises ValueError with a message in Chinese and English."""

    def bad(why: str) -> ValueError:
        return ValueError(f"打印机设置“{text}”有误：{why} / bad printer setting {text!r}")

    kind, sep, rest = text.strip().partition(":")
    if not sep or kind not in KINDS:
        raise bad(f"应以 {'、'.join(k + ':' for k in KINDS)} 开头")
    rest, _, query = rest.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
    unknown = set(options) - {"status", "timeout", "in", "out"}
    if unknown:
        raise bad(f"未知选项 {', '.join(sorted(unknown))}")
    status = options.get("status", "on").lower() not in ("off", "0", "no", "false")
    try:
        timeout = float(options.get("timeout", STATUS_TIMEOUT))
    except ValueError:
        raise bad("timeout 应为秒数") from None
    common: dict[str, Any] = {"status": status, "timeout": timeout, "options": options}
    if not rest:
        raise bad("缺少设备、地址或路径")
    if kind == "usb":
        m = re.fullmatch(r"(?:0x)?([0-9a-fA-F]{1,4}):(?:0x)?([0-9a-fA-F]{1,4})", rest)
        if not m:
            raise bad("应为 usb:VID:PID（十六进制），如 usb:0416:5011")
        return PrinterSpec("usb", vid=int(m[1], 16), pid=int(m[2], 16), **common)
    if kind == "serial":
        device, _, baud = rest.rpartition(":")
        if device and baud.isdigit():
            return PrinterSpec("serial", device, int(baud), **common)
        return PrinterSpec("serial", rest, DEFAULT_BAUD, **common)
    if kind == "net":
        m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?|([^:\[\]]+)(?::(\d+))?", rest)
        if not m:
            raise bad("应为 net:主机[:端口]，如 net:192.168.1.50:9100")
        host = m[1] or m[3]
        port = int(m[2] or m[4] or DEFAULT_PORT)
        if not 0 < port < 65536:
            raise bad("端口应在 1–65535 之间")
        return PrinterSpec("net", host, port, **common)
    return PrinterSpec(kind, rest, **common)


# --- connections ---------------------------------------------------------------------------------

class Connection:
    """An open printer: `ask` a status, `write` a job. `asks_status` False means the link
    cannot carry a reply, so the job is written without a status check."""

    asks_status = False

    def ask(self, n: int, wait: float) -> int | None:
        raise NotImplementedError

    def write(self, data: bytes, job: str) -> Path | None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class EscposConnection(Connection):
    """A python-escpos printer (Usb, Serial, Network, File) used for its opening and writing;
    status replies are read from its device with our own timeouts."""

    def __init__(self, spec: PrinterSpec, printer: Any) -> None:
        self.spec = spec
        self.printer = printer
        self.asks_status = spec.asks_status
        try:
            printer.open()
        except Exception as e:       # DeviceNotFoundError, USBNotFoundError, NoBackendError …
            raise PrinterFault("offline", detail=f"cannot open {describe(spec)}: {e}") from e
        if printer.device is None:
            raise PrinterFault("offline", detail=f"cannot open {describe(spec)}")

    @property
    def device(self) -> Any:
        return self.printer.device

    def ask(self, n: int, wait: float) -> int | None:
        try:
            self._drain()
            self.printer._raw(faults.request(n))
            reply = self._read_one(wait)
        except (OSError, ValueError) as e:       # also serial.SerialException, usb.USBError
            raise PrinterFault("offline", faults.WRITE_FAILED, f"status query failed: {e}") from e
        return reply

    def _drain(self) -> None:
        """Throw away bytes that came unasked (a reply too late for the last question)."""
        kind = self.spec.kind
        if kind == "serial":
            self.device.reset_input_buffer()
        elif kind == "net":
            sock: socket.socket = self.device
            while select.select([sock], [], [], 0)[0]:
                if not sock.recv(64):
                    raise OSError("connection closed by the printer")

    def _read_one(self, wait: float) -> int | None:
        kind = self.spec.kind
        if kind == "serial":
            self.device.timeout = wait
            data = self.device.read(1)
        elif kind == "net":
            sock: socket.socket = self.device
            if not select.select([sock], [], [], wait)[0]:
                return None
            data = sock.recv(1)
            if not data:
                raise OSError("connection closed by the printer")
        elif kind == "usb":
            try:
                data = bytes(self.device.read(self.printer.in_ep, 16, int(wait * 1000)))
            except Exception as e:
                if "timeout" in type(e).__name__.lower() or "timed out" in str(e).lower():
                    return None
                raise OSError(str(e)) from e
        else:
            return None
        return data[0] if data else None

    def write(self, data: bytes, job: str) -> Path | None:
        try:
            if self.spec.kind == "serial":
                baud = self.spec.number or DEFAULT_BAUD
                self.device.write_timeout = IO_TIMEOUT + len(data) * 10 / baud * 1.5
                self.printer._raw(data)
                self.device.flush()
            else:
                self.printer._raw(data)
        except Exception as e:     # OSError, SerialTimeoutException, socket.timeout, USBError …
            raise PrinterFault("offline", faults.WRITE_FAILED,
                               f"write to {describe(self.spec)} failed: {type(e).__name__}: {e}"
                               ) from e
        return None

    def transfer_seconds(self, size: int) -> float:
        """How long `size` bytes take on the line, for waiting on the reply after a job."""
        if self.spec.kind == "serial":
            return size * 10 / (self.spec.number or DEFAULT_BAUD)
        return 0.0

    def close(self) -> None:
        # Closing a vanished device must not hide the fault that ended the job, nor fail again
        # when the escpos printer object is garbage-collected (its __del__ closes too).
        try:
            self.printer.close()
        except Exception:
            device = getattr(self.printer, "_device", None)
            with contextlib.suppress(Exception):
                if device and hasattr(device, "close"):
                    device.close()
            self.printer._device = False


class PreviewConnection(Connection):
    """Writes each job as the PNG our renderer draws of its bytes: the demo's printer."""

    def __init__(self, spec: PrinterSpec, profile: PrinterProfile,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        self.folder = Path(spec.target)
        self.profile = profile
        self.clock = clock
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise PrinterFault("error", faults.BAD_SETTING, f"preview folder: {e}") from e

    def write(self, data: bytes, job: str) -> Path:
        from kiosk.printing.render import render

        stem = f"{self.clock():%Y%m%d-%H%M%S-%f}-{re.sub(r'[^0-9A-Za-z_-]', '_', job)}"
        path = self.folder / f"{stem}.png"
        try:
            render(data, self.profile.dots, self.profile.charset).save(path)
        except OSError as e:
            raise PrinterFault("error", faults.BAD_SETTING, f"preview: {e}") from e
        return path


def describe(spec: PrinterSpec) -> str:
    if spec.kind == "usb":
        return f"usb {spec.vid:04x}:{spec.pid:04x}"
    return f"{spec.kind} {spec.target}" + (f":{spec.number}" if spec.number else "")


def connect(spec: PrinterSpec, profile: PrinterProfile) -> Connection:
    """Open the printer. Raises PrinterFault('offline') when it is not there."""
    if spec.kind == "preview":
        return PreviewConnection(spec, profile)
    if spec.kind == "file":
        from escpos.printer import File

        return EscposConnection(spec, File(spec.target, profile="default"))
    if spec.kind == "serial":
        from escpos.printer import Serial

        return EscposConnection(spec, Serial(spec.target, baudrate=spec.number or DEFAULT_BAUD,
                                             timeout=spec.timeout, profile="default"))
    if spec.kind == "net":
        from escpos.printer import Network

        conn = EscposConnection(spec, Network(spec.target, port=spec.number or DEFAULT_PORT,
                                              timeout=CONNECT_TIMEOUT, profile="default"))
        conn.device.settimeout(IO_TIMEOUT)
        return conn
    if spec.kind == "usb":
        from escpos.printer import Usb

        endpoints = {k: int(spec.options[key], 0) for k, key in (("in_ep", "in"), ("out_ep", "out"))
                     if key in spec.options}
        return EscposConnection(spec, Usb(spec.vid, spec.pid, timeout=int(IO_TIMEOUT * 1000),
                                          profile="default", **endpoints))
    raise PrinterFault("error", faults.BAD_SETTING, f"unknown printer kind {spec.kind!r}")

