"""The look every kivy device shares: the Chinese font, the colours, the sizes, big buttons.

Colours come in two palettes: the normal one, and the high-contrast one of 长辈模式 (elder
mode), light text on black. Every text colour of a palette is checked against its background
with the WCAG contrast ratio (≥ 4.5:1, tested); nothing is told by colour alone, so each state
also has words or a symbol. Sizes are in dp: touch targets are never under 60 × 60 dp.

Importing this module does not import kivy; `register_font()` does, and must run before the
first widget is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets"
FONT = ASSETS / "fonts" / "NotoSansSC-Regular.otf"
MIN_TARGET_DP = 60
MIN_CONTRAST = 4.5

RGB = tuple[float, float, float]


def _hex(code: str) -> tuple[float, float, float, float]:
    code = code.lstrip("#")
    return (int(code[0:2], 16) / 255, int(code[2:4], 16) / 255, int(code[4:6], 16) / 255, 1.0)


@dataclass(frozen=True)
class Palette:
    background: tuple[float, ...]   # the screen
    surface: tuple[float, ...]      # cards and list rows
    text: tuple[float, ...]
    muted: tuple[float, ...]        # secondary text, still ≥ 4.5:1 on background and surface
    primary: tuple[float, ...]      # the main action (取号)
    on_primary: tuple[float, ...]
    secondary: tuple[float, ...]    # other buttons
    on_secondary: tuple[float, ...]
    alert: tuple[float, ...]        # faults; always with words
    on_alert: tuple[float, ...]
    header: tuple[float, ...]
    on_header: tuple[float, ...]


NORMAL = Palette(
    background=_hex("#F3F6FA"), surface=_hex("#FFFFFF"), text=_hex("#1A2330"),
    muted=_hex("#4A5666"), primary=_hex("#B3261E"), on_primary=_hex("#FFFFFF"),
    secondary=_hex("#1F4E8C"), on_secondary=_hex("#FFFFFF"), alert=_hex("#8A4B00"),
    on_alert=_hex("#FFFFFF"), header=_hex("#123A6B"), on_header=_hex("#FFFFFF"))

ELDER = Palette(
    background=_hex("#000000"), surface=_hex("#1A1A1A"), text=_hex("#FFFFFF"),
    muted=_hex("#FFE066"), primary=_hex("#FFD60A"), on_primary=_hex("#000000"),
    secondary=_hex("#FFFFFF"), on_secondary=_hex("#000000"), alert=_hex("#FF9F1C"),
    on_alert=_hex("#000000"), header=_hex("#000000"), on_header=_hex("#FFD60A"))


@dataclass(frozen=True)
class Sizes:
    body: int
    title: int
    button: int
    number: int          # a ticket number on screen
    target: int          # the height of a button row
    gap: int


NORMAL_SIZES = Sizes(body=24, title=36, button=28, number=160, target=88, gap=16)
ELDER_SIZES = Sizes(body=34, title=48, button=38, number=200, target=110, gap=20)


def _channel(c: float) -> float:
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: tuple[float, ...]) -> float:
    r, g, b = (_channel(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """WCAG 2 contrast ratio of two opaque colours, 1 to 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def register_font() -> None:
    """Make Noto Sans SC kivy's default font (labels, buttons, text inputs)."""
    from kivy.core.text import DEFAULT_FONT, LabelBase

    LabelBase.register(DEFAULT_FONT, fn_regular=str(FONT), fn_bold=str(FONT))
