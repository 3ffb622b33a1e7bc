"""The live protocol against a real server process: the happy path and every kind of violation.

Each violation checks the error code, whether the connection survives, and that the hall's
state did not change (the event log's seq, read from /healthz, stays where it was).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date, datetime, timedelta

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from queue_server.ticket_tokens import make_token
from tests.live_hall import LiveHall


@pytest.fixture
def hall(tmp_path):
    live = LiveHall(tmp_path)
    yield live
    assert live.stop() == 0


@pytest.fixture
def limited_hall(tmp_path):
    live = LiveHall(tmp_path, "--take-limit", "3/60")
    yield live
    live.stop()


def test_a_ticket_from_kiosk_to_window(hall):
    board = hall.hello("display")
    assert board.hello["snapshot"]["hall"]["name"] == "测试镇便民服务中心"
    kiosk = hall.hello("kiosk")
    assert kiosk.hello["catalogue_version"] == 1
    taken = kiosk.request("take_ticket", category="A", priority="elderly")
    ticket = taken["ticket"]
    assert taken["ok"] and ticket["number"] == "A001" and ticket["ahead"] == 0
    assert [w["window"] for w in ticket["windows"]] == [1, 3, 4]   # window 3 serves C, B, A
    assert ticket["url"].startswith(hall.http + "/t/")
    queue = board.wait_event("queue", category="A")
    assert (queue["waiting"], queue["next"]) == (1, ["A001"])

    clerk = hall.hello("clerk", badge="1001", pin="1111")
    assert clerk.hello["clerk"]["me"]["name"] == "张敏"
    assert clerk.request("call_next")["error"] == {"code": "conflict",
                                                  "message": "请先签到到您的窗口"}
    assert clerk.request("sign_in", window=1, post="A")["ok"]
    called = clerk.request("call_next")
    assert called["ticket"]["number"] == "A001"
    event = board.wait_event("ticket_called")
    assert (event["number"], event["window"], event["window_name"], event["recall"]) == (
        "A001", 1, "社保窗口", 0)
    assert event["at"].endswith("+08:00")

    pad = hall.hello("pad")
    citizen = hall.hello("citizen", ticket=ticket["token"])
    assert citizen.hello["ticket"]["status_text"] == "请到 1 号窗口"
    assert clerk.request("finish", outcome="done")["ok"]
    assert pad.wait_event("rating_requested")["ticket"] == "A001"
    assert citizen.wait_event("ticket")["status"] == "finished"
    assert pad.request("rate", ticket="A001", score=5)["ok"]
    again = citizen.request("rate", score=4)
    assert again["error"]["code"] == "conflict"
    health = hall.health()
    assert health["connections"] == {"display": 1, "kiosk": 1, "clerk": 1, "pad": 1, "citizen": 1}
    assert health["writer"]["commands"] >= 5 and health["fanout"]["frames"] >= 10


def test_a_kiosk_may_pipeline_and_a_clerk_is_answered_in_order(hall):
    kiosk = hall.hello("kiosk")
    for n in range(1, 6):     # sent back to back (5: the default burst), not waiting for replies
        kiosk.send({"id": n, "op": "take_ticket", "category": "A"})
    kiosk.send({"id": 6, "op": "call_next"})
    kiosk.send({"id": 7, "op": "take_ticket", "category": "A"})
    replies = {r["re"]: r for r in (kiosk.reply() for _ in range(7))}
    assert [replies[n]["ticket"]["number"] for n in range(1, 6)] == [
        f"A{n:03d}" for n in range(1, 6)]      # numbered in the order the frames came
    assert replies[6]["error"]["code"] == "forbidden"
    assert replies[7]["error"]["code"] == "rate_limited"

    clerk = hall.hello("clerk", badge="1001", pin="1111")
    clerk.send({"id": 1, "op": "sign_in", "window": 1, "post": "A"})
    clerk.send({"id": 2, "op": "call_next"})    # must see the sign-in before it
    assert clerk.reply()["re"] == 1
    called = clerk.reply()
    assert called["re"] == 2 and called["ticket"]["number"] == "A001"


@pytest.fixture
def unlimited_hall(tmp_path):
    live = LiveHall(tmp_path, "--take-limit", "0")
    yield live
    assert live.stop() == 0


def _issued(hall) -> set[str]:
    """The numbers of the tickets in the hall's log: committed."""
    connection = sqlite3.connect(hall.db)
    try:
        return {json.loads(data)["number"] for (data,) in connection.execute(
            "select data from events where kind = 'ticket_issued'")}
    finally:
        connection.close()


