"""The call queue with a bound (pure: no sound card, no clock, no thread).

Calls wait in the order they came; the announcer takes the next announcement from the queue
each time the speaker falls quiet (`CallQueue.next()`), so announcements never overlap. When
calls bunch up, the next announcement is shortened by these rules, tried in this order, the
first that keeps every waiting call within the bound being taken:

1. the full call: the chime, then the sentence `repeat` times;
2. drop the repeat: the chime, then the sentence once;
3. drop the chime (only between back-to-back announcements: the speaker did not fall quiet);
4. merge all the waiting calls into one sentence, said once, without the chime when back to
   back (请 A 零 一 二 号 到 三 号窗口办理，A 零 一 三 号 到 五 号窗口办理).

"Within the bound" means: the announcement's first word starts at most `bound` seconds after
the call came, for the call announced now and, for those still waiting behind it, supposing
they are merged right after it. A recall of a number still waiting replaces its call (the
new window, the old place and time) instead of adding one.

What is guaranteed (tested with random bursts in tests/test_voice_queue.py): calls are
announced in the order they came, each at least once, never overlapping, and each call's first
word starts at most max(bound, r) seconds after it came, where r is what was still to run of
the announcement playing when it came (0 when the speaker was quiet). So the bound holds unless
an announcement playing is itself longer than the bound: a merge of more calls than fit in it
(the rules do not foresee calls not yet made).

`plan()` runs the queue over a list of calls and returns the audio timeline (start, end, what)
from the known durations (`Timing`): what tests and the bench read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from hall.voice.words import call_text, merged_call_text

DEFAULT_BOUND = 20  # seconds a call may wait before its first word (hall file: voice_wait_seconds)
DEFAULT_REPEAT = 2  # times the full call says the sentence (hall file: voice_repeat)


@dataclass(frozen=True)
class Timing:
    """The known durations: the chime, the pause after it, the gap between repeats, and how long
    the engine says a text (`speech(text)`, in seconds)."""

    chime: float
    chime_pause: float
    gap: float
    speech: Callable[[str], float]

    @property
    def lead(self) -> float:
        """From the start of a chimed announcement to its first word."""
        return self.chime + self.chime_pause


@dataclass(frozen=True)
class QueuedCall:
    ticket: str
    window: int
    came: float  # seconds, on the caller's clock


@dataclass(frozen=True)
class Announcement:
    """What the speaker says next: one call (`repeat` times) or several merged, after the chime or not."""

    calls: tuple[QueuedCall, ...]
    repeat: int
    chime: bool

    @property
    def text(self) -> str:
        if len(self.calls) == 1:
            return call_text(self.calls[0].ticket, self.calls[0].window)
        return merged_call_text([(c.ticket, c.window) for c in self.calls])

    def lead(self, timing: Timing) -> float:
        return timing.lead if self.chime else 0.0

    def seconds(self, timing: Timing) -> float:
        said = timing.speech(self.text)
        return self.lead(timing) + self.repeat * said + (self.repeat - 1) * timing.gap


@dataclass(frozen=True)
class Segment:
    """One stretch of the audio timeline: "chime", "pause", "speech" or "gap"."""

    start: float
    end: float
    what: str
    text: str = ""
    calls: tuple[QueuedCall, ...] = ()


class CallQueue:
    """The waiting calls and the rules that shorten them (see the module's docstring)."""

    def __init__(self, timing: Timing, *, bound: float = DEFAULT_BOUND,
                 repeat: int = DEFAULT_REPEAT):
        self.timing = timing
        self.bound: float = DEFAULT_BOUND
        self.set_bound(bound)
        self.repeat = DEFAULT_REPEAT
        self.set_repeat(repeat)
        self.waiting: list[QueuedCall] = []

    def set_repeat(self, repeat: int) -> None:
        """How many times the full call says the sentence (the first rule)."""
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
            raise ValueError("repeat 至少为 1")
        self.repeat = repeat

    def set_bound(self, seconds: float) -> None:
        """The longest wait before a call's first word; it must leave room for the chime."""
        if not seconds > self.timing.lead:
            raise ValueError(f"叫号等待上限 {seconds:g} 秒太短：提示音和停顿就要 {self.timing.lead:.1f} 秒")
        self.bound = float(seconds)

    def add(self, ticket: str, window: int, came: float) -> bool:
        """Queue a call; a recall of a number still waiting replaces its call (returns False)."""
        for index, queued in enumerate(self.waiting):
            if queued.ticket == ticket:
                self.waiting[index] = replace(queued, window=window)
                return False
        self.waiting.append(QueuedCall(ticket, window, came))
        return True

    def _keeps_bound(self, candidate: Announcement, now: float) -> bool:
        first, rest = candidate.calls[0], self.waiting[len(candidate.calls):]
        if now + candidate.lead(self.timing) - first.came > self.bound:
            return False
        after = now + candidate.seconds(self.timing)   # the rest merged, back to back
        return all(after - call.came <= self.bound for call in rest)

    def next(self, now: float, back_to_back: bool) -> Announcement:
        """Take the next announcement at `now`; `back_to_back` when the speaker has not fallen
        quiet since the last one. Only when a call waits (`waiting`)."""
        if not self.waiting:
            raise LookupError("没有等待播报的叫号")
        first = (self.waiting[0],)
        candidates = [Announcement(first, self.repeat, True), Announcement(first, 1, True)]
        if back_to_back:
            candidates.append(Announcement(first, 1, False))
        chosen = next((c for c in candidates if self._keeps_bound(c, now)), None)
        if chosen is None:
            chosen = Announcement(tuple(self.waiting), 1, not back_to_back)
        del self.waiting[:len(chosen.calls)]
        return chosen

    def seconds_to_say(self, now: float, back_to_back: bool) -> float:
        """How long the speaker needs, from `now`, for the calls waiting now, announced by the
        rules (no more calls coming): the voice backlog a board reports (docs/board.md#voice)."""
        rest = CallQueue(self.timing, bound=self.bound, repeat=self.repeat)
        rest.waiting = list(self.waiting)
        at = now
        while rest.waiting:
            at += rest.next(at, back_to_back).seconds(self.timing)
            back_to_back = True
        return at - now


def segments(announcement: Announcement, start: float, timing: Timing) -> list[Segment]:
    """The timeline of one announcement played from `start`."""
    out: list[Segment] = []
    at = start
    if announcement.chime:
        out += [Segment(at, at + timing.chime, "chime"),
                Segment(at + timing.chime, at + timing.lead, "pause")]
        at += timing.lead
    text = announcement.text
    said = timing.speech(text)
    for round_ in range(announcement.repeat):
        if round_:
            out.append(Segment(at, at + timing.gap, "gap"))
            at += timing.gap
        out.append(Segment(at, at + said, "speech", text, announcement.calls))
        at += said
    return out


def plan(calls: Iterable[tuple[float, str, int]], timing: Timing, *, bound: float = DEFAULT_BOUND,
         repeat: int = DEFAULT_REPEAT) -> list[Segment]:
    """The audio timeline of `calls` ((when, ticket, window), in any order; a recall is the same
    ticket again) said by one speaker through a `CallQueue`."""
    queue = CallQueue(timing, bound=bound, repeat=repeat)
    arrivals = sorted(calls, key=lambda call: call[0])
    timeline: list[Segment] = []
    index, now, back_to_back = 0, float("-inf"), False

    def admit(until: float) -> None:
        nonlocal index
        while index < len(arrivals) and arrivals[index][0] <= until:
            when, ticket, window = arrivals[index]
            queue.add(ticket, window, when)
            index += 1

    while index < len(arrivals) or queue.waiting:
        if not queue.waiting:
            now, back_to_back = max(now, arrivals[index][0]), False
        admit(now)
        announcement = queue.next(now, back_to_back)
        played = segments(announcement, now, timing)
        timeline += played
        now = played[-1].end
        admit(now)
        back_to_back = bool(queue.waiting)
    return timeline


def first_words(timeline: Iterable[Segment]) -> list[tuple[QueuedCall, float]]:
    """Each call announced, with when the first word of its announcement starts, in the order said."""
    seen: dict[QueuedCall, float] = {}
    for segment in timeline:
        if segment.what == "speech":
            for call in segment.calls:
                seen.setdefault(call, segment.start)
    return list(seen.items())
