"""The guide page's text, page by page: the kiosk lays the guide out in lines itself
(`hall.guide.wrap_line`, measured with the font kivy draws with, numbers joined to their units
by `hall.guide.no_break`) and shows as many whole lines as its area holds. 上一页 / 下一页 turn
the pages; a guide that fits shows no pager."""

from __future__ import annotations

from dataclasses import dataclass

from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.properties import NumericProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from hall import guide
from hall.widgets import Text


@dataclass(frozen=True)
class Block:
    """A paragraph of the guide: its text, type size (px) and whether it is a heading (bold,
    kept with the line after it)."""
    text: str
    font_size: float
    heading: bool = False
    space_before: float = 0     # a gap over its first line (headings)
    section: Block | None = None  # the heading of its section, shown again over a page it opens


@dataclass(frozen=True)
class Line:
    text: str
    font_size: float
    heading: bool
    height: float               # the text's own height
    space: float = 0            # an empty gap over it
    section: Block | None = None
    block: int = 0              # which of the blocks it is of

    @property
    def room(self) -> float:
        return self.height + self.space


class _Measure:
    """A line's width and height in the default font at one size, as kivy will draw it."""

    def __init__(self, font_size: float, bold: bool):
        self.label = CoreLabel(font_size=font_size, bold=bold)
        self.height = max(self.label.get_extents("国")[1], font_size * 1.4)

    def __call__(self, text: str) -> float:
        return self.label.get_extents(text)[0] if text else 0


class GuidePages(BoxLayout):
    """Shows `pages[page]`; `pages` (the count) and `page` change as the area is laid out and
    as the pager turns."""

    page = NumericProperty(0)
    pages = NumericProperty(1)

    def __init__(self, blocks: list[Block], colour, place: int = 0, **kwargs):
        """`place`: the block whose first line's page to open at (`place` of the guide shown
        before, when the screen turns or 长辈模式 changes)."""
        super().__init__(orientation="vertical", **kwargs)
        self.blocks, self.colour, self._place = blocks, colour, place
        self.lines: list[Line] = []
        self.page_lines: list[list[int]] = [[]]
        self._laid_for: tuple[float, float] | None = None
        self._measures: dict[tuple[float, bool], _Measure] = {}
        self._layout = Clock.create_trigger(self._paginate, -1)
        self.bind(size=self._layout, page=self._show)

    def _measure(self, font_size: float, bold: bool) -> _Measure:
        key = (font_size, bold)
        if key not in self._measures:
            self._measures[key] = _Measure(font_size, bold)
        return self._measures[key]

    def _paginate(self, *_) -> None:
        size = (self.width, self.height)
        if self.width < 10 or self.height < 10 or size == self._laid_for:
            return
        width = self.width - 2          # a hair narrower than kivy's own box: it never rewraps
        self.lines = []
        for b, block in enumerate(self.blocks):
            measure = self._measure(block.font_size, block.heading)
            for n, text in enumerate(guide.wrap_line(guide.no_break(block.text), width, measure)):
                self.lines.append(Line(text, block.font_size, block.heading, measure.height,
                                       block.space_before if n == 0 else 0, block.section, b))
        self.page_lines = guide.paginate(
            [line.room for line in self.lines], self.height, [line.heading for line in self.lines],
            [self._measure(line.section.font_size, True).height * self._continued_lines(line)
             if line.section else 0 for line in self.lines])
        self._laid_for = size
        self.pages = len(self.page_lines)
        # the page that holds the block shown first before (a new size keeps the place)
        at = next((i for i, line in enumerate(self.lines) if line.block >= self._place), 0)
        page = next((n for n, idx in enumerate(self.page_lines) if at in idx), 0)
        if page != self.page:
            self.page = page
        else:
            self._show()

    def _continued(self, section: Block) -> str:
        return section.text + "（续）"

    def _continued_lines(self, line: Line) -> int:
        assert line.section is not None
        measure = self._measure(line.section.font_size, True)
        return len(guide.wrap_line(self._continued(line.section), self.width - 2, measure))

    def _show(self, *_) -> None:
        self.clear_widgets()
        shown = self.page_lines[min(int(self.page), len(self.page_lines) - 1)]
        opens = self.lines[shown[0]] if shown else None
        if opens is not None and opens.section is not None:   # 〈■ 所需材料（续）〉 over the rest
            section = opens.section
            self.add_widget(Text(text=self._continued(section), font_size=section.font_size,
                                 bold=True, color=self.colour,
                                 height=self._measure(section.font_size, True).height))
        for i in shown:
            line = self.lines[i]
            if line.space:
                self.add_widget(Widget(size_hint_y=None, height=line.space))
            self.add_widget(Text(text=line.text, font_size=line.font_size, bold=line.heading,
                                 color=self.colour, height=line.height))
        self.add_widget(Widget())       # what the page leaves over stays empty at its foot

    @property
    def place(self) -> int:
        """The block the page one turned to begins in: kept as it is through new sizes, so
        that laying out again and again (a first size, then the real one) does not drift."""
        return self._place

    def turn(self, by: int) -> None:
        self.page = max(0, min(int(self.page) + by, self.pages - 1))
        shown = self.page_lines[int(self.page)]
        self._place = self.lines[shown[0]].block if shown else 0
