"""The booking page (`/book`) opened on a phone, measured: its first paint and the moment its
list of bookable items is drawn. Goal (issue 17): first paint ≤ 1 s on loopback.

The hall is the demo town's server in its own process (`bench/demo_server.py`; categories A and
C take bookings). Each round opens `/book` in a fresh chromium context at phone size (390×844,
tests/browser.py: nothing cached, a citizen's first visit) and reads the page's own clock,
from the start of the navigation (`performance.now()` is 0 there):

- **first paint**: the browser's `first-contentful-paint` (the header, the title, the footer:
  the HTML, its three style sheets and the fonts it needs);
- **items drawn**: when a MutationObserver (installed before the page's scripts run) first sees
  a category card in `#categories`: the scripts loaded, the WebSocket opened, `hello` answered
  with the booking menu, and the cards built.

What the figures cover: loopback HTTP (the files, the vocabulary script the server builds), the
WebSocket's handshake and hello, and chromium's layout and paint; not a phone's radio.

Usage: .venv/bin/python bench/book_page.py [--rounds N]   (20 ≤ N ≤ 200, default 50)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.demo_server import DemoServer  # noqa: E402
from bench.measure import print_goal, print_spread  # noqa: E402
from tests.browser import PHONE, chromium  # noqa: E402

GOAL_MS = 1000.0
WATCH = """
window.benchItems = null;
new MutationObserver((changes, observer) => {
  if (document.querySelector('#categories section.category')) {
    window.benchItems = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });
"""
READ = """() => ({
  paint: performance.getEntriesByName('first-contentful-paint')[0].startTime,
  items: window.benchItems,
})"""


def main(rounds: int) -> None:
    if not 20 <= rounds <= 200:
        raise SystemExit("--rounds 应在 20 到 200 之间")
    server = DemoServer()
    http = server.ws.removesuffix("/ws").replace("ws", "http", 1)
    paint: list[float] = []
    items: list[float] = []
    try:
        with chromium() as browser:
            for _ in range(rounds):
                context = browser.new_context(**PHONE)
                page = context.new_page()
                page.add_init_script(WATCH)
                page.goto(f"{http}/book")
                page.wait_for_function("window.benchItems !== null && "
                                       "performance.getEntriesByName('first-contentful-paint').length",
                                       timeout=10_000)
                seen = page.evaluate(READ)
                cards = page.locator("#categories section.category").count()
                paint.append(seen["paint"])
                items.append(seen["items"])
                context.close()
    finally:
        server.close()

    print(f"booking page /book: {rounds} first visits (fresh phone-size chromium context each, "
          f"390×844), demo town's server on loopback; {cards} categories taking bookings")
    print_spread([("first paint", paint), ("items drawn", items)], 12)
    print_goal("first paint", paint, GOAL_MS)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=50)
    main(parser.parse_args().rounds)
