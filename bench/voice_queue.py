"""The board's voice at the county hall's peak: per zone (one speaker a floor), the speech a
minute's calls need against the 60 speech-seconds a speaker has, and the worst wait before a
call's first word, from the call queue's audio timeline (`hall.voice.call_queue.plan`) with the
real durations of the shipped clips (and of espeak-ng, when installed).

The peak (issue 19): each of the county's 142 windows calls a citizen about every 10 minutes,
about 14 calls a minute in all, for 30 minutes. Each window's first call comes at a random
moment of the first 10 minutes and the next ones 5 to 15 minutes apart (seeded, so the run
repeats). The whole hall on one speaker is printed too, for comparison. The bound, the pace and
the repeat are the county hall file's (`voice_wait_seconds`, `voice_pace`, `voice_repeat`).

Usage: .venv/bin/python bench/voice_queue.py [--minutes 30] [--seed 19] [--by floor|zone]
(`--by zone`: one speaker to each of the hall file's zones, A区–H区, instead of each floor)
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hall.voice.announcement import DEFAULT_GAP  # noqa: E402
from hall.voice.call_queue import Timing, first_words, plan  # noqa: E402
from hall.voice.clips import ClipEngine  # noqa: E402
from hall.voice.engines import VoiceEngine, make_engine  # noqa: E402
from hall.voice.playback import engine_timing  # noqa: E402
from hall.voice.wav import write_chime  # noqa: E402
from hall.voice.words import call_text  # noqa: E402
from queue_server.hall_definition import HallInfo  # noqa: E402
from queue_server.hall_toml import load_hall  # noqa: E402

COUNTY = ROOT / "assets" / "halls" / "county.toml"


def peak_calls(windows: list[int], minutes: int, seed: int) -> list[tuple[float, str, int]]:
    """(when, ticket, window): each window about every 10 minutes, over `minutes`."""
    rng = random.Random(seed)
    calls: list[tuple[float, int]] = []
    for window in windows:
        at = rng.uniform(0, 600)
        while at < minutes * 60:
            calls.append((at, window))
            at += rng.uniform(300, 900)
    calls.sort()
    return [(at, f"A{n % 1000:03d}", window) for n, (at, window) in enumerate(calls, 1)]


def figures(name: str, calls: list[tuple[float, str, int]], timing: Timing, minutes: int, hall: HallInfo) -> str:
    bound, repeat = hall.voice_wait_seconds, hall.voice_repeat
    timeline = plan(calls, timing, bound=bound, repeat=repeat)
    waits = [start - call.came for call, start in first_words(timeline)]
    spoken = sum(s.end - s.start for s in timeline)
    busy = spoken / (timeline[-1].end - timeline[0].start)
    late = sum(1 for wait in waits if wait > bound)
    full = timing.lead + repeat * timing.speech(call_text("A012", 12)) + (repeat - 1) * timing.gap
    per_minute = len(calls) / minutes
    shortened = sum(1 for s in timeline if s.what == "speech" and len(s.calls) > 1)
    return (f"{name:<8} {len(calls):>5} {per_minute:>6.1f} {per_minute * full:>10.0f} "
            f"{busy:>8.0%} {max(waits):>10.1f} {sorted(waits)[len(waits) // 2]:>8.1f} "
            f"{late:>7} {shortened:>7}")


def report(engine_name: str, engine: VoiceEngine, chime: Path, zones: dict[str, list[int]],
           minutes: int, seed: int, hall: HallInfo) -> None:
    timing = engine_timing(engine.at_pace(hall.voice_pace), chime, gap=DEFAULT_GAP)
    said = timing.speech(call_text("A012", 12))
    repeat = hall.voice_repeat
    full = timing.lead + repeat * said + (repeat - 1) * timing.gap
    print(f"\n{engine_name}: a call said once {said:.1f} s; in full (chime, {repeat} times) {full:.1f} s; "
          f"capacity 60 speech-seconds a minute a zone = {60 / full:.1f} full calls, "
          f"{60 / said:.1f} calls said once")
    print(f"{'zone':<8} {'calls':>5} {'/min':>6} {'need s/min':>10} {'busy':>8} "
          f"{'worst wait':>10} {'median':>8} {'> bound':>7} {'merges':>7}")
    everything = sorted(w for windows in zones.values() for w in windows)
    for name, windows in [*zones.items(), ("whole", everything)]:
        calls = peak_calls(windows, minutes, seed)
        print(figures(name, calls, timing, minutes, hall))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--by", choices=("floor", "zone"), default="floor")
    args = parser.parse_args()
    hall = load_hall(COUNTY)
    zones: dict[str, list[int]] = defaultdict(list)
    for window in hall.windows:
        zones[getattr(window, args.by)].append(window.number)
    print(f"{hall.hall.name}: {len(hall.windows)} windows, "
          + "，".join(f"{floor} {len(w)} 个" for floor, w in zones.items())
          + f"; each window calls about every 10 minutes, {args.minutes} minutes; "
          f"bound {hall.hall.voice_wait_seconds} s; pace {hall.hall.voice_pace}; repeat {hall.hall.voice_repeat}")
    clips = ClipEngine()
    report("clips (assets/voice)", clips, Path(clips.chime or ""), zones, args.minutes, args.seed, hall.hall)
    if shutil.which("espeak-ng"):
        scratch = ROOT / "bench" / ".voice-chime.wav"
        try:
            report("espeak-ng", make_engine("espeak"), write_chime(scratch), zones, args.minutes,
                   args.seed, hall.hall)
        finally:
            scratch.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
