"""The batch code of a hand-over list (交接单): the cases an agent carries to the town at once.

The point prints the list with a QR of this code; the agent scans it at the town's kiosk and takes
one 代办 ticket for every case on it (docs/points.md, 送件). The code is short enough for a small
QR and a cheap scanner: `DBJB1:<hall>:<point>:<cases>:<check>`, where `<cases>` are the case
numbers without the point's code (`<yymmdd>-<nnn>`, comma-separated, in the list's order) and
`<check>` the first 4 hex digits (upper case) of the SHA-256 of everything before it, which
catches a code misread or typed with a character changed.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from hall.protocol import BATCH_PREFIX
from queue_server.points import ledger

PREFIX = BATCH_PREFIX
MAX_CASES = 30
"""The most cases one batch ticket carries (one window serves them at one sitting)."""

_SUFFIX = re.compile(r"\d{6}-\d{3,4}")
_CODE = re.compile(r"[A-Za-z0-9_]{1,20}")


class BadBatch(ValueError):
    """A batch code that cannot be used, said in Chinese."""


@dataclass(frozen=True, slots=True)
class Batch:
    hall: str
    point: str
    cases: tuple[str, ...]
    """Full case numbers (`<point>-<yymmdd>-<nnn>`), each once, in the list's order."""


def _check(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()[:4].upper()


def encode(batch: Batch) -> str:
    prefix = f"{batch.point}-"
    suffixes = []
    for case in batch.cases:
        if not case.startswith(prefix) or not _SUFFIX.fullmatch(case[len(prefix):]):
            raise ValueError(f"{case} 不是代办点 {batch.point} 的件号")
        suffixes.append(case[len(prefix):])
    body = f"{PREFIX}:{batch.hall}:{batch.point}:{','.join(suffixes)}"
    return f"{body}:{_check(body)}"


def decode(text: str) -> Batch:
    """The batch a scanned code names; BadBatch, in Chinese, for a damaged or foreign one."""
    parts = text.strip().split(":")
    if len(parts) != 5 or parts[0] != PREFIX:
        raise BadBatch("这不是代办交接单的二维码，请扫描交接单右上角的二维码")
    _, hall, point, cases, check = parts
    if check.upper() != _check(":".join(parts[:4])):
        raise BadBatch("交接单二维码不完整或已损坏，请重新打印交接单")
    suffixes = cases.split(",") if cases else []
    if (not _CODE.fullmatch(hall) or not _CODE.fullmatch(point)
            or not all(_SUFFIX.fullmatch(s) for s in suffixes)):
        raise BadBatch("交接单二维码的内容不对，请重新打印交接单")
    if not suffixes:
        raise BadBatch("交接单上没有件")
    if len(set(suffixes)) != len(suffixes):
        raise BadBatch("交接单上有重复的件号，请重新打印交接单")
    if len(suffixes) > MAX_CASES:
        raise BadBatch(f"一次送件最多 {MAX_CASES} 件，请分开打印交接单")
    return Batch(hall, point, tuple(f"{point}-{s}" for s in suffixes))


def chosen(held: Mapping[str, ledger.Case], point: str, cases: Sequence[str] | None,
           carried: Collection[str] = ()) -> list[ledger.Case]:
    """The cases a batch ticket carries, as the town holds them: those named (a scanned list),
    or every case of the point still at 已受理 and in no open batch ticket (`carried`: the
    point's code typed). BadBatch, in Chinese, when any named case has not reached the town yet
    or is past 已受理."""
    if cases is None:
        waiting = [c for c in held.values() if c.stage == "recorded" and c.case not in carried]
        if not waiting:
            raise BadBatch(f"代办点 {point} 没有待送的件：乡镇收到的件都已送达、已撤回或已取号；"
                           "新登记的件请代办点先联网同步")
        if len(waiting) > MAX_CASES:
            raise BadBatch(f"代办点 {point} 有 {len(waiting)} 件待送，一次最多 {MAX_CASES} 件，"
                           "请在代办点打印交接单分批送件")
        return waiting
    unknown = [c for c in cases if c not in held]
    if unknown:
        raise BadBatch(f"这些件尚未同步到乡镇，请代办点先联网同步：{'、'.join(unknown)}")
    withdrawn = [c for c in cases if held[c].stage == "withdrawn"]
    if withdrawn:
        raise BadBatch(f"这些件已撤回，不能送件：{'、'.join(withdrawn)}")
    delivered = [c for c in cases if held[c].stage != "recorded"]
    if delivered:
        raise BadBatch(f"已送达的件不能重复送件：{'、'.join(delivered)}")
    return [held[c] for c in cases]


def category_for(cases: Sequence[ledger.Case], item_category: Mapping[str, str],
                 categories: Sequence[str]) -> str:
    """The category a batch ticket queues in: the one serving most of its cases' items (ties:
    the hall file's order). BadBatch when the hall serves none of them."""
    counts = Counter(item_category[c.item] for c in cases if c.item in item_category)
    if not counts:
        raise BadBatch("这些件的事项本中心都不办理，请到咨询台")
    return max(categories, key=lambda prefix: (counts[prefix], -categories.index(prefix)))
