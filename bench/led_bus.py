"""How long the LED window strips take on one serial port (docs/led-protocol.md §11).

Runs the real `StripDriver` against emulated QLink strips on a pseudo-terminal. With a baud
rate the emulator holds each reply back by the wire time of the request and the reply
(10 bits a byte), so the figures resemble a real RS-485 line; "no wire" is the raw pty, i.e.
our own overhead (asyncio, the I/O thread, pyserial, the emulator).

Prints, for N strips on one port (default 28, as in a real tax hall):
- one update of every strip (each gets new two-line content, e.g. 12号窗口 / 请A012), from
  `update()` to the last strip showing it, against the floor: frames × (request + ACK
  bytes) × 10 / baud, the wire time alone without turnaround or gaps;
- the poll cycle (every strip PINGed once, polling as fast as the bus allows) against its floor;
- what each silent strip adds to a cycle (one reply timeout), and the default schedule.
Figures only; nothing here gates anything.

Usage: .venv/bin/python bench/led_bus.py [strips] [baud]     (default 28 9600)
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from display_board.led import QLinkCodec, Show, StripConfig, StripDriver
from display_board.led.codec import Ping
from display_board.led.content import compose
from display_board.led.emulator import StripEmulator
from hall import qlink
from hall.qlink import Cmd

ACK_SIZE = qlink.HEADER_SIZE + 2 + qlink.CRC_SIZE


def view(window: int, number: str) -> dict:
    return {"window": window, "name": f"{window}号窗口", "status": "open", "status_text": "办理中",
            "reason": None, "clerk": None, "current": number}


async def until(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("the bench timed out: something is broken")
        await asyncio.sleep(0.002)


async def running(emu: StripEmulator, strips: int, baud: int | None, poll_interval: float):
    configs = [StripConfig(address) for address in range(1, strips + 1)]
    driver = StripDriver(emu.path, configs, baudrate=baud or 9600, poll_interval=poll_interval,
                         offline_poll_interval=3600.0)
    task = asyncio.create_task(driver.run())
    await until(lambda: all(s.online for s in driver.status().values()))
    await until(lambda: all(driver.info(a) is not None for a in range(1, strips + 1)))
    return driver, task


async def measure(strips: int, baud: int | None) -> dict[str, float]:
    out: dict[str, float] = {}
    with StripEmulator(range(1, strips + 1), baudrate=baud) as emu:
        driver, task = await running(emu, strips, baud, poll_interval=3600.0)
        runs = []
        for letter in "ABC":
            views = [view(a, f"{letter}{a:03d}") for a in range(1, strips + 1)]
            start = time.monotonic()
            driver.update(views)
            await until(lambda v=views: all(emu.strip(a).shown[1:] == (f"请{v[a - 1]['current']}",)
                                            for a in range(1, strips + 1)))
            runs.append(time.monotonic() - start)
        out["update"] = min(runs)
        driver.stop()
        await task

    with StripEmulator(range(1, strips + 1), baudrate=baud) as emu:
        # poll_interval 0: every strip is always due, so the driver PINGs round and round.
        driver, task = await running(emu, strips, baud, poll_interval=0.0)

        def pings() -> int:
            return sum(f.command == Cmd.PING for f in emu.requests)

        await asyncio.sleep(0.5)
        count, start = pings(), time.monotonic()
        await asyncio.sleep(3.0)
        rate = (pings() - count) / (time.monotonic() - start)
        out["cycle"] = strips / rate if rate else float("inf")
        driver.stop()
        await task
    return out


def main() -> None:
    strips = int(sys.argv[1]) if len(sys.argv) > 1 else 28
    baud = int(sys.argv[2]) if len(sys.argv) > 2 else 9600
    codec = QLinkCodec()
    frame_sizes = []
    for address in range(1, strips + 1):
        content = compose(view(address, f"A{address:03d}"), StripConfig(address))
        frame_sizes.append(len(codec.encode(address, 1, Show(content.lines), "gb2312")))
    ping_size = len(codec.encode(1, 1, Ping()))
    byte_time = 10 / baud

    update_floor = sum(size + ACK_SIZE for size in frame_sizes) * byte_time
    cycle_floor = strips * (ping_size + ACK_SIZE) * byte_time
    driver_defaults = StripDriver("/dev/null", [StripConfig(1)])
    timeout_cost = driver_defaults.bus.reply_timeout + ping_size * byte_time

    gap = driver_defaults.bus.gap
    print(f"{strips} QLink strips on one emulated port at {baud} baud (8N1, {byte_time * 1000:.2f} ms a byte)")
    print(f"SHOW frames {min(frame_sizes)}–{max(frame_sizes)} bytes, ACK {ACK_SIZE}, PING {ping_size}; "
          f"gap {gap * 1000:.0f} ms, reply timeout {driver_defaults.bus.reply_timeout * 1000:.0f} ms")
    print()
    timed = asyncio.run(measure(strips, baud))
    raw = asyncio.run(measure(strips, None))
    rows = [
        (f"update of all {strips} strips", timed["update"], update_floor, update_floor + strips * gap, raw["update"]),
        ("  per strip", timed["update"] / strips, update_floor / strips, update_floor / strips + gap,
         raw["update"] / strips),
        ("poll cycle (every strip PINGed once)", timed["cycle"], cycle_floor, cycle_floor + strips * gap,
         raw["cycle"]),
    ]
    print(f"{'':38} {'measured':>10} {'wire floor':>11} {'+ gaps':>10} {'no wire':>10}")
    for name, measured, floor, with_gaps, no_wire in rows:
        print(f"{name:38} {measured * 1000:>7.1f} ms {floor * 1000:>8.1f} ms {with_gaps * 1000:>7.1f} ms "
              f"{no_wire * 1000:>7.1f} ms")
    print()
    print("wire floor = Σ (request + ACK bytes) × 10 / baud: the wire alone, no turnaround, no gaps;")
    print(f"+ gaps = plus the {gap * 1000:.0f} ms quiet gap after each reply; no wire = the same run on a bare pty "
          "(gaps and our own overhead only)")
    print(f"each silent strip adds one reply timeout to a cycle it is polled in: {timeout_cost * 1000:.0f} ms "
          f"(an offline strip is polled every {driver_defaults.offline_poll_interval:g} s, not every "
          f"{driver_defaults.poll_interval:g} s)")
    print(f"default schedule: each strip polled every {driver_defaults.poll_interval:g} s, so a cycle takes "
          f"max({driver_defaults.poll_interval:g} s, the bus time above)")


if __name__ == "__main__":
    main()
