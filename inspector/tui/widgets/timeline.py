"""The frames as a list: one row per frame, in fixed columns (time, direction,
stream, type, flags, role, length, what it carries), widths from the content
and the terminal (`columns.ListLayout`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inspector.tui.columns import ContentWidths, ListLayout
from inspector.tui.widgets.row_list import Row

if TYPE_CHECKING:
    from inspector.tui.widgets.frame_rows import FrameRows


class ListShape:
    """How a frame view draws its frames as a list, a row each."""

    name = "list"

    def __init__(self) -> None:
        self._widths = ContentWidths()
        self._layouts: dict[int, ListLayout] = {}

    def prepare(self, view: FrameRows) -> None:
        self._widths = view.cache.widths(view.state.selection, view.state.filters, view.frames)
        self._layouts.clear()

    def columns(self, view: FrameRows) -> ListLayout:
        """The columns at the width the view has now."""
        width = max(20, view.scrollable_content_region.width or view.size.width or 120)
        layout = self._layouts.get(width)
        if layout is None:
            layout = self._layouts[width] = ListLayout.choose(self._widths, view.time_width(), width, view.lang)
        return layout

    def header_row(self, view: FrameRows) -> Row | None:
        return self.columns(view).header() if view.frames else None

    def draw_row(self, view: FrameRows, i: int) -> Row:
        cells = view.cells(i)
        return self.columns(view).row(cells, view.time_text(i, cells.time), view.marks_of(cells.index))
