"""A voice-only device (`display-board --no-screen`): a speaker in a corridor with no screen.

It connects as a board does (the `display` role), keeps the same `BoardModel` (so the same
`--windows` / `--zone` choose what it announces) and announces each call of its windows as it
arrives, through the board's `announce` (in the command: the `CallAnnouncer`), and reports
its voice backlog (`backlog`, the announcer's) to the server as a board does. No kivy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from display_board.model import BoardModel, Call, display_client
from display_board.voice_report import report_voice
from hall.voice.call_queue import DEFAULT_BOUND, DEFAULT_REPEAT
from hall.voice.espeak import DEFAULT_PACE
from hall.voice.playback import CallAnnouncer

if TYPE_CHECKING:
    from hall.voice.playback import Backlog

log = logging.getLogger(__name__)


def hall_announcer(announcer: CallAnnouncer, model: BoardModel) -> Callable[[Call], None]:
    """The `announce` of a board or a voice-only device: each call through `announcer`, with the
    voice settings of the hall file as the server's latest snapshot gave them
    (`voice_wait_seconds`, `voice_pace`, `voice_repeat`; the defaults before any snapshot)."""
    def announce(call: Call) -> None:
        hall = model.hall
        announcer.configure(hall.get("voice_wait_seconds", DEFAULT_BOUND), hall.get("voice_pace", DEFAULT_PACE),
                            hall.get("voice_repeat", DEFAULT_REPEAT))
        announcer.call(call.number, call.window)

    return announce


class VoiceShell:
    def __init__(self, urls: list[str], token: str, model: BoardModel, announce: Callable[[Call], None],
                 backlog: Callable[[], Backlog] | None = None):
        self.model = model
        self.announce = announce
        self.backlog = backlog
        self.client = display_client(urls, token, self)
        self.snapshots = 0

    def _snapshot(self, reply: dict[str, Any]) -> None:
        self.model.apply_snapshot(reply)
        if self.model.zone_problem:
            log.error("%s", self.model.zone_problem)
        self.snapshots += 1

    def _event(self, event: dict[str, Any]) -> None:
        if self.model.apply_event(event):
            while (call := self.model.next_call()) is not None:
                self.announce(call)

    def _status(self, connected: bool, text: str) -> None:
        if self.model.follow_status(connected, text) and self.model.refused:
            log.error("%s", self.model.refused)

    async def run(self) -> None:
        if self.backlog is None:
            await self.client.run()
            return
        reporting = asyncio.get_running_loop().create_task(report_voice(self.client, self.backlog))
        try:
            await self.client.run()
        finally:
            reporting.cancel()

    async def stop(self) -> None:
        await self.client.stop()
