"""The one-time enrolment code that makes a PC a town's village point (`queue-server point init`).

The town makes it (`queue-server point enrol`) and the agent carries it to the village, as a file
or as text pasted: it holds the town's address and calendar, the point's code, name and secret,
and the catalogue of items the point may take, so that a point set up with no network at all
can record its first case at once. `encode`/`decode` are its one format: `DBJ1-`, the content
as compressed JSON in URL-safe base64, `-`, and a check of 8 hex digits that catches a code
copied with a character missing or changed. The secret is what the point proves itself with at
every sync; the town lets one installation use a code (queue_server.points.sync).
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

PREFIX = "DBJ1-"


class BadCode(ValueError):
    """An enrolment code that cannot be used, said in Chinese."""


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    """An item a point may take, with the checklist of its materials."""

    code: str
    name: str
    materials: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Enrolment:
    town_url: str
    """The town server's address for the point's sync (`ws://…/h/<hall>`)."""
    hall: str
    hall_name: str
    point: str
    point_name: str
    secret: str
    """Hex; proves the point at every sync."""
    handover_days: int
    """Working days within which a case's papers must reach the town (the hall file's)."""
    calendar: Mapping[str, Any]
    """The town's calendar as a hall's view carries it (`service_calendar.calendar_from_view`)."""
    catalogue_version: int
    items: tuple[CatalogueItem, ...]
    issued_at: str
    up_have: int = 0
    """The entries of the point's log the town held when it made the code (a code made again
    with `--again` for a new PC): the point knows at once that they are to come back, and
    records nothing before they have (queue_server.points.point_store.PointStore.town_ahead)."""


def encode(enrolment: Enrolment) -> str:
    body = json.dumps(asdict(enrolment), ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode()
    text = base64.urlsafe_b64encode(zlib.compress(body, 9)).decode().rstrip("=")
    return f"{PREFIX}{text}-{_check(text)}"


def _check(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def decode(code: str) -> Enrolment:
    """The enrolment in `code` (blanks and line breaks from copying are ignored). Raises BadCode."""
    code = "".join(code.split())
    if not code.startswith(PREFIX):
        if code.startswith("DBJ"):
            raise BadCode("登记码版本不支持：请用与本软件同一版本在乡镇生成的登记码")
        raise BadCode("这不是代办点登记码（应以 DBJ1- 开头）")
    text, _, check = code[len(PREFIX):].rpartition("-")
    if not text or _check(text) != check.lower():
        raise BadCode("登记码不完整或有字符抄错（校验不符），请重新复制整段登记码")
    try:
        data = json.loads(zlib.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))))
        items = tuple(CatalogueItem(str(i["code"]), str(i["name"]),
                                    tuple(str(m) for m in i["materials"]))
                      for i in data.pop("items"))
        enrolment = Enrolment(**data, items=items)
    except (ValueError, TypeError, KeyError, AttributeError, zlib.error) as error:
        raise BadCode(f"登记码内容无法读取：{error}") from error
    if not enrolment.point or not enrolment.secret or not enrolment.items:
        raise BadCode("登记码缺少代办点编号、密钥或事项目录")
    return enrolment
