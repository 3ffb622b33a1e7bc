"""The department tiles on the kiosk's home screen, page by page: as many whole rows as the
area left under the search and 常办事项 holds, each tile at least `least` high, so that nothing
on home lies below the screen's edge, even in 长辈模式 on a landscape screen. 上一页 / 下一页
turn the pages (the pager of the guide pages, `KioskApp._pager`); tiles that all fit show no
pager."""

from __future__ import annotations

from collections.abc import Callable

from kivy.clock import Clock
from kivy.properties import NumericProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget


def rows_per_page(height: float, least: float, gap: float, rows: int) -> int:
    """How many of `rows` rows of tiles at least `least` high, `gap` apart, `height` holds:
    at least one, however short the area (the tiles then shrink to fit it)."""
    return max(1, min(rows, int((height + gap) // (least + gap))))


class TilePages(BoxLayout):
    """Shows the tiles of `page`; `pages` (the count) and `page` change as the area is laid
    out and as the pager turns."""

    page = NumericProperty(0)
    pages = NumericProperty(1)

    def __init__(self, tiles: list[Widget], cols: int, least: float, most: float, gap: float,
                 place: int = 0, short: Callable[[Widget, bool], None] = lambda tile, short: None,
                 **kwargs):
        """`place`: the first tile of the page to open at (the page shown before a redraw);
        `short(tile, True)` before a tile is shown lower than `least` (an area too short even
        for one row: a banner over it), to leave out what it can, `short(tile, False)` else."""
        super().__init__(orientation="vertical", **kwargs)
        self.tiles, self.cols, self.least, self.most, self.gap = tiles, cols, least, most, gap
        self.short = short
        self._place = place
        self.per_page = len(tiles)
        self.tile_height = least
        self.grid = GridLayout(cols=cols, spacing=gap, size_hint_y=None, height=0)
        self.add_widget(self.grid)
        self.add_widget(Widget())       # what the tiles leave over stays empty at the foot
        self._laid_for: tuple[float, float] | None = None
        self._layout = Clock.create_trigger(self._paginate, -1)
        self.bind(size=self._layout, page=self._show)

    def _paginate(self, *_) -> None:
        size = (self.width, self.height)
        if self.width < 10 or self.height < 10 or size == self._laid_for:
            return
        self._laid_for = size
        rows = rows_per_page(self.height, self.least, self.gap, -(-len(self.tiles) // self.cols))
        self.per_page = rows * self.cols
        self.tile_height = min(self.most, (self.height - (rows - 1) * self.gap) / rows)
        self.pages = max(1, -(-len(self.tiles) // self.per_page))
        page = min(self._place // self.per_page, self.pages - 1)
        if page != self.page:
            self.page = page
        else:
            self._show()

    def _show(self, *_) -> None:
        self.grid.clear_widgets()
        first = int(self.page) * self.per_page
        shown = self.tiles[first:first + self.per_page]
        for tile in shown:
            tile.height = self.tile_height
            self.short(tile, self.tile_height < self.least)
            self.grid.add_widget(tile)
        rows = -(-len(shown) // self.cols)
        self.grid.height = rows * self.tile_height + max(0, rows - 1) * self.gap

    @property
    def place(self) -> int:
        """The first tile of the page turned to, kept through new sizes."""
        return self._place

    def turn(self, by: int) -> None:
        self.page = max(0, min(int(self.page) + by, self.pages - 1))
        self._place = int(self.page) * self.per_page
