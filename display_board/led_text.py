"""Text drawn the way an LED module shows it: a grid of round dots, lit or dark, with a glow.

A line of text is first drawn in one bit per dot at the module's height (16 dots, as on the
P10 modules halls use; bigger areas use more), then every dot becomes a round LED: lit ones in
the colour with a soft glow, unlit ones as dim dots, so the board looks like the real thing and
stays sharp from across the hall. Pure Pillow, no kivy; images are cached, because a board
shows the same few texts again and again.
"""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from hall.look import FONT

RED = (255, 48, 32)
AMBER = (255, 168, 0)
GREEN = (64, 255, 72)
COLOURS = {"red": RED, "amber": AMBER, "green": GREEN}
UNLIT = 0.13          # an unlit dot's brightness, as a dark module shows its LEDs


@lru_cache(maxsize=16)
def _font(rows: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), rows)


@lru_cache(maxsize=8192)
def dots_wide(text: str, rows: int = 16) -> int:
    """How many dots wide `text` is, as `dots` draws it, without drawing it. Cached: a board
    lays out its columns from the widths of every window's texts at each redraw."""
    left, _top, right, _bottom = _font(rows).getbbox(text or " ")
    # Pillow types the box as floats (for a float stroke_width); with none passed it is ints.
    return max(1, int(right - min(0, left)))


def dots(text: str, rows: int = 16) -> Image.Image:
    """The text as a 1-bit image, `rows` dots high (mode "L", 0 or 255)."""
    font = _font(rows)
    left, top, _right, bottom = font.getbbox(text or " ")
    width = dots_wide(text, rows)
    image = Image.new("L", (width, rows), 0)
    ImageDraw.Draw(image).text((-min(0, left), (rows - (bottom - top)) / 2 - top), text,
                               font=font, fill=255)
    return image.point(lambda v: 255 if v >= 110 else 0)


@lru_cache(maxsize=8)
def _dot_tile(pitch: int) -> Image.Image:
    """One LED and the dark gap around it: a round dot, or a square one when too small to round."""
    tile = Image.new("L", (pitch, pitch), 0)
    size = max(1, round(pitch * 0.75))
    off = (pitch - size) // 2
    box = (off, off, off + size - 1, off + size - 1)
    draw = ImageDraw.Draw(tile)
    (draw.ellipse if size >= 4 else draw.rectangle)(box, fill=255)
    return tile


def _tiled(tile: Image.Image, size: tuple[int, int]) -> Image.Image:
    out = Image.new("L", size, 0)
    for x in range(0, size[0], tile.width):
        for y in range(0, size[1], tile.height):
            out.paste(tile, (x, y))
    return out


@lru_cache(maxsize=512)
def led_image(text: str, colour: tuple[int, int, int] = RED, pitch: int = 4, rows: int = 16,
              min_columns: int = 0) -> Image.Image:
    """An RGBA picture of `text` on an LED module: `pitch` pixels from dot to dot, `rows` dots
    high, at least `min_columns` dots wide (a module's width, so that short texts keep it)."""
    lit = dots(text, rows)
    if lit.width < min_columns:
        padded = Image.new("L", (min_columns, rows), 0)
        padded.paste(lit, (0, 0))
        lit = padded
    size = (lit.width * pitch, rows * pitch)
    grid = _tiled(_dot_tile(pitch), size)
    lit_dots = ImageChops.multiply(lit.resize(size, Image.Resampling.NEAREST), grid)
    glow = lit_dots.filter(ImageFilter.GaussianBlur(pitch * 0.6))
    brightness = ImageChops.lighter(lit_dots, glow.point(lambda v: int(v * 0.55)))
    brightness = ImageChops.lighter(brightness, grid.point(lambda v: int(v * UNLIT)))
    image = Image.new("RGBA", size, (*colour, 255))
    image.putalpha(brightness)
    return image