def test_a_pipelining_kiosk_is_answered_in_request_order_each_reply_after_its_commit(
        unlimited_hall):
    """Forty requests back to back (more than a connection has answered at once, 32): each
    reply comes in the order of the requests, a refusal by the core in its place, and only
    once its ticket is in the log."""
    kiosk = unlimited_hall.hello("kiosk")
    categories = ["Z" if n % 10 == 0 else "AB"[n % 2] for n in range(1, 41)]   # Z: no such
    for n, category in enumerate(categories, 1):
        kiosk.send({"id": n, "op": "take_ticket", "category": category})
    numbers = []
    for n, category in enumerate(categories, 1):
        reply = kiosk.reply()
        assert reply["re"] == n
        if category == "Z":
            assert reply["error"]["code"] == "not_found", reply
            continue
        numbers.append(reply["ticket"]["number"])
        assert numbers[-1] in _issued(unlimited_hall)
    assert numbers == [f"{c}{categories[:n].count(c) + 1:03d}"
                       for n, c in enumerate(categories) if c != "Z"]


def test_requests_of_a_kiosk_that_went_away_are_carried_out_and_harm_nobody(unlimited_hall):
    """A kiosk that closes with its requests still being answered: they are written all the
    same (the writer has them), their replies go nowhere, and the next kiosk goes on."""
    gone = unlimited_hall.hello("kiosk")
    for n in range(1, 21):
        gone.send({"id": n, "op": "take_ticket", "category": "A"})
    gone.close()
    kiosk = unlimited_hall.hello("kiosk")
    assert kiosk.request("take_ticket", category="A")["ticket"]["number"] == "A021"
    assert unlimited_hall.health()["connections"] == {"kiosk": 1}
    assert unlimited_hall.stop() == 0
    assert "Traceback" not in unlimited_hall.process.stderr.read()


FAILING_SERVER = """
import sys
from queue_server import ops, sessions
command_for, ticket_reply = ops.command_for, sessions.Session._ticket_reply

def failing_command(op, params, *rest):
    if params.get("category") == "B":
        raise RuntimeError("a bug making the command")
    return command_for(op, params, *rest)

def failing_reply(session, outcome):
    if outcome.events[0].data.category == "C":
        raise RuntimeError("a bug making the reply")
    return ticket_reply(session, outcome)

ops.command_for, sessions.Session._ticket_reply = failing_command, failing_reply
from queue_server.cli import main
sys.exit(main(["serve", "--port", "0"]))
"""


