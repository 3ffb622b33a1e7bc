"""The kiosk's 常办事项: the hall's most-taken items, chosen by the server from recent days."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from queue_server import kpis, reports, views
from queue_server.hall_toml import load_hall
from queue_server.store import event_log

DATA = Path(__file__).parent / "data"
HALLS = Path(__file__).resolve().parent.parent / "assets" / "halls"
FIRST, LATEST = date(2026, 11, 24), date(2026, 11, 28)   # the simulated days of hall-0005.db


@pytest.fixture
def hall(hall_0005):
    return hall_0005[:3]


def test_tickets_per_item_are_those_the_days_issued(hall):
    engine, hall_id, _ = hall
    with engine.connect() as conn:
        facts = kpis.fold(event_log.report_events(conn, hall_id, FIRST, LATEST, kpis.FOLDED_KINDS))
    expected = Counter(t.service for t in facts.tickets if t.service)
    assert len(expected) >= 3, "the simulated days take several items"
    assert reports.issued_by_service(engine, hall_id, FIRST, LATEST) == dict(expected)
    # read again, now from the stored day facts: the same
    assert reports.issued_by_service(engine, hall_id, FIRST, LATEST) == dict(expected)


def test_the_most_taken_items_come_first(hall):
    engine, hall_id, definition = hall
    issued = reports.issued_by_service(engine, hall_id, FIRST, LATEST)
    popular = views.popular_items(definition, issued, most=3)
    assert len(popular) == 3
    counts = [issued[code] for code in popular]
    assert counts == sorted(counts, reverse=True)
    assert counts[0] == max(issued.values())
    assert all(issued.get(code, 0) <= counts[-1] for code in issued if code not in popular)


def test_ties_in_catalogue_order_unknown_and_untaken_items_left_out():
    definition = load_hall(HALLS / "demo-town.toml")
    codes = [item.code for item in definition.items]
    issued = {codes[5]: 9, codes[3]: 4, codes[1]: 4, "GONE-001": 50, codes[2]: 0}
    assert views.popular_items(definition, issued, most=3) == [codes[5], codes[1], codes[3]]


def test_without_history_one_item_of_each_department_in_turn():
    definition = load_hall(HALLS / "demo-town.toml")
    popular = views.popular_items(definition, {})
    assert len(popular) == views.POPULAR_ITEMS
    departments = [definition.item_by_code[code].department for code in popular]
    assert departments == [d.code for d in definition.departments][:views.POPULAR_ITEMS]
    # a little history: the items taken first, the rest filled in the same way, never twice
    taken = definition.items[-1].code
    filled = views.popular_items(definition, {taken: 2})
    assert filled[0] == taken and len(set(filled)) == len(filled) == views.POPULAR_ITEMS
    small = replace(definition, items=definition.items[:2])
    assert views.popular_items(small, {}) == [i.code for i in definition.items[:2]]


def test_the_catalogue_carries_the_popular_items():
    definition = load_hall(HALLS / "demo-town.toml")
    code = definition.items[7].code
    catalogue = views.catalogue_view(definition, 3, {code: 12})
    assert catalogue["popular"][0] == code
    assert len(catalogue["popular"]) == views.POPULAR_ITEMS
    assert all(item["aliases"] for item in catalogue["items"])    # the demo hall gives every item some


def test_the_kiosks_catalogue_reply_has_them(tmp_path):
    """Over the protocol: a new hall, no closed days yet, so one item of each department."""
    from queue_server.hall_toml import parse_hall
    from tests.live_hall import ROUND_THE_CLOCK, LiveHall

    hall = LiveHall(tmp_path)
    try:
        reply = hall.hello("kiosk").request("catalogue")
        assert reply["popular"] == views.popular_items(parse_hall(ROUND_THE_CLOCK), {})
        assert reply["popular"]
        again = hall.hello("kiosk").request("catalogue")     # the day's counts, read once
        assert again["popular"] == reply["popular"]
    finally:
        hall.stop()


def test_the_catalogue_is_served_when_the_counts_cannot_be_read(hall, monkeypatch, caplog):
    """常办事项 are a help: a failure to read the days' counts never costs the kiosk its
    catalogue (the row falls back to one item per department, and the next request tries again)."""
    definition = hall[2]
    attempts = []

    def broken(*args):
        attempts.append(args)
        raise OSError("disk gone")

    monkeypatch.setattr(reports, "issued_by_service", broken)
    first, again, held = _catalogue_twice(hall)
    assert held is None and first["ok"] and first["popular"] == views.popular_items(definition, {})
    assert len(attempts) == 2 and again["popular"] == first["popular"]
    assert "were not read" in caplog.text


def _catalogue_twice(hall) -> list:
    """The replies to `catalogue` of two kiosks, in-process, the Monday after the simulated days."""
    import asyncio
    import json
    from datetime import UTC, datetime

    from queue_server.fanout import Hub
    from queue_server.hall_service import HallService
    from queue_server.revocation import Revocation
    from queue_server.sessions import Context, Session
    from queue_server.store import devices
    from queue_server.writer import Writer
    from tests.in_process_hall import SECRET, _Connection

    engine, hall_id, definition = hall
    now = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)        # 10:00 in the hall
    with engine.begin() as conn:
        token = devices.add_device(conn, hall_id, "kiosk", f"kiosk-{now:%H%M%S%f}", None,
                                   {w.number for w in definition.windows}, now)

    async def scenario() -> list[dict]:
        service = HallService(engine, None, now)
        hub: Hub[Session] = Hub()
        writer = Writer(service, hub.observe, lambda _batch: None)
        context = Context(service, writer, hub, SECRET, Revocation(engine, service.hall_id, hub.members))
        replies = []
        for _ in range(2):
            session = Session(context, _Connection())
            await session.handle(json.dumps({"id": 1, "op": "hello", "role": "kiosk", "token": token}))
            replies.append(await session.handle(json.dumps({"id": 2, "op": "catalogue"})))
        replies.append(service.issued_lately)
        return replies

    return asyncio.run(scenario())


def test_the_kiosks_catalogue_counts_the_last_closed_days(hall):
    """Through a session, on the simulated days: the day after them, the kiosk's `popular`
    are those days' most-taken items (the counts read on a thread, once that day)."""
    engine, hall_id, definition = hall
    issued = reports.issued_by_service(engine, hall_id, FIRST, LATEST)
    first, again, held = _catalogue_twice(hall)
    # the state's day is the log's last (no ticket yet on the Monday): the days before it count
    day = held[0]
    assert day == LATEST and held[1] == reports.issued_by_service(
        engine, hall_id, day - timedelta(days=views.POPULAR_DAYS), day - timedelta(days=1))
    assert held[1] == issued, "the last simulated day took no ticket of an item"
    assert first["popular"] == views.popular_items(definition, issued)
    assert issued[first["popular"][0]] == max(issued.values())
    assert again["popular"] == first["popular"]
