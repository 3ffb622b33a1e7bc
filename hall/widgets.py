"""The building blocks of the kivy devices (kiosk, satisfaction pad): panels that paint their
own background, text that wraps, big buttons. Each widget knows its background colour (`bg`),
so a test can walk the widget tree and check every text's contrast and every button's size."""

from __future__ import annotations

import io

import qrcode
from kivy.core.image import Image as CoreImage
from kivy.graphics import Color, Rectangle, RoundedRectangle
from kivy.metrics import dp
from kivy.properties import ColorProperty, NumericProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.togglebutton import ToggleButton

from hall.look import MIN_TARGET_DP


class Panel(BoxLayout):
    """A box with a painted background."""

    bg = ColorProperty((1, 1, 1, 1))
    radius = NumericProperty(0)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.canvas.before:
            self._colour = Color(*self.bg)
            self._rect = RoundedRectangle(pos=self.pos, size=self.size, radius=[self.radius])
        self.bind(pos=self._redraw, size=self._redraw, bg=self._redraw)

    def _redraw(self, *_):
        self._colour.rgba = self.bg
        self._rect.pos, self._rect.size = self.pos, self.size


class Text(Label):
    """Text that wraps to its width and is as tall as its lines; or, given a `size_hint_y`,
    fills the height its layout gives it and is centred in it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("halign", "left")
        kwargs.setdefault("valign", "middle")
        if "size_hint" not in kwargs:
            kwargs.setdefault("size_hint_y", None)
        super().__init__(**kwargs)
        self.bind(width=self._wrap, height=self._wrap)
        if self.size_hint_y is None:
            self.bind(texture_size=self._fit)
        self._wrap()

    def _wrap(self, *_):
        self.text_size = (self.width, None if self.size_hint_y is None else self.height)

    def _fit(self, *_):
        self.height = max(self.texture_size[1], self.font_size * 1.4)


class BigButton(Button):
    """A button at least 60 × 60 dp, its colours explicit (no theme image), text wrapped."""

    def __init__(self, bg, fg, **kwargs):
        kwargs.setdefault("halign", "center")
        kwargs.setdefault("valign", "middle")
        super().__init__(background_normal="", background_down="", background_disabled_normal="",
                         background_disabled_down="", background_color=bg, color=fg,
                         disabled_color=fg, **kwargs)
        self.bg = bg
        self.min_size = dp(MIN_TARGET_DP)
        self.bind(size=self._wrap)

    def _wrap(self, *_):
        self.text_size = (max(self.width - dp(16), 1), None)


class BigToggle(ToggleButton):
    """A choice among a few (e.g. 普通 / 老年人优先): the chosen one says ✓ in words too."""

    def __init__(self, label: str, bg, fg, chosen_bg, chosen_fg, **kwargs):
        super().__init__(background_normal="", background_down="", allow_no_selection=False,
                         **kwargs)
        self.label, self.colours = label, (bg, fg, chosen_bg, chosen_fg)
        self.min_size = dp(MIN_TARGET_DP)
        self.bind(state=self._show)
        self._show()

    def _show(self, *_):
        bg, fg, chosen_bg, chosen_fg = self.colours
        chosen = self.state == "down"
        self.text = ("✓ " if chosen else "") + self.label
        self.background_color = chosen_bg if chosen else bg
        self.color = chosen_fg if chosen else fg
        self.bg = self.background_color


def qr_texture(text: str):
    """A QR code of `text` as a kivy texture, its modules kept sharp when scaled up."""
    buffer = io.BytesIO()
    qrcode.make(text, box_size=8, border=2).save(buffer, format="PNG")
    buffer.seek(0)
    texture = CoreImage(buffer, ext="png").texture
    texture.mag_filter = "nearest"
    return texture


class QrImage(Panel):
    """A texture shown at its aspect ratio on a painted background (a QR code)."""

    def __init__(self, texture, **kwargs):
        super().__init__(**kwargs)
        with self.canvas:
            Color(1, 1, 1, 1)
            self._image = Rectangle(texture=texture, pos=self.pos, size=self.size)
        self.bind(pos=self._place, size=self._place)

    def _place(self, *_):
        # from x, y, width and height: `center` may not have followed a new size yet
        side = min(self.width, self.height)
        self._image.size = (side, side)
        self._image.pos = (self.x + (self.width - side) / 2, self.y + (self.height - side) / 2)
