"""The shared look: contrast arithmetic, both palettes, and the widget-tree checker itself."""

from __future__ import annotations

import pytest

from hall.look import ELDER, ELDER_SIZES, MIN_CONTRAST, NORMAL, NORMAL_SIZES, contrast_ratio


def test_contrast_ratio_matches_wcag():
    assert contrast_ratio((0, 0, 0), (1, 1, 1)) == pytest.approx(21)
    assert contrast_ratio((1, 1, 1), (1, 1, 1)) == pytest.approx(1)
    grey = 0x76 / 255        # #767676, the lightest grey that passes on white
    assert contrast_ratio((grey, grey, grey), (1, 1, 1)) == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("palette", [NORMAL, ELDER], ids=["normal", "elder"])
def test_every_text_colour_reads_on_its_background(palette):
    pairs = [("text", "background"), ("text", "surface"), ("muted", "background"),
             ("muted", "surface"), ("on_primary", "primary"), ("on_secondary", "secondary"),
             ("on_alert", "alert"), ("on_header", "header")]
    for fg, bg in pairs:
        ratio = contrast_ratio(getattr(palette, fg), getattr(palette, bg))
        assert ratio >= MIN_CONTRAST, (fg, bg, ratio)


def test_elder_mode_is_bigger_where_the_issue_says():
    assert NORMAL_SIZES.body >= 18 and NORMAL_SIZES.title >= 30
    assert ELDER_SIZES.body >= 30 and ELDER_SIZES.title > NORMAL_SIZES.title
    assert min(NORMAL_SIZES.target, ELDER_SIZES.target) >= 60


def test_the_checker_finds_faint_text_and_small_buttons():
    from kivy.uix.button import Button
    from kivy.uix.label import Label

    from hall.widgets import Panel
    from tests.kivy_checks import accessibility_problems

    root = Panel(bg=(1, 1, 1, 1))
    root.add_widget(Label(text="浅灰色的字", color=(0.8, 0.8, 0.8, 1)))
    small = Button(text="小", size_hint=(None, None), size=(40, 40), color=(1, 1, 1, 1),
                   background_color=(0, 0, 0, 1))
    small.bg = (0, 0, 0, 1)
    root.add_widget(small)
    problems = accessibility_problems(root)
    assert len(problems) == 2
    assert "contrast" in problems[0] and "40×40" in problems[1]