def test_a_request_that_fails_is_logged_and_its_connection_closed_1011(tmp_path):
    """A bug met taking up a pipelined request (making its command) or making its reply once
    committed: logged, and the connection closed with 1011; the hall goes on serving."""
    hall = LiveHall(tmp_path)
    hall.stop()   # its database, served below by a server with those two bugs put in
    server = subprocess.Popen([sys.executable, "-c", FAILING_SERVER], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "QUEUE_DB": f"sqlite:///{hall.db}"})
    try:
        url = server.stdout.readline().split("serving at ")[1].split()[0]
        url = url.replace("http", "ws", 1) + "/ws"
        for taken in ({"category": "B"}, {"category": "C", "kind": "consult"}):
            with connect(url, open_timeout=5) as kiosk:
                kiosk.send(json.dumps({"id": 1, "op": "hello", "role": "kiosk",
                                       "token": hall.tokens["kiosk"]}))
                assert json.loads(kiosk.recv(timeout=5))["ok"]
                kiosk.send(json.dumps({"id": 2, "op": "take_ticket", **taken}))
                with pytest.raises(ConnectionClosed) as closed:
                    while True:   # events (the queue's view) may come first: no reply
                        assert "re" not in json.loads(kiosk.recv(timeout=5))
                assert closed.value.rcvd.code == 1011
        with connect(url, open_timeout=5) as kiosk:
            kiosk.send(json.dumps({"id": 1, "op": "hello", "role": "kiosk",
                                   "token": hall.tokens["kiosk"]}))
            kiosk.send(json.dumps({"id": 2, "op": "take_ticket", "category": "A"}))
            replies: list[dict] = []
            while len(replies) < 2:   # the hello's and the ticket's, events skipped
                message = json.loads(kiosk.recv(timeout=5))
                replies += [message] if "re" in message else []
            assert replies[1]["ticket"]["number"] == "A001"
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert server.stderr.read().count("answering a kiosk failed") == 2


def test_clerk_pin_lockout(hall):
    client = hall.client()
    for tries_left in (4, 3, 2, 1):
        reply = client.request("hello", role="clerk", badge="1002", pin="0000")
        assert reply["error"] == {"code": "unauthorized",
                                  "message": f"工号或密码不正确（还可再试 {tries_left} 次）"}
    reply = client.request("hello", role="clerk", badge="1002", pin="0000")
    assert "已锁定" in reply["error"]["message"]
    reply = client.request("hello", role="clerk", badge="1002", pin="2222")   # the right PIN
    assert reply["error"]["code"] == "unauthorized" and "分钟后再试" in reply["error"]["message"]
    # An unknown badge is answered, counted and locked exactly like a real one.
    unknown = hall.client()
    for tries_left in (4, 3, 2, 1):
        other = unknown.request("hello", role="clerk", badge="9999", pin="1234")
        assert other["error"] == {"code": "unauthorized",
                                  "message": f"工号或密码不正确（还可再试 {tries_left} 次）"}
    assert unknown.request("hello", role="clerk", badge="9999", pin="1234")["error"][
        "message"] == "密码连续输错 5 次，账号已锁定 5 分钟"


@pytest.mark.parametrize(("params", "message"), [
    ({"role": "kiosk", "token": "not-a-token"}, "设备令牌无效或已被吊销"),
    ({"role": "kiosk"}, "缺少设备令牌"),
    ({"role": "manager", "user": "zhuren", "password": "wrong-password"}, "用户名或密码不正确"),
    ({"role": "citizen", "ticket": "20261123A001-AAAAAAAAAAAAAAAAAAAAAA"}, "二维码无效"),
])
def test_bad_credentials(hall, params, message):
    client = hall.client()
    reply = client.request("hello", **params)
    assert reply["error"]["code"] == "unauthorized" and message in reply["error"]["message"]
    assert client.request("hello", role="display", token=hall.tokens["display"])["ok"]


def test_device_token_works_only_for_its_role(hall):
    reply = hall.client().request("hello", role="display", token=hall.tokens["kiosk"])
    assert reply["error"]["message"] == "此令牌属于取号机，不能以显示屏身份连接"


def test_yesterdays_ticket_token_has_expired(hall):
    kiosk = hall.hello("kiosk")
    token = kiosk.request("take_ticket", category="A")["ticket"]["token"]
    rest = token[8:]
    secret = sqlite3.connect(hall.db).execute("select secret from halls").fetchone()[0]
    old = make_token(secret, date(2020, 1, 1), "A001")
    reply = hall.client().request("hello", role="citizen", ticket=old)
    assert reply["error"]["message"] == "这张小票已过期（只在取号当天有效）"
    forged = hall.client().request("hello", role="citizen", ticket="20200101" + rest)
    assert forged["error"]["message"] == "二维码无效，请扫描小票上的二维码"


