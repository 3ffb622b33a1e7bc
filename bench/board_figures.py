"""The hall board's figures, measured in one board process drawing offscreen (Mesa llvmpipe)
at 1920×1080, against the demo-town server in its own process (`bench/demo_server.py`).

- call → board redrawn: from a clerk's call_next sent to the board's frame drawn with that call
  (goal ≤ 100 ms), and from the event's arrival to that frame;
- frames per second while a long notice scrolls (goal ≥ 30), counted from the window's flips,
  and the CPU that takes;
- CPU while idle (a short notice stands still; only the clock changes): the process's CPU
  time over wall time (goal ≤ 15% of one core).

Usage: .venv/bin/python bench/board_figures.py [--calls N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

for _name, _value in {"SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1",
                      "KIVY_NO_CONSOLELOG": "1", "KIVY_NO_FILELOG": "1",
                      "KIVY_NO_CONFIG": "1"}.items():
    os.environ.setdefault(_name, _value)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.demo_server import DemoServer  # noqa: E402


async def main(calls: int) -> None:
    server = DemoServer()

    from hall.kivy_runtime import configure_window

    configure_window(1920, 1080, fullscreen=False)
    from kivy.core.window import Window
    from websockets.asyncio.client import connect

    import display_board.app as board_app
    from display_board.app import BoardShell
    from display_board.model import BoardModel
    from hall.look import register_font

    register_font()
    shell = BoardShell([server.ws], server.tokens["display"], BoardModel())
    flips: list[float] = []
    Window.bind(on_flip=lambda *_: flips.append(time.perf_counter()))
    arrived: dict[str, float] = {}
    original = shell._event

    def event(message):
        if message.get("ev") == "ticket_called":
            arrived[message["number"]] = time.perf_counter()
        original(message)

    shell.client.on_event = event
    runner = asyncio.get_running_loop().create_task(shell.run())
    try:
        while not shell.snapshots:
            await asyncio.sleep(0.01)
        await asyncio.sleep(1)

        async def measure(seconds: float = 5.0) -> tuple[float, float]:
            flips.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.sleep(seconds)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            return len(flips) / wall, cpu / wall

        _, idle_cpu = await measure()
        shell.model.notice = "今天下午 3 点起社保系统升级，请提前办理；" * 4    # too long: it scrolls
        shell.app.changed()
        fps, scroll_cpu = await measure()
        board_app.HIGHLIGHT_SECONDS = 0.05           # the next call at once, not after 6 s
        shown: dict[str, float] = {}
        show_next = shell.app._show_next_call

        def noting():
            show_next()
            assert shell.app.board is not None      # the board is up: its shell started above
            if shell.app.board.call is not None:
                shown[shell.app.board.call.number] = time.perf_counter()

        shell.app._show_next_call = noting   # type: ignore[method-assign]  # wrapped to time it
        # call → board: a kiosk takes tickets, a clerk calls them one by one
        async with connect(server.ws) as kiosk, connect(server.ws) as clerk:
            async def ask(ws, op, **params):
                await ws.send(json.dumps({"id": 1, "op": op, **params}))
                while True:
                    reply = json.loads(await ws.recv())
                    if reply.get("re") == 1:
                        return reply

            await ask(kiosk, "hello", role="kiosk", token=server.tokens["kiosk"])
            await ask(clerk, "hello", role="clerk", badge="1001", pin="4826")
            await ask(clerk, "sign_in", window=1, post="A")
            to_frame, from_event = [], []
            for _ in range(calls):
                await ask(kiosk, "take_ticket", category="A")
                await asyncio.sleep(0.2)
                sent = time.perf_counter()
                number = (await ask(clerk, "call_next"))["ticket"]["number"]
                while number not in shown or not flips or flips[-1] < shown[number]:
                    await asyncio.sleep(0.001)
                drawn = next(f for f in flips if f >= shown[number])
                to_frame.append((drawn - sent) * 1000)
                from_event.append((drawn - arrived[number]) * 1000)
                await ask(clerk, "finish", outcome="done")
        print(f"call_next → board frame with the call, {calls} calls: median "
              f"{statistics.median(to_frame):.0f} ms, max {max(to_frame):.0f} ms "
              f"(event arrival → frame: median {statistics.median(from_event):.0f} ms, "
              f"max {max(from_event):.0f} ms)")
        print(f"frames per second while a long notice scrolls: {fps:.0f} ({scroll_cpu:.0%} of a core)")
        print(f"CPU while idle (the notice standing still): {idle_cpu:.0%} of one core")
    finally:
        shell.app.stop()
        await asyncio.wait_for(runner, 10)
        server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    asyncio.run(main(parser.parse_args().calls))
