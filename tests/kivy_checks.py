"""Checks every kivy screen must pass, walking the widget tree: each text's contrast with the
background it is drawn on (WCAG ≥ 4.5:1), each button at least 60 × 60 dp."""

from __future__ import annotations

from kivy.metrics import dp
from kivy.uix.button import Button
from kivy.uix.label import Label

from hall.look import MIN_CONTRAST, MIN_TARGET_DP, contrast_ratio


def _background(widget) -> tuple[float, ...]:
    node = widget
    while node is not None:
        if hasattr(node, "bg"):
            return tuple(node.bg)
        node = node.parent
    raise AssertionError(f"{widget!r} is drawn on no known background")


def accessibility_problems(root) -> list[str]:
    problems = []
    for widget in root.walk(restrict=True):
        if not isinstance(widget, Label) or not widget.text.strip() or widget.opacity == 0:
            continue
        colour = widget.disabled_color if widget.disabled else widget.color
        ratio = contrast_ratio(colour, _background(widget))
        if ratio < MIN_CONTRAST:
            problems.append(f"{widget.text[:20]!r}: contrast {ratio:.2f} < {MIN_CONTRAST}")
        if isinstance(widget, Button) and (widget.width < dp(MIN_TARGET_DP) - 0.5
                                           or widget.height < dp(MIN_TARGET_DP) - 0.5):
            problems.append(f"{widget.text[:20]!r}: button {widget.width:.0f}×{widget.height:.0f}"
                            f" < {MIN_TARGET_DP} dp")
    return problems
