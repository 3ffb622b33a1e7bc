"""How big the board's letters must be to be read from where people stand: pure arithmetic.

The rule (docs/board.md): a character must subtend at least 16 minutes of arc at the eye,
the minimum of ISO 9241-3 ("character heights of from 20 to 22 minutes of arc are preferred
for most tasks; the minimum character height shall be 16 minutes of arc"). So the height is
h = 2 · d · tan(16′ / 2) ≈ d / 215: 46.5 mm at 10 m. On the board a hanzi is drawn 15 LED dots
high (its lit dots within the 16-dot row, `HANZI_DOTS`), so the dot pitch in screen pixels is
the height in pixels over 15, rounded up; the pixels come from the screen's diagonal and
resolution (a 55-inch 1080p screen: 0.634 mm per pixel).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_ARCMIN = 16.0      # ISO 9241-3's minimum character height
ROW_DOTS = 16          # an LED row, as on the P10 modules halls use
HANZI_DOTS = 15        # a hanzi's lit height within it (Noto Sans SC; tested)
DIGIT_DOTS = 12        # a digit's or capital's (A001): smaller, so said apart in docs/board.md
MM_PER_INCH = 25.4


@dataclass(frozen=True)
class Screen:
    """A screen as mounted: its pixels (as the window is laid out) and its diagonal."""

    width_px: int
    height_px: int
    diagonal_in: float = 55.0

    @property
    def mm_per_px(self) -> float:
        return self.diagonal_in * MM_PER_INCH / math.hypot(self.width_px, self.height_px)


def required_mm(distance_m: float, arcmin: float = MIN_ARCMIN) -> float:
    """The least character height (mm) that subtends `arcmin` at `distance_m`."""
    return 2 * distance_m * 1000 * math.tan(math.radians(arcmin / 60) / 2)


def subtended_arcmin(height_mm: float, distance_m: float) -> float:
    return 2 * math.degrees(math.atan(height_mm / 2 / (distance_m * 1000))) * 60


def legible_pitch(screen: Screen, distance_m: float, arcmin: float = MIN_ARCMIN) -> int:
    """The least LED dot pitch (whole pixels) at which a hanzi is `arcmin` high at
    `distance_m`; never under 2 (a dot and its gap)."""
    pixels = required_mm(distance_m, arcmin) / screen.mm_per_px
    return max(2, math.ceil(pixels / HANZI_DOTS - 1e-9))


def hanzi_mm(pitch: int, screen: Screen) -> float:
    """How tall a hanzi drawn at `pitch` is on `screen`, in mm."""
    return HANZI_DOTS * pitch * screen.mm_per_px