@pytest.mark.parametrize(("role", "op", "params"), [
    ("kiosk", "call_next", {}),
    ("display", "take_ticket", {"category": "A"}),
    ("pad", "sign_in", {"window": 1, "post": "A"}),
    ("kiosk", "set_notice", {"text": "放假"}),
    ("citizen", "call_next", {}),
])
def test_roles_are_enforced(hall, role, op, params):
    if role == "citizen":
        token = hall.hello("kiosk").request("take_ticket", category="B")["ticket"]["token"]
        client = hall.hello("citizen", ticket=token)
    else:
        client = hall.hello(role)
    seq = hall.health()["seq"]
    reply = client.request(op, **params)
    assert reply["error"]["code"] == "forbidden"
    assert hall.health()["seq"] == seq
    assert client.request("catalogue")["ok"] == (role == "kiosk")   # and the session goes on


def test_a_clerk_acts_only_at_their_own_window(hall):
    zhang = hall.hello("clerk", badge="1001", pin="1111")
    li = hall.hello("clerk", badge="1002", pin="2222")
    assert zhang.request("sign_in", window=2, post="A")["error"]["code"] == "forbidden"
    assert zhang.request("sign_in", window=1, post="A")["ok"]
    taken = li.request("sign_in", window=1, post="B")
    assert taken["error"]["code"] == "conflict" and "已由张敏（A岗）签到" in taken["error"]["message"]
    assert li.request("sign_in", window=2, post="A")["ok"]
    hall.hello("kiosk").request("take_ticket", category="A")
    assert zhang.request("call_next")["ticket"]["number"] == "A001"
    # 李强 at window 2 cannot finish 张敏's ticket: his own window has none.
    assert li.request("finish", outcome="done")["error"]["code"] == "conflict"
    assert zhang.request("finish", outcome="done")["ok"]


def test_a_pad_rates_only_its_own_windows_tickets_once(hall):
    kiosk, clerk = hall.hello("kiosk"), hall.hello("clerk", badge="1004", pin="4444")
    kiosk.request("take_ticket", category="A")
    clerk.request("sign_in", window=4, post="A")
    clerk.request("call_next")
    clerk.request("finish", outcome="done")
    pad = hall.hello("pad")    # the pad of window 1
    reply = pad.request("rate", ticket="A001", score=5)
    assert reply["error"] == {"code": "forbidden", "message": "A001 号不是本窗口办结的号"}
    assert pad.request("rate", score=5)["error"]["message"] == "缺少参数：ticket"


def test_manager_notice_reaches_boards_and_kiosks(hall):
    board, kiosk, manager = hall.hello("display"), hall.hello("kiosk"), hall.hello("manager")
    assert manager.request("set_notice", text="今天下午 3 点起社保系统升级，请提前办理")["ok"]
    assert board.wait_event("notice")["text"].startswith("今天下午")
    assert kiosk.wait_event("notice")["text"].startswith("今天下午")
    assert hall.hello("display").hello["snapshot"]["live"]["notice"].startswith("今天下午")


def test_a_board_that_says_bundle_gets_a_calls_events_in_fewer_frames(hall):
    """A call gives a board `ticket_called`, its window and its queue. A board whose hello said
    `bundle` (as `hall.client` does) gets the same events in the same order, in fewer frames:
    the events of one fan-out as one JSON array (a view held by the 0.1 s rule comes in a later
    fan-out); a board that did not, one frame each."""
    bundled, plain = hall.hello("display", bundle=True), hall.hello("display")
    kiosk, clerk = hall.hello("kiosk"), hall.hello("clerk", badge="1001", pin="1111")
    assert clerk.request("sign_in", window=1, post="A")["ok"]
    assert kiosk.request("take_ticket", category="A")["ok"]
    assert clerk.request("call_next")["ok"]

    def frames(board, until) -> list:
        got: list = []
        while not until(got):
            got.append(json.loads(board.connection.recv(timeout=5)))
        return got

    def flat(got: list) -> list[dict]:
        return [m for frame in got for m in (frame if isinstance(frame, list) else [frame])]

    def called(got: list) -> bool:
        events = flat(got)
        return any(m["ev"] == "ticket_called" for m in events) and any(
            m["ev"] == "queue" and m["seq"] == events[-1]["seq"] for m in events) and any(
            m["ev"] == "window" and m["current"] == "A001" for m in events)

    plain_frames = frames(plain, called)
    bundled_frames = frames(bundled, lambda got: len(flat(got)) >= len(plain_frames))
    assert flat(bundled_frames) == plain_frames
    assert [m["ev"] for m in plain_frames[-3:]] == ["ticket_called", "window", "queue"]
    assert all(isinstance(frame, dict) for frame in plain_frames)
    assert len(bundled_frames) < len(plain_frames)
    assert any(isinstance(frame, list) for frame in bundled_frames)
    assert hall.client().request("hello", role="display", token=hall.tokens["display"],
                                 bundle="yes")["error"] == {
        "code": "bad_request", "message": "参数 bundle：应为 true 或 false"}


