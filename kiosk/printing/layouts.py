"""The printed ticket and the one-time materials checklist (一次性告知单), as pure functions.

They take the protocol's own dictionaries: the `ticket` of a `take_ticket` reply, the `hall` of
the snapshot (`queue_server.views.hall_view`) and a catalogue `item` (`item_view`). They return a
list of blocks (`blocks.py`) in which every text line already fits the paper at its size, so
the encoder never has to wrap and the printer never wraps on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from hall.guide import material_quantity, serving_windows
from hall.missed_call import ticket_tip
from hall.vocabulary import BOOKED_MARK, PRIORITY_NAMES, TICKET_KIND_NAMES
from kiosk.printing.blocks import QR, Block, Cut, Feed, Paper, Rule, Text, paper_for
from kiosk.printing.qr import module_size
from kiosk.printing.textwidth import balanced_wrap, clean, display_width, wrap, wrap_even

FREE_FEES = frozenset({"不收费", "免费", "免收", ""})

TICKET_QR_HINT = "手机扫码，随时查看排队进度"
CHECKLIST_QR_HINT = "手机扫码，查看完整办事指南"
CHECKLIST_TIP = "请备齐以上材料后取号办理"
BLANK_LABEL = " " * display_width("办理窗口：")
SUB_INDENT = 2
MANY_WINDOWS = 3
"""More windows than this are listed by number only, with their locations on a line of their own."""

QR_MODULE = 6
"""Preferred module size in dots: a code of 25–28 mm for a typical ticket URL, which phones
read at arm's length; smaller only where the paper is too narrow for it."""


# --- building blocks ---------------------------------------------------------------------------

def _centered(text: str, paper: Paper, *, size: int = 1, bold: bool = False) -> list[Text]:
    """Centred lines of even length: a centred paragraph with a short last line looks lopsided."""
    cols = paper.columns_at(size)
    lines = balanced_wrap(text, cols, max_lines=cols) or wrap(text, cols)
    return [Text(line, size, size, "center", bold) for line in lines]


def _title(text: str, paper: Paper, *, size: int = 2, bold: bool = True) -> list[Text]:
    """A heading at `size` in at most two balanced lines; smaller if it would need more."""
    for s in range(size, 0, -1):
        lines = balanced_wrap(text, paper.columns_at(s), max_lines=2 if s > 1 else 99)
        if lines is not None:
            return [Text(line, s, s, "center", bold) for line in lines]
    raise AssertionError("unreachable: size 1 always wraps")


def _labelled(label: str, value: str, paper: Paper, *, bold: bool = False) -> list[Text]:
    """`label：value`, continuation lines indented under the value. A label of spaces only
    lines the value up under the one above."""
    indent = display_width(label)
    if not label.strip():
        lines = wrap_even(value, paper.columns, indent=indent, lead=indent)
    else:
        lines = wrap_even(label + clean(value), paper.columns, indent=indent)
    return [Text(line, bold=bold) for line in lines]


def _left(text: str, paper: Paper, *, indent: int = 0, lead: int = 0,
          bold: bool = False) -> list[Text]:
    lines = wrap_even(text, paper.columns, indent=indent, lead=lead)
    return [Text(line, bold=bold) for line in lines]


def _qr(url: str, paper: Paper) -> list[Block]:
    module = module_size(url, "M", paper.dots, QR_MODULE)
    return [Feed(1), QR(url, module, "M"), Feed(1)]


