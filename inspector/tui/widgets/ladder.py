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

from typing import TYPE_CHECKING

from inspector.rpc.status import format_duration
from inspector.tui.columns import LadderLayout, cell_width, fit, lane_cells
from inspector.tui.detail_words import COLUMN_WORDS
from inspector.tui.lanes import OVERFLOW, Lanes
from inspector.tui.view_cache import position
from inspector.tui.widgets.row_list import Row

if TYPE_CHECKING:
    from inspector.tui.widgets.frame_rows import FrameRows

GAP_AT_LEAST = 0.010  # seconds: a pause shorter than this is never drawn
GAP_SHARE = 0.10  # a pause is drawn when it is this share of the view's whole span, or more
LANE_CELL = 5  # "│─▶│ "


class LadderShape:
    """How a frame view draws a stream (two lifelines) or a connection (a ladder per stream, side by side)."""

    name = "ladder"

    def __init__(self) -> None:
        self._label_width = 24
        self._length_digits = 1
        self._gap = GAP_AT_LEAST
        self._lanes: Lanes | None = None
        self._filtered = False  # a filter hides frames: a row's lanes are found by its frame

    def prepare(self, view: FrameRows) -> None:
        widths = view.cache.widths(view.state.selection, view.state.filters, view.frames)
        # type, role, a gRPC message's number and part or a control value, END_STREAM
        self._label_width = widths.type + (1 + widths.role_short if widths.role_short else 0) + 18 + \
            (11 if widths.flags_spelled >= 10 else 0)
        self._length_digits = widths.length
        log, frames = view.session.frames, view.frames
        span = log.time[frames[-1]] - log.time[frames[0]] if frames else 0.0
        self._gap = max(GAP_AT_LEAST, GAP_SHARE * span)
        selection = view.state.selection
        if selection is not None and selection[1] is None:
            # Lanes come from every frame of the connection: a filter must not hide a stream's end.
            self._lanes = view.cache.lanes(selection[0])
            self._filtered = len(frames) != len(view.all_frames)
        else:
            self._lanes = None

    @staticmethod
    def _room(view: FrameRows) -> int:
        return max(30, view.scrollable_content_region.width or view.size.width or 120)

    def columns(self, view: FrameRows) -> LadderLayout:
        return LadderLayout.choose(self._label_width, self._length_digits, view.time_width(), self._room(view),
                                   view.lang)

    def header_row(self, view: FrameRows) -> Row | None:
        if not view.frames:
            return None
        if self._lanes is not None:
            words = COLUMN_WORDS[view.lang]
            time_width = view.time_width()
            lanes = fit(words["lanes"], self._room(view) - 3 - time_width)
            return [("  " + fit(words["time"], time_width) + " " + lanes, "header")]
        return self.columns(view).header()

    def gap_text(self, view: FrameRows, i: int) -> str:
        if i == 0:
            return ""
        log, frames = view.session.frames, view.frames
        gap = log.time[frames[i]] - log.time[frames[i - 1]]
        return f"⋮ {format_duration(gap)}" if gap >= self._gap else ""

    def draw_row(self, view: FrameRows, i: int) -> Row:
        cells = view.cells(i)
        time_text = view.time_text(i, cells.time)
        marks = view.marks_of(cells.index)
        if self._lanes is None:
            return self.columns(view).row(cells, time_text, marks, self.gap_text(view, i))
        pos = i if not self._filtered else position(view.all_frames, view.frames[i]) or 0
        width = self._room(view)
        time_width = view.time_width()
        fitting = max(1, min(self._lanes.width, (width - time_width - 3 - 30) // LANE_CELL))
        lanes = lane_cells(self._lanes.lane[pos], self._lanes.busy[pos], fitting, cells,
                           min(OVERFLOW, fitting - 1) if self._lanes.width > fitting else OVERFLOW)
        label = f"s{cells.stream_id} {cells.arrow}" + (f"  {cells.meaning}" if cells.meaning else "")
        room = width - 2 - time_width - 1 - cell_width(lanes) - 1
        gap = self.gap_text(view, i)
        return [marks[0], marks[1], (fit(time_text, time_width, right=True), "time"), (" ", ""),
                (lanes, "lane"), (" ", ""), (fit((gap + " " if gap else "") + label, room),
                                             "arrow-client" if cells.direction == 0 else "arrow-server")]
