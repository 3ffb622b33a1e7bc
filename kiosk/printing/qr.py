"""QR symbols drawn with the `qrcode` library: for sizing a layout's code, for printers that
take the code as an image, and for the renderer that redraws a printer's native code."""

from __future__ import annotations

import qrcode
from PIL import Image

EC_LEVELS = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}

QUIET_MODULES = 4
"""White modules a phone needs around the symbol; the layout leaves that much room."""


def symbol(data: str | bytes, ec: str = "M") -> list[list[bool]]:
    """The module matrix (True = dark) of the smallest symbol holding `data`."""
    code = qrcode.QRCode(version=None, error_correction=EC_LEVELS[ec], border=0)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def modules(data: str | bytes, ec: str = "M") -> int:
    """Modules per side of the smallest symbol holding `data` (its version alone: building the
    matrix, with its eight mask trials, costs ten times more)."""
    code = qrcode.QRCode(version=None, error_correction=EC_LEVELS[ec], border=0)
    code.add_data(data)
    return 17 + 4 * code.best_fit()


def module_size(data: str, ec: str, dots: int, preferred: int) -> int:
    """The largest module size up to `preferred` at which the symbol and its quiet zone fit."""
    count = modules(data, ec) + 2 * QUIET_MODULES
    return max(1, min(preferred, dots // count))


def draw(matrix: list[list[bool]], module: int) -> Image.Image:
    """The symbol as a black-on-white image (mode "1"), `module` dots per module, no border."""
    count = len(matrix)
    small = Image.new("1", (count, count), 1)
    small.putdata([0 if dark else 1 for row in matrix for dark in row])
    return small.resize((count * module, count * module), Image.Resampling.NEAREST)
