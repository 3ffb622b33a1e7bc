"""The sync between a village point and its town (issue 18 point 2, docs/points.md): the town is
a real hall server (`queue-server serve` on 127.0.0.1 with a real SQLite file), the point a
PointStore with the real PointLink; each log arrives once, in order, after any cut."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from queue_server.points import ledger as L
from queue_server.points import sync
from queue_server.store import point_logs
from tests.live_hall import LiveHall
from tests.point_link import (
    HALL,
    POINT,
    CuttingProxy,
    Point,
    Town,
    enrol,
    in_sync,
    running,
    until,
)

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def town(tmp_path):
    live = LiveHall(tmp_path)
    yield live
    assert live.stop() == 0


def test_a_day_cut_off_with_50_cases_arrives_once_and_in_order(town, tmp_path) -> None:
    enrolment = enrol(town)
    # the working day, on the point's clock: a case every 9 minutes from 08:30, no link at all
    point = Point(tmp_path, enrolment, start=datetime(2026, 12, 7, 8, 30, tzinfo=ZONE),
                  step=timedelta(minutes=9))
    written = [point.record() for _ in range(50)]
    written.append(point.write(L.CaseAmended(written[3].record.case, phone="13900002222")))
    town_db = Town(town)
    assert town_db.last() == (0, 0)

    async def reconnect() -> None:
        link = point.link()
        async with running(link):
            await until(lambda: in_sync(point, town_db), "the day's cases at the town")
            await until(lambda: point.hub.state.get("pending") == 0, "nothing pending")
        assert link.sessions == 1    # one session carried the whole backlog

    asyncio.run(reconnect())
    arrived = town_db.read(point_logs.up_entries, POINT)
    assert arrived == written       # every entry, once, in the point's order, as written
    assert len({e.record.case for e in arrived if e.record.tag == "case_recorded"}) == 50
    assert [seq for seq, _, _ in town_db.read(point_logs.received, POINT)] == list(range(1, 52))
    assert town_db.fold() == point.fold()
    state = point.hub.state
    assert state["connected"] and state["error"] is None and state["last_contact"]
    assert point.store.get("sync")["town_has"] == 51


def test_a_link_that_drops_at_random_loses_nothing_and_doubles_nothing(town, tmp_path) -> None:
    rng = random.Random(18)
    point = Point(tmp_path, enrol(town))
    town_db = Town(town)
    for _ in range(40):    # a backlog first, so that the first sessions are cut mid-batch
        point.record()

    async def trials() -> CuttingProxy:
        proxy = CuttingProxy(town.http, rng)
        url = await proxy.start()
        async with running(point.link(url)):
            for trial in range(20):
                proxy.rearm()
                for _ in range(rng.randint(1, 6)):
                    point.record()
                cases = point.fold()
                for case in rng.sample(sorted(cases), 3):
                    if cases[case].stage == "recorded" and rng.random() < 0.3:
                        point.write(L.CaseWithdrawn(case, "群众不办了"))
                    else:
                        point.write(L.CaseAmended(case, phone=f"139{trial:08d}"))
                for case, state in town_db.fold().items():   # the town answers what it has
                    if state.stage == "recorded" and rng.random() < 0.5:
                        town_db.write(L.TownReceived(case, 2, "王五"))
                    elif state.stage == "delivered" and rng.random() < 0.5:
                        town_db.write(L.TownAccepted(case, "王五"))
                await until(lambda: in_sync(point, town_db) and point.hub.state.get("pending") == 0,
                            f"trial {trial} in sync", timeout=60)
                assert town_db.fold() == point.fold(), f"trial {trial}"
        proxy.server.close()
        return proxy

    proxy = asyncio.run(trials())
    assert proxy.cuts >= 20, proxy.cuts     # the link really dropped, again and again
    up, down = point.store.up(), point.store.down()
    assert town_db.read(point_logs.up_entries, POINT) == up     # nothing lost, nothing doubled
    assert town_db.read(point_logs.down_entries, POINT) == down
    assert [e.seq for e in up] == list(range(1, len(up) + 1))
    assert [e.seq for e in down] == list(range(1, len(down) + 1))
    assert len(down) > 20
    # the hub was told each town entry once
    assert sorted(e.seq for e in point.hub.entries) == [e.seq for e in down]


def test_a_point_whose_clock_is_10_minutes_fast(town, tmp_path) -> None:
    point = Point(tmp_path, enrol(town), skew=timedelta(minutes=10))
    town_db = Town(town)
    first = point.record()

    async def sync_twice() -> None:
        async with running(point.link()):
            await until(lambda: in_sync(point, town_db), "the case at the town")
            # the town receives the papers: on its clock, ten minutes *before* the point's time
            town_db.write(L.TownReceived(first.record.case, 3, "王五"))
            await until(lambda: in_sync(point, town_db), "the receipt at the point")
            point.write(L.CaseAmended(first.record.case, note="已电话告知"))
            await until(lambda: in_sync(point, town_db), "the note at the town")

    before = datetime.now(UTC)
    asyncio.run(sync_twice())
    after = datetime.now(UTC)
    offset = point.hub.state["clock_offset_seconds"]
    assert -605 <= offset <= -595       # measured: the town's clock minus the point's
    (shown,) = town_db.read(point_logs.list_points)
    assert shown.clock_offset == offset
    for seq, received_at, measured in town_db.read(point_logs.received, POINT):
        assert before - timedelta(seconds=2) <= received_at <= after + timedelta(seconds=2), seq
        assert measured == offset
    for case in (point.fold()[first.record.case], town_db.fold()[first.record.case]):
        assert case.stage == "delivered" and case.conflicts == [] and case.note == "已电话告知"
        assert [e.record.tag for e in case.history] == ["case_recorded", "town_received",
                                                        "case_amended"]
        # the times are shown as written: the receipt's is earlier than the recording's
        assert case.at["delivered"] < case.at["recorded"]


def test_a_withdrawal_crossing_the_towns_receipt_follows_the_written_rule(town, tmp_path) -> None:
    point = Point(tmp_path, enrol(town))
    town_db = Town(town)
    kept, dropped = point.record(), point.record()

    async def phases() -> None:
        async with running(point.link()):
            await until(lambda: in_sync(point, town_db), "both cases at the town")
        # cut off: the town receives both cases' papers, the point withdraws both
        town_db.write(L.TownReceived(kept.record.case, 1, "王五"))
        point.write(L.CaseWithdrawn(kept.record.case, "群众不办了"))
        point.write(L.CaseWithdrawn(dropped.record.case, "群众不办了"))
        async with running(point.link()):
            await until(lambda: in_sync(point, town_db), "both logs met")

    asyncio.run(phases())
    assert point.fold() == town_db.fold()
    case = town_db.fold()[kept.record.case]
    assert case.stage == "delivered"           # the town holds the papers: the case goes on
    assert case.conflicts == [("up", 3, "withdraw_late")]
    assert L.conflict_text("withdraw_late") == "撤回未生效：乡镇已接收"
    assert town_db.fold()[dropped.record.case].stage == "withdrawn"
    # the town's server refuses to receive the case the point withdrew (its rule, at once)
    with pytest.raises(point_logs.PointError, match="已办结或已撤回"):
        town_db.write(L.TownReceived(dropped.record.case, 1, "王五"))


def test_a_second_installation_a_bad_proof_and_a_revoked_point_are_refused(town, tmp_path) -> None:
    enrolment = enrol(town)
    first = Point(tmp_path, enrolment, "first")
    second = Point(tmp_path, enrolment, "second")
    forged = Point(tmp_path, replace(enrolment, secret="00" * 32), "forged")
    town_db = Town(town)
    first.record()
    for other in (second, forged):
        other.record()
        other.record()

    async def refused(point: Point, words: str) -> None:
        async with running(point.link()):
            await until(lambda: words in (point.hub.state.get("error") or ""), words)
        assert not point.hub.state["connected"]

    async def attempts() -> None:
        async with running(first.link()):
            await until(lambda: in_sync(first, town_db), "the first PC's case")
        await refused(second, "此登记码已被另一台电脑使用")
        await refused(forged, "代办点身份验证失败")
        town.cli("point", "enrol", "--point", POINT, "--name", "李庄村便民服务站", "--again",
                 "--public-url", f"{town.http}/h/{HALL}")
        await refused(first, "已被乡镇注销")

    asyncio.run(attempts())
    assert town_db.last() == (1, 0)       # nothing of theirs was stored
    assert len(town_db.read(point_logs.enrolments, POINT)) == 2


async def _recv(connection) -> str:
    return await asyncio.wait_for(connection.recv(), 10)


async def _authenticated(url: str, enrolment, installation: str = "pc-1", up_last: int = 0):
    connection = await connect(url, max_size=None)
    await connection.send(json.dumps({
        "t": "hello", "point": enrolment.point, "installation": installation, "nonce": "n" * 8,
        "now": datetime.now(UTC).isoformat(), "up_last": up_last, "down_have": 0,
        "catalogue": 99}))
    nonce = json.loads(await _recv(connection))["nonce"]
    await connection.send(json.dumps({"t": "proof", "mac": sync.proof(
        enrolment.secret, "point", enrolment.point, installation, nonce)}))
    welcome = json.loads(await _recv(connection))
    assert welcome["t"] == "welcome", welcome
    return connection


def _case(seq: int, case: str = "P07-261207-001", **more) -> dict:
    return {"kind": "case_recorded", "seq": seq, "seen": 0, "at": "2026-12-07T09:00:00+08:00",
            "case": case, "name": "张三", "phone": "1", "item": "X1", "item_name": "低保申请",
            "materials": ["身份证"], "agent": "李四"} | more


MALFORMED = [
    ("not json", "不是 JSON"),
    ({"t": "launch"}, "不应收到"),
    ({"t": "up", "entries": "x"}, "字段 entries"),
    ({"t": "up", "entries": [{"kind": "rocket", "seq": 1}]}, "未知的台账记录类型"),
    ({"t": "up", "entries": [_case(1, phone=5)]}, "phone 类型不对"),
    ({"t": "up", "entries": [_case(1), _case(2, "P07-261207-002", seen="x")]}, "seen"),
    ({"t": "up", "entries": [_case(1, "P08-261207-001")]}, "不属于代办点 P07"),
    ({"t": "up", "entries": [_case(2)]}, "不连续"),
    ({"t": "up", "entries": [_case(1), _case(3, "P07-261207-002")]}, "不连续"),
    ({"t": "up", "entries": [_case(1) | {"kind": "town_received", "window": 1, "clerk": "x"}]},
     "此方向不应有"),
    ({"t": "up", "entries": [_case(1, seen=4)]}, "乡镇只有 0 条"),
    ({"t": "down_ack", "last": -1}, "字段 last"),
]


def test_malformed_frames_are_refused_in_chinese_and_nothing_is_stored(town) -> None:
    enrolment = enrol(town)
    town_db = Town(town)

    async def send(frame: str | dict) -> tuple[dict, int | None]:
        connection = await _authenticated(enrolment.town_url, enrolment)
        await connection.send(frame if isinstance(frame, str) else json.dumps(frame))
        reply = json.loads(await _recv(connection))
        with pytest.raises(ConnectionClosed):
            await _recv(connection)
        return reply, connection.close_code

    for frame, words in MALFORMED:
        reply, code = asyncio.run(send(frame))
        assert reply["t"] == "error" and words in reply["message"], (frame, reply)
        assert code == sync.CLOSE_REFUSED
        assert town_db.last() == (0, 0), frame

    async def good() -> dict:
        connection = await _authenticated(enrolment.town_url, enrolment)
        await connection.send(json.dumps({"t": "up", "entries": [_case(1)]}))
        return json.loads(await _recv(connection))

    assert asyncio.run(good()) == {"t": "up_ack", "last": 1}    # the same frames, well formed
    assert town_db.last() == (1, 0)


def test_a_malformed_hello_is_refused_before_anything(town) -> None:
    enrolment = enrol(town)

    async def hello(text: str) -> str:
        async with connect(enrolment.town_url) as connection:
            await connection.send(text)
            return json.loads(await _recv(connection))["message"]

    assert "不是 JSON" in asyncio.run(hello("{"))
    assert "字段 up_last" in asyncio.run(hello(json.dumps({
        "t": "hello", "point": POINT, "installation": "x", "nonce": "n", "now": "2026-12-07T09:00",
        "up_last": "9", "down_have": 0, "catalogue": 1})))
    assert "没有编号为 P99" in asyncio.run(hello(json.dumps({
        "t": "hello", "point": "P99", "installation": "x", "nonce": "n",
        "now": "2026-12-07T09:00:00+08:00", "up_last": 0, "down_have": 0, "catalogue": 1})))


def test_two_connections_of_one_point_make_one_session_and_double_nothing(town, tmp_path) -> None:
    enrolment = enrol(town)
    town_db = Town(town)

    async def both() -> None:
        old = await _authenticated(enrolment.town_url, enrolment)
        new = await _authenticated(enrolment.town_url, enrolment)
        with pytest.raises(ConnectionClosed):     # the newer session ends the older one
            await _recv(old)
        assert old.close_code == 1012
        await new.send(json.dumps({"t": "up", "entries": [_case(1)]}))
        assert json.loads(await _recv(new)) == {"t": "up_ack", "last": 1}
        third = await _authenticated(enrolment.town_url, enrolment, up_last=1)
        with pytest.raises(ConnectionClosed):
            await _recv(new)
        await third.send(json.dumps({"t": "up", "entries": [_case(1)]}))   # sent again
        assert json.loads(await _recv(third)) == {"t": "up_ack", "last": 1}

    asyncio.run(both())
    assert town_db.last() == (1, 0)
    # two links of the same PC at once, racing for the one session while the agent writes
    point = Point(tmp_path, enrolment)
    point.store.put("installation", "pc-1")
    point.store.write(L.CaseRecorded("P07-261207-001", "张三", "1", "X1", "低保申请", ("身份证",),
                                     "李四"), "2026-12-07T09:00:00+08:00")   # the one sent above

    async def racing() -> None:
        async with running(point.link()), running(point.link()):
            for _ in range(30):
                point.record(date(2026, 12, 8))
                await asyncio.sleep(0.01)
            await until(lambda: in_sync(point, town_db), "in sync")

    asyncio.run(racing())
    assert town_db.read(point_logs.up_entries, POINT) == point.store.up()
    assert town_db.last() == (31, 0)


def test_point_enrol_makes_a_code_with_the_hall_and_refuses_a_second_enrolment(town, tmp_path) -> None:
    enrolment = enrol(town)
    assert enrolment.town_url == f"{town.http.replace('http', 'ws')}/h/{HALL}/point/ws"
    assert (enrolment.hall, enrolment.hall_name, enrolment.point) == (HALL, "测试镇便民服务中心",
                                                                      POINT)
    assert len(enrolment.secret) == 64 and enrolment.handover_days == 3
    assert enrolment.calendar["timezone"] == "Asia/Shanghai"
    assert enrolment.calendar["sessions"] == [["00:00", "24:00"]]   # the hall's, as served
    assert enrolment.calendar["calendar"]["working_weekdays"] == [1, 2, 3, 4, 5]
    assert [(i.code, i.materials) for i in enrolment.items] == [
        ("T-SB-001", ("居民身份证",))]
    done = subprocess.run([sys.executable, "-m", "queue_server.cli", "point", "enrol", "--point",
                           POINT, "--name", "x", "--public-url", town.http],
                          capture_output=True, text=True, env={**os.environ,
                                                               "QUEUE_DB": f"sqlite:///{town.db}"})
    assert done.returncode == 1 and "代办点 P07 已登记过" in done.stderr and "--again" in done.stderr
    assert "P07\t李庄村便民服务站\t未安装\t最后联系 从未联系\t已收 0 条\t待下发 0 条" in town.cli(
        "point", "list")
    point = Point(tmp_path, enrolment)
    point.record()
    point.store.put("catalogue", {"version": 0, "items": []})    # an older catalogue
    town_db = Town(town)

    async def sync_once() -> None:
        async with running(point.link()):
            await until(lambda: in_sync(point, town_db) and point.hub.catalogues, "in sync")

    asyncio.run(sync_once())
    assert point.hub.catalogues == [(1, enrolment.items)]     # the hall's, sent down once
    assert point.store.catalogue() == (1, enrolment.items)
    shown = town.cli("point", "list")
    assert "已安装" in shown and "已收 1 条" in shown, shown
    assert re.search(r"时钟差 -?[01] 秒", shown), shown


def test_the_towns_clerks_and_managers_list_a_points_cases_and_answer_them(town, tmp_path) -> None:
    point = Point(tmp_path, enrol(town))
    town_db = Town(town)
    first, second = point.record(), point.record()
    manager = town.hello("manager", f"/h/{HALL}")
    clerk = town.hello("clerk", f"/h/{HALL}", badge="1001", pin="1111")

    async def answered() -> None:
        async with running(point.link()):
            await until(lambda: in_sync(point, town_db), "the cases at the town")
            listed = manager.request("point_cases", point=POINT)
            assert [c["case"] for c in listed["cases"]] == [first.record.case, second.record.case]
            assert listed["cases"][0]["stage"] == "recorded" and listed["cases"][0]["asks"] == []
            reply = manager.request("point_answer", point=POINT, case=first.record.case,
                                    kind="town_received", window=2)
            assert reply["ok"] and reply["entry"]["seq"] == 1, reply
            reply = clerk.request("point_answer", point=POINT, case=first.record.case,
                                  kind="town_asked", what="缺户口簿复印件")
            assert reply["ok"], reply
            await until(lambda: point.store.last()[1] == 2, "the answers at the point")

    asyncio.run(answered())
    case = point.fold()[first.record.case]
    assert case.stage == "delivered" and case.window == 2 and case.open_ask.what == "缺户口簿复印件"
    assert [e.record.clerk for e in case.history[1:]] == ["主任（zhuren）", "张敏（1001）"]
    refused = manager.request("point_answer", point=POINT, case=first.record.case,
                              kind="town_received")
    assert refused["error"]["code"] == "conflict" and "已办结或已撤回" in refused["error"]["message"]
    bad = manager.request("point_answer", point=POINT, case=first.record.case,
                          kind="case_recorded")
    assert bad["error"]["code"] == "bad_request" and "town_received" in bad["error"]["message"]
    bad = manager.request("point_answer", point=POINT, case=first.record.case,
                          kind="town_finished", result="maybe")
    assert bad["error"]["code"] == "bad_request" and "办结结果不对" in bad["error"]["message"]
    listed = manager.request("point_cases", point=POINT)["cases"][0]
    assert listed["stage"] == "delivered" and listed["asks"][0]["what"] == "缺户口簿复印件"
    assert town_db.last() == (2, 2)


def test_a_points_catalogue_holds_only_the_halls_daibanlei_items() -> None:
    """Only items an agent may do without the applicant (代办类, `handling = "proxy"`) go to
    a point: the demo town's 28 of its 39; none of its 直办类 or 咨询类 ones."""
    from pathlib import Path

    from queue_server.hall_toml import load_hall
    from queue_server.points.town_link import catalogue_items

    items = load_hall(Path(__file__).parent.parent / "assets" / "halls" / "demo-town.toml").items
    offered = {i.code for i in catalogue_items(items)}
    assert offered == {i.code for i in items if i.handling == "proxy"}
    assert len(offered) == 28 and len(items) == 39
    assert {i.handling for i in items if i.code not in offered} == {"direct", "consult"}


