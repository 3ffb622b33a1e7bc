"""A board's voice backlog (issue 19, point 4): what its speaker still has to say, measured on
the announcer's audio timeline, checked on the wire, reported when it changes, kept by the
server per device and sent to the managers (docs/board.md#voice-backlog)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from display_board.model import BoardFilter, BoardModel
from display_board.voice_device import VoiceShell
from display_board.voice_report import REPORT_INTERVAL_SECONDS, BacklogReports
from hall.protocol import NO_DEVICE_STATUS, VOICE_FROM_BOARDS, ProtocolError, parse_request
from hall.voice.call_queue import plan
from hall.voice.playback import CallAnnouncer, Speaker
from hall.voice.wav import wav_seconds
from tests.live_hall import LiveHall
from tests.test_manager_pages import (  # noqa: F401  (browser: the pages' chromium fixture)
    BIG_SCREEN,
    SMALL_SCREEN,
    browser,
    clerk_at,
    dashboard,
)
from tests.test_voice_queue import BOUND, CLIPS, TIMING


class HeldPlayer:
    """Plays nothing (no sound card here) but moves the injected clock on by each WAV's length;
    each WAV waits until `release` is set, so the test holds the speaker mid-announcement and
    may move the clock meanwhile (as if the hall waited)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.played = 0
        self.started = threading.Event()
        self.release = threading.Event()
        self.done = threading.Condition()

    def play(self, wav_path: Path) -> None:
        self.started.set()
        self.release.wait(timeout=60)
        with self.done:
            self.now += wav_seconds(wav_path)
            self.played += 1
            self.done.notify_all()

    def interrupt(self) -> None:
        self.release.set()


# --- on the wire ----------------------------------------------------------------------------------

def _device_status(**params) -> dict:
    return parse_request(json.dumps({"id": 1, "op": "device_status", **params},
                                    ensure_ascii=False)).params


@pytest.mark.parametrize(("voice", "message"), [
    ({"calls": 3, "seconds": 41}, "参数 voice：应为对象，有且只有：calls、seconds、worst"),
    ({"calls": 3, "seconds": 41, "worst": 5, "rate": 1}, "参数 voice：应为对象，有且只有：calls、seconds、worst"),
    ({"calls": -1, "seconds": 41, "worst": 5}, "参数 voice：calls 应在 0 到 10000 之间"),
    ({"calls": 3, "seconds": 4.5, "worst": 5}, "参数 voice：seconds 应为整数"),
    ({"calls": 3, "seconds": 41, "worst": "5"}, "参数 voice：worst 应为整数"),
    ({"calls": True, "seconds": 41, "worst": 5}, "参数 voice：calls 应为整数"),
    ({"calls": 3, "seconds": 86_401, "worst": None}, "参数 voice：seconds 应在 0 到 86400 之间"),
    ([3, 41, 5], "参数 voice：应为对象，有且只有：calls、seconds、worst"),
])
def test_a_malformed_backlog_is_refused_saying_what_is_wrong(voice, message):
    with pytest.raises(ProtocolError) as refused:
        _device_status(voice=voice)
    assert (refused.value.code, refused.value.message) == ("bad_request", message)


def test_a_backlog_alone_or_beside_a_printer_is_accepted():
    backlog = {"calls": 3, "seconds": 41, "worst": None}
    assert _device_status(voice=backlog) == {"voice": backlog}
    assert _device_status(printer="ok", voice={**backlog, "worst": 7}) == {
        "printer": "ok", "voice": {**backlog, "worst": 7}}


# --- measured on the announcer's audio timeline ---------------------------------------------------

def test_the_backlog_is_what_the_queue_still_plans_to_say():
    """Eight calls in 0.7 s at a board whose speaker is held in the first announcement: the
    backlog is the eight calls and the seconds the plan of those calls still has to run; the
    worst wait counts the calls still waiting; once all is said it is empty again."""
    calls = [(n * 0.1, f"A{n + 12:03d}", n % 4 + 1) for n in range(8)]
    timeline = plan(calls, TIMING, bound=BOUND, repeat=2)
    player = HeldPlayer()
    with Speaker(CLIPS, player, call_repeat=2) as speaker, \
            CallAnnouncer(speaker, bound=BOUND, clock=lambda: player.now) as announcer:
        assert announcer.backlog().wire() == {"calls": 0, "seconds": 0, "worst": None}
        announcer.call(*calls[0][1:])
        assert player.started.wait(timeout=60)
        alone = announcer.backlog()
        assert (alone.calls, alone.worst) == (1, pytest.approx(TIMING.lead))
        assert alone.seconds == pytest.approx(plan(calls[:1], TIMING, bound=BOUND)[-1].end)
        for at, ticket, window in calls[1:]:
            player.now = at
            announcer.call(ticket, window)
        burst = announcer.backlog()
        assert burst.calls == 8
        assert burst.seconds == pytest.approx(timeline[-1].end - 0.7, abs=1e-6)
        assert burst.worst == pytest.approx(max(TIMING.lead, 0.7 - 0.1))
        player.now = 30.0                     # the hall waited: the second call waits 29.9 s
        assert announcer.backlog().wire()["worst"] == 30   # 29.9 s, in whole seconds up
        player.release.set()
        for _ in range(1200):
            if not announcer.backlog().calls:
                break
            time.sleep(0.05)
        drained = announcer.backlog()
        assert (drained.calls, drained.seconds) == (0, 0.0) and drained.worst > BOUND


