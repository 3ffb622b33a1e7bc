"""Printer faults and what a printer's DLE EOT status bytes mean. No I/O here.

A fault's `kind` is one of the `device_status` printer values that raise a warning
(`hall.vocabulary.PRINTER_FAULTS`): `paper_low`, `paper_out`, `offline`, `error`. Its `message`
is for the citizen at the kiosk, Chinese first, and says what to do; `detail` is for the log
and the manager's device list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hall.vocabulary import PRINTER_FAULTS

MESSAGES = {
    "offline": "打印机未连接或未开机，请联系工作人员",
    "paper_out": "打印机缺纸，请联系工作人员加纸",
    "paper_low": "打印纸即将用完，请联系工作人员更换纸卷",
    "error": "打印机故障，请联系工作人员",
}
NO_REPLY = "打印机没有响应，请联系工作人员"
COVER_OPEN = "打印机盖未合好，请联系工作人员"
WRITE_FAILED = "打印机连接中断，请联系工作人员"
CUTTER = "打印机切刀故障，请联系工作人员"
OUT_DURING_JOB = "打印机缺纸，凭条可能没有打印完整，请联系工作人员加纸"
BAD_SETTING = "打印机设置有误，请联系工作人员"


class PrinterFault(Exception):
    """The printer cannot print now (or, for `paper_low`, soon will not). Nothing is lost by
    it: the caller shows the ticket on screen and reports `kind` as the device status."""

    def __init__(self, kind: str, message: str | None = None, detail: str = "") -> None:
        if kind not in PRINTER_FAULTS:
            raise ValueError(f"unknown printer fault kind {kind!r}")
        self.kind = kind
        self.message = message or MESSAGES[kind]
        self.detail = detail
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"PrinterFault({self.kind!r}, {self.message!r}, {self.detail!r})"


# --- DLE EOT n replies (real-time status) ------------------------------------------------------
# Every reply byte has bit 1 and bit 4 set and bits 0 and 7 clear: 0x12 is "all well".

ONLINE, CAUSE, ERRORS, PAPER = 1, 2, 3, 4
"""The `n` of DLE EOT n: printer status, offline cause, error cause, paper roll sensor."""


def request(n: int) -> bytes:
    return b"\x10\x04" + bytes([n])


def is_status_byte(value: int) -> bool:
    return value & 0x93 == 0x12


@dataclass(frozen=True, slots=True)
class Status:
    """The printer can print: `ok`, or `paper_low` (it prints, but says so)."""

    kind: str = "ok"
    message: str = ""
    checked: bool = True
    """False when the connection cannot read the printer's status (a file, a preview)."""

    @property
    def warning(self) -> PrinterFault | None:
        return PrinterFault("paper_low") if self.kind == "paper_low" else None


def assess(ask: Callable[[int], int | None], *, during_job: bool = False) -> Status:
    """The printer's state from its answers to DLE EOT 1 (and 2, 3 when offline) and 4.

    `ask(n)` sends DLE EOT n and returns the reply byte, or None when none came in time. Raises
    PrinterFault unless the printer can print. After a job (`during_job`), paper out means the
    slip may be cut short.
    """
    online = ask(ONLINE)
    if online is None:
        raise PrinterFault("offline", NO_REPLY, "no reply to DLE EOT 1")
    if not is_status_byte(online):
        raise PrinterFault("error", detail=f"DLE EOT 1 reply 0x{online:02x} is no status byte")
    paper = ask(PAPER)
    paper_out = paper is not None and is_status_byte(paper) and bool(paper & 0x60)
    out_message = OUT_DURING_JOB if during_job else MESSAGES["paper_out"]
    if online & 0x08:
        cause = ask(CAUSE)
        if paper_out or (cause is not None and cause & 0x20):
            raise PrinterFault("paper_out", out_message, f"offline, paper end (0x{online:02x})")
        if cause is not None and cause & 0x04:
            raise PrinterFault("offline", COVER_OPEN, "cover open")
        if cause is not None and cause & 0x40:
            errors = ask(ERRORS)
            if errors is not None and errors & 0x08:
                raise PrinterFault("error", CUTTER, "autocutter error")
            raise PrinterFault("error", detail=f"error (DLE EOT 3 reply {errors!r})")
        raise PrinterFault("offline", detail=f"offline (DLE EOT 1 reply 0x{online:02x})")
    if paper_out:
        raise PrinterFault("paper_out", out_message, f"paper end (0x{paper:02x})")
    if paper is not None and is_status_byte(paper) and paper & 0x0C:
        return Status("paper_low", MESSAGES["paper_low"])
    return Status()
