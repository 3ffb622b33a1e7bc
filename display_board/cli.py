"""`display-board`: the hall's LED-style board, and its voice.

    display-board --server ws://127.0.0.1:8765/ws --token TOKEN [--portrait] [--windows 1-8]
                  [--rows N] [--distance 10] [--screen-inches 55]
    display-board --server … --token … --screenshot board.png     # one frame offscreen, then exit
    display-board say A105 3 --wav call.wav [--engine clips] [--repeat 2] [--pace 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from display_board.model import BoardFilter, BoardModel, Call, parse_windows
from hall.voice.call_queue import DEFAULT_REPEAT
from hall.voice.espeak import DEFAULT_PACE

if TYPE_CHECKING:
    from hall.voice.playback import Backlog


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
    parser.add_argument("--zone", default="", metavar="一楼,A区",
                        help="只显示、只播报大厅配置中这些分区或楼层的窗口 / only the windows of these "
                             "zones or floors of the hall file")
    parser.add_argument("--no-screen", action="store_true",
                        help="只播报、不显示（走廊里的音箱）/ a voice-only device, no screen")
    parser.add_argument("--categories", default="", metavar="A,B",
                        help="只显示这些号段的等候人数 / only these categories")
    parser.add_argument("--rows", type=int, metavar="N",
                        help="每页显示几个窗口；不写则按观看距离能看清的字高排满 / window rows "
                             "per page (default: as many as fit at a legible size)")
    parser.add_argument("--distance", type=float, default=10.0, metavar="米",
                        help="最远要看清显示屏的距离，单位米（默认 10）/ viewing distance, m")
    parser.add_argument("--screen-inches", type=float, default=55.0, metavar="英寸",
                        help="屏幕对角线尺寸，单位英寸（默认 55）/ the screen's diagonal")
    parser.add_argument("--screenshot", type=Path, metavar="OUT.png",
                        help="在屏幕外画出一帧后退出 / draw one frame offscreen and exit")
    _voice_options(parser)
    parser.add_argument("--voice", choices=("on", "off"), default="on",
                        help="语音叫号 / announce calls aloud")
    parser.add_argument("--strips", metavar="PORT",
                        help="窗口 LED 条屏的串口，如 /dev/ttyUSB0（见 docs/led-protocol.md）")
    parser.add_argument("--strip-windows", default="", metavar="1-28",
                        help="条屏对应的窗口；地址即窗口号 / windows with a strip (address = window)")
    parser.add_argument("--strip-baud", type=int, default=9600)
    return parser


def _voice_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=("espeak", "clips"), default="espeak",
                        help="语音引擎：espeak（合成）或 clips（录音片段，见 assets/voice）")


def _say_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="display-board say",
                                     description="把一次叫号写成 WAV / write a call to a WAV file")
    parser.add_argument("ticket", help="号码，如 A105")
    parser.add_argument("window", type=int, help="窗口号，如 3")
    parser.add_argument("--wav", type=Path, required=True, metavar="OUT.wav")
    _voice_options(parser)
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT,
                        help="播报几遍（大厅中由大厅配置 voice_repeat 决定）/ times said")
    parser.add_argument("--pace", type=int, default=DEFAULT_PACE,
                        help="语速，百分比（大厅中由大厅配置 voice_pace 决定）/ speaking rate, per cent")
    return parser


def board_settings(args: argparse.Namespace, size: tuple[int, int]):
    """The board's settings from its options, or a sentence saying what is wrong with them:
    numbers out of range, or rows per page that make the text too small to read from
    `--distance` on a screen of `--screen-inches` at `size` pixels (docs/board.md)."""
    from display_board.layout import BoardSettings, plan
    from display_board.legibility import Screen, hanzi_mm, required_mm

    if args.rows is not None and not 1 <= args.rows <= 60:
        return f"--rows 应在 1 到 60 之间，而不是 {args.rows}"
    if not 1 <= args.distance <= 100:
        return f"--distance 应在 1 到 100 米之间，而不是 {args.distance:g}"
    if not 10 <= args.screen_inches <= 300:
        return f"--screen-inches 应在 10 到 300 英寸之间，而不是 {args.screen_inches:g}"
    settings = BoardSettings(args.rows, args.distance, args.screen_inches)
    laid_out = plan(*size, settings)
    if args.rows is None and laid_out.rows < 1:
        return (f"{args.screen_inches:g} 英寸的屏幕在 {args.distance:g} 米外看清所需的字太大，"
                "一页放不下一个窗口；请用更大的屏幕，或改小 --distance")
    if args.rows is not None and (laid_out.rows < args.rows or not laid_out.legible):
        screen = Screen(*size, args.screen_inches)
        most = plan(*size, BoardSettings(None, args.distance, args.screen_inches)).rows
        return (f"每页 {args.rows} 行时字高只有 {hanzi_mm(laid_out.pitch, screen):.0f} 毫米，"
                f"{args.distance:g} 米外看不清（至少需要 {required_mm(args.distance):.0f} 毫米）："
                f"这块 {args.screen_inches:g} 英寸的屏幕每页最多 {most} 行；"
                "请减少 --rows，或改小 --distance")
    return settings


def say(argv: list[str]) -> int:
    from hall.voice.announcement import announcement_wav
    from hall.voice.engines import make_engine
    from hall.voice.errors import VoiceError

    args = _say_parser().parse_args(argv)
    try:
        out = announcement_wav(args.ticket, args.window, args.wav,
                               engine=make_engine(args.engine).at_pace(args.pace), repeat=args.repeat)
    except (VoiceError, ValueError, OSError) as error:
        print(f"未能生成语音：{error}", file=sys.stderr)
        return 1
    print(f"已写入 {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["say"]:
        return say(argv[1:])

    args = _parser().parse_args(argv)
    if not args.token:
        print("缺少设备令牌：请用 --token 或环境变量 BOARD_TOKEN 给出", file=sys.stderr)
        return 2
    try:
        board_filter = BoardFilter(parse_windows(args.windows), frozenset(
            p.strip() for p in args.categories.split(",") if p.strip()),
            zones=frozenset(p.strip() for p in args.zone.split(",") if p.strip()))
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 2
    if args.no_screen and (args.voice == "off" or args.screenshot):
        print("--no-screen 是只播报的设备：不能与 --voice off 或 --screenshot 同用", file=sys.stderr)
        return 2
    if args.no_screen:
        return _voice_only(args, BoardModel(board_filter))
    size = (1080, 1920) if args.portrait else (1920, 1080)
    settings = board_settings(args, size)
    if isinstance(settings, str):
        print(settings, file=sys.stderr)
        return 2
    from hall.kivy_runtime import prepare_device, screenshot_first_snapshot

    prepare_device((1920, 1080), args.portrait, args.windowed, offscreen=bool(args.screenshot))
    from display_board.app import BoardShell

    strips = None
    if args.strips:
        from display_board.led import StripConfig, StripDriver

        try:
            addresses = parse_windows(args.strip_windows)
        except ValueError as error:
            print(str(error), file=sys.stderr)
            return 2
        if not addresses:
            print("请用 --strip-windows 指明有条屏的窗口，如 1-8", file=sys.stderr)
            return 2
        strips = StripDriver(args.strips, [StripConfig(address=n, window=n)
                                           for n in sorted(addresses)], baudrate=args.strip_baud)
    if args.screenshot or args.voice == "off":
        shell = BoardShell(args.server, args.token, BoardModel(board_filter), strips=strips,
                           settings=settings)
        if args.screenshot:
            return asyncio.run(screenshot_first_snapshot(shell, args.screenshot,
                                                         lambda: shell.model.refused))
        asyncio.run(shell.run())
        return 0
    model = BoardModel(board_filter)

    def run(announce: Callable[[Call], None], backlog: Callable[[], Backlog]) -> None:
        shell = BoardShell(args.server, args.token, model, announce=announce, strips=strips,
                           settings=settings, backlog=backlog)
        asyncio.run(shell.run())

    return _with_voice(args, model, run)


def _voice_only(args: argparse.Namespace, model: BoardModel) -> int:
    from display_board.voice_device import VoiceShell

    return _with_voice(args, model, lambda announce, backlog: asyncio.run(
        VoiceShell(args.server, args.token, model, announce, backlog).run()))


def _with_voice(args: argparse.Namespace, model: BoardModel,
                run: Callable[[Callable[[Call], None], Callable[[], Backlog]], None]) -> int:
    """Run the device with its calls announced: in order, never overlapping, shortened when
    they bunch up (docs/board.md#voice), with the hall file's voice settings; its voice backlog
    is reported to the server (docs/board.md#voice-backlog)."""
    from display_board.voice_device import hall_announcer
    from hall.voice.engines import make_engine
    from hall.voice.errors import VoiceError
    from hall.voice.playback import CallAnnouncer, Speaker

    try:
        engine = make_engine(args.engine)
    except VoiceError as error:
        print(f"语音引擎不可用：{error}", file=sys.stderr)
        return 1
    with Speaker(engine) as speaker, CallAnnouncer(speaker) as announcer:
        run(hall_announcer(announcer, model), announcer.backlog)
    return 0


if __name__ == "__main__":
    sys.exit(main())
