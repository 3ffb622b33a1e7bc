"""One server process, several halls of one database (issue 14): each hall under its own path
`/h/<code>/`, with its own numbering, state, devices and pages, and nothing of one reaching
another. Real server process on 127.0.0.1 and a real SQLite file; the pages in chromium."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text
from websockets.exceptions import ConnectionClosed, InvalidStatus

from hall.protocol import CLOSE_MOVED
from queue_server.hall_toml import parse_hall
from queue_server.store import hall_records
from queue_server.store.database import open_engine
from tests.browser import chromium
from tests.conftest import ARTIFACTS
from tests.live_hall import ROUND_THE_CLOCK, LiveHall, round_the_clock
from tests.live_servers import LIVENESS, Serve

SHOTS = ARTIFACTS / "many-halls"
HALLS = Path(__file__).resolve().parent.parent / "assets" / "halls"


def _another(code: str, name: str) -> str:
    """The small hall under another code and name: a second hall with its own state."""
    hall = ROUND_THE_CLOCK.replace('code = "small"', f'code = "{code}"', 1)
    return hall.replace('name = "测试镇便民服务中心"', f'name = "{name}"', 1)


EAST, WEST = _another("east", "东山乡便民服务中心"), _another("west", "西河乡便民服务中心")


@pytest.fixture
def county(tmp_path):
    live = LiveHall(tmp_path, more_halls=(EAST, WEST))
    yield live
    assert live.stop() == 0


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_one_process_serves_every_hall_of_the_database(county):
    health = county.health()
    assert [h["hall"] for h in health["halls"]] == ["small", "east", "west"]
    assert health["database"] == "ok" and "gc" in health and "logins" in health
    for code in ("small", "east", "west"):
        own = county.health(f"/h/{code}")
        assert own["hall"] == code and own["path"] == f"/h/{code}" and own["seq"] == 0
    status, front = _get(county.http + "/")
    assert status == 200
    assert all(name in front for name in ("测试镇便民服务中心", "东山乡便民服务中心", "西河乡便民服务中心"))
    assert 'href="/h/east/clerk/"' in front


def test_a_hall_must_be_named_when_the_server_has_several(county):
    with pytest.raises(InvalidStatus) as refused:
        county.client()                                   # the bare /ws: whose hall?
    assert refused.value.response.status_code == 404
    body = refused.value.response.body.decode()
    assert "本服务器服务多个大厅" in body and "/h/east/ws" in body
    with pytest.raises(InvalidStatus) as unknown:
        county.client("/h/north")
    assert unknown.value.response.status_code == 404
    assert "没有编码为 north 的大厅" in unknown.value.response.body.decode()
    status, page = _get(county.http + "/clerk/")         # a hall's page without its hall
    assert status == 404 and "/h/small/clerk/" in page
    status, _ = _get(county.http + "/clerk/clerk.css")   # the pages' files are every hall's
    assert status == 200


def test_each_hall_numbers_its_own_tickets_and_hears_only_its_own_calls(county):
    east_board = county.hello("display", "/h/east", token=county.more_tokens["east"]["display"])
    small_board = county.hello("display", "/h/small")
    small = county.hello("kiosk", "/h/small")
    east = county.hello("kiosk", "/h/east", token=county.more_tokens["east"]["kiosk"])
    assert small.request("take_ticket", category="A")["ticket"]["number"] == "A001"
    assert small.request("take_ticket", category="A")["ticket"]["number"] == "A002"
    assert east.request("take_ticket", category="A")["ticket"]["number"] == "A001"
    clerk = county.hello("clerk", "/h/east", badge="1001", pin="1111")
    assert clerk.request("sign_in", window=1, post="A")["ok"]
    assert clerk.request("call_next")["ok"]
    called = east_board.wait_event("ticket_called")
    assert called["number"] == "A001" and called["window"] == 1
    assert county.health("/h/east")["seq"] > 0
    # The small hall's board heard nothing of it; its queue still holds its own two tickets.
    small_board.request("catalogue", since_version=1)     # a round trip: anything sent came first
    assert not any(e["ev"] == "ticket_called" for e in small_board.events)
    queues = county.hello("manager", "/h/small").hello["snapshot"]["live"]["queues"]
    assert next(q for q in queues if q["category"] == "A")["next"] == ["A001", "A002"]


def test_a_device_of_one_hall_is_refused_in_another(county):
    client = county.client("/h/west")
    reply = client.request("hello", role="kiosk", token=county.tokens["kiosk"])
    assert not reply["ok"] and reply["error"]["code"] == "unauthorized"
    assert county.hello("kiosk", "/h/west", token=county.more_tokens["west"]["kiosk"]).hello["ok"]


def test_a_tickets_address_and_an_export_link_stay_in_their_hall(county):
    kiosk = county.hello("kiosk", "/h/west", token=county.more_tokens["west"]["kiosk"])
    url = kiosk.request("take_ticket", category="A")["ticket"]["url"]
    assert re.fullmatch(re.escape(county.http) + r"/h/west/t/[\w-]+", url), url
    assert _get(url)[0] == 200
    token = urlsplit(url).path.rsplit("/", 1)[1]
    status, page = _get(f"{county.http}/h/east/t/{token}")   # not a ticket of that hall
    assert status == 404 and "二维码无效" in page
    manager = county.hello("manager", "/h/west")
    day = manager.hello["snapshot"]["live"]["day"]
    link = manager.request("export", what="tickets", format="csv", **{"from": day, "to": day})["url"]
    assert link.startswith("/h/west/export/")
    status, csv = _get(county.http + link)
    assert status == 200 and "A001" in csv
    assert _get(county.http + link.replace("/h/west/", "/h/east/"))[0] == 403


def test_serve_only_the_halls_named(tmp_path):
    live = LiveHall(tmp_path, "--halls", "east", more_halls=(EAST, WEST))
    try:
        health = live.health()
        assert health["hall"] == "east" and "halls" not in health   # one hall: the bare paths
        kiosk = live.hello("kiosk", token=live.more_tokens["east"]["kiosk"])
        assert kiosk.request("take_ticket", category="A")["ticket"]["url"].startswith(
            live.http + "/t/")
        assert live.health("/h/east")["hall"] == "east"
        assert _get(live.http + "/h/small/healthz")[0] == 404   # in the database, not served here
    finally:
        assert live.stop() == 0
    with pytest.raises(RuntimeError, match="数据库中没有编码为 north 的大厅；已有：small、east、west"):
        live.serve_args = ["--port", "0", "--halls", "east,north"]
        live.start()


def test_the_staff_pages_of_a_hall_talk_to_their_own_hall(county):
    SHOTS.mkdir(parents=True, exist_ok=True)
    kiosk = county.hello("kiosk", "/h/east", token=county.more_tokens["east"]["kiosk"])
    ticket = kiosk.request("take_ticket", category="A")["ticket"]
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(county.http + "/h/east/clerk/")
        page.get_by_label("工号").fill("1001")
        page.get_by_label("密码").fill("1111")
        page.get_by_role("button", name="登录", exact=True).click()
        page.get_by_text("东山乡便民服务中心").first.wait_for(timeout=10_000)
        page.screenshot(path=str(SHOTS / "east-clerk.png"))
        assert county.health("/h/east")["connections"].get("clerk") == 1
        assert "clerk" not in county.health("/h/small")["connections"]
        front = browser.new_page(viewport={"width": 1280, "height": 800})
        front.goto(county.http + "/")
        front.screenshot(path=str(SHOTS / "front-page.png"), full_page=True)
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(ticket["url"])
        phone.get_by_text(ticket["number"]).first.wait_for(timeout=10_000)
        phone.screenshot(path=str(SHOTS / "east-ticket.png"))
        assert county.health("/h/east")["connections"].get("citizen") == 1
        lookup = browser.new_page(viewport={"width": 390, "height": 844})
        lookup.goto(ticket["lookup_url"])
        lookup.get_by_label("小票上的号码").fill(ticket["number"].lower())
        lookup.get_by_label("小票上的查询码").fill("000000" if ticket["short_code"] != "000000"
                                              else "111111")
        lookup.get_by_role("button", name="查看").click()
        lookup.get_by_text("没有找到这张小票").wait_for(timeout=10_000)
        lookup.screenshot(path=str(SHOTS / "east-lookup-wrong.png"))
        lookup.get_by_label("小票上的查询码").fill(ticket["short_code"])
        lookup.get_by_role("button", name="查看").click()
        lookup.get_by_text(ticket["number"]).first.wait_for(timeout=10_000)
        assert lookup.url == ticket["url"]


def test_the_county_and_its_township_halls_in_one_process_at_once(tmp_path):
    """The 17 halls of assets/halls in one server; in every hall at the same time a kiosk takes
    tickets and a clerk calls and finishes them: each hall numbers its own, every confirmed
    ticket is in its own hall's log, and no hall saw another's."""
    files = [HALLS / "county.toml", *sorted((HALLS / "townships").glob("*.toml"))]
    texts = [round_the_clock(f.read_text(encoding="utf-8")) for f in files]
    live = LiveHall(tmp_path, hall_text=texts[0], more_halls=tuple(texts[1:]))
    engine = open_engine(f"sqlite:///{live.db}")
    halls = {}
    with engine.begin() as conn:
        for hall_text in texts:
            definition = parse_hall(hall_text)
            hall_id = hall_records.hall_id_for(conn, definition.hall.code)
            window = definition.windows[0]
            hall_records.set_pin(conn, hall_id, window.a_post, "2468")
            category = definition.category_by_prefix[window.categories[0]]
            halls[definition.hall.code] = (hall_id, window, category)
    tokens = {parse_hall(texts[0]).hall.code: live.tokens, **live.more_tokens}

    clerks = {}   # logged in one after another: 17 PINs at once from one address are a flood
    for code, (_, window, _) in halls.items():
        clerks[code] = live.hello("clerk", f"/h/{code}", badge=window.a_post, pin="2468")
        assert clerks[code].request("sign_in", window=window.number, post="A")["ok"]

    def day_in(code: str) -> list[str]:
        category, clerk = halls[code][2], clerks[code]
        kiosk = live.hello("kiosk", f"/h/{code}", token=tokens[code]["kiosk"])
        numbers = []
        for _ in range(4):
            reply = kiosk.request("take_ticket", category=category.prefix, kind=category.kinds[0])
            assert reply["ok"], (code, reply)
            numbers.append(reply["ticket"]["number"])
            assert clerk.request("call_next")["ok"]
            assert clerk.request("finish", outcome="done")["ok"]
        return numbers

    try:
        with ThreadPoolExecutor(len(halls)) as pool:
            numbers = dict(zip(halls, pool.map(day_in, halls), strict=True))
        with engine.connect() as conn:
            for code, (hall_id, _, category) in halls.items():
                assert numbers[code] == [f"{category.prefix}{n:03}" for n in range(1, 5)]
                logged = conn.execute(text(
                    "select count(*) from events where hall_id = :h and kind = 'ticket_issued'"),
                    {"h": hall_id}).scalar_one()
                assert logged == 4, code
        health = live.health()
        assert len(health["halls"]) == 17 and {h["hall"] for h in health["halls"]} == set(halls)
    finally:
        engine.dispose()
        assert live.stop() == 0


def test_a_hall_with_a_public_address_puts_it_in_its_qr_codes_and_a_short_code_opens_a_ticket(
        tmp_path):
    """The QR and the lookup address use the hall file's `public_url` (what a citizen's phone
    reaches from outside the hall's network), not the kiosk's own; the 查询码 printed under
    the QR, with the number, opens the ticket's page on `/q`, and nothing else does."""
    public = "https://paidui.example.gov.cn/h/east"
    hall = EAST.replace('name = "东山乡便民服务中心"',
                        f'name = "东山乡便民服务中心"\npublic_url = "{public}"', 1)
    live = LiveHall(tmp_path, more_halls=(hall, WEST))
    try:
        kiosk = live.hello("kiosk", "/h/east", token=live.more_tokens["east"]["kiosk"])
        ticket = kiosk.request("take_ticket", category="A")["ticket"]
        assert ticket["url"] == f"{public}/t/{ticket['token']}"
        assert ticket["lookup_url"] == f"{public}/q"
        assert kiosk.hello["snapshot"]["hall"]["public_url"] == public   # the checklist's QR
        assert re.fullmatch(r"\d{6}", ticket["short_code"])
        status, form = _get(f"{live.http}/h/east/q")
        assert status == 200 and "查询码" in form
        found = urllib.request.urlopen(
            f"{live.http}/h/east/q?number=a001&code={ticket['short_code']}", timeout=10)
        assert found.url == f"{live.http}/h/east/t/{ticket['token']}" and found.status == 200
        wrong = f"{int(ticket['short_code']) ^ 1:06d}"
        for asked in (f"number=A001&code={wrong}", f"number=A002&code={ticket['short_code']}"):
            status, page = _get(f"{live.http}/h/east/q?{asked}")
            assert status == 404 and "没有找到这张小票" in page
        west = live.hello("kiosk", "/h/west", token=live.more_tokens["west"]["kiosk"])
        theirs = west.request("take_ticket", category="A")["ticket"]
        assert theirs["url"].startswith(f"{live.http}/h/west/t/")   # no public_url: as reached
        assert theirs["number"] == "A001" and theirs["short_code"] != ticket["short_code"]
        status, _ = _get(f"{live.http}/h/west/q?number=A001&code={ticket['short_code']}")
        assert status == 404                                      # another hall's secret
    finally:
        assert live.stop() == 0


