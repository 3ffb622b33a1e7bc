"""What a missed call (过号) means for the citizen, in the hall's own words: one text.

The hall file says it (`[hall] missed_call`, docs/hall-config.md); the server carries it in the
hall view (`queue_server.views.hall_view`), and the slip, the kiosk's ticket screen and the
citizen's ticket page all print it from there, so they can never disagree. `DEFAULT` is what
a hall that says nothing gets: the server's own rule, under which a missed ticket is void.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

DEFAULT: Final = "过号请重新取号"
"""A ticket marked 过号 is final (`queue_server.lifecycle`): the citizen takes a new one."""


def missed_call_advice(hall: Mapping[str, Any]) -> str:
    """The hall's advice from a hall view; `DEFAULT` from a view made before the field was."""
    return str(hall.get("missed_call") or DEFAULT)


def ticket_tip(hall: Mapping[str, Any]) -> str:
    """The line under a ticket, on paper and on the kiosk's screen."""
    return f"请留意叫号，{missed_call_advice(hall)}"
