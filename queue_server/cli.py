"""`queue-server`: set up the database, import and export halls, manage devices and PINs, serve.

Every command takes `--db URL` (default: the `QUEUE_DB` environment variable, else the SQLite
file `hall.db` in the data folder). A mistake of the user's is one clear line on stderr and a
non-zero exit, never a traceback; so is a database that cannot be used as it is (a file that
is not SQLite, a server that does not answer, a database that refuses writes), and such a
database is left as it was.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from hall.vocabulary import (
    CASE_REPORT_NAMES,
    CASE_REPORTS,
    DEVICE_ROLES,
    DIMENSIONS,
    PERIODS,
    POINT_DIMENSIONS,
    REPORTS,
    ROLE_NAMES,
)
from queue_server import catalogue
from queue_server.command_line import UserError, new_parser, run, simulated_clock
from queue_server.credentials import is_valid_pin
from queue_server.hall_definition import HallDefinition
from queue_server.hall_toml import HallFileInvalid, describe, dump_hall, load_hall
from queue_server.points import point_cli
from queue_server.rate_limits import BOOK_DAY_LIMIT, BOOK_LIMIT, LOGIN_LIMIT, MOBILE_TAKE_LIMIT, TAKE_LIMIT, RateLimit
from queue_server.store import accounts, county_catalogue, devices, hall_records
from queue_server.store.database import (
    DatabaseUnusable,
    backup_sqlite,
    check_writable,
    default_url,
    explain,
    is_initialised,
    migrate,
    one_line,
    open_engine,
    sqlite_file,
)

if TYPE_CHECKING:
    from queue_server.hall_state import Booking

KEPT_PER_HALL = 2   # a served hall holds a connection for its commits and one for revocations


def _now() -> datetime:
    return datetime.now(UTC)


def _engine(args: argparse.Namespace, create: bool = False) -> Engine:
    """The database, created or upgraded when `create`; it must already be initialised
    otherwise, and a SQLite file that is not there is refused before it is opened (opening
    would leave an empty file, and its folder, behind). A database that cannot be opened is
    `DatabaseUnusable`, in one line."""
    file = sqlite_file(make_url(args.db or default_url()))
    if not create and file is not None and not file.exists():
        raise UserError(f"数据库尚未初始化：{file} 不存在；请先运行 queue-server init，"
                        "或用 --db 指向已有的数据库")
    engine = open_engine(args.db)
    try:
        if create:
            migrate(engine)
        elif not is_initialised(engine):
            raise UserError(f"数据库尚未初始化：{args.db or default_url()}；请先运行 queue-server init")
    except DBAPIError as error:
        message = explain(error, engine.url)
        if message is None:
            raise
        raise DatabaseUnusable(message) from None
    return engine


def cmd_init(args: argparse.Namespace) -> None:
    _engine(args, create=True)
    print(f"数据库已就绪 / database ready: {args.db or default_url()}")


def cmd_check_hall(args: argparse.Namespace) -> None:
    definition = load_hall(args.file)
    print(f"文件正确 / file is valid: {describe(definition)}")
    if not (args.db or os.environ.get("QUEUE_DB")):
        return
    engine = open_engine(args.db)   # a database named: what its county catalogue would do
    if is_initialised(engine):
        with engine.connect() as conn:
            _say_adopted(definition, *hall_records.county_catalogue_for(conn, definition.hall.code))


def cmd_import_hall(args: argparse.Namespace) -> None:
    definition = load_hall(args.file)
    engine = _engine(args, create=True)
    withdrawn = _bookings_withdrawn(engine, definition)
    with engine.begin() as conn:
        hall_id, changed = hall_records.save_definition(conn, definition, _now())
        version = hall_records.catalogue_version(conn, hall_id)
        county = hall_records.county_catalogue_for(conn, definition.hall.code)
    state = "已导入 / imported" if changed else "无变化 / unchanged"
    print(f"{state}: {describe(definition)}；目录版本 / catalogue version {version}")
    _say_adopted(definition, *county)
    if withdrawn:
        reasons = Counter(reason for _, reason in withdrawn)
        print(f"注意：此次修改撤销 {len(withdrawn)} 个尚未签到的预约（"
              + "；".join(f"{reason} {n} 个" for reason, n in reasons.items())
              + "），由服务器在几秒内撤销，不计为爽约。系统不发短信，预约人在签到或查询时才会看到"
              "“已撤销”，请另行告知 / pending bookings withdrawn")


def _bookings_withdrawn(engine: Engine, definition: HallDefinition) -> list[tuple[Booking, str]]:
    """The pending bookings of the hall in the database that `definition` can no longer honour
    (`HallState.withdrawals`), with why; none for a hall not yet imported."""
    from queue_server import hall_service  # the day's rebuild: not loaded by every command

    with engine.connect() as conn:
        try:
            hall_id = hall_records.hall_id_for(conn, definition.hall.code)
        except hall_records.HallNotFound:
            return []
        before = hall_records.load_definition(conn, hall_id)
    return hall_service.rebuild(engine, hall_id, before, _now()).withdrawals(definition)


def _say_adopted(definition: HallDefinition, county_version: int,
                 county: catalogue.CountyItems) -> None:
    """What the county catalogue makes of a hall file's items (docs/hall-config.md)."""
    adopted = catalogue.adopted(definition.items, county)
    if not adopted:
        return
    print(f"其中 {len(adopted)} 个事项认领县级事项目录（第 {county_version} 版）：名称、受理条件、"
          "申请材料、时限、收费等共享字段以县级目录为准，文件中的这些字段不生效；部门、号段、"
          "电话、概述和办事流程用本文件的。")
    differ = catalogue.overridden(definition.items, county)
    if differ:
        print(f"注意：{len(differ)} 个事项的共享字段与县级目录不同，以县级目录为准：{_few(differ)}")