def test_reports_are_rate_limited_but_an_emptied_backlog_goes_at_once():
    reports = BacklogReports()
    idle = {"calls": 0, "seconds": 0, "worst": None}
    assert reports.due(idle, 0.0)                        # the first, on each connection
    reports.was_sent(idle, 0.0)
    assert not reports.due(idle, 100.0)                  # nothing new
    busy = {"calls": 3, "seconds": 41, "worst": 4}
    assert not reports.due(busy, 1.0)                    # too soon after the last
    assert reports.due(busy, REPORT_INTERVAL_SECONDS)
    reports.was_sent(busy, 10.0)
    assert not reports.due({**busy, "seconds": 37}, 20.0)   # the speaker talking it down
    assert reports.due({**busy, "seconds": 36}, 20.0)
    assert not reports.due({**busy, "calls": 2}, 11.0)
    assert reports.due({"calls": 0, "seconds": 0, "worst": 4}, 10.5)   # emptied: at once
    reports.forget()
    assert reports.due(busy, 10.5)                       # a new connection: at once


# --- the server -----------------------------------------------------------------------------------

def test_the_server_keeps_each_boards_backlog_and_tells_the_managers(tmp_path):
    """Refused: a status with nothing in it, a backlog from a kiosk, a malformed one (in
    Chinese). Kept: a board's backlog, sent to the managers with the hall's bound and its state,
    in a later manager's snapshot, and forgotten when the board goes away."""
    hall = LiveHall(tmp_path)
    try:
        kiosk, board, manager = hall.hello("kiosk"), hall.hello("display"), hall.hello("manager")
        empty = board.request("device_status")
        assert empty["error"] == {"code": "bad_request", "message": NO_DEVICE_STATUS}
        from_kiosk = kiosk.request("device_status", voice={"calls": 1, "seconds": 9, "worst": 0})
        assert from_kiosk["error"] == {"code": "forbidden", "message": VOICE_FROM_BOARDS}
        bad = board.request("device_status", voice={"calls": "三", "seconds": 9, "worst": 0})
        assert bad["error"] == {"code": "bad_request", "message": "参数 voice：calls 应为整数"}
        assert kiosk.request("device_status", printer="ok")["ok"]   # a printer alone, as before

        assert board.request("device_status", voice={"calls": 3, "seconds": 41, "worst": 6})["ok"]
        event = manager.wait_event("voice")
        assert {k: event[k] for k in ("device", "role", "calls", "seconds", "worst", "bound",
                                      "state")} == {
            "device": "board-1", "role": "display", "calls": 3, "seconds": 41, "worst": 6,
            "bound": 20, "state": "backlog"}
        assert board.request("device_status", voice={"calls": 5, "seconds": 50, "worst": 21})["ok"]
        assert manager.wait_event("voice")["state"] == "late"
        later = hall.hello("manager")
        listed = {d["device"]: d for d in later.hello["snapshot"]["online"]}
        assert listed["board-1"]["voice"]["calls"] == 5
        assert "voice" not in listed["kiosk-1"]
        board.close()
        assert manager.wait_event("presence", device="board-1")["connections"] == 0
        again = {d["device"]: d for d in hall.hello("manager").hello["snapshot"]["online"]}
        assert "voice" not in again["board-1"]
    finally:
        assert hall.stop() == 0



# --- on the manager's dashboard -------------------------------------------------------------------

class VoiceDevice:
    """A voice-only device (`--no-screen`) as its command runs it: `VoiceShell` on its own
    asyncio loop (in a thread, beside the test's Playwright), calls announced through the real
    `CallAnnouncer` and `Speaker` with the clip engine into a `HeldPlayer`, its backlog reported."""

    def __init__(self, hall: LiveHall) -> None:
        self.player = HeldPlayer()
        self.speaker = Speaker(CLIPS, self.player, call_repeat=2)
        self.announcer = CallAnnouncer(self.speaker, clock=lambda: self.player.now)
        self.shell = VoiceShell([hall.ws], hall.tokens["display"], BoardModel(BoardFilter()),
                                lambda call: self.announcer.call(call.number, call.window),
                                self.announcer.backlog)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.shell.run(),))
        self.thread.start()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.shell.stop(), self.loop).result(timeout=10)
        self.thread.join(timeout=10)
        self.loop.close()
        self.player.release.set()
        self.announcer.close()
        self.speaker.close()


