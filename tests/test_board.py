"""The hall board: its model, the queue of calls, and screenshots of the real app, offscreen,
against live servers for the demo town and the county hall (saved in tests/artifacts/board/)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from display_board.model import BoardFilter, BoardModel, pages, parse_windows
from tests.conftest import ARTIFACTS
from tests.live_hall import LiveHall, round_the_clock

HALLS = Path(__file__).resolve().parent.parent / "assets" / "halls"
SHOTS = ARTIFACTS / "board"


def snapshot(windows=3):
    return {"snapshot": {
        "hall": {"name": "测试大厅", "departments": [{"code": "sb", "name": "社保"}],
                 "categories": [{"prefix": "A", "name": "社保"}, {"prefix": "B", "name": "民政"}],
                 "windows": [{"window": n, "name": f"{n}号窗口", "department": "sb"}
                             for n in range(1, windows + 1)]},
        "live": {"notice": "", "queues": [{"category": "A", "waiting": 2, "next": []},
                                          {"category": "B", "waiting": 0, "next": []}],
                 "windows": [{"window": n, "status": "open" if n == 1 else "closed",
                              "clerk": {"name": "张敏", "post": "A"} if n == 1 else None,
                              "current": "A001" if n == 1 else None}
                             for n in range(1, windows + 1)],
                 "calls": [{"number": "A001", "window": 1, "at": "…"}]}}}


def called(number, window, recall=0, seq=10):
    return {"ev": "ticket_called", "seq": seq, "number": number, "window": window,
            "window_name": f"{window}号窗口", "recall": recall}


def test_rows_queues_and_filters():
    model = BoardModel()
    model.apply_snapshot(snapshot())
    rows = model.window_rows()
    assert [r["window"] for r in rows] == [1, 2, 3]
    assert rows[0] | {} == {"window": 1, "department": "社保", "clerk": "张敏 A岗",
                            "status": "open", "status_text": "办理中", "current": "A001"}
    assert rows[1]["status_text"] == "未开放"
    assert model.queue_rows() == [("社保", 2), ("民政", 0)]
    assert [c.number for c in model.recent] == ["A001"] and not model.pending
    zone = BoardModel(BoardFilter(frozenset({2, 3}), frozenset({"B"})))
    zone.apply_snapshot(snapshot())
    assert [r["window"] for r in zone.window_rows()] == [2, 3]
    assert zone.queue_rows() == [("民政", 0)] and zone.recent == []
    assert not zone.apply_event(called("A002", 1))       # another zone's call
    assert zone.apply_event(called("A003", 2)) and zone.next_call().number == "A003"


def test_a_burst_of_calls_is_queued_in_order_and_a_recall_comes_again():
    model = BoardModel()
    model.apply_snapshot(snapshot())
    numbers = [f"A{n:03d}" for n in range(2, 22)]
    for n, number in enumerate(numbers):
        model.apply_event(called(number, 1 + n % 3, seq=10 + n))
    model.apply_event(called("A002", 1, recall=1, seq=40))
    shown = []
    while (call := model.next_call()) is not None:
        shown.append((call.number, call.recall))
    assert shown == [(n, 0) for n in numbers] + [("A002", 1)]
    assert [c.number for c in model.recent] == ["A002", "A021", "A020", "A019", "A018", "A017"]
    model.apply_snapshot(snapshot())                      # a reconnect announces no old call
    assert model.next_call() is None


def test_pages_and_window_ranges():
    assert [len(p) for p in pages(list(range(142)), 14)] == [14] * 10 + [2]
    assert pages([], 5) == [[]]
    assert parse_windows("1-3, 12") == {1, 2, 3, 12} and parse_windows("") == frozenset()
    for bad in ("3-1", "x", "0"):
        with pytest.raises(ValueError, match="窗口范围写法有误"):
            parse_windows(bad)


def test_the_app_announces_a_burst_in_order(monkeypatch):
    from hall.look import register_font

    register_font()
    import display_board.app as board_app

    model = BoardModel()
    model.apply_snapshot(snapshot())
    announced = []
    app = board_app.BoardApp(model, announce=lambda call: announced.append(call.number))
    app.root = app.build()
    numbers = [f"A{n:03d}" for n in range(2, 22)]
    for n, number in enumerate(numbers):                # 20 calls in one go
        model.apply_event(called(number, 1 + n % 3, seq=10 + n))
        app.changed()
    assert announced == ["A002"] and app.board.call.number == "A002"
    for _ in numbers:
        app._call_done(0)                                # each highlight's end
    assert announced == numbers and app.board.call is None


def board_screenshot(hall: LiveHall, out: Path, *extra: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "display_board.cli", "--server", hall.ws, "--token",
         hall.tokens["display"], "--screenshot", str(out), *extra],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert out.stat().st_size > 10_000


@pytest.mark.parametrize("hall_file", ["demo-town", "county"])
def test_screenshots_in_both_orientations(tmp_path, hall_file):
    from PIL import Image

    hall = LiveHall(tmp_path, hall_text=round_the_clock(
        (HALLS / f"{hall_file}.toml").read_text(encoding="utf-8")))
    try:
        kiosk = hall.hello("kiosk")
        categories = kiosk.request("catalogue")["hall"]["categories"]
        for category in categories[:3]:
            kiosk.request("take_ticket", category=category["prefix"])
        manager = hall.hello("manager")
        manager.request("set_notice", text="今天下午 3 点起社保系统升级，请提前办理")
        SHOTS.mkdir(parents=True, exist_ok=True)
        for orientation, extra in (("landscape", ()), ("portrait", ("--portrait",))):
            out = SHOTS / f"{hall_file}-{orientation}.png"
            board_screenshot(hall, out, *extra)
            assert Image.open(out).size == ((1920, 1080) if orientation == "landscape"
                                            else (1080, 1920))
    finally:
        hall.stop()


def test_say_writes_the_announcement(tmp_path):
    import wave

    out = tmp_path / "call.wav"
    done = subprocess.run([sys.executable, "-m", "display_board.cli", "say", "A105", "12",
                           "--wav", str(out), "--repeat", "1"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with wave.open(str(out)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        assert wav.getnframes() / wav.getframerate() > 1.0
    bad = subprocess.run([sys.executable, "-m", "display_board.cli", "say", "A105", "0",
                          "--wav", str(out)], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and bad.stderr.startswith("未能生成语音")


def test_live_board_with_strips_and_a_lost_server(tmp_path):
    """A real server, the board offscreen with an emulated LED strip for window 1: a call shows
    on the board and on the strip; the server goes away and the board says 连接中断."""
    from kivy.core.window import Window

    from display_board.app import BoardShell, led_texture
    from display_board.led import StripConfig, StripDriver
    from display_board.led.emulator import StripEmulator
    from display_board.led_text import AMBER
    from hall.look import register_font

    register_font()
    Window.size = (1920, 1080)
    hall = LiveHall(tmp_path, hall_text=round_the_clock(
        (HALLS / "demo-town.toml").read_text(encoding="utf-8")))
    announced = []

    async def scenario(emulator):
        strips = StripDriver(emulator.path, [StripConfig(address=1, window=1)],
                             poll_interval=0.2)
        shell = BoardShell([hall.ws], hall.tokens["display"], BoardModel(),
                           announce=lambda call: announced.append(call.number), strips=strips)
        runner = asyncio.get_running_loop().create_task(shell.run())

        async def until(condition, seconds=15):
            for _ in range(seconds * 20):
                if condition():
                    return
                await asyncio.sleep(0.05)
            raise AssertionError("not in time")

        try:
            await until(lambda: shell.snapshots)
            kiosk, clerk = hall.hello("kiosk"), hall.hello("clerk", badge="1001", pin="4826")
            kiosk.request("take_ticket", category="A")
            clerk.request("sign_in", window=1, post="A")
            clerk.request("call_next")
            await until(lambda: announced == ["A001"])
            await until(lambda: any("A001" in line for line in emulator.shown(1)))
            await asyncio.sleep(0.2)
            shell.app.root.export_to_png(str(SHOTS / "demo-town-live-call.png"))
            hall.kill()
            await until(lambda: not shell.model.connected)
            await asyncio.sleep(0.2)
            lost = led_texture("连接中断", AMBER, 2)
            drawn = [getattr(i, "texture", None) for i in shell.app.board.canvas.before.children]
            assert lost in drawn
            shell.app.root.export_to_png(str(SHOTS / "demo-town-connection-lost.png"))
        finally:
            shell.app.stop()
            await asyncio.wait_for(runner, 10)

    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with StripEmulator([1]) as emulator:
            asyncio.run(scenario(emulator))
    finally:
        hall.stop()


def test_a_live_burst_of_20_calls_is_shown_and_announced_in_order(tmp_path, monkeypatch):
    """Four clerks call 20 tickets as fast as the server lets them (well under 2 s): the board
    announces every one, in the order the server sent them, and shows each in turn."""
    import display_board.app as board_app
    from display_board.app import BoardShell
    from hall.look import register_font

    register_font()
    monkeypatch.setattr(board_app, "HIGHLIGHT_SECONDS", 0.02)   # highlight briefly, keep order
    hall = LiveHall(tmp_path, "--take-limit", "0", hall_text=round_the_clock(
        (HALLS / "demo-town.toml").read_text(encoding="utf-8")))
    announced, shown = [], []

    async def scenario():
        shell = BoardShell([hall.ws], hall.tokens["display"], BoardModel(),
                           announce=lambda call: announced.append(call.number))
        show_next = shell.app._show_next_call

        def noting():
            show_next()
            if shell.app.board.call is not None:
                shown.append(shell.app.board.call.number)

        shell.app._show_next_call = noting
        runner = asyncio.get_running_loop().create_task(shell.run())
        try:
            for _ in range(300):
                if shell.snapshots:
                    break
                await asyncio.sleep(0.05)
            watcher = hall.hello("display")
            kiosk = hall.hello("kiosk")
            for prefix in "ABDD" * 5:
                kiosk.request("take_ticket", category=prefix)
            clerks = [(hall.hello("clerk", badge=badge, pin=pin), window) for badge, pin, window in
                      (("1001", "4826", 1), ("1003", "519274", 2), ("1007", "3758", 4))]
            for clerk, window in clerks:
                clerk.request("sign_in", window=window, post="A")
            calls = 0
            while calls < 20:
                for clerk, _ in clerks:
                    if calls < 20 and clerk.request("call_next").get("ticket"):
                        calls += 1
                        clerk.request("finish", outcome="done")
            sent = [watcher.wait_event("ticket_called")["number"] for _ in range(20)]
            for _ in range(400):
                if len(announced) == 20:
                    break
                await asyncio.sleep(0.02)
            assert announced == sent and shown == sent
        finally:
            shell.app.stop()
            await asyncio.wait_for(runner, 10)

    try:
        asyncio.run(scenario())
    finally:
        hall.stop()
