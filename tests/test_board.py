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
    assert rows[0] | {} == {"window": 1, "business": "1号", "clerk": "张敏 A岗", "clerk_name": "张敏",
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
    # each given to the voice as it comes (its queue bounds the wait), highlighted in turn
    assert announced == numbers and app.board.call.number == "A002"
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
            lost = led_texture("连接中断", AMBER, shell.app.board.plan.label_pitch)
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


async def _until(condition, seconds: float = 15) -> None:
    """Wait (polling) until `condition()` holds; the loop goes on meanwhile."""
    for _ in range(round(seconds * 20)):
        if condition():
            return
        await asyncio.sleep(0.05)


def test_a_live_burst_of_20_calls_is_shown_and_announced_in_order(tmp_path, monkeypatch):
    """Four clerks call 20 tickets as fast as the server lets them (well under 2 s): the board
    gives every one to the voice as it comes, in the order the server sent them, and shows each
    in turn."""
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
            await _until(lambda: shell.snapshots)
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
                if len(announced) == len(shown) == 20:
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


# --- a board read from 10 m (issue 15) ---------------------------------------------------------

def county_snapshot():
    """The county hall's snapshot as the server sends it (its hall view), with every window
    staffed and most serving: the longest texts a page can get."""
    from queue_server.hall_toml import load_hall
    from queue_server.views import hall_view

    definition = load_hall(HALLS / "county.toml")
    clerks = {c.badge: c.name for c in definition.clerks}
    states = ("open", "open", "open", "paused", "closed")
    windows = []
    for w in definition.windows:
        status = states[w.number % len(states)]
        windows.append({"window": w.number, "name": w.name, "status": status,
                        "clerk": {"name": clerks[w.a_post], "post": "A"} if status != "closed"
                        else None,
                        "current": f"{w.categories[0][0].upper()}{w.number:03d}"
                        if status == "open" else None})
    return {"snapshot": {"hall": hall_view(definition), "live": {
        "notice": "", "windows": windows, "calls": [
            {"number": f"A{n:03d}", "window": n, "at": "…"} for n in range(1, 7)],
        "queues": [{"category": c.prefix, "waiting": 12, "next": []}
                   for c in definition.categories]}}}


def draw_board(model, size, settings=None, shot=None):
    """Draw the board at `size` and list what is on it: (text, pitch, x, y, width, height)
    for every LED text, from the textures the board asked for; save it to `shot` if given."""
    import display_board.app as board_app
    from hall.look import register_font

    register_font()
    from kivy.core.window import Window

    Window.size = size
    made = {}
    original = board_app.led_texture

    def recording(text, colour, pitch, rows=16):
        texture = original(text, colour, pitch, rows)
        made[texture] = (text, pitch)
        return texture

    board_app.led_texture = recording
    try:
        board = (board_app.Board(model, settings) if settings is not None
                 else board_app.Board(model))
        board.size, board.pos = size, (0, 0)
        board.redraw()
    finally:
        board_app.led_texture = original
    if shot is not None:
        from kivy.base import EventLoop

        EventLoop.idle()             # a frame: the notice's clipping follows its new size
        SHOTS.mkdir(parents=True, exist_ok=True)
        board.export_to_png(str(shot))
    drawn = []
    for instruction in board.canvas.before.children:
        texture = getattr(instruction, "texture", None)
        if texture in made and hasattr(instruction, "pos"):
            drawn.append((*made[texture], *instruction.pos, *instruction.size))
    return board, drawn


def legible_pitch_for(size, distance_m=10.0, diagonal_in=55.0):
    """Worked out here, apart from the board's code: the least dot pitch at which a hanzi
    (15 lit dots of a 16-dot row) subtends 16 minutes of arc (ISO 9241-3's minimum)."""
    import math

    mm_per_px = diagonal_in * 25.4 / math.hypot(*size)
    needed_mm = 2 * distance_m * 1000 * math.tan(math.radians(16 / 60) / 2)
    return math.ceil(needed_mm / mm_per_px / 15)


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)], ids=["landscape", "portrait"])
def test_the_county_board_rows_are_short_names_readable_from_10_m(size):
    """142 windows on a 55-inch 1080p board read from 10 m: each row shows its window's
    business (not 县政务服务… for all), at a size legible from 10 m, nothing cut off, and the
    rows and lists fill the screen (no black third in portrait)."""
    model = BoardModel()
    model.apply_snapshot(county_snapshot())
    model.connected = True
    orientation = "landscape" if size[0] > size[1] else "portrait"
    _, drawn = draw_board(model, size, shot=SHOTS / f"county-{orientation}-staffed.png")
    texts = [d[0] for d in drawn]
    assert not any(t.startswith("县政务服务") for t in texts), texts
    shorts = {w["window"]: w.get("short_name") for w in model.hall["windows"]}
    assert all(shorts.values())
    pitch = legible_pitch_for(size)
    # the first page's rows: window number, then its short name, both at a legible size
    numbers = [int(t) for t, p, *_ in drawn if t.isdigit() and p >= pitch]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 6, texts
    for number in numbers:
        assert shorts[number] in texts, (number, shorts[number])
    row_pitches = {p for t, p, *_ in drawn if t in shorts.values()}
    assert row_pitches and min(row_pitches) >= pitch
    assert f"第1/{-(-142 // len(numbers))}页" in texts
    width, height = size
    for text, _p, x, y, w, h in drawn:       # nothing cut off by the screen's edge
        assert x >= 0 and x + w <= width and y >= 0 and y + h <= height, text
    # the whole screen used: no band taller than two rows without a text in it
    covered = sorted((y, y + h) for *_, y, _w, h in drawn)
    reach, gaps = height, []
    for low, high in sorted(covered, key=lambda c: -c[1]):
        if high < reach:
            gaps.append(reach - high)
        reach = min(reach, low)
    gaps.append(reach)          # under the lowest text: the notice's band
    assert max(gaps) <= 2 * (16 * pitch + 8), (max(gaps), size)