def _moment(value: Any) -> str:
    """`2026-11-23T09:16:40+08:00` as `2026-11-23 09:16`; anything else as it is."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    try:
        return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return clean(str(value))


def _window_lines(windows: Sequence[Mapping[str, Any]], paper: Paper) -> list[Text]:
    """Where to go: each window with its name and place, or for many windows their numbers and
    the places they are in."""
    if not windows:
        return _labelled("办理窗口：", "请咨询工作人员", paper)
    if len(windows) > MANY_WINDOWS:
        numbers = "、".join(str(w["window"]) for w in windows)
        places = _unique(clean(w.get("location") or "") for w in windows)
        out = _labelled("办理窗口：", f"{numbers} 号窗口", paper)
        if places:
            out += _labelled("窗口位置：", "、".join(places), paper)
        return out
    entries = []
    for w in windows:
        place = f"{w['window']} 号窗口"
        location = clean(w.get("location") or "")
        if location:
            place += f"（{location}）"
        entries.append((place, clean(w.get("name") or "")))
    room = paper.columns - len(BLANK_LABEL)
    if all(display_width(part) <= room for entry in entries for part in entry):
        # 办理窗口：1 号窗口（一楼 A区）
        #           社会保障窗口
        out = []
        for i, (place, name) in enumerate(entries):
            out += _labelled("办理窗口：" if i == 0 else BLANK_LABEL, place, paper)
            if name:
                out += _labelled(BLANK_LABEL, name, paper)
        return out
    # Too long to stand under the value (58 mm paper): the label on a line of its own and the
    # windows under it, slightly indented, so that a window's name stays on one line.
    out = _left("办理窗口：", paper)
    for place, name in entries:
        for part in (place, name):
            if part:
                out += _left(part, paper, indent=SUB_INDENT, lead=SUB_INDENT)
    return out


def _unique(values: Iterable[str]) -> list[str]:
    return [v for v in dict.fromkeys(values) if v]


# --- the ticket ---------------------------------------------------------------------------------

def number_size(number: str, paper: Paper) -> int:
    """The GS ! multiplier of the ticket number: quadruple where it fits, else smaller."""
    for size in (4, 3, 2):
        if display_width(number) * size <= paper.columns:
            return size
    return 1


def ticket_layout(ticket: Mapping[str, Any], hall: Mapping[str, Any], paper: int = 80,
                  item: Mapping[str, Any] | None = None) -> list[Block]:
    """The slip a citizen takes away: where they are in the queue and where to go.

    `ticket` is the `take_ticket` reply's ticket (number, category_name, kind, priority,
    issued_at, ahead, windows with their location, url; a checked-in booking's `booked` and
    `slot_at`, printed as 【预约】 and the slot's start; a 代办 batch's `cases`, `point` and
    `point_name`, printed as 【代办 N 件】, the point and each case's number); `item` the chosen
    service, if any.
    """
    p = paper_for(paper)
    number = clean(str(ticket["number"]))
    size = number_size(number, p)
    blocks: list[Block] = [*_title(hall["name"], p), Rule("-")]
    blocks += _centered("您的排队号码", p)
    blocks.append(Text(number, size, size, "center", True))
    service = clean(ticket.get("category_name") or ticket.get("category") or "")
    kind = TICKET_KIND_NAMES.get(ticket.get("kind") or "handle", "")
    blocks += _title(f"{service}（{kind}）" if kind else service, p, bold=False)
    if item is not None:
        blocks += _centered(item["name"], p)
    priority = ticket.get("priority") or "normal"
    if priority != "normal" and priority in PRIORITY_NAMES:   # 普通 goes without saying
        blocks += _centered(f"【{PRIORITY_NAMES[priority]}】", p, bold=True)
    if ticket.get("booked"):     # a checked-in booking: seen at a glance, as big as the service
        blocks += _centered(f"【{BOOKED_MARK}】", p, size=2, bold=True)
    cases = [clean(c) for c in ticket.get("cases") or []]
    if cases:   # a village point's batch (代办送件): the window sees which cases came
        blocks += _centered(f"【{kind} {len(cases)} 件】", p, size=2, bold=True)
        blocks += _centered(clean(ticket.get("point_name") or ticket.get("point") or ""), p)
    blocks.append(Rule("-"))
    if cases:
        blocks += _left("送件件号：", p, bold=True)
        for case in cases:
            blocks += _left(case, p, indent=SUB_INDENT, lead=SUB_INDENT)
    blocks += _window_lines(list(ticket.get("windows") or []), p)
    ahead = int(ticket.get("ahead") or 0)
    blocks += _labelled("前面等候：", f"{ahead} 人" if ahead else "0 人，请留意叫号", p)
    if ticket.get("booked") and ticket.get("slot_at"):
        blocks += _labelled(f"{BOOKED_MARK}时间：", _moment(ticket["slot_at"]), p)
    if ticket.get("issued_at"):
        blocks += _labelled("取号时间：", _moment(ticket["issued_at"]), p)
    if ticket.get("url"):
        blocks += _qr(ticket["url"], p)
        blocks += _centered(TICKET_QR_HINT, p)
        if ticket.get("short_code") and ticket.get("lookup_url"):   # a phone that cannot scan
            blocks += _centered(f"查询码：{ticket['short_code']}", p, bold=True)
            blocks += _centered(f"不便扫码时，打开 {ticket['lookup_url']} 输入号码和查询码", p)
    blocks.append(Rule("-"))
    blocks += _centered(ticket_tip(hall), p, bold=True)   # the hall's missed-call advice
    blocks += _phones(hall, p)
    blocks.append(Cut())
    return blocks


def _phones(hall: Mapping[str, Any], paper: Paper, consultation: str | None = None) -> list[Text]:
    out: list[Text] = []
    if consultation or hall.get("consultation_phone"):
        out += _labelled("咨询电话：", consultation or hall["consultation_phone"], paper)
    if hall.get("complaint_phone"):
        out += _labelled("投诉电话：", hall["complaint_phone"], paper)
    return out


# --- the one-time checklist ----------------------------------------------------------------------

def days_text(days: int) -> str:
    return f"{days} 个工作日" if days else "即办，当场办结"


def item_windows(item: Mapping[str, Any], hall: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The windows serving the item's queue category, shaped like a ticket's `windows`."""
    return [{"window": w["window"], "name": w.get("name", ""),
             "location": " ".join(part for part in (w.get("floor"), w.get("zone")) if part)}
            for w in serving_windows(item, hall)]


