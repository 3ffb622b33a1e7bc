"""What the kiosk knows about its printer: paper, charset, QR and cutter."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.printing.blocks import Paper, paper_for

CHARSETS = ("gb18030", "gbk", "gb2312")
"""Double-byte charsets a Chinese-mode printer may take, widest first. Firmware that knows only
GB2312 (common on cheap 58 mm printers) or no four-byte GB18030 sequences gets a bitmap for the
lines it cannot print."""


@dataclass(frozen=True, slots=True)
class PrinterProfile:
    """`paper` 58 or 80 (mm); `charset` one of CHARSETS; `native_qr` False for printers without
    GS ( k (the code goes as an image, about ten times the bytes); `cutter` False for printers
    whose slip is torn off."""

    paper: int = 80
    charset: str = "gb18030"
    native_qr: bool = True
    cutter: bool = True

    def __post_init__(self) -> None:
        paper_for(self.paper)
        if self.charset not in CHARSETS:
            raise ValueError(f"不支持的字符集 {self.charset!r}（可选 {'、'.join(CHARSETS)}）"
                             f" / charset must be one of {', '.join(CHARSETS)}")

    @property
    def paper_spec(self) -> Paper:
        return paper_for(self.paper)

    @property
    def dots(self) -> int:
        return self.paper_spec.dots
