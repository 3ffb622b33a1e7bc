"""A board's voice backlog, reported to the server (`device_status` with `voice`) so that the
managers see it beside the device (docs/board.md#voice-backlog).

The speaker's backlog (`hall.voice.playback.CallAnnouncer.backlog`) is read every `POLL_SECONDS`
and sent when it changed meaningfully (`BacklogReports`): at most once every
`REPORT_INTERVAL_SECONDS`, except that becoming empty is sent at once, and once on each
connection (so the managers see "语音正常" from a board that speaks, nothing from one that
does not).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hall.client import HallClient, RequestFailed

if TYPE_CHECKING:
    from hall.voice.playback import Backlog

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
REPORT_INTERVAL_SECONDS = 5.0
SECONDS_STEP = 5   # a change of the seconds waiting worth a report (they fall as the speaker talks)


class BacklogReports:
    """When a backlog (`Backlog.wire()`) is worth sending, given the last one sent and when."""

    def __init__(self, interval: float = REPORT_INTERVAL_SECONDS):
        self.interval = interval
        self.sent: dict[str, Any] | None = None
        self.sent_at = float("-inf")

    def due(self, backlog: dict[str, Any], now: float) -> bool:
        last = self.sent
        if last is None:
            return True                      # the first on this connection
        if backlog == last:
            return False
        if backlog["calls"] == 0 and last["calls"]:
            return True                      # became empty: at once
        return now - self.sent_at >= self.interval and (
            backlog["calls"] != last["calls"] or backlog["worst"] != last["worst"]
            or abs(backlog["seconds"] - last["seconds"]) >= SECONDS_STEP)

    def was_sent(self, backlog: dict[str, Any], now: float) -> None:
        self.sent, self.sent_at = backlog, now

    def forget(self) -> None:
        """The connection dropped: the next connection gets a report at once."""
        self.sent, self.sent_at = None, float("-inf")


async def report_voice(client: HallClient, backlog: Callable[[], Backlog], *,
                       reports: BacklogReports | None = None, poll: float = POLL_SECONDS,
                       clock: Callable[[], float] = time.monotonic) -> None:
    """Run until cancelled: send the backlog whenever `reports` says it is due."""
    reports = reports or BacklogReports()
    greeted: dict[str, Any] | None = None    # the hello reply of the connection reported on
    while True:
        if client.connected:
            if client.hello_reply is not greeted:   # a new connection (even a quick reconnect)
                greeted = client.hello_reply
                reports.forget()
            now, current = clock(), backlog().wire()
            if reports.due(current, now):
                try:
                    await client.request("device_status", voice=current)
                    reports.was_sent(current, now)
                except RequestFailed as error:
                    log.warning("语音积压未能上报：%s", error.message)
                except TimeoutError:
                    log.warning("语音积压未能上报：服务器未及时答复")
        await asyncio.sleep(poll)
