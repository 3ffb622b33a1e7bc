"""The town's follow page of a village point's case (`/h/<hall>/p/<case>?k=<key>`, what the
receipt's QR opens; docs/points.md) in chromium at a phone's size: a real `queue-server serve` on
127.0.0.1 with a real SQLite file, the point's cases brought there by the real sync
(tests/point_link.py), the town's answers written as its clerks' are. A good key shows the
stages, the open 补正 and the result with the name masked and no phone; a wrong or missing key
and a case not at the town yet show one sentence and nothing else; tries are limited."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

import pytest

from queue_server.points import ledger as L
from queue_server.points.point_page import follow_url
from tests.browser import chromium, phone_page
from tests.conftest import ARTIFACTS
from tests.live_hall import LiveHall
from tests.point_link import Point, Town, enrol, in_sync, running, until

SHOTS = ARTIFACTS / "point"


@pytest.fixture
def town(tmp_path):
    live = LiveHall(tmp_path)
    yield live
    assert live.stop() == 0


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def test_a_citizen_follows_a_case_by_the_receipts_link_and_no_one_else_can(town, tmp_path) -> None:
    enrolment = enrol(town)
    point, town_db = Point(tmp_path, enrolment), Town(town)
    asked, finished = point.record().record.case, point.record().record.case

    async def synced() -> None:
        async with running(point.link()):
            await until(lambda: in_sync(point, town_db), "the cases at the town")

    asyncio.run(synced())
    town_db.write(L.TownReceived(asked, 2, "张敏（1001）"))
    town_db.write(L.TownAsked(asked, "缺户口簿复印件（户主页和本人页）", "张敏（1001）"))
    town_db.write(L.TownReceived(finished, 2, "张敏（1001）"))
    town_db.write(L.TownAccepted(finished, "张敏（1001）"))
    town_db.write(L.TownFinished(finished, "done", "低保金自下月起按月发放", "张敏（1001）"))
    not_yet = point.record().record.case   # at the point only: not synced

    with chromium() as browser, phone_page(browser, town.http) as page:
        page.goto(follow_url(enrolment, asked))
        page.locator("#ask").wait_for()
        text = page.locator("main").inner_text()
        for words in (asked, "低保申请", "张*", "李庄村便民服务站", "需要补交材料",
                      "缺户口簿复印件（户主页和本人页）"):
            assert words in text, words
        assert "张三" not in text and "13800001111" not in text and "138" not in text
        stages = page.locator("#stages li")
        assert stages.count() == 2
        assert stages.nth(0).inner_text().startswith("已受理")
        assert stages.nth(1).inner_text().startswith("已送达乡镇")
        assert page.locator("#stages li.now").inner_text().startswith("已送达乡镇")
        assert page.locator("#result").count() == 0
        _shot(page, "follow-1-asked-390")

        page.goto(follow_url(enrolment, finished))
        page.locator("#result").wait_for()
        assert "办理结果：准予办理" in page.locator("#result").inner_text()
        assert "低保金自下月起按月发放" in page.locator("#result").inner_text()
        assert [s.split("\n")[0] for s in page.locator("#stages li").all_inner_texts()] == [
            "已受理", "已送达乡镇", "办理中", "已办结"]
        assert page.locator("#ask").count() == 0
        _shot(page, "follow-2-finished-390")

        good = follow_url(enrolment, asked)
        wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
        for link in (wrong, good.partition("?")[0], good.replace(asked, asked[:-1] + "9")):
            response = page.goto(link)
            assert response.status == 404
            assert page.locator("main").inner_text().strip() == \
                "链接不完整：请扫描代办回执上的二维码，或凭件号到代办点查询"
        _shot(page, "follow-3-bad-key-390")

        response = page.goto(follow_url(enrolment, not_yet))
        assert response.status == 200
        assert page.locator("main").inner_text().strip() == "代办点尚未送达或尚未同步，请稍后再查"
        _shot(page, "follow-4-not-yet-390")

    statuses = []   # 7 tries above; the rest of the burst, then refused
    for _ in range(6):
        try:
            with urllib.request.urlopen(follow_url(enrolment, asked)) as answer:
                statuses.append(answer.status)
        except urllib.error.HTTPError as refused:
            statuses.append(refused.code)
            assert "查询太频繁" in refused.read().decode()
    assert statuses[:3] == [200, 200, 200] and statuses[-1] == 429
