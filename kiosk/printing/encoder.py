"""Blocks to ESC/POS bytes, on python-escpos's Dummy printer.

Chinese goes as the notes in `shared/notes/hardware.md` §1 advise: `ESC @`, then `FS &` once
to enter Chinese mode, then every line as bytes of the profile's charset. A line holding a
character that charset lacks (喆 in GB2312, 𠀀 outside GBK) is drawn with Noto Sans SC and sent
as a GS v 0 raster image of the full paper width, so nothing is lost. Sizes use `GS !`, which
enlarges Hanzi too (`ESC !` does not on most printers).
"""

from __future__ import annotations

from escpos.constants import QR_ECLEVEL_H, QR_ECLEVEL_L, QR_ECLEVEL_M, QR_ECLEVEL_Q
from escpos.printer import Dummy
from PIL import Image

from kiosk.printing import glyphs, qr
from kiosk.printing.blocks import LINE_GAP, QR, Block, Cut, Feed, Rule, Text
from kiosk.printing.profile import PrinterProfile

INIT = b"\x1b@"
CHINESE_ON = b"\x1c&"
TEAR_OFF_FEED = 4
"""Lines fed at the end of a slip without a cutter, so the last line clears the tear bar."""

_EC = {"L": QR_ECLEVEL_L, "M": QR_ECLEVEL_M, "Q": QR_ECLEVEL_Q, "H": QR_ECLEVEL_H}


class _Encoder:
    """Sends a style command only when the style changes: fewer bytes on a 9600-baud line."""

    def __init__(self, profile: PrinterProfile) -> None:
        self.profile = profile
        self.printer = Dummy(profile="default")
        # Our own copy of the media data: the library's profile dicts are shared class data.
        data = dict(self.printer.profile.profile_data)
        data["media"] = {"width": {"mm": profile.paper - 8, "pixels": profile.dots}}
        self.printer.profile.profile_data = data
        self.align: str | None = None
        self.bold: bool | None = None
        self.size: tuple[int, int] | None = None
        self.bitmaps = 0

    def style(self, align: str, bold: bool | None = None, size: tuple[int, int] | None = None
              ) -> None:
        p = self.printer
        if size is not None and size != self.size:
            p.set(custom_size=True, width=size[0], height=size[1])
            self.size = size
        if bold is not None and bold != self.bold:
            p.set(bold=bold)
            self.bold = bold
        if align != self.align:
            p.set(align=align)
            self.align = align

    def text(self, block: Text) -> None:
        try:
            data = block.text.encode(self.profile.charset)
        except UnicodeEncodeError:
            self.bitmap(block)
            return
        self.style(block.align, block.bold, (block.width, block.height))
        self.printer._raw(data + b"\n")

    def bitmap(self, block: Text) -> None:
        """The line as an image, placed by its alignment with white on its left, so that it does
        not depend on the printer aligning images (not all do)."""
        line = glyphs.draw_line(block.text, block.width, block.height, block.bold)
        spaced = Image.new("1", (line.width, line.height + LINE_GAP), 1)   # as a text line feeds
        spaced.paste(line, (0, 0))
        self.image(spaced, block.align)
        self.bitmaps += 1

    def image(self, image: Image.Image, align: str, quadruple: bool = False) -> None:
        """GS v 0 of a black-on-white image, shifted right by white columns for `align`. With
        `quadruple` each image dot prints as 2×2 dots: a quarter of the bytes."""
        scale = 2 if quadruple else 1
        spare = max(0, self.profile.dots - image.width * scale) // scale
        left = {"left": 0, "center": spare // 2, "right": spare}[align]
        if left:
            shifted = Image.new("1", (left + image.width, image.height), 1)
            shifted.paste(image, (left, 0))
            image = shifted
        self.style("left")
        self.printer.image(image, impl="bitImageRaster", high_density_horizontal=not quadruple,
                           high_density_vertical=not quadruple)

    def qr(self, block: QR) -> None:
        if self.profile.native_qr:
            self.style("center")
            self.printer.qr(block.data, ec=_EC[block.ec], size=block.module, native=True)
            return
        # An image: 200 × 200 dots are 5 KB at full density, so draw modules of an even size
        # at half resolution and let the printer double each dot.
        matrix = qr.symbol(block.data, block.ec)
        module = block.module
        if module % 2 and (len(matrix) + 2 * qr.QUIET_MODULES) * (module + 1) <= self.profile.dots:
            module += 1
        elif module % 2 and module > 2:
            module -= 1
        if module % 2 == 0:
            self.image(qr.draw(matrix, module // 2), "center", quadruple=True)
        else:
            self.image(qr.draw(matrix, module), "center")

    def feed(self, lines: int) -> None:
        self.printer.print_and_feed(lines)

    def cut(self) -> None:
        if self.profile.cutter:
            self.printer.cut()          # ESC d 6 (past the cutter), GS V 0
        else:
            self.feed(TEAR_OFF_FEED)

    def encode(self, blocks: list[Block]) -> bytes:
        self.printer._raw(INIT + CHINESE_ON)
        paper = self.profile.paper_spec
        for block in blocks:
            if isinstance(block, Text):
                self.text(block)
            elif isinstance(block, Rule):
                self.text(Text(block.text(paper), align="left"))
            elif isinstance(block, QR):
                self.qr(block)
            elif isinstance(block, Feed):
                self.feed(block.lines)
            elif isinstance(block, Cut):
                self.cut()
            else:
                raise TypeError(f"not a print block: {block!r}")
        return self.printer.output


def encode(blocks: list[Block], profile: PrinterProfile) -> bytes:
    """The ESC/POS bytes of a print job."""
    return _Encoder(profile).encode(blocks)


def bitmap_lines(blocks: list[Block], profile: PrinterProfile) -> list[Text]:
    """The text lines this profile's charset cannot carry, which go as images."""
    out = []
    for block in blocks:
        if isinstance(block, Text):
            try:
                block.text.encode(profile.charset)
            except UnicodeEncodeError:
                out.append(block)
    return out
