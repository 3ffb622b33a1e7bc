"""The manager's dashboard, measured: a clerk's call or finish at window 1, from the moment the
clerk's request leaves the clerk's connection to the moment the dashboard's page (chromium,
driven by Playwright, 1366×768, signed in) has the change in its DOM. Goal: ≤ 100 ms.

The hall is the demo town's server in its own process (`bench/demo_server.py`, opened round the
clock). This process holds a kiosk connection (it keeps tickets waiting) and a clerk connection
(badge 1001, signed in at window 1), both plain `websockets` clients.

How a round is timed:

- **sent**: `time.time()` just before the clerk's `call_next` (or `finish`) frame is written to
  its socket.
- **in the DOM**: the page runs a MutationObserver on the window grid. Each time the mutations of
  a task are delivered (a microtask right after the page's event handler changed the DOM, so
  before layout and paint), it reads window 1's card — its state (`data-status`) and the ticket
  on it — and, when that differs from what it read last, notes the page's wall clock
  (`performance.timeOrigin + performance.now()`, ms) with the new state. It also notes the start
  of the next animation frame after it (`requestAnimationFrame`): the first frame that can paint
  the change, reported beside.
- The page's wall clock and this process's `time.time()` are the same system clock read in two
  processes; their offset is measured before the run (the tightest of 20 `page.evaluate` round
  trips) and taken off, so the figures are good to a fraction of a millisecond.

What the figure covers: the clerk's frame over loopback, the server's check, the commit
(SQLite, synchronous=FULL) and fan-out, the page's WebSocket receipt, HallSocket's parse, the
dashboard's handler and its redraw of the card. Each round waits `--gap` seconds (default 0.25)
between commands: the server sends window and queue states at once in a quiet hall but holds them
for up to 0.1 s when states went out less than 0.1 s before (queue_server/fanout.py); the page
draws a call and an end from their own events (`ticket_called`, `ticket_finished`), which are
never held, so `--gap 0` (a busy hall: the kiosk's ticket right before each call) shows whether
the hold reaches the dashboard.

Usage: .venv/bin/python bench/dashboard_latency.py [--rounds N] [--gap SECONDS]   (N ≥ 50; default
100, at most 140: the demo's category A takes 150 tickets a day)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from bench.demo_server import DemoServer  # noqa: E402
from bench.measure import clock_offset, print_goal, print_spread  # noqa: E402
from tests.browser import chromium  # noqa: E402
from tests.live_hall import MANAGER  # noqa: E402

BADGE, PIN = "1001", "4826"          # 张丽华, A post of window 1 in assets/halls/demo-town.toml
WINDOW = 1
WATCH = """(number) => {
    const now = () => performance.timeOrigin + performance.now();
    const state = () => {
        const card = document.querySelector(`.win[data-window="${number}"]`);
        if (!card) return "";
        const ticket = card.querySelector('.win-ticket');
        return `${card.dataset.status}|${ticket ? ticket.textContent : ''}`;
    };
    let last = state();
    window.benchSeen = [];
    new MutationObserver(() => {
        const seen = state();
        if (seen === last) return;
        last = seen;
        const entry = {state: seen, dom: now(), frame: null};
        window.benchSeen.push(entry);
        requestAnimationFrame(() => { entry.frame = now(); });
    }).observe(document.getElementById('window-groups'),
               {subtree: true, childList: true, characterData: true, attributes: true});
}"""


class Connection:
    """A plain client of the hall: requests answered in order; events read past and dropped."""

    def __init__(self, ws: str, stack: contextlib.ExitStack, **hello):
        self.socket = stack.enter_context(connect(ws, max_size=None))
        self.next_id = 0
        reply = self.request("hello", **hello)
        if not reply["ok"]:
            raise SystemExit(f"hello refused: {reply['error']['message']}")

    def send(self, op: str, **params) -> float:
        """Send a request; the time (ms) just before it went."""
        self.next_id += 1
        frame = json.dumps({"id": self.next_id, "op": op, **params})
        sent = time.time() * 1000
        self.socket.send(frame)
        return sent

    def reply(self) -> dict:
        while True:
            message = json.loads(self.socket.recv(timeout=10))
            if message.get("re") == self.next_id:
                return message

    def request(self, op: str, **params) -> dict:
        self.send(op, **params)
        return self.reply()


def signed_in(browser, http: str):
    """The dashboard at 1366×768, signed in, window 1 shown idle (the clerk signed in there)."""
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page.goto(f"{http}/manager")
    page.get_by_label("用户名").fill(MANAGER[0])
    page.get_by_label("密码").fill(MANAGER[1])
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator(f'.win[data-window="{WINDOW}"]')).to_have_attribute("data-status", "idle")
    return page


def seen(page, state: str, after: int) -> dict:
    """The page's first note of window 1 showing `state`, among the notes after the first `after`."""
    page.wait_for_function(
        "([state, after]) => window.benchSeen.slice(after).some((e) => e.state === state && e.frame)",
        arg=[state, after], timeout=10_000)
    return next(e for e in page.evaluate("window.benchSeen")[after:] if e["state"] == state)


