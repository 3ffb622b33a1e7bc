"""How long the printing package takes for a ticket: our share of "bytes on the printer line
≤ 500 ms after the tap".

Prints, for 58 and 80 mm paper, with native and image QR codes, and with a GB2312 printer that
needs one bitmap line (a name with 喆):
- layout + encoding of a ticket (the take_ticket reply to ESC/POS bytes), median and p95;
- the whole job to a `file:` printer (open, write, close; no status read on a file);
- rendering the bytes back to a PNG (what tests and the `preview:` printer pay), median;
- the bytes per ticket and what they take on a 9600-baud serial line.
The first call of the process is timed apart (imports done, caches cold).

Usage: .venv/bin/python bench/print_ticket.py [runs]    (default 200)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.printing import (
    PrinterProfile,
    encode,
    print_ticket,
    render,
    sample,
    ticket_layout,
)


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(len(values) * 0.95) - 1)]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    ticket, hall, item = sample.TICKET, sample.HALL, sample.ITEM
    rare_ticket = {**ticket, "windows": [{**ticket["windows"][0], "name": "王喆工作室窗口"}]}

    start = time.perf_counter()
    encode(ticket_layout(ticket, hall, 80, item), PrinterProfile(80))
    cold = (time.perf_counter() - start) * 1000
    print(f"first ticket of the process (cold caches): layout + encoding {cold:.1f} ms")
    print()
    print(f"{'profile':<34} {'layout+encode':>15} {'job to file:':>13} {'render':>8} "
          f"{'bytes':>7} {'at 9600 Bd':>10}")
    cases = [
        ("58 mm, native QR", PrinterProfile(58), ticket),
        ("80 mm, native QR", PrinterProfile(80), ticket),
        ("58 mm, image QR", PrinterProfile(58, native_qr=False), ticket),
        ("80 mm, image QR", PrinterProfile(80, native_qr=False), ticket),
        ("80 mm, GB2312, one bitmap line", PrinterProfile(80, "gb2312"), rare_ticket),
    ]
    folder = Path(tempfile.mkdtemp(prefix="print-bench-"))
    for name, profile, t in cases:
        build = timed(lambda p=profile, t=t: encode(ticket_layout(t, hall, p.paper, item), p),
                      runs)
        target = f"file:{folder / 'ticket.bin'}"
        job = timed(lambda p=profile, t=t, f=target: print_ticket(f, t, hall, p, item),
                    max(10, runs // 4))
        data = encode(ticket_layout(t, hall, profile.paper, item), profile)
        drawn = timed(lambda d=data, p=profile: render(d, p.dots, p.charset), max(5, runs // 10))
        print(f"{name:<34} {statistics.median(build):6.2f} / {p95(build):5.2f} ms"
              f" {statistics.median(job):9.2f} ms {statistics.median(drawn):5.1f} ms"
              f" {len(data):7d} {len(data) * 10 / 9600:8.2f} s")
    print()
    print("layout+encode: median / p95 over", runs, "runs; job and render: medians.")
    print("Serial time is bytes × 10 bits ÷ 9600 Bd; USB and network lines take milliseconds.")


if __name__ == "__main__":
    main()
