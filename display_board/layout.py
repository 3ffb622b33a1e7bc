"""Where each part of the board goes, from the window's size and the board's settings: pure.

The window grid's rows are drawn at one LED dot pitch (`Plan.pitch`): the least that the
viewing distance needs (`legibility.legible_pitch`), or, when the board's settings fix the
rows per page, the largest at which that many rows fit. Everything people read from the
floor (the hall's name and the time, the last calls, the waiting counts, the notice) is drawn
at that pitch or larger; only the column headings and the page number are smaller. Landscape
puts the last calls and the waiting counts beside the grid; portrait puts them under it, so
the grid and its rows take the whole height that is left.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from display_board.legibility import ROW_DOTS, Screen, legible_pitch

MARGIN = 16
SIDE_DOTS = 104        # "A001 → 142号" and its gap, in dots: the landscape side column
PORTRAIT_SIDE_LINES = 3
MAX_PITCH = 40
MARK_DISTANCE_M = 3.0  # the 预约 tag beside a booked ticket's number is read from this near


@dataclass(frozen=True)
class BoardSettings:
    """The board's configuration (`display-board --rows --distance --screen-inches`)."""

    rows: int | None = None          # rows per page; None: as many as fit legibly
    distance_m: float = 10.0         # from the board to the farthest seat that must read it
    diagonal_in: float = 55.0        # the screen's diagonal


@dataclass(frozen=True)
class Box:
    x: float
    top: float
    width: float
    bottom: float

    @property
    def height(self) -> float:
        return self.top - self.bottom


@dataclass(frozen=True)
class Plan:
    width: int
    height: int
    pitch: int              # the grid's rows, the side lists, the header, the notice
    label_pitch: int        # column headings, the page number
    call_pitch: int         # the largest the current call may take
    call_lines: int         # 1 in landscape; 2 in portrait (请 A012 号 / 到 12 号窗口)
    header_top: float
    call_top: float
    grid: Box
    side: Box               # landscape: beside the grid; portrait: under it, in two columns
    notice_height: float
    rows: int               # window rows per page
    legible_pitch: int      # the least pitch the distance needs (for the check and the docs)
    mark_pitch: int         # the 预约 tag of a booked ticket in the last calls (legible at 3 m)

    @property
    def portrait(self) -> bool:
        return self.height > self.width

    @property
    def row_height(self) -> float:
        return ROW_DOTS * self.pitch + row_gap(self.pitch)

    @property
    def label_height(self) -> float:
        return ROW_DOTS * self.label_pitch + 10

    @property
    def legible(self) -> bool:
        return self.pitch >= self.legible_pitch


def row_gap(pitch: int) -> int:
    return max(4, pitch + 2)


def label_pitch(pitch: int) -> int:
    return max(2, round(pitch * 0.6))


def _plan_at(width: int, height: int, pitch: int, legible: int, mark: int) -> Plan:
    portrait = height > width
    labels = label_pitch(pitch)
    label_height = ROW_DOTS * labels + 10
    row_height = ROW_DOTS * pitch + row_gap(pitch)
    header_top = height - 12
    call_top = header_top - ROW_DOTS * pitch - 16
    call_pitch = 2 * pitch
    call_lines = 2 if portrait else 1
    grid_top = call_top - call_lines * ROW_DOTS * call_pitch - 8 * call_lines - 16
    notice_height = ROW_DOTS * pitch + 16
    bottom = notice_height + 8
    if portrait:
        side_height = label_height + PORTRAIT_SIDE_LINES * row_height
        side = Box(MARGIN, bottom + side_height, width - 2 * MARGIN, bottom)
        grid = Box(MARGIN, grid_top, width - 2 * MARGIN, side.top + 8)
    else:
        side_width = SIDE_DOTS * pitch + MARGIN
        side = Box(width - side_width, grid_top, side_width - MARGIN, bottom)
        grid = Box(MARGIN, grid_top, width - side_width - 2 * MARGIN, bottom)
    rows = int((grid.height - label_height) // row_height)
    return Plan(width, height, pitch, labels, call_pitch, call_lines, header_top, call_top,
                grid, side, notice_height, max(0, rows), legible, mark)


def plan(width: int, height: int, settings: BoardSettings = BoardSettings()) -> Plan:
    """The board's plan for a window of `width` × `height` pixels. With `settings.rows`, the
    pitch is the largest at which that many rows fit (it may then be below the legible one:
    `Plan.legible` says so, and the command refuses such settings); without, the legible
    pitch, and as many rows as fit."""
    screen = Screen(width, height, settings.diagonal_in)
    legible = legible_pitch(screen, settings.distance_m)
    mark = legible_pitch(screen, MARK_DISTANCE_M)
    if settings.rows is None:
        return _plan_at(width, height, legible, legible, mark)
    fitting = [p for p in range(2, MAX_PITCH + 1)
               if _plan_at(width, height, p, legible, mark).rows >= settings.rows]
    chosen = _plan_at(width, height, max(fitting) if fitting else 2, legible, mark)
    return replace(chosen, rows=min(settings.rows, chosen.rows))
