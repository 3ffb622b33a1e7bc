"""How fast the voice engines render a call, against how long the call lasts (issue 19: "the
engines render a call in well under its own duration"), and whether rendering holds up the
event loop a board draws on.

For each engine available here (the shipped clip set; espeak-ng when installed), `--calls`
random calls (seeded: ticket letters A–H, three digits, windows 1–142) are each rendered as the
Speaker renders them: one WAV by `render_announcement()`, the chime then the sentence `repeat`
times (the default hall's `voice_repeat`, at its `voice_pace`). The real-time factor of a call
is its render time (wall clock, `time.perf_counter`) divided by the length of the WAV made;
median and worst are printed, for the whole announcement and for the engine's sentence alone.

Then the event loop: an asyncio loop that wants to wake every 10 ms (a board draws at 30 frames a
second, one frame every 33 ms) runs while a Speaker (silent player) renders `--calls` calls on its
worker thread; its worst lateness is printed next to the same loop's with nothing to render.
Last, the board's path: the loop hands the calls to a `CallAnnouncer`, one every 20 ms, and the
longest `call()` is printed: how long the loop can wait for the announcer's lock while it plans
(with espeak-ng, planning says each new text once to measure it, under that lock).

Usage: .venv/bin/python bench/voice_render.py [--calls 50] [--seed 19]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hall.voice.announcement import default_chime, render_announcement  # noqa: E402
from hall.voice.call_queue import DEFAULT_REPEAT  # noqa: E402
from hall.voice.clips import ClipEngine  # noqa: E402
from hall.voice.engines import VoiceEngine, make_engine  # noqa: E402
from hall.voice.espeak import DEFAULT_PACE  # noqa: E402
from hall.voice.playback import CallAnnouncer, SilentPlayer, Speaker  # noqa: E402
from hall.voice.wav import wav_seconds  # noqa: E402
from hall.voice.words import call_text  # noqa: E402


def random_calls(count: int, seed: int) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    return [(f"{rng.choice('ABCDEFGH')}{rng.randrange(1000):03d}", rng.randint(1, 142)) for _ in range(count)]


def timings(engine: VoiceEngine, calls: list[tuple[str, int]], folder: Path) -> dict[str, list[float]]:
    """Per call: the render seconds and real-time factor (render seconds / audio seconds) of the
    whole announcement and of the sentence alone, and the announcement's audio seconds."""
    chime = default_chime(engine, folder)
    out: dict[str, list[float]] = {"render": [], "audio": [], "announcement": [], "sentence": []}
    for ticket, window in calls:
        text = call_text(ticket, window)
        target = folder / "call.wav"
        started = time.perf_counter()
        engine.synthesize(text, target)
        took = time.perf_counter() - started
        out["sentence"].append(took / wav_seconds(target))
        started = time.perf_counter()
        render_announcement(engine, text, target, repeat=DEFAULT_REPEAT, chime=chime)
        took = time.perf_counter() - started
        out["render"].append(took)
        out["audio"].append(wav_seconds(target))
        out["announcement"].append(took / wav_seconds(target))
    return out


async def worst_lateness(speaker: Speaker | None, calls: list[tuple[str, int]]) -> float:
    """The loop's worst lateness (seconds) waking every 10 ms, while `speaker` renders `calls`
    (or for as long as 1 s with nothing to render)."""
    worst = 0.0
    done = asyncio.Event()

    async def tick() -> None:
        nonlocal worst
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            worst = max(worst, time.perf_counter() - before - 0.01)

    ticker = asyncio.get_running_loop().create_task(tick())
    if speaker is None:
        await asyncio.sleep(1.0)
    else:
        await asyncio.gather(*(asyncio.wrap_future(speaker.call(ticket, window)) for ticket, window in calls))
    done.set()
    await ticker
    return worst


async def longest_call(announcer: CallAnnouncer, calls: list[tuple[str, int]]) -> float:
    """The longest `CallAnnouncer.call()` (seconds) made from the loop, one call every 20 ms (as a
    board's `announce` does), while the announcer plans and the Speaker renders the earlier ones."""
    longest = 0.0
    for ticket, window in calls:
        before = time.perf_counter()
        announcer.call(ticket, window)
        longest = max(longest, time.perf_counter() - before)
        await asyncio.sleep(0.02)
    return longest


def report(name: str, engine: VoiceEngine, calls: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory(prefix="voice-render-") as folder:
        got = timings(engine, calls, Path(folder))
        with Speaker(engine, SilentPlayer(), workdir=folder) as speaker:
            busy = asyncio.run(worst_lateness(speaker, calls))
        with Speaker(engine, SilentPlayer(), workdir=folder) as speaker, CallAnnouncer(speaker) as announcer:
            blocked = asyncio.run(longest_call(announcer, calls))
    print(f"{name:<10} {statistics.median(got['audio']):>7.1f} "
          f"{statistics.median(got['render']) * 1000:>9.1f} {max(got['render']) * 1000:>7.1f} "
          f"{statistics.median(got['announcement']):>8.4f} {max(got['announcement']):>7.4f} "
          f"{statistics.median(got['sentence']):>9.4f} {max(got['sentence']):>7.4f} {busy * 1000:>13.1f} "
          f"{blocked * 1000:>14.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    calls = random_calls(args.calls, args.seed)
    print(f"{args.calls} calls, repeat {DEFAULT_REPEAT}, pace {DEFAULT_PACE}; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f} at the start")
    idle = asyncio.run(worst_lateness(None, []))
    print(f"event loop waking every 10 ms, nothing rendering: worst {idle * 1000:.1f} ms late")
    print(f"{'engine':<10} {'audio s':>7} {'render ms':>9} {'worst':>7} {'RTF call':>8} {'worst':>7} "
          f"{'RTF words':>9} {'worst':>7} {'loop late ms':>13} {'call() ms, max':>14}")
    report("clips", ClipEngine(), calls)
    if shutil.which("espeak-ng"):
        report("espeak-ng", make_engine("espeak"), calls)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
