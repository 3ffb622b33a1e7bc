"""The hall board (kivy): an LED-style screen of calls, windows, queues and the notice.

Every text is drawn by `led_text` as lit dots on black. The current call is large and red and
blinks for `HIGHLIGHT_SECONDS` when it comes; calls that arrive together wait their turn (none is
lost) and a recall comes round again. The window grid pages when there are more windows than
rows (the county hall has 142); queues page with it. The notice scrolls along the bottom. While
the server is away, a small 连接中断 shows in the corner and the last known state stays up.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from kivy.app import App
from kivy.clock import Clock
from kivy.graphics import Color, Rectangle
from kivy.graphics.texture import Texture
from kivy.uix.stencilview import StencilView
from kivy.uix.widget import Widget

from display_board.layout import MARGIN, BoardSettings, Box, Plan, row_gap
from display_board.layout import plan as layout_plan
from display_board.led_text import AMBER, GREEN, RED, dots_wide, led_image
from display_board.legibility import ROW_DOTS
from display_board.model import BoardModel, Call, display_client, pages
from display_board.voice_report import report_voice
from hall.kivy_runtime import release_textures_each_frame
from hall.vocabulary import BOOKED_MARK

if TYPE_CHECKING:
    from hall.voice.playback import Backlog

log = logging.getLogger("display_board")
HIGHLIGHT_SECONDS = 6.0       # a new call blinks this long, then the next queued one comes
PAGE_SECONDS = 8.0            # one page of windows this long
SCROLL_DOTS_PER_SECOND = 24   # the notice's speed, in LED columns
TEXTURES = 600                # textures kept for reuse (pages come round again)
REFUSED_TOKEN = "设备令牌无效"   # shown large when the server refuses the board's token

_textures: OrderedDict[tuple, Texture] = OrderedDict()


def led_texture(text: str, colour: tuple[int, int, int], pitch: int, rows: int = 16) -> Texture:
    key = (text, colour, pitch, rows)
    texture = _textures.get(key)
    if texture is None:
        image = led_image(text, colour, pitch, rows)
        texture = Texture.create(size=image.size, colorfmt="rgba")
        texture.blit_buffer(image.tobytes(), colorfmt="rgba", bufferfmt="ubyte")
        texture.flip_vertical()
        _textures[key] = texture
        while len(_textures) > TEXTURES:
            _textures.popitem(last=False)
    else:
        _textures.move_to_end(key)
    return texture


@lru_cache(maxsize=64)
def fitting_pitch(text: str, width: float, largest: int, rows: int = 16) -> int:
    """The biggest dot pitch (≤ `largest`) at which `text` fits `width` pixels. Cached: every
    redraw asks it of the current call, which changes far less often than the board redraws."""
    columns = dots_wide(text, rows)
    return max(2, min(largest, int(width // max(1, columns))))


class Board(Widget):
    """The whole board, drawn on one canvas: regions come from `layout.plan` for the window's
    size and the board's settings, so the rows are as big as the viewing distance needs."""

    def __init__(self, model: BoardModel, settings: BoardSettings | None = None, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self.settings = settings or BoardSettings()
        self.call: Call | None = None
        self.blink_until = 0.0
        self.blink_on = True
        self.page = 0
        self.plan: Plan | None = None
        self.drawn_clock = ""      # the clock's text last drawn
        self.bind(size=lambda *_: self.redraw(), pos=lambda *_: self.redraw())
        self.notice = ScrollingLed()
        self.add_widget(self.notice)

    @property
    def portrait(self) -> bool:
        return self.height > self.width

    def _text(self, text: str, colour, pitch: int, x: float, top: float) -> float:
        """Draw one LED text with its top-left at (x, top); return its width."""
        if not text:
            return 0.0
        texture = led_texture(text, colour, pitch)
        Rectangle(texture=texture, pos=(x, top - texture.height), size=texture.size)
        return texture.width

    def _right(self, text: str, colour, pitch: int, right: float, top: float) -> None:
        self._text(text, colour, pitch, right - dots_wide(text) * pitch, top)

    def redraw(self, *_args) -> None:
        m, hall = self.model, self.model.hall
        plan = self.plan = layout_plan(int(self.width), int(self.height), self.settings)
        p = plan.pitch
        self.canvas.before.clear()
        with self.canvas.before:
            Color(0.02, 0.02, 0.02, 1)
            Rectangle(pos=self.pos, size=self.size)
            Color(1, 1, 1, 1)
            self._current_call(plan)
            page, rows_end = "", self.y + plan.grid.top
            if m.hall:             # nothing to head before the first snapshot
                page, rows_end = self._grid(plan, m.window_rows())
                self._side(plan, rows_end)
            # header: the hall's name and the time (green); between them, small and amber,
            # the page number when the grid's headings had no room for it and 连接中断 while
            # the server is away (out of the current call's way)
            clock = self.drawn_clock = self.clock_text()
            room = self.width - dots_wide(clock) * p - 3 * MARGIN
            top = self.y + plan.header_top
            for label in (page, "" if m.connected else "连接中断"):
                if label:
                    room -= dots_wide(label) * plan.label_pitch + 2 * MARGIN
                    self._text(label, AMBER, plan.label_pitch, self.x + 2 * MARGIN + room,
                               top - ROW_DOTS * (p - plan.label_pitch) / 2)
            self._text(fit_dots(hall.get("name", ""), room / p), GREEN, p, self.x + MARGIN, top)
            self._right(clock, GREEN, p, self.right - MARGIN, top)
        self.notice.pos = (self.x, self.y + 8)
        self.notice.size = (self.width, plan.notice_height - 16)
        self.notice.pitch = p
        self.notice.show(m.ticker())

    def _current_call(self, plan: Plan) -> None:
        """The current call, large and red, blinking while new; 设备令牌无效 when the server
        turned the board away (its reason runs along the bottom)."""
        m = self.model
        call = self.call or (m.recent[0] if m.recent else None)
        if m.refused:
            lines: tuple[str, ...] = (REFUSED_TOKEN,)
        elif call is None:
            lines = ("欢迎光临",)
        else:
            lines = call.lines if plan.call_lines == 2 else (call.text,)
        if not (self.blink_on or self.call is None or m.refused):
            return
        # a booked ticket's 预约: amber, at the rows' pitch, after the number's line; the line
        # and its tag are centred together
        tag = BOOKED_MARK if call is not None and call.booked and not m.refused else ""
        tag_width = dots_wide(tag) * plan.pitch + MARGIN if tag else 0
        width = self.width - 2 * MARGIN
        pitch = min(fitting_pitch(line, width - tag_width, plan.call_pitch) for line in lines)
        band = ROW_DOTS * plan.call_pitch
        top = self.y + plan.call_top - (plan.call_lines - len(lines)) * (band + 8) / 2
        for line in lines:
            text_width = dots_wide(line) * pitch
            left = self.center_x - (text_width + tag_width) / 2
            self._text(line, RED, pitch, left, top - (band - ROW_DOTS * pitch) / 2)
            if tag:
                self._text(tag, AMBER, plan.pitch, left + text_width + MARGIN,
                           top - (band - ROW_DOTS * plan.pitch) / 2)
                tag, tag_width = "", 0
            top -= band + 8

    def _grid(self, plan: Plan, window_rows: list[dict[str, Any]]) -> tuple[str, float]:
        """The windows: number, business, the ticket served (or the window's state in words),
        and the clerk when there is room (with the post, else the name alone). Columns are as
        wide as their widest text on any page, so nothing moves or is cut as pages turn; the
        clerk's column is left out when it does not fit, and a business name is shortened
        only if even the rest does not. Returns the page number (第1/21页) if the headings
        left no room for it, for the header to show, and where the last row ends."""
        p, lp = plan.pitch, plan.label_pitch
        box = Box(self.x + plan.grid.x, self.y + plan.grid.top, plan.grid.width,
                  self.y + plan.grid.bottom)
        def cells(clerk: str) -> list[tuple[str, ...]]:
            return [(str(row["window"]), row["business"],
                     row["current"] if row["status"] == "open" and row["current"]
                     else row["status_text"], row[clerk]) for row in window_rows]

        room = int(box.width // p)
        texts, columns = cells("clerk"), grid_columns(cells("clerk"), room)
        if len(columns) < 4:          # no room for 张敏 A岗: perhaps for 张敏
            texts, columns = cells("clerk_name"), grid_columns(cells("clerk_name"), room)
        headings = ("窗口", "业务", "当前", "工作人员")
        end = 0.0
        for (at, _), heading in zip(columns, headings, strict=False):
            end = box.x + at * p + self._text(heading, AMBER, lp, box.x + at * p, box.top)
        all_pages = pages(list(zip(window_rows, texts, strict=True)), plan.rows)
        page = ""
        if len(all_pages) > 1:
            page = f"第{self.page % len(all_pages) + 1}/{len(all_pages)}页"
            if end + 2 * MARGIN + dots_wide(page) * lp <= box.x + box.width:
                self._right(page, AMBER, lp, box.x + box.width, box.top)
                page = ""
        top = box.top - plan.label_height
        for row, texts in all_pages[self.page % len(all_pages)]:
            serving = row["status"] == "open" and row["current"]
            colours = (AMBER, GREEN, RED if serving or row["status"] != "open" else GREEN, GREEN)
            for (at, width), text, colour in zip(columns, texts, colours, strict=False):
                self._text(fit_dots(text, width), colour, p, box.x + at * p, top)
            top -= plan.row_height
        return page, top + row_gap(p)

    def _side(self, plan: Plan, rows_end: float) -> None:
        """The last calls and the waiting counts: beside the grid in landscape, in two columns
        under it in portrait (right under the rows when they leave room: a town's few
        windows). Waiting counts page with the windows."""
        p, lp = plan.pitch, plan.label_pitch
        top = self.y + plan.side.top
        if plan.portrait:
            top = max(top, rows_end - 24)
        side = Box(self.x + plan.side.x, top, plan.side.width, self.y + plan.side.bottom)
        if plan.portrait:
            half = side.width / 2
            recent_box = Box(side.x, side.top, half - MARGIN, side.bottom)
            queue_box = Box(side.x + half, side.top, half, side.bottom)
        else:
            middle = side.top - side.height / 2
            recent_box = Box(side.x, side.top, side.width, middle)
            queue_box = Box(side.x, middle, side.width, side.bottom)
        lines = max(1, int((recent_box.height - plan.label_height) // plan.row_height))
        self._text("最近叫号", AMBER, lp, recent_box.x, recent_box.top)
        top = recent_box.top - plan.label_height
        mp = plan.mark_pitch
        tag_dots = (dots_wide(BOOKED_MARK) * mp + MARGIN) / p    # a booked call's 预约, after it
        for call in self.model.recent[:min(lines, self.model.recent_limit)]:
            room = recent_box.width / p - (tag_dots if call.booked else 0)
            text = fit_dots(recent_call_text(call, room), room)
            width = self._text(text, RED, p, recent_box.x, top)
            if call.booked:
                self._text(BOOKED_MARK, AMBER, mp, recent_box.x + width + MARGIN,
                           top - ROW_DOTS * (p - mp) / 2)
            top -= plan.row_height
        self._text("等候人数", AMBER, lp, queue_box.x, queue_box.top)
        top = queue_box.top - plan.label_height
        per_page = max(1, int((queue_box.height - plan.label_height) // plan.row_height))
        shown = pages(self.model.queue_rows(), per_page)
        for name, waiting in shown[self.page % len(shown)]:
            count = f" {waiting}人"
            room = queue_box.width / p - dots_wide(count)
            self._text(fit_dots(name, room) + count, GREEN, p, queue_box.x, top)
            top -= plan.row_height

    def clock_text(self) -> str:
        """The date and time; the time alone in portrait, where the hall's name needs the room."""
        zone = self.model.hall.get("timezone")
        return self.model.hall_clock().astimezone(ZoneInfo(zone) if zone else None).strftime(
            "%H:%M" if self.portrait else "%m月%d日 %H:%M")


COLUMN_GAP = 10     # dots between the grid's columns


def grid_columns(cells: list[tuple[str, ...]], room: int) -> list[tuple[int, int]]:
    """Each column's start and width in dots, for `room` dots: window, business and current
    always; the clerk only if it fits. Widths are the widest text of the column (headings
    included); if the first three do not fit, the business column takes what is left."""
    headings = ("窗口", "业务", "当前", "工作人员")
    widths = [max([dots_wide(h)] + [dots_wide(c[i]) for c in cells])
              for i, h in enumerate(headings)]
    essential = widths[0] + widths[2] + 2 * COLUMN_GAP
    widths[1] = min(widths[1], max(0, room - essential))
    if sum(widths) + 3 * COLUMN_GAP > room:
        widths = widths[:3]
    out, at = [], 0
    for width in widths:
        out.append((at, width))
        at += width + COLUMN_GAP
    return out


def recent_call_text(call: Call, room: float) -> str:
    """A last call as the side list shows it, "A001 → 12号"; closer set when that and a booked
    call's 预约 tag do not both fit `room` dots (a county's 142 windows)."""
    texts = (f"{call.number} → {call.window}号", f"{call.number}→{call.window}号",
             f"{call.number}→{call.window}")
    return next((t for t in texts if dots_wide(t) <= room), texts[-1])


def fit_dots(text: str, room: float) -> str:
    """`text`, or as much of it as fits `room` dots with an ellipsis: nothing is cut by the
    screen's edge or the next column."""
    if dots_wide(text) <= room:
        return text
    for end in range(len(text) - 1, 0, -1):
        shorter = text[:end] + "…"
        if dots_wide(shorter) <= room:
            return shorter
    return ""


class ScrollingLed(StencilView):
    """The notice line, scrolling right to left, clipped to its region."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.text = None
        self.offset = 0.0
        self.scrolling = False
        self.pitch = 3
        self._laid_out_for: tuple[float, int] | None = None
        with self.canvas:
            Color(1, 1, 1, 1)
            self._first = Rectangle()
            self._second = Rectangle()

    def show(self, text: str) -> None:
        """A text that fits stands still in the middle (an idle board then draws nothing);
        a longer one scrolls."""
        laid_out = (self.width, self.pitch)
        if text != self.text or laid_out != self._laid_out_for:
            self.text, self.offset, self._laid_out_for = text, 0.0, laid_out
            still = led_texture(text, AMBER, self.pitch)
            self.scrolling = still.width > self.width
            texture = (led_texture(text + "　　　　", AMBER, self.pitch) if self.scrolling
                       else still)
            self._first.texture = self._second.texture = texture
            self._first.size = texture.size
            self._second.size = texture.size if self.scrolling else (0, 0)
        self.place()

    def step(self, dt: float) -> None:
        if self.text is None or not self.scrolling:
            return
        width = self._first.size[0]
        self.offset = (self.offset + SCROLL_DOTS_PER_SECOND * self.pitch * dt) % max(1, width)
        self.place()

    def place(self) -> None:
        width, height = self._first.size
        y = self.y + (self.height - height) / 2
        if not self.scrolling:
            self._first.pos = (self.center_x - width / 2, y)
            return
        self._first.pos = (self.x - self.offset, y)
        self._second.pos = (self.x - self.offset + width, y)


class BoardApp(App):
    def __init__(self, model: BoardModel, announce: Callable[[Call], None] | None = None,
                 settings: BoardSettings | None = None, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self.announce = announce
        self.settings = settings
        self.board: Board | None = None
        self._call_timer = None

    def build(self):
        self.title = "叫号显示屏"
        release_textures_each_frame()
        self.board = Board(self.model, self.settings)
        self._timers = [Clock.schedule_interval(self.board.notice.step, 1 / 30),
                        Clock.schedule_interval(self._blink, 0.5),
                        Clock.schedule_interval(self._next_page, PAGE_SECONDS),
                        Clock.schedule_interval(self._clock_tick, 1)]
        return self.board

    def on_stop(self):
        for timer in self._timers:
            timer.cancel()
        if self._call_timer is not None:
            self._call_timer.cancel()

    # --- calls --------------------------------------------------------------------------------

    def changed(self) -> None:
        """Something shown changed (an event, a snapshot): show the next call if idle, redraw."""
        if self.board is None:
            return
        for call in self.model.calls_to_speak():   # at once: the voice keeps its own queue
            if self.announce is not None:
                self.announce(call)
        if self.board.call is None:
            self._show_next_call()
        self.board.redraw()

    def _show_next_call(self) -> None:
        assert self.board is not None        # called once built: from changed and _call_done
        call = self.model.next_call()
        self.board.call = call
        if call is None:
            return
        self.board.blink_until = Clock.get_time() + HIGHLIGHT_SECONDS
        self.board.blink_on = True
        self._call_timer = Clock.schedule_once(self._call_done, HIGHLIGHT_SECONDS)

    def _call_done(self, _dt) -> None:
        assert self.board is not None        # scheduled by _show_next_call, once built
        if self._call_timer is not None:
            self._call_timer.cancel()        # when ended early, the old timer must not end the next
            self._call_timer = None
        self.board.call = None
        self.board.blink_on = True
        self._show_next_call()
        self.board.redraw()

    def _blink(self, _dt) -> None:
        assert self.board is not None        # scheduled by build, after the board is made
        if self.board.call is not None and Clock.get_time() < self.board.blink_until:
            self.board.blink_on = not self.board.blink_on
            self.board.redraw()

    def _clock_tick(self, _dt) -> None:
        """Redraw when the clock's text changes: each minute of the hall's clock, which a
        simulated one (`serve --speed N`) passes N times as fast."""
        board = self.board
        if board is not None and board.drawn_clock != board.clock_text():
            board.redraw()

    def _next_page(self, _dt) -> None:
        assert self.board is not None        # scheduled by build, after the board is made
        self.board.page += 1
        self.board.redraw()


class BoardShell:
    """The board's connection: the client feeds the model and tells the app what changed."""

    def __init__(self, urls: list[str], token: str, model: BoardModel,
                 announce: Callable[[Call], None] | None = None, strips: Any = None,
                 settings: BoardSettings | None = None, backlog: Callable[[], Backlog] | None = None):
        """`strips` is an optional `display_board.led.StripDriver` for the windows' LED strips,
        fed from the same snapshot and events; `settings` size the board (rows, distance);
        `backlog`, the voice's (`CallAnnouncer.backlog`), is reported to the server."""
        self.model = model
        self.strips = strips
        self.backlog = backlog
        self.app = BoardApp(model, announce, settings)
        self.client = display_client(urls, token, self)
        self.snapshots = 0

    def _snapshot(self, reply: dict[str, Any]) -> None:
        self.model.apply_snapshot(reply)
        if self.strips is not None:
            self.strips.update(reply.get("snapshot", {}).get("live", {}).get("windows", []))
        self.snapshots += 1
        self.app.changed()

    def _event(self, event: dict[str, Any]) -> None:
        if self.strips is not None:
            if event.get("ev") == "ticket_called":
                self.strips.called(event)       # before the window event of the same seq
            elif event.get("ev") == "window":
                self.strips.show(event)
        if self.model.apply_event(event):
            self.app.changed()

    def _status(self, connected: bool, text: str) -> None:
        if self.model.follow_status(connected, text):
            self.app.changed()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(self.client.run())]
        if self.strips is not None:
            tasks.append(loop.create_task(self.strips.run()))
        if self.backlog is not None:
            tasks.append(loop.create_task(report_voice(self.client, self.backlog)))
        try:
            await self.app.async_run(async_lib="asyncio")
        finally:
            await self.client.stop()
            if self.strips is not None:
                self.strips.stop()
            for task in tasks:
                task.cancel()

