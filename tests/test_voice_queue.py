"""The call queue with a bound (`hall.voice.call_queue`), read on the audio timeline it plans
with the shipped clips' real durations: no sound card, no clock."""

from __future__ import annotations

import itertools
import threading
from array import array
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hall.voice.announcement import CHIME_PAUSE, DEFAULT_GAP
from hall.voice.call_queue import CallQueue, Segment, first_words, plan
from hall.voice.clips import ClipEngine
from hall.voice.errors import VoiceError
from hall.voice.playback import CallAnnouncer, SilentPlayer, Speaker, engine_timing
from hall.voice.wav import Pcm, wav_seconds, write_pcm

CLIPS = ClipEngine()
TIMING = engine_timing(CLIPS, Path(CLIPS.chime or ""), gap=DEFAULT_GAP)
BOUND = 20.0


def test_the_timing_is_the_clips_real_durations() -> None:
    text = "请 A 零 一 二 号 到 十二 号窗口办理"
    assert TIMING.speech(text) == pytest.approx(CLIPS.render(text).seconds, abs=1e-3)
    assert TIMING.chime == pytest.approx(wav_seconds(CLIPS.chime or ""))
    assert TIMING.chime_pause == CHIME_PAUSE


def no_overlap(timeline: list[Segment]) -> None:
    for before, after in itertools.pairwise(timeline):
        assert before.start < before.end <= after.start


def test_a_burst_of_20_calls_in_2_seconds_is_all_said_in_order_within_the_bound() -> None:
    calls = [(n * 0.1, f"A{n + 12:03d}", n % 9 + 1) for n in range(20)]
    timeline = plan(calls, TIMING, bound=BOUND, repeat=2)
    no_overlap(timeline)
    said = first_words(timeline)
    assert [call.ticket for call, _ in said] == [ticket for _, ticket, _ in calls]
    assert [call.window for call, _ in said] == [window for _, _, window in calls]
    last, starts = said[-1]
    assert last.ticket == "A031" and starts - last.came <= BOUND
    assert all(start - call.came <= BOUND for call, start in said)
    # shortened: the first call in full (alone, nothing waited), the second without its
    # repeat, the other 18 merged into one sentence straight after it, without the chime
    speech = [s for s in timeline if s.what == "speech"]
    assert [len(s.calls) for s in speech] == [1, 1, 1, 18]
    assert [s.what for s in timeline].count("chime") == 2
    assert speech[-1].start == speech[-2].end
    assert speech[-1].text.startswith("请 A 零 一 四 号 到 三 号窗口办理，A 零 一 五 号 到 四 号窗口办理，")


def test_a_lone_call_is_said_in_full() -> None:
    timeline = plan([(5.0, "A001", 3)], TIMING, bound=BOUND, repeat=2)
    assert [s.what for s in timeline] == ["chime", "pause", "speech", "gap", "speech"]
    assert timeline[0].start == 5.0


SAID = TIMING.speech("请 A 零 零 二 号 到 二 号窗口办理")
LEAD = TIMING.lead


@pytest.mark.parametrize(("spare", "back_to_back", "form"), [
    # A003's time to spare, were it said after A002 in full: the least shortening that keeps it in the bound
    (LEAD + 2 * SAID + TIMING.gap, True, (["A002"], 2, True)),          # in full
    (LEAD + SAID, True, (["A002"], 1, True)),                           # drop the repeat
    (SAID, True, (["A002"], 1, False)),                                 # then drop the chime
    (SAID - 0.5, True, (["A002", "A003"], 1, False)),                   # then merge
    (SAID, False, (["A002", "A003"], 1, True)),       # after quiet the chime stays: merge at once
])
def test_the_rules_shorten_in_order(spare: float, back_to_back: bool,
                                    form: tuple[list[str], int, bool]) -> None:
    queue = CallQueue(TIMING, bound=BOUND, repeat=2)
    queue.add("A002", 2, 0.0)
    queue.add("A003", 3, spare - BOUND)
    taken = queue.next(0.0, back_to_back=back_to_back)
    assert taken is not None
    assert ([c.ticket for c in taken.calls], taken.repeat, taken.chime) == form
    assert len(queue.waiting) == 2 - len(taken.calls)


