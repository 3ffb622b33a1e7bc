"""Characters drawn the way a thermal printer lays them out, with the project's Noto Sans SC.

A printer prints from fixed cells: 12×24 dots for a single-byte character, 24×24 for a
double- or four-byte one, each multiplied by the GS ! size. Both the encoder (a line the
printer's charset cannot carry becomes an image) and the renderer (bytes back to a picture)
draw with these cells, so a bitmap line lines up with the text lines around it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from kiosk.printing.blocks import CELL_DOTS, LINE_DOTS
from kiosk.printing.textwidth import char_cells

FONT_PATH = Path(__file__).resolve().parents[2] / "assets" / "fonts" / "NotoSansSC-Regular.otf"

EM_RATIO = 22 / 24
"""Font size relative to the cell height: leaves a dot of white above and below a Hanzi."""
ASCENT = 0.88
"""Noto Sans SC's ideographic em box top above the baseline, in em."""


@lru_cache(maxsize=16)
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), size)


@lru_cache(maxsize=4096)
def glyph(ch: str, cells: int, width: int, height: int, bold: bool) -> Image.Image:
    """One character in its cell (mode "L", 0 = ink), `cells` columns wide, at size width×height."""
    box_w, box_h = CELL_DOTS * cells * height, LINE_DOTS * height
    size = round(LINE_DOTS * height * EM_RATIO)
    face = font(size)
    cell = Image.new("L", (box_w, box_h), 255)
    if ch.strip():
        draw = ImageDraw.Draw(cell)
        baseline = (box_h - size) / 2 + ASCENT * size
        left, _, right, _ = face.getbbox(ch, anchor="ls")
        # Bold: a printer strikes each dot row twice, shifted; at normal size one dot of shift
        # reads best, larger sizes take a stroke around the outline.
        stroke = height // 2 if bold else 0
        shift = 1 if bold and not stroke else 0
        # Pillow types the box as floats (for a float stroke_width); with none passed it is ints.
        ink_w = int(right - left) + 2 * stroke + shift
        if ink_w > box_w - 1:
            # Too wide for a fixed cell (W, M, @ in a 12-dot cell): draw wide, then squeeze.
            wide = Image.new("L", (ink_w + 2, box_h), 255)
            _strike(ImageDraw.Draw(wide), 1 + stroke - left, baseline, ch, face, stroke, shift)
            cell = wide.resize((box_w, box_h), Image.Resampling.LANCZOS)
        else:
            _strike(draw, (box_w - ink_w) / 2 + stroke - left, baseline, ch, face, stroke, shift)
    if width != height:
        cell = cell.resize((CELL_DOTS * cells * width, box_h), Image.Resampling.LANCZOS)
    return cell


def _strike(draw: ImageDraw.ImageDraw, x: float, baseline: float, ch: str,
            face: ImageFont.FreeTypeFont, stroke: int, shift: int) -> None:
    for dx in range(shift + 1):
        draw.text((x + dx, baseline), ch, font=face, fill=0, anchor="ls",
                  stroke_width=stroke, stroke_fill=0)


def draw_line(text: str, width: int = 1, height: int = 1, bold: bool = False,
              cells: list[int] | None = None) -> Image.Image:
    """A line of text as a black-and-white image (mode "1") exactly as wide as its cells.

    `cells` gives each character's width in columns; by default 1 for ASCII and 2 otherwise,
    as the printer's Chinese mode lays them out.
    """
    widths = cells if cells is not None else [char_cells(ch) for ch in text]
    total = sum(widths) * CELL_DOTS * width
    line = Image.new("L", (max(total, 1), LINE_DOTS * height), 255)
    x = 0
    for ch, n in zip(text, widths, strict=True):
        line.paste(glyph(ch, n, width, height, bold), (x, 0))
        x += n * CELL_DOTS * width
    return threshold(line)


def threshold(image: Image.Image) -> Image.Image:
    """Thermal paper has no grey: a dot is burnt or not."""
    return image.point(lambda v: 0 if v < 128 else 255, mode="1")
