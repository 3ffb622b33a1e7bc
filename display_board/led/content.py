"""What a window strip shows, from the hall protocol's `window` event (docs/protocol.md).

Pure: a window view (window, name, status, status_text, reason, clerk, current), the strip's
configuration and, optionally, the last `ticket_called` for that window with its age in
seconds give the strip's lines. The driver calls this whenever something changes and sends
the result only if it differs from what the strip already shows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hall import qlink
from hall.vocabulary import WINDOW_STATUS_NAMES

from .text import CHARSETS, TextSpec, fit_text, fits


@dataclass(frozen=True)
class StripConfig:
    """One strip on a bus.

    `address`: its bus address (1…239, usually the window number); `window`: the window it
    belongs to (the address by default). `label` is line 1 ("3号窗口" by default);
    `call_format` the text for the ticket being served; `idle_text` what an open window
    without a ticket shows. `flash_seconds`: how long a just-called ticket blinks."""

    address: int
    window: int | None = None
    lines: int = 2
    width_dots: int = 64
    font_dots: int = 16
    charset: str = "gb2312"
    ascii_fullwidth: bool = False
    label: str | None = None
    idle_text: str = "欢迎光临"
    call_format: str = "请{number}"
    paused_text: str = WINDOW_STATUS_NAMES["paused"]
    closed_text: str = WINDOW_STATUS_NAMES["closed"]
    flash_seconds: int = 5
    colour: int = qlink.Colour.DEFAULT
    brightness: int | None = None

    def __post_init__(self) -> None:
        if not qlink.FIRST_ADDRESS <= self.address <= qlink.LAST_ADDRESS:
            raise ValueError(f"address {self.address} not in {qlink.FIRST_ADDRESS}..{qlink.LAST_ADDRESS}")
        if self.lines < 1:
            raise ValueError("a strip has at least one line")
        if self.charset not in CHARSETS:
            raise ValueError(f"unknown charset {self.charset!r}")
        if self.brightness is not None and not 0 <= self.brightness <= qlink.MAX_BRIGHTNESS:
            raise ValueError(f"brightness {self.brightness} not in 0..{qlink.MAX_BRIGHTNESS}")
        if "{number}" not in self.call_format:
            raise ValueError("call_format must contain {number}")

    @property
    def window_number(self) -> int:
        return self.address if self.window is None else self.window

    @property
    def label_text(self) -> str:
        return f"{self.window_number}号窗口" if self.label is None else self.label

    @property
    def spec(self) -> TextSpec:
        return TextSpec(self.charset, self.width_dots, self.font_dots, self.ascii_fullwidth)


@dataclass(frozen=True)
class StripContent:
    """The strip's lines as they will show (normalised, each within the width), how long they
    flash, and what normalisation had to give up."""

    lines: tuple[str, ...]
    flash_s: int = 0
    replaced: tuple[str, ...] = ()   # characters the charset lacks, shown as □
    truncated: bool = False          # some line was cut at the strip's width

    @property
    def warning(self) -> str:
        """A Chinese note for people, empty when all is shown as meant."""
        parts = []
        if self.replaced:
            parts.append(f"显示屏字库缺字“{''.join(self.replaced)}”，已显示为□")
        if self.truncated:
            parts.append("文字超出屏宽，已截断")
        return "；".join(parts)


def _state_texts(view: Mapping[str, Any], strip: StripConfig) -> tuple[str, list[str], str]:
    """(the state text, the fuller texts to try first, the text to put on a third line)."""
    status = view.get("status")
    if status == "open":
        current = view.get("current")
        if current:
            return strip.call_format.format(number=current), [], ""
        return strip.idle_text, [], ""
    if status == "paused":
        reason = str(view.get("reason") or "").strip()
        fuller = [f"{strip.paused_text}（{reason}）"] if reason else []
        return strip.paused_text, fuller, reason
    return strip.closed_text, [], ""


def _first_fitting(candidates: list[str], spec: TextSpec) -> str:
    for text in candidates:
        if fits(text, spec):
            return text
    return candidates[-1]


def compose(view: Mapping[str, Any] | None, strip: StripConfig,
            call: Mapping[str, Any] | None = None, since_call: float = 0.0) -> StripContent:
    """The strip's content for a window view.

    `call` is the window's last `ticket_called` event (number …) and `since_call` its age in
    seconds: while it is younger than `strip.flash_seconds` and names the ticket the window
    serves, the content flashes for the seconds left. No view: the window is not known yet,
    the strip shows its label and the closed text."""
    view = view or {}
    spec = strip.spec
    label = strip.label_text
    state, fuller, extra = _state_texts(view, strip)
    current = view.get("current")
    if strip.lines == 1:
        if view.get("status") == "open" and not current:
            candidates = [f"{label} {state}", label]
        else:
            candidates = [f"{label} {text}" for text in [*fuller, state]] + [state]
        raw = [_first_fitting(candidates, spec)]
    elif strip.lines == 2:
        raw = [label, _first_fitting([*fuller, state], spec)]
    else:
        raw = [label, state, extra] + [""] * (strip.lines - 3)
    fitted = [fit_text(text, spec) for text in raw]
    flash = 0
    if (call is not None and current and view.get("status") == "open"
            and call.get("number") == current and 0 <= since_call < strip.flash_seconds):
        flash = max(1, math.ceil(strip.flash_seconds - since_call))
    replaced: list[str] = []
    for line in fitted:
        replaced += [ch for ch in line.replaced if ch not in replaced]
    return StripContent(tuple(line.text for line in fitted), flash, tuple(replaced),
                        any(line.truncated for line in fitted))
