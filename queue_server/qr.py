"""The QR codes the server draws itself, as SVG scaled by their page's style: the poster's
`/take` address, a booking's code on the `/book` page, a village point's receipt. A module of
its own, so that a process that draws QR codes does not load what the pages around them need
(a village point's server, queue_server.points.point_server)."""

from __future__ import annotations

import qrcode
import qrcode.image.svg


def qr_svg(text: str) -> str:
    """The QR code of `text`, as SVG."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=4)
    return image.to_string(encoding="unicode")
