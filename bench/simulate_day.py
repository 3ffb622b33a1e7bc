"""模拟一天（或多天）的大厅业务 / the day simulator.

    python -m bench.simulate_day --hall demo-town|county [--mode protocol|direct]
        [--day 2026-11-23] [--days N | --year] [--tickets N | --peak] [--speed N] [--seed S]
        [--db URL] [--out FILE] [--commit day|command] [--if-empty]

`protocol` (the default) replays one day through a real server and real WebSocket clients at
`--speed` times real time; `direct` runs the same people in process against HallService, fast,
for one day or for history (`--days N`: the N working days ending yesterday, or ending with
`--day`; `--year`: a year of them). `--out` writes what the simulator saw, day by day, as JSON
(the ground truth for the KPI tests). The model and its sources: docs/simulator.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NoReturn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from bench.sim import direct, model, protocol
from bench.sim.summary import add_up, check
from hall import service_calendar as cal
from queue_server.hall_definition import HallDefinition
from queue_server.store import hall_records
from queue_server.store.database import DatabaseUrlError, open_engine
from queue_server.store.schema import EventRow

MODES = ("protocol", "direct")
WEEKDAYS = "一二三四五六日"


class UserError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:   # Chinese first, as every command of the project
        self.exit(2, f"错误 / error: 参数有误（{message}）；用 --help 查看用法\n")


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = Parser(prog="python -m bench.simulate_day",
               description="模拟大厅的一天：取号、叫号、A/B 岗、暂停、过号、转移、挂起、评价 / simulate a hall's day")
    p.add_argument("--hall", required=True, help="demo-town（青山镇）或 county（青岚县）")
    p.add_argument("--mode", default="protocol", help="protocol（真实服务器与 WebSocket，默认）或 direct（进程内，快）")
    p.add_argument("--day", help="模拟的日期（如 2026-11-23）；多天时为最后一天；"
                                 "默认今天（休息日则取之前最近的工作日）")
    p.add_argument("--days", help="direct：模拟截至昨天（或 --day）的 N 个工作日")
    p.add_argument("--year", action="store_true", help="direct：模拟截至昨天（或 --day）一年内的全部工作日")
    p.add_argument("--tickets", help="每天的取号人次（默认：该类大厅的平均日，随星期几浮动）")
    p.add_argument("--peak", action="store_true", help="高峰日：平均日的 2.5 倍")
    p.add_argument("--speed", help="protocol：时钟倍速，1–10000（默认：青山镇 600，青岚县 300）")
    p.add_argument("--seed", default="7", help="随机种子（默认 7）；同一种子得到同样的一天")
    p.add_argument("--db", metavar="URL",
                   help="数据库地址；默认用一个临时 SQLite 文件（有 /dev/shm 时放在内存里），结束后删除")
    p.add_argument("--out", metavar="FILE", help="把模拟器看到的逐日结果写成 JSON")
    p.add_argument("--commit", default="day",
                   help="direct：每天提交一次（day，默认）或每条命令提交一次（command，与服务器相同）")
    p.add_argument("--if-empty", action="store_true", help="direct：库中该大厅已有记录时什么也不做（演示脚本用）")
    return p.parse_args(argv)


def _integer(text: str, name: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"{name} 应为整数，而不是 {text}") from None
    if not low <= value <= high:
        raise UserError(f"{name} 应在 {low} 到 {high} 之间，而不是 {value}")
    return value


def _day_text(day: date) -> str:
    return f"{day.isoformat()}（周{WEEKDAYS[day.weekday()]}）"


def check_options(args: argparse.Namespace) -> None:
    if args.hall not in model.PROFILES:
        raise UserError(f"没有名为 {args.hall} 的大厅；可选：{'、'.join(model.PROFILES)}")
    if args.mode not in MODES:
        raise UserError(f"--mode 应为 protocol 或 direct，而不是 {args.mode}")
    if args.mode == "protocol":
        for flag, given in (("--days", args.days), ("--year", args.year), ("--if-empty", args.if_empty)):
            if given:
                raise UserError(f"{flag} 只能用于 --mode direct（协议模式一次模拟一天）")
        if args.commit != "day":
            raise UserError("--commit 只能用于 --mode direct")
    elif args.speed is not None:
        raise UserError("--speed 只能用于 --mode protocol（direct 模式不按时钟走）")
    if args.days and args.year:
        raise UserError("--days 和 --year 只能选一个")
    if args.tickets is not None and args.peak:
        raise UserError("--tickets 和 --peak 只能选一个")
    if args.commit not in ("day", "command"):
        raise UserError(f"--commit 应为 day 或 command，而不是 {args.commit}")
    args.seed = _integer(args.seed, "--seed", 0, 2**31)
    args.tickets = None if args.tickets is None else _integer(args.tickets, "--tickets", 0, 20_000)
    args.days = None if args.days is None else _integer(args.days, "--days", 1, 3660)
    if args.speed is None:
        args.speed = model.PROFILES[args.hall].speed
    else:
        try:
            args.speed = float(args.speed)
        except ValueError:
            raise UserError(f"--speed 应为数字，而不是 {args.speed}") from None
        if not 1 <= args.speed <= 10_000:
            raise UserError(f"--speed 应在 1 到 10000 之间，而不是 {args.speed:g}")
    if args.day is not None:
        try:
            args.day = date.fromisoformat(args.day)
        except ValueError:
            raise UserError(f"无法识别的日期：{args.day}（应如 2026-11-23）") from None


def choose_days(args: argparse.Namespace, definition: HallDefinition) -> list[date]:
    hall = definition.hall
    today = datetime.now(hall.zone).date()
    if args.days or args.year:
        last = args.day or today - timedelta(days=1)
        days = model.year_days(hall, last) if args.year else model.service_days(hall, last, args.days)
        if not days:
            raise UserError(f"截至 {last} 找不到工作日")
        return days
    if args.day is not None:
        if not cal.is_working_day(hall, args.day):
            raise UserError(f"{_day_text(args.day)} 是休息日，{hall.name}不办公；请另选一个工作日")
        return [args.day]
    found = model.service_days(hall, today, 1)
    if not found:
        raise UserError("近期找不到工作日")
    return found


def _line(day: dict) -> str:
    t, r = day["tickets"], day["ratings"]
    unattended = day["warnings"].get("unattended", {})
    open_text = f"，未结 {t['open']}" if t["open"] else ""
    return (f"取号 {t['issued']}，办结 {t['finished']}，过号 {t['no_show']}，日终作废 {t['cancelled']}{open_text}；"
            f"转移 {t['transfers']}，挂起 {t['holds']}；评价 {r['total']} 条（未评 {r['by_score'].get('null', 0)}，"
            f"手机评价 {r['by_channel'].get('citizen', 0)}）；脱岗预警 黄 {unattended.get('yellow', 0)} "
            f"红 {unattended.get('red', 0)}")


def run(args: argparse.Namespace) -> int:
    check_options(args)
    folder = None
    if args.db is None:
        # In memory where there is a tmpfs: at 300× the server commits 300 times as often, and a
        # disk's fsync would set the pace, not the hall.
        shm = Path("/dev/shm")
        folder = tempfile.TemporaryDirectory(prefix="hall-sim-", dir=shm if shm.is_dir() else None)
        args.db = f"sqlite:///{folder.name}/sim.db"
    try:
        engine = open_engine(args.db)
    except DatabaseUrlError as error:
        raise UserError(str(error)) from None
    try:
        return simulate(args, engine, keep_db=folder is None)
    finally:
        engine.dispose()
        if folder is not None:
            folder.cleanup()


def simulate(args: argparse.Namespace, engine, keep_db: bool) -> int:
    profile = model.PROFILES[args.hall]
    from_file = model.load(args.hall)
    started = time.perf_counter()
    hall_id, _ = direct.prepare(engine, from_file, datetime.now(UTC))
    with engine.connect() as conn:
        definition = hall_records.load_definition(conn, hall_id)
        logged = conn.execute(select(func.count()).select_from(EventRow).where(EventRow.hall_id == hall_id)).scalar()
    if args.if_empty and logged:
        print(f"{definition.hall.name}：库中已有 {logged:,} 条记录，不再生成模拟历史 / history exists, nothing done")
        return 0
    days = choose_days(args, definition)
    last = direct.last_logged_day(engine, hall_id)
    if last is not None and last >= days[0]:
        raise UserError(f"数据库里已有 {last} 的记录，只能模拟此后的日子 / the database already holds {last}; "
                        "simulate later days only")
    load = "高峰日" if args.peak else "平均日" if args.tickets is None else f"每天 {args.tickets} 人次"
    result: dict = {"hall": args.hall, "hall_code": definition.hall.code, "hall_name": definition.hall.name,
                    "mode": args.mode, "seed": args.seed, "load": "peak" if args.peak else (
                        "average" if args.tickets is None else f"{args.tickets}/day"),
                    "db": args.db if keep_db else None}
    if args.mode == "protocol":
        day = days[0]
        print(f"{definition.hall.name} {_day_text(day)}，协议模式，{args.speed:g} 倍速，{load}")
        file_pins = {c.badge: c.pin for c in from_file.clerks if c.pin}
        summary, timings = protocol.simulate_day(
            engine, args.db, hall_id, definition, file_pins, profile, day, args.seed, args.tickets, args.peak,
            args.speed, report=lambda text: print("  " + text))
        summaries = [summary]
        result["speed"] = args.speed
        print("  " + _line(summary))
        print(f"  用时 / timings: 准备 {timings['setup_s']} s，登录 {timings['logins_s']} s，"
              f"一天 {timings['day_s']} s（{timings['requests']:,} 个请求），收尾 {timings['close_s']} s，"
              f"共 {timings['total_s']} s；CPU：服务器 {timings['cpu_server_s']} s，"
              f"模拟器 {timings['cpu_simulator_s']} s")
    else:
        span = _day_text(days[0]) if len(days) == 1 else f"{days[0]} 至 {days[-1]} 的 {len(days)} 个工作日"
        print(f"{definition.hall.name} {span}，direct 模式，{load}")
        finished: list[str] = []

        def progress(summary: dict) -> None:
            finished.append(summary["day"])
            if len(days) > 20 and (len(finished) % 20 == 0 or len(finished) == len(days)):
                print(f"  … {summary['day']} 完成（{len(finished)}/{len(days)}，"
                      f"{time.perf_counter() - started:.0f} s）", file=sys.stderr, flush=True)

        summaries, executor = direct.simulate_days(engine, definition.hall.code, days, profile, args.seed,
                                                   args.tickets, args.peak, args.commit, progress=progress)
        elapsed = time.perf_counter() - started
        timings = {"total_s": round(elapsed, 2), "per_day_s": round(elapsed / len(days), 3),
                   "commands": executor.commands, "events": executor.events_written}
        if len(days) == 1:
            print("  " + _line(summaries[0]))
        else:
            total = add_up(summaries)
            t = total["tickets"]
            print(f"  合计 {len(days)} 天：取号 {t['issued']:,}，办结 {t['finished']:,}，过号 {t['no_show']:,}，"
                  f"日终作废 {t['cancelled']:,}；评价 {total['ratings']['total']:,} 条")
        print(f"  用时 / timings: {elapsed:.1f} s（每天 {elapsed / len(days):.2f} s），"
              f"{executor.commands:,} 条命令，写入 {executor.events_written:,} 个事件")
    problems = [p for s in summaries for p in check(s)]
    unexpected = [u for s in summaries for u in s["unexpected_refusals"]]
    result.update({"timings": timings, "days": summaries, "totals": add_up(summaries),
                   "problems": problems})
    if args.out:
        Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"  结果已写入 / summary written to {args.out}")
    if unexpected:
        print(f"  注意：服务器意外拒绝了 {len(unexpected)} 个请求，如 {unexpected[0]}")
    if problems:
        print("  对账不符 / does not add up:\n    " + "\n    ".join(problems))
        return 1
    print("  对账：取号 = 办结 + 过号 + 日终作废 + 未结 ✓")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run(parse(argv))
    except (UserError, direct.SimulationError) as error:
        print(f"错误 / error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
