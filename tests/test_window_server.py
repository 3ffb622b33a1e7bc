"""What the server gives the window side: the clerk's live console view, the ticket's transfer
trail, the clerk's ratings, and the pages a ticket's QR and the web pages' font come from."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import date

import pytest

from queue_server.ticket_tokens import make_token
from tests.live_hall import LiveHall


@pytest.fixture
def hall(tmp_path):
    live = LiveHall(tmp_path)
    yield live
    assert live.stop() == 0


def test_a_clerk_console_follows_its_clerk(hall):
    kiosk = hall.hello("kiosk")
    numbers = [kiosk.request("take_ticket", category="A", service="T-SB-001")["ticket"]["number"]
               for _ in range(3)]
    zhang = hall.hello("clerk", badge="1001", pin="1111")
    view = zhang.hello["clerk"]
    assert (view["window"], view["status"], view["current"]) == (None, None, None)
    assert view["me"]["posts"] == [{"window": 1, "post": "A"}, {"window": 4, "post": "B"}]
    assert view["ratings"] == {"finished": 0, "rated": 0, "unrated": 0, "pending": 0, "mean": None,
                               "satisfied_pct": None,
                               "scores": {"5": 0, "4": 0, "3": 0, "2": 0, "1": 0}}

    zhang.request("sign_in", window=1, post="A")
    signed = zhang.wait_event("clerk")
    assert (signed["window"], signed["post"], signed["status_text"]) == (1, "A", "办理中")
    current = zhang.request("call_next")["ticket"]
    assert current["number"] == numbers[0]
    assert (current["category_name"], current["service_name"], current["kind_text"]) == (
        "社保业务", "城乡居民基本养老保险参保登记", "办理")
    assert _console(zhang, lambda v: v["current"] == current)["today"] == {
        "accepted": 1, "finished": 0, "no_show": 0}

    # Transferred to window 4, its trail goes with it: the clerk there sees where it came from.
    zhang.request("transfer", to_window=4, note="需联办")
    zhao = hall.hello("clerk", badge="1004", pin="4444")
    assert zhao.hello["clerk"]["targeted"] == []   # not signed in at window 4 yet
    zhao.request("sign_in", window=4, post="A")
    assert _console(zhao, lambda v: v["window"] == 4)["targeted"] == [numbers[0]]
    taken = zhao.request("call_next")["ticket"]
    assert taken["number"] == numbers[0] and taken["transfers"] == 1
    assert [step["text"] for step in taken["history"]] == ["1 号窗口（张敏）转到 4 号窗口（社保民政联办窗口）：需联办"]
    zhao.request("finish", outcome="done")
    hall.hello("pad")   # the pad is window 1's: window 4's ticket is rated on the phone
    citizen_token = make_token(hall.secret(), _today(hall), numbers[0])
    citizen = hall.hello("citizen", ticket=citizen_token)
    assert citizen.request("rate", score=2, reasons=["办事效率低"])["ok"]
    rated = _console(zhao, lambda v: v["ratings"]["rated"] == 1)
    assert rated["ratings"] == {"finished": 1, "rated": 1, "unrated": 0, "pending": 0, "mean": 2.0,
                                "satisfied_pct": 0.0,
                                "scores": {"5": 0, "4": 0, "3": 0, "2": 1, "1": 0}}

    # Held and called back: the console lists it meanwhile.
    zhang.request("call_next")
    zhang.request("hold", reason="回家取户口本")
    held = _console(zhang, lambda v: v["held"])
    assert [(t["number"], t["hold_reason"]) for t in held["held"]] == [(numbers[1], "回家取户口本")]
    assert zhang.request("resume_held", number=numbers[1])["ticket"]["number"] == numbers[1]

    # Finished, the pad still asking: 待评; the pad's 未评: finished but not rated.
    zhang.request("finish", outcome="done")
    assert _console(zhang, lambda v: v["ratings"]["finished"] == 1)["ratings"]["pending"] == 1
    pad = hall.hello("pad")
    assert pad.request("rate", ticket=numbers[1], score=None)["ok"]
    unrated = _console(zhang, lambda v: v["ratings"]["unrated"] == 1)
    assert unrated["ratings"]["finished"] == 1 and unrated["ratings"]["rated"] == 0

    # Pausing shows on the console with its reason; signing out empties it.
    zhang.request("pause", reason="午休")
    paused = _console(zhang, lambda v: v["status"] == "paused")
    assert (paused["status_text"], paused["reason"]) == ("暂停服务", "午休")
    zhang.request("resume")
    zhang.request("sign_out")
    out = _console(zhang, lambda v: v["window"] is None)
    assert out["held"] == [] and out["current"] is None


def test_another_clerks_events_do_not_reach_my_console(hall):
    hall.hello("kiosk").request("take_ticket", category="B")
    zhang = hall.hello("clerk", badge="1001", pin="1111")
    li = hall.hello("clerk", badge="1002", pin="2222")
    li.request("sign_in", window=2, post="A")
    li.request("call_next")
    li.wait_event("clerk", window=2, status="open")
    zhang.request("sign_in", window=1, post="A")
    mine = zhang.wait_event("clerk")
    assert mine["window"] == 1
    assert not [e for e in zhang.events if e["ev"] == "clerk"]


def _console(clerk, wanted) -> dict:
    """The first `clerk` view the console got (or gets) that shows what is `wanted`."""
    while True:
        view = clerk.wait_event("clerk")
        if wanted(view):
            return view


def _today(hall) -> date:
    return date.fromisoformat(hall.health()["service_day"])


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.headers["Content-Type"], reply.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers["Content-Type"], refused.read().decode()


def test_the_ticket_page_opens_only_for_todays_tickets(hall):
    token = hall.hello("kiosk").request("take_ticket", category="A")["ticket"]["token"]
    status, kind, page = _get(f"{hall.http}/t/{token}")
    assert (status, kind) == (200, "text/html; charset=utf-8")
    assert "/ticket/ticket.js" in page

    status, _, page = _get(f"{hall.http}/t/20200101A001-forged")
    assert status == 404 and "二维码无效" in page and "0000-1000001" in page
    old = make_token(hall.secret(), date(2020, 1, 1), "A001")
    status, _, page = _get(f"{hall.http}/t/{old}")
    assert status == 410 and "这张小票已过期" in page
    unknown = make_token(hall.secret(), _today(hall), "A099")   # signed, but never issued
    assert _get(f"{hall.http}/t/{unknown}")[0] == 410


def test_the_web_font_is_served_and_nothing_else_beside_it(hall):
    status, kind, _ = _get(f"{hall.http}/fonts/OFL.txt")
    assert status == 200 and kind.startswith("text/plain")
    with urllib.request.urlopen(f"{hall.http}/fonts/NotoSansSC-Regular.otf", timeout=5) as font:
        assert font.read(4) == b"OTTO"
        assert font.headers["Cache-Control"] == "public, max-age=3600"
    assert _get(f"{hall.http}/fonts/../look.py")[0] == 404
    assert _get(f"{hall.http}/fonts/%2e%2e/halls/demo-town.toml")[0] == 404