def test_a_recall_while_queued_does_not_add_a_second_call() -> None:
    calls = [(0.0, "A001", 1), (0.5, "A002", 2), (1.0, "A003", 3), (1.5, "A002", 7)]
    timeline = plan(calls, TIMING, bound=BOUND, repeat=2)
    said = first_words(timeline)
    assert [(c.ticket, c.window, c.came) for c, _ in said] == [("A001", 1, 0.0), ("A002", 7, 0.5),
                                                                 ("A003", 3, 1.0)]
    assert sum("A 零 零 二" in s.text for s in timeline if s.what == "speech") == 1
    queue = CallQueue(TIMING)
    assert queue.add("A002", 2, 0.0) and not queue.add("A002", 7, 3.0)
    assert len(queue.waiting) == 1


def test_a_recall_after_the_call_was_said_is_said_again() -> None:
    timeline = plan([(0.0, "A001", 1), (30.0, "A001", 1)], TIMING, bound=BOUND, repeat=2)
    assert [c.came for c, _ in first_words(timeline)] == [0.0, 30.0]


def test_a_bound_shorter_than_the_chime_is_refused() -> None:
    with pytest.raises(ValueError, match="叫号等待上限"):
        CallQueue(TIMING, bound=1.0)


bursts = st.lists(st.tuples(st.floats(0, 300, allow_nan=False), st.integers(0, 40), st.integers(1, 142)),
                  min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(bursts, st.integers(1, 3), st.sampled_from([8.0, 15.0, 20.0, 40.0]))
def test_random_bursts_and_recalls(raw: list[tuple[float, int, int]], repeat: int, bound: float) -> None:
    """Order kept, never overlapping, each call said at least once, and each call's first word
    within max(bound, what was still to run of the announcement playing when it came)."""
    calls = [(round(at, 1), f"B{n:03d}", window) for at, n, window in raw]
    timeline = plan(calls, TIMING, bound=bound, repeat=repeat)
    no_overlap(timeline)
    said = first_words(timeline)
    assert {c.ticket for c, _ in said} == {ticket for _, ticket, _ in calls}
    assert [c.came for c, _ in said] == sorted(c.came for c, _ in said)          # in order
    announcements = [(s.start, s.end) for s in _announcements(timeline)]
    for call, start in said:
        playing = [end for begin, end in announcements if begin <= call.came < end]
        still = playing[0] - call.came if playing else 0.0
        assert start - call.came <= max(bound, still) + 1e-9


def _announcements(timeline: list[Segment]) -> list[Segment]:
    """Each announcement as one segment from its first start to its last end."""
    out: list[Segment] = []
    for segment in timeline:
        joined = (out and out[-1].end == segment.start
                  and (segment.what in ("pause", "gap") or (segment.what == "speech" and
                                                           out[-1].what in ("pause", "gap"))))
        if joined:
            out[-1] = Segment(out[-1].start, segment.end, segment.what)
        else:
            out.append(segment)
    return out


class AudioClockPlayer:
    """Plays nothing (no sound card here) but moves the injected clock on by each WAV's length,
    so the announcer runs on the audio's own timeline; the first WAV is held until released."""

    def __init__(self) -> None:
        self.now = 0.0
        self.played: list[tuple[float, float]] = []   # (start, seconds) of each WAV
        self.started = threading.Event()
        self.release = threading.Event()
        self.done = threading.Condition()

    def play(self, wav_path: Path) -> None:
        start = self.now
        self.started.set()
        self.release.wait(timeout=60)
        seconds = wav_seconds(wav_path)
        with self.done:
            self.now = start + seconds
            self.played.append((start, seconds))
            self.done.notify_all()

    def interrupt(self) -> None:
        self.release.set()


def test_the_board_s_announcer_plays_what_the_queue_plans() -> None:
    """20 calls in 2 s, and a recall of a waiting one, through the CallAnnouncer the board uses,
    with the real clip engine: the WAVs played are the planned announcements, one by one."""
    calls = [(n * 0.1, f"A{n + 12:03d}", n % 9 + 1) for n in range(20)] + [(1.95, "A015", 9)]
    planned = _announcements(plan(calls, TIMING, bound=BOUND, repeat=2))
    player = AudioClockPlayer()
    with Speaker(CLIPS, player, call_repeat=2) as speaker, \
            CallAnnouncer(speaker, bound=BOUND, clock=lambda: player.now) as announcer:
        announcer.call(*calls[0][1:])
        assert player.started.wait(timeout=60)
        for at, ticket, window in calls[1:]:
            player.now = at
            announcer.call(ticket, window)
        player.now = 0.0
        player.release.set()
        with player.done:
            assert player.done.wait_for(lambda: len(player.played) >= len(planned), timeout=120)
    assert len(player.played) == len(planned) == 3   # A012 in full, A013 once, the other 18 merged
    assert [c.ticket for c in planned[-1].calls].count("A015") == 1 and ("A015", 9) in [
        (c.ticket, c.window) for c in planned[-1].calls]   # the recall replaced the waiting call
    for (start, seconds), announcement in zip(player.played, planned, strict=True):
        assert start == pytest.approx(announcement.start, abs=0.01)
        assert seconds == pytest.approx(announcement.end - announcement.start, abs=0.01)


def test_the_hall_s_pace_and_repeat_set_what_the_announcer_plans() -> None:
    """`CallAnnouncer.configure()` (the hall file's voice settings): the full call's repeat is the
    hall's, and the durations the queue plans with are the engine's at the hall's pace."""
    text = "请 A 零 一 二 号 到 十二 号窗口办理"
    with Speaker(CLIPS, SilentPlayer()) as speaker, CallAnnouncer(speaker, bound=BOUND) as announcer:
        assert (announcer.queue.repeat, speaker.engine.pace) == (2, 100)
        announcer.configure(25, 150, 3)
        assert (announcer.queue.bound, announcer.queue.repeat, speaker.engine.pace) == (25, 3, 150)
        assert announcer.queue.timing.speech(text) == pytest.approx(CLIPS.at_pace(150).seconds(text))
        assert announcer.queue.timing.speech(text) < TIMING.speech(text) - 0.3
        calls = [(0.0, "A012", 12)]
        (full,) = _announcements(plan(calls, announcer.queue.timing, bound=BOUND, repeat=announcer.queue.repeat))
        said = CLIPS.at_pace(150).seconds(text)
        assert full.end - full.start == pytest.approx(TIMING.lead + 3 * said + 2 * DEFAULT_GAP)
        with pytest.raises(ValueError, match="repeat 至少为 1"):
            announcer.configure(25, 150, 0)


class HeldEngine:
    """An engine that says a text only once `release` is set (`saying` is set while it waits),
    and knows no durations: the plan has to measure them by saying the text, as with espeak-ng."""

    pace = 100

    def __init__(self) -> None:
        self.saying = threading.Event()
        self.release = threading.Event()

    def synthesize(self, text: str, wav_path: Path) -> None:
        self.saying.set()
        assert self.release.wait(timeout=60)
        write_pcm(wav_path, Pcm(22050, array("h", [1000] * 2205)))


def test_a_call_from_the_board_s_loop_never_waits_for_the_plan_to_measure_a_text() -> None:
    """`CallAnnouncer.call()` runs on the board's event loop: while the announcer measures the
    next sentence (espeak-ng says it once into a scratch file), a call is still queued at once."""
    engine = HeldEngine()
    with Speaker(engine, SilentPlayer()) as speaker, CallAnnouncer(speaker, bound=BOUND) as announcer:
        announcer.call("A012", 12)
        assert engine.saying.wait(timeout=30)             # the plan is measuring A012's sentence
        second = threading.Thread(target=announcer.call, args=("A013", 5))
        second.start()
        second.join(timeout=10)                           # a bound on a hang, not a timing
        queued_at_once = not second.is_alive()
        engine.release.set()
        second.join()
    assert queued_at_once


class BrokenEngine:
    """An engine that cannot say the call of A012 (espeak-ng crashing on it) and says every
    other text."""

    pace = 100

    def __init__(self) -> None:
        self.failed: set[str] = set()

    def synthesize(self, text: str, wav_path: Path) -> None:
        if "零 一 二" in text:
            self.failed.add(text)
            raise VoiceError("espeak-ng 已退出（测试）")
        write_pcm(wav_path, Pcm(22050, array("h", [1000] * 2205)))


def test_an_engine_that_fails_does_not_silence_the_board_for_good() -> None:
    """A call the engine fails to say is lost (the Speaker logs it), but the announcer's plan
    goes on with an estimate of its length, so the next call is still played."""
    engine = BrokenEngine()
    player = AudioClockPlayer()
    player.release.set()
    with Speaker(engine, player) as speaker, \
            CallAnnouncer(speaker, bound=BOUND, clock=lambda: player.now) as announcer:
        announcer.call("A012", 12)
        announcer.call("A013", 5)
        with player.done:      # a bound on a hang, not a timing
            assert player.done.wait_for(lambda: len(player.played) == 1, timeout=60)
    assert engine.failed   # A012's call was tried and lost; A013's was played
