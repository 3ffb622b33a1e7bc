"""The county's view (issue 14, part 4): `/county` shows every hall live and the county's KPIs
to a county manager, and lets it into any hall's dashboard; hall managers and clerks see only
their own scope. A real server on 127.0.0.1 with a real SQLite file; the page in chromium."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text
from websockets.exceptions import ConnectionClosed

from hall.protocol import CLOSE_REVOKED
from queue_server import county, kpis, views
from queue_server.hall_service import rebuild
from queue_server.hall_toml import parse_hall
from queue_server.store import accounts, hall_records
from queue_server.store.database import migrate, open_engine
from tests.browser import chromium
from tests.conftest import ARTIFACTS
from tests.live_hall import MANAGER, ROUND_THE_CLOCK, LiveHall

SHOTS = ARTIFACTS / "county"
CHIEF = ("xianzhang", "county-chief-1")


def _hall(code: str, name: str, level: str) -> str:
    text = ROUND_THE_CLOCK.replace('code = "small"', f'code = "{code}"', 1)
    text = text.replace('name = "测试镇便民服务中心"', f'name = "{name}"', 1)
    return text.replace("[hall]\n", f'[hall]\nlevel = "{level}"\n', 1)


SEAT = _hall("seat", "青山县政务服务中心", "county")
EAST = _hall("east", "东山乡便民服务中心", "township")
WEST = _hall("west", "西河乡便民服务中心", "township")


@pytest.fixture
def hall_county(tmp_path):
    live = LiveHall(tmp_path, hall_text=SEAT, more_halls=(EAST, WEST))
    live.cli("manager", "add", CHIEF[0], "--hall", "seat", "--county", "--name", "王县长",
             "--password", CHIEF[1])
    yield live
    assert live.stop() == 0


def _live_until(client, check, timeout: float = 10.0) -> dict:
    """`county_live` asked until `check(reply)` holds (the figures are written every 2 s)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = client.request("county_live")
        assert reply["ok"], reply
        if check(reply) or time.monotonic() > deadline:
            return reply
        time.sleep(0.3)


def _by_code(reply: dict) -> dict[str, dict]:
    return {h["code"]: h for h in reply["halls"]}


def test_the_county_sees_every_hall_live_with_the_countys_totals(hall_county):
    live = hall_county
    east = live.hello("kiosk", "/h/east", token=live.more_tokens["east"]["kiosk"])
    west = live.hello("kiosk", "/h/west", token=live.more_tokens["west"]["kiosk"])
    for kiosk, count in ((east, 2), (west, 1)):
        for _ in range(count):
            assert kiosk.request("take_ticket", category="A", kind="handle")["ok"]
    chief = live.hello("county", "/county", user=CHIEF[0], password=CHIEF[1])
    assert chief.hello["name"] == "王县长" and chief.hello["role"] == "county"
    reply = _live_until(chief, lambda r: _by_code(r)["east"].get("waiting") == 2
                        and _by_code(r)["west"].get("waiting") == 1)
    halls = _by_code(reply)
    assert [h["code"] for h in reply["halls"]] == ["seat", "east", "west"]   # the county's first
    assert halls["seat"]["level"] == "county" and halls["east"]["level"] == "township"
    for code, waiting in (("seat", 0), ("east", 2), ("west", 1)):
        hall = halls[code]
        assert hall["state"] == "live" and hall["age_s"] <= county.STALE_SECONDS
        assert hall["waiting"] == waiting and hall["issued"] == waiting
        assert hall["issuing"] is True and hall["path"] == f"/h/{code}"
        assert hall["windows"] == 4 and hall["windows_open"] == 0
    assert reply["totals"]["waiting"] == 3 and reply["totals"]["issued"] == 3
    assert reply["totals"]["halls"] == reply["totals"]["live"] == 3
    # The county's KPIs count the same tickets: one row per hall with tickets, and the total.
    kpi = chief.request("county_kpis")
    assert kpi["ok"], kpi
    rows = {r["key"]: r for r in kpi["rows"]}
    assert rows["east"]["issued"] == 2 and rows["west"]["issued"] == 1 and "seat" not in rows
    assert rows[""]["by"] == "county" and rows[""]["issued"] == 3
    assert kpi["ranking"] == []   # nobody has finished the tickets a place in it needs
    bad = chief.request("county_kpis", **{"from": "2026-13-01"})
    assert not bad["ok"] and "应为日期" in bad["error"]["message"]