def checklist_layout(item: Mapping[str, Any], hall: Mapping[str, Any], guide_url: str,
                     paper: int = 80, printed_at: datetime | None = None) -> list[Block]:
    """一次性告知单: everything to bring for one service item, so one trip is enough.

    `item` is a catalogue item (`item_view`); `hall` the snapshot's hall; `guide_url` the page of
    the full guide the QR code leads to; `printed_at` is printed when given.
    """
    p = paper_for(paper)
    departments = {d["code"]: d["name"] for d in hall.get("departments") or []}
    blocks: list[Block] = [*_title("一次性告知单", p)]
    blocks += _centered(hall["name"], p)
    blocks.append(Rule("="))
    blocks += _labelled("事项名称：", item["name"], p, bold=True)
    department = departments.get(item.get("department") or "", item.get("department") or "")
    if department:
        blocks += _labelled("办理部门：", department, p)
    materials = list(item.get("materials") or [])
    blocks.append(Rule("-"))
    if materials:
        blocks += _left(f"申请材料（共 {len(materials)} 项）：", p, bold=True)
    else:
        blocks += _left("申请材料：无需提交材料", p, bold=True)
    for i, material in enumerate(materials, 1):
        head = f"{i}. "
        blocks += _left(head + clean(material["name"]), p, indent=len(head))
        detail = material_quantity(material)
        if material.get("notes"):
            detail += "；" + clean(material["notes"])
        blocks += _left(detail, p, indent=len(head), lead=len(head))
    blocks.append(Rule("-"))
    promised = int(item.get("promised_days") or 0)
    statutory = int(item.get("statutory_days") or 0)
    blocks += _labelled("承诺时限：", days_text(promised), p)
    blocks += _labelled("法定时限：", days_text(statutory), p)
    fee = clean(item.get("fee") or "不收费")
    blocks += _labelled("收费标准：", fee, p)
    if fee not in FREE_FEES and item.get("fee_basis"):
        blocks += _labelled("收费依据：", item["fee_basis"], p)
    blocks += _window_lines(item_windows(item, hall), p)
    if hall.get("address"):
        blocks += _labelled("大厅地址：", hall["address"], p)
    blocks += _phones({"consultation_phone": item.get("phone") or hall.get("consultation_phone")},
                      p)
    if guide_url:
        blocks += _qr(guide_url, p)
        blocks += _centered(CHECKLIST_QR_HINT, p)
    blocks.append(Rule("-"))
    blocks += _centered(CHECKLIST_TIP, p, bold=True)
    if printed_at is not None:
        blocks += _centered(f"打印时间：{_moment(printed_at)}", p)
    blocks.append(Cut())
    return blocks
