"""The kiosk's own figures, measured in one kiosk process drawing offscreen (Mesa llvmpipe).

A hall server for the demo town (opened round the clock) runs as its own process on
127.0.0.1, set up by `bench/demo_server.py` in a process of its own, so that this process
holds nothing but the kiosk. This process is the kiosk: it starts, waits for the home
screen with the catalogue, then takes tickets by simulated touches. It prints:

- cold start: from this process's start (as the kernel recorded it) to the first home screen
  drawn with the departments on it, less the time spent waiting for the server to start
  (goal ≤ 3 s);
- tap → ticket on screen: from the touch on 取号 to the ticket screen drawn (goal ≤ 300 ms);
- tap → ticket printed: from the touch to the printer's bytes written, here to a file (goal
  ≤ 500 ms); the screen comes first, so a slow printer line never delays it;
- memory: the process's RSS after those screens (goal ≤ 250 MB).

Every wait has a limit (the server's start, the home screen, each ticket's screen and bytes): one
that runs out stops the run with what was awaited and what the kiosk shows, and exit status 1.

Usage: .venv/bin/python bench/kiosk_figures.py [--tickets N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_NO_CONFIG", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.demo_server import DemoServer  # noqa: E402

READING_SECONDS = 1.0   # between screens, as a person would take at the least
START_LIMIT = 60.0      # seconds for the first home screen (a loaded 2-core machine took 17 s)
TICKET_LIMIT = 30.0     # for a ticket's screen, and then its bytes (a request gives up after 5 s)


class Stuck(Exception):
    """A wait of the benchmark ran out: what was awaited, and what the kiosk showed."""


def process_age() -> float:
    """Seconds since this process was started, from /proc (so imports are counted too)."""
    start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def frame() -> None:
    await asyncio.sleep(0)
    from kivy.base import EventLoop

    EventLoop.idle()          # lay out and draw now


async def until(condition, seconds: float, awaited: str, shell) -> None:
    """Wait for `condition`, at most `seconds`; else raise Stuck saying where the kiosk is."""
    limit = time.perf_counter() + seconds
    while not condition():
        if time.perf_counter() > limit:
            from kivy.uix.label import Label

            shown = [w.text for w in shell.app.root.walk() if isinstance(w, Label) and w.text.strip()]
            raise Stuck(f"no {awaited} after {seconds:.0f} s: the kiosk shows screen "
                        f"{shell.app.screen!r} ({' | '.join(shown[:12])}); connected "
                        f"{shell.model.connected}, a tap's work pending {bool(shell.app.pending)}, "
                        f"failures {shell.app.failures}")
        await asyncio.sleep(0.001)


async def main(tickets: int) -> None:
    waited = time.perf_counter()
    server = DemoServer()
    waited = time.perf_counter() - waited

    from hall.kivy_runtime import configure_window

    configure_window(1080, 1920, fullscreen=False)    # as `kiosk run --portrait --windowed`
    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch

    from hall.look import register_font
    from hall.widgets import BigButton
    from kiosk.app import CatalogueCache, EscposPrinter, KioskShell
    from kiosk.printing import PrinterProfile

    register_font()
    Window.size = (1080, 1920)
    folder = Path(tempfile.mkdtemp())
    printed_at: list[float] = []
    out = folder / "printer.bin"

    class Recording(EscposPrinter):        # the real job to a file, its end noted
        async def ticket(self, *args):
            state = await super().ticket(*args)
            printed_at.append(time.perf_counter())
            return state

    shell = KioskShell([server.ws], server.tokens["kiosk"], CatalogueCache(folder / "cat.json"),
                       printer=Recording(f"file:{out}", PrinterProfile()))
    runner = asyncio.get_running_loop().create_task(shell.run())
    try:
        await until(lambda: shell.model.connected and shell.model.departments()
                    and shell.app.screen == "home"
                    and any(isinstance(w, BigButton) for w in shell.app.root.walk()),
                    START_LIMIT, "home screen with the catalogue", shell)
        await frame()
        cold = process_age() - waited
        on_screen: list[float] = []
        to_print: list[float] = []
        for _ in range(tickets):
            shell.app.show_department(shell.model.departments()[0].code)
            await frame()
            await asyncio.sleep(READING_SECONDS)      # a person reads before tapping
            await frame()                             # the screen laid out as it is now
            button = next(w for w in shell.app.root.walk()
                          if isinstance(w, BigButton) and w.text == "取号")
            x, y = button.to_window(*button.center)
            touch = UnitTestTouch(x, y)
            tapped = time.perf_counter()
            touch.touch_down()
            touch.touch_up()
            await until(lambda: shell.app.screen == "ticket", TICKET_LIMIT,
                        f"ticket screen for ticket {len(on_screen) + 1}", shell)
            await frame()
            on_screen.append((time.perf_counter() - tapped) * 1000)
            await until(lambda: len(printed_at) == len(on_screen), TICKET_LIMIT,   # printing
                        f"printer bytes for ticket {len(on_screen)}", shell)        # comes after
            to_print.append((printed_at[-1] - tapped) * 1000)
            await asyncio.sleep(READING_SECONDS)      # and looks at the ticket
            shell.app.show_home()
        print(f"cold start to the home screen with the catalogue: {cold:.2f} s")
        print(f"tap → ticket on screen, {tickets} tickets: median {statistics.median(on_screen):.0f}"
              f" ms, max {max(on_screen):.0f} ms")
        print(f"tap → ticket bytes written: median {statistics.median(to_print):.0f} ms, "
              f"max {max(to_print):.0f} ms")
        print(f"kiosk memory (RSS) after {tickets} tickets: {rss_mb():.0f} MB")
    finally:
        shell.app.stop()
        try:
            await asyncio.wait_for(runner, 10)
        finally:
            server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20)
    try:
        asyncio.run(main(parser.parse_args().tickets))
    except Stuck as stuck:      # to the real stderr: kivy's logger took over sys.stderr
        print(f"kiosk_figures: {stuck}", file=sys.__stderr__)
        sys.exit(1)