def test_each_scope_sees_only_its_own(hall_county):
    live = hall_county
    # A hall manager, even of the county's own hall, is refused at /county, after its password.
    client = live.client("/county")
    refused = client.request("hello", role="county", user=MANAGER[0], password=MANAGER[1])
    assert not refused["ok"] and "只能管理本大厅" in refused["error"]["message"]
    # A clerk's badge is no account there.
    client = live.client("/county")
    refused = client.request("hello", role="county", user="1001", password="1234")
    assert not refused["ok"] and "用户名或密码不正确" in refused["error"]["message"]
    # A county account at a hall's socket is sent to /county.
    client = live.client("/h/east")
    refused = client.request("hello", role="county", user=CHIEF[0], password=CHIEF[1])
    assert not refused["ok"] and "/county" in refused["error"]["message"]
    # A hall manager cannot send the county's ops; the county page cannot send a hall's.
    manager = live.hello("manager", "/h/east")
    assert manager.request("county_live")["error"]["code"] == "forbidden"
    chief = live.hello("county", "/county", user=CHIEF[0], password=CHIEF[1])
    assert chief.request("set_notice", text="x")["error"]["code"] == "forbidden"
    # Nor can a county page say who it is twice.
    assert chief.request("hello", role="county", user=CHIEF[0],
                         password=CHIEF[1])["error"]["code"] == "conflict"


