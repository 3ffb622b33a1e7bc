"""`display-board`: the hall's LED-style board, and its voice.

    display-board --server ws://127.0.0.1:8765/ws --token TOKEN [--portrait] [--windows 1-8]
    display-board --server … --token … --screenshot board.png     # one frame offscreen, then exit
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="display-board", description="叫号显示屏 / hall board")
    parser.add_argument("--server", action="append", required=True, metavar="URL",
                        help="服务器地址，可写多个依次尝试 / server URL, repeat for fallbacks")
    parser.add_argument("--token", default=os.environ.get("BOARD_TOKEN"),
                        help="设备令牌（或环境变量 BOARD_TOKEN）/ device token")
    parser.add_argument("--portrait", action="store_true", help="竖屏 1080×1920 / portrait")
    parser.add_argument("--windowed", action="store_true", help="不全屏 / not full screen")
    parser.add_argument("--windows", default="", metavar="1-8,12",
                        help="只显示这些窗口（分区、分楼层时用）/ only these windows")
    parser.add_argument("--categories", default="", metavar="A,B",
                        help="只显示这些号段的等候人数 / only these categories")
    parser.add_argument("--screenshot", type=Path, metavar="OUT.png",
                        help="在屏幕外画出一帧后退出 / draw one frame offscreen and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    from display_board.model import BoardFilter, BoardModel, parse_windows

    args = _parser().parse_args(argv)
    if not args.token:
        print("缺少设备令牌：请用 --token 或环境变量 BOARD_TOKEN 给出", file=sys.stderr)
        return 2
    try:
        board_filter = BoardFilter(parse_windows(args.windows), frozenset(
            p.strip() for p in args.categories.split(",") if p.strip()))
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 2
    if args.screenshot:
        os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    logging.getLogger("websockets").setLevel(logging.WARNING)
    from hall.kivy_runtime import configure_window

    configure_window(*((1080, 1920) if args.portrait else (1920, 1080)),
                     fullscreen=not (args.windowed or args.screenshot))
    from hall.look import register_font

    register_font()
    from display_board.app import BoardShell

    shell = BoardShell(args.server, args.token, BoardModel(board_filter))
    if args.screenshot:
        return asyncio.run(_screenshot(shell, args.screenshot))
    asyncio.run(shell.run())
    return 0


async def _screenshot(shell, out: Path) -> int:
    """Run until the first snapshot is drawn, save the frame, stop."""
    runner = asyncio.get_running_loop().create_task(shell.run())
    try:
        for _ in range(300):
            if shell.snapshots:
                break
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


if __name__ == "__main__":
    sys.exit(main())
