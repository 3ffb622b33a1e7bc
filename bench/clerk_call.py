"""The clerk console's call, measured: a click on 呼叫下一位 in the console (chromium, driven by
Playwright, at 1366×768) to the display's receipt of `ticket_called`, against the demo-town
server in its own process (`bench/demo_server.py`). Goal: p99 ≤ 50 ms on loopback.

Two figures per call:

- **click → display**: from the moment the click event is dispatched in the page (a capturing
  listener the benchmark adds reads `performance.timeOrigin + performance.now()`, the page's own
  wall-clock time in ms) to the moment the display's socket (a `websockets` client in this
  process, on its own thread) has the `ticket_called` frame (`time.time()`). The page's clock
  and this process's clock are the same system clock read two ways; their offset is measured
  before the run (the best of 20 `page.evaluate` round trips) and taken off, so the figure is
  good to about a quarter of a millisecond. This is what a clerk waits for: the click, the
  page's handler, the WebSocket send, the server's sign-in check, commit (SQLite, FULL sync)
  and fan-out, the display's receipt.
- **page.click() → display**: from just before Playwright's `page.click` is called, which adds
  Playwright's own round trips to the browser (finding the button, checking that it can be
  clicked, sending the mouse events): an upper bound, reported beside the first.
- **page's send → display**: from the page's `WebSocket.send` of the call_next frame (the
  benchmark wraps `WebSocket.prototype.send` to note it): the server's and the network's
  share, so that click → display minus this is the page's own.

Between calls the console finishes the ticket by its keys (6, then Enter), the kiosk's
connection keeps tickets waiting, and the benchmark waits until 呼叫下一位 is enabled again.

Usage: .venv/bin/python bench/clerk_call.py [--calls N]   (default 100)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import queue
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from bench.demo_server import DemoServer  # noqa: E402
from bench.measure import clock_offset, print_goal, print_spread  # noqa: E402
from tests.browser import chromium  # noqa: E402

BADGE, PIN = "1001", "4826"          # 张丽华, A post of window 1 in assets/halls/demo-town.toml
CAPTURE_CLICKS = """() => {
    const now = () => performance.timeOrigin + performance.now();
    window.benchClicks = [];
    window.benchSends = [];
    document.addEventListener('click', (event) => {
        if (event.target.closest('#act-call')) window.benchClicks.push(now());
    }, true);
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
        if (String(data).includes('"call_next"')) window.benchSends.push(now());
        return send.call(this, data);
    };
}"""


class Display:
    """A display connection on its own thread: each ticket_called with the time it arrived."""

    def __init__(self, ws: str, token: str, stack: contextlib.ExitStack):
        self.connection = stack.enter_context(connect(ws, max_size=None))
        self.connection.send(json.dumps({"id": 1, "op": "hello", "role": "display",
                                         "token": token}))
        assert json.loads(self.connection.recv(timeout=5))["ok"]
        self.calls: queue.Queue[tuple[str, float]] = queue.Queue()
        threading.Thread(target=self._listen, daemon=True).start()

    def _listen(self) -> None:
        try:
            for frame in self.connection:
                message = json.loads(frame)
                if message.get("ev") == "ticket_called":
                    self.calls.put((message["number"], time.time()))
        except Exception:     # the connection closes at the end
            pass

    def next_call(self) -> tuple[str, float]:
        return self.calls.get(timeout=10)


class Kiosk:
    def __init__(self, ws: str, token: str, stack: contextlib.ExitStack):
        self.connection = stack.enter_context(connect(ws, max_size=None))
        self.next_id = 0
        assert self.request("hello", role="kiosk", token=token)["ok"]

    def request(self, op: str, **params) -> dict:
        self.next_id += 1
        self.connection.send(json.dumps({"id": self.next_id, "op": op, **params}))
        while True:
            message = json.loads(self.connection.recv(timeout=10))
            if message.get("re") == self.next_id:
                return message


def main(calls: int) -> None:
    server = DemoServer()
    http = server.ws.removesuffix("/ws").replace("ws", "http", 1)
    from_click: list[float] = []
    from_playwright: list[float] = []
    from_send: list[float] = []
    try:
        with contextlib.ExitStack() as connections, chromium() as browser:
            display = Display(server.ws, server.tokens["display"], connections)
            kiosk = Kiosk(server.ws, server.tokens["kiosk"], connections)
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(f"{http}/clerk")
            page.get_by_label("工号").fill(BADGE)
            page.get_by_label("密码").fill(PIN)
            page.get_by_role("button", name="登录", exact=True).click()
            page.locator("button.post", has_text="1 号窗口").filter(has_text="A岗").click()
            call = page.locator("#act-call")
            expect(call).to_be_enabled()
            page.evaluate(CAPTURE_CLICKS)
            offset = clock_offset(page)
            for i in range(calls):
                if i % 20 == 0:          # keep tickets waiting (the demo's A cap is 150 a day)
                    for _ in range(20):
                        assert kiosk.request("take_ticket", category="A")["ok"]
                expect(call).to_be_enabled()
                started = time.time() * 1000
                call.click()
                number, arrived = display.next_call()
                arrived *= 1000
                clicked, sent = page.evaluate("[window.benchClicks.at(-1), window.benchSends.at(-1)]")
                from_click.append(arrived - (clicked - offset))
                from_send.append(arrived - (sent - offset))
                from_playwright.append(arrived - started)
                expect(page.locator("#ticket-number")).to_have_text(number)
                page.keyboard.press("6")
                page.keyboard.press("Enter")
                expect(page.locator("#finish-dialog")).to_be_hidden()
            if len(page.evaluate("window.benchClicks")) != calls:
                raise SystemExit("a click was not seen by the page")
    finally:
        server.close()

    print(f"clerk console: {calls} calls, 呼叫下一位 clicked → display has ticket_called "
          f"(page/process clock offset {offset:+.2f} ms, taken off)")
    print_spread([("click → display", from_click), ("page.click() → display", from_playwright),
                  ("page's send → display", from_send)], 24)
    print_goal("click → display", from_click, 50)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    main(parser.parse_args().calls)
