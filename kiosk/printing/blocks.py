"""A print job as a short list of typed blocks: what to print, without any printer bytes.

Layouts (`layouts.py`) build these; the encoder (`encoder.py`) turns them into ESC/POS. Tests
check a layout on its blocks alone: every text line fits its paper at its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kiosk.printing.textwidth import display_width

Align = Literal["left", "center", "right"]
EcLevel = Literal["L", "M", "Q", "H"]

CELL_DOTS = 12
"""Width of one column (an ASCII character of font A) in dots; a Hanzi takes two."""
LINE_DOTS = 24
"""Height of a character cell in dots at normal size."""
LINE_GAP = 6
"""White between text lines: the default line spacing (ESC 2) is 30 dots, 6 over the cell."""


@dataclass(frozen=True, slots=True)
class Paper:
    """Printable width of a paper roll: 58 mm paper has 48 mm = 384 dots at 203 dpi, 80 mm paper
    72 mm = 576 dots."""

    mm: int
    dots: int

    @property
    def columns(self) -> int:
        """ASCII characters per line at normal size (twice the Hanzi count)."""
        return self.dots // CELL_DOTS

    def columns_at(self, width: int) -> int:
        """Columns left for text enlarged `width` times horizontally."""
        return self.columns // width


PAPERS = {58: Paper(58, 384), 80: Paper(80, 576)}


def paper_for(mm: int) -> Paper:
    try:
        return PAPERS[mm]
    except KeyError:
        raise ValueError(f"不支持的纸宽 {mm} mm（只支持 58 或 80）/ paper must be 58 or 80 mm") from None


@dataclass(frozen=True, slots=True)
class Text:
    """One printed line. `width` and `height` are the GS ! multipliers (1–8)."""

    text: str
    width: int = 1
    height: int = 1
    align: Align = "left"
    bold: bool = False

    def __post_init__(self) -> None:
        if not (1 <= self.width <= 8 and 1 <= self.height <= 8):
            raise ValueError(f"text size must be 1–8, got {self.width}×{self.height}")
        if "\n" in self.text:
            raise ValueError("a Text block is one line")

    @property
    def dots(self) -> int:
        """Width of the printed line in dots."""
        return display_width(self.text) * CELL_DOTS * self.width

    def fits(self, paper: Paper) -> bool:
        return self.dots <= paper.dots


@dataclass(frozen=True, slots=True)
class Rule:
    """A full-width line of `char` (an ASCII character) to separate sections."""

    char: str = "-"

    def text(self, paper: Paper) -> str:
        return self.char * paper.columns


@dataclass(frozen=True, slots=True)
class QR:
    """A QR code of `data`, centred; `module` is the size of one module in dots (1–16)."""

    data: str
    module: int = 6
    ec: EcLevel = "M"


@dataclass(frozen=True, slots=True)
class Feed:
    """Blank lines."""

    lines: int = 1


@dataclass(frozen=True, slots=True)
class Cut:
    """End of the slip: cut where the printer has a cutter, else feed it out to be torn off."""


Block = Text | Rule | QR | Feed | Cut


def text_of(blocks: list[Block], paper: Paper) -> list[str]:
    """The text lines of a layout, in order (rules included), as a reader would see them."""
    out = []
    for block in blocks:
        if isinstance(block, Text):
            out.append(block.text)
        elif isinstance(block, Rule):
            out.append(block.text(paper))
    return out
