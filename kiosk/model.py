"""What the kiosk knows and shows, without kivy: the catalogue, the live queues, the connection.

The screens read from a `KioskModel` and call its methods; the asyncio shell (`kiosk.app`)
feeds it the server's catalogue, snapshot and events. Everything here is plain data, so the
rules (which departments to show, whether a ticket can be taken and why not, what a guide page
says) are tested without a window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hall import guide
from hall.guide import fee_text, time_limit_text


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

    # --- fed by the shell ---------------------------------------------------------------------

    def set_catalogue(self, catalogue: dict[str, Any]) -> None:
        self.catalogue = catalogue

    def apply_snapshot(self, snapshot: dict[str, Any]) -> None:
        live = snapshot.get("live", {})
        self.waiting = {q["category"]: q["waiting"] for q in live.get("queues", [])}
        self.notice = live.get("notice") or ""

    def apply_event(self, event: dict[str, Any]) -> bool:
        """Take in one event; say whether anything shown changed."""
        if event.get("ev") == "queue":
            self.waiting[event["category"]] = event["waiting"]
            return True
        if event.get("ev") == "notice":
            self.notice = event.get("text") or ""
            return True
        return False

    def set_connection(self, connected: bool, text: str) -> None:
        self.connected, self.status_text = connected, text

    # --- read by the screens -------------------------------------------------------------------

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

    def department(self, code: str) -> Department:
        return next(d for d in self.departments() if d.code == code)

    def item(self, code: str) -> dict[str, Any]:
        return next(i for i in self.catalogue["items"] if i["code"] == code)

    def category_name(self, prefix: str) -> str:
        return next((c["name"] for c in self.hall.get("categories", []) if c["prefix"] == prefix),
                    prefix)

    def waiting_text(self, item: dict[str, Any]) -> str:
        count = self.waiting.get(item["category"])
        return "" if count is None else f"当前等候 {count} 人"

    def ticket_block(self) -> str | None:
        """Why a ticket cannot be taken now, or None when it can."""
        if not self.connected:
            return "暂时无法取号：与服务器的连接已断开，正在重新连接。办事指南仍可查看。"
        return None

    def windows_for(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        return guide.serving_windows(item, self.hall)


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
