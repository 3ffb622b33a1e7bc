"""What every kivy device needs at run time beyond its look.

Software rendering (Mesa's llvmpipe, which kiosks and boards without a GPU driver use, and
which the tests use offscreen) keeps each texture it has drawn until it is told to finish its
pending work. Nothing waits for the renderer on such a window, so a screen rebuilt again and
again (new label textures every time) grows the process by those textures without end: about
10 MB per ticket on the kiosk. One `glFinish()` after each frame kivy actually draws lets
llvmpipe drop them; measured flat over 1,000 rebuilds, at no visible cost. (Found by tracing:
kivy does delete the textures; llvmpipe's queued scenes still hold them.)
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

_installed = False


def prepare_device(landscape: tuple[int, int], portrait: bool, windowed: bool,
                   offscreen: bool = False) -> None:
    """What each device's command does before it imports its kivy app: no kivy argument
    parsing, quiet logs (`quiet_logs`), the window (`landscape` turned on its side for
    `portrait`, full screen unless `windowed` or drawn `offscreen` for a screenshot), the font."""
    if offscreen:
        os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    quiet_logs()
    width, height = landscape
    configure_window(*((height, width) if portrait else (width, height)),
                     fullscreen=not (windowed or offscreen))
    from hall.look import register_font

    register_font()


def _worth_saying(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or record.name == "hall.client"


def quiet_logs() -> None:
    """A device's log on stderr, as a person running it wants it: warnings and errors, and the
    one line `hall.client` says when the device connects ("取号机 kiosk-1 已连接 ws://…");
    not kivy's start-up report (its version, the OpenGL driver, …) nor a line per WebSocket
    frame, and no kivy log file in ~/.kivy. Call before kivy is imported: kivy then leaves the
    logging to Python's (`KIVY_LOG_MODE=PYTHON`) instead of taking over stderr."""
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(_worth_saying)
    # force: a library imported earlier may have set up its own (python-escpos does, at import)
    logging.basicConfig(handlers=[handler], level=logging.INFO, force=True)
    logging.getLogger("websockets").setLevel(logging.WARNING)
    logging.getLogger("asyncio").setLevel(logging.WARNING)


def configure_window(width: int, height: int, fullscreen: bool) -> None:
    """Set the window up before kivy makes it: the size, full screen or not, and no
    multisampling (flat colours and text gain nothing from it; on a software renderer it costs
    memory and time)."""
    from kivy.config import Config

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "multisamples", "0")


def _finish(*_args) -> None:
    from kivy.graphics.opengl import glFinish

    glFinish()


def release_textures_each_frame(only_software: bool = True) -> bool:
    """Call once the window exists (an app's `build`); later calls change nothing. Returns
    whether the window draws in software, where it is needed."""
    global _installed
    from kivy.core.window import Window
    from kivy.graphics.opengl import GL_RENDERER, glGetString

    renderer = glGetString(GL_RENDERER) or b""
    if only_software and b"llvmpipe" not in renderer and b"softpipe" not in renderer:
        return False
    if not _installed:
        Window.bind(on_flip=_finish)
        _installed = True
    return True


async def screenshot_first_snapshot(shell, out: Path,
                                    refused: Callable[[], str | None] = lambda: None) -> int:
    """A device command's `--screenshot`: run `shell` until its first snapshot is drawn, save
    the frame, stop. `refused` says why the server turned the device away, if it did, so that
    a wrong token fails at once instead of after the wait."""
    runner = asyncio.get_running_loop().create_task(shell.run())
    try:
        for _ in range(300):
            if shell.snapshots:
                break
            if (reason := refused()) is not None:
                print(f"{reason}；未能截图", file=sys.stderr)
                return 1
            await asyncio.sleep(0.05)
        else:
            print("连接服务器失败，未能截图 / no snapshot from the server", file=sys.stderr)
            return 1
        for _ in range(5):
            await asyncio.sleep(1 / 30)
        out.parent.mkdir(parents=True, exist_ok=True)
        shell.app.root.export_to_png(str(out))
        print(f"已保存 {out}")
        return 0
    finally:
        shell.app.stop()
        await asyncio.wait_for(runner, 10)