def main(rounds: int, gap: float) -> None:
    if not 50 <= rounds <= 140:
        raise SystemExit("--rounds 应在 50 到 140 之间")
    server = DemoServer()
    http = server.ws.removesuffix("/ws").replace("ws", "http", 1)
    dom: dict[str, list[float]] = {"call": [], "finish": []}
    frame: dict[str, list[float]] = {"call": [], "finish": []}
    try:
        with contextlib.ExitStack() as stack, chromium() as browser:
            kiosk = Connection(server.ws, stack, role="kiosk", token=server.tokens["kiosk"])
            clerk = Connection(server.ws, stack, role="clerk", badge=BADGE, pin=PIN)
            assert clerk.request("sign_in", window=WINDOW, post="A")["ok"]
            page = signed_in(browser, http)
            page.evaluate(WATCH, WINDOW)
            offset = clock_offset(page)
            for _ in range(rounds):
                assert kiosk.request("take_ticket", category="A")["ok"]
                for op, params in (("call_next", {}), ("finish", {"outcome": "done"})):
                    time.sleep(gap)
                    notes = page.evaluate("window.benchSeen.length")
                    sent = clerk.send(op, **params)
                    reply = clerk.reply()
                    if not reply["ok"]:
                        raise SystemExit(f"{op} refused: {reply['error']['message']}")
                    kind = "call" if op == "call_next" else "finish"
                    state = f"serving|{reply['ticket']['number']}" if kind == "call" else "idle|"
                    note = seen(page, state, notes)
                    dom[kind].append(note["dom"] - offset - sent)
                    frame[kind].append(note["frame"] - offset - sent)
    finally:
        server.close()

    print(f"manager dashboard: {rounds} rounds at window {WINDOW}, {gap:g} s between commands; "
          f"clerk's request sent → the dashboard's DOM shows it (page/process clock offset "
          f"{offset:+.2f} ms, taken off)")
    everything = dom["call"] + dom["finish"]
    print_figures([("call → DOM", dom["call"]), ("finish → DOM", dom["finish"]),
                   ("both → DOM", everything),
                   ("both → next frame", frame["call"] + frame["finish"])], everything, 100)


def print_figures(figures: list[tuple[str, list[float]]], goal_of: list[float],
                  goal_ms: float) -> None:
    """Each figure's median, p99 and max, then whether the p99 of `goal_of` meets the goal."""
    print_spread(figures)
    print_goal("request → DOM", goal_of, goal_ms)


def command_line(run: Callable[[int, float], None], doc: str) -> None:
    """A benchmark's `--rounds` and `--gap`, handed to `run`."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.25)
    arguments = parser.parse_args()
    run(arguments.rounds, arguments.gap)


if __name__ == "__main__":
    command_line(main, __doc__)
