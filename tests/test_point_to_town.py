"""A village point and its town end to end, each as its own command: the town `queue-server
serve`, the point `queue-server point init` from the code the town's `point enrol` printed, then
`queue-server point serve`, which syncs by itself. A case recorded on the point's page reaches
the town; the town's answer reaches the page."""

from __future__ import annotations

import pytest

from queue_server.points import enrolment as enrol
from tests.live_hall import LiveHall
from tests.live_point import LivePoint, waited

HALL = "small"


@pytest.fixture
def town(tmp_path):
    live = LiveHall(tmp_path / "town")
    yield live
    assert live.stop() == 0


def test_a_case_recorded_at_the_point_reaches_the_town_and_its_answer_comes_back(town, tmp_path):
    code = town.cli("point", "enrol", "--point", "P07", "--name", "李庄村便民服务站",
                    "--public-url", f"{town.http}/h/{HALL}")
    enrolment = enrol.decode(code)
    (tmp_path / "point").mkdir()
    point = LivePoint(tmp_path / "point", enrolment)
    point.start(simulate_from=None)
    try:
        page = point.hello()
        item = enrolment.items[0]
        recorded = page.request("record", name="张三", phone="13800001111", item=item.code,
                                materials=list(item.materials[:1]), agent="王芳")
        assert recorded["ok"], recorded
        number = recorded["case"]["case"]
        link = page.wait_event("link", timeout=30)
        while not (link["link"]["connected"] and link["link"]["pending"] == 0):
            link = page.wait_event("link", timeout=30)
        manager = town.hello("manager", f"/h/{HALL}")
        listed = waited(lambda: manager.request("point_cases", point="P07")["cases"],
                       "the case at the town")
        assert [c["case"] for c in listed] == [number] and listed[0]["name"] == "张三"
        answer = manager.request("point_answer", point="P07", case=number,
                                 kind="town_received", window=1)
        assert answer["ok"], answer
        while True:      # the town's entry is pushed to the page by the point's own link
            event = page.wait_event("cases", timeout=30)
            views = {c["case"]: c for c in event["cases"]}
            if views.get(number, {}).get("stage") == "delivered":
                break
    finally:
        assert point.stop() == 0