def _few(codes: list[str], shown: int = 5) -> str:
    return "、".join(codes[:shown]) + (f" 等 {len(codes)} 个" if len(codes) > shown else "")


def cmd_catalogue_publish(args: argparse.Namespace) -> None:
    definition = load_hall(args.file)
    if definition.hall.level != "county":
        raise UserError(f"{args.file} 不是县级政务服务中心的文件（[hall] 中没有 level = \"county\"），"
                        "未发布：县级事项目录只从县级中心的文件发布 / not the county's file, "
                        "nothing published")
    if not definition.items:
        raise UserError(f"{args.file} 中没有 [[items]] 事项，未发布 / no items, nothing published")
    engine = _engine(args, create=True)
    note = args.note or f"{Path(args.file).name}（{definition.hall.name}）"
    with engine.begin() as conn:
        version = county_catalogue.publish(conn, catalogue.county_items(definition.items),
                                           note, _now())
    if version is None:
        print(f"与最新版本相同，未生成新版本 / unchanged: {len(definition.items)} 个事项")
        return
    print(f"已发布县级事项目录第 {version} 版 / published version {version}: "
          f"{len(definition.items)} 个事项。各大厅按其 catalogue_updates 设置应用"
          "（at_once 立即；next_day 下一个服务日开始时）")


def cmd_catalogue_list(args: argparse.Namespace) -> None:
    engine = _engine(args)
    with engine.connect() as conn:
        rows = county_catalogue.versions(conn)
    if not rows:
        print("还没有发布县级事项目录 / nothing published yet")
    for row in rows:
        print(f"第 {row.version} 版\t{row.published_at.astimezone():%Y-%m-%d %H:%M}\t"
              f"{row.items} 个事项\t{row.note}")


def cmd_catalogue_status(args: argparse.Namespace) -> None:
    engine = _engine(args)
    with engine.connect() as conn:
        latest = county_catalogue.latest(conn)
        halls = county_catalogue.statuses(conn, {
            hall_id: hall_records.load_definition(conn, hall_id)
            for hall_id in hall_records.hall_ids(conn)})
    newest = latest[0] if latest else 0
    print(f"县级事项目录最新为第 {newest} 版 / latest version {newest}" if newest
          else "还没有发布县级事项目录 / nothing published yet")
    modes = {"at_once": "立即应用", "next_day": "次日应用"}
    for hall in halls:
        pending = f"待应用第 {newest} 版" if hall.applied < newest else "已是最新"
        applied = f"已应用第 {hall.applied} 版" if hall.applied else "尚未应用"
        line = (f"{hall.code}\t{hall.name}\t{applied}\t{pending}\t"
                f"{modes[hall.mode]}（{hall.mode}）\t认领 {hall.adopted} 个事项\t"
                f"目录版本 {hall.catalogue_version}")
        if hall.dropped:
            line += f"\t县级目录已删除但本大厅仍在办理：{_few(hall.dropped)}"
        print(line)


def cmd_export_hall(args: argparse.Namespace) -> None:
    engine = _engine(args)
    with engine.connect() as conn:
        definition = hall_records.load_definition(conn, hall_records.hall_id_for(conn, args.hall))
    text = dump_hall(definition)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"已导出 / exported: {args.output}")
    else:
        sys.stdout.write(text)


