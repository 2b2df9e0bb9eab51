"""The ladder: client and server as two lifelines, one arrow per frame with its
label on the arrow (HEADERS request, DATA gRPC request #1, trailers,
END_STREAM), a reset drawn ending in ✕ and a server push in ═, and the gap
in time written beside the arrow where it matters.

A connection's ladder puts its streams side by side: a small ladder per open
stream (lane 0 is the connection itself), like `git log --graph` draws
branches, with the frame's label after the lanes. Rows are drawn one at a
time (the line API), so it scrolls 600,000 frames as the list does.
"""

from __future__ import annotations

from typing import Any

from inspector.rpc.status import format_duration
from inspector.tui.columns import LadderLayout, cell_width, fit, lane_cells
from inspector.tui.detail_words import COLUMN_WORDS
from inspector.tui.lanes import OVERFLOW, Lanes
from inspector.tui.view_cache import position
from inspector.tui.widgets.frame_rows import FrameRows
from inspector.tui.widgets.row_list import Row

GAP_AT_LEAST = 0.010  # seconds: a pause shorter than this is never drawn
GAP_SHARE = 0.10  # a pause is drawn when it is this share of the view's whole span, or more
LANE_CELL = 5  # "│─▶│ "


class Ladder(FrameRows):
    """Frames of a stream (two lifelines) or of a connection (a ladder per stream, side by side)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._label_width = 24
        self._length_digits = 1
        self._gap = GAP_AT_LEAST
        self._lanes: Lanes | None = None
        self._filtered = False  # a filter hides frames: a row's lanes are found by its frame

    def prepare(self) -> None:
        widths = self.cache.widths(self.state.selection, self.state.filters, self.frames)
        # type, role, a gRPC message's number and part or a control value, END_STREAM
        self._label_width = widths.type + (1 + widths.role_short if widths.role_short else 0) + 18 + \
            (11 if widths.flags_spelled >= 10 else 0)
        self._length_digits = widths.length
        log = self.session.frames
        span = log.time[self.frames[-1]] - log.time[self.frames[0]] if self.frames else 0.0
        self._gap = max(GAP_AT_LEAST, GAP_SHARE * span)
        selection = self.state.selection
        if selection is not None and selection[1] is None:
            # Lanes come from every frame of the connection: a filter must not hide a stream's end.
            self._lanes = self.cache.lanes(selection[0])
            self._filtered = len(self.frames) != len(self.all_frames)
        else:
            self._lanes = None

    def _room(self) -> int:
        return max(30, self.scrollable_content_region.width or self.size.width or 120)

    def columns(self) -> LadderLayout:
        return LadderLayout.choose(self._label_width, self._length_digits, self.time_width(), self._room(),
                                   self.lang)

    def row_width(self) -> int:
        return 0

    def header_row(self) -> Row | None:
        if not self.frames:
            return None
        if self._lanes is not None:
            words = COLUMN_WORDS[self.lang]
            return [("  " + fit(words["time"], self.time_width()) + " " + fit(words["lanes"], self._room()),
                     "header")]
        return self.columns().header()

    def gap_text(self, i: int) -> str:
        if i == 0:
            return ""
        log = self.session.frames
        gap = log.time[self.frames[i]] - log.time[self.frames[i - 1]]
        return f"⋮ {format_duration(gap)}" if gap >= self._gap else ""

    def draw_row(self, i: int) -> Row:
        cells = self.cells(i)
        time_text = self.time_text(i, cells.time)
        marks = self.marks_of(cells.index)
        if self._lanes is None:
            return self.columns().row(cells, time_text, marks, self.gap_text(i))
        pos = i if not self._filtered else position(self.all_frames, self.frames[i]) or 0
        width = self._room()
        time_width = self.time_width()
        fitting = max(1, min(self._lanes.width, (width - time_width - 3 - 30) // LANE_CELL))
        lanes = lane_cells(self._lanes.lane[pos], self._lanes.busy[pos], fitting, cells,
                           min(OVERFLOW, fitting - 1) if self._lanes.width > fitting else OVERFLOW)
        label = f"s{cells.stream_id} {cells.arrow}" + (f"  {cells.meaning}" if cells.meaning else "")
        room = width - 2 - time_width - 1 - cell_width(lanes) - 1
        gap = self.gap_text(i)
        return [marks[0], marks[1], (fit(time_text, time_width, right=True), "time"), (" ", ""),
                (lanes, "lane"), (" ", ""), (fit((gap + " " if gap else "") + label, room),
                                             "arrow-client" if cells.direction == 0 else "arrow-server")]

    def on_resize(self) -> None:
        super().on_resize()
        self.header = self.header_row()
        self.refresh()

