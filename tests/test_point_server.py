"""The village point's own server (issue 18): `queue-server point init` from an enrolment code
(a file or the text; a damaged one and a second enrolment refused, nothing written),
`queue-server point serve` (a missing or broken database refused in one Chinese line), every
field of the page's ops checked, a case the agent was told is recorded surviving kill -9, and
the interface the sync calls (`town_entries`, `link_state`, `catalogue`, `wake`) with its
pushes to the pages."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from queue_server.command_line import command_words
from queue_server.points import enrolment as enrol
from queue_server.points import ledger as L
from queue_server.points.point_server import PointServer
from queue_server.points.point_store import PointStore
from tests.live_point import ENROLMENT, LivePoint, cli

# What a point's server must not carry (docs/points.md#figures): the hall's command line and
# modules, and SQLAlchemy's ORM that the hall's schema loads.
HALL_ONLY = ("queue_server.cli", "queue_server.store.schema", "queue_server.hall_toml",
             "queue_server.hall_state", "queue_server.store.accounts", "sqlalchemy.orm")


def test_the_points_commands_take_the_light_path_without_the_halls_modules(tmp_path) -> None:
    assert command_words(["point", "serve", "--port", "0"]) == ("point", "serve")
    assert command_words(["--db", "sqlite:///p.db", "--hall", "x", "point", "init"]) == \
        ("point", "init")
    assert command_words(["--db", "point", "point", "enrol"]) == ("point", "enrol")
    # What `queue-server point serve` imports before it serves: its parser and every module
    # of the point's server (run in a fresh interpreter, as the command is).
    probe = ("import sys\n"
             "from queue_server.points import point_cli\n"
             f"point_cli.main(['point', 'serve', '--db', 'sqlite:///{tmp_path / 'p.db'}'])\n"
             f"print(sorted(m for m in {HALL_ONLY!r} if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60)
    assert "代办点数据库不存在" in done.stderr
    assert done.stdout.strip() == "[]", done.stdout
    # The hall's commands still go the full way, and `point enrol` is one of them.
    done = subprocess.run([sys.executable, "-m", "queue_server", "--db",
                           f"sqlite:///{tmp_path / 'h.db'}", "point", "list"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "错误" in done.stderr and "Traceback" not in done.stderr


def test_point_init_takes_a_code_as_a_file_or_text_and_refuses_a_damaged_one(tmp_path) -> None:
    code = enrol.encode(ENROLMENT)
    damaged = tmp_path / "damaged.txt"
    damaged.write_text(code[:40] + ("A" if code[40] != "A" else "B") + code[41:], encoding="utf-8")
    done = cli("point", "init", "--code", str(damaged), "--db", f"sqlite:///{tmp_path / 'a.db'}")
    assert done.returncode == 1 and not (tmp_path / "a.db").exists()
    assert "登记码不完整或有字符抄错（校验不符），请重新复制整段登记码，未做任何改动" in done.stderr
    done = cli("point", "init", "--code", str(tmp_path / "登记码.txt"),
               "--db", f"sqlite:///{tmp_path / 'a.db'}")
    assert done.returncode == 1 and "找不到登记码文件" in done.stderr
    done = cli("point", "init", "--code", "hello", "--db", f"sqlite:///{tmp_path / 'a.db'}")
    assert done.returncode == 1 and "这不是代办点登记码" in done.stderr
    assert not (tmp_path / "a.db").exists()

    # the text itself, as pasted with a line break
    done = cli("point", "init", "--code", f"{code[:50]}\n{code[50:]}",
               "--db", f"sqlite:///{tmp_path / 'a.db'}")
    assert done.returncode == 0, done.stderr
    assert "已登记为代办点 / enrolled: P07 李庄村便民服务站，代办至 城关镇便民服务中心；事项目录第 4 版，8 个事项" \
        in done.stdout
    assert PointStore(f"sqlite:///{tmp_path / 'a.db'}").enrolment() == ENROLMENT
    done = cli("point", "init", "--code", code, "--db", f"sqlite:///{tmp_path / 'a.db'}")
    assert done.returncode == 1 and "本机已登记为代办点，不能再次登记" in done.stderr

    done = cli("point", "serve", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert done.returncode == 1 and not (tmp_path / "none.db").exists()
    assert "代办点数据库不存在" in done.stderr and "queue-server point init" in done.stderr
    (tmp_path / "text.db").write_text("not a database")
    done = cli("point", "serve", "--db", f"sqlite:///{tmp_path / 'text.db'}")
    assert done.returncode == 1 and "不是 SQLite 数据库文件" in done.stderr
    assert (tmp_path / "text.db").read_text() == "not a database"
    PointStore(f"sqlite:///{tmp_path / 'empty.db'}").engine.dispose()   # a store, not enrolled
    done = cli("point", "serve", "--db", f"sqlite:///{tmp_path / 'empty.db'}")
    assert done.returncode == 1 and "本机尚未登记为代办点" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


RECORD = {"name": "张三", "phone": "13800001111", "item": "X1", "materials": ["身份证"],
          "agent": "王芳"}


REFUSED = [
    ("record", {**RECORD, "phone": "1380000111"}, "请填写正确的电话号码"),
    ("record", {**RECORD, "name": "  "}, "参数 name：不能为空"),
    ("record", {**RECORD, "item": "X9"}, "该事项不在本代办点的目录中"),
    ("record", {**RECORD, "materials": ["结婚证"]}, "“结婚证”不在“最低生活保障申请”的材料清单中"),
    ("record", {**RECORD, "materials": ["身份证", "身份证"]}, "材料清单中有重复的项"),
    ("record", {**RECORD, "materials": "身份证"}, "参数 materials：应为不超过 40 项的文本数组"),
    ("record", {k: v for k, v in RECORD.items() if k != "agent"}, "缺少参数：agent"),
    ("record", {**RECORD, "window": 3}, "record 不接受参数 window"),
    ("archive", {"case": "P07-261204-001"}, "操作未生效：该件尚未到这一步"),
    ("archive", {"case": "P07-261204-009"}, "本代办点没有件号为 P07-261204-009 的件"),
    ("supply", {"case": "P07-261204-001", "ask": 1, "materials": ["户口簿"]},
     "补交的材料所答的补正已不再需要"),
    ("visit", {"case": "P07-261204-001", "result": "great"}, "参数 result：应为 satisfied"),
    ("amend", {"case": "P07-261204-001"}, "没有要更正的内容"),
    ("fed_back", {"case": 7}, "参数 case：应为文本"),
    ("hello", {"role": "point"}, "本连接已经 hello 过"),
    ("take_ticket", {"category": "A"}, "未知的操作：take_ticket"),
]


def test_every_action_of_the_page_is_checked_and_refused_in_chinese(tmp_path) -> None:
    point = LivePoint(tmp_path)
    point.start()
    try:
        late = point.client()   # a page that says something before hello
        late.send({"id": 1, "op": "record", **RECORD})
        assert late.reply()["error"]["message"] == "请先发送 hello"
        page = point.hello()
        assert page.request("record", **RECORD)["case"]["case"] == "P07-261204-001"
        for op, params, words in REFUSED:
            reply = page.request(op, **params)
            assert not reply["ok"] and words in reply["error"]["message"], (op, reply)
        assert [c["case"] for c in point.hello().hello["cases"]] == ["P07-261204-001"]
        assert page.request("record", **RECORD)["case"]["case"] == "P07-261204-002"
    finally:
        point.stop()


def test_a_case_the_agent_was_told_is_recorded_survives_kill_9(tmp_path) -> None:
    point = LivePoint(tmp_path)
    point.start()
    page = point.hello()
    assert page.request("record", **RECORD)["ok"]
    reply = page.request("withdraw", case="P07-261204-001", reason="群众不办了")
    assert reply["ok"] and reply["case"]["stage"] == "withdrawn"
    assert page.request("record", **{**RECORD, "name": "李梅"})["case"]["case"] == "P07-261204-002"
    point.kill()   # at once after the reply: no clean shutdown
    point.clients.close()
    point.start()
    page = point.hello()
    cases = {c["case"]: c for c in page.hello["cases"]}
    assert cases["P07-261204-001"]["stage"] == "withdrawn"
    assert cases["P07-261204-002"]["name"] == "李梅"
    assert page.hello["link"]["pending"] == 3 and page.hello["link"]["connected"] is False
    again = page.request("record", **{**RECORD, "phone": "１３９ ００００ ０２２２"})   # full-width
    assert again["case"]["case"] == "P07-261204-003" and again["case"]["phone"] == "13900000222"
    point.stop()


async def _next(ws, kind: str) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if message.get("ev") == kind:
            return message


def test_the_sync_hands_the_towns_entries_link_and_catalogue_to_the_pages(tmp_path) -> None:
    store = PointStore(f"sqlite:///{tmp_path / 'point.db'}")
    store.enrol(ENROLMENT)

    async def drive() -> None:
        server = PointServer(store)
        # the real clock tells the point's own time (the page shows 最近联系 HH:MM cut from it)
        assert server.clock().utcoffset() == timedelta(hours=8)
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        running = asyncio.create_task(server.run("127.0.0.1", 0, ready.set_result, sync=False))
        url = (await ready).replace("http", "ws", 1) + "/ws"
        with pytest.raises(InvalidStatus):   # a page of another site
            await connect(url, origin="http://evil.example")   # type: ignore[arg-type]
        async with connect(url) as ws:
            await ws.send(json.dumps({"id": 1, "op": "hello", "role": "point"}))
            hello = json.loads(await ws.recv())
            assert hello["link"] == {"connected": False, "last_contact": None, "pending": 0,
                                     "clock_offset_seconds": None, "clock_warning": None,
                                     "error": None, "restoring": None, "refused": False}
            assert not server.wake.is_set()
            await ws.send(json.dumps({"id": 2, "op": "record", **RECORD}))
            number = (await _next(ws, "cases"))["cases"][0]["case"]
            assert server.wake.is_set()

            # the town received it and asks for more (stored by the sync, then handed on)
            entries = [L.Entry(1, "2026-12-07T10:00:00+08:00", 1, L.TownReceived(number, 2, "孙丽")),
                       L.Entry(2, "2026-12-07T10:05:00+08:00", 1,
                               L.TownAsked(number, "请补交户口簿", "孙丽"))]
            store.receive(entries)
            server.town_entries(entries)
            case = (await _next(ws, "cases"))["cases"][0]
            assert case["stage"] == "delivered" and case["ask"]["what"] == "请补交户口簿"
            assert case["actions"] == ["amend", "supply"]

            server.link_state({"connected": True, "last_contact": "2026-12-07T10:06:00+08:00",
                               "pending": 0, "clock_offset_seconds": -600, "error": None})
            link = (await _next(ws, "link"))["link"]
            assert link["connected"] and link["pending"] == 0
            assert link["clock_warning"] == "本机时钟与乡镇相差 10 分钟，请校准"

            server.catalogue(5, (enrol.CatalogueItem("Y1", "临时救助申请", ("身份证",)),))
            catalogue = (await _next(ws, "catalogue"))["catalogue"]
            assert catalogue == {"version": 5, "items": [
                {"code": "Y1", "name": "临时救助申请", "materials": ["身份证"]}]}

            # a withdrawal written here while the town, not having seen it, received the case
            await ws.send(json.dumps({"id": 3, "op": "record", **{**RECORD, "item": "Y1"}}))
            second = (await _next(ws, "cases"))["cases"][0]["case"]
            await ws.send(json.dumps({"id": 4, "op": "withdraw", "case": second,
                                      "reason": "不办了"}))
            assert (await _next(ws, "cases"))["cases"][0]["stage"] == "withdrawn"
            crossed = [L.Entry(3, "2026-12-07T10:10:00+08:00", 2, L.TownReceived(second, 2, "孙丽"))]
            store.receive(crossed)
            server.town_entries(crossed)
            pushed = await _next(ws, "cases")
            assert pushed["all"]
            case = {c["case"]: c for c in pushed["cases"]}[second]
            assert case["stage"] == "delivered" and case["conflicts"] == ["撤回未生效：乡镇已接收"]
            assert server.cases == L.fold(store.up(), store.down())

            # the town says it holds two more of this point's entries (a backup put back)
            behind = [L.Entry(n, "2026-12-07T11:00:00+08:00", 3, L.CaseRecorded(
                second[:-3] + f"{n:03d}", "李四", "13800002222", "Y1", "临时救助申请", ("身份证",),
                "王芳")) for n in (4, 5)]
            store.put("sync", {"last_contact": None, "town_has": 5, "clock_offset_seconds": 0})
            server.link_state({"connected": True, "last_contact": "2026-12-07T11:01:00+08:00",
                               "pending": 0, "clock_offset_seconds": 0, "error": None})
            link = (await _next(ws, "link"))["link"]
            assert link["restoring"] == "正在从乡镇取回本点的 2 条记录…取回前不能登记或更改"
            await ws.send(json.dumps({"id": 5, "op": "record", **{**RECORD, "item": "Y1"}}))
            while (refused := json.loads(await asyncio.wait_for(ws.recv(), 5))).get("re") != 5:
                pass
            assert refused["error"]["message"].startswith("乡镇有本点的 2 条记录本机还没有")
            assert store.last()[0] == 3
            store.restore(behind)
            server.restored()
            assert (await _next(ws, "cases"))["all"]
            await ws.send(json.dumps({"id": 6, "op": "record", **{**RECORD, "item": "Y1"}}))
            assert (await _next(ws, "cases"))["cases"][0]["case"] == second[:-3] + "006"
        running.cancel()   # as SIGTERM does: the server closes and returns
        await running

    asyncio.run(drive())


def test_at_a_new_day_every_page_gets_the_cases_with_their_warnings_moved(
        tmp_path, monkeypatch) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from queue_server.points import point_server

    monkeypatch.setattr(point_server, "DAY_CHECK_SECONDS", 0.05)
    store = PointStore(f"sqlite:///{tmp_path / 'point.db'}")
    store.enrol(ENROLMENT)
    now = [datetime(2026, 12, 4, 16, 0, tzinfo=ZoneInfo("Asia/Shanghai"))]   # a Friday

    async def drive() -> None:
        server = PointServer(store, clock=lambda: now[0])
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        running = asyncio.create_task(server.run("127.0.0.1", 0, ready.set_result, sync=False))
        async with connect((await ready).replace("http", "ws", 1) + "/ws") as ws:
            await ws.send(json.dumps({"id": 1, "op": "hello", "role": "point"}))
            assert json.loads(await ws.recv())["today"] == "2026-12-04"
            await ws.send(json.dumps({"id": 2, "op": "record", **RECORD}))
            case = (await _next(ws, "cases"))["cases"][0]
            assert (case["due"], case["due_day"]) == (None, "2026-12-10")
            now[0] = datetime(2026, 12, 9, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))   # Wednesday
            pushed = await _next(ws, "cases")
            assert pushed["all"] and pushed["today"] == "2026-12-09"
            assert pushed["cases"][0]["due"] == "yellow"
            now[0] = datetime(2026, 12, 11, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))   # Friday
            assert (await _next(ws, "cases"))["cases"][0]["due"] == "red"
        running.cancel()
        await running

    asyncio.run(drive())


def test_point_backup_copies_a_serving_points_database_that_restores(tmp_path) -> None:
    point = LivePoint(tmp_path)
    point.start()
    try:
        page = point.hello()
        for n in range(3):
            assert page.request("record", **{**RECORD, "name": f"群众{n}"})["ok"]
        copy = tmp_path / "usb" / "point-copy.db"
        copy.parent.mkdir()
        # while the server runs and the agent keeps recording (a second page, its own thread)
        writer = point.hello()
        recording = threading.Thread(target=lambda: [
            writer.request("record", **{**RECORD, "name": f"后来{n}"}) for n in range(20)])
        recording.start()
        done = cli("point", "backup", str(copy), "--db", point.url)
        recording.join(timeout=60)
        assert done.returncode == 0, done.stderr
        assert "已备份代办点 P07 李庄村便民服务站 的数据库到" in done.stdout
        again = cli("point", "backup", str(copy), "--db", point.url)
        assert again.returncode == 1 and "已存在；加 --force 覆盖" in again.stderr
        assert cli("point", "backup", str(copy), "--force", "--db", point.url).returncode == 0
        # the copy is a consistent point: the cases it holds are the first ones, in order
        store = PointStore(f"sqlite:///{copy}")
        numbers = [e.record.case for e in store.up()]
        assert store.enrolment() == ENROLMENT
        store.engine.dispose()
        assert numbers == [f"P07-261204-{n:03d}" for n in range(1, len(numbers) + 1)]
        assert len(numbers) >= 3
    finally:
        point.stop()
    # restoring: the copy put back while the server is stopped
    point.db.unlink()
    shutil.copy(copy, point.db)
    point.start()
    try:
        assert len(point.hello().hello["cases"]) == len(numbers)
    finally:
        point.stop()
    # refusals, in one Chinese line, nothing written
    done = cli("point", "backup", str(tmp_path / "x.db"), "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert done.returncode == 1 and "代办点数据库不存在" in done.stderr
    PointStore(f"sqlite:///{tmp_path / 'empty.db'}").engine.dispose()
    done = cli("point", "backup", str(tmp_path / "x.db"), "--db", f"sqlite:///{tmp_path / 'empty.db'}")
    assert done.returncode == 1 and "本机尚未登记为代办点" in done.stderr
    assert not (tmp_path / "x.db").exists()
