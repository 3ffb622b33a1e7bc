"""Offline Mandarin speech: the display board's calls and the kiosk's 长辈模式 read-aloud.

Layers, each a module usable alone, imported from where they are (this package re-exports
nothing, so each import says which layer it uses):

* `words` (pure): how a call is worded, `call_text()` ("请 A 零 一 二 号 到 十二 号窗口办理"), and
  `speakable()` for running text; nothing with a digit in it reaches an engine.
* The engines turn worded text into a WAV file: `espeak` (`EspeakEngine`, espeak-ng, for
  development, CI and as a fallback) and `clips` (`ClipEngine`, recorded clips, for the halls);
  `engines` holds the `VoiceEngine` protocol and chooses one by name (`make_engine()`,
  `engine_from_config()`).
* `announcement`: `render_announcement()` makes the one WAV of an announcement (the chime, then
  the text `repeat` times with pauses); `announcement_wav()` does it for a call.
* `call_queue` (pure): the call queue with a bound: calls in order, shortened by documented
  rules when they bunch up (drop the repeat, drop the chime, merge), planned on known durations
  into an audio timeline (`plan()`).
* `playback`: the players; `Speaker`, which plays announcements one after the other from a
  queue served by one worker thread, never overlapping; `CallAnnouncer`, a board's calls
  through the call queue into a Speaker, and its voice backlog (`Backlog`, reported to the
  managers by `display_board.voice_report`).
* `wav` (WAV audio with the standard library only, and the chime) and `errors` (`VoiceError`)
  are shared by the others.

The imports go one way (words, errors → wav → espeak → clips → engines → announcement;
words → call_queue; both → playback), so no module imports another lazily to dodge a cycle.
See docs/voice.md for the rules and the configuration.
"""
