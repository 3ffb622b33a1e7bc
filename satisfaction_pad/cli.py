"""`satisfaction-pad`: the window's rating pad (好差评评价器), see docs/pad.md.

    satisfaction-pad --server ws://127.0.0.1:8765/ws --token TOKEN [--portrait] [--windowed]
                     [--timeout 30] [--photos DIR] [--outbox FILE]
                     [--evaluator /dev/ttyUSB0 [--evaluator-baud 9600] [--evaluator-keys 5]
                      [--evaluator-protocol qlink|ascii] [--keys-only]]
    satisfaction-pad --server … --token … --screenshot pad.png     # one frame offscreen, then exit
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

DEFAULT_OUTBOX = (Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state"))
                  / "hall-pad" / "outbox.json")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="satisfaction-pad",
                                     description="窗口评价器（好差评）/ the window's rating pad")
    parser.add_argument("--server", action="append", required=True, metavar="URL",
                        help="服务器地址，可写多个依次尝试 / server URL, repeat for fallbacks")
    parser.add_argument("--token", default=os.environ.get("PAD_TOKEN"),
                        help="评价器的设备令牌（或环境变量 PAD_TOKEN）/ the pad's device token")
    parser.add_argument("--portrait", action="store_true", help="竖屏 800×1280 / portrait")
    parser.add_argument("--windowed", action="store_true", help="不全屏 / not full screen")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="秒",
                        help="评价页无操作多少秒后记为未评（默认 30）/ seconds before 未评")
    parser.add_argument("--photos", type=Path, metavar="DIR",
                        help="工作人员照片目录：照片路径相对于此，或按工号命名（1001.jpg）")
    parser.add_argument("--outbox", type=Path, default=DEFAULT_OUTBOX, metavar="FILE",
                        help="网络中断时未发送的评价保存在此文件，重启后照样发送"
                             f"（默认 {DEFAULT_OUTBOX}）")
    parser.add_argument("--evaluator", metavar="PORT",
                        help="按键评价器的串口，如 /dev/ttyUSB0（见 docs/pad.md）")
    parser.add_argument("--evaluator-baud", type=int, default=9600, metavar="N")
    parser.add_argument("--evaluator-keys", metavar="MAP",
                        help="按键到分数的映射：5（五键，默认）、4（四键）或 1=5,2=4,3=3,4=1")
    parser.add_argument("--evaluator-protocol", choices=("qlink", "ascii"), default="qlink",
                        help="评价器的串口格式（默认 qlink）")
    parser.add_argument("--keys-only", action="store_true",
                        help="只有按键、没有触摸屏：不满意时自动附上大厅的第一个评价原因")
    parser.add_argument("--screenshot", type=Path, metavar="OUT.png",
                        help="在屏幕外画出一帧后退出 / draw one frame offscreen and exit")
    return parser


def _check(args: argparse.Namespace) -> str | None:
    """The first problem with the options, in words; None when they can be used."""
    if not args.token:
        return "缺少设备令牌：请用 --token 或环境变量 PAD_TOKEN 给出"
    if not 1 <= args.timeout <= 600:
        return f"--timeout 应在 1 到 600 秒之间，而不是 {args.timeout:g}"
    if args.photos is not None and not args.photos.is_dir():
        return f"照片目录 {args.photos} 不存在"
    if args.evaluator is None and (args.evaluator_keys or args.keys_only):
        return "--evaluator-keys 和 --keys-only 需要同时用 --evaluator 指明评价器的串口"
    if args.evaluator_baud <= 0:
        return f"--evaluator-baud 应为正数，而不是 {args.evaluator_baud}"
    return None


def main(argv: list[str] | None = None) -> int:
    from satisfaction_pad.evaluator import MappingError, describe_keys, parse_keys

    args = _parser().parse_args(argv)
    problem = _check(args)
    keys = None
    if problem is None and args.evaluator:
        try:
            keys = parse_keys(args.evaluator_keys)
        except MappingError as error:
            problem = str(error)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from hall.kivy_runtime import prepare_device, screenshot_first_snapshot

    prepare_device((1280, 800), args.portrait, args.windowed, offscreen=bool(args.screenshot))
    from satisfaction_pad.app import PadShell
    from satisfaction_pad.evaluator import Evaluator
    from satisfaction_pad.model import PadModel

    evaluator = None
    if args.evaluator:
        assert keys is not None                # parsed above whenever there is an evaluator
        evaluator = Evaluator(args.evaluator, keys, baudrate=args.evaluator_baud,
                              protocol=args.evaluator_protocol)
        print(f"评价器 {args.evaluator}：{describe_keys(keys)}", file=sys.stderr)
    shell = PadShell(args.server, args.token,
                     PadModel(timeout=args.timeout, keys_only=args.keys_only),
                     photos=args.photos, evaluator=evaluator,
                     report=lambda text: print(text, file=sys.stderr),
                     outbox=None if args.screenshot else args.outbox)
    if args.screenshot:
        from hall.client import refusal

        return asyncio.run(screenshot_first_snapshot(
            shell, args.screenshot, lambda: refusal(shell.model.connection_text)))
    asyncio.run(shell.run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
