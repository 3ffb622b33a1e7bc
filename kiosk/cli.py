"""`kiosk`: the touchscreen kiosk app, and its printer tools.

    kiosk run --server ws://127.0.0.1:8765/ws --token TOKEN [--printer preview:DIR] [--portrait]
              [--scanner /dev/ttyACM0 [--scanner-baud 9600]]
    kiosk print-test --printer file:/tmp/ticket.bin [--paper 58]
    kiosk render /tmp/ticket.bin ticket.png [--paper 58]   (and how many QR codes zbar reads)
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
    _printer_options(run, required=False)
    run.add_argument("--scanner", metavar="PORT",
                     help="扫码器串口（如 /dev/ttyACM0），扫预约二维码签到 / QR scanner's serial port")
    run.add_argument("--scanner-baud", type=int, default=9600, metavar="BAUD",
                     help="扫码器波特率（默认 9600）/ the scanner's baud rate")
    test = commands.add_parser("print-test", help="打印一张样张 / print a sample ticket")
    _printer_options(test, required=True)
    render = commands.add_parser("render", help="把 ESC/POS 字节画成图片 / draw ESC/POS bytes")
    render.add_argument("source", type=Path, help="ESC/POS 字节文件 / a file of printer bytes")
    render.add_argument("out", type=Path, help="输出 PNG / the PNG to write")
    render.add_argument("--paper", type=int, choices=(58, 80), default=80)
    render.add_argument("--charset", default="gb18030")
    return parser


def _printer_options(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--printer", required=required, metavar="SPEC",
                        help="打印机：usb:VID:PID、serial:/dev/ttyUSB0[:波特率]、net:主机[:端口]、"
                             "file:路径 或 preview:目录（见 docs/printing.md）")
    parser.add_argument("--paper", type=int, choices=(58, 80), default=80,
                        help="纸宽（毫米）/ paper width in mm")
    parser.add_argument("--charset", default="gb18030", help="gb18030、gbk 或 gb2312")
    parser.add_argument("--image-qr", action="store_true",
                        help="二维码以图片打印（打印机不支持原生二维码时）/ QR as an image")
    parser.add_argument("--no-cutter", action="store_true", help="打印机没有切刀 / no cutter")


def main(argv: list[str] | None = None) -> int:
    from kiosk.printing.faults import PrinterFault

    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            if not args.token:
                print("缺少设备令牌：请用 --token 或环境变量 KIOSK_TOKEN 给出", file=sys.stderr)
                return 2
            return _run(args)
        if args.command == "print-test":
            from kiosk.printing import print_test

            outcome = print_test(args.printer, args.paper, args.charset,
                                 native_qr=not args.image_qr, cutter=not args.no_cutter)
            where = f"，预览图 {outcome.preview}" if outcome.preview else ""
            print(f"已发送样张 {outcome.bytes_sent} 字节，打印机状态：{outcome.status}{where}")
            return 0
        from kiosk.printing import render_file

        rendering = render_file(args.source, args.out, args.paper, args.charset)
        print(f"已画出 {args.out}：{len(rendering.texts)} 行文字")
        return _report_qr_codes(rendering)
    except FileNotFoundError as error:
        print(f"找不到文件：{error.filename}", file=sys.stderr)
        return 1
    except PrinterFault as fault:
        print(f"打印失败：{fault}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:
        print(f"出错：{error}", file=sys.stderr)
        return 1


def _report_qr_codes(rendering) -> int:
    """Say how many QR codes zbar reads on the picture drawn, of how many the bytes print: the
    printer's own (GS ( k, known from the bytes) and those printed as images (GS v 0; an image
    counts as a QR code when zbar reads it on its own). 1 when one printed is not read."""
    try:
        from pyzbar.pyzbar import decode
    except ImportError as missing:     # pyzbar not installed, or libzbar0 missing
        print(f"无法检验二维码：需要 zbar（pip install pyzbar；apt install libzbar0）：{missing}",
              file=sys.stderr)
        return 1
    from PIL import ImageOps

    def payloads(image) -> list[str]:
        return [code.data.decode("utf-8", "replace") for code in decode(image)]

    native = rendering.qr_codes
    images = sum(1 for raster in rendering.rasters
                 if payloads(ImageOps.expand(raster.image.convert("L"), border=32, fill=255)))
    read = payloads(rendering.image.convert("L"))
    printed = len(native) + images
    print(f"二维码：zbar 从图片读出 {len(read)} 个，共印 {printed} 个"
          f"（打印机原生 {len(native)} 个，图片 {images} 个）")
    for payload in read:
        print(f"  读出：{payload}")
    unread = [data for data in native if data not in read]
    for data in unread:
        print(f"⚠ 读不出：{data}", file=sys.stderr)
    return 1 if unread or len(read) < printed else 0


def _run(args: argparse.Namespace) -> int:
    from hall.kivy_runtime import prepare_device

    prepare_device((1920, 1080), args.portrait, args.windowed)
    from hall.voice.playback import Speaker
    from kiosk.app import CatalogueCache, KioskShell

    printer = None
    if args.printer:
        from kiosk.app import EscposPrinter
        from kiosk.printing import PrinterProfile

        printer = EscposPrinter(args.printer, PrinterProfile(
            args.paper, args.charset, native_qr=not args.image_qr, cutter=not args.no_cutter))
    scanner = None
    if args.scanner:
        from kiosk.scanner import Scanner

        scanner = Scanner(args.scanner, baudrate=args.scanner_baud)
    with Speaker() as speaker:     # 长辈模式 reads pages aloud; plays nothing without a sound card
        shell = KioskShell(args.server, args.token, CatalogueCache(args.cache / "catalogue.json"),
                           printer=printer, speak=speaker.say, scanner=scanner)
        asyncio.run(shell.run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
