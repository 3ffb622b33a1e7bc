"""A running server tried as an attacker and a careless user would (issue 12).

- Revoking a credential ends the sessions it opened, for every role, at once: a revoked kiosk's
  very next `take_ticket` issues nothing, a revoked display hears nothing more.
- The lockout holds under concurrency: thirty hellos at once, from thirty addresses, for one
  clerk get at most five PINs evaluated.
- A login flood from one address cannot keep a real clerk out.
- No text a client sends can break another client: a lone surrogate anywhere is refused.
- A client that never reads is closed at its bound, and the server's memory stays bounded.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from hall.protocol import CLOSE_REVOKED, OPS
from queue_server.revocation import REASONS
from tests.live_hall import MANAGER, LiveHall


@pytest.fixture
def hall(tmp_path):
    live = LiveHall(tmp_path)
    yield live
    live.stop()


def closed_with(client, timeout: float = 10) -> tuple[int, str]:
    """Read until the server closes the connection; its close code and reason."""
    try:
        while True:
            client.connection.recv(timeout=timeout)
    except ConnectionClosed as closed:
        return closed.rcvd.code, closed.rcvd.reason


def refused_then_closed(client, op: str, **params) -> tuple[int, str]:
    """The next request of an ended session: refused with `unauthorized` if it came before the
    close (a request right after the revoke beats the 0.5 s watch), or the connection is already
    closed. Either way, the close code and reason."""
    try:
        reply = client.request(op, **params)
    except ConnectionClosed as closed:
        return closed.rcvd.code, closed.rcvd.reason
    assert reply["ok"] is False and reply["error"]["code"] == "unauthorized", reply
    assert reply["error"]["message"].startswith(REASONS[client.hello["role"]])
    return closed_with(client)


def tickets_in(hall: LiveHall) -> int:
    import sqlite3

    with sqlite3.connect(hall.db) as db:
        return db.execute("SELECT count(*) FROM events WHERE kind = 'ticket_issued'").fetchone()[0]


# --- 1. revocation --------------------------------------------------------------------------------

def test_a_revoked_kiosk_gets_no_ticket_on_its_open_connection(hall):
    kiosk = hall.hello("kiosk")
    assert kiosk.request("take_ticket", category="A")["ticket"]["number"] == "A001"
    hall.cli("device", "revoke", "kiosk-1")
    assert refused_then_closed(kiosk, "take_ticket", category="A") == (
        CLOSE_REVOKED, "设备令牌已被吊销")
    assert tickets_in(hall) == 1
    again = hall.client().request("hello", role="kiosk", token=hall.tokens["kiosk"])
    assert again["error"]["code"] == "unauthorized"


def test_a_revoked_display_and_pad_hear_nothing_more(hall):
    board, pad, kiosk = hall.hello("display"), hall.hello("pad"), hall.hello("kiosk")
    watcher = hall.hello("manager")
    hall.cli("device", "revoke", "board-1")
    hall.cli("device", "revoke", "pad-1")
    assert closed_with(board) == (CLOSE_REVOKED, "设备令牌已被吊销")
    assert closed_with(pad) == (CLOSE_REVOKED, "设备令牌已被吊销")
    kiosk.request("take_ticket", category="A")
    watcher.wait_event("queue", category="A")
    assert not [e for e in board.events + pad.events if e["ev"] in ("queue", "ticket_issued")]
    offline = [e for e in watcher.events if e["ev"] == "presence" and not e["online"]]
    assert {e["device"] for e in offline} >= {"board-1", "pad-1"}
    assert hall.health()["sessions_revoked"] == 2


def test_a_clerk_whose_pin_is_reset_is_signed_off_the_console(hall):
    clerk = hall.hello("clerk", badge="1001", pin="1111")
    assert clerk.request("sign_in", window=1, post="A")["ok"]
    other = hall.hello("clerk", badge="1002", pin="2222")
    hall.cli("clerk", "set-pin", "1001", "--pin", "8642")
    assert refused_then_closed(clerk, "call_next") == (CLOSE_REVOKED, REASONS["clerk"])
    assert other.request("sign_in", window=2, post="A")["ok"]   # another clerk is untouched
    assert hall.client().request("hello", role="clerk", badge="1001", pin="1111")["ok"] is False
    assert hall.hello("clerk", badge="1001", pin="8642").hello["clerk"]["window"] == 1


def test_a_manager_changed_or_removed_is_signed_out(hall):
    hall.cli("manager", "add", "fuzhuren", "--name", "副主任", "--password", "second-pass-1")
    changed, removed = hall.hello("manager"), hall.hello(
        "manager", user="fuzhuren", password="second-pass-1")
    hall.cli("manager", "add", MANAGER[0], "--name", "主任", "--password", "a-new-password")
    assert closed_with(changed)[0] == CLOSE_REVOKED
    assert removed.request("stats", view="hourly", **{"from": "2026-01-01", "to": "2026-01-01"})["ok"]
    hall.cli("manager", "remove", "fuzhuren")
    assert refused_then_closed(removed, "stats", view="hourly", **{
        "from": "2026-01-01", "to": "2026-01-01"}) == (CLOSE_REVOKED, REASONS["manager"])
    assert hall.hello("manager", user=MANAGER[0], password="a-new-password").hello["ok"]


# --- 2 and 3. the lockout under concurrency, and a login flood ----------------------------------

async def _hello(url: str, address: str, **params) -> tuple[dict, float]:
    async with async_connect(url, local_addr=(address, 0), open_timeout=30) as ws:
        await ws.send(json.dumps({"id": 1, "op": "hello", **params}))
        reply = json.loads(await ws.recv())
        return reply, time.monotonic()


def test_thirty_hellos_at_once_for_one_clerk_get_five_pins_checked(hall):
    async def storm():
        return await asyncio.gather(*(
            _hello(hall.ws, f"127.0.0.{10 + i}", role="clerk", badge="1002", pin="0000")
            for i in range(30)))

    replies = [reply for reply, _ in asyncio.run(storm())]
    checked = [r for r in replies if "还可再试" in r["error"]["message"]
               or r["error"]["message"] == "密码连续输错 5 次，账号已锁定 5 分钟"]
    assert len(checked) == 5
    refused = [r for r in replies if r not in checked]
    assert all(r["error"]["code"] == "unauthorized" and "已锁定" in r["error"]["message"]
               for r in refused)
    assert hall.health()["logins"]["checked"] == 30   # each went to the database, once
    # 1002's right PIN, from yet another address: refused, the badge is locked
    right, _ = asyncio.run(_hello(hall.ws, "127.0.0.99", role="clerk", badge="1002", pin="2222"))
    assert right["error"]["code"] == "unauthorized" and "分钟后再试" in right["error"]["message"]


def test_a_real_clerk_gets_in_during_a_flood_from_one_address(hall):
    async def flood_and_login():
        flood = [asyncio.create_task(_hello(hall.ws, "127.0.0.2", role="clerk",
                                            badge=f"{5000 + i}", pin="0000"))
                 for i in range(200)]
        await asyncio.sleep(0.3)      # the flood is in: its tries are being hashed
        began = time.monotonic()
        real, answered = await _hello(hall.ws, "127.0.0.1", role="clerk", badge="1001", pin="1111")
        return real, answered - began, await asyncio.gather(*flood)

    real, waited, flood = asyncio.run(flood_and_login())
    assert real["ok"], real
    limited = [r for r, _ in flood if r["error"]["code"] == "rate_limited"]
    checked = [(r, at) for r, at in flood if r["error"]["code"] == "unauthorized"]
    assert len(checked) <= 20 and len(limited) >= 180      # the address's limit: 20 at once
    assert all(r["error"]["message"] == "工号或密码不正确（还可再试 4 次）" for r, _ in checked)
    print(f"real login during the flood answered in {waited * 1000:.0f} ms")


# --- 4. text that is not Unicode ----------------------------------------------------------------

BAD = "坏\ud800"
EXAMPLES = {"category": "A", "service": None, "kind": "handle", "priority": "elderly",
            "printer": "ok", "detail": "", "window": 1, "post": "A", "takeover": False,
            "reason": "材料不全", "number": "A001", "to_category": "B", "to_window": 2,
            "note": "", "outcome": "done", "ticket": "A001", "score": 5, "reasons": ["态度"],
            "text": "通知", "warning": 1, "view": "hourly", "from": "2026-01-01",
            "to": "2026-01-01", "month": "2026-01", "by": "hall", "period": "day",
            "what": "kpis", "format": "csv", "since_version": 1, "hall": "small",
            "phone": "13800138000",
            "case": "20260101-01", "measure": "explain", "finding": "核实", "published": "答复",
            "result": "satisfied", "uphold": False,
            "complaint": "TS20260101-001", "channel": "phone", "clerk": "1001",
            "hotline_case": "2026010100001", "name": "李四", "reply": "已答复", "valid": True,
            "status": "closed",
            "day": "2026-01-01", "ratings": [{"ticket": "A001", "score": 2, "reasons": ["态度"]}],
            "slot": "09:00", "id_digits": "1234", "code": "12345678", "point": "P07",
            "voice": {"calls": 0, "seconds": 0, "worst": None}}
# The county's ops are sent on a manager's connection, the mobile page's, the booking page's and
# the citizens' on a kiosk's: a frame is checked (`parse_request`, as the county's socket checks it too) before
# whether the role may send it.
ROLE_OF = {"catalogue": "kiosk", "take_ticket": "kiosk", "device_status": "kiosk", "rate": "pad",
           "take_menu": "kiosk", "complain": "kiosk", "book": "kiosk", "cancel_booking": "kiosk",
           "booking_menu": "kiosk", "booking_slots": "kiosk",
           "county_live": "manager", "county_kpis": "manager", "county_pass": "manager",
           "county_points": "manager"}


def _frames_with_a_surrogate():
    """Every op, with the bad text in each of its parameters in turn, in its name, a key and
    the id."""
    for name, op in OPS.items():
        if name == "hello":
            continue
        params = {**{k: EXAMPLES[k] for k in op.required}}
        role = ROLE_OF.get(name) or op.roles[0]
        yield role, {"id": 7, "op": name, **params, "extra\ud800": 1}
        yield role, {"id": "x\ud800", "op": name, **params}
        for key in [*op.required, *op.optional]:
            value = [BAD] if isinstance(EXAMPLES[key], list) else BAD
            yield role, {"id": 7, "op": name, **params, key: value}
    yield "kiosk", {"id": 7, "op": "take\ud800"}
    for key in OPS["hello"].optional:
        yield None, {"id": 7, "op": "hello", "role": "clerk", key: BAD}


def test_a_lone_surrogate_anywhere_is_refused_and_breaks_nobody(hall):
    board = hall.hello("display")
    sessions = {"kiosk": hall.hello("kiosk"), "pad": hall.hello("pad"),
                "clerk": hall.hello("clerk", badge="1001", pin="1111"),
                "manager": hall.hello("manager"), None: hall.client()}
    seq = hall.health()["seq"]
    covered = set()
    for role, frame in _frames_with_a_surrogate():
        client = sessions[role]
        # ensure_ascii: the surrogate travels as the JSON escape \ud800, valid UTF-8 on the wire
        client.send(json.dumps(frame, ensure_ascii=True))
        reply = client.reply()
        assert reply["ok"] is False and reply["error"]["code"] == "bad_request", (frame, reply)
        assert reply["re"] == (7 if frame["id"] == 7 else None)
        covered.add(frame["op"])
    assert covered >= set(OPS)
    assert hall.health()["seq"] == seq     # nothing reached the core or the log
    for role, client in sessions.items():  # every connection is still open and answers
        if role is not None:
            assert client.request("catalogue" if role in ("kiosk", "manager") else "resume")[
                "re"] is not None
    assert sessions["manager"].request("set_notice", text="今天正常办公")["ok"]
    assert board.wait_event("notice")["text"] == "今天正常办公"
    assert hall.hello("display").hello["snapshot"]["live"]["notice"] == "今天正常办公"
    assert hall.hello("manager").hello["ok"]
    assert "Traceback" not in _stderr_so_far(hall)


def _stderr_so_far(hall: LiveHall) -> str:
    hall.stop()
    return hall.process.stderr.read()


# --- 5. a client that never reads ---------------------------------------------------------------

def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _drain(client) -> None:
    """Take in what has arrived for a test client that does read."""
    while True:
        try:
            client.events.append(json.loads(client.connection.recv(timeout=0)))
        except TimeoutError:
            return


def test_a_display_that_never_reads_is_closed_and_memory_stays_bounded(hall):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # a small window: fills fast
    sock.connect(("127.0.0.1", int(hall.http.rsplit(":", 1)[1])))
    stuck = hall.clients.enter_context(connect(hall.ws, sock=sock, max_queue=1))  # reads 1 frame
    stuck.send(json.dumps({"id": 1, "op": "hello", "role": "display",
                           "token": hall.tokens["display"]}))
    reading, manager = hall.hello("display"), hall.hello("manager")
    before = _rss_kib(hall.process.pid)
    filler = "通知" * 146                                        # ~1 KB a notice frame
    for batch in range(120):                                     # up to 12 MB of notices
        for i in range(100):
            manager.send({"id": i, "op": "set_notice", "text": f"{batch:03}-{i:02} {filler}"})
        for _ in range(100):
            reply = manager.reply()
            assert reply["ok"], reply
        _drain(reading)
        manager.events.clear()
        reading.events.clear()
        if batch % 10 == 9 and hall.health()["fanout"]["dropped_slow"]:
            break
    assert hall.health()["fanout"]["dropped_slow"] == 1
    deadline = time.monotonic() + 10      # the close frame cannot get through: cut after 2 s
    while hall.health()["connections"].get("display") != 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert hall.health()["connections"]["display"] == 1
    grown_mib = (_rss_kib(hall.process.pid) - before) / 1024
    print(f"notices sent: {(batch + 1) * 100}; server memory grew {grown_mib:.1f} MiB")
    assert grown_mib < 40
    assert manager.request("set_notice", text="最后一条")["ok"]
    assert reading.wait_event("notice", text="最后一条")
    sock.close()


# --- the clients' side of the close codes ----------------------------------------------------------

def test_the_device_client_says_its_token_was_revoked(hall):
    from hall.client import HallClient

    statuses: list[tuple[bool, str]] = []

    async def scenario():
        client = HallClient([hall.ws], {"role": "display", "token": hall.tokens["display"]},
                            on_status=lambda ok, text: statuses.append((ok, text)),
                            first_delay=0.1, max_delay=30)
        runner = asyncio.create_task(client.run())
        while not client.connected:
            await asyncio.sleep(0.02)
        await asyncio.to_thread(hall.cli, "device", "revoke", "board-1")
        while client.connected or len(statuses) < 2:
            await asyncio.sleep(0.02)
        await client.stop()
        runner.cancel()

    asyncio.run(asyncio.wait_for(scenario(), 30))
    assert statuses == [(True, "已连接"), (False, "服务器拒绝连接：设备令牌已被吊销，请联系管理员")]


# --- in process: the writer and the revocation check without races ------------------------------

@pytest.fixture
def kiosks_db(tmp_path):
    """A hall in a SQLite file with two kiosks; (engine, hall_id, the kiosks' sessions)."""
    from datetime import UTC, datetime

    from queue_server.hall_toml import parse_hall
    from queue_server.store import devices, hall_records
    from queue_server.store.database import migrate, open_engine
    from tests.live_hall import ROUND_THE_CLOCK

    engine = open_engine(f"sqlite:///{tmp_path / 'hall.db'}")
    migrate(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        hall_id, _ = hall_records.save_definition(conn, parse_hall(ROUND_THE_CLOCK), now)
        for name in ("kiosk-1", "kiosk-2"):
            devices.add_device(conn, hall_id, "kiosk", name, None, {1, 2, 3, 4}, now)
        ids = {d.name: d.id for d in devices.list_devices(conn, hall_id)}
    yield engine, hall_id, [KioskSession(ids["kiosk-1"]), KioskSession(ids["kiosk-2"])]
    engine.dispose()


class KioskSession:
    def __init__(self, device_id: int):
        self.role, self.credential, self.ended = "kiosk", ("device", device_id), None

    def end(self, reason: str) -> None:
        self.ended = reason


def _revoke(engine, hall_id: int, name: str) -> None:
    from datetime import UTC, datetime

    from queue_server.store import devices

    with engine.begin() as conn:
        devices.revoke_device(conn, hall_id, name, datetime.now(UTC))


def test_a_command_queued_before_the_revoke_is_refused_not_written(kiosks_db):
    """A kiosk's take_ticket is in the writer's queue when its token is revoked in the
    database: the batch's commit finds the credentials changed and writes nothing, the check
    ends the session and its command is refused, and the other kiosk's command is decided
    again and written."""
    from datetime import UTC, datetime

    from queue_server import commands as cmd
    from queue_server.hall_service import HallService
    from queue_server.revocation import Revocation
    from queue_server.writer import SessionEnded, Writer

    engine, hall_id, kiosks = kiosks_db
    service = HallService(engine, None, datetime.now(UTC))
    revocation = Revocation(engine, hall_id, lambda: kiosks)
    writer = Writer(service, lambda state, events: None, lambda messages: None,
                    credentials=revocation)

    async def scenario():
        take = [asyncio.create_task(writer.submit(cmd.TakeTicket("A", "handle", "normal", None),
                                                  by=k)) for k in kiosks]
        await asyncio.sleep(0)            # both are queued; the writer has not run yet
        _revoke(engine, hall_id, "kiosk-1")
        runner = asyncio.create_task(writer.run())
        results = await asyncio.gather(*take, return_exceptions=True)
        runner.cancel()
        return results

    refused, issued = asyncio.run(scenario())
    assert isinstance(refused, SessionEnded)
    assert kiosks[0].ended == "设备令牌已被吊销" and kiosks[1].ended is None
    assert [e.data.number for e in issued.events if e.kind == "ticket_issued"] == ["A001"]
    assert list(service.state.tickets) == ["A001"]


def test_a_credentials_change_that_ends_nobody_in_the_batch_only_sends_it_again(kiosks_db):
    """kiosk-2 is revoked while kiosk-1's take_ticket is queued: the commit finds the version
    moved and writes nothing, the check ends kiosk-2, and the same decided batch is committed
    against the new version, without the state being rebuilt."""
    from datetime import UTC, datetime

    from queue_server import commands as cmd
    from queue_server.hall_service import HallService
    from queue_server.revocation import Revocation
    from queue_server.writer import Writer

    engine, hall_id, kiosks = kiosks_db
    service = HallService(engine, None, datetime.now(UTC))
    state = service.state
    revocation = Revocation(engine, hall_id, lambda: kiosks)
    writer = Writer(service, lambda state, events: None, lambda messages: None,
                    credentials=revocation)

    async def scenario():
        take = asyncio.create_task(writer.submit(cmd.TakeTicket("A", "handle", "normal", None),
                                                 by=kiosks[0]))
        await asyncio.sleep(0)
        _revoke(engine, hall_id, "kiosk-2")
        runner = asyncio.create_task(writer.run())
        outcome = await take
        runner.cancel()
        return outcome

    outcome = asyncio.run(scenario())
    assert kiosks[0].ended is None and kiosks[1].ended == "设备令牌已被吊销"
    assert [e.data.number for e in outcome.events if e.kind == "ticket_issued"] == ["A001"]
    assert service.state is state and list(state.tickets) == ["A001"]
    assert writer.committed_seq == state.seq == HallService(engine, None, datetime.now(UTC)).state.seq


def test_a_session_admitted_after_a_check_it_missed_is_checked_on_its_own(kiosks_db):
    """A hello read its credentials, then (while a PIN hash ran on another thread) a revoke
    was handled without it: on joining it is checked by itself. Without a change meanwhile it
    costs nothing and ends nothing."""
    from queue_server.revocation import Revocation

    engine, hall_id, (first, second) = kiosks_db
    revocation = Revocation(engine, hall_id, lambda: [second])
    seen = revocation.version
    _revoke(engine, hall_id, "kiosk-1")
    revocation.check()                  # the others' check: `first` was not among them yet
    assert first.ended is None and revocation.version != seen
    revocation.admit(first, seen)
    assert first.ended == "设备令牌已被吊销"
    revocation.admit(second, revocation.version)
    assert second.ended is None


def test_a_bad_text_stored_by_an_older_version_breaks_no_hello_and_no_event(hall):
    """A notice with a lone surrogate already in the log (the server took one before it
    checked frames): every hello still works and gets it \\u-escaped, and events still flow."""
    from datetime import UTC, datetime

    from queue_server.events import Event, NoticeSet
    from queue_server.store import event_log, hall_records
    from queue_server.store.database import open_engine

    manager = hall.hello("manager")
    assert manager.request("set_notice", text="今天正常办公")["ok"]
    seq, day = hall.health()["seq"], hall.health()["service_day"]
    hall.stop()
    engine = open_engine(f"sqlite:///{hall.db}")
    with engine.begin() as conn:
        hall_id = hall_records.hall_id_for(conn, None)
        event_log.append(conn, hall_id, [Event(seq + 1, datetime.now(UTC),
                                               datetime.fromisoformat(day).date(),
                                               NoticeSet("坏\ud800通知", "旧版本"))])
    engine.dispose()
    hall.start()
    for role in ("display", "manager", "kiosk"):
        assert hall.hello(role).hello["snapshot"]["live"]["notice"] == "坏\ud800通知"
    board, kiosk = hall.hello("display"), hall.hello("kiosk")
    assert kiosk.request("take_ticket", category="A")["ok"]
    assert board.wait_event("queue", category="A")["waiting"] == 1