def test_a_county_pass_opens_any_halls_dashboard_until_the_account_changes(hall_county):
    live = hall_county
    chief = live.hello("county", "/county", user=CHIEF[0], password=CHIEF[1])
    dashboards, passes = {}, {}
    for code in ("east", "west", "seat"):
        made = chief.request("county_pass", hall=code)
        assert made["ok"] and made["url"].startswith(f"/h/{code}/manager/#pass=")
        assert made["expires_in_s"] == county.PASS_SECONDS
        passes[code] = made["url"].split("#pass=")[1]
        dashboards[code] = live.hello("manager", f"/h/{code}", **{"pass": passes[code]})
        assert dashboards[code].hello["name"] == "王县长（县级）"
    assert chief.request("county_pass", hall="nowhere")["error"]["code"] == "bad_request"
    # What it does there is signed with its account.
    assert dashboards["east"].request("set_notice", text="县里检查")["ok"]
    assert dashboards["east"].wait_event("notice")["text"] == "县里检查"
    engine = open_engine(f"sqlite:///{live.db}")
    with engine.connect() as conn:
        logged = conn.execute(text("select data from events where kind = 'notice_set'")).scalar()
    engine.dispose()
    assert json.loads(logged)["by"] == "王县长（县级）（xianzhang）"
    # A pass is for its own hall only, and altered by one character it is no pass.
    refused = live.client("/h/west").request("hello", role="manager", **{"pass": passes["east"]})
    assert not refused["ok"] and "无效" in refused["error"]["message"]
    token = passes["east"]
    altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    refused = live.client("/h/east").request("hello", role="manager", **{"pass": altered})
    assert not refused["ok"] and "无效" in refused["error"]["message"]
    # The hello's resume token logs that hall's page in again (its reconnects, a reload).
    resume = dashboards["west"].hello["resume"]
    again = live.hello("manager", "/h/west", **{"pass": resume})
    assert again.hello["name"] == "王县长（县级）"
    # The password is reset (the scope kept without --county): the county page ends at its
    # next request, the dashboards it opened are closed at once, and neither the passes nor
    # the resume tokens open anything any more.
    assert "scope county" in live.cli("manager", "add", CHIEF[0], "--hall", "seat",
                                      "--name", "王县长", "--password", "county-chief-2")
    for code, dashboard in dashboards.items():
        with pytest.raises(ConnectionClosed) as closed:
            dashboard.wait_event("never", timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_REVOKED, code
    ended = chief.request("county_live")
    assert not ended["ok"] and "已被更改" in ended["error"]["message"]
    for old in (passes["west"], resume):
        reply = live.client("/h/west").request("hello", role="manager", **{"pass": old})
        assert not reply["ok"] and "已被更改" in reply["error"]["message"]
    assert live.hello("county", "/county", user=CHIEF[0], password="county-chief-2")


def test_wrong_county_passwords_sent_at_once_lock_the_account_after_five(hall_county):
    live = hall_county

    def attempt(_: int) -> dict:
        client = live.client("/county")
        return client.request("hello", role="county", user=CHIEF[0], password="wrong-password")

    with ThreadPoolExecutor(10) as pool:
        replies = list(pool.map(attempt, range(10)))
    messages = [r["error"]["message"] for r in replies]
    assert not any(r["ok"] for r in replies)
    # Each wrong password checked says so; the others were refused before any check.
    checked = [m for m in messages if "还可再试" in m or m.endswith("账号已锁定 5 分钟")]
    assert len(checked) <= accounts.LOCK_AFTER, messages
    assert all(m in checked or "请" in m for m in messages), messages
    client = live.client("/county")
    right = client.request("hello", role="county", user=CHIEF[0], password=CHIEF[1])
    assert not right["ok"] and "锁定" in right["error"]["message"]


def test_the_county_page_in_chromium(hall_county):
    live = hall_county
    kiosk = live.hello("kiosk", "/h/east", token=live.more_tokens["east"]["kiosk"])
    for _ in range(3):
        assert kiosk.request("take_ticket", category="A", kind="handle")["ok"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        page = context.new_page()
        page.goto(f"{live.http}/county")        # redirected to /county/
        page.fill("#user", MANAGER[0])
        page.fill("#password", MANAGER[1])
        page.click("#login-button")
        page.wait_for_function("document.getElementById('login-error').textContent.includes('本大厅')")
        page.screenshot(path=str(SHOTS / "county-login-refused.png"))
        page.fill("#user", CHIEF[0])
        page.fill("#password", CHIEF[1])
        page.click("#login-button")
        page.wait_for_selector("#main-screen:not([hidden])")
        page.wait_for_function(
            "[...document.querySelectorAll('#halls-body tr')].some("
            "r => r.textContent.includes('东山乡') && r.cells[2].textContent === '3')")
        page.wait_for_function("document.querySelectorAll('#kpi-body tr.total-row').length === 1")
        assert page.inner_text("#county-name") == "青山县政务服务中心"
        rows = page.locator("#halls-body tr")
        assert rows.count() == 3
        assert "取号中" in rows.nth(1).inner_text()
        assert "全县合计" in page.inner_text("#kpi-body")
        page.screenshot(path=str(SHOTS / "county-live.png"), full_page=True)
        # Into 东山乡's dashboard, in a new tab, logged in by the pass.
        with context.expect_page() as opened:
            rows.nth(1).locator("button.enter").click()
        dashboard = opened.value
        dashboard.wait_for_selector("#live-screen:not([hidden])")
        assert "东山乡便民服务中心" in dashboard.inner_text("#hall-name")
        assert "王县长（县级）" in dashboard.inner_text("#who")
        assert "#pass=" not in dashboard.url     # not left in the address bar
        dashboard.screenshot(path=str(SHOTS / "county-into-east.png"))
        context.close()


# --- without a server -------------------------------------------------------------------------

def test_a_hall_at_a_glance_counts_what_waits_and_what_is_open(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'h.db'}")
    migrate(engine)
    with engine.begin() as conn:
        hall_id, _ = hall_records.save_definition(conn, parse_hall(SEAT), datetime.now(UTC))
        definition = hall_records.load_definition(conn, hall_id)
    now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)     # 10:00 in the hall
    state = rebuild(engine, hall_id, definition, now)
    summary = views.hall_summary(state, now)
    assert summary["waiting"] == 0 and summary["longest_wait_s"] == 0
    assert summary["issuing"] and summary["closed_reason"] == ""
    closed = parse_hall(SEAT.replace('sessions = [["00:00", "24:00"]]',
                                     'sessions = [["09:00", "12:00"]]', 1))
    evening = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)   # 20:00 in the hall
    late = views.hall_summary(rebuild(engine, hall_id, closed, evening), evening)
    assert not late["issuing"] and "今日取号已结束" in late["closed_reason"]
    engine.dispose()


