"""What the kiosk knows and shows, without kivy: the catalogue, the live queues, the connection.

The screens read from a `KioskModel` and call its methods; the asyncio shell (`kiosk.app`)
feeds it the server's catalogue, snapshot and events. Everything here is plain data, so the
rules (which departments to show, whether a ticket can be taken and why not, what a guide page
says) are tested without a window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hall import availability, guide
from hall.availability import Availability
from hall.guide import fee_text, time_limit_text
from hall.missed_call import ticket_tip
from hall.protocol import BATCH_PREFIX, BOOKING_CODE_DIGITS
from hall.vocabulary import PRIORITY_NAMES


@dataclass
class Department:
    code: str
    name: str
    items: list[dict[str, Any]]

    @property
    def icon(self) -> str:
        """The tile's emblem: the department's first character, as on the hall's own signs."""
        return self.name[0]


@dataclass
class KioskModel:
    catalogue: dict[str, Any] | None = None
    waiting: dict[str, int] = field(default_factory=dict)     # category → people waiting
    notice: str = ""
    connected: bool = False
    status_text: str = "正在连接服务器…"
    elder_mode: bool = False
    server_hall: dict[str, Any] = field(default_factory=dict)  # the hello's hall: its calendar
    live: dict[str, Any] = field(default_factory=dict)         # day, queues, windows, kept live
    complain_url: str = ""     # the hello's address of the hall's 投诉建议 page ("": none given)
    booking_menu: list[dict[str, Any]] = field(default_factory=list)  # the categories one books
    scanner: tuple[bool, str] | None = None    # the QR scanner's state in words; None: none
    points: bool = False    # the hall has village points (the hello's `points`): 代办送件 on home

    # --- fed by the shell ---------------------------------------------------------------------

    def set_catalogue(self, catalogue: dict[str, Any]) -> None:
        self.catalogue = catalogue

    def apply_snapshot(self, snapshot: dict[str, Any]) -> None:
        live = snapshot.get("live", {})
        self.server_hall = snapshot.get("hall", {})
        self.live = {"day": live.get("day"), "queues": list(live.get("queues", [])),
                     "windows": list(live.get("windows", []))}
        self.waiting = {q["category"]: q["waiting"] for q in live.get("queues", [])}
        self.notice = live.get("notice") or ""

    def apply_event(self, event: dict[str, Any]) -> bool:
        """Take in one event; say whether anything shown changed."""
        if event.get("ev") == "queue":
            self.waiting[event["category"]] = event["waiting"]
            self._replace("queues", "category", event)
            return True
        if event.get("ev") == "window":
            self._replace("windows", "window", event)
            return True
        if event.get("ev") == "notice":
            self.notice = event.get("text") or ""
            return True
        return False

    def set_connection(self, connected: bool, text: str) -> None:
        self.connected, self.status_text = connected, text

    def _replace(self, kind: str, key: str, state: dict[str, Any]) -> None:
        """A queue's or a window's new state in place of its old one in `live`."""
        rows = self.live.setdefault(kind, [])
        rows[:] = [r for r in rows if r[key] != state[key]] + [state]

    # --- read by the screens -------------------------------------------------------------------

    @property
    def complaint_page(self) -> str:
        """The 投诉建议 page for its QR on screen: only while the server answers (never a QR of
        a page that may be down), "" without one (not connected yet, a server that gives none)."""
        return self.complain_url if self.connected else ""

    @property
    def check_in_open(self) -> bool:
        """预约签到 is offered while the server answers and the hall takes bookings (the
        `booking_menu` of the last hello has a category)."""
        return self.connected and bool(self.booking_menu)

    @property
    def hall(self) -> dict[str, Any]:
        return (self.catalogue or {}).get("hall", {})

    def departments(self) -> list[Department]:
        """Departments that have service items, in the hall's order."""
        if not self.catalogue:
            return []
        items = self.catalogue["items"]
        out = []
        for d in self.hall.get("departments", []):
            mine = [i for i in items if i["department"] == d["code"]]
            if mine:
                out.append(Department(d["code"], d["name"], mine))
        return out

    def popular(self) -> list[dict[str, Any]]:
        """The 常办事项: the hall's most-taken items, as the server chose them (the catalogue's
        `popular`, most taken first); none from a server or a cache from before them."""
        if not self.catalogue:
            return []
        by_code = {i["code"]: i for i in self.catalogue["items"]}
        return [by_code[code] for code in self.catalogue.get("popular", ()) if code in by_code]

    def department(self, code: str) -> Department:
        return next(d for d in self.departments() if d.code == code)

    def item(self, code: str) -> dict[str, Any]:
        assert self.catalogue is not None   # fetched on connecting, before items are offered
        return next(i for i in self.catalogue["items"] if i["code"] == code)

    def category_name(self, prefix: str) -> str:
        return next((c["name"] for c in self.hall.get("categories", []) if c["prefix"] == prefix),
                    prefix)

    def waiting_text(self, category: str) -> str:
        return availability.waiting_text(self.waiting, category)

    def availability(self, now: datetime) -> Availability:
        """Whether the hall issues tickets now, in words (see `hall.availability`)."""
        return availability.hall_availability(self.server_hall, self.connected, now)

    def category_availability(self, category: str, now: datetime) -> Availability:
        return availability.category_availability(self.server_hall, self.live, category,
                                                  self.connected, now)

    def availabilities(self, now: datetime) -> tuple[Availability, ...]:
        """The hall's and every category's: when this changes, the screen is drawn afresh."""
        prefixes = [c["prefix"] for c in self.hall.get("categories", [])]
        return (self.availability(now),
                *(self.category_availability(prefix, now) for prefix in prefixes))

    def windows_for(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        return guide.serving_windows(item, self.hall)

    @property
    def ticket_hall(self) -> dict[str, Any]:
        """The hall a ticket is shown and printed with: the hello's, from the server that
        issued it (the cached catalogue's may be older, e.g. its missed-call advice), else the
        catalogue's."""
        return self.server_hall or self.hall


def ticket_lines(model: KioskModel, ticket: dict[str, Any]) -> list[str]:
    """The ticket screen's lines under the number (empty ones left out), phones aside."""
    service = ticket.get("category_name", "")
    if ticket.get("service"):
        service += f" · {model.item(ticket['service'])['name']}"
    windows = "、".join(f"{w['window']} 号窗口" + (f"（{w['location']}）" if w.get("location")
                                                  else "") for w in ticket.get("windows", []))
    issued = (ticket.get("issued_at") or "")[11:16]
    priority = PRIORITY_NAMES.get(ticket.get("priority") or "normal", PRIORITY_NAMES["normal"])
    lines = [f"业务：{service}", f"取号类型：{priority}", f"您前面还有 {ticket['ahead']} 人在等候",
             f"请到：{windows}" if windows else "", f"取号时间：{issued}",
             ticket_tip(model.ticket_hall)]
    return [line for line in lines if line]


def booked_slot(ticket: dict[str, Any]) -> str:
    """A checked-in booking's slot start (09:00), shown and read out with its ticket; "" for a
    walk-in's ticket."""
    return (ticket.get("slot_at") or "")[11:16] if ticket.get("booked") else ""


def is_batch_code(scanned: str) -> bool:
    """A 交接单's batch code (`queue_server.points.batch`), which the server checks."""
    return scanned.strip().upper().startswith(f"{BATCH_PREFIX}:")


def batch_line(ticket: dict[str, Any]) -> str:
    """A 代办 batch ticket's line on screen: the point and how many cases; "" for others."""
    cases = ticket.get("cases") or []
    return f"{ticket.get('point_name') or ticket.get('point')} · 本次送件 {len(cases)} 件" if cases else ""


def booking_code_in(scanned: str) -> str:
    """The booking code in what a scanner read: the code alone, or the last run of exactly
    `BOOKING_CODE_DIGITS` digits in a longer text (the address of the booking's page); else the
    text as read (which the screen refuses as no code)."""
    runs = re.findall(rf"(?<!\d)\d{{{BOOKING_CODE_DIGITS}}}(?!\d)", scanned)
    return runs[-1] if runs else scanned.strip()


def guide_sections(model: KioskModel, item: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The guide page, section by section (see `hall.guide`)."""
    return guide.sections(item, model.windows_for(item), model.hall)


def spoken_summary(model: KioskModel, item: dict[str, Any]) -> str:
    """What 长辈模式 reads aloud on a guide page: the title and the key points."""
    materials = "、".join(m["name"] for m in item.get("materials", [])[:6])
    windows = "、".join(f"{w['window']}号窗口" for w in model.windows_for(item))
    parts = [item["name"], f"需要带：{materials}" if materials else "",
             f"办理时限：{time_limit_text(item)}", f"收费：{fee_text(item)}",
             f"请到{windows}办理" if windows else ""]
    return "。".join(p for p in parts if p) + "。"
