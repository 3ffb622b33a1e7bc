"""The kiosk's words: every character it can show has a glyph in the shipped font, and the
idle rule sends the screen home only when nobody is using it."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from hall.look import FONT

ROOT = Path(__file__).resolve().parent.parent
UI_SOURCES = [*sorted((ROOT / "kiosk").glob("*.py")), ROOT / "hall" / "look.py"]  # the screens
HALLS = sorted((ROOT / "assets" / "halls").glob("*.toml"))


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _ui_strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


@pytest.mark.parametrize("source", UI_SOURCES + HALLS, ids=lambda p: p.name)
def test_every_character_has_a_glyph(source):
    cmap = TTFont(FONT).getBestCmap()
    if source.suffix == ".toml":
        texts = _strings(tomllib.loads(source.read_text(encoding="utf-8")))
    else:
        texts = _ui_strings(source)
    missing = sorted({ch for text in texts for ch in text
                      if ch.isprintable() and not ch.isspace() and ord(ch) not in cmap})
    assert missing == [], f"{source.name}: no glyph for {''.join(missing)}"


def test_the_check_notices_a_missing_glyph():
    cmap = TTFont(FONT).getBestCmap()
    assert ord("社") in cmap and ord("😀") not in cmap


class FakeClock:
    """The kiosk's injected clock: the test moves time on instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def kiosk():
    from hall.look import register_font
    from kiosk.app import KioskApp
    from kiosk.model import KioskModel
    from queue_server import views
    from queue_server.hall_toml import load_hall

    register_font()
    model = KioskModel()
    model.set_catalogue(views.catalogue_view(load_hall(ROOT / "assets/halls/demo-town.toml"), 1))
    model.set_connection(True, "已连接")
    app = KioskApp(model, take_ticket=None, print_ticket=None, clock=FakeClock())
    app.root = app.build()
    return app


def test_idle_goes_home_after_a_warning_and_a_touch_keeps_the_page(kiosk):
    from hall.widgets import BigButton
    from kiosk.app import IDLE_SECONDS, WARNING_SECONDS

    clock = kiosk.clock
    code = kiosk.model.departments()[1].items[0]["code"]
    kiosk.show_guide(code)
    kiosk._touched()
    clock.now += IDLE_SECONDS - 5                                # someone read for 55 s
    kiosk._tick(1)
    assert kiosk.screen == "guide"
    clock.now += 6                                               # 61 s without a touch
    kiosk._tick(1)
    assert kiosk.screen == "idle_warning"
    stay = next(w for w in kiosk.root.walk() if isinstance(w, BigButton) and w.text == "继续浏览")
    kiosk._touched()
    stay.dispatch("on_release")
    assert kiosk.screen == "guide" and kiosk._item == code
    clock.now += IDLE_SECONDS + WARNING_SECONDS + 1
    kiosk._tick(1)
    assert kiosk.screen == "home"
    clock.now += 3600                                            # home stays home
    kiosk._tick(1)
    assert kiosk.screen == "home"


def test_a_ticket_stays_its_full_time_whatever_ticket_came_before(kiosk):
    """In a busy hall the next citizen takes a ticket seconds after the last: each ticket stays
    TICKET_SECONDS from its own showing. The earlier ticket's time once ran on and sent the next
    one home after 2 s (and, with slow frames, before bench/kiosk_figures.py saw it at all)."""
    from kiosk.app import TICKET_SECONDS

    clock = kiosk.clock
    item = kiosk.model.departments()[0].items[0]

    def ticket(number: str) -> dict:
        return {"number": number, "ahead": 0, "service": item["code"], "category_name": "综合",
                "issued_at": "2026-12-07T09:00:00+08:00", "url": ""}

    kiosk.show_ticket(ticket("A001"))
    clock.now += TICKET_SECONDS - 2                   # the first citizen taps 完成 at once …
    kiosk.show_home()
    kiosk.show_department(kiosk.model.departments()[0].code)
    clock.now += 1
    kiosk.show_ticket(ticket("A002"))                 # … and the next takes a ticket
    for _ in range(TICKET_SECONDS - 1):               # the first ticket's time runs out here
        clock.now += 1
        kiosk._tick(1)
        assert kiosk.screen == "ticket"
    clock.now += 1
    kiosk._tick(1)
    assert kiosk.screen == "home"