def test_point_cases_reaches_the_windows_that_serve_the_cases_items_and_the_managers(
        town, tmp_path) -> None:
    """A case of item T-SB-001 (category A): its sync, its answer and a later amendment (whose
    entry names only the case) reach the clerk at window 1 (A, C) and the manager, not the clerk
    at window 2 (B only), whose inbox it is not in."""
    point = Point(tmp_path, enrol(town))
    town_db = Town(town)
    day = point.clock().date()
    case = L.case_number(point.code, day, L.fold(point.store.up(), point.store.down()))
    point.write(L.CaseRecorded(case, "张三", "13800001111", "T-SB-001",
                               "城乡居民基本养老保险参保登记", ("居民身份证",), "李四"))
    manager = town.hello("manager", f"/h/{HALL}")
    serving = town.hello("clerk", f"/h/{HALL}", badge="1001", pin="1111")
    other = town.hello("clerk", f"/h/{HALL}", badge="1002", pin="2222")
    assert serving.request("sign_in", window=1, post="A")["ok"]
    assert other.request("sign_in", window=2, post="A")["ok"]

    def reached_only_the_serving_window() -> None:
        assert manager.wait_event("point_cases", point=POINT)
        assert serving.wait_event("point_cases", point=POINT)
        # the event went to every console in one fan-out, before the reply to this request
        assert other.request("point_inbox")["cases"] == []
        assert not [e for e in other.events if e["ev"] == "point_cases"], other.events

    async def synced() -> None:
        async with running(point.link()):
            await until(lambda: in_sync(point, town_db), "the case at the town")
            reached_only_the_serving_window()
            assert [c["case"] for c in serving.request("point_inbox")["cases"]] == [case]
            reply = serving.request("point_answer", point=POINT, case=case, kind="town_received")
            assert reply["ok"], reply
            reached_only_the_serving_window()
            point.write(L.CaseAmended(case, note="补充联系人"))   # its entry names only the case
            await until(lambda: in_sync(point, town_db), "the amendment at the town")
            reached_only_the_serving_window()

    asyncio.run(synced())
