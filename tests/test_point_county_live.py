"""Village points in the county's view (issue 18 point 4, docs/county.md): each town's line of
the month's 代办月报表 and the county's 代办 totals, through a real server (a county and two towns
in one SQLite file, on a simulated clock) with cases put at the town by the real sync; the page in
chromium at 1920×1080 (tests/artifacts/county/county-points.png)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from queue_server.points import ledger as L
from queue_server.points.enrolment import decode
from queue_server.store import hall_records, point_logs
from queue_server.store.database import open_engine
from tests.browser import chromium
from tests.live_hall import LiveHall
from tests.point_link import Point, running, until
from tests.test_county_view import CHIEF, EAST, SEAT, SHOTS, WEST

ZONE = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """On 2026-11-20 (the server's simulated clock; these halls work every day, hand-over
    within 3 days): 东山乡 has two points — 李庄村 P01 recorded two cases on 11-16 (due 11-19),
    one received 11-17 (on time), one never (overdue); 张庄村 P02 one on 11-10 (due 11-13),
    received 11-16 (late), and one of October. 西河乡 has one point, 王庄村 W01, enrolled but never
    connected. So 东山乡: 2 points, 3 cases, 2 delivered, 50.0 % on time, 1 overdue; 西河乡: 1
    point, nothing; the county: 3 points in 2 towns, 3 cases, 50.0 %, 1 overdue."""
    folder = tmp_path_factory.mktemp("county-points")
    live = LiveHall(folder, "--simulate-from", "2026-11-20T10:00:00", hall_text=SEAT,
                    more_halls=(EAST, WEST))
    live.cli("manager", "add", CHIEF[0], "--hall", "seat", "--county", "--name", "王县长",
             "--password", CHIEF[1])

    def enrol(hall: str, code: str, name: str) -> Point:
        enrolment = decode(live.cli("point", "enrol", "--hall", hall, "--point", code, "--name",
                                    name, "--public-url", f"{live.http}/h/{hall}"))
        return Point(folder, enrolment, name=code)

    p01, p02 = enrol("east", "P01", "李庄村便民服务站"), enrol("east", "P02", "张庄村便民服务站")
    enrol("west", "W01", "王庄村便民服务站")
    cases = {}
    for point, when in ((p01, "2026-11-16T09:00"), (p01, "2026-11-16T10:00"),
                        (p02, "2026-11-10T09:00"), (p02, "2026-10-30T09:00")):
        point.now = at(when)
        case = L.case_number(point.code, point.now.date(), point.fold())
        point.write(L.CaseRecorded(case, "张三", "13800001111", "T-SB-001", "养老保险参保登记",
                                   ("身份证",), "李四"))
        cases.setdefault(point.code, []).append(case)
    engine = open_engine(f"sqlite:///{live.db}")
    with engine.connect() as conn:
        east = hall_records.hall_id_for(conn, "east")

    async def sync() -> None:
        for point in (p01, p02):
            def held(point: Point = point) -> bool:
                with engine.connect() as conn:
                    return point.store.last() == point_logs.last_seqs(conn, east, point.code)
            async with running(point.link()):
                await until(held, f"{point.code}'s cases at the town")

    asyncio.run(sync())
    for point, case, when in (("P01", cases["P01"][0], "2026-11-17T09:00"),
                              ("P02", cases["P02"][0], "2026-11-16T09:00")):
        point_logs.write_town_entry(engine, "east", point, L.TownReceived(case, 1, "1001"),
                                    at(when))
    engine.dispose()
    yield live
    assert live.stop() == 0


def test_the_county_sees_each_towns_points_and_the_countys_totals(county) -> None:
    chief = county.hello("county", "/county", user=CHIEF[0], password=CHIEF[1])
    reply = chief.request("county_points")
    assert reply["ok"], reply
    assert reply["month"] == "2026-11"
    halls = {h["code"]: h for h in reply["halls"]}
    assert sorted(halls) == ["east", "west"]          # the county hall has no points: no line
    figures = ("points", "recorded", "delivered", "delivered_on_time", "on_time_pct", "overdue")
    assert [halls["east"][k] for k in figures] == [2, 3, 2, 1, 50.0, 1]
    assert [halls["west"][k] for k in figures] == [1, 0, 0, 0, None, 0]
    assert (halls["west"]["least_seen"], halls["west"]["least_seen_at"]) == ("王庄村便民服务站", None)
    assert halls["east"]["least_seen_at"] is not None
    assert [reply["county"][k] for k in ("halls", *figures)] == [2, 3, 3, 2, 1, 50.0, 1]
    october = chief.request("county_points", month="2026-10")
    assert october["county"]["recorded"] == 1


def test_the_county_page_shows_the_points_at_1920(county) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
        page = context.new_page()
        page.goto(f"{county.http}/county/")
        page.fill("#user", CHIEF[0])
        page.fill("#password", CHIEF[1])
        page.click("#login-button")
        page.wait_for_function("document.querySelectorAll('#points-body tr.total-row').length === 1")
        rows = page.locator("#points-body tr")
        assert rows.count() == 3
        assert rows.nth(0).locator("td").all_inner_texts()[:8] == [
            "东山乡便民服务中心", "2", "3", "2", "50.0%", "1", "0", "0"]
        assert rows.nth(1).locator("td").all_inner_texts()[-1] == "王庄村便民服务站：从未联系"
        assert rows.nth(2).locator("td").all_inner_texts()[:5] == ["全县合计", "3", "3", "2", "50.0%"]
        totals = page.locator("#points-totals .total").all_inner_texts()
        assert [t.replace("\n", " ") for t in totals] == [
            "代办点 3", "本月受理数 3", "按期送达率 50.0%", "超期未送达 1"]
        page.screenshot(path=str(SHOTS / "county-points.png"), full_page=True)
        context.close()
