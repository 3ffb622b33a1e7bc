"""Data handed out signed, to come back later: a download link (queue_server.export_links), a
county manager's pass into a hall's dashboard (queue_server.county). The data travels in the
clear (base64 of its JSON), with a deadline and an HMAC under a hall's secret, so the server
keeps nothing per seal and a seal cannot be made up or altered. Each seal names its purpose,
so that one made for a purpose (a download) is worthless for another (a login).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from typing import Any

from queue_server.ticket_tokens import mac


class Unsealed(Exception):
    """A seal that is not ours (`expired` False) or whose deadline has passed."""

    def __init__(self, expired: bool):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def seal(secret: str, purpose: str, data: dict[str, Any], until: float) -> str:
    body = json.dumps({**data, "purpose": purpose, "until": int(until)}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    payload = base64.urlsafe_b64encode(body.encode()).rstrip(b"=").decode()
    return f"{payload}.{mac(secret, payload)}"


def unseal(secret: str, purpose: str, token: str, now: float) -> dict[str, Any]:
    """The data sealed in `token`, if it is ours, for `purpose`, and its deadline has not
    passed."""
    payload, _, given = token.partition(".")
    if not payload or not hmac.compare_digest(given.encode(), mac(secret, payload).encode()):
        raise Unsealed(expired=False)
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error):   # signed by us, so never; but never a crash either
        raise Unsealed(expired=False) from None
    if not isinstance(data, dict) or data.pop("purpose", None) != purpose:
        raise Unsealed(expired=False)
    if data.pop("until") < now:
        raise Unsealed(expired=True)
    return data
