"""Text for an LED strip: what its charset and its width allow.

A strip's firmware draws a one-byte character (ASCII) as a half-width glyph (8×16 dots on a
16-dot line) and every multi-byte GB character as a full-width glyph (16×16), so a line's
width in dots follows from the encoded bytes, not from Unicode's East Asian width. The
functions here never raise on odd input: characters the charset lacks become a visible
substitute (□, in GB2312 at A1F5) and are reported, so a rare character in a reason or an
idle text shows as a box on the strip and as a warning in the driver's status.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

CHARSETS = ("gb2312", "gbk", "gb18030")
SUBSTITUTE = "□"

# Characters a charset lacks but whose glyph it has under another code point (Python's GB2312
# table maps A1AA to U+2015 and A1A4 to U+30FB, while text usually carries U+2014 and U+00B7).
LOOKALIKES = {
    "—": "―",
    "·": "・",
    "〇": "○",
    "〜": "～",
}


@dataclass(frozen=True)
class TextSpec:
    """What one strip can show on one line.

    `width_dots` is the line's width; a full-width glyph is `font_dots` wide and a half-width
    one half that. `ascii_fullwidth` is for firmware without a half-width font: ASCII is then
    sent as its full-width form (Ａ０１２), otherwise full-width letters and digits are folded
    to ASCII, which takes half the room."""

    charset: str = "gb2312"
    width_dots: int = 64
    font_dots: int = 16
    ascii_fullwidth: bool = False
    substitute: str = SUBSTITUTE

    def __post_init__(self) -> None:
        if self.charset not in CHARSETS:
            raise ValueError(f"unknown charset {self.charset!r}; one of {', '.join(CHARSETS)}")
        if self.font_dots < 2 or self.width_dots < 1:
            raise ValueError("width_dots and font_dots must be positive")


@dataclass(frozen=True)
class FittedText:
    """A line ready to send: `text` encodes in the charset without error as `data`."""

    text: str
    data: bytes
    width: int                   # dots
    replaced: tuple[str, ...]    # characters the charset lacks, in order, each once
    truncated: bool              # the line was cut at the strip's width


def _is_alnum_ascii(code: int) -> bool:
    return 0x30 <= code <= 0x39 or 0x41 <= code <= 0x5A or 0x61 <= code <= 0x7A


def fold_width(text: str, ascii_fullwidth: bool = False) -> str:
    """Full-width letters and digits (Ａ０１２) to ASCII, which takes half the room; Chinese
    punctuation such as （）：，stays full-width as Chinese text wants it. With
    `ascii_fullwidth` (firmware without half-width glyphs) every ASCII character, the space
    included, goes the other way."""
    out = []
    for ch in text:
        code = ord(ch)
        if ascii_fullwidth:
            if 0x21 <= code <= 0x7E:
                ch = chr(code + 0xFEE0)
            elif ch == " ":
                ch = "\u3000"
        elif 0xFF01 <= code <= 0xFF5E and _is_alnum_ascii(code - 0xFEE0):
            ch = chr(code - 0xFEE0)
        out.append(ch)
    return "".join(out)


def clean(text: str) -> str:
    """NFC, control characters (line breaks, tabs) to spaces, invisible format characters out."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        category = unicodedata.category(ch)
        if category == "Cc":
            out.append(" ")
        elif category == "Cf":
            continue
        else:
            out.append(ch)
    return "".join(out)


def _encode_char(ch: str, charset: str) -> tuple[str, bytes] | None:
    for candidate in (ch, LOOKALIKES.get(ch)):
        if candidate is None:
            continue
        try:
            return candidate, candidate.encode(charset)
        except UnicodeEncodeError:
            continue
    return None


def _substitute(spec: TextSpec) -> tuple[str, bytes]:
    found = _encode_char(spec.substitute, spec.charset)
    return found if found is not None else ("?", b"?")


def glyph_width(data: bytes, spec: TextSpec) -> int:
    """Dots one encoded character takes: half a glyph for one byte, a whole one otherwise."""
    return spec.font_dots // 2 if len(data) == 1 else spec.font_dots


def fit_text(text: str, spec: TextSpec) -> FittedText:
    """Normalise `text` for a strip: clean it, fold widths, replace what the charset lacks,
    and cut it at the line's width (never inside a character)."""
    text = fold_width(clean(text), spec.ascii_fullwidth).strip()
    substitute = _substitute(spec)
    shown: list[str] = []
    data = bytearray()
    replaced: list[str] = []
    width = 0
    truncated = False
    for ch in text:
        encoded = _encode_char(ch, spec.charset)
        if encoded is None:
            if ch not in replaced:
                replaced.append(ch)
            encoded = substitute
        char_width = glyph_width(encoded[1], spec)
        if width + char_width > spec.width_dots:
            truncated = True
            break
        shown.append(encoded[0])
        data += encoded[1]
        width += char_width
    return FittedText("".join(shown), bytes(data), width, tuple(replaced), truncated)


def text_width(text: str, spec: TextSpec) -> int:
    """Dots `text` would take once normalised, however wide the strip is."""
    wide = TextSpec(spec.charset, 1 << 30, spec.font_dots, spec.ascii_fullwidth, spec.substitute)
    return fit_text(text, wide).width


def fits(text: str, spec: TextSpec) -> bool:
    return text_width(text, spec) <= spec.width_dots
