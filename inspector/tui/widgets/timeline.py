"""The timeline as a list: one row per frame, in fixed columns (time, direction,
stream, type, flags, role, length, what it carries), widths from the content
and the terminal (`columns.ListLayout`)."""

from __future__ import annotations

from typing import Any

from inspector.tui.columns import ContentWidths, ListLayout
from inspector.tui.widgets.frame_rows import FrameRows
from inspector.tui.widgets.row_list import Row


class Timeline(FrameRows):
    """Frames of a stream or a connection, a row each."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._widths = ContentWidths()
        self._layouts: dict[int, ListLayout] = {}

    def prepare(self) -> None:
        self._widths = self.cache.widths(self.state.selection, self.state.filters, self.frames)
        self._layouts.clear()

    def columns(self) -> ListLayout:
        """The columns at the width the list has now."""
        width = max(20, self.scrollable_content_region.width or self.size.width or 120)
        layout = self._layouts.get(width)
        if layout is None:
            layout = self._layouts[width] = ListLayout.choose(self._widths, self.time_width(), width, self.lang)
        return layout

    def row_width(self) -> int:
        return 0  # as wide as the list: the layout fits the columns to it

    def header_row(self) -> Row | None:
        return self.columns().header() if self.frames else None

    def draw_row(self, i: int) -> Row:
        cells = self.cells(i)
        return self.columns().row(cells, self.time_text(i, cells.time), self.marks_of(cells.index))

    def on_resize(self) -> None:
        super().on_resize()
        self.header = self.header_row()
        self.refresh()
