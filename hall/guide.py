"""A service item's guide (办事指南) as sections of plain lines, shared by the kiosk's guide page
and the guide web page the checklist's QR code opens. Pure functions over the catalogue's item
view (`queue_server.views.item_view`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def time_limit_text(item: dict[str, Any]) -> str:
    parts = []
    if item.get("promised_days") is not None:
        parts.append("即办" if item["promised_days"] == 0 else
                     f"承诺 {item['promised_days']} 个工作日")
    if item.get("statutory_days") is not None:
        parts.append(f"法定 {item['statutory_days']} 个工作日")
    return "，".join(parts) or "以窗口告知为准"


def fee_text(item: dict[str, Any]) -> str:
    fee = item.get("fee") or "不收费"
    basis = item.get("fee_basis")
    return f"{fee}（{basis}）" if basis else fee


FORM_NAMES = {"original": "原件", "copy": "复印件", "original_and_copy": "原件及复印件"}


def material_quantity(material: Mapping[str, Any]) -> str:
    """`原件 1 份`, `复印件 2 份`, `原件及复印件各 1 份`: the same on screen and on paper."""
    form = material.get("form") or "original"
    each = "各" if form == "original_and_copy" else ""
    return f"{FORM_NAMES.get(form, str(form))}{each} {int(material.get('copies') or 1)} 份"


def material_line(material: dict[str, Any]) -> str:
    line = f"{material['name']}：{material_quantity(material)}"
    return line + (f"（{material['notes']}）" if material.get("notes") else "")


def serving_windows(item: Mapping[str, Any], hall: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The hall view's windows that serve the item's queue category, in the category's order."""
    category: Mapping[str, Any] = next(
        (c for c in hall.get("categories") or [] if c["prefix"] == item.get("category")), {})
    by_number = {w["window"]: w for w in hall.get("windows") or []}
    return [by_number[n] for n in category.get("windows") or [] if n in by_number]


def sections(item: dict[str, Any], windows: list[dict[str, Any]],
             hall: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Every field of the item, section by section, in the order people ask. `windows` are the
    hall view's windows that serve the item's category; `hall` the hall view."""
    places = [f"{w['window']} 号窗口（{w['name']}）" + (f"，{w['zone']}" if w.get("zone") else "")
              + (f"，{w['floor']}" if w.get("floor") else "") for w in windows]
    return [
        ("事项简介", [item["summary"]] if item.get("summary") else []),
        ("办理条件", list(item.get("conditions", []))),
        ("所需材料", [material_line(m) for m in item.get("materials", [])]),
        ("办理流程", [f"{n}. {step}" for n, step in enumerate(item.get("steps", []), 1)]),
        ("办理时限", [time_limit_text(item)]),
        ("收费标准", [fee_text(item)]),
        ("办理窗口", places or ["请到服务台咨询"]),
        ("办理结果", [item["certificate"]] if item.get("certificate") else []),
        ("设定依据", list(item.get("legal_basis", []))),
        ("咨询电话", [item.get("phone") or hall.get("consultation_phone", "")]),
        ("温馨提示", list(item.get("notes", []))),
    ]


def guide_path(service: str | None, catalogue_version: int | None) -> str | None:
    """An item's guide page, relative to the hall's address: the guide of the catalogue
    version a ticket was issued (or a checklist printed) with (`guide/<code>?v=N`), or the
    current one when the version is not known (a ticket of an older log); None without an
    item."""
    if service is None:
        return None
    return f"guide/{service}" + (f"?v={catalogue_version}" if catalogue_version else "")


# --- laying the guide's text out in lines and pages (the kiosk's guide page, the checklist) ------

NBSP = "\u00a0"   # a space no line breaks at; Noto Sans SC has it (U+2060 it has not)
_AROUND_NUMBER = re.compile(r"(?<=\d) (?=\S)|(?<=\S) (?=\d)")
_ASCII_WORD = re.compile(r"[0-9A-Za-z_\-./:@%?=&#+~]+")
# Punctuation that closes: kept with what precedes it, off the start of a line (避头尾).
_CLOSING = frozenset("，。、；：？！）》」』】〕〉”’…%‰℃,.;:?!)]}")


def no_break(text: str) -> str:
    """The text with each number joined to the words around it (`原件 1 份`, `到 2 号窗口`):
    the spaces on either side of a number become no-break spaces, so no line ends with a
    number whose unit is on the next."""
    return _AROUND_NUMBER.sub(NBSP, text)


def _atoms(text: str) -> list[str]:
    """Pieces a line never breaks inside: an ASCII word or one other character, with closing
    punctuation glued to what precedes it and pieces joined by a no-break space kept whole."""
    atoms: list[str] = []
    pos = 0
    while pos < len(text):
        match = _ASCII_WORD.match(text, pos)
        piece = match.group() if match else text[pos]
        pos += len(piece)
        if atoms and (piece == NBSP or atoms[-1].endswith(NBSP) or
                      (piece in _CLOSING and atoms[-1] != " ")):
            atoms[-1] += piece
        else:
            atoms.append(piece)
    return atoms


def wrap_line(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """`text` in lines of at most `width` as `measure` tells (a line's width in pixels on a
    screen, in columns on paper), never breaking inside an atom (`_atoms`: so never between a
    number and its unit once `no_break` joined them) unless one alone is wider than a line.
    Spaces at a break are dropped."""
    lines: list[str] = []
    current = ""
    atoms: list[str] = []
    for atom in _atoms(text):         # a joined piece wider than a line is joined no more
        if NBSP in atom and measure(atom) > width:
            atoms += _atoms(atom.replace(NBSP, " "))
        else:
            atoms.append(atom)
    for atom in atoms:
        if measure(current + atom) <= width:
            if current or atom != " ":
                current += atom
            continue
        if current.strip():
            lines.append(current.rstrip())
        current = ""
        if atom == " ":
            continue
        for ch in atom:                       # wider than a whole line: split it where it must
            if current and measure(current + ch) > width:
                lines.append(current)
                current = ""
            current += ch
    if current.strip() or not lines:
        lines.append(current.rstrip())
    return lines


def paginate(heights: Sequence[float], room: float, keep_with_next: Sequence[bool] = (),
             opening: Sequence[float] = ()) -> list[list[int]]:
    """The lines (their indexes) on each page, each page as many whole lines as fit in `room`
    (at least one). A line that must stay with the next (a heading) does not end a page
    while it can begin the next. `opening[i]` is the room a page that begins with line i
    gives first to something else (the heading of the section it continues)."""
    def top(i: int) -> float:
        return opening[i] if i < len(opening) else 0.0

    pages: list[list[int]] = [[]]
    used = 0.0
    for i, height in enumerate(heights):
        page = pages[-1]
        if page and used + height > room:
            carried = []
            if len(page) > 1 and i - 1 < len(keep_with_next) and keep_with_next[i - 1]:
                carried = [page.pop()]
            pages.append(carried)
            used = top(carried[0] if carried else i) + sum(heights[j] for j in carried)
        pages[-1].append(i)
        used += height
    return pages
