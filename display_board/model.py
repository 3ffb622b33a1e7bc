"""What the hall board shows, without kivy: windows, queues, calls, the notice, and pages.

Fed by the server's snapshot and events (the `display` role), the model keeps the state a board
draws and a queue of calls still to be highlighted. Calls that arrive together are queued, none
is lost, and each is shown for `highlight_seconds` in turn; a recall is queued again. A board may
show only some windows and categories (one board per zone or floor); with more windows than fit,
the grid pages.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from hall.client import HallClient, refusal
from hall.hall_clock import HallClock
from hall.vocabulary import WINDOW_STATUS_NAMES
from hall.window_names import short_window_name


@dataclass(frozen=True)
class Call:
    number: str
    window: int
    window_name: str
    recall: int = 0
    booked: bool = False     # a checked-in booking's ticket: the board tags it 预约

    @property
    def text(self) -> str:
        return f"请 {self.number} 号 到 {self.window} 号窗口"

    @property
    def lines(self) -> tuple[str, str]:
        """The call on two lines, for a narrow (portrait) board."""
        return f"请 {self.number} 号", f"到 {self.window} 号窗口"


@dataclass
class BoardFilter:
    """Which windows and categories this board shows and announces; empty means all.

    `zones` names zones or floors of the hall file (a window's `zone` or `floor`: A区, 一楼):
    their windows are known from the server's hall view (`follow()`), none before it."""

    windows: frozenset[int] = frozenset()
    categories: frozenset[str] = frozenset()
    zones: frozenset[str] = frozenset()
    zone_windows: frozenset[int] = frozenset()

    def window(self, number: int) -> bool:
        return ((not self.windows or number in self.windows)
                and (not self.zones or number in self.zone_windows))

    def follow(self, hall: dict[str, Any]) -> str:
        """Take the zones' windows from the hall view; a sentence naming unknown zones, else ""."""
        windows = hall.get("windows", [])
        self.zone_windows = frozenset(w["window"] for w in windows
                                      if self.zones & {w.get("zone"), w.get("floor")})
        known = {w.get(key) for w in windows for key in ("zone", "floor")} - {None, ""}
        unknown = sorted(self.zones - known)
        if not unknown:
            return ""
        return (f"大厅配置中没有分区 {'、'.join(unknown)}，本屏不显示也不播报这些分区"
                f"（可用：{'、'.join(sorted(known)) or '无'}）")

    def category(self, prefix: str) -> bool:
        return not self.categories or prefix in self.categories


@dataclass
class BoardModel:
    board_filter: BoardFilter = field(default_factory=BoardFilter)
    recent_limit: int = 6
    hall: dict[str, Any] = field(default_factory=dict)
    windows: dict[int, dict[str, Any]] = field(default_factory=dict)
    queues: dict[str, dict[str, Any]] = field(default_factory=dict)
    recent: list[Call] = field(default_factory=list)      # newest first
    pending: deque[Call] = field(default_factory=deque)   # calls still to be highlighted
    unspoken: deque[Call] = field(default_factory=deque)  # calls not yet given to the voice
    notice: str = ""
    connected: bool = False
    refused: str | None = None   # the server's reason when it turned this board away
    zone_problem: str = ""       # the board's --zone names a zone the hall file has not
    take_code: str = ""          # today's hall code of the mobile 取号 page, as the server said
    hall_clock: HallClock = field(default_factory=HallClock)   # the clock's time, from each hello

    # --- fed by the shell ------------------------------------------------------------------------

    def apply_snapshot(self, reply: dict[str, Any]) -> None:
        self.hall_clock.follow(reply)
        snapshot = reply.get("snapshot", {})
        self.hall = snapshot.get("hall", {})
        self.zone_problem = self.board_filter.follow(self.hall)
        live = snapshot.get("live", {})
        self.windows = {w["window"]: w for w in live.get("windows", [])}
        self.queues = {q["category"]: q for q in live.get("queues", [])}
        self.notice = live.get("notice") or ""
        self.take_code = reply.get("take_code") or ""
        names = {w["window"]: w["name"] for w in self.hall.get("windows", [])}
        self.recent = [Call(c["number"], c["window"], names.get(c["window"], ""),
                            booked=c.get("booked", False))
                       for c in live.get("calls", []) if self.board_filter.window(c["window"])
                       ][:self.recent_limit]
        self.pending.clear()          # the past is not announced again after a reconnect
        self.unspoken.clear()

    def apply_event(self, event: dict[str, Any]) -> bool:
        """Take in one event; say whether anything shown changed."""
        kind = event.get("ev")
        if kind == "ticket_called":
            if not self.board_filter.window(event["window"]):
                return False
            call = Call(event["number"], event["window"], event.get("window_name", ""),
                        event.get("recall", 0), event.get("booked", False))
            self.pending.append(call)
            self.unspoken.append(call)
            self.recent = [call] + [c for c in self.recent if c.number != call.number]
            del self.recent[self.recent_limit:]
            return True
        if kind == "window":
            view = {k: v for k, v in event.items() if k not in ("ev", "seq", "at")}
            self.windows[view["window"]] = view
            return self.board_filter.window(view["window"])
        if kind == "queue":
            self.queues[event["category"]] = {k: event[k] for k in ("category", "waiting", "next")}
            return self.board_filter.category(event["category"])
        if kind == "notice":
            self.notice = event.get("text") or ""
            return True
        return False

    def follow_status(self, connected: bool, text: str) -> bool:
        """Take in the connection's status (a lost connection, or the server's refusal of the
        token, told apart by `hall.client.refusal`); say whether it changed."""
        refused = None if connected else refusal(text)
        if (connected, refused) == (self.connected, self.refused):
            return False
        self.connected, self.refused = connected, refused
        return True

    def next_call(self) -> Call | None:
        return self.pending.popleft() if self.pending else None

    def calls_to_speak(self) -> list[Call]:
        """The calls come since last asked, in order, for the voice: they are announced as they
        arrive (the voice's queue keeps each within its bound, hall.voice.call_queue), not when
        the screen's turn comes to highlight them."""
        calls = list(self.unspoken)
        self.unspoken.clear()
        return calls

    # --- read by the screen ------------------------------------------------------------------------

    def window_rows(self) -> list[dict[str, Any]]:
        """One row per shown window, in number order: what the grid draws."""
        static = {w["window"]: w for w in self.hall.get("windows", [])}
        rows = []
        for number in sorted(self.windows):
            if not self.board_filter.window(number):
                continue
            live, fixed = self.windows[number], static.get(number, {})
            clerk = live.get("clerk")
            rows.append({
                "window": number,
                "business": short_window_name(fixed.get("name", live.get("name", "")),
                                              fixed.get("short_name", "")),
                "clerk": f"{clerk['name']} {clerk['post']}岗" if clerk else "",
                "clerk_name": clerk["name"] if clerk else "",
                "status": live.get("status", "closed"),
                "status_text": WINDOW_STATUS_NAMES.get(live.get("status", "closed"), ""),
                "current": live.get("current") or "",
            })
        return rows

    def ticker(self) -> str:
        """The line along the bottom: why the server turned the board away, else that its
        `--zone` is not in the hall file, else today's hall code of the mobile 取号 page (`/take`;
        the server sends it with each hello, a new one each hall day), short and first so that
        it is soon read, then the notice (or a welcome)."""
        if self.refused:
            return self.refused
        if self.zone_problem:
            return self.zone_problem
        line = self.notice or f"欢迎来到{self.hall.get('name', '本中心')}，请取号后留意叫号"
        if self.take_code:
            line = f"今日取号码 {self.take_code}（手机扫描大厅入口二维码取号）　　{line}"
        return line

    def queue_rows(self) -> list[tuple[str, int]]:
        names = {c["prefix"]: c["name"] for c in self.hall.get("categories", [])}
        return [(names.get(prefix, prefix), q["waiting"]) for prefix, q in self.queues.items()
                if self.board_filter.category(prefix)]


def display_client(urls: list[str], token: str, shell: Any) -> HallClient:
    """The server connection of a board or a voice-only device (the `display` role), feeding
    the shell's `_snapshot`, `_event` and `_status`."""
    return HallClient(urls, {"role": "display", "token": token}, on_snapshot=shell._snapshot,
                      on_event=shell._event, on_status=shell._status)


def pages(rows: list, per_page: int) -> list[list]:
    """The grid's pages: all rows, `per_page` at a time (at least one page, maybe empty)."""
    per_page = max(1, per_page)
    return [rows[i:i + per_page] for i in range(0, len(rows), per_page)] or [[]]


def parse_windows(text: str) -> frozenset[int]:
    """`1-8,12` → {1…8, 12}; raises ValueError with a Chinese message on nonsense."""
    out: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, _, last = part.partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise ValueError(f"窗口范围写法有误：{part}（应如 1-8,12）") from None
        if low < 1 or high < low:
            raise ValueError(f"窗口范围写法有误：{part}（应如 1-8,12）")
        out.update(range(low, high + 1))
    return frozenset(out)