def test_figures_older_than_the_limit_are_shown_stale_and_never_written_ones_none():
    now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    fresh = {"waiting": 2, "windows": 4, "windows_open": 1, "serving": 1, "warnings": 1,
             "red_warnings": 0, "issued": 5, "finished": 3, "longest_wait_s": 90}
    halls = [{"code": "a", "name": "甲", "level": "county", "server": "s1", "timezone": "Asia/Shanghai",
              "at": now - timedelta(seconds=3), "figures": fresh},
             {"code": "b", "name": "乙", "level": "township", "server": "s2", "timezone": "Asia/Shanghai",
              "at": now - timedelta(seconds=county.STALE_SECONDS + 5), "figures": fresh},
             {"code": "c", "name": "丙", "level": "township", "server": None, "at": None,
              "timezone": "Asia/Shanghai",
              "figures": None}]
    rows = county.live_rows(halls, now)
    assert [r["state"] for r in rows] == ["live", "stale", "none"]
    assert rows[1]["age_s"] == county.STALE_SECONDS + 5
    totals = county.totals(rows)
    assert totals == {"halls": 3, "live": 1, "waiting": 2, "windows": 4, "windows_open": 1,
                      "serving": 1, "warnings": 1, "red_warnings": 0, "issued": 5,
                      "finished": 3, "longest_wait_s": 90}


def test_the_countys_total_counts_each_ticket_against_its_own_halls_target():
    """Two halls with different service level targets: the total's service level is the
    tickets within their own hall's target, of all; the rest is the tally's sum."""
    day = date(2026, 12, 7)
    strict = parse_hall(EAST.replace("[hall]\n", "[hall]\nservice_level_minutes = 10\n", 1))
    loose = parse_hall(WEST)
    assert strict.hall.service_level_minutes == 10 and loose.hall.service_level_minutes == 30

    def tallied(waits: list[float]) -> kpis.Tallied:
        group = kpis.Group(issued=len(waits), accepted=len(waits), finished=len(waits),
                           waits=waits, services=[60.0] * len(waits))
        return kpis.Tallied("ticket", {(day, ("A", None)): group}, [])

    # 15 minutes is within 30 but not within 10.
    rows = kpis.county_rows([(strict, tallied([300.0, 900.0])),
                             (loose, tallied([900.0, 2400.0]))], "all")
    by_key = {r["key"]: r for r in rows}
    assert by_key["east"]["service_level_pct"] == 50.0
    assert by_key["west"]["service_level_pct"] == 50.0
    total = by_key[""]
    assert total["name"] == kpis.COUNTY_TOTAL and total["by"] == "county"
    assert total["issued"] == 4 and total["service_level_pct"] == 50.0   # 2 of 4
    assert total["wait_median_s"] == 900.0
    assert [r["key"] for r in rows] == ["east", "west", ""]


def test_a_seal_is_good_for_its_own_purpose_only():
    from queue_server.seals import Unsealed, seal, unseal
    token = seal("secret", county.PASS, {"hall": "east"}, 1000)
    assert unseal("secret", county.PASS, token, 999) == {"hall": "east"}
    for purpose, now, expired in ((county.RESUME, 999, False), ("export", 999, False),
                                  (county.PASS, 1001, True)):
        with pytest.raises(Unsealed) as refused:
            unseal("secret", purpose, token, now)
        assert refused.value.expired is expired
    with pytest.raises(Unsealed):
        unseal("another secret", county.PASS, token, 999)


