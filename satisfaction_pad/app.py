"""The satisfaction pad's screens (kivy) and the asyncio shell that feeds them.

`PadApp` draws what `PadModel` says, and turns touches into model calls; `PadShell` connects
the model to the hall server (`HallClient`, role `pad`), sends the ratings of the model's
outbox (kept while the server is away), and feeds key presses of an optional button box
(`satisfaction_pad.evaluator`). The faces on the five rating buttons are drawn on the canvas:
the hall font has no emoji.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.core.window import Window
from kivy.graphics import Color, Ellipse, Line, Rectangle
from kivy.metrics import dp
from kivy.properties import ColorProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from hall.client import HallClient, NotConnected, RequestFailed
from hall.kivy_runtime import release_textures_each_frame
from hall.look import NORMAL
from hall.vocabulary import WINDOW_STATUS_NAMES
from hall.widgets import BigButton, BigToggle, Panel, QrImage, Text, qr_texture
from satisfaction_pad.model import PadModel, Rating, photo_path, post_text, surname

log = logging.getLogger("satisfaction_pad")
TICK_SECONDS = 0.2
RETRY_SECONDS = 3.0          # a rating the server could not save is sent again after this

LEVEL_COLOURS = {5: "#1B5E20", 4: "#00695C", 3: "#1F4E8C", 2: "#B45309", 1: "#B3261E"}


def _hex(code: str) -> tuple[float, float, float, float]:
    code = code.lstrip("#")
    return (int(code[0:2], 16) / 255, int(code[2:4], 16) / 255, int(code[4:6], 16) / 255, 1.0)


def draw_face(score: int, cx: float, cy: float, r: float, disc, ink) -> None:
    """A face for a level, on the current canvas: a disc, two eyes, a mouth from a laugh (5)
    through a straight line (3) to a deep frown with raised inner brows (1)."""
    Color(*disc)
    Ellipse(pos=(cx - r, cy - r), size=(2 * r, 2 * r))
    Color(*ink)
    eye = r * 0.12
    for side in (-1, 1):
        Ellipse(pos=(cx + side * r * 0.36 - eye, cy + r * 0.22 - eye), size=(2 * eye, 2 * eye * 1.2))
    width = max(1.5, r * 0.08)
    if score == 5:        # an open laugh: a filled half disc
        Ellipse(pos=(cx - r * 0.5, cy - r * 0.62), size=(r, r * 0.8), angle_start=90, angle_end=270)
    elif score == 4:      # a smile
        Line(circle=(cx, cy + r * 0.02, r * 0.52, 125, 235), width=width, cap="round")
    elif score == 3:      # neither
        Line(points=[cx - r * 0.38, cy - r * 0.38, cx + r * 0.38, cy - r * 0.38], width=width,
             cap="round")
    elif score == 2:      # a frown
        Line(circle=(cx, cy - r * 0.82, r * 0.5, -50, 50), width=width, cap="round")
    else:                 # a deep frown, brows raised inside
        Line(circle=(cx, cy - r * 0.95, r * 0.6, -58, 58), width=width, cap="round")
        for side in (-1, 1):
            Line(points=[cx + side * r * 0.56, cy + r * 0.44, cx + side * r * 0.2, cy + r * 0.58],
                 width=width * 0.9, cap="round")


class LevelButton(BigButton):
    """One of the five levels: its face drawn above its words (`vertical`) or left of them."""

    def __init__(self, score: int, label: str, vertical: bool, **kwargs):
        self.score, self.vertical = score, vertical
        colour = _hex(LEVEL_COLOURS[score])
        super().__init__(colour, NORMAL.on_primary, text=label, **kwargs)
        self.bind(pos=self._draw, size=self._draw)

    def _wrap(self, *_):
        pad = dp(12)
        if self.vertical:
            self.halign, self.valign = "center", "bottom"
            self.padding = [pad, pad, pad, pad * 1.5]
            self.text_size = (max(self.width, 1), max(self.height, 1))
        else:
            self.halign, self.valign = "left", "middle"
            self.padding = [self.height + pad, 0, pad, 0]
            self.text_size = (max(self.width, 1), max(self.height, 1))

    def face_box(self) -> tuple[float, float, float]:
        """(cx, cy, r) of the face."""
        if self.vertical:
            room = self.height - self.font_size * 1.8
            r = max(dp(10), min(self.width * 0.34, room * 0.4))
            return self.center_x, self.y + self.font_size * 1.8 + room / 2, r
        r = self.height * 0.36
        return self.x + self.height / 2 + dp(6), self.center_y, r

    def _draw(self, *_):
        self.canvas.after.clear()
        with self.canvas.after:
            draw_face(self.score, *self.face_box(), disc=(1, 1, 1, 1), ink=self.bg)


class Avatar(Widget):
    """The clerk's photo, fitted into the box, or a circle with the surname."""

    bg = ColorProperty(NORMAL.secondary)

    def __init__(self, name: str, photo: Path | None, **kwargs):
        super().__init__(**kwargs)
        self.texture = None
        if photo is not None:
            try:
                self.texture = CoreImage(str(photo)).texture
            except Exception as error:   # a broken or unreadable image: the placeholder instead
                log.warning("照片 %s 无法显示：%s", photo, error)
        self.label = None
        if self.texture is None:
            self.label = Label(text=surname(name), color=NORMAL.on_secondary, bold=True)
            self.add_widget(self.label)
        self.bind(pos=self._draw, size=self._draw)

    @property
    def has_photo(self) -> bool:
        return self.texture is not None

    def _draw(self, *_):
        self.canvas.before.clear()
        with self.canvas.before:
            if self.texture is not None:
                tw, th = self.texture.size
                scale = min(self.width / max(tw, 1), self.height / max(th, 1))
                w, h = tw * scale, th * scale
                Color(1, 1, 1, 1)
                Rectangle(texture=self.texture, pos=(self.center_x - w / 2, self.center_y - h / 2),
                          size=(w, h))
                return
            side = min(self.width, self.height)
            Color(*self.bg)
            Ellipse(pos=(self.center_x - side / 2, self.center_y - side / 2), size=(side, side))
        assert self.label is not None          # made in __init__ whenever there is no texture
        self.label.font_size = side * (0.42 if len(self.label.text) == 1 else 0.32)
        self.label.pos, self.label.size = self.pos, self.size


