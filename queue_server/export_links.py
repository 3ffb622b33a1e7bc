"""Download links for exports: the manager's `export` op returns `/export/<token>`, and a plain
GET of that address gives the file. The token carries what to export and until when the link
works, sealed with the hall's secret (queue_server.seals), so the HTTP side needs no session of
its own and a link cannot be made up or altered. Links last `LINK_SECONDS`.
"""

from __future__ import annotations

from typing import Any

from queue_server.seals import Unsealed, seal, unseal

LINK_SECONDS = 600


def make_link(secret: str, request: dict[str, Any], now: float) -> str:
    return seal(secret, "export", request, now + LINK_SECONDS)


class LinkRefused(Exception):
    """A link that is not ours, or has expired: the message says which, in Chinese."""


def read_link(secret: str, token: str, now: float) -> dict[str, Any]:
    try:
        return unseal(secret, "export", token, now)
    except Unsealed as refused:
        if refused.expired:
            raise LinkRefused("下载链接已过期（10 分钟内有效），请回到报表页面重新导出") from None
        raise LinkRefused("下载链接无效，请回到报表页面重新导出") from None