def cmd_report(args: argparse.Namespace) -> None:
    from queue_server import reports

    if args.month is not None:
        if args.date_from is not None or args.date_to is not None:
            raise UserError("--month 与 --from/--to 只能选一种 / give --month or --from and --to")
        try:
            first, last = reports.month_span(args.month)
        except ValueError as error:
            raise UserError(f"--{error}") from None
    elif args.date_from is None or args.date_to is None:
        raise UserError("请用 --from 和 --to 给出日期，或用 --month 给出月份 / give --from and --to, "
                        "or --month")
    else:
        first, last = _day_arg(args.date_from, "--from"), _day_arg(args.date_to, "--to")
    engine = _engine(args)
    with engine.connect() as conn:
        hall_id = hall_records.hall_id_for(conn, args.hall)
        definition = hall_records.load_definition(conn, hall_id)
    tables = args.table or (["kpis"] if args.format == "csv" else list(REPORTS))
    if reports.LEDGER in tables and len(tables) > 1:
        raise UserError("好差评台账须单独导出（--table ledger）/ the ledger goes alone")
    if reports.ERRANDS in tables:
        _report_errands(args, engine, hall_id, definition, first, last, tables)
        return
    if args.by not in (None, *DIMENSIONS):
        raise UserError(f"--by {args.by} 只用于代办月报表（--table errands）/ only for errands")
    try:
        facts = reports.load_facts(engine, hall_id, definition, first, last)
        # the closed loop's table and the 台账 need the cases and complaints as they stand:
        # rebuilt from the log, as the server holds them
        book = None if not set(tables) & set(CASE_REPORTS) else reports.with_contacts(
            reports.CaseBook.from_log(engine, hall_id, definition, first, last, _now()),
            engine, hall_id, definition.hall)
        data = reports.export(facts, definition, args.format, tables, args.by or "hall",
                              args.period, book)
    except ValueError as error:
        raise UserError(str(error)) from None
    _write_report(args, data, f"{len(facts.tickets)} 张小票")


def _report_errands(args: argparse.Namespace, engine: Engine, hall_id: int,
                    definition: HallDefinition, first: date, last: date,
                    tables: list[str]) -> None:
    """The 代办月报表 (`--table errands`, alone), by point unless `--by agent|item`, the cases
    as they stand on the hall's service day today."""
    from hall.service_calendar import service_day
    from queue_server import reports

    if len(tables) > 1:
        raise UserError("代办月报表须单独导出（--table errands）/ the errands table goes alone")
    by = args.by or "point"
    if by not in POINT_DIMENSIONS:
        raise UserError(f"代办月报表可按 {' / '.join(POINT_DIMENSIONS)} 统计，而不是 {by} / "
                        "--by point, agent or item")
    try:
        rows = reports.errand_rows(engine, hall_id, definition, first, last, by,
                                   service_day(definition.hall, _now()))
        data = reports.to_file({reports.TABLE_NAMES[reports.ERRANDS]:
                                reports.errand_table(rows, by)}, args.format)
    except ValueError as error:
        raise UserError(str(error)) from None
    _write_report(args, data, f"{len(rows) - 1} 行")


def _write_report(args: argparse.Namespace, data: bytes, what: str) -> None:
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"已导出 / exported: {args.output}（{what}）", file=sys.stderr)
    elif args.format == "xlsx":
        raise UserError("XLSX 需要用 --output 指定文件 / give --output for xlsx")
    else:
        sys.stdout.buffer.write(data)


def _day_arg(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option} 应为日期，如 2026-11-01，而不是 {text}") from None


def cmd_device_add(args: argparse.Namespace) -> None:
    engine = _engine(args)
    with engine.begin() as conn:
        hall_id = hall_records.hall_id_for(conn, args.hall)
        windows = {w.number for w in hall_records.load_definition(conn, hall_id).windows}
        token = devices.add_device(conn, hall_id, args.role, args.name, args.window, windows, _now())
    if args.json:
        print(json.dumps({"name": args.name, "role": args.role, "window": args.window,
                          "token": token}, ensure_ascii=False))
    else:
        print(f"已添加{ROLE_NAMES[args.role]} {args.name}。令牌只显示这一次，请妥善保存：")
        print(token)


def cmd_device_list(args: argparse.Namespace) -> None:
    engine = _engine(args)
    with engine.connect() as conn:
        rows = devices.list_devices(conn, hall_records.hall_id_for(conn, args.hall))
    if args.json:
        print(json.dumps([{"name": d.name, "role": d.role, "window": d.window,
                           "created_at": d.created_at.isoformat(),
                           "revoked_at": d.revoked_at.isoformat() if d.revoked_at else None}
                          for d in rows], ensure_ascii=False))
        return
    if not rows:
        print("还没有设备 / no devices yet")
    for d in rows:
        window = f"{d.window} 号窗口" if d.window else "-"
        state = f"已吊销 {d.revoked_at:%Y-%m-%d %H:%M}" if d.revoked_at else "有效"
        print(f"{d.name}\t{ROLE_NAMES[d.role]}\t{window}\t{state}")