def test_rows_per_page_come_from_the_settings_and_too_many_are_refused(capsys):
    from display_board.cli import main
    from display_board.layout import BoardSettings

    model = BoardModel()
    model.apply_snapshot(county_snapshot())
    _, drawn = draw_board(model, (1920, 1080), BoardSettings(rows=4))
    numbers = [t for t, p, *_ in drawn if t.isdigit() and p >= legible_pitch_for((1920, 1080))]
    assert numbers == ["1", "2", "3", "4"] and "第1/36页" in [d[0] for d in drawn]
    assert main(["--server", "ws://127.0.0.1:1/ws", "--token", "t", "--rows", "18"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("每页 18 行时字高只有") and "10 米外看不清" in error, error
    for bad, message in ((["--rows", "0"], "--rows 应在 1 到 60 之间"),
                         (["--distance", "0"], "--distance 应在 1 到 100 米之间"),
                         (["--screen-inches", "5"], "--screen-inches 应在 10 到 300 英寸之间"),
                         (["--distance", "30"], "一页放不下一个窗口")):
        assert main(["--server", "ws://127.0.0.1:1/ws", "--token", "t", *bad]) == 2
        assert message in capsys.readouterr().err


def test_the_legibility_arithmetic():
    from display_board.led_text import dots
    from display_board.legibility import (
        HANZI_DOTS,
        Screen,
        hanzi_mm,
        legible_pitch,
        required_mm,
        subtended_arcmin,
    )

    assert required_mm(10) == pytest.approx(46.54, abs=0.01)       # ≈ distance / 215
    assert subtended_arcmin(required_mm(7), 7) == pytest.approx(16)
    screen = Screen(1920, 1080, 55)
    assert screen.mm_per_px == pytest.approx(0.634, abs=0.001)
    assert Screen(1080, 1920, 55).mm_per_px == screen.mm_per_px
    assert legible_pitch(screen, 10) == 5 and hanzi_mm(5, screen) == pytest.approx(47.6, abs=0.1)
    assert legible_pitch(screen, 6) == 3 and legible_pitch(screen, 20) == 10
    assert legible_pitch(Screen(3840, 2160, 55), 10) == 10      # twice the pixels, twice the dots
    assert legible_pitch(screen, 1) == 2                         # never under a dot and its gap
    heights = sorted(dots(c).getbbox()[3] - dots(c).getbbox()[1] for c in "窗口业务办理社保县登记")
    assert heights[len(heights) // 2] == HANZI_DOTS              # the median hanzi, as measured


def test_short_window_names():
    from hall.window_names import short_window_name

    assert short_window_name("不动产登记窗口（3）", "不动产登记") == "不动产登记"
    assert short_window_name("综合受理窗口（1）") == "综合受理"
    assert short_window_name("社会保障（劳动保障）窗口") == "社会保障"
    assert short_window_name("医保与老龄（老龄合疗）窗口") == "医保与老龄"
    assert short_window_name("农业农村与水利（农林水利）窗口") == "农业农村"
    assert short_window_name("不动产交易登记一窗受理") == "不动产交易…"
    assert short_window_name("窗口") == "窗口"


def run_board(make_shell, ready, scenario) -> None:
    """Run a board (`make_shell()`, a `BoardShell`) against its server until `ready(shell)`,
    let it draw, then `scenario(shell)`, and stop it."""
    async def main():
        shell = make_shell()
        runner = asyncio.get_running_loop().create_task(shell.run())
        try:
            for _ in range(200):
                if ready(shell):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
            scenario(shell)
        finally:
            shell.app.stop()
            await asyncio.wait_for(runner, 10)

    SHOTS.mkdir(parents=True, exist_ok=True)
    asyncio.run(main())


def test_a_wrong_token_says_so_on_the_board(tmp_path):
    """The server refuses the board's token: the board says 设备令牌无效 large, the server's
    reason runs along the bottom, and `--screenshot` ends at once with the reason."""
    import time

    from display_board.app import BoardShell
    from hall.look import register_font

    register_font()
    hall = LiveHall(tmp_path, hall_text=round_the_clock(
        (HALLS / "demo-town.toml").read_text(encoding="utf-8")))

    def scenario(shell):
        _, drawn = draw_board(shell.model, (1920, 1080))
        assert "设备令牌无效" in [d[0] for d in drawn]
        assert shell.app.board.notice.text == (
            "服务器拒绝连接：设备令牌无效或已被吊销，请联系管理员重新发放")
        shell.app.root.export_to_png(str(SHOTS / "demo-town-wrong-token.png"))

    try:
        run_board(lambda: BoardShell([hall.ws], "not-a-token", BoardModel()),
                  lambda shell: shell.model.refused, scenario)
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "display_board.cli", "--server", hall.ws, "--token",
             "not-a-token", "--screenshot", str(tmp_path / "x.png")],
            capture_output=True, text=True, timeout=120)
        assert done.returncode == 1
        assert "服务器拒绝连接：设备令牌无效或已被吊销，请联系管理员重新发放；未能截图" in done.stderr
        assert time.monotonic() - started < 10          # not after the 15 s wait for a snapshot
    finally:
        hall.stop()


def test_the_boards_clock_is_the_halls_clock_at_its_speed(tmp_path):
    """The demo at night: the server runs on a simulated clock from a Monday morning, 60 times
    as fast. The board's clock shows the hall's date and time, not this machine's, and moves
    an hour for each minute of this machine's clock; the app redraws when the minute turns."""
    from datetime import UTC, datetime, timedelta

    from display_board.app import BoardShell
    from hall.hall_clock import HallClock
    from hall.look import register_font

    register_font()
    hall = LiveHall(tmp_path, "--simulate-from", "2026-11-23T09:00:00", "--speed", "60",
                    hall_text=(HALLS / "demo-town.toml").read_text(encoding="utf-8"))

    class Machine:
        now = datetime.now(UTC)

    def scenario(shell):
        board = shell.app.board
        assert board.drawn_clock.startswith("11月23日 09:"), board.drawn_clock
        Machine.now += timedelta(minutes=1)
        shell.app._clock_tick(1)                   # the app's second timer
        assert board.drawn_clock.startswith("11月23日 10:"), board.drawn_clock
        shell.app.root.export_to_png(str(SHOTS / "demo-town-hall-clock.png"))
        _, drawn = draw_board(shell.model, (1080, 1920))   # portrait: the time alone
        assert any(text.startswith("10:") for text, *_ in drawn), drawn

    from kivy.core.window import Window

    Window.size = (1920, 1080)
    try:
        run_board(lambda: BoardShell([hall.ws], hall.tokens["display"],
                                     BoardModel(hall_clock=HallClock(lambda: Machine.now))),
                  lambda shell: shell.model.hall and shell.app.board is not None, scenario)
    finally:
        hall.stop()


def test_a_booked_ticket_is_tagged_on_the_board_and_a_walk_in_is_not(tmp_path):
    """A checked-in booking's ticket (A001) is called, then a walk-in's (A002), over the real
    server: the call line and the last calls tag A001 with a small amber 预约 after its text,
    at the rows' pitch beside the call and legible from 3 m in the list; A002 has none."""
    from display_board.layout import plan
    from display_board.led_text import AMBER
    from hall.vocabulary import BOOKED_MARK
    from tests.booked_tickets import booked_and_walk_in, booking_hall

    def beside(tag, text) -> bool:
        """`tag` starts after `text` ends, with its middle within `text`'s height."""
        middle = tag[3] + tag[5] / 2
        return text[2] + text[4] < tag[2] < text[2] + text[4] + 40 and \
            text[3] < middle < text[3] + text[5]

    hall = booking_hall(tmp_path)
    try:
        booked_and_walk_in(hall)
        display = hall.hello("display")
        clerk = hall.hello("clerk", badge="1001", pin="1111")
        clerk.request("sign_in", window=1, post="A")
        assert clerk.request("call_next")["ticket"]["number"] == "A001"
        called = display.wait_event("ticket_called", number="A001")
        assert called["booked"] is True
        model = BoardModel(connected=True)
        model.apply_snapshot(hall.hello("display").hello)   # window 1 open, serving A001
        model.apply_event(called)
        size = (1920, 1080)
        _, drawn = draw_board(model, size, shot=SHOTS / "booked-call.png")
        layout = plan(*size)
        tags = [d for d in drawn if d[0] == BOOKED_MARK]
        call = next(d for d in drawn if d[0] == "请 A001 号 到 1 号窗口")
        recent = next(d for d in drawn if d[0] == "A001 → 1号")
        assert len(tags) == 2 and beside(tags[0], call) and beside(tags[1], recent), drawn
        assert tags[0][1] == layout.pitch and tags[1][1] == layout.mark_pitch == \
            legible_pitch_for(size, distance_m=3.0)
        assert call[1] == layout.call_pitch         # the number is as large as without the tag
        assert all(x + w <= size[0] for _, _, x, _, w, _ in drawn)
        from display_board.app import led_texture
        assert led_texture(BOOKED_MARK, AMBER, layout.pitch).width == tags[0][4]
        _, drawn = draw_board(model, (1080, 1920), shot=SHOTS / "booked-call-portrait.png")
        tags = [d for d in drawn if d[0] == BOOKED_MARK]    # after 请 A001 号, its first line
        assert len(tags) == 2 and beside(tags[0], next(d for d in drawn if d[0] == "请 A001 号"))
        assert all(x + w <= 1080 for _, _, x, _, w, _ in drawn)

        clerk.request("finish", outcome="done")
        assert clerk.request("call_next")["ticket"]["number"] == "A002"
        called = display.wait_event("ticket_called", number="A002")
        assert called["booked"] is False
        model.apply_event(called)
        model.apply_event(display.wait_event("window", window=1, current="A002"))
        _, drawn = draw_board(model, size, shot=SHOTS / "walk-in-call-after-booked.png")
        (tag,) = [d for d in drawn if d[0] == BOOKED_MARK]
        assert beside(tag, next(d for d in drawn if d[0] == "A001 → 1号"))
        assert not beside(tag, next(d for d in drawn if d[0] == "请 A002 号 到 1 号窗口"))
        again = BoardModel()        # a board that starts now: the same, from the snapshot
        again.apply_snapshot(hall.hello("display").hello)
        assert [(c.number, c.booked) for c in again.recent] == [("A002", False), ("A001", True)]
    finally:
        hall.stop()


def test_a_booked_call_in_the_last_calls_fits_a_county_window_number():
    """"A001 → 142号" and a 预约 tag do not both fit the side column: the text is set closer,
    the window's number whole."""
    from display_board.app import recent_call_text
    from display_board.led_text import dots_wide
    from display_board.model import Call

    call = Call("A001", 142, "", booked=True)
    assert recent_call_text(call, 200) == "A001 → 142号"
    assert recent_call_text(call, dots_wide("A001→142号")) == "A001→142号"
    assert recent_call_text(call, dots_wide("A001→142号") - 1) == "A001→142"


def test_a_zone_of_the_hall_file_chooses_the_windows():
    """`--zone` names zones or floors of the hall file; the windows come with the hall view."""
    hall_view = snapshot(4)
    zones = {1: ("A区", "一楼"), 2: ("A区", "一楼"), 3: ("B区", "一楼"), 4: ("C区", "二楼")}
    for window in hall_view["snapshot"]["hall"]["windows"]:
        window["zone"], window["floor"] = zones[window["window"]]
    b_zone = BoardModel(BoardFilter(zones=frozenset({"B区"})))
    assert not b_zone.apply_event(called("A002", 3))       # nothing before the hall view
    b_zone.apply_snapshot(hall_view)
    assert [r["window"] for r in b_zone.window_rows()] == [3]
    assert not b_zone.apply_event(called("A003", 1)) and b_zone.apply_event(called("A004", 3))
    floor = BoardModel(BoardFilter(zones=frozenset({"二楼", "A区"})))
    floor.apply_snapshot(hall_view)
    assert [r["window"] for r in floor.window_rows()] == [1, 2, 4]
    wrong = BoardModel(BoardFilter(zones=frozenset({"Z区"})))
    wrong.apply_snapshot(hall_view)
    assert wrong.window_rows() == [] and wrong.ticker() == (
        "大厅配置中没有分区 Z区，本屏不显示也不播报这些分区（可用：A区、B区、C区、一楼、二楼）")


def test_the_board_reports_its_voice_backlog_to_the_managers(tmp_path):
    """The kivy board (`BoardShell`, offscreen) with its voice: the real `CallAnnouncer` and
    `Speaker` (clip engine) into a player held in the first announcement. The managers get its
    backlog: empty at its start, the call while it is said, empty again at once when it is done."""
    from display_board.app import BoardShell
    from hall.look import register_font
    from hall.voice.playback import CallAnnouncer, Speaker
    from tests.test_voice_backlog import HeldPlayer
    from tests.test_voice_queue import CLIPS

    register_font()
    hall = LiveHall(tmp_path)
    manager = hall.hello("manager")
    player = HeldPlayer()

    def voice(**match) -> dict:
        return manager.wait_event("voice", timeout=20, device="board-1", **match)

    async def scenario():
        with Speaker(CLIPS, player, call_repeat=2) as speaker, \
                CallAnnouncer(speaker, clock=lambda: player.now) as announcer:
            shell = BoardShell([hall.ws], hall.tokens["display"], BoardModel(),
                               announce=lambda call: announcer.call(call.number, call.window),
                               backlog=announcer.backlog)
            runner = asyncio.get_running_loop().create_task(shell.run())
            try:
                assert (await asyncio.to_thread(voice))["state"] == "idle"
                assert hall.hello("kiosk").request("take_ticket", category="A")["ok"]
                clerk = hall.hello("clerk", badge="1001", pin="1111")
                assert clerk.request("sign_in", window=1, post="A")["ok"]
                assert clerk.request("call_next")["ok"]
                busy = await asyncio.to_thread(voice, calls=1)
                assert busy["state"] == "backlog" and busy["seconds"] > 0
                player.release.set()
                done = await asyncio.to_thread(voice, calls=0)
                assert (done["seconds"], done["state"]) == (0, "idle")
            finally:
                shell.app.stop()
                await asyncio.wait_for(runner, 10)

    try:
        asyncio.run(scenario())
    finally:
        hall.stop()


def test_two_voice_zones_each_announce_only_their_own_windows(tmp_path):
    """Two voice-only devices (`--no-screen`) on one live hall, one for A区 (windows 1–4) and one
    for B区 (5–8) of demo-town's hall file: each announces the calls of its own windows only."""
    from display_board.voice_device import VoiceShell

    hall = LiveHall(tmp_path, hall_text=round_the_clock(
        (HALLS / "demo-town.toml").read_text(encoding="utf-8")))
    heard: dict[str, list[tuple[str, int]]] = {"A区": [], "B区": []}

    async def scenario():
        shells = [VoiceShell([hall.ws], hall.tokens["display"], BoardModel(BoardFilter(zones=frozenset({zone}))),
                             announce=lambda call, zone=zone: heard[zone].append((call.number, call.window)))
                  for zone in heard]
        runners = [asyncio.get_running_loop().create_task(shell.run()) for shell in shells]

        async def until(condition, seconds=15):
            for _ in range(seconds * 20):
                if condition():
                    return
                await asyncio.sleep(0.05)
            raise AssertionError(f"not in time: {heard}")

        try:
            await until(lambda: all(shell.snapshots for shell in shells))
            kiosk = hall.hello("kiosk")
            for prefix in "AEAE":
                kiosk.request("take_ticket", category=prefix)
            clerks = [(hall.hello("clerk", badge="1001", pin="4826"), 1),
                      (hall.hello("clerk", badge="1009", pin="275803"), 5)]
            for clerk, window in clerks:
                clerk.request("sign_in", window=window, post="A")
            for _ in range(2):
                for clerk, _ in clerks:
                    clerk.request("call_next")
                    clerk.request("finish", outcome="done")
            await until(lambda: len(heard["A区"]) == 2 and len(heard["B区"]) == 2)
            await asyncio.sleep(0.3)                        # nothing more comes
        finally:
            for shell in shells:
                await shell.stop()
            for runner in runners:
                runner.cancel()

    try:
        asyncio.run(scenario())
    finally:
        hall.stop()
    assert heard == {"A区": [("A001", 1), ("A002", 1)], "B区": [("E001", 5), ("E002", 5)]}


def _silences(samples, rate: int, seconds: float) -> int:
    """How many runs of digital silence at least `seconds` long the audio holds."""
    runs, run = 0, 0
    for sample in [*samples, 1]:
        if sample == 0:
            run += 1
            continue
        runs += run >= seconds * rate
        run = 0
    return runs


def test_the_hall_file_s_pace_and_repeat_reach_the_announced_audio(tmp_path):
    """`voice_pace = 150` and `voice_repeat = 3` in demo-town's hall file reach a voice-only device
    through the server's hello: the one WAV played for a call says it 3 times (counted from the
    audio: the 0.6 s silences between the repeats), and lasts what the clip engine makes at pace
    150: 0.8 s less than at the normal pace (the clip engine shortens the silences between its
    words only, docs/voice.md)."""
    from display_board.voice_device import VoiceShell, hall_announcer
    from hall.voice.announcement import CHIME_PAUSE, DEFAULT_GAP
    from hall.voice.clips import ClipEngine
    from hall.voice.playback import CallAnnouncer, Speaker
    from hall.voice.wav import read_pcm, wav_seconds
    from hall.voice.words import call_text

    class KeepingPlayer:
        def __init__(self):
            self.played = []

        def play(self, wav_path):
            self.played.append(read_pcm(wav_path))

        def interrupt(self):
            pass

    text = (HALLS / "demo-town.toml").read_text(encoding="utf-8").replace(
        "[hall]\n", "[hall]\nvoice_pace = 150\nvoice_repeat = 3\n", 1)
    hall = LiveHall(tmp_path, hall_text=round_the_clock(text))
    clips, player = ClipEngine(), KeepingPlayer()
    model = BoardModel(BoardFilter(zones=frozenset({"A区"})))

    async def scenario():
        with Speaker(clips, player) as speaker, CallAnnouncer(speaker) as announcer:
            shell = VoiceShell([hall.ws], hall.tokens["display"], model, hall_announcer(announcer, model))
            runner = asyncio.get_running_loop().create_task(shell.run())
            try:
                await _until(lambda: shell.snapshots)
                hall.hello("kiosk").request("take_ticket", category="A")
                clerk = hall.hello("clerk", badge="1001", pin="4826")
                clerk.request("sign_in", window=1, post="A")
                clerk.request("call_next")
                await _until(lambda: player.played, seconds=30)
            finally:
                await shell.stop()
                runner.cancel()

    try:
        asyncio.run(scenario())
    finally:
        hall.stop()
    (said,) = player.played
    assert _silences(said.samples, said.rate, DEFAULT_GAP - 0.05) == 3 - 1
    sentence = call_text("A001", 1)
    lead = wav_seconds(clips.chime) + CHIME_PAUSE
    at_150 = lead + 3 * clips.at_pace(150).seconds(sentence) + 2 * DEFAULT_GAP
    assert said.seconds == pytest.approx(at_150, abs=0.01)
    assert lead + 3 * clips.seconds(sentence) + 2 * DEFAULT_GAP - said.seconds > 0.75   # 8 gaps × 3


def test_a_board_for_one_zone(tmp_path):
    """The board of B区 (`--zone B区`) shows windows 5–8 only; screenshot for the eye."""
    from PIL import Image

    hall = LiveHall(tmp_path, hall_text=round_the_clock(
        (HALLS / "demo-town.toml").read_text(encoding="utf-8")))
    try:
        SHOTS.mkdir(parents=True, exist_ok=True)
        out = SHOTS / "demo-town-zone-b.png"
        board_screenshot(hall, out, "--zone", "B区")
        assert Image.open(out).size == (1920, 1080)
        wrong = SHOTS / "demo-town-unknown-zone.png"
        board_screenshot(hall, wrong, "--zone", "Z区")
    finally:
        hall.stop()
