"""Download links for exports: the manager's `export` op returns `/export/<token>`, and a plain
GET of that address gives the file. The token carries what to export and until when the link
works, signed with the hall's secret, so the HTTP side needs no session of its own and a link
cannot be made up or altered. Links last `LINK_SECONDS`.
"""

from __future__ import annotations

import base64
import hmac
import json
from typing import Any

from queue_server.ticket_tokens import mac

LINK_SECONDS = 600


def make_link(secret: str, request: dict[str, Any], now: float) -> str:
    body = json.dumps({**request, "until": int(now) + LINK_SECONDS}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    payload = base64.urlsafe_b64encode(body.encode()).rstrip(b"=").decode()
    return f"{payload}.{mac(secret, payload)}"


class LinkRefused(Exception):
    """A link that is not ours, or has expired: the message says which, in Chinese."""


def read_link(secret: str, token: str, now: float) -> dict[str, Any]:
    payload, _, given = token.partition(".")
    if not payload or not hmac.compare_digest(given.encode(), mac(secret, payload).encode()):
        raise LinkRefused("下载链接无效，请回到报表页面重新导出")
    request = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    if request.pop("until") < now:
        raise LinkRefused("下载链接已过期（10 分钟内有效），请回到报表页面重新导出")
    return request