def _shots(d, name: str) -> None:
    for size, viewport in (("1366", SMALL_SCREEN), ("1920", BIG_SCREEN)):
        d.page.set_viewport_size(viewport)
        d.assert_fits()
        d.shot(f"voice-backlog-{name}-{size}")
    d.page.set_viewport_size(SMALL_SCREEN)


def test_a_burst_of_calls_shows_as_the_boards_voice_backlog_on_the_dashboard(tmp_path, browser):  # noqa: F811
    """A voice-only device on a live hall says 语音正常 on the dashboard from its connection on;
    eight calls made together while its speaker is held in the first show as 语音积压 8 条 ·
    N 秒 (N the plan's seconds); when the wait passes the hall's bound (20 s) the row turns red
    (语音滞后, a problem first in the list); said at last, the backlog empties at once. A device
    that does not report (the pad) shows nothing about a voice; gone, the board shows none."""
    hall = LiveHall(tmp_path)
    device = None
    try:
        with dashboard(browser, hall) as d:
            board = d.device("board-1")
            expect(board).to_contain_text("—")          # not connected: nothing reported
            device = VoiceDevice(hall)
            expect(board).to_contain_text("● 在线")
            expect(board).to_contain_text("✓ 语音正常")
            hall.hello("pad")                             # online: no problem row above the board
            expect(d.device("pad-1")).to_contain_text("● 在线")
            expect(d.device("pad-1")).not_to_contain_text("语音")

            for category in "AB":      # one kiosk connection each: 5 tickets at once at most
                kiosk = hall.hello("kiosk")
                for _ in range(4):
                    assert kiosk.request("take_ticket", category=category)["ok"]
            clerks = [clerk_at(hall, "1001", "1111", 1), clerk_at(hall, "1002", "2222", 2)]
            for _ in range(4):
                for clerk in clerks:
                    assert clerk.request("call_next")["ok"]
                    assert clerk.request("finish", outcome="done")["ok"]
            assert device.player.started.wait(timeout=30)
            for _ in range(200):                          # the device has heard all eight
                if device.announcer.backlog().calls == 8:
                    break
                time.sleep(0.05)
            held = device.announcer.backlog().wire()
            assert held["calls"] == 8 and held["worst"] <= 20
            expect(board).to_contain_text(f"语音积压 8 条 · {held['seconds']} 秒", timeout=20_000)
            expect(board).to_have_attribute("data-problem", "no")
            _shots(d, "busy")

            device.player.now = 40.0                      # the hall waited 40 s on its speaker
            late = device.announcer.backlog().wire()
            assert late["worst"] == 40
            expect(board).to_contain_text(
                f"⚠ 语音滞后 8 条 · {late['seconds']} 秒 · 最久等 40 秒", timeout=20_000)
            expect(board).to_have_attribute("data-problem", "yes")
            expect(d.page.locator("#devices-summary")).to_contain_text("语音滞后 1")
            assert d.page.locator("#devices tr").first.get_attribute("data-device") == "board-1"
            _shots(d, "late")

            device.player.release.set()                   # all said: empty, reported at once
            expect(board).to_contain_text("⚠ 语音滞后 · 最久等", timeout=20_000)
            expect(board).not_to_contain_text("条")
            device.close()
            device = None
            expect(board).to_contain_text("✕ 离线")
            expect(board).not_to_contain_text("语音")
            assert d.errors == []
    finally:
        if device is not None:
            device.close()
        assert hall.stop() == 0


# --- the command, end to end -----------------------------------------------------------------------

def test_the_voice_only_device_s_command_announces_the_calls_and_reports_its_backlog(tmp_path):
    """`display-board --no-screen` started as its command against a live hall: it connects,
    reports its (empty) backlog, which the managers get as 语音正常 (`idle`), and a call made at
    a window goes through its call queue to its player: here no sound card (PATH holds no
    player), so the player says it only synthesised. Gone, it is offline to the managers."""
    hall = LiveHall(tmp_path)
    manager = hall.hello("manager")
    device = subprocess.Popen(
        [sys.executable, "-m", "display_board.cli", "--server", hall.ws, "--token",
         hall.tokens["display"], "--no-screen", "--engine", "clips"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PATH": str(Path(sys.executable).parent)})
    said: list[str] = []
    reader = threading.Thread(target=lambda: said.extend(device.stderr), daemon=True)
    reader.start()
    try:
        first = manager.wait_event("voice", timeout=30, device="board-1")
        assert {k: first[k] for k in ("role", "calls", "seconds", "worst", "state")} == {
            "role": "display", "calls": 0, "seconds": 0, "worst": None, "state": "idle"}
        assert hall.hello("kiosk").request("take_ticket", category="A")["ok"]
        assert clerk_at(hall, "1001", "1111", 1).request("call_next")["ok"]
        for _ in range(600):
            if any("语音只合成、不播放" in line for line in said):
                break
            time.sleep(0.05)
        assert any("语音只合成、不播放" in line for line in said), said
    finally:
        device.terminate()
        device.wait(timeout=10)
    assert not manager.wait_event("presence", timeout=10, device="board-1", connections=0)["online"]
    assert hall.stop() == 0
