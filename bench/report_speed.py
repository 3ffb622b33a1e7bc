"""How long reports take on a year of county-hall data (goals: the monthly KPI table by window
≤ 0.5 s, the yearly one ≤ 2 s, on SQLite).

    python -m bench.report_speed [--db sqlite:////tmp/county-year.db] [--month 2026-06]

Without `--db` it first makes the year with the day simulator (`bench.simulate_day --hall
county --mode direct --year`, about 130,000–150,000 tickets; that takes several minutes) in a
temporary SQLite file. It then stores the facts of the closed days that lack them, as
`queue-server init` does after an upgrade (`day_facts.fill`), and prints how long that took.
Then it times, cold (a new engine each time, so nothing is cached in the process), what the
reports page and `queue-server report` do:

- the monthly report as the reports page asks for it (one `stats` request): reading the
  month's stored tallies and intervals (`reports.load_tallied`), then the KPI table by window
  (`kpis.rows`);
- the same for every other dimension, the hourly figures and the rankings (all the page can
  show for the month; those two read the facts without the ratings' log, as `stats` does);
- the year's KPI table by window, as the first;
- exporting the month's tickets as XLSX.

Each figure is the median of `--repeat` runs, wall-clock and CPU time (`time.process_time`,
steadier on a shared machine), printed with the number of tickets and events.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from hall.vocabulary import DIMENSIONS
from queue_server import kpis, reports
from queue_server.store import day_facts, hall_records
from queue_server.store.database import open_engine
from queue_server.store.schema import DayFactsRow, EventRow


def timed(repeat: int, work) -> tuple[str, object]:
    """The median wall-clock and CPU seconds of `repeat` runs, as text, and the last result."""
    seconds, cpu, result = [], [], None
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = work()
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    return f"{statistics.median(seconds):.2f} s (CPU {statistics.median(cpu):.2f} s)", result


def _report(url: str, first: date, last: date, everything: bool) -> int:
    """As the `stats` requests: the KPI table by window (by every dimension if `everything`,
    then the hourly figures and the rankings). How many KPI rows."""
    engine = open_engine(url)
    with engine.connect() as conn:
        hall_id = hall_records.hall_id_for(conn, None)
        definition = hall_records.load_definition(conn, hall_id)
    rows = 0
    for by in DIMENSIONS if everything else ("window",):
        tallied = reports.load_tallied(engine, hall_id, first, last, by)
        rows += len(kpis.rows(tallied, definition, by, "month"))
    if everything:
        facts = reports.load_facts(engine, hall_id, definition, first, last, with_ratings=False)
        kpis.hourly(facts, definition)
        facts = reports.load_facts(engine, hall_id, definition, first, last, with_ratings=False)
        kpis.ranking(facts, definition, "window")
        kpis.ranking(facts, definition, "clerk")
    engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="a database holding the year (made if not given)")
    parser.add_argument("--month", default="2026-06", help="the month of the monthly report")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = None
    url = args.db
    if url is None:
        folder = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(folder.name) / 'county-year.db'}"
        print("生成一年的县级大厅数据 / making a year of county data …", flush=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bench.simulate_day", "--hall", "county",
                        "--mode", "direct", "--year", "--day", "2026-11-20", "--db", url],
                       check=True)
        print(f"  用时 / took {time.perf_counter() - started:.0f} s")
    engine = open_engine(url)
    with engine.connect() as conn:
        hall_id = hall_records.hall_id_for(conn, None)
    started = time.perf_counter()
    filled = day_facts.fill(engine, hall_id)
    print(f"事实入库 / facts stored for {filled} closed days in {time.perf_counter() - started:.1f} s")
    with engine.connect() as conn:
        tickets = conn.execute(select(func.count()).select_from(EventRow)
                               .where(EventRow.kind == "ticket_issued")).scalar_one()
        events = conn.execute(select(func.count()).select_from(EventRow)).scalar_one()
        span = conn.execute(select(func.min(EventRow.day), func.max(EventRow.day))).one()
        facts = conn.execute(select(func.count()).select_from(DayFactsRow)).scalar_one()
    engine.dispose()
    print(f"数据 / data: {tickets:,} tickets, {events:,} events, {span[0]} – {span[1]}, "
          f"facts stored for {facts} closed days")

    first, last = reports.month_span(args.month)
    seconds, rows = timed(args.repeat, lambda: _report(url, first, last, False))
    print(f"月报 / monthly report {args.month}, KPI table by window: {seconds} ({rows} rows)"
          "   goal ≤ 0.5 s")
    seconds, _ = timed(args.repeat, lambda: _report(url, first, last, True))
    print(f"  all of it ({len(DIMENSIONS)} dimensions, hourly, rankings): {seconds}")
    seconds, rows = timed(args.repeat, lambda: _report(url, span[0], span[1], False))
    print(f"年报 / yearly report by window: {seconds} ({rows} rows)   goal ≤ 2 s")

    def month_xlsx() -> bytes:
        engine = open_engine(url)
        with engine.connect() as conn:
            hall_id = hall_records.hall_id_for(conn, None)
            definition = hall_records.load_definition(conn, hall_id)
        month = reports.load_facts(engine, hall_id, definition, first, last)
        engine.dispose()
        return reports.export(month, definition, "xlsx", ["tickets"])

    seconds, body = timed(1, month_xlsx)
    assert isinstance(body, bytes)         # export's file
    print(f"导出当月小票 XLSX / month's tickets as XLSX: {seconds} ({len(body) / 1e6:.1f} MB)")
    if folder is not None:
        folder.cleanup()


if __name__ == "__main__":
    main()
