"""How long the month's 好差评台账 of a county hall takes to export (goal: ≤ 3 s for a month of
12,600 tickets, on SQLite).

    python -m bench.ledger_speed [--db sqlite:////tmp/county-month.db] [--repeat 3] [--month 2026-11]

Unless the database (`--db`, else a temporary SQLite file) has it already, it makes the month
with the day simulator (`bench.simulate_day --hall county --mode direct --days 21 --tickets 600
--day 2026-11-30`: November 2026's 21 working days, 600 tickets each, 12,600 tickets). The
simulator's citizens rate as the model says (docs/simulator.md), so some 差评 come and each opens
its case. Then, as managers would in the days after, the cases are handled through the hall's
own commands (`HallService.execute`, the day after the log's last): of every 10 cases, 5
立行立改, 2 限期整改 (1 of them reported done), 2 解释说明 and 1 appealed (upheld every other
time); every closed case gets a 回访, the first call unanswered one time in five. The closed
days' facts are stored first, as `queue-server init` does after an upgrade (`day_facts.fill`).

Then it times, cold (a new engine each time), what the hall server does for the 台账's download
link (`HallHost.export`): the span's facts with the ratings' log (`reports.load_facts`, from the
stored day facts), the cases and complaints as they stand (`reports.CaseBook.of`, from the live
state the server holds, with the complainants masked: `reports.with_contacts`), the 台账
(`reports.ledger`) written as XLSX; and the same as the page to print
(`web_pages.ledger_html`). Each figure is the median of `--repeat` runs, wall-clock and CPU time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bench.report_speed import timed
from queue_server import commands as cmd
from queue_server import reports, views, web_pages
from queue_server.hall_service import HallService
from queue_server.lifecycle import CaseStatus
from queue_server.store import day_facts, hall_records
from queue_server.store.database import open_engine
from queue_server.store.schema import EventRow

MANAGERS = ("主任甲", "主任乙")


def handle_cases(service: HallService) -> dict[str, int]:
    """The month's cases handled as managers would (the module's header); what was done."""
    state = service.state
    now = datetime.combine(state.day, datetime.min.time(), state.hall.zone) + timedelta(hours=9)
    done = {"cases": 0, "handled": 0, "appealed": 0, "followed_up": 0}   # on this run
    for i, number in enumerate(sorted(state.cases)):
        done["cases"] += 1
        if state.cases[number].status != CaseStatus.CHECKING:
            continue   # handled on an earlier run on this database
        now += timedelta(seconds=5)
        turn = i % 10
        if turn == 9:
            service.execute(cmd.AppealCase(number, "群众误按评价器", MANAGERS[0],
                                           account=MANAGERS[0]), now)
            service.execute(cmd.DecideAppeal(number, i % 20 == 9, "调阅录像核实", MANAGERS[1],
                                             MANAGERS[1]), now)
            done["appealed"] += 1
            continue
        measure = "at_once" if turn < 5 else "deadline" if turn < 7 else "explain"
        service.execute(cmd.HandleCase(number, measure, "调阅录像并询问窗口人员，情况属实",
                                       "已向群众致歉并说明办理要求", MANAGERS[0]), now)
        done["handled"] += 1
        if measure == "deadline":
            if turn == 6:
                continue   # still being put right
            service.execute(cmd.RectifyCase(number, "已组织窗口人员业务培训", MANAGERS[0]), now)
        if i % 5 == 0:
            service.execute(cmd.FollowUpCase(number, "unreached", "无人接听", MANAGERS[1]), now)
        service.execute(cmd.FollowUpCase(number, "satisfied" if i % 3 else "basic", "表示认可",
                                         MANAGERS[1]), now)
        done["followed_up"] += 1
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="a database holding the month (made if not given)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--month", default="2026-11", help="the month of the 台账 (the one made)")
    args = parser.parse_args()
    folder = None
    url = args.db
    if url is None:
        folder = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(folder.name) / 'county-month.db'}"
    print("县级大厅的一个月 / a month of county data (made unless the database has it) …",
          flush=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bench.simulate_day", "--hall", "county",
                    "--mode", "direct", "--days", "21", "--tickets", "600",
                    "--day", "2026-11-30", "--db", url, "--if-empty"], check=True)
    print(f"  用时 / took {time.perf_counter() - started:.0f} s")
    engine = open_engine(url)
    with engine.connect() as conn:
        hall_id = hall_records.hall_id_for(conn, None)
        zone = hall_records.load_definition(conn, hall_id).hall.zone
        latest = conn.execute(select(func.max(EventRow.day))).scalar_one()
        first, last = reports.month_span(args.month)
        tickets = conn.execute(select(func.count()).select_from(EventRow).where(
            EventRow.kind == "ticket_issued", EventRow.day >= first, EventRow.day <= last)
        ).scalar_one()
    # the hall the day after: the server's live state, every case of every day
    service = HallService(engine, None, datetime.combine(latest + timedelta(days=1),
                                                         datetime.min.time(), zone)
                          + timedelta(hours=9))
    done = handle_cases(service)
    filled = day_facts.fill(engine, hall_id)
    print(f"数据 / data: {tickets:,} tickets, {first} – {last}; {done['cases']} 差评 cases, "
          f"{done['handled']} handled, {done['appealed']} appealed, {done['followed_up']} 回访; "
          f"facts stored for {filled} closed days")
    definition = service.definition
    hall = views.hall_view(definition)

    def ledger(fmt: str) -> bytes:
        cold = open_engine(url)
        facts = reports.load_facts(cold, hall_id, definition, first, last)
        book = reports.with_contacts(reports.CaseBook.of(service.state, first, last), cold,
                                     hall_id, definition.hall)
        cold.dispose()
        if fmt == "print":
            return web_pages.ledger_html(hall, first, last,
                                         reports.ledger(facts, definition, book)).encode()
        return reports.export(facts, definition, fmt, [reports.LEDGER], book=book)

    seconds, body = timed(args.repeat, lambda: ledger("xlsx"))
    assert isinstance(body, bytes)
    print(f"好差评台账 XLSX / the month's ledger as XLSX: {seconds} ({len(body) / 1e6:.1f} MB)"
          "   goal ≤ 3 s")
    seconds, body = timed(args.repeat, lambda: ledger("print"))
    assert isinstance(body, bytes)
    print(f"好差评台账打印页 / as the page to print: {seconds} ({len(body) / 1e6:.1f} MB)")
    engine.dispose()
    if folder is not None:
        folder.cleanup()


if __name__ == "__main__":
    main()
