"""The kiosk's printing: tickets and one-time checklists on ESC/POS thermal printers.

A functional core (layouts → blocks → ESC/POS bytes, status rules, an ESC/POS renderer) with
a thin shell (connections from a config string, print jobs). See `docs/printing.md`.
"""

from kiosk.printing.blocks import QR, Block, Cut, Feed, Paper, Rule, Text, paper_for
from kiosk.printing.connection import PrinterSpec, parse_printer_spec
from kiosk.printing.encoder import encode
from kiosk.printing.faults import PrinterFault
from kiosk.printing.jobs import (
    PrintOutcome,
    print_blocks,
    print_checklist,
    print_test,
    print_ticket,
    printer_status,
    render_file,
    send,
)
from kiosk.printing.layouts import checklist_layout, ticket_layout
from kiosk.printing.profile import CHARSETS, PrinterProfile
from kiosk.printing.render import Rendering, render

__all__ = [
    "CHARSETS", "QR", "Block", "Cut", "Feed", "Paper", "PrintOutcome", "PrinterFault",
    "PrinterProfile", "PrinterSpec", "Rendering", "Rule", "Text", "checklist_layout", "encode",
    "paper_for", "parse_printer_spec", "print_blocks", "print_checklist", "print_test",
    "print_ticket", "printer_status", "render", "render_file", "send", "ticket_layout",
]
