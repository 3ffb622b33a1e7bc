"""`kiosk`: the touchscreen kiosk app, and its printer tools.

    kiosk run --server ws://127.0.0.1:8765/ws --token TOKEN [--printer preview:DIR] [--portrait]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hall-kiosk"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="取号机 / the hall kiosk")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="运行取号机 / run the kiosk")
    run.add_argument("--server", action="append", required=True, metavar="URL",
                     help="服务器地址，可写多个依次尝试 / server URL, repeat for fallbacks")
    run.add_argument("--token", default=os.environ.get("KIOSK_TOKEN"),
                     help="设备令牌（或环境变量 KIOSK_TOKEN）/ device token")
    run.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                     help="办事指南缓存目录 / where the catalogue is cached")
    run.add_argument("--portrait", action="store_true", help="竖屏 1080×1920 / portrait")
    run.add_argument("--windowed", action="store_true", help="不全屏 / not full screen")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        if not args.token:
            print("缺少设备令牌：请用 --token 或环境变量 KIOSK_TOKEN 给出", file=sys.stderr)
            return 2
        return _run(args)
    return 2


def _run(args: argparse.Namespace) -> int:
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    from kivy.config import Config

    width, height = (1080, 1920) if args.portrait else (1920, 1080)
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "0" if args.windowed else "auto")
    from hall.look import register_font

    register_font()
    from hall.voice import Speaker
    from kiosk.app import CatalogueCache, KioskShell

    with Speaker() as speaker:     # 长辈模式 reads pages aloud; plays nothing without a sound card
        shell = KioskShell(args.server, args.token, CatalogueCache(args.cache / "catalogue.json"),
                           speak=speaker.say)
        asyncio.run(shell.run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