class PadApp(App):
    def __init__(self, model: PadModel, *, photos: Path | None = None,
                 changed: Callable[[], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self.photos = photos
        self._changed = changed            # the model's outbox may have grown: send
        self.clock = clock
        self.shown_key: tuple | None = None
        self.countdown: Text | None = None
        self.submit_button: BigButton | None = None
        self.screen_drawn: Callable[[str, float], None] | None = None   # bench hook
        self._drawn_pending: str | None = None
        self.p = NORMAL

    @property
    def portrait(self) -> bool:
        return Window.height > Window.width

    def build(self):
        self.title = "评价器"
        release_textures_each_frame()
        self.root_panel = Panel(orientation="vertical", bg=self.p.background)
        Window.bind(size=self._resized, on_flip=self._flipped)
        self._ticker = Clock.schedule_interval(self._tick, TICK_SECONDS)
        self._collect_soon = Clock.create_trigger(self._collect, 0.5)
        self._settled = False
        self.show()
        return self.root_panel

    def on_stop(self):
        Window.unbind(size=self._resized, on_flip=self._flipped)
        self._ticker.cancel()

    def _resized(self, *_):
        self.show()

    def _collect(self, _dt) -> None:
        """Free the screen just left, a moment after the new one is drawn. Kivy widgets hold
        reference cycles, so a screen goes only with a full collection; left to itself, Python
        ran one now and then over everything at once and held a prompt back by up to half a
        second (bench/pad_prompt.py). The first time, what exists then (kivy, the connection)
        lives as long as the pad and is moved out of the collector's sight."""
        gc.collect()
        if not self._settled and self.model.hellos:
            self._settled = True
            gc.freeze()

    def _flipped(self, *_):
        if self._drawn_pending is not None:
            screen, self._drawn_pending = self._drawn_pending, None
            if self.screen_drawn is not None:
                self.screen_drawn(screen, time.perf_counter())

    # --- from the model to the screen ------------------------------------------------------------

    def _view_key(self) -> tuple:
        """Everything the current screen shows but the countdown: drawn again when it changes
        (only then: the window event that follows a finish leaves the prompt as it is)."""
        m = self.model
        screen = m.screen
        key: tuple = (screen, m.window_title, m.hall.get("name"), m.connected and m.hellos > 0,
                      m.hellos > 0 and not m.connected, m.evaluator and m.evaluator[0],
                      tuple(Window.size))
        if screen == "idle":
            key += (m.hellos > 0 or m.connection_text, m.status, repr(m.clerk),
                    m.window.get("reason"), m.department_name, m.complaint_page)
        elif screen == "called":
            key += (m.call_text(self.clock()), repr(m.clerk), m.department_name)
        elif screen in ("prompt", "reasons") and m.prompt is not None:
            prompt = m.prompt
            key += (prompt.ticket, prompt.score, tuple(prompt.reasons), repr(prompt.clerk))
        elif screen == "thanks":
            key += (m.thanks_text(), m.connected)
        elif screen == "message":
            key += (m.message, m.hall.get("complaint_phone"))
        return key

    def refresh(self) -> None:
        """The model changed: draw the screen again if what it shows changed."""
        if self.root is None:
            return
        if self._view_key() != self.shown_key:
            self.show()
        elif self.countdown is not None:
            self.countdown.text = self._countdown_text()

    def _tick(self, _dt) -> None:
        if self.model.tick(self.clock()):
            self._changed_model()
        self.refresh()

    def _changed_model(self) -> None:
        if self._changed is not None:
            self._changed()

    def _act(self, done: bool) -> None:
        """After a touch: draw what follows, send what is to be sent."""
        if done:
            self._changed_model()
            self.refresh()

    def show(self) -> None:
        self.shown_key = self._view_key()
        m, p = self.model, self.p
        root = self.root_panel
        root.clear_widgets()
        self.countdown = self.submit_button = None
        root.add_widget(self._header())
        body = BoxLayout(orientation="vertical", padding=dp(20), spacing=dp(16))
        root.add_widget(body)
        {"idle": self._idle, "called": self._called, "prompt": self._prompt,
         "reasons": self._reasons, "thanks": self._thanks, "message": self._message,
         }[m.screen](body)
        root.bg = p.background
        self._drawn_pending = m.screen
        self._collect_soon()

    # --- pieces -------------------------------------------------------------------------------------

    def _header(self) -> Panel:
        m, p = self.model, self.p
        header = Panel(orientation="horizontal", size_hint_y=None, height=dp(72), bg=p.header,
                       padding=[dp(20), dp(8)], spacing=dp(12))
        header.add_widget(Text(text=m.window_title, font_size=dp(30), color=p.on_header,
                               bold=True, size_hint_y=1, shorten=True, shorten_from="right"))
        problems = []
        if not m.connected and m.hellos:
            problems.append("⚠ 连接中断")
        if m.evaluator is not None and not m.evaluator[0]:
            problems.append("⚠ 评价器未连接")
        if problems:
            chip = Panel(size_hint=(None, 1), width=dp(24 * 1.05 * sum(len(t) for t in problems)
                                                      + 40 * len(problems)),
                         bg=p.alert, padding=[dp(12), 0], radius=dp(8))
            chip.add_widget(Text(text="  ".join(problems), font_size=dp(24), color=p.on_alert,
                                 size_hint_y=1, halign="center"))
            header.add_widget(chip)
        elif not self.portrait:
            header.add_widget(Text(text=m.hall.get("name", ""), font_size=dp(24),
                                   color=p.on_header, size_hint=(0.6, 1), halign="right",
                                   shorten=True))
        return header

    def _clerk_card(self, body: BoxLayout, clerk: dict[str, Any], large: bool = True) -> None:
        """Photo (or placeholder), name, 工号, post, window and department: side by side in
        landscape, one above the other in portrait, centred as a group."""
        m, p = self.model, self.p
        portrait = self.portrait
        card = Panel(orientation="vertical" if portrait else "horizontal", bg=p.surface,
                     radius=dp(16), padding=dp(24), spacing=dp(32))
        photo = photo_path(clerk.get("photo", ""), clerk.get("badge", ""), self.photos)
        side = dp(300 if large else 200)
        avatar = Avatar(clerk.get("name", ""), photo, size_hint=(None, None),
                        size=(side, side * 1.25 if photo else side))
        align = "center" if portrait else "left"
        lines = GridLayout(cols=1, size_hint_y=None, spacing=dp(10))
        lines.bind(minimum_height=lines.setter("height"))
        lines.add_widget(Text(text=clerk.get("name", ""), font_size=dp(72 if large else 56),
                              color=p.text, bold=True, halign=align))
        lines.add_widget(Text(text=f"工号 {clerk.get('badge', '')}　·　{post_text(clerk.get('post'))}",
                              font_size=dp(34), color=p.text, halign=align))
        lines.add_widget(Text(text=m.window_title, font_size=dp(28), color=p.muted, halign=align))
        if m.department_name:
            lines.add_widget(Text(text=m.department_name, font_size=dp(28), color=p.muted,
                                  halign=align))
        if portrait:
            row = BoxLayout(size_hint_y=None, height=avatar.height)
            for widget in (BoxLayout(), avatar, BoxLayout()):
                row.add_widget(widget)
            for widget in (BoxLayout(), row, lines, BoxLayout()):
                card.add_widget(widget)
        else:
            column = BoxLayout(orientation="vertical", size_hint_x=None, width=avatar.width)
            for widget in (BoxLayout(), avatar, BoxLayout()):
                column.add_widget(widget)
            text = BoxLayout(orientation="vertical")
            for widget in (BoxLayout(), lines, BoxLayout()):
                text.add_widget(widget)
            card.add_widget(column)
            card.add_widget(text)
        body.add_widget(card)

    def _banner(self, body: BoxLayout | None, text: str, bg, fg, size: float) -> Panel:
        """A line of big type on a coloured band, added to `body` (if given) and returned."""
        banner = Panel(size_hint_y=None, height=dp(size * 1.9), bg=bg, radius=dp(16))
        banner.add_widget(Text(text=text, font_size=dp(size), color=fg, bold=True,
                               halign="center", size_hint_y=1))
        if body is not None:
            body.add_widget(banner)
        return banner

    # --- the screens -----------------------------------------------------------------------------

    def _idle(self, body: BoxLayout) -> None:
        m, p = self.model, self.p
        if not m.hellos:
            text = m.connection_text or "正在连接服务器…"
            body.add_widget(BoxLayout())
            body.add_widget(Text(text=text, font_size=dp(40), color=p.text, halign="center"))
            body.add_widget(BoxLayout())
            return
        if m.status == "open" and m.clerk:
            self._clerk_card(body, m.clerk)
            beside_qr = bool(m.complaint_page) and not self.portrait   # landscape: one row
            welcome = self._banner(None if beside_qr else body, "欢迎办理业务，请等候叫号",
                                   p.surface, p.text, 36)
            if m.complaint_page:
                body.add_widget(self._complain_band(welcome if beside_qr else None))
            return
        body.add_widget(BoxLayout())
        if m.status == "paused":
            self._banner(body, WINDOW_STATUS_NAMES["paused"], p.alert, p.on_alert, 96)
            reason = m.window.get("reason")
            body.add_widget(Text(text=f"原因：{reason}" if reason else "工作人员暂时离开",
                                 font_size=dp(40), color=p.text, halign="center"))
            body.add_widget(Text(text="请稍候，或到其他窗口办理", font_size=dp(32), color=p.muted,
                                 halign="center"))
        else:
            self._banner(body, WINDOW_STATUS_NAMES["closed"], p.secondary, p.on_secondary, 96)
            body.add_widget(Text(text="本窗口暂无工作人员", font_size=dp(40), color=p.text,
                                 halign="center"))
        body.add_widget(Text(text=m.window_title, font_size=dp(32), color=p.muted, halign="center"))
        body.add_widget(BoxLayout())
        if m.complaint_page:
            body.add_widget(self._complain_band())

    def _complain_band(self, beside: Panel | None = None) -> BoxLayout:
        """The foot of the idle screen: the hall's 投诉建议 page as a small QR at the right
        end, its caption left of it, on a band across the screen, or, with a banner to go
        `beside` it, in a box of its own right of the banner (stretched to its height). The
        call, the prompt and the thanks never have it."""
        p = self.p
        side, pad = dp(200), dp(12)
        band = Panel(bg=p.surface, radius=dp(16), padding=[dp(16), pad, pad, pad],
                     spacing=dp(16), size_hint_y=None, height=side + 2 * pad)
        band.add_widget(Text(text="投诉建议\n请用手机扫码", font_size=dp(30),
                             color=p.text, halign="center", size_hint_y=1))
        band.add_widget(QrImage(qr_texture(self.model.complaint_page), bg=p.surface,
                                size_hint_x=None, width=side))
        if beside is None:
            return band
        band.size_hint_x, band.width = None, side + dp(260)
        beside.size_hint_y = 1
        row = BoxLayout(size_hint_y=None, height=band.height, spacing=dp(16))
        row.add_widget(beside)
        row.add_widget(band)
        return row

    def _called(self, body: BoxLayout) -> None:
        m, p = self.model, self.p
        text = m.call_text(self.clock())
        fresh = text.startswith("请")
        size = 52 if self.portrait else 60
        number = m.current or ""
        big = f"[size={int(dp(size * 2))}]{number}[/size]"
        text = text.replace(f" {number} ", f" {big} ", 1)
        lines = 1
        if self.portrait:           # the number on a line of its own: long numbers still fit
            text, lines = text.replace("号 到", "号\n到", 1).replace("号办理", "号\n办理", 1), 2
        banner = Panel(size_hint_y=None, height=dp(size * (3.4 + 1.4 * (lines - 1))),
                       bg=p.primary if fresh else p.secondary, radius=dp(16))
        banner.add_widget(Text(text=text, markup=True, font_size=dp(size), halign="center",
                               color=p.on_primary if fresh else p.on_secondary, size_hint_y=1))
        body.add_widget(banner)
        if m.clerk:
            self._clerk_card(body, m.clerk, large=False)

    def _served_by(self, clerk: dict[str, Any], ticket: str) -> Panel:
        p = self.p
        row = Panel(orientation="horizontal", size_hint_y=None, height=dp(96), bg=p.surface,
                    radius=dp(12), padding=[dp(16), dp(8)], spacing=dp(16))
        photo = photo_path(clerk.get("photo", ""), clerk.get("badge", ""), self.photos)
        row.add_widget(Avatar(clerk.get("name", ""), photo, size_hint=(None, 1), width=dp(80)))
        who = (f"为您服务的是 {clerk.get('name', '')}　工号 {clerk.get('badge', '')}　"
               f"{post_text(clerk.get('post'))}　·　{ticket} 号")
        row.add_widget(Text(text=who, font_size=dp(30 if not self.portrait else 26),
                            color=p.text, size_hint_y=1))
        return row

    def _prompt(self, body: BoxLayout) -> None:
        m, p = self.model, self.p
        prompt = m.prompt
        assert prompt is not None              # the model's "prompt" screen always has one
        body.add_widget(Text(text="请您对本次服务进行评价", font_size=dp(52), color=p.text, bold=True,
                             halign="center"))
        body.add_widget(self._served_by(prompt.clerk, prompt.ticket))
        vertical = not self.portrait
        grid = GridLayout(cols=5 if vertical else 1, spacing=dp(16))
        for score, label in m.levels:
            button = LevelButton(score, label, vertical, font_size=dp(34 if vertical else 44))
            button.bind(on_release=lambda _, s=score: self._act(self.model.choose(s, self.clock())))
            grid.add_widget(button)
        body.add_widget(grid)
        self.countdown = Text(text=self._countdown_text(), font_size=dp(24), color=p.muted,
                              halign="center")
        body.add_widget(self.countdown)

    def _countdown_text(self) -> str:
        left = self.model.remaining(self.clock())
        if self.model.screen == "reasons":
            return f"请选择原因后按“提交”；{left} 秒内无操作将记为未评价"
        return f"{left} 秒内无操作将记为未评价"

    def _reasons(self, body: BoxLayout) -> None:
        m, p = self.model, self.p
        prompt = m.prompt
        # the "reasons" screen always has a prompt, scored (PadModel.choose opens it)
        assert prompt is not None and prompt.score is not None
        title = Text(text="请选择不满意的原因（可多选）", font_size=dp(44 if not self.portrait else 40),
                     color=p.text, bold=True, size_hint_y=1 if not self.portrait else None,
                     halign="left" if not self.portrait else "center")
        level = LevelButton(prompt.score, m.level_name(prompt.score), False, font_size=dp(36),
                            size_hint_x=None, width=dp(330), disabled=True)
        head = BoxLayout(size_hint_y=None, height=dp(120), spacing=dp(16))
        if self.portrait:          # the title above, the chosen level centred below it
            body.add_widget(title)
            for widget in (BoxLayout(), level, BoxLayout()):
                head.add_widget(widget)
        else:
            head.add_widget(level)
            head.add_widget(title)
        body.add_widget(head)
        cols = 2 if not self.portrait or len(m.reasons) > 3 else 1
        grid = GridLayout(cols=cols, spacing=dp(16))
        for reason in m.reasons:
            toggle = BigToggle(reason, p.surface, p.text, p.secondary, p.on_secondary,
                               state="down" if reason in prompt.reasons else "normal",
                               font_size=dp(34), halign="center", valign="middle")
            toggle.bind(size=lambda w, *_: setattr(w, "text_size", (w.width - dp(16), None)))
            toggle.bind(on_release=lambda _, r=reason: self._toggle(r))
            grid.add_widget(toggle)
        body.add_widget(grid)
        actions = BoxLayout(size_hint_y=None, height=dp(100), spacing=dp(16))
        back = BigButton(p.secondary, p.on_secondary, text="〈 重新选择", font_size=dp(34),
                         size_hint_x=0.4)
        back.bind(on_release=lambda *_: self._act(self.model.back_to_levels(self.clock())))
        actions.add_widget(back)
        self.submit_button = BigButton(p.primary, p.on_primary, text="", font_size=dp(38))
        self.submit_button.bind(on_release=lambda *_: self._act(self.model.submit(self.clock())))
        self._show_submit()
        actions.add_widget(self.submit_button)
        body.add_widget(actions)
        self.countdown = Text(text=self._countdown_text(), font_size=dp(24), color=p.muted,
                              halign="center")
        body.add_widget(self.countdown)

    def _toggle(self, reason: str) -> None:
        """A reason chosen or unchosen: the toggle shows it itself; only 提交 changes."""
        if self.model.toggle_reason(reason, self.clock()):
            self._show_submit()
            self.shown_key = self._view_key()

    def _show_submit(self) -> None:
        p, button = self.p, self.submit_button
        assert button is not None              # called by _reasons, and its toggles, once made
        ready = self.model.can_submit()
        button.disabled = not ready
        button.text = "提交" if ready else "请先选择原因，再提交"
        colours = (p.primary, p.on_primary) if ready else (p.surface, p.muted)
        button.background_color, button.color = colours
        button.disabled_color, button.bg = colours[1], colours[0]

    def _thanks(self, body: BoxLayout) -> None:
        m, p = self.model, self.p
        body.add_widget(BoxLayout())
        self._banner(body, "感谢您的评价", p.secondary, p.on_secondary, 88)
        if m.thanks_text():
            body.add_widget(Text(text=m.thanks_text(), font_size=dp(44), color=p.text,
                                 halign="center"))
        if not m.connected:
            body.add_widget(Text(text="网络暂时中断，评价已保存在本机，恢复后自动上传",
                                 font_size=dp(30), color=p.muted, halign="center"))
        body.add_widget(BoxLayout())

    def _message(self, body: BoxLayout) -> None:
        m, p = self.model, self.p
        body.add_widget(BoxLayout())
        self._banner(body, "评价未能保存", p.alert, p.on_alert, 64)
        body.add_widget(Text(text=m.message.removeprefix("评价未能保存："), font_size=dp(40),
                             color=p.text, halign="center"))
        body.add_widget(Text(text="如有意见，可到服务台或拨打投诉电话 "
                                  + m.hall.get("complaint_phone", ""),
                             font_size=dp(30), color=p.muted, halign="center"))
        body.add_widget(BoxLayout())


class PadShell:
    """The pad's connection: the client feeds the model; the outbox goes to the server."""

    def __init__(self, urls: list[str], token: str, model: PadModel | None = None, *,
                 photos: Path | None = None, evaluator: Any = None,
                 clock: Callable[[], float] = time.monotonic,
                 report: Callable[[str], None] | None = None, outbox: Path | None = None):
        """`evaluator` is an optional `satisfaction_pad.evaluator.Evaluator` (a button box);
        `report(text)` hears each change of the box's state, in words (the command line prints
        them; the connection's are logged by `hall.client`). `outbox` is a JSON file
        that keeps the ratings not yet sent across a restart of the pad (none: memory only)."""
        self.model = model or PadModel()
        self.report = report
        self.outbox_file = outbox
        self._saved: list[dict[str, Any]] | None = None
        self._load_outbox()
        self.clock = clock
        self.evaluator = evaluator
        self.app = PadApp(self.model, photos=photos, changed=self.wake, clock=clock)
        self.client = HallClient(urls, {"role": "pad", "token": token},
                                 on_snapshot=self._snapshot, on_event=self._event,
                                 on_status=self._status)
        self.snapshots = 0
        self.sent: list[Rating] = []          # ratings the server took, in order
        self.refusals: list[tuple[Rating, str]] = []
        self._wake: asyncio.Event | None = None
        self._tries: dict[Rating, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- from the server ---------------------------------------------------------------------------

    def _snapshot(self, reply: dict[str, Any]) -> None:
        self.model.apply_hello(reply, self.clock())
        self.snapshots += 1
        self.app.refresh()
        self.wake()

    async def _event(self, event: dict[str, Any]) -> None:
        if self.model.apply_event(event, self.clock()):
            self.app.refresh()
        self.wake()

    def _status(self, connected: bool, text: str) -> None:
        # The log hears of it from `hall.client` (one line on connecting, a loss once).
        self.model.set_connection(connected, text)
        self.app.refresh()

    # --- the button box -----------------------------------------------------------------------------

    def _key(self, score: int, _key: int) -> None:      # in the box's thread
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._pressed, score)

    def _pressed(self, score: int) -> None:
        if self.model.choose(score, self.clock()):
            self.wake()
        self.app.refresh()

    def _evaluator_status(self, ok: bool, text: str) -> None:   # in the box's thread
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._show_evaluator, ok, text)

    def _show_evaluator(self, ok: bool, text: str) -> None:
        if self.report is not None:        # the box's thread has logged it already
            self.report(text)
        self.model.evaluator = (ok, text)
        self.app.refresh()

    # --- to the server ------------------------------------------------------------------------------

    def wake(self) -> None:
        """The outbox may have changed: keep it on disk, and send it."""
        self._save_outbox()
        if self._wake is not None:
            self._wake.set()

    def _load_outbox(self) -> None:
        if self.outbox_file is None:
            return
        try:
            saved = json.loads(self.outbox_file.read_text(encoding="utf-8"))
            ratings = [Rating.from_json(item) for item in saved]
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("未发送的评价文件 %s 无法读取，已忽略：%s", self.outbox_file, error)
            return
        self.model.outbox.extend(ratings)
        self._saved = [r.to_json() for r in ratings]

    def _save_outbox(self) -> None:
        if self.outbox_file is None:
            return
        data = [r.to_json() for r in (*self.model.lost, *self.model.outbox)]   # hello sorts them
        if data == self._saved:
            return
        temporary = self.outbox_file.with_suffix(".tmp")
        try:
            self.outbox_file.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            temporary.replace(self.outbox_file)
            self._saved = data
        except OSError as error:       # the ratings stay in memory; say it once per change
            log.warning("未发送的评价无法写入 %s：%s", self.outbox_file, error)
            with contextlib.suppress(OSError):
                temporary.unlink()

    async def _send_ratings(self) -> None:
        assert self._wake is not None          # run sets it before starting this task
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not await self._report_lost():
                continue
            while self.model.outbox and self.client.connected:
                rating = self.model.outbox[0]
                tries = self._tries.get(rating, 0)
                self._tries[rating] = tries + 1
                try:
                    await self.client.request("rate", **rating.params())
                except NotConnected:
                    break                               # again after the next hello
                except RequestFailed as error:
                    if error.code == "internal":
                        self._later()
                        break
                    if tries and error.code == "conflict":
                        self._took(rating)              # an earlier try got through
                    else:
                        log.warning("评价 %s 被拒绝：%s", rating, error.message)
                        self.refusals.append((rating, error.message))
                        self.model.refused(rating, error.message, self.clock())
                        self._save_outbox()
                except TimeoutError:
                    self._later()
                    break
                else:
                    self._took(rating)
                self.app.refresh()

    async def _report_lost(self) -> bool:
        """Tells the server of ratings kept past their day, a day at a time; whether all were
        told (else it is tried again later)."""
        while self.model.lost:
            if not self.client.connected:
                return False
            day, ratings = self.model.lost_day()
            try:
                await self.client.request("lost_ratings", day=day,
                                          ratings=[r.params() for r in ratings])
            except NotConnected:
                return False
            except RequestFailed as error:
                if error.code == "internal":
                    self._later()
                    return False
                log.warning("%s 的 %d 条评价未能上传，报告也被拒绝：%s", day, len(ratings), error.message)
            except TimeoutError:
                self._later()
                return False
            else:
                log.warning("%s 的 %d 条评价未能上传（该服务日已结束），已报告服务器", day, len(ratings))
            self.model.reported(day)
            self._save_outbox()
        return True

    def _took(self, rating: Rating) -> None:
        self.model.stored(rating)
        self._tries.pop(rating, None)
        self.sent.append(rating)
        self._save_outbox()

    def _later(self) -> None:
        assert self._loop is not None          # reached only from _send_ratings, started by run
        self._loop.call_later(RETRY_SECONDS, self.wake)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self.model.evaluator = None
        if self.evaluator is not None:
            self.evaluator.on_score = self._key
            self.evaluator.on_status = self._evaluator_status
            self.model.evaluator = self.evaluator.status
            self.evaluator.start()
        tasks = [self._loop.create_task(self.client.run()),
                 self._loop.create_task(self._send_ratings())]
        try:
            await self.app.async_run(async_lib="asyncio")
        finally:
            await self.client.stop()
            if self.evaluator is not None:
                await asyncio.to_thread(self.evaluator.stop)
            for task in tasks:
                task.cancel()