MALFORMED = [
    ("not json", None, "bad_request"),
    ("[1, 2]", None, "bad_request"),
    ('"text"', None, "bad_request"),
    ('{"id": 5}', 5, "bad_request"),
    ('{"id": 6, "op": "launch_rockets"}', 6, "unknown_op"),
    ('{"id": 7, "op": "take_ticket", "category": 12}', 7, "bad_request"),
    ('{"id": 8, "op": "take_ticket", "category": "A", "kind": "party"}', 8, "bad_request"),
    ('{"id": 9, "op": "take_ticket", "category": "A", "extra": 1}', 9, "bad_request"),
    ('{"id": 10, "op": "take_ticket"}', 10, "bad_request"),
    ('{"id": 11, "op": "device_status", "printer": "ok", "detail": 1e309}', 11, "bad_request"),
    ('{"id": 99999999999999999999999, "op": "catalogue"}', None, "bad_request"),
    ('{"id": {"x": 1}, "op": "catalogue"}', None, "bad_request"),
    ('{"id": 12, "op": "catalogue", "since_version": 99999999999999999999}', 12, "bad_request"),
    ('{"id": 13, "op": "catalogue", "since_version": true}', 13, "bad_request"),
    ("[" * 30_000 + "]" * 30_000, None, "bad_request"),   # nested too deep for the parser
]


@pytest.mark.parametrize(("frame", "re", "code"), MALFORMED)
def test_malformed_frames_get_an_error_and_the_connection_stays(hall, frame, re, code):
    kiosk = hall.hello("kiosk")
    seq = hall.health()["seq"]
    kiosk.send(frame)
    reply = kiosk.reply()
    assert (reply["re"], reply["ok"], reply["error"]["code"]) == (re, False, code)
    assert reply["error"]["message"]
    assert kiosk.request("catalogue")["ok"]
    assert hall.health()["seq"] == seq


def test_no_hello_first(hall):
    client = hall.client()
    assert client.request("take_ticket", category="A")["error"]["code"] == "unauthorized"
    assert client.request("hello", role="kiosk", token=hall.tokens["kiosk"])["ok"]
    assert client.request("hello", role="kiosk", token=hall.tokens["kiosk"])["error"]["code"] == \
        "conflict"


def test_a_connection_without_hello_is_closed_after_10_s(hall):
    silent, greeted = hall.client(), hall.hello("display")
    with pytest.raises(ConnectionClosed) as closed:
        silent.connection.recv(timeout=20)
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "hello expected within 10 s")
    assert greeted.request("catalogue")["error"]["code"] == "forbidden"   # still open


def test_binary_frames_are_refused(hall):
    kiosk = hall.hello("kiosk")
    kiosk.connection.send(b"\x00\x01")
    assert kiosk.reply()["error"]["code"] == "bad_request"
    assert kiosk.request("catalogue")["ok"]


