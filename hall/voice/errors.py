"""The voice's one error type, shared by the engines, the WAV code and playback."""

from __future__ import annotations


class VoiceError(RuntimeError):
    """Speech could not be made or played; the message says what to do, in Chinese."""
