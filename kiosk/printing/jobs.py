"""Print jobs from start to end: layout, bytes, status check, write. The thin shell around the
pure layouts, encoder and status rules.

A job first asks the printer how it is (where the link carries a reply), so that a printer
without paper does not swallow a ticket; then writes; then asks again, so that paper running
out during the job is known. Any failure is a PrinterFault: the kiosk shows the ticket on the
screen instead and reports the fault's `kind` as its printer status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.printing import faults, sample
from kiosk.printing.blocks import Block
from kiosk.printing.connection import Connection, EscposConnection, connect, parse_printer_spec
from kiosk.printing.encoder import encode
from kiosk.printing.faults import PrinterFault, Status
from kiosk.printing.layouts import checklist_layout, ticket_layout
from kiosk.printing.profile import PrinterProfile
from kiosk.printing.render import Rendering, render

AFTER_JOB_WAIT = 2.0
"""Seconds to wait for the status reply after a job, beyond the line's transfer time: the
printer answers once it has read the job's bytes."""


@dataclass(frozen=True, slots=True)
class PrintOutcome:
    """A job that went out. `status` is the device status to report (`ok` or `paper_low`);
    `message` says it in Chinese when it is not ok; `checked` is False when the printer's
    status could not be read (file, preview, `status=off`)."""

    status: str
    message: str
    bytes_sent: int
    checked: bool
    preview: Path | None = None

    @property
    def warning(self) -> PrinterFault | None:
        return PrinterFault("paper_low") if self.status == "paper_low" else None


def _open(printer: str, profile: PrinterProfile) -> Connection:
    try:
        spec = parse_printer_spec(printer)
    except ValueError as e:
        raise PrinterFault("error", faults.BAD_SETTING, str(e)) from e
    return connect(spec, profile)


def _check(conn: Connection, *, after: int | None = None) -> Status:
    if not conn.asks_status or not isinstance(conn, EscposConnection):
        return Status(checked=False)
    wait = conn.spec.timeout
    if after is not None:
        wait += AFTER_JOB_WAIT + conn.transfer_seconds(after)
    return faults.assess(lambda n: conn.ask(n, wait), during_job=after is not None)


def send(printer: str, data: bytes, profile: PrinterProfile, job: str = "print") -> PrintOutcome:
    """Write ESC/POS `data` to the printer named by the config string `printer`.

    Raises PrinterFault when the printer is not there, is offline, has no paper, or the write
    fails or times out. Paper low is no failure: the job prints and the outcome says so.
    """
    conn = _open(printer, profile)
    try:
        before = _check(conn)
        preview = conn.write(data, job)
        after = _check(conn, after=len(data))
    finally:
        conn.close()
    status = after if after.checked else before
    return PrintOutcome(status.kind, status.message, len(data), status.checked, preview)


def printer_status(printer: str, profile: PrinterProfile | None = None) -> tuple[str, str]:
    """(device status, Chinese message) for the kiosk's periodic `device_status` report, or
    ("", "") when the printer's line cannot be asked (a file, a preview folder, a one-way
    line): nothing is known, so nothing is reported. Never raises; prints nothing."""
    profile = profile or PrinterProfile()
    try:
        conn = _open(printer, profile)
        try:
            status = _check(conn)
        finally:
            conn.close()
    except PrinterFault as fault:
        return fault.kind, fault.message
    if not status.checked:
        return "", ""
    return status.kind, status.message


def print_blocks(printer: str, blocks: list[Block], profile: PrinterProfile,
                 job: str = "print") -> PrintOutcome:
    return send(printer, encode(blocks, profile), profile, job)


def print_ticket(printer: str, ticket: Mapping[str, Any], hall: Mapping[str, Any],
                 profile: PrinterProfile, item: Mapping[str, Any] | None = None) -> PrintOutcome:
    """Print the ticket of a `take_ticket` reply. `item` is the chosen service, if any."""
    blocks = ticket_layout(ticket, hall, profile.paper, item)
    return print_blocks(printer, blocks, profile, f"ticket-{ticket['number']}")


def print_checklist(printer: str, item: Mapping[str, Any], hall: Mapping[str, Any],
                    guide_url: str, profile: PrinterProfile,
                    printed_at: datetime | None = None) -> PrintOutcome:
    """Print the 一次性告知单 of a catalogue item."""
    blocks = checklist_layout(item, hall, guide_url, profile.paper, printed_at)
    return print_blocks(printer, blocks, profile, f"checklist-{item['code']}")


def print_test(printer: str, paper: int = 80, charset: str = "gb18030", *,
               native_qr: bool = True, cutter: bool = True) -> PrintOutcome:
    """Send a sample ticket (made-up hall, number A013) to `printer`, e.g. `file:/tmp/t.bin`,
    `serial:/dev/ttyUSB0:9600` or `preview:/tmp/prints`. Raises PrinterFault."""
    profile = PrinterProfile(paper, charset, native_qr, cutter)
    return print_ticket(printer, sample.TICKET, sample.HALL, profile, sample.ITEM)


def render_file(source: Path, out_png: Path, paper: int = 80, charset: str = "gb18030"
                ) -> Rendering:
    """Draw the ESC/POS bytes of `source` into `out_png`; returns what was read (text lines,
    QR payloads, cuts, overflow, unknown commands)."""
    profile = PrinterProfile(paper, charset)
    rendering = render(Path(source).read_bytes(), profile.dots, profile.charset)
    rendering.save(Path(out_png))
    return rendering
