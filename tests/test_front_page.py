"""The root page `/` (issue 15, part 6): the hall's front page links to the clerk console, the
manager dashboard, the county page when the database has a county hall, and every guide of
the hall; a server of several halls lists them, each with its links and guides. Real servers
on 127.0.0.1; the single hall's page in chromium, its screenshot kept to look at."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

from queue_server.hall_toml import parse_hall
from tests.browser import chromium
from tests.conftest import ARTIFACTS
from tests.live_hall import LiveHall, round_the_clock
from tests.test_county_view import EAST, SEAT, WEST

DEMO_TOWN = Path(__file__).parent.parent / "assets" / "halls" / "demo-town.toml"
SHOTS = ARTIFACTS / "front"


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as page:
        assert page.headers["Content-Type"] == "text/html; charset=utf-8"
        return page.read().decode()


def _links(html: str) -> list[str]:
    return re.findall(r'<a [^>]*href="([^"]+)"', html)


def test_a_halls_front_page_links_its_staff_pages_and_every_guide(tmp_path):
    text = round_the_clock(DEMO_TOWN.read_text(encoding="utf-8"))
    town = parse_hall(text)
    hall = LiveHall(tmp_path, hall_text=text)
    try:
        html = _get(hall.http + "/")
        assert _get(hall.http + "/index.html") == html
        assert '@font-face{font-family:"Hall Sans";src:url(/fonts/NotoSansSC-Regular.otf)' in html
        links = _links(html)
        assert links[:2] == ["clerk/", "manager/"]
        assert "/county/" not in links                   # no county hall in this database
        guides = [link for link in links if link.startswith("guide/")]
        assert sorted(guides) == sorted(f"guide/{item.code}" for item in town.items)
        assert len(guides) > 3
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(hall.http + "/")
            page.wait_for_load_state("networkidle")
            loaded = page.evaluate("document.fonts.load('16px \"Hall Sans\"', '青山')"
                                   ".then(faces => faces.map(f => f.status))")
            assert loaded == ["loaded"]                      # the bundled font, from the server
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "front-page.png"), full_page=True)
            assert page.title() == f"{town.hall.name} - 大厅排队服务器"
            first = town.items[0]
            page.click(f"a[href='guide/{first.code}']")    # a guide opens from its link
            page.wait_for_load_state()
            assert page.url == f"{hall.http}/guide/{first.code}"
            assert first.name in page.inner_text("h1")
            page.goto(hall.http + "/")
            page.click("a[href='manager/']")
            page.wait_for_load_state()
            assert page.url == f"{hall.http}/manager/"
    finally:
        assert hall.stop() == 0


def test_the_county_page_is_linked_when_the_database_has_a_county_hall(tmp_path):
    live = LiveHall(tmp_path, hall_text=SEAT, more_halls=(EAST, WEST))
    try:
        front = _get(live.http + "/")
        links = _links(front)
        assert "/county/" in links
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(live.http + "/")
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "front-page-several-halls.png"), full_page=True)
        east = parse_hall(EAST)
        for code in ("seat", "east", "west"):
            assert f"/h/{code}/clerk/" in links and f"/h/{code}/manager/" in links
        assert sorted(link for link in links if link.startswith("/h/east/guide/")) == sorted(
            f"/h/east/guide/{item.code}" for item in east.items)
        hall_front = _get(live.http + "/h/east/")    # a hall's own front page on that server
        assert parse_hall(EAST).hall.name in hall_front
        assert {"clerk/", "manager/", "/county/"} <= set(_links(hall_front))
        guide = _get(live.http + f"/h/east/guide/{east.items[0].code}")
        assert east.items[0].name in guide
    finally:
        assert live.stop() == 0
