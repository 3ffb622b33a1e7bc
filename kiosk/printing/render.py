"""An ESC/POS interpreter of our own: printer bytes back to a picture and to what was printed.

Used by the tests (the text, the QR codes and the cuts read back from the exact bytes sent) and
by the `preview:DIR` printer. It reads the subset of ESC/POS a receipt printer in Chinese mode
needs; every other command it knows is skipped by its length and listed in `ignored`, and a
command it does not know is listed in `unknown` (only its first byte is skipped, the rest is
read as text, as a printer would).

Like a printer, it starts with Chinese mode off: bytes of 0x80 and up are code page 437 until
`FS &`. In Chinese mode they are double-byte (or, in GB18030, four-byte) characters of the
charset, each drawn in a 24×24 cell; single-byte characters take 12×24. A line wider than the
paper is wrapped as a printer does and marked as overflowing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from kiosk.printing import glyphs, qr
from kiosk.printing.blocks import CELL_DOTS, LINE_DOTS, LINE_GAP

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
LF, CR, HT, FF, CAN, NUL = 0x0A, 0x0D, 0x09, 0x0C, 0x18, 0x00

MARGIN = 24
"""White around the printable area in the picture, in dots."""
LINE_SPACING = LINE_DOTS + LINE_GAP
"""ESC 2 default line spacing in dots (1/6 inch at about 180 dpi, what most printers use)."""
CUT_FEED = 24
TAB_COLUMNS = 8

EC_NAMES = {48: "L", 49: "M", 50: "Q", 51: "H"}

# ESC and GS commands we skip: the number of parameter bytes after the command letter.
ESC_SKIP = {
    ord("t"): 1, ord("M"): 1, ord("-"): 1, ord("V"): 1, ord("{"): 1, ord("R"): 1, ord(" "): 1,
    ord("r"): 1, ord("U"): 1, ord("T"): 1, ord("="): 1, ord("%"): 1, ord("?"): 1, ord("c"): 2,
    ord("p"): 3, ord("B"): 2, ord("$"): 2, ord("\\"): 2, ord("L"): 0, ord("S"): 0, ord("W"): 8,
    ord("C"): 2,
}
GS_SKIP = {
    ord("B"): 1, ord("b"): 1, ord("L"): 2, ord("W"): 2, ord("H"): 1, ord("h"): 1, ord("w"): 1,
    ord("f"): 1, ord("a"): 1, ord("r"): 1, ord("I"): 1, ord("P"): 2, ord("T"): 1, ord("$"): 2,
    ord("\\"): 2, ord("/"): 1, ord("E"): 1, ord("^"): 3, ord(":"): 0, ord("x"): 1,
}
FS_SKIP = {ord("C"): 1, ord("-"): 1, ord("S"): 2, ord("p"): 2, ord("r"): 1, ord("^"): 2}


@dataclass(frozen=True, slots=True)
class Line:
    """A printed text line: its text, its GS ! size, and whether it was wider than the paper."""

    text: str
    width: int
    height: int
    bold: bool
    align: str
    dots: int
    overflow: bool
    y: int


@dataclass(frozen=True, slots=True)
class Raster:
    """A GS v 0 image as printed (1 = white, like a PIL "1" image)."""

    image: Image.Image
    align: str
    y: int
    overflow: bool


@dataclass(frozen=True, slots=True)
class QrCode:
    data: str
    module: int
    ec: str
    y: int


@dataclass(frozen=True, slots=True)
class CutMark:
    partial: bool
    y: int


@dataclass
class Rendering:
    """What the bytes print: the picture, and the same content as data."""

    image: Image.Image
    dots: int
    elements: list[Line | Raster | QrCode | CutMark] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[Line]:
        return [e for e in self.elements if isinstance(e, Line)]

    @property
    def texts(self) -> list[str]:
        """The text lines, as printed (a line the printer wrapped counts once)."""
        return [e.text for e in self.elements if isinstance(e, Line)]

    @property
    def qr_codes(self) -> list[str]:
        return [e.data for e in self.elements if isinstance(e, QrCode)]

    @property
    def rasters(self) -> list[Raster]:
        return [e for e in self.elements if isinstance(e, Raster)]

    @property
    def cuts(self) -> int:
        return sum(isinstance(e, CutMark) for e in self.elements)

    @property
    def overflow(self) -> bool:
        return any(isinstance(e, Line | Raster) and e.overflow for e in self.elements)

    def save(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.image.save(path)
        return path


class Truncated(Exception):
    """The data ended inside a command."""


@dataclass(slots=True)
class _Char:
    ch: str
    cells: int
    width: int
    height: int
    bold: bool


class _Interpreter:
    def __init__(self, data: bytes, dots: int, charset: str) -> None:
        self.data = data
        self.pos = 0
        self.dots = dots
        self.charset = charset
        self.result = Rendering(Image.new("1", (1, 1), 1), dots)
        self.pastes: list[tuple[int, int, Image.Image]] = []
        self.dashes: list[int] = []
        self.y = 0
        self.reset()

    def reset(self) -> None:
        self.align = "left"
        self.bold = False
        self.size = (1, 1)
        self.ank = (1, 1, False)          # ESC ! width, height, bold for single-byte characters
        self.kanji = (1, 1)               # FS ! / FS W size for multi-byte characters
        self.chinese = False
        self.spacing = LINE_SPACING
        self.buffer: list[_Char] = []
        self.qr_module = 3
        self.qr_ec = "L"
        self.qr_data = b""

    # --- reading ----------------------------------------------------------------------------

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise Truncated
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def run(self) -> Rendering:
        start = 0
        try:
            while self.pos < len(self.data):
                start = self.pos
                self.step()
        except Truncated:
            self.result.unknown.append(f"data ends inside a command at byte {start}")
        if self.buffer:
            self.print_line()
        return self.finish()

    def step(self) -> None:
        b = self.byte()
        if b == ESC:
            self.esc()
        elif b == GS:
            self.gs()
        elif b == FS:
            self.fs()
        elif b == DLE:
            self.dle()
        elif b == LF:
            self.print_line()
        elif b == HT:
            used = sum(c.cells * c.width for c in self.buffer)
            self.add(" ", TAB_COLUMNS - used % TAB_COLUMNS, single=True)
        elif b in (CR, NUL):
            pass
        elif b == CAN:
            self.buffer.clear()
        elif b == FF:
            self.print_line()
        elif b < 0x20 or b == 0x7F:
            self.result.unknown.append(f"control byte 0x{b:02x} at {self.pos - 1}")
        elif b < 0x80:
            self.add(chr(b), 1, single=True)
        elif not self.chinese:
            self.add(bytes([b]).decode("cp437"), 1, single=True)
        else:
            self.multibyte(b)

    def multibyte(self, lead: int) -> None:
        if not 0x81 <= lead <= 0xFE:
            self.add("?", 1, single=True)
            self.result.unknown.append(f"byte 0x{lead:02x} is no lead byte in {self.charset}")
            return
        second = self.byte()
        raw = bytes([lead, second])
        if self.charset == "gb18030" and 0x30 <= second <= 0x39:
            raw += self.take(2)
        try:
            ch = raw.decode(self.charset)
        except UnicodeDecodeError:
            ch = "\ufffd"
            self.result.unknown.append(f"bytes {raw.hex()} are not {self.charset}")
        self.add(ch, 2, single=False)

    def add(self, ch: str, cells: int, *, single: bool) -> None:
        w, h = self.size
        bold = self.bold
        if single and self.ank != (1, 1, False):
            w, h = max(w, self.ank[0]), max(h, self.ank[1])
            bold = bold or self.ank[2]
        if not single and self.kanji != (1, 1):
            w, h = max(w, self.kanji[0]), max(h, self.kanji[1])
        self.buffer.append(_Char(ch, cells, w, h, bold))

    # --- commands ---------------------------------------------------------------------------

    def esc(self) -> None:
        c = self.byte()
        if c == ord("@"):
            self.buffer.clear()
            self.reset()
        elif c == ord("a"):
            self.align = {0: "left", 1: "center", 2: "right"}.get(self.byte() % 48, "left")
        elif c in (ord("E"), ord("G")):
            self.bold = bool(self.byte() & 1)
        elif c == ord("!"):
            n = self.byte()
            self.ank = (2 if n & 0x20 else 1, 2 if n & 0x10 else 1, bool(n & 0x08))
        elif c == ord("d"):
            n = self.byte()
            self.print_line(allow_empty=False)
            self.y += n * self.spacing
        elif c == ord("J"):
            n = self.byte()
            self.print_line(allow_empty=False)
            self.y += n
        elif c == ord("2"):
            self.spacing = LINE_SPACING
        elif c == ord("3"):
            self.spacing = self.byte()
        elif c in (ord("i"), ord("m")):
            self.cut(partial=True)
        elif c == ord("*"):
            m, nl, nh = self.take(3)
            self.take((nl + nh * 256) * (1 if m in (0, 1) else 3))
            self.result.ignored.append("ESC * column image (not drawn)")
        elif c == ord("D"):
            while self.byte() != 0:
                pass
            self.result.ignored.append("ESC D tab stops")
        elif c in ESC_SKIP:
            self.take(ESC_SKIP[c])
            self.result.ignored.append(f"ESC {chr(c)}")
        else:
            self.result.unknown.append(f"ESC 0x{c:02x} at {self.pos - 2}")

    def gs(self) -> None:
        c = self.byte()
        if c == ord("!"):
            n = self.byte()
            self.size = ((n >> 4 & 7) + 1, (n & 7) + 1)
        elif c == ord("V"):
            m = self.byte()
            if m in (65, 66, 97, 98, 103, 104):
                self.print_line(allow_empty=False)
                self.y += self.byte()
            self.cut(partial=m in (1, 49, 66, 98, 104))
        elif c == ord("v"):
            self.raster()
        elif c == ord("("):
            self.gs_paren()
        elif c == ord("k"):
            m = self.byte()
            if m <= 6:
                while self.byte() != 0:
                    pass
            else:
                self.take(self.byte())
            self.result.ignored.append("GS k barcode (not drawn)")
        elif c == ord("*"):
            x, y = self.take(2)
            self.take(x * y * 8)
            self.result.ignored.append("GS * downloaded image")
        elif c in GS_SKIP:
            self.take(GS_SKIP[c])
            self.result.ignored.append(f"GS {chr(c)}")
        else:
            self.result.unknown.append(f"GS 0x{c:02x} at {self.pos - 2}")

    def gs_paren(self) -> None:
        kind = self.byte()
        pl, ph = self.take(2)
        body = self.take(pl + ph * 256)
        if kind != ord("k") or len(body) < 2:
            self.result.ignored.append(f"GS ( {chr(kind)}")
            return
        cn, fn, params = body[0], body[1], body[2:]
        if cn != 49:
            self.result.ignored.append(f"GS ( k symbol type {cn} (not drawn)")
            return
        if fn == 67 and params:
            self.qr_module = max(1, min(16, params[0]))
        elif fn == 69 and params:
            self.qr_ec = EC_NAMES.get(params[0], "L")
        elif fn == 80:
            self.qr_data = params[1:]       # after m = 48
        elif fn == 81:
            self.print_qr()
        elif fn != 65:
            self.result.ignored.append(f"GS ( k QR function {fn}")

    def fs(self) -> None:
        c = self.byte()
        if c == ord("&"):
            self.chinese = True
        elif c == ord("."):
            self.chinese = False
        elif c == ord("!"):
            n = self.byte()
            self.kanji = (2 if n & 0x04 else 1, 2 if n & 0x08 else 1)
        elif c == ord("W"):
            self.kanji = (2, 2) if self.byte() & 1 else (1, 1)
        elif c == ord("2"):
            self.take(2 + 72)
            self.result.ignored.append("FS 2 user-defined Hanzi")
        elif c in FS_SKIP:
            self.take(FS_SKIP[c])
            self.result.ignored.append(f"FS {chr(c)}")
        else:
            self.result.unknown.append(f"FS 0x{c:02x} at {self.pos - 2}")

    def dle(self) -> None:
        c = self.byte()
        if c in (0x04, 0x05):        # DLE EOT n, DLE ENQ n: status requests, nothing printed
            self.take(1)
        elif c == 0x14:              # DLE DC4 fn ...
            fn = self.byte()
            self.take(2 if fn == 1 else 1)
            self.result.ignored.append("DLE DC4")
        else:
            self.result.unknown.append(f"DLE 0x{c:02x} at {self.pos - 2}")

    # --- drawing ----------------------------------------------------------------------------

    def x_for(self, width: int, align: str) -> int:
        spare = self.dots - width
        if spare <= 0:
            return 0
        return {"left": 0, "center": spare // 2, "right": spare}[align]

    def print_line(self, allow_empty: bool = True) -> None:
        """LF: print the buffer (an empty buffer feeds one line), wrapping at the paper edge."""
        chars, self.buffer = self.buffer, []
        if not chars:
            if allow_empty:
                self.y += self.spacing
            return
        total = sum(c.cells * CELL_DOTS * c.width for c in chars)
        text = "".join(c.ch for c in chars)
        first = chars[0]
        self.result.elements.append(Line(text, first.width, first.height, first.bold, self.align,
                                         total, total > self.dots, self.y))
        row: list[_Char] = []
        used = 0
        for c in chars:
            w = c.cells * CELL_DOTS * c.width
            if row and used + w > self.dots:
                self.draw_row(row, used)
                row, used = [], 0
            row.append(c)
            used += w
        self.draw_row(row, used)

    def draw_row(self, row: list[_Char], used: int) -> None:
        height = max(c.height for c in row) * LINE_DOTS
        x = self.x_for(used, self.align)
        for c in row:
            mask = _glyph_ink(c.ch, c.cells, c.width, c.height, c.bold)
            self.pastes.append((x, self.y + height - mask.height, mask))
            x += mask.width
        self.y += height + max(0, self.spacing - LINE_DOTS)

    def raster(self) -> None:
        mode = self.byte()
        if mode not in (0, 1, 2, 3, 48, 49, 50, 51):
            self.result.unknown.append(f"GS v 0x{mode:02x} at {self.pos - 3}")
            return
        m = self.byte() % 48
        xl, xh, yl, yh = self.take(4)
        width_bytes, height = xl + xh * 256, yl + yh * 256
        data = self.take(width_bytes * height)
        self.print_line(allow_empty=False)
        if not width_bytes or not height:
            return
        image = Image.frombytes("1", (width_bytes * 8, height), data, "raw", "1;I")
        if m & 1 or m & 2:
            image = image.resize((image.width * (2 if m & 1 else 1),
                                  image.height * (2 if m & 2 else 1)), Image.Resampling.NEAREST)
        overflow = image.width > self.dots
        self.result.elements.append(Raster(image, self.align, self.y, overflow))
        self.pastes.append((self.x_for(image.width, self.align), self.y, _ink(image)))
        self.y += image.height

    def print_qr(self) -> None:
        self.print_line(allow_empty=False)
        if not self.qr_data:
            self.result.unknown.append("GS ( k print with no QR data stored")
            return
        matrix = qr.symbol(self.qr_data, self.qr_ec)
        image = qr.draw(matrix, self.qr_module)
        try:
            text = self.qr_data.decode("utf-8")
        except UnicodeDecodeError:
            text = self.qr_data.decode("latin-1")
        self.result.elements.append(QrCode(text, self.qr_module, self.qr_ec, self.y))
        self.pastes.append((self.x_for(image.width, self.align), self.y, _ink(image)))
        self.y += image.height

    def cut(self, partial: bool) -> None:
        self.print_line(allow_empty=False)
        self.y += CUT_FEED // 2
        self.result.elements.append(CutMark(partial, self.y))
        self.dashes.append(self.y)
        self.y += CUT_FEED // 2

    def finish(self) -> Rendering:
        width = self.dots + 2 * MARGIN
        height = self.y + 2 * MARGIN
        page = Image.new("L", (width, height), 255)
        for x, y, mask in self.pastes:
            page.paste(0, (MARGIN + x, MARGIN + y), mask)
        draw = ImageDraw.Draw(page)
        for y in self.dashes:
            for x in range(0, width, 16):
                draw.line([(x, MARGIN + y), (x + 8, MARGIN + y)], fill=128, width=2)
        self.result.image = page
        return self.result


def _ink(image: Image.Image) -> Image.Image:
    """A paste mask: 255 where the black-and-white `image` is black."""
    if image.mode != "1":
        image = glyphs.threshold(image)
    return ImageOps.invert(image.convert("L"))


@lru_cache(maxsize=4096)
def _glyph_ink(ch: str, cells: int, width: int, height: int, bold: bool) -> Image.Image:
    return _ink(glyphs.glyph(ch, cells, width, height, bold))


def render(data: bytes, dots: int = 576, charset: str = "gb18030") -> Rendering:
    """Interpret ESC/POS `data` for paper `dots` wide (384 for 58 mm, 576 for 80 mm)."""
    return _Interpreter(data, dots, charset).run()
