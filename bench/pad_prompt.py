"""finish → the satisfaction pad's prompt on screen, measured in one pad process drawing
offscreen (Mesa llvmpipe) at 1280×800, against the demo-town server in its own process
(`bench/demo_server.py`).

Each round a kiosk takes a ticket, the clerk of window 1 calls it, waits a moment, and sends
`finish`; the clock runs from just before that frame leaves to the first frame the pad's window
shows after it built the prompt (`PadApp.screen_drawn`, called from the window's flip), over
`--rounds` rounds (goal ≤ 200 ms). Also split: the `rating_requested` event's arrival at the
pad → that frame (the pad's own share). Then the citizen's choice is made and the pad goes back
to the clerk's screen for the next round.

Usage: .venv/bin/python bench/pad_prompt.py [--rounds 30]
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
from bench.measure import percentile  # noqa: E402


async def main(rounds: int) -> None:
    server = DemoServer()

    from hall.kivy_runtime import configure_window

    configure_window(1280, 800, fullscreen=False)
    from websockets.asyncio.client import connect

    from hall.look import register_font
    from satisfaction_pad.app import PadShell
    from satisfaction_pad.model import PadModel

    register_font()
    shell = PadShell([server.ws], server.tokens["pad"], PadModel(thanks_seconds=0.1))
    drawn: list[tuple[str, float]] = []
    shell.app.screen_drawn = lambda screen, at: drawn.append((screen, at))
    arrived: dict[str, float] = {}
    original = shell.client.on_event
    assert original is not None               # the shell gives its client the pad's handler

    async def event(message):
        if message.get("ev") == "rating_requested":
            arrived[message["ticket"]] = time.perf_counter()
        handled = original(message)
        assert handled is not None            # that handler is a coroutine function
        await handled

    shell.client.on_event = event
    runner = asyncio.get_running_loop().create_task(shell.run())
    try:
        while not shell.snapshots:
            await asyncio.sleep(0.01)
        async with connect(server.ws) as kiosk, connect(server.ws) as clerk:
            async def ask(ws, op, **params):
                await ws.send(json.dumps({"id": 1, "op": op, **params}))
                while True:
                    reply = json.loads(await ws.recv())
                    if reply.get("re") == 1:
                        assert reply["ok"], reply
                        return reply

            await ask(kiosk, "hello", role="kiosk", token=server.tokens["kiosk"])
            await ask(clerk, "hello", role="clerk", badge="1001", pin="4826")
            await ask(clerk, "sign_in", window=1, post="A")
            to_frame, from_event = [], []
            for _ in range(rounds):
                await ask(kiosk, "take_ticket", category="A")
                number = (await ask(clerk, "call_next"))["ticket"]["number"]
                await asyncio.sleep(0.3)                   # the called screen is up and drawn
                drawn.clear()
                sent = time.perf_counter()
                await ask(clerk, "finish", outcome="done")
                while not any(screen == "prompt" for screen, _ in drawn):
                    await asyncio.sleep(0.001)
                frame = next(at for screen, at in drawn if screen == "prompt")
                assert shell.model.prompt is not None and shell.model.prompt.ticket == number
                to_frame.append((frame - sent) * 1000)
                from_event.append((frame - arrived[number]) * 1000)
                shell.model.choose(5, shell.clock())       # the citizen rates; the next round
                shell.wake()
                shell.app.refresh()
                while len(shell.sent) < len(to_frame) or shell.model.screen == "thanks":
                    await asyncio.sleep(0.01)
        print(f"finish → pad prompt on screen, {rounds} rounds: median "
              f"{statistics.median(to_frame):.0f} ms, p99 {percentile(to_frame, 0.99):.0f} ms, "
              f"max {max(to_frame):.0f} ms (goal ≤ 200 ms)")
        print(f"rating_requested arrival → that frame: median {statistics.median(from_event):.0f} ms,"
              f" p99 {percentile(from_event, 0.99):.0f} ms, max {max(from_event):.0f} ms")
    finally:
        shell.app.stop()
        await asyncio.wait_for(runner, 10)
        server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    asyncio.run(main(parser.parse_args().rounds))
