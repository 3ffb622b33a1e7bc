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
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from kivy.app import App
from kivy.clock import Clock
from kivy.graphics import Color, Rectangle
from kivy.graphics.texture import Texture
from kivy.uix.stencilview import StencilView
from kivy.uix.widget import Widget

from display_board.led_text import AMBER, GREEN, RED, dots, led_image
from display_board.model import BoardModel, Call, pages
from hall.client import HallClient
from hall.kivy_runtime import release_textures_each_frame

log = logging.getLogger("display_board")
HIGHLIGHT_SECONDS = 6.0       # a new call blinks this long, then the next queued one comes
PAGE_SECONDS = 8.0            # one page of windows this long
SCROLL_DOTS_PER_SECOND = 24   # the notice's speed, in LED columns
TEXTURES = 600                # textures kept for reuse (pages come round again)

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
    columns = dots(text, rows).width
    return max(2, min(largest, int(width // max(1, columns))))


class Board(Widget):
    """The whole board, drawn on one canvas: regions are laid out from the window's size."""

    def __init__(self, model: BoardModel, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self.call: Call | None = None
        self.blink_until = 0.0
        self.blink_on = True
        self.page = 0
        self.notice_x = 0.0
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

    def redraw(self, *_args) -> None:
        w = self.width
        m, hall = self.model, self.model.hall
        self.canvas.before.clear()
        with self.canvas.before:
            Color(0.02, 0.02, 0.02, 1)
            Rectangle(pos=self.pos, size=self.size)
            Color(1, 1, 1, 1)
            top = self.top - 12
            # header: the hall's name and the time (green); 连接中断 when cut off (amber)
            self._text(hall.get("name", ""), GREEN, 4, self.x + 16, top)
            clock = self._now()
            self._text(clock, GREEN, 4, self.right - 16 - led_texture(clock, GREEN, 4).width, top)
            if not m.connected:
                self._text("连接中断", AMBER, 2, self.right - 16 - led_texture("连接中断", AMBER, 2).width,
                           top - 70)
            top -= 64 + 24
            # the current call (red, large), blinking while new
            call = self.call or (m.recent[0] if m.recent else None)
            text = call.text if call else "欢迎光临"
            pitch = fitting_pitch(text, w - 32, 9 if not self.portrait else 7)
            if self.blink_on or self.call is None:
                x = self.center_x - led_texture(text, RED, pitch).width / 2
                self._text(text, RED, pitch, x, top)
            top -= 16 * pitch + 28
            notice_height = 16 * 3 + 24
            bottom = self.y + notice_height
            rows = m.window_rows()
            if self.portrait:   # the grid as tall as its rows need, the lists below it
                needed = 16 * 2 + 12 + len(rows) * (16 * 3 + 6) + 16 * 2 + 12
                grid_bottom = max(bottom + (top - bottom) * 0.35, top - needed)
                self._grid(rows, self.x + 16, top, w - 24, grid_bottom)
                self._side(self.x + 16, grid_bottom - 8, bottom)
            else:
                self._grid(rows, self.x + 16, top, w * 0.64 - 24, bottom)
                self._side(self.x + w * 0.64 + 8, top, bottom)
        self.notice.pos = (self.x, self.y + 8)
        self.notice.size = (w, notice_height - 16)
        self.notice.show(m.notice or f"欢迎来到{hall.get('name', '本中心')}，请取号后留意叫号")

    def _grid(self, window_rows: list[dict[str, Any]], x: float, top: float, width: float,
              bottom: float) -> None:
        pitch, gap = 3, 6
        row_height = 16 * pitch + gap
        header = [("窗口", 0.0), ("部门", 0.16), ("工作人员", 0.46), ("状态", 0.72), ("当前", 0.87)]
        for label, at in header:
            self._text(label, AMBER, 2, x + at * width, top)
        top -= 16 * 2 + gap * 2
        per_page = max(1, int((top - bottom) // row_height))
        all_pages = pages(window_rows, per_page)
        rows = all_pages[self.page % len(all_pages)]
        for row in rows:
            colour = GREEN if row["status"] == "open" else RED
            cells = [(f"{row['window']}号", AMBER, 0.0),
                     (_fit(row["department"], 6), GREEN, 0.16),
                     (_fit(row["clerk"], 6), GREEN, 0.46),
                     (row["status_text"], colour, 0.72),
                     (row["current"], RED, 0.87)]
            for text, cell_colour, at in cells:
                self._text(text, cell_colour, pitch, x + at * width, top)
            top -= row_height
        if len(all_pages) > 1:
            self._text(f"第{self.page % len(all_pages) + 1}/{len(all_pages)}页", AMBER, 2,
                       x + width - 140, bottom + 16 * 2 + 4)

    def _side(self, x: float, top: float, bottom: float) -> None:
        self._text("最近叫号", AMBER, 2, x, top)
        top -= 16 * 2 + 10
        for call in self.model.recent[:self.model.recent_limit]:
            self._text(f"{call.number}→{call.window}号窗口", RED, 3, x, top)
            top -= 16 * 3 + 6
        top -= 14
        self._text("等候人数", AMBER, 2, x, top)
        top -= 16 * 2 + 10
        queues = [(name, n) for name, n in self.model.queue_rows()]
        per_page = max(1, int((top - bottom) // (16 * 3 + 6)))
        shown = pages(queues, per_page)
        for name, waiting in shown[self.page % len(shown)]:
            self._text(f"{_fit(name, 5)} {waiting}人", GREEN, 3, x, top)
            top -= 16 * 3 + 6

    def _now(self) -> str:
        zone = self.model.hall.get("timezone")
        return datetime.now(ZoneInfo(zone) if zone else None).strftime("%m月%d日 %H:%M")


def _fit(text: str, characters: int) -> str:
    return text if len(text) <= characters else text[:characters - 1] + "…"


class ScrollingLed(StencilView):
    """The notice line, scrolling right to left, clipped to its region."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.text = None
        self.offset = 0.0
        self.scrolling = False
        self._laid_out_for = -1.0
        with self.canvas:
            Color(1, 1, 1, 1)
            self._first = Rectangle()
            self._second = Rectangle()

    def show(self, text: str) -> None:
        """A text that fits stands still in the middle (an idle board then draws nothing);
        a longer one scrolls."""
        if text != self.text or self.width != self._laid_out_for:
            self.text, self.offset, self._laid_out_for = text, 0.0, self.width
            still = led_texture(text, AMBER, 3)
            self.scrolling = still.width > self.width
            texture = led_texture(text + "　　　　", AMBER, 3) if self.scrolling else still
            self._first.texture = self._second.texture = texture
            self._first.size = texture.size
            self._second.size = texture.size if self.scrolling else (0, 0)
        self.place()

    def step(self, dt: float) -> None:
        if self.text is None or not self.scrolling:
            return
        width = self._first.size[0]
        self.offset = (self.offset + SCROLL_DOTS_PER_SECOND * 3 * dt) % max(1, width)
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
                 **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self.announce = announce
        self.board: Board | None = None
        self._call_timer = None

    def build(self):
        self.title = "叫号显示屏"
        release_textures_each_frame()
        self.board = Board(self.model)
        self._timers = [Clock.schedule_interval(self.board.notice.step, 1 / 30),
                        Clock.schedule_interval(self._blink, 0.5),
                        Clock.schedule_interval(self._next_page, PAGE_SECONDS),
                        Clock.schedule_interval(self.board.redraw, 30)]   # the clock's minute
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
        if self.board.call is None:
            self._show_next_call()
        self.board.redraw()

    def _show_next_call(self) -> None:
        call = self.model.next_call()
        self.board.call = call
        if call is None:
            return
        self.board.blink_until = Clock.get_time() + HIGHLIGHT_SECONDS
        self.board.blink_on = True
        if self.announce is not None:
            self.announce(call)
        self._call_timer = Clock.schedule_once(self._call_done, HIGHLIGHT_SECONDS)

    def _call_done(self, _dt) -> None:
        if self._call_timer is not None:
            self._call_timer.cancel()        # when ended early, the old timer must not end the next
            self._call_timer = None
        self.board.call = None
        self.board.blink_on = True
        self._show_next_call()
        self.board.redraw()

    def _blink(self, _dt) -> None:
        if self.board.call is not None and Clock.get_time() < self.board.blink_until:
            self.board.blink_on = not self.board.blink_on
            self.board.redraw()

    def _next_page(self, _dt) -> None:
        self.board.page += 1
        self.board.redraw()


class BoardShell:
    """The board's connection: the client feeds the model and tells the app what changed."""

    def __init__(self, urls: list[str], token: str, model: BoardModel,
                 announce: Callable[[Call], None] | None = None, strips: Any = None):
        """`strips` is an optional `display_board.led.StripDriver` for the windows' LED strips,
        fed from the same snapshot and events."""
        self.model = model
        self.strips = strips
        self.app = BoardApp(model, announce)
        self.client = HallClient(urls, {"role": "display", "token": token},
                                 on_snapshot=self._snapshot, on_event=self._event,
                                 on_status=self._status)
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

    def _status(self, connected: bool, _text: str) -> None:
        if connected != self.model.connected:
            self.model.connected = connected
            self.app.changed()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(self.client.run())]
        if self.strips is not None:
            tasks.append(loop.create_task(self.strips.run()))
        try:
            await self.app.async_run(async_lib="asyncio")
        finally:
            await self.client.stop()
            if self.strips is not None:
                self.strips.stop()
            for task in tasks:
                task.cancel()

