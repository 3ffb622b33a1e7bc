"""A village point's own commands: `queue-server point init --code …` (enrol this PC with the
town's one-time code), `queue-server point serve` (run the point's server and its link to
the town) and `queue-server point backup FILE` (a consistent copy of the point's database
while it serves). The town's side of points (`point enrol`, `point list`) is in `cli.py`.

`command_line.main` runs these without importing `cli.py`, so a point's server, up all
day on a village PC, carries none of the hall's modules (docs/points.md#figures).
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from hall.service_calendar import calendar_from_view
from queue_server.command_line import Command, UserError, new_parser, run, simulated_clock
from queue_server.points.enrolment import BadCode, decode
from queue_server.points.point_server import PointServer
from queue_server.points.point_store import NotEnrolled, PointStore
from queue_server.store.database import DatabaseUnusable, backup_sqlite, data_dir, explain, sqlite_file

POINT_HELP = "村（社区）代办点 / a village point (docs/points.md)"


def add_commands(point_sub: argparse._SubParsersAction, command: Command) -> None:
    """`point init`, `point serve` and `point backup`, under the `point` group's sub-parsers."""
    p = command("init", cmd_point_init, "用乡镇给的一次性登记码把本机登记为代办点 / enrol this PC "
                "as a village point with the town's one-time code", point_sub)
    p.add_argument("--code", required=True, metavar="FILE_OR_TEXT",
                   help="登记码文件，或登记码本身（DBJ1-…）/ the enrolment code, a file or the text")
    p = command("serve", cmd_point_serve, "启动代办点服务器（代办页面 /point/）/ run the point's "
                "server", point_sub)
    p.add_argument("--host", default="127.0.0.1", help="监听地址 / address (默认 127.0.0.1：只供本机)")
    p.add_argument("--port", type=int, default=8766, help="端口 / port (默认 8766)")
    p.add_argument("--simulate-from", metavar="TIME",
                   help="仅供模拟演练：代办点时钟从此时刻起走（如 2026-12-04T09:00），不要用于真实代办点 / "
                        "simulation only: the point's clock starts at TIME")
    p = command("backup", cmd_point_backup, "在线备份代办点数据库（服务器运行时也可以）/ a "
                "consistent copy of the point's database, also while it serves", point_sub)
    p.add_argument("output", help="备份文件，如 /media/usb/point-2026-12-07.db / backup file")
    p.add_argument("--force", action="store_true", help="覆盖已有文件 / overwrite")


def _point_url(args: argparse.Namespace) -> str:
    """A village point's database: `--db`, else `$QUEUE_DB`, else `point.db` in the data folder."""
    return args.db or os.environ.get("QUEUE_DB") or f"sqlite:///{data_dir() / 'point.db'}"


def _point_store(url: str, existing: bool) -> PointStore:
    """The point's store; `existing`: the SQLite file must be there already (serve, never
    creating an empty one). A file that is not SQLite or is damaged is refused unchanged."""
    parsed = make_url(url)
    file = sqlite_file(parsed)
    if existing and file is not None and not file.exists():
        raise UserError(f"代办点数据库不存在：{file}；请先用乡镇给的登记码运行 "
                        "queue-server point init --code 登记码文件")
    try:
        return PointStore(url)
    except DBAPIError as error:
        message = explain(error, parsed)
        if message is None:
            raise
        raise DatabaseUnusable(message) from None


def cmd_point_init(args: argparse.Namespace) -> None:
    given = args.code
    try:
        is_file = len(given) < 4096 and Path(given).is_file()
    except OSError:
        is_file = False
    if not is_file and not given.lstrip().startswith("DBJ") and (
            "/" in given or "\\" in given or given.lower().endswith(".txt")):
        raise UserError(f"找不到登记码文件：{given}（请检查路径，或直接粘贴登记码），未做任何改动")
    text = Path(given).read_text(encoding="utf-8", errors="replace") if is_file else given
    try:
        enrolment = decode(text)
    except BadCode as error:
        raise UserError(f"{error}，未做任何改动") from None
    url = _point_url(args)
    store = _point_store(url, existing=False)
    try:
        store.enrol(enrolment)
    except ValueError as error:
        raise UserError(str(error)) from None
    finally:
        store.engine.dispose()
    print(f"已登记为代办点 / enrolled: {enrolment.point} {enrolment.point_name}，代办至 "
          f"{enrolment.hall_name}；事项目录第 {enrolment.catalogue_version} 版，"
          f"{len(enrolment.items)} 个事项；数据库 {url}")
    if enrolment.up_have:
        print(f"乡镇已有本点的 {enrolment.up_have} 条记录：连上乡镇后会自动取回，取回前不能登记")


def cmd_point_serve(args: argparse.Namespace) -> None:
    store = _point_store(_point_url(args), existing=True)
    try:
        enrolment = store.enrolment()
    except NotEnrolled as error:
        raise UserError(str(error)) from None
    clock = None if args.simulate_from is None else simulated_clock(
        args.simulate_from, calendar_from_view(enrolment.calendar).zone, 1.0)

    async def serve() -> None:
        server = PointServer(store, clock)

        def ready(url: str) -> None:
            print(f"{enrolment.point_name} 代办点服务器已启动 / serving at {url}  "
                  f"(代办页面 {url}/point/)", flush=True)

        await server.run(args.host, args.port, ready)

    try:
        asyncio.run(serve())
    except OSError as error:
        raise UserError(f"无法监听 {args.host}:{args.port}：{error.strerror}"
                        "（端口被占用或无权限？可用 --port 换一个端口）") from None


def cmd_point_backup(args: argparse.Namespace) -> None:
    """Copy the point's database with SQLite's online backup, so that the cases not yet sent
    to the town survive a PC that dies; restoring is copying the file back while the point's
    server is stopped (docs/deploy.md)."""
    url = _point_url(args)
    target = Path(args.output)
    if target.exists() and not args.force:
        raise UserError(f"{target} 已存在；加 --force 覆盖 / exists, use --force")
    store = _point_store(url, existing=True)
    try:
        enrolment = store.enrolment()   # a point's database, not a hall's or another file
        up, down = store.last()
    except NotEnrolled as error:
        raise UserError(str(error)) from None
    finally:
        store.engine.dispose()
    file = sqlite_file(make_url(url))
    if file is None:
        raise UserError("代办点数据库应为 SQLite 文件（sqlite:///…），无法备份此地址 / a point's "
                        "database is a SQLite file")
    backup_sqlite(str(file), target)
    print(f"已备份代办点 {enrolment.point} {enrolment.point_name} 的数据库到 / backed up to "
          f"{target}（本点记录 {up} 条，乡镇回复 {down} 条）")


def main(argv: list[str] | None = None) -> int:
    parser, command, group = new_parser()
    add_commands(group("point", POINT_HELP), command)
    return run(parser, argv)
