#!/usr/bin/env python3
"""Make the clip set of the display board's voice (see assets/voice/README.md).

    python scripts/make_voice_clips.py                       # espeak-ng placeholders → assets/voice/
    python scripts/make_voice_clips.py --out DIR             # … somewhere else
    python scripts/make_voice_clips.py --from RECORDINGS     # a hall's own recordings → assets/voice/
    python scripts/make_voice_clips.py --from RECORDINGS --rate 22050 --no-trim

Placeholders are synthesised with espeak-ng (voice cmn-latn-pinyin), one word per clip, with
leading and trailing silence cut, plus the generated chime. Recordings (one WAV per clip, named
as in the README; any PCM WAV) are converted to mono 16-bit at one rate and trimmed the same way.
Every result is loaded once as the display board would load it before the script says it is done.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hall.voice.clips import (
    DEFAULT_CLIPS_DIR,
    ClipEngine,
    import_recordings,
    make_placeholder_clips,
)
from hall.voice.errors import VoiceError
from hall.voice.espeak import DEFAULT_SPEED, DEFAULT_VOICE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="生成显示屏叫号用的录音片段 / make the voice clip set")
    parser.add_argument("--out", type=Path, default=DEFAULT_CLIPS_DIR, help="output folder (default: assets/voice)")
    parser.add_argument("--from", dest="recordings", type=Path,
                        help="a folder of real recordings to convert instead of synthesising placeholders")
    parser.add_argument("--rate", type=int, help="sample rate of the clips made from recordings")
    parser.add_argument("--no-trim", action="store_true", help="keep the recordings' leading/trailing silence")
    parser.add_argument("--voice", default=DEFAULT_VOICE, help="espeak-ng voice for placeholders")
    parser.add_argument("--speed", type=int, default=DEFAULT_SPEED, help="espeak-ng words per minute")
    args = parser.parse_args(argv)
    try:
        if args.recordings is not None:
            written = import_recordings(args.recordings, args.out, rate=args.rate, trim=not args.no_trim)
        else:
            written = make_placeholder_clips(args.out, voice=args.voice, speed=args.speed)
        engine = ClipEngine(args.out)
    except (VoiceError, ValueError) as exc:
        print(f"失败：{exc}", file=sys.stderr)
        return 1
    size = sum(path.stat().st_size for path in written)
    print(f"{len(written)} 个文件，共 {size / 1024:.0f} KiB，{engine.rate} Hz 单声道 16 位：{args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
