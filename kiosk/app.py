"""The kiosk's screens (kivy) and the asyncio shell that feeds them from the hall server.

Home shows a big tile per department; a tile leads to its service items, each with 办事指南
(the guide page) and 取号 (take a number): two taps from home to a ticket, three with a
priority chosen. Every screen has the 长辈模式 switch (bigger text, high contrast, the page read
aloud) and a status line that says, in words, whether tickets can be taken now and why not.
The catalogue is cached on disk, so guides stay browsable while the server is away.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.metrics import dp
from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.scrollview import ScrollView

from hall.client import HallClient, RequestFailed
from hall.guide import guide_path
from hall.hall_clock import HallClock
from hall.kivy_runtime import release_textures_each_frame
from hall.look import ELDER, ELDER_SIZES, NORMAL, NORMAL_SIZES
from hall.protocol import BAD_BOOKING_CODE, BOOKING_CODE_DIGITS
from hall.vocabulary import BOOKED_MARK, KIOSK_PRIORITY_NAMES
from hall.widgets import BigButton, BigToggle, Panel, QrImage, Text, qr_texture
from kiosk.guide_pages import Block, GuidePages
from kiosk.model import (
    KioskModel,
    batch_line,
    booked_slot,
    booking_code_in,
    guide_sections,
    is_batch_code,
    spoken_summary,
    ticket_lines,
)
from kiosk.tile_pages import TilePages

log = logging.getLogger("kiosk")
TICKET_SECONDS = 10          # the ticket stays on screen this long
IDLE_SECONDS = 60            # no touch for this long: back home (after a warning)
WARNING_SECONDS = 10         # "您还在浏览吗？" shown this long before going home
LATE_CHECK_IN = "您已超过预约签到时间，已为您取普通号"   # over a late check-in's walk-in ticket


class KioskApp(App):
    query: str                     # the search's typed letters, from show_search on

    def __init__(self, model: KioskModel, *, take_ticket: Callable, print_ticket: Callable | None,
                 print_checklist: Callable | None = None,
                 check_in: Callable | None = None,
                 take_batch: Callable | None = None,
                 speak: Callable[[str], object] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC), **kwargs):
        """`clock` gives seconds on a monotonic clock for the idle timer, injected as on the pad,
        so that tests move time on instead of waiting or editing `last_touch`; `wall_clock` the
        time of day (aware), by which the screens say whether the hall issues tickets now."""
        super().__init__(**kwargs)
        self.model = model
        self.clock = clock
        self.wall_clock = wall_clock
        self._shown: tuple = ()      # the availabilities the screen on show says
        self._take_ticket = take_ticket          # async (category, service, priority) → reply
        self._print_ticket = print_ticket        # async (reply) → None, raises on a fault
        self._print_checklist = print_checklist  # async (item) → None, raises on a fault
        self._check_in = check_in                # async (code) → the check_in reply
        self._take_batch = take_batch            # async (code) → the take_batch reply
        self.batch_said = ""                     # why a 交接单 gave no ticket, on its screen
        self.point_code = ""                     # a village point's code typed instead
        self.code = ""                           # the booking code typed on the keypad
        self.check_in_said = ""                  # why the code did not check in, under it
        self._speak = speak
        self.priority = "normal"
        self.screen = "home"
        self.last_touch = clock()
        self.ticket_since = clock()      # when the ticket on screen was shown
        self.waiting_labels: dict[str, list[Text]] = {}
        self.status_label: Text | None = None
        self.pending: set[asyncio.Task] = set()
        self.failures: list[BaseException] = []     # bugs met in a tap's task (shown, logged)
        self.clock_label: Text | None = None
        self.popular_buttons: dict[str, BigButton] = {}   # 常办事项 on home, by item code
        self.guide_pages: GuidePages | None = None       # the guide page's text, page by page
        self.tile_pages: TilePages | None = None         # home's department tiles, page by page
        self._settled = False

    # --- look ---------------------------------------------------------------------------------

    @property
    def palette(self):
        return ELDER if self.model.elder_mode else NORMAL

    @property
    def sizes(self):
        return ELDER_SIZES if self.model.elder_mode else NORMAL_SIZES

    @property
    def portrait(self) -> bool:
        return Window.height >= Window.width

    def build(self):
        self.title = "取号机"
        release_textures_each_frame()
        self.root_panel = Panel(orientation="vertical")
        Window.bind(on_touch_down=self._touched, size=self._resized)
        self._ticker = Clock.schedule_interval(self._tick, 1)
        self._collect_soon = Clock.create_trigger(self._collect, 0.3)
        self.show_home()
        return self.root_panel

    def on_stop(self):
        Window.unbind(on_touch_down=self._touched, size=self._resized)
        self._ticker.cancel()

    def _resized(self, *_args) -> None:
        self.redraw()

    def _settle(self, _dt) -> None:
        """Once the first home screen is up: what exists now lives as long as the kiosk, so it
        is moved out of the cyclic collector's sight. Its full passes over kivy's many objects
        paused a tap by up to 0.5 s; after this, under 0.2 s (bench/kiosk_figures.py)."""
        self._settled = True
        gc.collect()
        gc.freeze()

    def _collect(self, _dt) -> None:
        """Free the screen just left. Kivy widgets hold reference cycles, so a screen's ~10,000
        objects go only with a full collection; left to itself, Python ran one every few
        tickets over all of them at once and froze a tap for 0.2 s. Done screen by screen,
        a moment after the new screen is drawn, each pass is short and falls between taps."""
        gc.collect()

    def _now(self) -> str:
        """The hall's own time, whatever the kiosk's system clock zone is."""
        zone = self.model.hall.get("timezone")
        return self.wall_clock().astimezone(ZoneInfo(zone) if zone else None).strftime(
            "%m月%d日 %H:%M")

    def _touched(self, *_):
        self.last_touch = self.clock()

    def _tick(self, _dt):
        if self.clock_label is not None:
            self.clock_label.text = self._now()
        self.refresh_status()         # a session begins or ends: the words change by themselves
        idle = self.clock() - self.last_touch
        if self.screen == "home" and idle >= IDLE_SECONDS and self.tile_pages is not None \
                and self.tile_pages.page > 0:
            self.show_home()          # left on a later page: the next citizen starts on the first
            return
        if self.screen == "ticket" and self.clock() - self.ticket_since >= TICKET_SECONDS:
            self.show_home()          # counted from this ticket's own showing, not an earlier one's
            return
        if self.screen in ("home", "ticket"):
            return
        if idle >= IDLE_SECONDS + WARNING_SECONDS:
            self.show_home()
        elif idle >= IDLE_SECONDS and self.screen != "idle_warning":
            self._idle_warning()

    # --- the frame every screen shares -----------------------------------------------------------

    def _frame(self, screen: str, title: str | None = None) -> BoxLayout:
        """Clear the window and lay out header, notice, body and status; return the body."""
        self.screen = screen
        p, s = self.palette, self.sizes
        root = self.root_panel
        root.clear_widgets()
        self._collect_soon()
        root.bg = p.background
        self.waiting_labels = {}
        header = Panel(orientation="horizontal", size_hint_y=None, height=dp(s.target + 24),
                       bg=p.header, padding=dp(12), spacing=dp(12))
        hall_name = self.model.hall.get("name", "便民服务中心")
        header.add_widget(Text(text=title or hall_name, font_size=dp(s.title), color=p.on_header,
                               bold=True, size_hint_y=1))
        self.clock_label = Text(text=self._now(),
                                font_size=dp(s.body), color=p.on_header, halign="right",
                                size_hint=(None, 1), width=dp(s.body * 8))
        header.add_widget(self.clock_label)
        elder = BigButton(p.primary, p.on_primary, size_hint_x=None, width=dp(260),
                          text="退出长辈模式" if self.model.elder_mode else "长辈模式",
                          font_size=dp(s.button))
        elder.bind(on_release=lambda *_: self.toggle_elder())
        header.add_widget(elder)
        root.add_widget(header)
        if self.model.notice:
            notice = Panel(size_hint_y=None, bg=p.surface, padding=dp(12))
            label = Text(text="通知：" + self.model.notice, font_size=dp(s.body), color=p.text)
            notice.add_widget(label)
            label.bind(height=lambda _, h: setattr(notice, "height", h + dp(24)))
            root.add_widget(notice)
        body = BoxLayout(orientation="vertical", padding=dp(s.gap), spacing=dp(s.gap))
        root.add_widget(body)
        self._shown = self.model.availabilities(self.wall_clock())
        if screen == "ticket":
            return body
        hall = self._shown[0]
        status = Panel(size_hint_y=None, bg=p.surface if hall.ok else p.alert, padding=dp(12))
        self.status_label = Text(
            text=("✓ " if hall.ok else "⚠ ") + hall.text,
            font_size=dp(s.body), color=p.text if hall.ok else p.on_alert)
        status.add_widget(self.status_label)
        self.status_label.bind(height=lambda _, h: setattr(status, "height", h + dp(24)))
        root.add_widget(status)
        return body

    def redraw(self) -> None:
        """Show the current screen again (after a change of mode, size or connection)."""
        {"home": lambda: self.show_home(fresh=False), "department": lambda: self.show_department(self._department),
         "guide": lambda: self.show_guide(self._item, keep_place=True), "search": self._redraw_search,
         "complain": self.show_complain, "checkin": lambda: self.show_check_in(fresh=False),
         "batch": lambda: self.show_batch(fresh=False),
         }.get(self.screen, lambda: None)()

    def _redraw_search(self) -> None:
        query = self.query
        self.show_search()
        self.query = query
        self._show_results()

    def toggle_elder(self) -> None:
        self.model.elder_mode = not self.model.elder_mode
        self.redraw()
        if self.model.elder_mode and self.screen == "guide":
            self.speak(spoken_summary(self.model, self.model.item(self._item)))

    def speak(self, text: str) -> None:
        if self._speak is not None:
            self._speak(text)

    def _scroll(self, body: BoxLayout, rows: list) -> GridLayout:
        scroll = ScrollView(do_scroll_x=False, bar_width=dp(12))
        grid = GridLayout(cols=1, size_hint_y=None, spacing=dp(self.sizes.gap))
        grid.bind(minimum_height=grid.setter("height"))
        for row in rows:
            grid.add_widget(row)
        scroll.add_widget(grid)
        body.add_widget(scroll)
        return grid

    # --- home --------------------------------------------------------------------------------------

    def show_home(self, fresh: bool = True) -> None:
        """Home; `fresh`: a new visit (the priority chosen before is forgotten), not a redraw."""
        if fresh:
            self.priority = "normal"
        body = self._frame("home")
        p, s = self.palette, self.sizes
        departments = self.model.departments()
        if not departments:
            body.add_widget(Text(text="正在读取办事指南，请稍候…", font_size=dp(s.title),
                                 color=p.text, halign="center"))
            return
        hall = self._shown[0]
        if not hall.takeable:         # before any tap, in big type: no ticket now, and when
            banner = Panel(size_hint_y=None, bg=p.alert, padding=dp(12))
            # a no-break space: the sign stays with the first words when the line wraps
            said = Text(text=f"⚠\u00a0{hall.text}" + ("" if "办事指南" in hall.text
                                                 else "。办事指南可随时查看。"),
                        font_size=dp(s.title), color=p.on_alert, bold=True)
            banner.add_widget(said)
            said.bind(height=lambda _, h: setattr(banner, "height", h + dp(24)))
            body.add_widget(banner)
        if self.model.elder_mode:
            body.add_widget(self._elder_question())
        examples = self.search_examples[:1]
        search = BigButton(p.primary, p.on_primary, text="搜索事项（按拼音首字母" + "".join(
                               f"，如 {letters} 查{word}" for letters, word in examples) + "）",
                           font_size=dp(s.button), size_hint_y=None, height=dp(s.target))
        search.bind(on_release=lambda *_: self.show_search())
        beside = []                          # beside the search: a row home has anyway
        if self.model.check_in_open:
            check_in = BigButton(p.primary, p.on_primary, text="预约签到", bold=True,
                                 font_size=dp(s.button), size_hint_x=None,
                                 width=dp(s.button * 4 + 48))
            check_in.bind(on_release=lambda *_: self.show_check_in())
            beside.append(check_in)
        if self.model.points and self.model.connected:   # the hall's village points' agents
            errand = BigButton(p.primary, p.on_primary, text="代办送件", bold=True,
                               font_size=dp(s.button), size_hint_x=None,
                               width=dp(s.button * 4 + 48))
            errand.bind(on_release=lambda *_: self.show_batch())
            beside.append(errand)
        if self.model.complaint_page:
            complain = BigButton(p.secondary, p.on_secondary, text="投诉建议",
                                 font_size=dp(s.button), size_hint_x=None,
                                 width=dp(s.button * 4 + 48))
            complain.bind(on_release=lambda *_: self.open_complain())
            beside.append(complain)
        if beside:
            row = BoxLayout(size_hint_y=None, height=dp(s.target), spacing=dp(s.gap))
            for widget in (search, *beside):
                row.add_widget(widget)
            body.add_widget(row)
        else:
            body.add_widget(search)
        if not self._settled:
            Clock.schedule_once(self._settle, 0)
        popular = self.model.popular()
        if popular:
            self._popular_row(body, popular)
        heading = BoxLayout(size_hint_y=None, height=dp(s.target), spacing=dp(s.gap))
        heading.add_widget(Text(text="或选择办事部门", font_size=dp(s.title), color=p.text,
                                bold=True, size_hint=(None, 1), width=dp(s.title * 7.5)))
        body.add_widget(heading)
        tiles, words = [], {}
        for department in departments:
            waiting = sum(self.model.waiting.get(c, 0)
                          for c in {i["category"] for i in department.items})
            caption = (f"{department.name}\n[size={int(dp(s.body))}]"
                       f"{len(department.items)} 项业务 · 等候 {waiting} 人[/size]")
            tile = BigButton(p.secondary, p.on_secondary, size_hint_y=None, markup=True,
                             font_size=dp(s.button))
            tile.bind(on_release=lambda _, code=department.code: self.show_department(code))
            tiles.append(tile)
            words[tile] = (caption, f"[size={int(dp(s.button * 2))}]{department.icon}[/size]\n"
                                    + caption)

        def short(tile: BigButton, low: bool) -> None:    # too low: without its emblem
            tile.text = words[tile][0 if low else 1]

        # as many rows as the rest of the screen holds, each tile big enough for its three
        # lines; more departments than that are paged, the pager beside the heading
        before = self.tile_pages if not fresh else None
        self.tile_pages = pages = TilePages(tiles, 2 if self.portrait else 4, dp(s.button * 8),
                                            dp(420), dp(s.gap), before.place if before else 0,
                                            short)
        body.add_widget(pages)
        self._pager(heading, pages)

    def _popular_row(self, body: BoxLayout, popular: list[dict[str, Any]]) -> None:
        """常办事项: a big button for each of the hall's most-taken items (the server's choice),
        three a row under the heading in portrait, six beside it in landscape (where height is
        short); a tap opens the item's guide, where 取号 is (what to bring is seen before the
        ticket is taken)."""
        p, s = self.palette, self.sizes
        cols = 3 if self.portrait else 6
        shown = popular[:6]
        rows = -(-len(shown) // cols)
        height = dp(s.target)       # the words fit on one line (popular_label)
        heading = Text(text="常办事项", font_size=dp(s.title), color=p.text, bold=True,
                       **({} if self.portrait else {"size_hint": (None, 1),
                                                    "width": dp(s.title * 4.5)}))
        grid = GridLayout(cols=cols, spacing=dp(s.gap), size_hint_y=None,
                          height=rows * height + (rows - 1) * dp(s.gap))
        width = Window.width - dp(2 * s.gap) - (cols - 1) * dp(s.gap)
        if self.portrait:
            body.add_widget(heading)
            body.add_widget(grid)
        else:
            row = BoxLayout(size_hint_y=None, height=grid.height, spacing=dp(s.gap))
            width -= heading.width + dp(s.gap)
            row.add_widget(heading)
            row.add_widget(grid)
            body.add_widget(row)
        fit = int((width / cols - dp(16)) // dp(s.button))   # characters on one line of a button
        self.popular_buttons = {}
        for item in shown:
            button = BigButton(p.secondary, p.on_secondary, text=popular_label(item, fit),
                               font_size=dp(s.button), size_hint_y=None, height=height)
            button.bind(on_release=lambda _, code=item["code"]: self.show_guide(code))
            grid.add_widget(button)
            self.popular_buttons[item["code"]] = button

    def _elder_question(self) -> BoxLayout:
        """长辈模式 asks first, on home: 老年人优先? Yes or no, two big buttons, under the
        question in portrait, beside it in landscape (where height is short); the answer is
        the priority of the ticket taken on this visit (and can still be changed later)."""
        p, s = self.palette, self.sizes
        question = Text(text="请问您是否需要老年人优先取号？", font_size=dp(s.title), color=p.text,
                        bold=True, **({"size_hint_y": None, "height": dp(s.target)}
                                      if self.portrait else
                                      {"size_hint": (None, 1), "width": dp(s.title * 15.5)}))
        row = BoxLayout(size_hint_y=None, height=dp(s.target), spacing=dp(s.gap))
        if self.portrait:
            box = BoxLayout(orientation="vertical", size_hint_y=None, spacing=dp(s.gap / 2),
                            height=dp(2 * s.target + s.gap / 2))
            box.add_widget(question)
            box.add_widget(row)
        else:
            row.add_widget(question)
            box = row
        for value, label in (("elderly", f"是，{KIOSK_PRIORITY_NAMES['elderly']}"),
                             ("normal", f"否，{KIOSK_PRIORITY_NAMES['normal']}取号")):
            toggle = BigToggle(label, p.surface, p.text, p.primary, p.on_primary,
                               group="elder_question", font_size=dp(s.button),
                               state="down" if value == self.priority and value == "elderly"
                               else "normal")
            toggle.bind(on_release=lambda _, v=value: setattr(self, "priority", v))
            row.add_widget(toggle)
        return box

    # --- a department's items -------------------------------------------------------------------------

    def _priority_row(self) -> BoxLayout:
        p, s = self.palette, self.sizes
        row = BoxLayout(size_hint_y=None, height=dp(s.target), spacing=dp(s.gap))
        row.add_widget(Text(text="取号类型：", font_size=dp(s.body), color=p.text,
                            size_hint=(None, 1), width=dp(s.body * 5.5)))
        choices = list(KIOSK_PRIORITY_NAMES.items())
        if self.model.elder_mode:          # 老年人优先 first, as the elder asks it first
            choices.sort(key=lambda choice: choice[0] != "elderly")
        for value, label in choices:
            toggle = BigToggle(label, p.surface, p.text, p.primary, p.on_primary, group="priority",
                               state="down" if value == self.priority else "normal",
                               font_size=dp(s.button))
            toggle.bind(on_release=lambda _, v=value: setattr(self, "priority", v))
            row.add_widget(toggle)
        return row

    def _back_row(self) -> BoxLayout:
        p, s = self.palette, self.sizes
        row = BoxLayout(size_hint_y=None, height=dp(s.target), spacing=dp(s.gap))
        home = BigButton(p.secondary, p.on_secondary, text="〈 返回首页", font_size=dp(s.button),
                         size_hint_x=None, width=dp(s.button * 8))
        home.bind(on_release=lambda *_: self.show_home())
        row.add_widget(home)
        return row

    def show_department(self, code: str) -> None:
        self._department = code
        department = self.model.department(code)
        body = self._frame("department", department.name)
        body.add_widget(self._back_row())
        body.add_widget(self._priority_row())
        self._scroll(body, [self._item_card(item) for item in department.items])

    def _item_card(self, item: dict[str, Any], title: str | None = None) -> Panel:
        """An item with its waiting count, 办事指南 and 取号; `title` may carry markup."""
        p, s = self.palette, self.sizes
        card = Panel(orientation="vertical", size_hint_y=None, bg=p.surface,
                     padding=dp(s.gap), spacing=dp(8), radius=dp(8))
        name = Text(text=title or item["name"], font_size=dp(s.title * 0.8), color=p.text,
                    bold=True, markup=title is not None)
        state = self.model.category_availability(item["category"], self.wall_clock())
        said = Text(text=("✓ " if state.ok else "⚠ ") + state.text, font_size=dp(s.body),
                    color=p.text, bold=not state.ok)
        waiting = Text(text=self.model.waiting_text(item["category"]) or " ",
                       font_size=dp(s.body), color=p.muted)
        self.waiting_labels.setdefault(item["category"], []).append(waiting)
        buttons = BoxLayout(size_hint_y=None, height=dp(s.target), spacing=dp(s.gap))
        guide = BigButton(p.secondary, p.on_secondary, text="办事指南", font_size=dp(s.button))
        guide.bind(on_release=lambda *_: self.show_guide(item["code"]))
        buttons.add_widget(guide)
        buttons.add_widget(self._take_button(item))
        parts = (name, said, waiting, buttons)
        for child in parts:
            card.add_widget(child)

        def fit(*_):
            card.height = sum(x.height for x in parts) + dp(s.gap * 2 + 16)

        name.bind(height=fit)
        said.bind(height=fit)
        fit()
        return card

    # --- search ----------------------------------------------------------------------------------------

    def show_search(self) -> None:
        """Search by pinyin initials or full pinyin on big letter keys: results as one types."""
        self.query = ""
        body = self._frame("search", "搜索事项")
        p, s = self.palette, self.sizes
        body.add_widget(self._back_row())
        self.query_label = Text(font_size=dp(s.title), color=p.text)
        body.add_widget(self.query_label)
        self.results = GridLayout(cols=1, size_hint_y=None, spacing=dp(s.gap))
        self.results.bind(minimum_height=self.results.setter("height"))
        scroll = ScrollView(do_scroll_x=False, bar_width=dp(12))
        scroll.add_widget(self.results)
        body.add_widget(scroll)
        body.add_widget(self._keyboard())
        self._show_results()

    def _keyboard(self, characters: str = "abcdefghijklmnopqrstuvwxyz",
                  typed: Callable[[str], None] | None = None) -> GridLayout:
        """The letters (the search's pinyin initials) or other `characters`, then 删除 and 清空,
        each key to `typed` (the search's by default)."""
        typed = typed or self.type_key
        p, s = self.palette, self.sizes
        cols = 7 if self.portrait else 10
        keys = GridLayout(cols=cols, spacing=dp(8), size_hint_y=None)
        keys.bind(minimum_height=keys.setter("height"))
        height = dp(s.target)
        for letter in characters:
            key = BigButton(p.surface, p.text, text=letter.upper(), font_size=dp(s.button),
                            size_hint_y=None, height=height)
            key.bind(on_release=lambda _, ch=letter: typed(ch))
            keys.add_widget(key)
        for label in ("删除", "清空"):
            key = BigButton(p.secondary, p.on_secondary, text=label, font_size=dp(s.button),
                            size_hint_y=None, height=height)
            key.bind(on_release=lambda _, k=label: typed(k))
            keys.add_widget(key)
        return keys

    def type_key(self, key: str) -> None:
        self.query = keyed(self.query, key, 20)
        self._show_results()

    def _show_results(self) -> None:
        p, s = self.palette, self.sizes
        self.query_label.text = (f"搜索：{self.query.upper()}" if self.query else
                                 "请按拼音首字母输入" + "，".join(
                                     f"{'，如 ' if n == 0 else ''}{letters} 查{word}"
                                     for n, (letters, word) in enumerate(self.search_examples)))
        self.results.clear_widgets()
        self.waiting_labels = {}
        if not self.query:
            return
        matches = self.search_index.search(self.query, limit=8)
        if not matches:
            self.results.add_widget(Text(text="没有找到，请换个说法，或到服务台咨询",
                                         font_size=dp(s.body), color=p.text))
        for match in matches:
            item = self.model.item(match.code)
            title = item["name"]
            if match.field == "name" and match.end > match.start:
                title = (_escape(title[:match.start]) + "[u]" + _escape(title[match.start:match.end])
                         + "[/u]" + _escape(title[match.end:]))
            elif match.field == "alias" and match.end > match.start:
                # found by what people call it: say so, that word underlined (最低生活保障申请（低保）)
                alias = match.text
                title = (_escape(title) + "（" + _escape(alias[:match.start]) + "[u]"
                         + _escape(alias[match.start:match.end]) + "[/u]"
                         + _escape(alias[match.end:]) + "）")
            else:
                title = _escape(title)
            self.results.add_widget(self._item_card(item, title))

    @property
    def search_index(self):
        """Built once per catalogue (about 0.2 s for the county hall's 369 items, and 0.5 s for
        the pinyin, read by a process of its own so that the kiosk never holds pypinyin's
        dictionaries: 55 MB, docs/kiosk.md#figures)."""
        from kiosk.search import SearchIndex, hanzi_readings_apart

        catalogue = self.model.catalogue
        assert catalogue is not None   # search is reached from home's button, shown with one
        if getattr(self, "_index_for", None) is not catalogue:
            self._index = SearchIndex(catalogue, reader=hanzi_readings_apart)
            self._index_for = catalogue
        return self._index

    @property
    def search_examples(self) -> list[tuple[str, str]]:
        """The hint's examples, from this hall's catalogue (its most-taken items first): pinyin
        initials that really find their item first here (`SearchIndex.examples`)."""
        catalogue = self.model.catalogue
        if getattr(self, "_examples_for", None) is not catalogue:
            prefer = [item["code"] for item in self.model.popular()]
            self._examples = self.search_index.examples(2, prefer) if catalogue else []
            self._examples_for = catalogue
        return self._examples

    # --- the guide page -------------------------------------------------------------------------------

    def show_guide(self, code: str, keep_place: bool = False) -> None:
        """The guide, page by page (as many whole lines as the screen shows, numbers never
        parted from their units); 上一页 / 第 n/N 页 / 下一页 beside 返回首页 when it does not
        fit on one; the priority and 朗读本页, 打印材料清单, 取号 below, on every page."""
        self._item = code
        item = self.model.item(code)
        body = self._frame("guide", "办事指南")
        p, s = self.palette, self.sizes
        back = self._back_row()
        body.add_widget(back)
        blocks = [Block(item["name"], dp(s.title), heading=True)]
        for heading, lines in guide_sections(self.model, item):
            if not lines:
                continue
            title = Block("■ " + heading, dp(s.title * 0.8), heading=True,
                          space_before=dp(s.gap) / 2)
            blocks.append(title)
            blocks += [Block(line, dp(s.body), section=title) for line in lines]
        before = self.guide_pages if keep_place else None   # redrawn: the same place
        self.guide_pages = pages = GuidePages(blocks, p.text, before.place if before else 0)
        body.add_widget(pages)
        self._pager(back, pages)
        body.add_widget(self._priority_row())
        actions = BoxLayout(size_hint_y=None, height=dp(s.target), spacing=dp(s.gap))
        if self.model.elder_mode:
            read = BigButton(p.secondary, p.on_secondary, text="朗读本页", font_size=dp(s.button))
            read.bind(on_release=lambda *_: self.speak(spoken_summary(self.model, item)))
            actions.add_widget(read)
        if self._print_checklist is not None:
            checklist = BigButton(p.secondary, p.on_secondary, text="打印材料清单",
                                  font_size=dp(s.button))
            checklist.bind(on_release=lambda *_: self._run(self._checklist(item)))
            actions.add_widget(checklist)
        actions.add_widget(self._take_button(item))
        body.add_widget(actions)

    def _pager(self, row: BoxLayout, pages: GuidePages | TilePages) -> None:
        """上一页, 第 n/N 页, 下一页 in `row` (a guide's, by 返回首页; home's, by its heading)
        once there is more than one page; a button that cannot turn is grey and says so by
        being disabled."""
        p, s = self.palette, self.sizes
        earlier = BigButton(p.secondary, p.on_secondary, text="〈 上一页", font_size=dp(s.button))
        later = BigButton(p.secondary, p.on_secondary, text="下一页 〉", font_size=dp(s.button))
        where = Text(text="", font_size=dp(s.body), color=p.text, halign="center",
                     size_hint=(None, 1), width=dp(s.body * 5.5))
        earlier.bind(on_release=lambda *_: pages.turn(-1))
        later.bind(on_release=lambda *_: pages.turn(1))

        def show(*_):
            if pages.pages > 1 and earlier.parent is None:
                for widget in (earlier, where, later):
                    row.add_widget(widget)
            elif pages.pages == 1 and earlier.parent is not None:   # laid out again: it fits
                for widget in (earlier, where, later):
                    row.remove_widget(widget)
            where.text = f"第 {int(pages.page) + 1}/{pages.pages} 页"
            for button, can in ((earlier, pages.page > 0), (later, pages.page < pages.pages - 1)):
                button.disabled = not can
                button.bg = button.background_color = p.secondary if can else p.surface
                button.color = button.disabled_color = p.on_secondary if can else p.muted

        pages.bind(page=show, pages=show)

    # --- taking a ticket --------------------------------------------------------------------------------

    def _take_button(self, item: dict[str, Any]) -> BigButton:
        """取号, or, while tickets cannot be taken, a grey 暂停取号 (the card and the status line
        say why in words)."""
        p, s = self.palette, self.sizes
        if not self.model.category_availability(item["category"], self.wall_clock()).takeable:
            return BigButton(p.surface, p.muted, text="暂停取号", font_size=dp(s.button),
                             disabled=True)
        take = BigButton(p.primary, p.on_primary, text="取号", font_size=dp(s.button))
        take.bind(on_release=lambda *_: self.take(item))
        return take

    def take(self, item: dict[str, Any]) -> None:
        self._run(self._take(item))

    def _run(self, job) -> None:
        """Start a tap's work (taking a ticket, printing a checklist); one at a time."""
        if self.pending:              # a second tap while the first is on its way
            job.close()
            return
        task = asyncio.get_running_loop().create_task(job)
        self.pending.add(task)
        task.add_done_callback(self._task_done)

    async def _checklist(self, item: dict[str, Any]) -> None:
        assert self._print_checklist is not None   # its button is shown only with one
        try:
            await self._print_checklist(item)
        except Exception as error:  # a printer fault: the guide stays on screen
            self.show_message("材料清单没有打印出来", f"{error}。请拍照保存本页，或到服务台领取。")
            return
        self.show_message("材料清单已打印", "请在出纸口取走《一次性告知单》。")

    def _task_done(self, task: asyncio.Task) -> None:
        self.pending.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            self.failures.append(error)
            log.error("a tap's work failed", exc_info=error)
            self.show_message("出现故障", "操作没有完成，请重试；如仍不行，请到服务台咨询。")

    async def _take(self, item: dict[str, Any]) -> None:
        try:
            reply = await self._take_ticket(item["category"], item["code"], self.priority)
        except RequestFailed as error:
            self.show_message("暂时无法取号", error.message)
            return
        await self._issued(reply)

    async def _issued(self, reply: dict[str, Any], note: str = "", title: str = "取号成功") -> None:
        """A ticket the server issued (taken, or a booking checked in): on screen, printed."""
        show = functools.partial(self.show_ticket, reply["ticket"], note=note, title=title)
        if self._print_ticket is None:
            show("本机未接打印机")
            return
        show()      # on screen at once; the printer may be slow
        try:
            await self._print_ticket(reply)
        except Exception as error:  # a printer fault of any kind: the number stays on screen
            if self.screen == "ticket":
                show(str(error) or "打印机故障")

    def show_ticket(self, ticket: dict[str, Any], fault: str | None = None, note: str = "",
                    title: str = "取号成功") -> None:
        """The ticket taken; `note`, words over it in big type (a late check-in's: 已为您取普通号),
        read aloud first in 长辈模式."""
        body = self._frame("ticket", title)
        p, s = self.palette, self.sizes
        warnings = [f"⚠ {said}" for said in (note, fault and f"{fault}。请拍照或记下您的号码")
                    if said]
        if warnings:          # one panel for both: a late check-in whose slip did not print
            warning = Panel(size_hint_y=None, bg=p.alert, padding=dp(12))
            text = Text(text="\n".join(warnings), font_size=dp(s.title), color=p.on_alert,
                        bold=True)
            warning.add_widget(text)
            text.bind(height=lambda _, h: setattr(warning, "height", h + dp(24)))
            body.add_widget(warning)
        lines = ticket_lines(self.model, ticket)
        phones = [f"咨询电话：{self.model.hall.get('consultation_phone', '')}",
                  f"投诉电话：{self.model.hall.get('complaint_phone', '')}"]
        lines += phones if self.portrait else ["　".join(phones)]   # landscape: one line less
        take_slip = fault is None and self._print_ticket is not None   # the slip is coming out
        beside_qr = take_slip and not self.portrait and bool(ticket.get("url"))
        main = BoxLayout(orientation="vertical" if self.portrait else "horizontal",
                         spacing=dp(s.gap))
        column = GridLayout(cols=1, spacing=dp(8), size_hint_y=None)
        column.bind(minimum_height=column.setter("height"))
        # landscape, with a booking's line or a late check-in's warning: the number alone (it
        # is plain what it is) and a fifth smaller for each line over or under it, so that all
        # fits the height (a printer's fault alone, as before)
        slot = booked_slot(ticket)
        batch = batch_line(ticket)
        crowded = (0 if self.portrait or not (slot or note or batch)
                   else len(warnings) + bool(slot) + bool(batch))
        if not crowded:
            column.add_widget(Text(text="您的号码", font_size=dp(s.title), color=p.text,
                                   halign="center"))
        column.add_widget(Text(text=ticket["number"], color=p.text, bold=True, halign="center",
                               font_size=dp(s.number * (1 - 0.2 * crowded))))
        if slot:
            column.add_widget(Text(text=f"【{BOOKED_MARK}】{BOOKED_MARK}时间：{slot}",
                                   font_size=dp(s.title), color=p.text, bold=True,
                                   halign="center"))
        if batch:
            column.add_widget(Text(text=batch, font_size=dp(s.title), color=p.text, bold=True,
                                   halign="center"))
        if take_slip and not beside_qr:
            column.add_widget(Text(text="请取走小票", font_size=dp(s.title), color=p.text,
                                   bold=True, halign="center"))
        for line in lines:
            column.add_widget(Text(text=line, font_size=dp(s.title * 0.75), color=p.text))
        left = BoxLayout(orientation="vertical", size_hint_y=1 if not self.portrait else None)
        left.add_widget(column)
        if self.portrait:
            column.bind(height=left.setter("height"))
        else:
            left.add_widget(BoxLayout())       # the rest of the height stays empty
        main.add_widget(left)
        if ticket.get("url"):
            main.add_widget(self._qr(ticket["url"], "扫码查看排队进度",
                                     "请取走小票" if beside_qr else ""))
        if self.portrait:
            main.add_widget(BoxLayout())
        body.add_widget(main)
        done = BigButton(p.secondary, p.on_secondary, text="完成，返回首页", size_hint_y=None,
                         height=dp(s.target), font_size=dp(s.button))
        done.bind(on_release=lambda *_: self.show_home())
        body.add_widget(done)
        self.ticket_since = self.clock()
        if self.model.elder_mode:
            self.speak((f"{note}。" if note else f"预约签到成功，预约时间 {slot}。" if slot else "")
                       + f"您的号码是 {ticket['number']}。您前面还有 {ticket['ahead']} 人。"
                       + ("请取走小票。" if fault is None and self._print_ticket is not None else ""))

    def _qr(self, url: str, caption: str, note: str = "") -> BoxLayout:
        """The QR code with its caption; `note`, in big type below it (landscape only)."""
        p, s = self.palette, self.sizes
        side = dp(360)
        column = BoxLayout(orientation="vertical", size_hint=(None, None) if self.portrait
                           else (None, 1), width=side, height=side + dp(s.body * 2),
                           pos_hint={"center_x": 0.5})
        column.add_widget(QrImage(qr_texture(url), bg=p.background, size_hint_y=None, height=side))
        column.add_widget(Text(text=caption, font_size=dp(s.body), color=p.text, halign="center"))
        if note:
            column.add_widget(Text(text=note, font_size=dp(s.title), color=p.text, bold=True,
                                   halign="center"))
        if not self.portrait:
            column.add_widget(BoxLayout())
        return column

    # --- 预约签到 ----------------------------------------------------------------------------------

    def show_check_in(self, fresh: bool = True) -> None:
        """The booking code on a big numeric keypad (or the booking's QR on the scanner), 确认
        checks in; what the server said of a wrong code stays under the code. Portrait: the
        keypad under the code; landscape: beside it."""
        if fresh:
            self.code, self.check_in_said = "", ""
        body = self._frame("checkin", "预约签到")
        p, s = self.palette, self.sizes
        body.add_widget(self._back_row())
        words = GridLayout(cols=1, spacing=dp(s.gap), size_hint_y=None)
        words.bind(minimum_height=words.setter("height"))
        scanner = self.model.scanner
        words.add_widget(Text(text=f"请输入 {BOOKING_CODE_DIGITS} 位预约码" + (
            "，或把预约二维码对准扫码器" if scanner and scanner[0] else ""),
            font_size=dp(s.title), color=p.text, bold=True, halign="center"))
        if scanner and not scanner[0]:
            words.add_widget(Text(text=f"⚠ {scanner[1]}。请用数字键输入预约码",
                                  font_size=dp(s.body), color=p.text, halign="center"))
        self.code_label = Text(font_size=dp(s.number * 0.45), color=p.text, bold=True,
                               halign="center")
        words.add_widget(self.code_label)
        if self.check_in_said:         # why the code did not check in, on the alert colour
            panel = Panel(size_hint_y=None, bg=p.alert, padding=dp(12))
            said = Text(text=f"⚠ {self.check_in_said}", font_size=dp(s.title * 0.8),
                        color=p.on_alert, bold=True, halign="center")
            panel.add_widget(said)
            said.bind(height=lambda _, h: setattr(panel, "height", h + dp(24)))
            words.add_widget(panel)
        confirm = BigButton(p.primary, p.on_primary, text="确认签到", bold=True,
                            font_size=dp(s.title), size_hint_y=None, height=dp(s.target * 1.3))
        confirm.bind(on_release=lambda *_: self.check_in(self.code))
        keys = self._digit_keys()
        if self.portrait:
            for widget in (words, keys, confirm, BoxLayout()):
                body.add_widget(widget)
        else:
            main = BoxLayout(spacing=dp(s.gap * 2))
            left = BoxLayout(orientation="vertical", spacing=dp(s.gap))
            for widget in (BoxLayout(), words, confirm, BoxLayout()):
                left.add_widget(widget)
            main.add_widget(left)
            main.add_widget(keys)
            body.add_widget(main)
        self._show_code()

    def _digit_keys(self) -> GridLayout:
        """1–9, then 清空, 0, 删除: a telephone's keypad, each key big (bigger in 长辈模式)."""
        p, s = self.palette, self.sizes
        # portrait: four rows of twice a button's height; landscape: the height there is
        keys = GridLayout(cols=3, spacing=dp(s.gap), size_hint_y=None if self.portrait else 1,
                          height=4 * dp(s.target * 2) + 3 * dp(s.gap))
        for label in [*"123456789", "清空", "0", "删除"]:
            digit = label.isdigit()
            key = BigButton(p.surface if digit else p.secondary, p.text if digit else p.on_secondary,
                            text=label, bold=digit,
                            font_size=dp(s.title * 1.4 if digit else s.button))
            key.bind(on_release=lambda _, k=label: self.type_digit(k))
            keys.add_widget(key)
        return keys

    def type_digit(self, key: str) -> None:
        self.code = keyed(self.code, key, BOOKING_CODE_DIGITS)
        if self.check_in_said:       # typing again: the refusal goes
            self.check_in_said = ""
            self.show_check_in(fresh=False)
        else:
            self._show_code()

    def _show_code(self) -> None:
        """The digits typed, a place for each still to come: the citizen sees how many are left."""
        self.code_label.text = " ".join(self.code.ljust(BOOKING_CODE_DIGITS, "_"))

    def scanned(self, text: str) -> None:
        """A line from the QR scanner: on home or the check-in screen (or wherever the kiosk
        is), the booking in it is checked in at once; a 交接单's batch code takes its 代办
        ticket."""
        if self.pending:
            return
        if is_batch_code(text):
            self.take_batch(text.strip())
            return
        self.code = booking_code_in(text)
        self.check_in(self.code)

    def check_in(self, code: str) -> None:
        if self.screen != "checkin":
            self.show_check_in()
        self.code = code
        self._show_code()
        if not self.model.check_in_open:
            self._refused("暂时无法签到：" + self.model.status_text if not self.model.connected
                          else "本大厅暂不办理预约签到，请现场取号")
            return
        if len(code) != BOOKING_CODE_DIGITS or not (code.isascii() and code.isdigit()):
            self._refused(BAD_BOOKING_CODE)
            return
        self._run(self._checking_in(code))

    def _refused(self, said: str) -> None:
        """The code's screen again, with why it did not check in, read aloud in 长辈模式."""
        self.check_in_said = said
        self.show_check_in(fresh=False)
        if self.model.elder_mode:
            self.speak(said)

    async def _checking_in(self, code: str) -> None:
        assert self._check_in is not None   # the shell always gives it; tests may not check in
        try:
            reply = await self._check_in(code)
        except RequestFailed as error:
            if error.detail.get("come_back_at"):
                self.show_come_back(error.detail["come_back_at"], error.message)
            else:
                self._refused(error.message)
            return
        if reply["outcome"] == "late":
            await self._issued(reply, LATE_CHECK_IN, "预约已过时")
        else:
            await self._issued(reply, title="预约签到成功")

    # --- 代办送件: a village point's agent with a 交接单 ----------------------------------------

    def show_batch(self, fresh: bool = True) -> None:
        """The agent's screen: scan the 交接单's QR, or type the point's code (then every case
        of the point waiting at the town); what the server said stays under."""
        if fresh:
            self.batch_said, self.point_code = "", ""
        body = self._frame("batch", "代办送件")
        p, s = self.palette, self.sizes
        body.add_widget(self._back_row())
        scanner = self.model.scanner
        body.add_widget(BoxLayout())
        body.add_widget(Text(text="代办员送件：请把交接单上的二维码对准扫码器",
                             font_size=dp(s.title), color=p.text, bold=True, halign="center"))
        body.add_widget(Text(text="一张交接单取一个号，窗口一次接收单上的全部件",
                             font_size=dp(s.body), color=p.text, halign="center"))
        if not scanner or not scanner[0]:
            body.add_widget(Text(text=f"⚠ {scanner[1] if scanner else '本机未接扫码器'}",
                                 font_size=dp(s.body), color=p.text, halign="center"))
        body.add_widget(Text(text="没有交接单：输入代办点编号（如 P07），送来本点全部未送达的件",
                             font_size=dp(s.body), color=p.text, halign="center"))
        self.point_label = Text(text=self.point_code or "_", font_size=dp(s.number * 0.4),
                                color=p.text, bold=True, halign="center")
        body.add_widget(self.point_label)
        if self.batch_said:
            panel = Panel(size_hint_y=None, bg=p.alert, padding=dp(12))
            said = Text(text=f"⚠ {self.batch_said}", font_size=dp(s.title * 0.8),
                        color=p.on_alert, bold=True, halign="center")
            panel.add_widget(said)
            said.bind(height=lambda _, h: setattr(panel, "height", h + dp(24)))
            body.add_widget(panel)
        body.add_widget(BoxLayout())
        confirm = BigButton(p.primary, p.on_primary, text="确认送件", bold=True,
                            font_size=dp(s.title), size_hint_y=None, height=dp(s.target * 1.3))
        confirm.bind(on_release=lambda *_: self.take_batch(self.point_code) if self.point_code
                     else self._batch_refused("请输入代办点编号，或扫描交接单上的二维码"))
        body.add_widget(confirm)
        body.add_widget(self._keyboard("abcdefghijklmnopqrstuvwxyz0123456789_", self.type_point))

    def type_point(self, key: str) -> None:
        self.point_code = keyed(self.point_code, key.upper(), 20)
        if self.batch_said:       # typing again: the refusal goes
            self.batch_said = ""
            self.show_batch(fresh=False)
        else:
            self.point_label.text = self.point_code or "_"

    def take_batch(self, code: str) -> None:
        if self._take_batch is None or not self.model.connected:
            self._batch_refused("暂时无法取号：" + self.model.status_text)
            return
        self._run(self._taking_batch(code))

    def _batch_refused(self, said: str) -> None:
        self.batch_said = said
        self.show_batch(fresh=False)
        if self.model.elder_mode:
            self.speak(said)

    async def _taking_batch(self, code: str) -> None:
        assert self._take_batch is not None
        try:
            reply = await self._take_batch(code)
        except RequestFailed as error:
            self._batch_refused(error.message)
            return
        await self._issued(reply, title="代办送件取号成功")

    def show_come_back(self, come_back_at: str, said: str) -> None:
        """Too early: when to come back, in the biggest type on the screen, the server's words
        under it; read aloud in 长辈模式."""
        body = self._frame("come_back", "签到时间未到")
        p, s = self.palette, self.sizes
        at = datetime.fromisoformat(come_back_at)
        today = self.wall_clock().astimezone(at.tzinfo).date()
        when = f"{at:%H:%M}" if at.date() == today else f"{at.month}月{at.day}日 {at:%H:%M}"
        body.add_widget(BoxLayout())
        body.add_widget(Text(text="签到时间未到", font_size=dp(s.title), color=p.text,
                             halign="center"))
        body.add_widget(Text(text=f"请于 {when} 以后再来签到", font_size=dp(s.number * 0.5),
                             color=p.text, bold=True, halign="center"))
        body.add_widget(Text(text=said, font_size=dp(s.title * 0.8), color=p.text,
                             halign="center"))
        body.add_widget(BoxLayout())
        ok = BigButton(p.primary, p.on_primary, text="知道了，返回首页", size_hint_y=None,
                       height=dp(s.target), font_size=dp(s.button))
        ok.bind(on_release=lambda *_: self.show_home())
        body.add_widget(ok)
        if self.model.elder_mode:
            self.speak(f"签到时间未到，请于 {when} 以后再来签到。")

    # --- 投诉建议 ---------------------------------------------------------------------------------------

    def open_complain(self) -> None:
        """投诉建议 tapped on home: its screen, read aloud in 长辈模式 (not on each redraw)."""
        self.show_complain()
        if self.model.elder_mode and self.model.complaint_page:
            self.speak("。".join(self._complain_words()))

    def show_complain(self) -> None:
        """The hall's 投诉建议 page as a big QR code for the citizen's phone, what the page will
        ask and give (its own words), and the hall's complaint phone; 返回首页, or home by
        itself after the idle warning. Without the page's address (the server lost since),
        it says so in words: never a QR of a page that may be down."""
        body = self._frame("complain", "投诉建议")
        p, s = self.palette, self.sizes
        body.add_widget(self._back_row())
        url = self.model.complaint_page
        phone = self.model.hall.get("complaint_phone", "")
        if not url:
            body.add_widget(BoxLayout())
            body.add_widget(Text(text="⚠ 暂时无法显示投诉建议二维码（未连接服务器）", font_size=dp(s.title),
                                 color=p.text, bold=True, halign="center"))
            body.add_widget(Text(text="如有意见或建议，请到服务台反映"
                                      + (f"，或拨打投诉电话 {phone}" if phone else ""),
                                 font_size=dp(s.title * 0.75), color=p.text, halign="center"))
            body.add_widget(BoxLayout())
            return
        heading, *lines = self._complain_words()
        align = "center" if self.portrait else "left"
        said = Text(text=heading, font_size=dp(s.title), color=p.text, bold=True, halign=align)
        words = GridLayout(cols=1, spacing=dp(s.gap), size_hint_y=None)
        words.bind(minimum_height=words.setter("height"))
        for line in lines:
            words.add_widget(Text(text=line, font_size=dp(s.title * 0.75), color=p.text,
                                  halign=align))
        # the code as big as the screen leaves it (a phone reads it from arm's length)
        side = dp(700) if self.portrait else dp(560 if self.model.elder_mode else 620)
        code = QrImage(qr_texture(url), bg=p.background, size_hint=(None, None),
                       size=(side, side),
                       pos_hint={"center_x": 0.5} if self.portrait else {"center_y": 0.5})
        if self.portrait:          # the heading, the code under it, then what follows
            for widget in (BoxLayout(), said, code, words, BoxLayout()):
                body.add_widget(widget)
        else:
            words.add_widget(said, index=len(words.children))
            main = BoxLayout(spacing=dp(s.gap * 2))
            main.add_widget(code)
            beside = AnchorLayout(anchor_y="center")     # the words mid-height, by the code
            beside.add_widget(words)
            main.add_widget(beside)
            body.add_widget(main)

    def _complain_words(self) -> list[str]:
        """The screen's heading and lines: what the page asks first and gives at the end, in
        its own words (queue_server/web/complain), and the hall's complaint phone if any."""
        phone = self.model.hall.get("complaint_phone", "")
        return ["请用手机扫描二维码，提交投诉或建议",
                "页面上先输入今日取号码（大厅显示屏底部滚动显示）；没有取号也可以提交。",
                "提交后请记下编号和查询码，凭此查看办理进度。",
                *([f"也可拨打投诉电话：{phone}"] if phone else [])]

    # --- messages ---------------------------------------------------------------------------------------

    def show_message(self, title: str, message: str) -> None:
        back = self.screen
        self._notice_screen("message", title, message, "知道了", lambda: self._return_to(back))

    def _idle_warning(self) -> None:
        back = self.screen
        self._notice_screen("idle_warning", "您还在浏览吗？", f"{WARNING_SECONDS} 秒内没有操作将返回首页。",
                            "继续浏览", lambda: self._return_to(back))

    def _return_to(self, screen: str) -> None:
        """Back to a page the person was on (drawn afresh), or home for any other."""
        if screen in ("department", "guide", "search", "complain", "checkin"):
            self.screen = screen
            self.redraw()
        else:
            self.show_home()

    def _notice_screen(self, screen: str, title: str, message: str, button: str,
                       action: Callable[[], Any]) -> None:
        """A message in the middle of the screen and one big button below it."""
        body = self._frame(screen, title)
        p, s = self.palette, self.sizes
        body.add_widget(BoxLayout())
        body.add_widget(Text(text=message, font_size=dp(s.title), color=p.text, halign="center"))
        body.add_widget(BoxLayout())
        ok = BigButton(p.primary, p.on_primary, text=button, size_hint_y=None,
                       height=dp(s.target), font_size=dp(s.button))
        ok.bind(on_release=lambda *_: action())
        body.add_widget(ok)

    # --- live updates --------------------------------------------------------------------------------

    def refresh_waiting(self) -> None:
        """After a queue or window event: the screen afresh if what it says of taking a ticket
        changed (a category's numbers gone, its first window staffed), else only the counts."""
        if self.refresh_status():
            return
        for category, labels in self.waiting_labels.items():
            for label in labels:
                label.text = self.model.waiting_text(category) or " "

    def refresh_status(self, always: bool = False) -> bool:
        """Draw the screen afresh if what it says of taking a ticket is no longer true (or
        `always`, after a new snapshot); say whether it was."""
        if self.screen not in ("home", "department", "guide", "search", "complain", "checkin"):
            return False
        if not always and self.model.availabilities(self.wall_clock()) == self._shown:
            return False
        self.redraw()
        return True


def keyed(text: str, key: str, longest: int) -> str:
    """`text` after a key of an on-screen keyboard: 删除 takes the last character off, 清空 all of
    them; any other key's character is added while `text` is shorter than `longest`."""
    if key == "删除":
        return text[:-1]
    if key == "清空":
        return ""
    return text + key if len(text) < longest else text


def popular_label(item: dict[str, Any], fit: int) -> str:
    """A 常办事项 button's words: the item's name when it fits on one line of `fit` characters,
    else the first of its aliases that does (what people call it: 低保 rather than a name
    broken over lines in big type), else the name, wrapped."""
    name = item["name"]
    if len(name) <= fit:
        return name
    return next((alias for alias in item.get("aliases") or [] if len(alias) <= fit), name)


def _escape(text: str) -> str:
    """Text shown with kivy markup on: its own brackets and ampersands kept as they are."""
    return text.replace("&", "&amp;").replace("[", "&bl;").replace("]", "&br;")


class CatalogueCache:
    """The last catalogue the server gave, on disk: guides stay browsable while it is away."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def save(self, catalogue: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(catalogue, ensure_ascii=False), encoding="utf-8")
        temporary.replace(self.path)


class EscposPrinter:
    """The kiosk's printer (see `kiosk.printing`): jobs run in a thread, so the screen keeps
    answering while bytes go down a serial line; each returns the device status to report."""

    def __init__(self, spec: str, profile):
        from kiosk import printing

        self.spec, self.profile, self.printing = spec, profile, printing   # loaded before a tap

    async def ticket(self, ticket: dict[str, Any], hall: dict[str, Any],
                     item: dict[str, Any] | None) -> str:
        outcome = await asyncio.to_thread(self.printing.print_ticket, self.spec, ticket, hall,
                                          self.profile, item)
        return outcome.status

    async def status(self) -> tuple[str, str]:
        """(device status, Chinese message), read from the printer where its line allows; ("", "")
        where it cannot tell."""
        return await asyncio.to_thread(self.printing.printer_status, self.spec, self.profile)

    async def checklist(self, item: dict[str, Any], hall: dict[str, Any], url: str) -> str:
        outcome = await asyncio.to_thread(self.printing.print_checklist, self.spec, item, hall,
                                          url, self.profile)
        return outcome.status


class KioskShell:
    """Connects the app to the server: the client, the catalogue, tickets, printing."""

    printer_check_seconds = 60.0   # between printer status checks while nobody prints

    def __init__(self, urls: list[str], token: str, cache: CatalogueCache,
                 printer: Any = None, speak: Callable[[str], object] | None = None,
                 scanner: Any = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        """`printer` has `ticket(ticket, hall, item)` and `checklist(item, hall, guide_url)`,
        coroutines that return the device status (`ok`, `paper_low`) or raise (see
        `EscposPrinter`); None for a kiosk without one. `scanner`, the QR scanner
        (`kiosk.scanner.Scanner`) or None. `clock` drives the idle timer,
        `wall_clock` (the time of day) whether the hall issues tickets now."""
        self.model = KioskModel()
        self.cache = cache
        self._refreshing: set[asyncio.Task] = set()
        cached = cache.load()
        if cached:
            self.model.set_catalogue(cached)
        self.printer = printer
        self.scanner = scanner
        if scanner is not None:
            self.model.scanner = scanner.status
        self.printer_state: tuple[str, str] | None = None   # the last report; None: none yet
        self.client = HallClient(urls, {"role": "kiosk", "token": token},
                                 on_snapshot=self._snapshot, on_event=self._event,
                                 on_status=self._status)
        self.hall_clock = HallClock(wall_clock)   # the hall's time, from each hello
        self.app = KioskApp(self.model, take_ticket=self._take_ticket,
                            print_ticket=self._print if printer else None,
                            print_checklist=self._print_checklist if printer else None,
                            check_in=self._check_in, take_batch=self._take_batch_code,
                            speak=speak, clock=clock,
                            wall_clock=self.hall_clock)

    async def _snapshot(self, reply: dict[str, Any]) -> None:
        self.hall_clock.follow(reply)
        self.model.apply_snapshot(reply.get("snapshot", {}))
        self.model.complain_url = reply.get("complain_url", "")
        self.model.points = bool(reply.get("points"))
        await self._refresh_catalogue(reply.get("catalogue_version"))
        await self._refresh_booking_menu()
        self.app.refresh_status()

    async def _refresh_catalogue(self, version: int | None) -> None:
        """Fetch the catalogue when the server's version is not the one held."""
        known = (self.model.catalogue or {}).get("version")
        if version != known or self.model.catalogue is None:
            catalogue = await self.client.request("catalogue")
            catalogue = {k: v for k, v in catalogue.items() if k not in ("re", "ok")}
            self.model.set_catalogue(catalogue)
            self.cache.save(catalogue)
        self.app.refresh_status(always=True)

    async def _refresh_booking_menu(self) -> None:
        """Which categories take bookings, for 预约签到 on home (a server without bookings, or
        one refusing: none)."""
        try:
            menu = (await self.client.request("booking_menu")).get("menu", [])
        except (RequestFailed, TimeoutError) as error:
            log.warning("booking menu not fetched: %s", error)
            menu = []
        if menu != self.model.booking_menu:
            self.model.booking_menu = menu
            self.app.refresh_status(always=True)

    async def _catalogue_changed(self, version: int | None) -> None:
        try:
            await self._refresh_catalogue(version)
        except (RequestFailed, TimeoutError) as error:   # the next hello fetches it again
            log.warning("new catalogue %s not fetched: %s", version, error)

    def _event(self, event: dict[str, Any]) -> None:
        if event.get("ev") == "catalogue":
            # A new catalogue version (the county's, applied at once): fetched beside the
            # reading of events, whose loop is what brings the reply.
            task = asyncio.get_running_loop().create_task(
                self._catalogue_changed(event.get("version")))
            self._refreshing.add(task)
            task.add_done_callback(self._refreshing.discard)
            return
        if self.model.apply_event(event):
            if event.get("ev") == "notice":
                self.app.refresh_status(always=True)
            else:
                self.app.refresh_waiting()

    def _status(self, connected: bool, text: str) -> None:
        was = self.model.connected
        self.model.set_connection(connected, text)
        if was != connected:
            self.app.refresh_status(always=True)

    async def _take_ticket(self, category: str, service: str, priority: str) -> dict[str, Any]:
        return await self.client.request("take_ticket", category=category, service=service,
                                         priority=priority)

    async def _check_in(self, code: str) -> dict[str, Any]:
        return await self.client.request("check_in", code=code)

    async def _take_batch_code(self, code: str) -> dict[str, Any]:
        return await self.client.request("take_batch", code=code)

    def _scanned(self, text: str) -> None:          # in the scanner's thread
        self._loop.call_soon_threadsafe(self.app.scanned, text)

    def _scanner_status(self, ok: bool, text: str) -> None:     # in the scanner's thread
        self._loop.call_soon_threadsafe(self._show_scanner, ok, text)

    def _show_scanner(self, ok: bool, text: str) -> None:
        self.model.scanner = (ok, text)
        if self.app.screen == "checkin":
            self.app.redraw()

    async def _print(self, reply: dict[str, Any]) -> None:
        ticket = reply["ticket"]
        item = self.model.item(ticket["service"]) if ticket.get("service") else None
        await self._reporting(self.printer.ticket(ticket, self.model.ticket_hall, item))

    async def _print_checklist(self, item: dict[str, Any]) -> None:
        # The hall's public address when it has one (a phone outside the hall's network can
        # open it), else the address this kiosk reaches the server at. The QR opens the guide
        # of the catalogue version printed, whatever the county publishes later.
        base = self.model.hall.get("public_url") or (
            self.client.url or self.client.urls[0]).replace("ws", "http", 1).rsplit("/ws", 1)[0]
        version = (self.model.catalogue or {}).get("version")
        await self._reporting(self.printer.checklist(
            item, self.model.hall, f"{base}/{guide_path(item['code'], version)}"))

    async def _reporting(self, job) -> None:
        """Run a print job, and tell the managers when the printer's state changes (paper out
        …); a fault is raised on to the screen after it has been reported."""
        try:
            state = await job or "ok"
        except Exception as error:
            await self.report_printer(getattr(error, "kind", "error"), str(error))
            raise
        await self.report_printer(state, "")

    async def report_printer(self, state: str, detail: str) -> None:
        """Report the printer's state when it is not the last one reported: a printer that is
        fine says `ok` once (after its first good print, or at start when its line can tell),
        not once per ticket."""
        if (state, detail) == self.printer_state or not self.client.connected:
            return
        try:
            await self.client.request("device_status", printer=state, detail=detail[:200])
            self.printer_state = (state, detail)
        except RequestFailed as error:      # the ticket matters more; say it in the log
            log.warning("printer state %s not reported: %s", state, error.message)

    async def watch_printer(self) -> None:
        """Managers learn of paper running out before a citizen does: the printer's status is
        read every minute (where its connection can tell) and reported when it changes."""
        while True:
            if self.client.connected and not self.app.pending:
                state, message = await self.printer.status()
                if state:                   # "": the printer's line cannot tell (file, preview)
                    await self.report_printer(state, message if state != "ok" else "")
            await asyncio.sleep(self.printer_check_seconds)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(self.client.run())]
        if self.printer is not None and hasattr(self.printer, "status"):
            tasks.append(loop.create_task(self.watch_printer()))
        self._loop = loop
        if self.scanner is not None:
            self.scanner.on_scan, self.scanner.on_status = self._scanned, self._scanner_status
            self.scanner.start()
        try:
            await self.app.async_run(async_lib="asyncio")
        finally:
            if self.scanner is not None:
                await asyncio.to_thread(self.scanner.stop)
            await self.client.stop()
            for task in tasks:
                task.cancel()
