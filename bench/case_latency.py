"""A new 差评 → its case (差评工单) on the manager's dashboard, measured: from the moment the pad's
`rate` request (非常不满意, with a reason) leaves the pad's connection to the moment the dashboard's
page (chromium, driven by Playwright, 1366×768, signed in) has the new case in its 差评工单 list.
Goal: ≤ 200 ms.

The hall is the demo town's server in its own process (`bench/demo_server.py`, opened round the
clock). This process holds a kiosk, a clerk (badge 1001, signed in at window 1) and the pad of
window 1, plain `websockets` clients (`bench.dashboard_latency.Connection`). Each round the
kiosk takes a ticket, the clerk calls and finishes it, and after `--gap` seconds the pad rates it
非常不满意: the server opens a case in the same commit as the rating and the `negative_rating`
warning, and sends managers the `case` event.

How a round is timed, as `bench/dashboard_latency.py` does: **sent** is `time.time()` just before
the pad's frame is written to its socket; **in the DOM** is the page's wall clock when a
MutationObserver on the case list (`#cases`) first sees an item for a case it did not list
before, and the next animation frame after it is reported beside. The page's and this process's
clocks are the same system clock read in two processes; their offset is measured first and
taken off.

What the figure covers: the pad's frame over loopback, the server's check, the commit of the
rating, the warning and the case (SQLite, synchronous=FULL), the fan-out, the page's receipt and
cases.js's redraw of the list (which grows by one case a round).

Usage: .venv/bin/python bench/case_latency.py [--rounds N] [--gap SECONDS]   (50 ≤ N ≤ 140)
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench.dashboard_latency import (  # noqa: E402
    BADGE,
    PIN,
    WINDOW,
    Connection,
    command_line,
    print_figures,
    signed_in,
)
from bench.demo_server import DemoServer  # noqa: E402
from bench.measure import clock_offset  # noqa: E402
from queue_server.hall_toml import load_hall  # noqa: E402
from tests.browser import chromium  # noqa: E402

WATCH = """() => {
    const now = () => performance.timeOrigin + performance.now();
    const listed = () => new Set([...document.querySelectorAll('#cases li[data-case]')]
        .map((li) => li.dataset.case));
    let known = listed();
    window.benchSeen = [];
    new MutationObserver(() => {
        const seen = listed();
        const added = [...seen].filter((c) => !known.has(c));
        known = seen;
        for (const c of added) {
            const entry = {case: c, dom: now(), frame: null};
            window.benchSeen.push(entry);
            requestAnimationFrame(() => { entry.frame = now(); });
        }
    }).observe(document.getElementById('cases'),
               {subtree: true, childList: true, attributes: true});
}"""


REASON = load_hall(ROOT / "assets/halls/demo-town.toml").hall.rating_reasons[0]


def main(rounds: int, gap: float) -> None:
    if not 50 <= rounds <= 140:
        raise SystemExit("--rounds 应在 50 到 140 之间")
    server = DemoServer()
    http = server.ws.removesuffix("/ws").replace("ws", "http", 1)
    dom: list[float] = []
    frame: list[float] = []
    try:
        with contextlib.ExitStack() as stack, chromium() as browser:
            kiosk = Connection(server.ws, stack, role="kiosk", token=server.tokens["kiosk"])
            clerk = Connection(server.ws, stack, role="clerk", badge=BADGE, pin=PIN)
            pad = Connection(server.ws, stack, role="pad", token=server.tokens["pad"])
            assert clerk.request("sign_in", window=WINDOW, post="A")["ok"]
            page = signed_in(browser, http)
            page.evaluate(WATCH)
            offset = clock_offset(page)
            for _ in range(rounds):
                assert kiosk.request("take_ticket", category="A")["ok"]
                number = clerk.request("call_next")["ticket"]["number"]
                assert clerk.request("finish", outcome="done")["ok"]
                time.sleep(gap)
                notes = page.evaluate("window.benchSeen.length")
                sent = pad.send("rate", ticket=number, score=1, reasons=[REASON])
                reply = pad.reply()
                if not reply["ok"]:
                    raise SystemExit(f"rate refused: {reply['error']['message']}")
                page.wait_for_function("(after) => window.benchSeen.slice(after).some((e) => e.frame)",
                                       arg=notes, timeout=10_000)
                note = next(e for e in page.evaluate("window.benchSeen")[notes:] if e["frame"])
                dom.append(note["dom"] - offset - sent)
                frame.append(note["frame"] - offset - sent)
            shown = page.locator("#cases li[data-case]").count()
    finally:
        server.close()

    print(f"manager dashboard: {rounds} 差评 from the pad of window {WINDOW}, {gap:g} s after each "
          f"finish; pad's rate sent → the case in the dashboard's DOM (page/process clock offset "
          f"{offset:+.2f} ms, taken off); {shown} cases listed at the end")
    print_figures([("rate → case in DOM", dom), ("rate → next frame", frame)], dom, 200)


if __name__ == "__main__":
    command_line(main, __doc__)
