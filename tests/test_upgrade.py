"""Upgrading a hall database made by the release before day facts (schema 0005).

`data/hall-0005.db` was made by that release's own code (`python -m bench.simulate_day --hall
demo-town --mode direct --days 4 --day 2026-11-27 --tickets 80`: transfers, holds, takeovers,
ratings, pauses, a clerk gone at a day's end), and `data/hall-0005-reports.json` holds the
reports that release gave on it: the KPI table by every dimension and period, and the ticket,
rating and presence tables, over three spans (the whole log; two closed days whose last
intervals stay open; one day). Its tables were written again when the exports took names for
codes, minutes for seconds and dates for text (issue 15, part 6), by this test's own reading of
the upgraded database; their rows and figures are the release's, compared one by one then.
After `queue-server init`, the upgrade path of the product,
every event must be there as it was and every report exactly as it was.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date
from pathlib import Path

from sqlalchemy import func, inspect, select

from hall.vocabulary import DIMENSIONS, PERIODS
from queue_server import cli, reports
from queue_server.store import day_facts, hall_records
from queue_server.store.database import open_engine
from queue_server.store.schema import DayFactsRow

DATA = Path(__file__).parent / "data"


def _events(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT hall_id, seq, day, at, kind, ticket, window, clerk, data "
                            "FROM events ORDER BY hall_id, seq").fetchall()


def test_an_upgraded_database_keeps_every_event_and_gives_the_same_reports(tmp_path):
    path = tmp_path / "hall.db"
    shutil.copy(DATA / "hall-0005.db", path)
    before = _events(path)
    assert cli.main(["init", "--db", f"sqlite:///{path}"]) == 0

    assert _events(path) == before
    engine = open_engine(f"sqlite:///{path}")
    tables = set(inspect(engine).get_table_names())
    assert "day_facts" in tables and not tables & {"tickets", "presence", "ratings"}
    with engine.connect() as conn:
        hall_id = hall_records.hall_id_for(conn, None)
        definition = hall_records.load_definition(conn, hall_id)
        # The four closed days (the log's last day, 11-28, holds only its start).
        stored = conn.execute(select(func.count()).select_from(DayFactsRow).where(
            DayFactsRow.version == day_facts.FACTS_VERSION)).scalar_one()
    assert stored == 4

    saved = json.loads((DATA / "hall-0005-reports.json").read_text(encoding="utf-8"))
    for span, expected in saved.items():
        first, last = (date.fromisoformat(d) for d in span.split("/"))
        facts = reports.load_facts(engine, hall_id, definition, first, last)
        got = {f"kpis/{by}/{period}": reports.table(facts, definition, "kpis", by, period)
               for by in DIMENSIONS for period in PERIODS}
        got |= {what: reports.table(facts, definition, what)
                for what in ("tickets", "ratings", "presence")}
        # Through JSON as they were saved: a tuple of headers and rows reads back as lists.
        assert json.loads(json.dumps(got, ensure_ascii=False, default=reports.jsonable)) == (
            expected), span
