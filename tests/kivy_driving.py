"""Driving a kivy app in the tests as a person would: finding widgets by kind and text, touching
them, letting frames pass, waiting for a state, and saving a checked screenshot. Nothing here
imports kivy before a test does."""

from __future__ import annotations

import asyncio
from pathlib import Path


def widgets(root, kind=None, text=None) -> list:
    """The widgets under `root` of a kind and/or whose text contains `text`, in tree order."""
    return [w for w in root.walk(restrict=True)
            if (kind is None or isinstance(w, kind)) and (text is None or text in getattr(w, "text", ""))]


def texts(root) -> str:
    """Every text on screen, a line each."""
    return "\n".join(w.text for w in widgets(root) if isinstance(getattr(w, "text", None), str))


async def frames(n: int = 3) -> None:
    for _ in range(n):
        await asyncio.sleep(1 / 30)


async def tap(widget) -> None:
    """A finger down and up on the widget's centre, a frame apart."""
    from kivy.tests.common import UnitTestTouch

    x, y = widget.to_window(*widget.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    await frames(1)
    touch.touch_up()
    await frames(3)


async def until(condition, seconds: float = 10) -> None:
    for _ in range(int(seconds * 30)):
        if condition():
            return
        await asyncio.sleep(1 / 30)
    raise AssertionError("the screen did not get there in time")


async def shoot(app, path: Path) -> Path:
    """Save the screen to look at, after checking its contrast and touch targets."""
    from tests.kivy_checks import accessibility_problems

    await frames(5)           # let the layout settle before the picture
    assert accessibility_problems(app.root) == [], path.name
    path.parent.mkdir(parents=True, exist_ok=True)
    app.root.export_to_png(str(path))
    return path


def qr_codes(path: Path) -> list[str]:
    """What zbar reads in the QR codes of a screenshot, as a phone's camera would."""
    from PIL import Image
    from pyzbar.pyzbar import decode

    return [code.data.decode() for code in decode(Image.open(path))]