def cmd_device_revoke(args: argparse.Namespace) -> None:
    engine = _engine(args)
    with engine.begin() as conn:
        devices.revoke_device(conn, hall_records.hall_id_for(conn, args.hall), args.name, _now())
    print(f"已吊销设备 {args.name} 的令牌 / token revoked")


def cmd_point_enrol(args: argparse.Namespace) -> None:
    """Register a village point at its town's hall and write its one-time enrolment code."""
    from queue_server import views
    from queue_server.hall_toml import PUBLIC_URL, PUBLIC_URL_HINT
    from queue_server.points.enrolment import Enrolment, encode
    from queue_server.points.sync import SYNC_PATH
    from queue_server.points.town_link import catalogue_items
    from queue_server.store import point_logs

    engine = _engine(args)
    now = _now()
    with engine.begin() as conn:    # the point is registered only if its code was written
        hall_id = hall_records.hall_id_for(conn, args.hall)
        definition = hall_records.load_definition(conn, hall_id)
        base = args.public_url or definition.hall.public_url
        if not base:
            raise UserError("大厅配置没有 public_url：请用 --public-url 给出代办点连接本大厅的地址，如 "
                            f"https://paidui.example.gov.cn/h/{definition.hall.code}")
        if not re.fullmatch(PUBLIC_URL, base):
            raise UserError(f"--public-url {PUBLIC_URL_HINT}")
        try:
            secret = point_logs.enrol(conn, hall_id, args.point, args.name, now, args.again)
        except point_logs.PointError as refused:
            raise UserError(str(refused)) from None
        view = views.hall_view(definition)
        code = encode(Enrolment(
            town_url=base.replace("http", "ws", 1) + SYNC_PATH, hall=definition.hall.code,
            hall_name=definition.hall.name, point=args.point, point_name=args.name.strip(),
            secret=secret, handover_days=definition.hall.handover_days,
            calendar={key: view[key] for key in ("timezone", "sessions", "calendar")},
            catalogue_version=hall_records.catalogue_version(conn, hall_id),
            items=catalogue_items(definition.items), issued_at=now.isoformat(timespec="seconds"),
            up_have=point_logs.last_seqs(conn, hall_id, args.point)[0]))
        if args.out:
            Path(args.out).write_text(code + "\n", encoding="utf-8")
    if args.out:
        print(f"已登记代办点 {args.point}（{args.name}），登记码已写入 {args.out}；只用于一台电脑，请妥善保管")
    else:
        print(code)


def cmd_point_list(args: argparse.Namespace) -> None:
    from queue_server.store import point_logs

    engine = _engine(args)
    with engine.connect() as conn:
        points = point_logs.list_points(conn, hall_records.hall_id_for(conn, args.hall))
    if not points:
        print("还没有代办点 / no village points yet")
    for p in points:
        contact = f"{p.last_contact.astimezone():%Y-%m-%d %H:%M}" if p.last_contact else "从未联系"
        offset = "" if p.clock_offset is None else f"\t时钟差 {p.clock_offset} 秒"
        print(f"{p.code}\t{p.name}\t{'已安装' if p.installed else '未安装'}\t最后联系 {contact}\t"
              f"已收 {p.up_last} 条\t待下发 {p.down_pending} 条{offset}")


def _read_secret(given: str | None, prompt: str) -> str:
    """A PIN or password: from the option, else asked twice on a terminal, else one stdin line."""
    if given is not None:
        return given
    try:
        if not sys.stdin.isatty():
            secret = sys.stdin.readline().rstrip("\n")
        else:
            secret = getpass.getpass(prompt)
            if getpass.getpass("再输入一次 / again: ") != secret:
                raise UserError("两次输入的不一致 / the two entries differ")
        secret.encode("utf-8")
    except UnicodeError:
        raise UserError("输入的不是 UTF-8 文本；请把终端或脚本的字符编码设为 UTF-8 后重试 / "
                        "not valid UTF-8") from None
    return secret


