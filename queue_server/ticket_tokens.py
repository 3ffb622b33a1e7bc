"""The token in a ticket's QR code: it names one ticket of one day and cannot be guessed.

A token is the day and number, signed with the hall's secret (HMAC-SHA256, 128 bits kept).
Nothing is stored per ticket: the server checks the signature, and a token of an earlier day
is refused as expired. No personal data is in it, only what is printed on the ticket anyway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Container
from datetime import date
from functools import lru_cache


@lru_cache(maxsize=64)
def _keyed(secret: str) -> hmac.HMAC:
    """HMAC-SHA256 keyed with `secret`, before any message: each signature starts from a copy,
    so the key is not hashed again for every ticket (a server signs two codes per ticket)."""
    return hmac.new(secret.encode(), digestmod=hashlib.sha256)


def _signature(secret: str, payload: str) -> bytes:
    signing = _keyed(secret).copy()
    signing.update(payload.encode())
    return signing.digest()


def mac(secret: str, payload: str) -> str:
    """128 bits of HMAC-SHA256 of `payload` under the hall's secret, URL-safe."""
    return base64.urlsafe_b64encode(_signature(secret, payload)[:16]).rstrip(b"=").decode()


@lru_cache(maxsize=8)
def _compact(day: date) -> str:
    """The day as the tokens write it (20261107): `strftime` costs more than the signature."""
    return f"{day:%Y%m%d}"


def typed(text: str) -> str:
    """Digits as typed: full-width ones (a Chinese input method) made plain, spaces and dashes
    left out."""
    return re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", text))


def make_token(secret: str, day: date, number: str) -> str:
    payload = f"{_compact(day)}{number}"
    return f"{payload}-{mac(secret, payload)}"


def short_code(secret: str, day: date, number: str) -> str:
    """Six digits printed under the ticket's QR, for a citizen who cannot scan it: with the
    number, they open the ticket's page (`/q`). Signed like the token, so not guessable from
    the number; one in a million, which is enough for a page that shows a queue position."""
    return digits(secret, f"short:{_compact(day)}{number}", 6)


def complaint_code(secret: str, number: str) -> str:
    """A complaint's short code (6 digits): with its number, it opens the status page (`/ts`)."""
    return digits(secret, f"complaint:{number}", 6)


def digits(secret: str, payload: str, count: int) -> str:
    """`count` decimal digits of HMAC-SHA256 of `payload` under the hall's secret: a code a
    person types (the 查询码, the hall's daily 取号码 of queue_server.take_page)."""
    digest = _signature(secret, payload)
    return f"{int.from_bytes(digest[:8], 'big') % 10 ** count:0{count}d}"


def read_token(secret: str, token: str) -> tuple[date, str] | None:
    """The (day, number) a token names, or None if it is not one of ours."""
    payload, _, given = token.partition("-")
    if len(payload) < 10 or not payload[:8].isdigit() or not hmac.compare_digest(
            given.encode(), mac(secret, payload).encode()):
        return None
    try:
        day = date(int(payload[:4]), int(payload[4:6]), int(payload[6:8]))
    except ValueError:
        return None
    return day, payload[8:]


def ticket_for(secret: str, token: str | None, today: date, issued: Container[str]) -> str | None:
    """The number of today's ticket a token names, or None if it is not one of ours. Raises
    `TokenExpired` for a good token of another day (or of a ticket this day does not know)."""
    read = read_token(secret, token) if token else None
    if read is None:
        return None
    day, number = read
    if day != today or number not in issued:
        raise TokenExpired(number)
    return number


class TokenExpired(Exception):
    """A genuine ticket token, but not of today."""
