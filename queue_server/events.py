"""What happened in the hall: the append-only log every report and device view is built from.

An event is a kind, the hall-wide sequence number, the moment and the service day it belongs
to, and a small JSON-ready `data` dict. The kinds and their data:

- ticket_issued      number, category, kind, priority, service, ahead
- ticket_called      number, window, clerk, post, recall (0 first call, then 1, 2 …), via
                     ("next", "number", "held" or "recall")
- ticket_no_show     number, window, clerk
- ticket_held        number, window, clerk, reason
- ticket_transferred number, window, clerk, to_category, to_window, note, first_clerk
- ticket_returned    number, window (the target window that stayed without a clerk), category
- ticket_finished    number, window, clerk, post, outcome, note
- ticket_cancelled   number, reason ("day_end")
- ticket_priority_set number, priority, by
- ticket_rated       number, score (1–5 or null = 未评), reasons, channel ("pad"/"citizen"),
                     window, clerk, post, department, service
- clerk_signed_in    window, clerk, post, takeover, previous
- clerk_signed_out   window, clerk, post, reason ("sign_out", "handover" or "day_end")
- window_paused      window, clerk, post, reason
- window_resumed     window, clerk, post
- warning            level ("yellow"/"red"), kind ("long_wait", "long_service", "unattended",
                     "negative_rating", "device"), text, and as the kind has them: window,
                     ticket (its number), minutes, since (whole seconds), clerk, device. Logs
                     written before these names were restored say "waiting", "service",
                     "rating" and "number": `store.event_log` reads them as these.
- warning_acknowledged warning (the warning event's seq), by
- notice_set         text, by
- device_reported    device, role, printer ("ok", "paper_low", "paper_out", "offline", "error"),
                     detail
- day_started        day
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    kind: str
    at: datetime
    day: date
    data: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        """The event as the protocol sends it."""
        return {"ev": self.kind, "seq": self.seq, "at": self.at.isoformat(timespec="seconds"),
                **self.data}


class LoggedEvent(NamedTuple):
    """An event as the reports read it from the log: the fields of `Event`, its time in UTC,
    and cheap to make (a month of a county hall is some 60,000 of them)."""

    seq: int
    kind: str
    at: datetime
    day: date
    data: dict[str, Any]
