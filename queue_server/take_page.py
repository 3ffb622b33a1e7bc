"""The hall's mobile 取号 page (`/take`): its daily hall code, the phone's keyed hash, and the
list of what can be taken, in the kiosk's words.

A citizen without the kiosk scans the QR posted at the hall's entrance, types **today's hall
code** (今日取号码, shown on the hall's display board and on the poster managers print), gives a
mobile number and takes a ticket. The code proves presence in the hall: it is four digits of an
HMAC of the hall's service day under the hall's own secret (purpose `take-code`), so it changes
when the hall's day starts (by the hall's clock, simulated or not) and yesterday's is refused.
Wrong codes are limited per client address (`CODE_LIMIT`), tickets too (`serve
--mobile-limit`), and the page takes at most a share of a category's day (`hall_state.mobile_cap`).

The number itself is never stored: the ticket's event keeps a keyed hash of it (HMAC under the
random salt of the service day, `queue_server.store.phone_salts`), which is all the rule "one
ticket per phone per category per hall day" needs (the core checks it, `HallState`). The salt
is deleted when the day is over: from then on the key tells nothing, not even to whoever has
the database and the hall's secret.

Managers print the entrance's poster from the dashboard (`take_poster`): a link to
`/poster/<seal>`, sealed for `POSTER_SECONDS` (queue_server.seals, purpose `take-poster`), to an
A4 page with the QR of `/take` and the day's code.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from hall.availability import category_availability, hall_availability, waiting_text
from queue_server import views
from queue_server.hall_state import HallState, mobile_cap, mobile_full_text, ticket_kind
from queue_server.rate_limits import RateLimit
from queue_server.seals import Unsealed, seal, unseal
from queue_server.ticket_tokens import digits, mac, typed

CODE_DIGITS = 4
POSTER_SECONDS = 600
CODE_LIMIT = RateLimit(10, 60.0)   # hellos with a code, per address: 10 at once, then one per 6 s
PHONE = re.compile(r"1[3-9][0-9]{9}")
BAD_PHONE = "请输入 11 位手机号码（1 开头的数字）"
BAD_CODE = "取号码不正确或已过期，请查看大厅显示屏上的今日取号码"
NO_PHONE_CHECK = "本页不发送短信验证码，请填写您本人的手机号码"


def hall_code(secret: str, day: date) -> str:
    """Today's hall code (今日取号码): `CODE_DIGITS` digits, of the hall's service day."""
    return digits(secret, f"take-code:{day:%Y%m%d}", CODE_DIGITS)


def code_is_right(secret: str, day: date, given: str) -> bool:
    return hmac.compare_digest(typed(given).encode(), hall_code(secret, day).encode())


def phone_key(salt: str, phone: str) -> str:
    """What is kept of a phone number: a keyed hash of it under the random salt of one service
    day (queue_server.store.phone_salts), deleted when the day is over."""
    return mac(salt, f"phone:{phone}")


def checked_phone(text: str) -> str:
    """The 11 digits of a mainland mobile number (spaces and dashes allowed), or ValueError."""
    number = typed(text)
    if not PHONE.fullmatch(number):
        raise ValueError(BAD_PHONE)
    return number


def menu(state: HallState, hall: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The hall and its categories with their items, each with the kiosk's words for it now
    (`hall.availability`, from the server's own hall and live views): whether a ticket can be
    taken, why not, and how many wait; and a category whose mobile share of the day is taken
    (`hall_state.mobile_cap`) said so."""
    live = views.live_view(state)
    waiting = {q["category"]: q["waiting"] for q in live["queues"]}
    whole = hall_availability(hall, True, now)
    listed = []
    for category in hall["categories"]:
        prefix = category["prefix"]
        said = category_availability(hall, live, prefix, True, now)
        takeable, text, ok = said.takeable, said.text, said.ok
        if takeable and state.mobile_issued[prefix] >= mobile_cap(
                state.hall, state.definition.category_by_prefix[prefix]):   # the kiosk's share
            takeable, text, ok = False, mobile_full_text(category["name"]), False
        items = [{"code": i.code, "name": i.name} for i in state.definition.items
                 if i.category == prefix]
        listed.append({"prefix": prefix, "name": category["name"],
                       "kind": ticket_kind(category["kinds"]), "takeable": takeable,
                       "text": text, "ok": ok,
                       "waiting": waiting_text(waiting, prefix), "items": items})
    return {"takeable": whole.takeable, "text": whole.text, "categories": listed}


class MenuCache:
    """The menu as last computed, for as long as nothing happened in the hall (its log's seq,
    its catalogue) and the hall's clock is in the same second: however many pages ask
    (`take_menu`, every 20 s each, and each hello), the live view is computed at most once a
    second."""

    def __init__(self) -> None:
        self.key: tuple[int, int | None, int] | None = None
        self.menu: dict[str, Any] = {}

    def get(self, state: HallState, hall: dict[str, Any], now: datetime) -> dict[str, Any]:
        key = (state.seq, state.catalogue_version, int(now.timestamp()))
        if key != self.key:
            self.key, self.menu = key, menu(state, hall, now)
        return self.menu


def local_address(url: str) -> bool:
    """Whether `url` names this machine or a private network: a phone outside the hall's own
    network cannot open it."""
    host = urlsplit(url).hostname or ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost" or host.endswith(".local") or "." not in host
    return ip.is_private or ip.is_loopback or ip.is_link_local


def poster_link(secret: str, take_url: str, now: float) -> str:
    """The seal of a manager's poster link: the `/take` address its QR opens."""
    return seal(secret, "take-poster", {"url": take_url}, now + POSTER_SECONDS)


def poster_url(secret: str, token: str, now: float) -> str:
    """The `/take` address a poster link was made for; ValueError (its words in Chinese) for a
    link that is not ours or has expired."""
    try:
        return str(unseal(secret, "take-poster", token, now)["url"])
    except Unsealed as refused:
        if refused.expired:
            raise ValueError("海报链接已过期（10 分钟内有效），请回到管理页面重新生成") from None
        raise ValueError("海报链接无效，请回到管理页面重新生成") from None
