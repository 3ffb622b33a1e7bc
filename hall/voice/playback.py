"""Playback: the players (aplay, paplay, or silence where there is no sound card) and the
`Speaker`, which plays announcements one after the other, never overlapping, from a queue
served by one worker thread; and the `CallAnnouncer`, which feeds the Speaker a board's calls
through the call queue with a bound (`hall.voice.call_queue`).

`say()` only enqueues, so it is safe to call from the asyncio loop (kivy's included): the waits
for the engine and for the player happen on the worker thread, never on the loop. It returns a
`concurrent.futures.Future`; `await speaker.say_async(...)` (or `asyncio.wrap_future`) awaits
the end of the announcement.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hall.voice.announcement import CHIME_PAUSE, DEFAULT_GAP, default_chime, render_announcement
from hall.voice.call_queue import DEFAULT_BOUND, DEFAULT_REPEAT, Announcement, CallQueue, Timing
from hall.voice.engines import VoiceEngine
from hall.voice.errors import VoiceError
from hall.voice.espeak import EspeakEngine
from hall.voice.wav import read_pcm, wav_seconds
from hall.voice.words import call_text, speakable

log = logging.getLogger(__name__)

# --- players ------------------------------------------------------------------------------------------

class Player(Protocol):
    """Plays one WAV to the end (blocking the worker thread); `interrupt()` may come from any thread."""

    def play(self, wav_path: Path) -> None: ...

    def interrupt(self) -> None: ...


class CommandPlayer:
    """Plays through a command line player such as `aplay -q` or `paplay`."""

    def __init__(self, command: Sequence[str]):
        self.command = list(command)
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._interrupted = False

    def play(self, wav_path: Path) -> None:
        with self._lock:
            self._interrupted = False
            self._process = subprocess.Popen([*self.command, str(wav_path)], stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _, error = self._process.communicate()
        finally:
            with self._lock:
                process, self._process = self._process, None
        if process.returncode != 0 and not self._interrupted:
            raise VoiceError(f"播放失败（{self.command[0]} 退出码 {process.returncode}）："
                             f"{error.decode('utf-8', 'replace').strip() or '无错误信息'}。请检查音箱和声卡设置。")

    def interrupt(self) -> None:
        with self._lock:
            self._interrupted = True
            if self._process is not None and self._process.poll() is None:
                self._process.terminate()


class SilentPlayer:
    """No audio device: nothing is played; says so once in the log, then each skipped file at debug."""

    def __init__(self, reason: str = "未检测到音频设备（没有声卡或声音服务）"):
        self.reason = reason
        self._told = False

    def play(self, wav_path: Path) -> None:
        if not self._told:
            self._told = True
            log.warning("%s：语音只合成、不播放。", self.reason)
        log.debug("未播放（无音频设备）：%s，%.1f 秒", wav_path, wav_seconds(wav_path))

    def interrupt(self) -> None:
        pass


def _pulse_running(which: Callable[[str], str | None]) -> bool:
    pactl = which("pactl")
    if pactl is None:
        return bool(os.environ.get("PULSE_SERVER"))
    try:
        return subprocess.run([pactl, "info"], capture_output=True, timeout=3, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _alsa_has_card(cards: Path) -> bool:
    try:
        listing = cards.read_text(errors="replace")
    except OSError:
        return False
    return bool(listing.strip()) and "no soundcards" not in listing


def find_player(which: Callable[[str], str | None] = shutil.which,
                cards: Path = Path("/proc/asound/cards")) -> Player:
    """paplay when a PulseAudio/PipeWire server answers, else aplay when ALSA has a card, else silence."""
    paplay = which("paplay")
    if paplay is not None and _pulse_running(which):
        return CommandPlayer([paplay])
    aplay = which("aplay")
    if aplay is not None and _alsa_has_card(cards):
        return CommandPlayer([aplay, "-q"])
    return SilentPlayer()


# --- durations ----------------------------------------------------------------------------------------

ESTIMATED_SECONDS_PER_CHARACTER = 0.25
"""What the plan assumes a character of a sentence takes when the engine cannot say it to be
measured (about four syllables a second, Mandarin's usual announcing pace)."""


def engine_timing(engine: VoiceEngine, chime: str | os.PathLike[str], *, gap: float = DEFAULT_GAP,
                  chime_pause: float = CHIME_PAUSE) -> Timing:
    """The durations the call queue plans with: the chime file's, and the engine's for a text:
    the clip engine knows it from its clips (`ClipEngine.seconds`); any other engine says the
    text once into a scratch file, which is measured (and remembered)."""
    known = getattr(engine, "seconds", None)
    if callable(known):
        return Timing(wav_seconds(chime), chime_pause, gap, known)
    measured: dict[str, float] = {}

    def speech(text: str) -> float:
        if text not in measured:
            with tempfile.TemporaryDirectory(prefix="hall-voice-") as folder:
                wav = Path(folder) / "measure.wav"
                try:
                    engine.synthesize(text, wav)
                except VoiceError as error:
                    # the plan goes on with an estimate (not remembered: the engine may recover);
                    # the Speaker meets the same error and logs it when it renders the call
                    log.warning("语音引擎无法测量这句的时长，按估计值排队：%s", error)
                    return sum(not c.isspace() for c in text) * ESTIMATED_SECONDS_PER_CHARACTER
                measured[text] = wav_seconds(wav)
        return measured[text]

    return Timing(wav_seconds(chime), chime_pause, gap, speech)


# --- the speaker ------------------------------------------------------------------------------------

@dataclass
class _Job:
    text: str
    repeat: int
    chime: bool
    generation: int
    future: Future[None]


class Speaker:
    """Announcements in order, never overlapping: one queue, one worker thread.

    `say()` and `call()` return at once with a Future that completes when the announcement has
    been played (or was skipped by `stop()`), or fails with the VoiceError that stopped it; a
    failed announcement is logged and the next one still plays.

    Each announcement is rendered by `render_announcement()` into one WAV (chime, pause, the
    words `repeat` times with `gap` seconds between) and played once, so a call sounds exactly
    like the file `announcement_wav()` writes. Without `chime`, the engine's own chime is used
    (a clip set's `chime.wav`), else a generated one.
    """

    def __init__(self, engine: VoiceEngine | None = None, player: Player | None = None, *,
                 chime: str | os.PathLike[str] | None = None, call_repeat: int = DEFAULT_REPEAT,
                 gap: float = DEFAULT_GAP, workdir: str | os.PathLike[str] | None = None):
        self.engine: VoiceEngine = engine or EspeakEngine()
        self.player: Player = player or find_player()
        self.call_repeat = call_repeat
        self.gap = gap
        self._own_dir: tempfile.TemporaryDirectory[str] | None = None
        if workdir is None:
            self._own_dir = tempfile.TemporaryDirectory(prefix="hall-voice-")
            workdir = self._own_dir.name
        self._dir = Path(workdir)
        self.chime = Path(chime) if chime else default_chime(self.engine, self._dir)
        read_pcm(self.chime)  # a bad chime file is a configuration error: say so now
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._generation = 0
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="speaker", daemon=True)
        self._worker.start()

    # -- what callers use

    def _enqueue(self, text: str, repeat: int, chime: bool) -> Future[None]:
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
            raise ValueError("repeat 至少为 1")
        future: Future[None] = Future()
        with self._lock:
            if self._closed:
                raise VoiceError("语音播报已关闭")
            self._jobs.put(_Job(text, repeat, chime, self._generation, future))
        return future

    def say(self, text: str, repeat: int = 1, *, chime: bool = False) -> Future[None]:
        """Queue `text` (digits are rewritten with `speakable()`), `repeat` times, after the chime if asked."""
        return self._enqueue(speakable(text), repeat, chime)

    def call(self, ticket: str, window: int, repeat: int | None = None) -> Future[None]:
        """The chime, then the call `repeat` times (default `call_repeat`): `announcement_wav()`'s audio."""
        return self._enqueue(call_text(ticket, window), self.call_repeat if repeat is None else repeat, True)

    def announce(self, announcement: Announcement) -> Future[None]:
        """Queue what the call queue chose (`CallQueue.next()`): its text, repeats and chime."""
        return self._enqueue(announcement.text, announcement.repeat, announcement.chime)

    async def say_async(self, text: str, repeat: int = 1, *, chime: bool = False) -> None:
        """`say()` awaited from asyncio code: the loop keeps running while it plays."""
        await asyncio.wrap_future(self.say(text, repeat, chime=chime))

    def stop(self) -> None:
        """Drop everything queued and cut the announcement playing now (e.g. on leaving a page)."""
        with self._lock:
            self._generation += 1
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:  # close() is waiting for it
                    self._jobs.put(None)
                    break
                job.future.cancel()
        self.player.interrupt()

    def close(self) -> None:
        """Stop, end the worker and remove the temporary files."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.stop()
        self._jobs.put(None)
        self._worker.join()
        if self._own_dir is not None:
            self._own_dir.cleanup()

    def __enter__(self) -> Speaker:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the worker thread

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if not job.future.set_running_or_notify_cancel():
                continue
            try:
                self._perform(job)
            except Exception as exc:
                log.error("语音播报失败：%s（%s）", exc, job.text)
                job.future.set_exception(exc)
            else:
                job.future.set_result(None)

    def _current(self, job: _Job) -> bool:
        return job.generation == self._generation

    def _perform(self, job: _Job) -> None:
        wav = self._dir / f"say-{next(self._counter)}.wav"
        try:
            render_announcement(self.engine, job.text, wav, repeat=job.repeat,
                                chime=self.chime if job.chime else None, gap=self.gap)
            if self._current(job):  # stop() during synthesis drops it; during playback, interrupts it
                self.player.play(wav)
        finally:
            wav.unlink(missing_ok=True)


# --- the board's calls ----------------------------------------------------------------------------

WORST_WINDOW = 300.0   # seconds: the longest wait before a first word is the worst of the last five minutes


@dataclass(frozen=True)
class Backlog:
    """What a board's speaker still has to say (its voice backlog, reported to the managers):
    the calls not yet fully announced (those of the announcement playing included), the seconds
    of sound until it falls quiet if no call comes, and the longest wait before a call's first
    word over the last `WORST_WINDOW` seconds, a call still waiting counted at its wait so far
    (None: no call in that time)."""

    calls: int
    seconds: float
    worst: float | None

    def wire(self) -> dict[str, Any]:
        """As `device_status` carries it (`voice`): whole seconds, rounded up."""
        return {"calls": self.calls, "seconds": math.ceil(self.seconds),
                "worst": None if self.worst is None else math.ceil(self.worst)}


class CallAnnouncer:
    """A board's calls through a `CallQueue` into a `Speaker`: in order, never overlapping, and
    shortened when they bunch up so that none waits more than `bound` seconds for its first word.

    `call()` only queues (safe from the asyncio loop: it never waits for an engine, not even for
    the durations the plan measures); one worker thread takes the next announcement each time
    the speaker falls quiet and waits for it to be played. `clock`
    (seconds) is injectable for tests; the plan uses the engine's known durations
    (`engine_timing()`).
    """

    def __init__(self, speaker: Speaker, *, bound: float = DEFAULT_BOUND,
                 clock: Callable[[], float] = time.monotonic):
        self.speaker = speaker
        self.queue = CallQueue(engine_timing(speaker.engine, speaker.chime, gap=speaker.gap),
                               bound=bound, repeat=speaker.call_repeat)
        self._clock = clock
        self._ready = threading.Condition()
        self._playing: tuple[int, float] | None = None    # its calls, when it ends (planned)
        self._waits: deque[tuple[float, float]] = deque()  # (when taken, its longest wait to the first word)
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="call-announcer", daemon=True)
        self._worker.start()

    def call(self, ticket: str, window: int) -> None:
        """Queue a call (a recall of a number still waiting replaces its call)."""
        with self._ready:
            self.queue.add(ticket, window, self._clock())
            self._ready.notify()

    def configure(self, bound: float, pace: int, repeat: int) -> None:
        """The hall's voice settings (the hall file's `voice_wait_seconds`, `voice_pace` and
        `voice_repeat`, from the server's snapshot): the bound, the speaking rate of the engine
        (and so the durations the queue plans with) and the full call's repeat."""
        with self._ready:
            self.queue.set_bound(bound)
            self.queue.set_repeat(repeat)
            if pace != self.speaker.engine.pace:
                engine = self.speaker.engine.at_pace(pace)
                self.queue.timing = engine_timing(engine, self.speaker.chime, gap=self.speaker.gap)
                self.speaker.engine = engine

    def backlog(self) -> Backlog:
        """The voice backlog now, from the plan's known durations (`Backlog`)."""
        with self._ready:
            now = self._clock()
            while self._waits and self._waits[0][0] < now - WORST_WINDOW:
                self._waits.popleft()
            waits = [wait for _, wait in self._waits] + [now - c.came for c in self.queue.waiting]
            calls, ends = self._playing or (0, now)
            ends = max(ends, now)
            seconds = ends - now + self.queue.seconds_to_say(ends, self._playing is not None)
            return Backlog(calls + len(self.queue.waiting), seconds, max(waits, default=None))

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify()
        self.speaker.stop()
        self._worker.join()

    def __enter__(self) -> CallAnnouncer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _run(self) -> None:
        played = False
        while True:
            with self._ready:
                back_to_back = played and bool(self.queue.waiting)
                while not self._closed and not self.queue.waiting:
                    self._ready.wait()
                if self._closed:
                    return
                first, timing = self.queue.waiting[0], self.queue.timing
            # The one duration next() needs, measured outside the lock: with espeak-ng it is said
            # once into a scratch file (tens of ms), which call() from the board's loop must not wait for.
            timing.speech(call_text(first.ticket, first.window))
            with self._ready:
                if self._closed:
                    return
                now = self._clock()
                announcement = self.queue.next(now, back_to_back)
                timing = self.queue.timing
                self._playing = (len(announcement.calls), now + announcement.seconds(timing))
                first_word = now + announcement.lead(timing)
                self._waits.append((now, max(first_word - call.came for call in announcement.calls)))
            with contextlib.suppress(VoiceError, CancelledError):  # the Speaker logged it; play on
                self.speaker.announce(announcement).result()
            with self._ready:
                self._playing = None
            played = True
