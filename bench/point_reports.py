"""How long the monthly 代办月报表 of a county-sized set of village points takes (issue 18 point 4:
≤ 1 s).

A real SQLite file (migrated as `queue-server` does) holds `--towns` town halls (the small test
hall's file under other codes), each with `--points` enrolled points whose two logs hold
`--cases` cases recorded in November 2026 (a case every working hour or so, five agents a point,
three items), each taken along a random part of its way: 90 % delivered (most within the
hand-over days, some late), 75 % finished, then fed back, archived and called back. Timed, each
`--runs` times, the median printed:

- `county`: the county view's whole computation (`county.points_report`: every town's points and
  both logs read from the database, folded, and the month's 合计 row of each);
- `tab <by>`: one town's 代办月报表 as the reports tab asks for it (`reports.errand_rows`), by
  point, agent and item;
- `rows <by>`: the pure table over the whole county's ledgers already folded (`point_kpis.rows`).

Usage: .venv/bin/python bench/point_reports.py [--towns 17] [--points 10] [--cases 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from hall.vocabulary import POINT_DIMENSIONS  # noqa: E402
from queue_server import county, reports  # noqa: E402
from queue_server.hall_toml import parse_hall  # noqa: E402
from queue_server.points import ledger as L  # noqa: E402
from queue_server.points import point_kpis  # noqa: E402
from queue_server.points.point_store import log_row  # noqa: E402
from queue_server.store import hall_records, point_logs  # noqa: E402
from queue_server.store.database import migrate, open_engine  # noqa: E402
from queue_server.store.schema import PointDownRow, PointUpRow  # noqa: E402
from tests.live_hall import SMALL  # noqa: E402

ZONE = ZoneInfo("Asia/Shanghai")
ITEMS = (("T-SB-001", "城乡居民基本养老保险参保登记"), ("T-MZ-009", "最低生活保障申请"),
         ("T-YB-003", "医疗费用报销"))


def point_logs_of(code: str, cases: int, rng: random.Random) -> tuple[list[L.Entry], list[L.Entry]]:
    """A point's month: both logs, each entry having seen the other log whole."""
    up: list[L.Entry] = []
    down: list[L.Entry] = []

    def write(record: L.Record, moment: datetime) -> None:
        mine, other = (up, down) if record.side == "up" else (down, up)
        mine.append(L.Entry(len(mine) + 1, moment.isoformat(timespec="seconds"), len(other),
                            record))

    start = datetime(2026, 11, 2, 8, 30, tzinfo=ZONE)
    for n in range(cases):
        moment = start + timedelta(minutes=n * 28 * 60 * 24 // cases)
        day_cases = sum(1 for e in up if e.record.tag == "case_recorded"
                        and e.at.startswith(moment.date().isoformat()))
        case = f"{code}-{moment:%y%m%d}-{day_cases + 1:03d}"
        item, name = rng.choice(ITEMS)
        write(L.CaseRecorded(case, "张三", "13800001111", item, name, ("身份证",),
                             f"代办员{rng.randint(1, 5)}"), moment)
        if rng.random() < 0.05:
            write(L.CaseWithdrawn(case, "群众不办了"), moment + timedelta(hours=1))
            continue
        if rng.random() > 0.9:
            continue
        moment += timedelta(days=rng.choice((1, 1, 2, 2, 3, 5)))
        write(L.TownReceived(case, 1, "1001"), moment)
        write(L.TownAccepted(case, "1001"), moment)
        if rng.random() > 0.75:
            continue
        moment += timedelta(days=2)
        write(L.TownFinished(case, rng.choice(("done", "done", "refused")), "", "1001"), moment)
        write(L.CaseFedBack(case), moment + timedelta(hours=2))
        write(L.CaseArchived(case), moment + timedelta(hours=3))
        write(L.CaseVisited(case, rng.choice(("satisfied", "basic", "unreached"))),
              moment + timedelta(days=1))
    return up, down


def town_text(n: int) -> str:
    return (SMALL.replace('code = "small"', f'code = "t{n:02d}"', 1)
            .replace('name = "测试镇便民服务中心"', f'name = "第{n}镇便民服务中心"', 1))


def median_time(run, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--towns", type=int, default=17)
    parser.add_argument("--points", type=int, default=10)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    rng = random.Random(18)
    now = datetime(2026, 12, 7, 2, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(f"sqlite:///{Path(folder) / 'county.db'}")
        migrate(engine)
        halls = []
        logs: dict[tuple[int, str], tuple[list[L.Entry], list[L.Entry]]] = {}
        with engine.begin() as conn:
            for n in range(1, args.towns + 1):
                hall_id, _ = hall_records.save_definition(conn, parse_hall(town_text(n)), now)
                halls.append((hall_id, hall_records.load_definition(conn, hall_id)))
                for p in range(1, args.points + 1):
                    code = f"P{p:02d}"
                    point_logs.enrol(conn, hall_id, code, f"第{p}村便民服务站", now)
                    logs[(hall_id, code)] = up, down = point_logs_of(code, args.cases, rng)
                    for table, entries in ((PointUpRow, up), (PointDownRow, down)):
                        conn.execute(insert(table), [
                            {"hall_id": hall_id, "point": code, **log_row(e)}
                            | ({"received_at": now} if table is PointUpRow else {})
                            for e in entries])
        entry_count = sum(len(u) + len(d) for u, d in logs.values())
        print(f"{args.towns} towns × {args.points} points × {args.cases} cases: "
              f"{args.towns * args.points * args.cases} cases, {entry_count} entries")
        report = county.points_report(engine, halls, "2026-11", now)
        print("county line:", {k: report["county"][k] for k in (
            "points", "recorded", "delivered", "on_time_pct", "overdue", "finished", "visited")})
        print(f"county (points_report, from SQLite): "
              f"{median_time(lambda: county.points_report(engine, halls, '2026-11', now), args.runs):.3f} s")
        hall_id, definition = halls[0]
        first, last = reports.month_span("2026-11")
        today = now.astimezone(ZONE).date()
        for by in POINT_DIMENSIONS:
            seconds = median_time(lambda by=by: reports.errand_rows(
                engine, hall_id, definition, first, last, by, today), args.runs)
            print(f"tab {by} (one town, errand_rows, from SQLite): {seconds:.3f} s")
        ledgers = [L.PointLedger(f"{h}-{code}", code, L.fold(up, down))
                   for (h, code), (up, down) in logs.items()]
        for by in POINT_DIMENSIONS:
            seconds = median_time(lambda by=by: point_kpis.rows(
                ledgers, definition.hall, 3, first, last, by, today), args.runs)
            print(f"rows {by} (the whole county, folded): {seconds:.3f} s")
        engine.dispose()
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