def test_over_long_frame_closes_the_connection(hall):
    kiosk = hall.hello("kiosk")
    seq = hall.health()["seq"]
    kiosk.send(json.dumps({"id": 1, "op": "device_status", "printer": "ok", "detail": "x" * 70_000}))
    with pytest.raises(ConnectionClosed) as closed:
        kiosk.reply()
    assert closed.value.rcvd.code == 1009
    assert hall.health()["seq"] == seq
    assert hall.hello("kiosk").request("catalogue")["ok"]   # the server is fine


def test_take_ticket_is_rate_limited_per_connection(limited_hall):
    kiosk = limited_hall.hello("kiosk")
    numbers = [kiosk.request("take_ticket", category="B")["ticket"]["number"] for _ in range(3)]
    assert numbers == ["B001", "B002", "B003"]
    seq = limited_hall.health()["seq"]
    reply = kiosk.request("take_ticket", category="B")
    assert reply["error"] == {"code": "rate_limited", "message": "取号太频繁，请稍候再试"}
    assert limited_hall.health()["seq"] == seq
    assert limited_hall.hello("kiosk").request("take_ticket", category="B")["ok"]


def test_catalogue_is_cached_by_version(hall):
    kiosk = hall.hello("kiosk")
    full = kiosk.request("catalogue")
    assert full["version"] == 1 and full["items"][0]["materials"][0]["name"] == "居民身份证"
    assert kiosk.request("catalogue", since_version=1) == {
        "re": kiosk.next_id, "ok": True, "version": 1, "unchanged": True}


def test_health_and_static_files(hall):
    health = hall.health()
    assert health["database"] == "ok" and health["hall"] == "small"
    with urllib.request.urlopen(hall.http + "/", timeout=5) as page:   # made by the server
        assert page.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "大厅排队服务器" in page.read().decode()
    with urllib.request.urlopen(hall.http + "/clerk/", timeout=5) as page:
        assert page.headers["Content-Type"] == "text/html; charset=utf-8"
        assert page.headers["Cache-Control"] == "no-cache"
        etag = page.headers["ETag"]
    request = urllib.request.Request(hall.http + "/clerk/index.html",
                                     headers={"If-None-Match": etag})
    with pytest.raises(urllib.error.HTTPError) as not_modified:
        urllib.request.urlopen(request, timeout=5)
    assert not_modified.value.code == 304


@pytest.mark.parametrize("path", [
    "/../pyproject.toml", "/%2e%2e/pyproject.toml", "/..%2fpyproject.toml",
    "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/.hidden", "/static/../../server.py",
    "/index.html%00.png", "/nothing-here",
])
def test_no_path_traversal(hall, path):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(hall.http + path, timeout=5)
    assert refused.value.code == 404