def cmd_clerk_set_pin(args: argparse.Namespace) -> None:
    pin = _read_secret(args.pin, "新密码（4–8 位数字）/ new PIN: ").strip()
    if not is_valid_pin(pin):
        raise UserError("密码应为 4 到 8 位数字 / a PIN is 4 to 8 digits")
    engine = _engine(args)
    with engine.begin() as conn:
        if not hall_records.set_pin(conn, hall_records.hall_id_for(conn, args.hall), args.badge, pin):
            raise UserError(f"没有工号为 {args.badge} 的工作人员 / no clerk with this badge")
    print(f"已设置工号 {args.badge} 的密码 / PIN set")


def _rate_limit(text: str, option: str) -> RateLimit:
    try:
        return RateLimit.parse(text)
    except ValueError as error:
        raise UserError(f"{option} {error}") from None


def _count(text: str, option: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise UserError(f"{option} 应为 0 或正整数（0 不限），而不是“{text}”")
    return int(text)


def cmd_manager_add(args: argparse.Namespace) -> None:
    password = _read_secret(args.password, "密码（至少 8 位）/ password: ")
    engine = _engine(args)
    with engine.begin() as conn:
        scope = accounts.add_manager(conn, hall_records.hall_id_for(conn, args.hall), args.user,
                                     args.name or args.user, password, args.scope)
    reach = ("县级管理账号（可登录 /county 与各大厅管理页面）" if scope == "county"
             else "管理账号（只管本大厅）")
    print(f"已设置{reach} {args.user} / manager account set, scope {scope}")


def cmd_manager_remove(args: argparse.Namespace) -> None:
    engine = _engine(args)
    with engine.begin() as conn:
        accounts.remove_manager(conn, hall_records.hall_id_for(conn, args.hall), args.user)
    print(f"已删除管理账号 {args.user}，其已登录的页面随即退出 / manager account removed")


def cmd_manager_list(args: argparse.Namespace) -> None:
    engine = _engine(args)
    with engine.connect() as conn:
        managers = accounts.list_managers(conn, hall_records.hall_id_for(conn, args.hall))
    if not managers:
        print("还没有管理账号 / no manager accounts yet")
    for user, name, scope in managers:
        print(f"{user}\t{name}\t{accounts.SCOPE_NAMES[scope]}")


def cmd_serve(args: argparse.Namespace) -> None:
    from queue_server.server import Server, tls_context

    if bool(args.cert) != bool(args.key):
        raise UserError("--cert 和 --key 要一起给出 / give both --cert and --key")
    tls = None
    if args.cert:
        try:
            tls = tls_context(args.cert, args.key)
        except (OSError, ValueError) as error:
            raise UserError(f"无法读取证书或私钥：{error}") from None
    engine = _engine(args)
    check_writable(engine)
    with engine.connect() as conn:
        codes = hall_records.hall_codes(conn, _halls_named(args))
    engine.dispose()
    engine = open_engine(args.db, kept=KEPT_PER_HALL * len(codes))
    clock = _hall_clock(args, engine, codes[0])
    server = Server(engine, codes, _rate_limit(args.take_limit, "--take-limit"), tls=tls,
                    clock=clock, speed=args.speed,
                    login_limit=_rate_limit(args.login_limit, "--login-limit"),
                    mobile_limit=_rate_limit(args.mobile_limit, "--mobile-limit"),
                    book_limit=_rate_limit(args.book_limit, "--book-limit"),
                    book_day_limit=_count(args.book_day_limit, "--book-day-limit"),
                    name=args.name, url=args.advertise)
    with engine.connect() as conn:
        halls = [hall_records.hall_name(conn, code) for code in codes]
    names = "、".join(halls[:3])
    if len(halls) > 1:
        names = f"{len(halls)} 个大厅（{names}{' 等' if len(halls) > 3 else ''}）"

    def ready(url: str) -> None:
        print(f"{names} 排队服务器已启动 / serving at {url}  (健康检查 {url}/healthz)", flush=True)

    try:
        asyncio.run(server.run(args.host, args.port, ready))
    except OSError as error:
        raise UserError(f"无法监听 {args.host}:{args.port}：{error.strerror}"
                        "（端口被占用或无权限？可用 --port 换一个端口）") from None


def _halls_named(args: argparse.Namespace) -> list[str] | None:
    """The halls `serve` was told to serve (`--halls A,B` or `--hall A`); None for all."""
    if args.halls is not None and args.hall is not None:
        raise UserError("--hall 与 --halls 只能用一个 / give --hall or --halls, not both")
    if args.hall is not None:
        return [args.hall]
    if args.halls is None:
        return None
    codes = [code.strip() for code in args.halls.split(",") if code.strip()]
    if not codes:
        raise UserError("--halls 应为逗号分隔的大厅编码，如 --halls qingshan-town,qinglan-county")
    return list(dict.fromkeys(codes))


def _hall_clock(args: argparse.Namespace, engine: Engine,
                hall: str | None) -> Callable[[], datetime] | None:
    """The halls' clock: None for the real one, or for a simulation one that starts at
    `--simulate-from` (in `hall`'s time zone unless it says) and runs `--speed` times as fast;
    the day simulator replays a day in minutes with it."""
    if args.simulate_from is None:
        if args.speed != 1.0:
            raise UserError("--speed 只能与 --simulate-from 一起使用 / --speed needs --simulate-from")
        return None
    if not 0 < args.speed <= 10_000:
        raise UserError("--speed 应在 0 到 10000 之间 / --speed must be in (0, 10000]")
    with engine.connect() as conn:
        zone = hall_records.load_definition(conn, hall_records.hall_id_for(conn, hall)).hall.zone
    return simulated_clock(args.simulate_from, zone, args.speed)


def cmd_demo_clock(args: argparse.Namespace) -> None:
    """The demo's clock: nothing while the hall file's hall issues tickets (real time), else the
    `--simulate-from` value of its next opening on stdout, and on stderr one line saying so."""
    from queue_server.demo_clock import demo_clock_line, demo_start

    hall = load_hall(args.file).hall
    now = _now()
    if args.at is not None:
        try:
            now = datetime.fromisoformat(args.at)
        except ValueError:
            raise UserError(f"无法识别的时间：{args.at}（应如 2026-12-05T22:00）") from None
        now = now.replace(tzinfo=hall.zone) if now.tzinfo is None else now
    try:
        start = demo_start(hall, now)
    except ValueError as error:
        raise UserError(str(error)) from None
    if start is None:
        return
    print(start.replace(tzinfo=None).isoformat(timespec="minutes"))
    print(demo_clock_line(hall, now, start), file=sys.stderr)


def cmd_take_code(args: argparse.Namespace) -> None:
    """The hall's code of the mobile 取号 page (今日取号码) for a day: today by the hall's own
    time zone, or `--day`. The board shows it, the managers' poster prints it; this is for the
    hall's staff at a terminal, and for the demo run on a simulated clock."""
    from queue_server.take_page import hall_code

    engine = _engine(args)
    with engine.connect() as conn:
        hall_id = hall_records.hall_id_for(conn, args.hall)
        zone = hall_records.load_definition(conn, hall_id).hall.zone
        secret = hall_records.secret_of(conn, hall_id)
    if args.day is None:
        day = _now().astimezone(zone).date()
    else:
        try:
            day = date.fromisoformat(args.day)
        except ValueError:
            raise UserError(f"无法识别的日期：{args.day}（应如 2026-12-07）") from None
    print(hall_code(secret, day))


def cmd_backup(args: argparse.Namespace) -> None:
    url = make_url(args.db or default_url())
    target = Path(args.output)
    if target.exists() and not args.force:
        raise UserError(f"{target} 已存在；加 --force 覆盖 / exists, use --force")
    _engine(args)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None   # an in-memory database is never initialised: _engine refused it
        backup_sqlite(url.database, target)
    else:
        if shutil.which("pg_dump") is None:
            raise UserError("备份 PostgreSQL 需要 pg_dump（apt-get install postgresql-client）")
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        done = subprocess.run(["pg_dump", "--format=custom", "--file", str(target), plain],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise UserError(f"pg_dump 失败：{one_line(done.stderr)}")
    print(f"已备份到 / backed up to {target}")


def _parser() -> argparse.ArgumentParser:
    parser, command, group = new_parser()
    command("init", cmd_init, "创建或升级数据库 / create or upgrade the database")
    p = command("check-hall", cmd_check_hall, "检查大厅配置文件，不做修改 / validate a hall file")
    p.add_argument("file", help="TOML 文件 / file")
    p = command("import-hall", cmd_import_hall, "导入或更新大厅配置 / import or update a hall")
    p.add_argument("file", help="TOML 文件 / file")
    p = command("export-hall", cmd_export_hall, "把大厅配置导出为 TOML / export a hall as TOML")
    p.add_argument("-o", "--output", metavar="FILE", help="写入文件（默认输出到屏幕）/ output file")

    catalogue_sub = group("catalogue", "县级事项目录 / the county's catalogue of items")
    p = command("publish", cmd_catalogue_publish, "把大厅配置文件中的事项发布为县级事项目录的新版本 / "
                "publish a hall file's items as the county catalogue's next version",
                catalogue_sub)
    p.add_argument("file", help="TOML 文件，通常是县政务服务中心的 county.toml / file")
    p.add_argument("--note", help="说明（默认为文件名和大厅名称）/ note")
    command("list", cmd_catalogue_list, "列出已发布的版本 / list versions", catalogue_sub)
    command("status", cmd_catalogue_status, "各大厅应用县级目录的情况 / each hall's version",
            catalogue_sub)

    device_sub = group("device", "管理设备令牌 / manage device tokens")
    p = command("add", cmd_device_add, "登记设备并发放令牌 / register a device, print its token",
                device_sub)
    p.add_argument("--role", required=True, choices=DEVICE_ROLES,
                   help="kiosk 取号机 / display 显示屏 / pad 评价器")
    p.add_argument("--name", required=True, help="设备名称 / device name, e.g. kiosk-1")
    p.add_argument("--window", type=int, help="绑定的窗口号（评价器必填）/ window (pads)")
    p.add_argument("--json", action="store_true", help="以 JSON 输出 / print JSON")
    p = command("list", cmd_device_list, "列出设备 / list devices", device_sub)
    p.add_argument("--json", action="store_true", help="以 JSON 输出 / print JSON")
    p = command("revoke", cmd_device_revoke, "吊销设备令牌 / revoke a device's token", device_sub)
    p.add_argument("name", help="设备名称 / device name")

    clerk_sub = group("clerk", "管理工作人员 / manage clerks")
    p = command("set-pin", cmd_clerk_set_pin, "设置登录密码 / set a clerk's PIN", clerk_sub)
    p.add_argument("badge", help="工号 / badge")
    p.add_argument("--pin", help="新密码；省略时从终端或标准输入读取 / new PIN (else prompted)")

    manager_sub = group("manager", "管理人员账号 / manager accounts")
    p = command("add", cmd_manager_add, "新增或重设管理账号（重设后其已登录的页面随即退出）/ add or "
                "reset a manager account",
                manager_sub)
    p.add_argument("user", help="用户名 / user name")
    p.add_argument("--name", help="姓名 / full name")
    p.add_argument("--password", help="密码；省略时从终端或标准输入读取 / (else prompted)")
    p.add_argument("--county", action="store_const", const="county", dest="scope",
                   help="县级管理账号：可查看全县（/county）并进入每个大厅的管理页面；只能建在县级"
                        "政务服务中心 / a county account (only in the county's own hall)")
    p.add_argument("--hall-only", action="store_const", const="hall", dest="scope",
                   help="只管本大厅（县级账号改回普通账号时用；不写时已有账号保持原范围）/ "
                        "this hall only (an existing account keeps its scope unless told)")
    p = command("remove", cmd_manager_remove, "删除管理账号，其已登录的页面随即退出 / remove a "
                "manager account (its open pages end)", manager_sub)
    p.add_argument("user", help="用户名 / user name")
    command("list", cmd_manager_list, "列出管理账号 / list manager accounts", manager_sub)

    point_sub = group("point", point_cli.POINT_HELP)
    point_cli.add_commands(point_sub, command)
    p = command("enrol", cmd_point_enrol, "在乡镇登记代办点，输出一次性登记码 / enrol a village "
                "point, print its enrolment code", point_sub)
    p.add_argument("--point", required=True, help="代办点编号（字母、数字、_）/ point code, e.g. P07")
    p.add_argument("--name", required=True, help="代办点名称 / name, e.g. 青山村便民服务站")
    p.add_argument("--public-url", help="代办点连接本大厅的地址（默认大厅配置的 public_url）/ the "
                                        "hall's address as the point reaches it")
    p.add_argument("--again", action="store_true", help="重新生成登记码，旧电脑不能再同步 / re-enrol")
    p.add_argument("--out", help="把登记码写入文件（默认输出到屏幕）/ write the code to FILE")
    command("list", cmd_point_list, "列出代办点及同步情况 / list points and their sync", point_sub)

    p = command("serve", cmd_serve, "启动排队服务器 / run the server")
    p.add_argument("--host", default="127.0.0.1", help="监听地址 / address (默认 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="端口 / port (默认 8765)")
    p.add_argument("--halls", metavar="CODE,CODE",
                   help="只服务这些大厅（逗号分隔的编码）；默认服务库中所有大厅 / serve only these halls "
                        "(default: every hall in the database)")
    p.add_argument("--name", help="本服务器的名称，多台服务器共用一个 PostgreSQL 时各不相同；默认 主机名:端口:进程号 / "
                                  "this server's name among those sharing the database")
    p.add_argument("--advertise", metavar="URL",
                   help="其他服务器把设备转给本服务器时用的地址，如 http://10.0.0.5:8765；默认为监听地址 / "
                        "the address other servers send devices to")
    p.add_argument("--cert", help="TLS 证书（PEM），启用 wss:// 与 https:// / TLS certificate")
    p.add_argument("--key", help="TLS 私钥（PEM）/ TLS private key")
    p.add_argument("--take-limit", default=str(TAKE_LIMIT), metavar="N/SECONDS",
                   help="每个取号机连接的取号频率上限（N 张，之后每 SECONDS 秒补 N 张），默认 %(default)s；0 不限 / "
                        "take_ticket limit per connection")
    p.add_argument("--login-limit", default=str(LOGIN_LIMIT), metavar="N/SECONDS",
                   help="每个地址的登录尝试上限（N 次，之后每 SECONDS 秒补 N 次），默认 %(default)s；0 不限 / "
                        "login tries per client address")
    p.add_argument("--mobile-limit", default=str(MOBILE_TAKE_LIMIT), metavar="N/SECONDS",
                   help="手机取号页（/take）每个地址的取号频率上限，默认 %(default)s；0 不限 / "
                        "mobile tickets per client address")
    p.add_argument("--book-limit", default=str(BOOK_LIMIT), metavar="N/SECONDS",
                   help="预约页（/book）每个地址的预约和取消频率上限，默认 %(default)s；0 不限 / "
                        "bookings and cancellations per client address")
    p.add_argument("--book-day-limit", default=str(BOOK_DAY_LIMIT), metavar="N",
                   help="预约页（/book）每个地址每天最多预约的个数（手机号未经短信验证），默认 %(default)s；"
                        "0 不限 / bookings per client address per day")
    p.add_argument("--simulate-from", metavar="TIME",
                   help="仅供模拟演练：大厅时钟从此时刻起走（如 2026-11-23T08:00），不要用于真实大厅 / "
                        "simulation only: the hall clock starts at TIME")
    p.add_argument("--speed", type=float, default=1.0,
                   help="仅供模拟演练：时钟倍速，与 --simulate-from 一起用 / simulation clock speed")
    p = command("demo-clock", cmd_demo_clock, "演示用时钟：大厅不在办公时间时，输出下次开门的时刻"
                "（供 serve --simulate-from 使用），办公时间内不输出 / the demo's clock: the hall's "
                "next opening when it is closed now, nothing when it is open")
    p.add_argument("file", help="大厅配置文件（TOML）/ hall file")
    p.add_argument("--at", metavar="TIME",
                   help="按此时刻判断而不是现在（大厅所在时区，如 2026-12-05T22:00）/ as if now were TIME")
    p = command("report", cmd_report, "统计报表与导出 / KPI reports and exports (docs/kpis.md)")
    p.add_argument("--from", dest="date_from", metavar="DATE",
                   help="开始日期（含）/ first day, e.g. 2026-11-01")
    p.add_argument("--to", dest="date_to", metavar="DATE",
                   help="结束日期（含）/ last day")
    p.add_argument("--month", metavar="MONTH",
                   help="整月，代替 --from/--to（如 2026-11）/ a whole month instead of --from/--to")
    p.add_argument("--by", choices=(*DIMENSIONS, *POINT_DIMENSIONS),
                   help="统计维度 / dimension (默认 hall；代办月报表 point/agent/item，默认 point)")
    p.add_argument("--period", default="month", choices=PERIODS,
                   help="统计周期 / period (默认 month)")
    p.add_argument("--format", default="csv", choices=("csv", "xlsx", "json"),
                   help="格式 / format (默认 csv)")
    p.add_argument("--table", action="append", choices=(*REPORTS, *CASE_REPORTS),
                   help="导出哪张表，可重复；默认 CSV 为 kpis，XLSX/JSON 为 "
                        f"{'、'.join(REPORTS)}；"
                        f"{'，'.join(f'{k} 为{v}' for k, v in CASE_REPORT_NAMES.items())}"
                        "（ledger 须单独导出）/ table(s)")
    p.add_argument("--output", "-o", help="输出文件；省略时写到标准输出 / output file")
    p = command("take-code", cmd_take_code, "手机取号页（/take）某天的今日取号码 / the mobile "
                "取号 page's hall code of a day")
    p.add_argument("--day", metavar="DATE", help="日期（默认大厅所在时区的今天）/ day, e.g. 2026-12-07")
    p = command("backup", cmd_backup, "在线备份数据库 / consistent online backup")
    p.add_argument("output", help="备份文件 / backup file")
    p.add_argument("--force", action="store_true", help="覆盖已有文件 / overwrite")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        return run(_parser(), argv, (hall_records.HallNotFound, hall_records.HallConflict,
                                     devices.DeviceError, accounts.AccountError))
    except HallFileInvalid as error:
        print(error.render(), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
