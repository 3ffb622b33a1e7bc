"""One announcement as one WAV: the chime, a pause, then the words `repeat` times with pauses.
`render_announcement()` is the only place an announcement is put together; the Speaker
(`hall.voice.playback`) plays exactly what it writes and `announcement_wav()` saves a call."""

from __future__ import annotations

import os
import tempfile
import threading
from array import array
from pathlib import Path

from hall.voice.engines import VoiceEngine, make_engine
from hall.voice.wav import Pcm, join, read_pcm, silence, write_chime, write_pcm
from hall.voice.words import call_text

DEFAULT_GAP = 0.6  # seconds between the repeats of a call
CHIME_PAUSE = 0.3  # seconds between the chime and the words


def render_announcement(engine: VoiceEngine, text: str, out: str | os.PathLike[str], *, repeat: int = 1,
                        chime: str | os.PathLike[str] | None = None, gap: float = DEFAULT_GAP,
                        chime_pause: float = CHIME_PAUSE) -> Path:
    """Write one WAV: the chime (if given), a pause, then `text` said `repeat` times, `gap` seconds apart.

    `text` goes to the engine as it is (callers normalise it). The result is mono 16-bit at the
    engine's rate; a chime of another format is converted. This is the only place an
    announcement is put together: `Speaker` plays its output and `announcement_wav()` saves it.
    """
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError("repeat 至少为 1")
    target = Path(out)
    spoken = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.speech.wav")
    try:
        engine.synthesize(text, spoken)
        speech = read_pcm(spoken)
    finally:
        spoken.unlink(missing_ok=True)
    rate = speech.rate
    parts: list[array] = []
    if chime is not None:
        parts += [read_pcm(chime).at_rate(rate).samples, silence(rate, chime_pause)]
    for round_ in range(repeat):
        if round_:
            parts.append(silence(rate, gap))
        parts.append(speech.samples)
    return write_pcm(target, Pcm(rate, join(parts)))


def default_chime(engine: VoiceEngine, folder: str | os.PathLike[str]) -> Path:
    """The engine's own chime (a clip set's `chime.wav`) if it has one, else `write_chime()` into `folder`."""
    own = getattr(engine, "chime", None)
    if own is not None:
        return Path(own)
    return write_chime(Path(folder) / "chime.wav")


def announcement_wav(ticket: str, window: int, out: str | os.PathLike[str], *,
                     engine: str | VoiceEngine = "espeak", repeat: int = 1,
                     chime: bool | str | os.PathLike[str] = True, gap: float = DEFAULT_GAP,
                     clips_dir: str | os.PathLike[str] | None = None) -> Path:
    """Write the call of `ticket` to `window` as ONE WAV: the chime, then the call `repeat` times.

    The same audio `Speaker.call()` plays (both go through `render_announcement()`).
    `engine` is a name for `make_engine()` ("espeak" or "clips", with `clips_dir`) or an engine.
    `chime` is True for the engine's chime (a clip set's own, else the generated one), False
    for none, or a WAV file. Returns `out`.
    """
    text = call_text(ticket, window)
    voice = make_engine(engine, clips_dir=clips_dir) if isinstance(engine, str) else engine
    with tempfile.TemporaryDirectory(prefix="hall-voice-") as folder:
        if chime is True:
            sound: str | os.PathLike[str] | None = default_chime(voice, folder)
        else:
            sound = chime or None
        return render_announcement(voice, text, out, repeat=repeat, chime=sound, gap=gap)