def test_tls_serves_wss_and_https(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    live = LiveHall(tmp_path, "--cert", str(cert), "--key", str(key))
    try:
        assert live.http.startswith("https://")
        context = ssl.create_default_context(cafile=str(cert))
        with urllib.request.urlopen(live.http + "/healthz", context=context, timeout=5) as reply:
            assert json.load(reply)["database"] == "ok"
        with connect(live.http.replace("https", "wss", 1) + "/ws", ssl=context) as connection:
            connection.send(json.dumps({"id": 1, "op": "hello", "role": "kiosk",
                                        "token": live.tokens["kiosk"]}))
            reply = json.loads(connection.recv(timeout=5))
            assert reply["ok"] and reply["role"] == "kiosk"
            connection.send(json.dumps({"id": 2, "op": "take_ticket", "category": "A"}))
            taken = json.loads(connection.recv(timeout=5))
            while "re" not in taken:       # the queue event may come first
                taken = json.loads(connection.recv(timeout=5))
            assert taken["ticket"]["url"].startswith("https://")
    finally:
        live.stop()


def test_a_hung_client_does_not_hold_up_a_stop(hall):
    """A device that stopped reading (frozen, or its network gone) must not keep the server from
    stopping: the closing handshake is given 2 s, not websockets' default 10 s."""
    host, port = hall.http.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        key = base64.b64encode(os.urandom(16)).decode()
        raw.sendall((f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                     f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        assert raw.recv(4096).startswith(b"HTTP/1.1 101")
        hall.process.terminate()          # the client never answers the close frame
        assert hall.process.wait(timeout=8) == 0


def test_a_simulation_runs_the_hall_clock_from_a_given_time_and_faster(tmp_path):
    """The hall's clock starts at the given time when the server starts and runs 600 times as
    fast: each simulated span lies within 600 times the real span that surely contains it (a
    loaded machine may take seconds to start the server, which is minutes of the hall's time)."""
    started = time.monotonic()
    live = LiveHall(tmp_path, "--simulate-from", "2026-11-23T09:00", "--speed", "600")
    try:
        kiosk = live.hello("kiosk")
        before_first = time.monotonic()
        first = kiosk.request("take_ticket", category="A")["ticket"]["issued_at"]
        after_first = time.monotonic()
        time.sleep(0.5)   # five simulated minutes
        before_second = time.monotonic()
        second = kiosk.request("take_ticket", category="A")["ticket"]["issued_at"]
        after_second = time.monotonic()
        assert first.endswith("+08:00")
        since_start = datetime.fromisoformat(first) - datetime.fromisoformat("2026-11-23T09:00+08:00")
        assert timedelta(0) <= since_start <= timedelta(seconds=600 * (after_first - started) + 1)
        gap = datetime.fromisoformat(second) - datetime.fromisoformat(first)
        assert timedelta(seconds=600 * (before_second - after_first) - 1) <= gap
        assert gap <= timedelta(seconds=600 * (after_second - before_first) + 1)
        assert live.health()["service_day"] == "2026-11-23"
    finally:
        live.stop()


@pytest.mark.parametrize(("args", "message"), [
    (["--speed", "60"], "--speed 只能与 --simulate-from 一起使用"),
    (["--simulate-from", "yesterday"], "无法识别的时间：yesterday"),
    (["--simulate-from", "2026-11-23T09:00", "--speed", "0"], "--speed 应在 0 到 10000 之间"),
])
def test_simulation_options_are_checked(tmp_path, args, message):
    with pytest.raises(RuntimeError, match=message):
        LiveHall(tmp_path, *args)


def test_managers_see_devices_come_and_go(hall):
    hall.hello("kiosk")
    manager = hall.hello("manager")
    assert sorted(manager.hello["snapshot"]["online"], key=lambda d: d["device"]) == [
        {"device": "board-1", "role": "display", "window": None, "connections": 0},
        {"device": "kiosk-1", "role": "kiosk", "window": None, "connections": 1},
        {"device": "pad-1", "role": "pad", "window": 1, "connections": 0}]
    pad = hall.hello("pad")
    came = manager.wait_event("presence", device="pad-1")
    assert (came["online"], came["window"], came["role"]) == (True, 1, "pad")
    second = hall.hello("pad")   # a device may reconnect before its old connection is gone
    assert manager.wait_event("presence", device="pad-1")["connections"] == 2
    pad.close()
    assert manager.wait_event("presence", device="pad-1")["online"] is True
    second.close()
    assert manager.wait_event("presence", device="pad-1")["online"] is False
    hall.hello("clerk", badge="1001", pin="1111")   # people are not devices
    assert not [e for e in manager.events if e["ev"] == "presence"]


def test_a_pad_away_at_the_finish_is_given_the_ticket_on_hello(hall):
    hall.hello("kiosk").request("take_ticket", category="A")
    clerk = hall.hello("clerk", badge="1001", pin="1111")
    clerk.request("sign_in", window=1, post="A")
    clerk.request("call_next")
    assert hall.hello("pad").hello["awaiting"] is None       # nothing finished yet
    clerk.request("finish", outcome="done")
    pad = hall.hello("pad")
    assert pad.hello["awaiting"]["ticket"] == "A001"
    assert pad.hello["awaiting"]["clerk"] == {"name": "张敏", "badge": "1001", "photo": "", "post": "A"}
    pad.request("rate", ticket="A001", score=None)
    assert hall.hello("pad").hello["awaiting"] is None       # 未评 recorded: asked once only