def test_a_second_county_hall_and_a_county_account_outside_it_are_refused(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'h.db'}")
    migrate(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        hall_records.save_definition(conn, parse_hall(SEAT), now)
        east_id, _ = hall_records.save_definition(conn, parse_hall(EAST), now)
    other = SEAT.replace('code = "seat"', 'code = "other"', 1)
    with engine.begin() as conn, pytest.raises(hall_records.HallConflict, match="已有县级"):
        hall_records.save_definition(conn, parse_hall(other), now)
    with engine.begin() as conn, pytest.raises(accounts.AccountError, match="只能建在县级"):
        accounts.add_manager(conn, east_id, "boss", "某人", "password-1", "county")
    # The county's hall is a county no more: its county accounts open no hall, and every hall
    # looks at its sessions again.
    with engine.begin() as conn:
        seat_id = hall_records.hall_id_for(conn, "seat")
        accounts.add_manager(conn, seat_id, "boss", "某人", "password-1", "county")
        assert any(s[-1] == "county" for s in accounts.current_stamps(conn, east_id))
        before = conn.execute(text("select sum(credentials_version) from halls")).scalar()
        hall_records.save_definition(conn, parse_hall(SEAT.replace('level = "county"\n', "")),
                                     now)
        after = conn.execute(text("select sum(credentials_version) from halls")).scalar()
        assert after >= before + 2     # the hall itself, and every hall for its accounts
        assert not any(s[-1] == "county" for s in accounts.current_stamps(conn, east_id))
    engine.dispose()


# --- two servers on PostgreSQL ----------------------------------------------------------------

@pytest.mark.postgres
def test_any_server_shows_every_hall_also_those_another_server_leads(postgres_url):
    """Two servers, the county hall and a township: each leads one. `/county` on either shows
    both halls' figures, each written by its own leader; when one leader dies, the other takes
    its hall and its figures go on, now written by the survivor."""
    from tests.live_hall import _add_hall
    from tests.live_servers import Serve, wait_for

    engine = open_engine(postgres_url)
    migrate(engine)
    with engine.begin() as conn:
        tokens = {"seat": _add_hall(conn, SEAT), "east": _add_hall(conn, EAST)}
        accounts.add_manager(conn, hall_records.hall_id_for(conn, "seat"), CHIEF[0], "王县长",
                             CHIEF[1], "county")
    servers = [Serve(postgres_url, "server-a"), Serve(postgres_url, "server-b")]
    try:
        def spread() -> bool:
            """each server leads one of the two halls"""
            return sorted(len(s.leads()) for s in servers) == [1, 1]
        wait_for(spread)
        east_leader = next(s for s in servers if "east" in s.leads())
        other = next(s for s in servers if s is not east_leader)
        from websockets.sync.client import connect
        def ask(raw, **request) -> dict:
            raw.send(json.dumps({"id": 1, **request}))
            while "re" not in (reply := json.loads(raw.recv(timeout=10))):
                pass   # an event
            return reply

        with connect(east_leader.ws("east")) as raw:
            assert ask(raw, op="hello", role="kiosk", token=tokens["east"]["kiosk"])["ok"]
            for _ in range(2):
                assert ask(raw, op="take_ticket", category="A")["ok"]
        with connect(f"ws://127.0.0.1:{other.port}/county/ws") as raw:
            assert ask(raw, op="hello", role="county", user=CHIEF[0], password=CHIEF[1])["ok"]

            def figures(written_by: str):
                def seen() -> dict | None:
                    halls = _by_code(ask(raw, op="county_live"))
                    east = halls["east"]
                    if east["state"] == "live" and east["server"] == written_by \
                            and halls["seat"]["state"] == "live":
                        return halls
                    return None
                seen.__doc__ = f"east's figures written by {written_by}"
                return wait_for(seen)

            halls = figures(east_leader.name)
            assert halls["east"]["waiting"] == 2 and halls["seat"]["server"] == other.name
            east_leader.kill()
            halls = figures(other.name)      # taken over: its day rebuilt, its figures go on
            assert halls["east"]["waiting"] == 2 and halls["east"]["issued"] == 2
    finally:
        for server in servers:
            server.stop()
        engine.dispose()
