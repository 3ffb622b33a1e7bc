"""A window's business in a few characters, for screens read from afar (the hall board).

A hall file may give each window a `short_name` (≤ 6 characters). Without one, the window's
own name is shortened by a fixed rule, never replaced by its department: a county hall's
departments are long official names that begin alike (县政务服务中心, 县市场监督管理局 …), so
cut to a few characters they all read 县政务服务….
"""

from __future__ import annotations

import re

SHORT_NAME_LIMIT = 6
_BRACKETS = re.compile(r"（[^（）]*）|\([^()]*\)")
_JOINS = "与和及、"


def short_window_name(name: str, short_name: str = "") -> str:
    """`short_name` when set; else `name` without bracketed parts and a closing 窗口
    (社会保障（劳动保障）窗口 → 社会保障, 综合受理窗口（1） → 综合受理); still too long, the part
    before its first 与/和/及/、 (农业农村与水利 → 农业农村); still too long, its first five
    characters and an ellipsis."""
    if short_name:
        return short_name
    text = _BRACKETS.sub("", name).strip()
    text = text.removesuffix("窗口").strip() or name
    if len(text) <= SHORT_NAME_LIMIT:
        return text
    first = re.split(f"[{_JOINS}]", text, maxsplit=1)[0]
    if 2 <= len(first) <= SHORT_NAME_LIMIT:
        return first
    return text[:SHORT_NAME_LIMIT - 1] + "…"