def test_a_second_server_on_the_same_sqlite_file_fences_the_first_which_steps_down(tmp_path):
    """SQLite has one server. Started twice by mistake, the second takes the halls (raising
    their epochs), and the first, though idle, sees it within a round of its revocation watch:
    it stops serving, and its devices are closed with CLOSE_MOVED and sent to the second."""
    first = LiveHall(tmp_path)
    board = first.hello("display")
    second = Serve(f"sqlite:///{first.db}", "second")
    try:
        closed = None
        try:
            board.connection.recv(timeout=LIVENESS)
            while True:
                board.connection.recv(timeout=LIVENESS)
        except ConnectionClosed as error:
            closed = error
        assert closed is not None and closed.rcvd is not None and closed.rcvd.code == CLOSE_MOVED
        assert first.health()["leads"] == [] and "small" in second.leads()
        client = first.client()
        client.send({"id": 1, "op": "hello", "role": "kiosk", "token": first.tokens["kiosk"]})
        moved = client.reply()
        assert moved["error"]["code"] == "moved"
        assert moved["error"]["leader"] == second.ws("small")
    finally:
        second.stop()
        assert first.stop() == 0


def test_lookups_by_short_code_are_limited_per_address_also_when_sent_at_once(county):
    """Guessing a 查询码 is bounded: of 30 tries sent together from one address, at most the
    limit's burst get an answer; the rest are told, in Chinese, to wait."""
    from queue_server.hall_host import LOOKUP_LIMIT

    kiosk = county.hello("kiosk", "/h/east", token=county.more_tokens["east"]["kiosk"])
    ticket = kiosk.request("take_ticket", category="A")["ticket"]
    wrong = [f"{(int(ticket['short_code']) + n) % 1_000_000:06d}" for n in range(1, 31)]
    with ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(
            lambda code: _get(f"{county.http}/h/east/q?number=A001&code={code}"), wrong))
    statuses = [status for status, _ in answers]
    assert statuses.count(404) <= LOOKUP_LIMIT.burst + 1   # one try may refill meanwhile
    assert set(statuses) == {404, 429}
    assert all("查询太频繁" in page for status, page in answers if status == 429)
