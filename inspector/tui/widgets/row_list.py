"""A list that draws only the rows on screen (Textual's line API), with a cursor.

Hundreds of thousands of rows cost nothing until they scroll into view: the
widget asks `row(i)` for visible rows only and keeps a small cache of them.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

Row = list[tuple[str, str]]  # (text, rich style) pieces


class RowList(ScrollView, can_focus=True):
    """Rows from a callback, a highlighted cursor, keyboard and mouse."""

    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
        Binding("enter", "choose", "Open", show=False),
    ]

    class _RowMessage(Message):
        """Something happened on row `index` of a RowList."""

        def __init__(self, sender: RowList, index: int) -> None:
            super().__init__()
            self.list = sender
            self.index = index

        @property
        def control(self) -> RowList:
            return self.list

    class Highlighted(_RowMessage):
        """The cursor moved to a row."""

    class Chosen(_RowMessage):
        """Enter (or a double click) on a row."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.count = 0
        self.cursor = 0
        self.row: Callable[[int], Row] = lambda i: [("", "")]
        # Called with the cursor's new row before the list repaints, so that what shows
        # that row (a detail pane) lands in the same screen update. Highlighted, a message,
        # reaches the app only after a few hops, often after the list has repainted alone.
        self.follow: Callable[[int], None] = lambda i: None
        self._cache: dict[int, Strip] = {}
        self._width = 200

    def set_rows(self, count: int, row: Callable[[int], Row], *, keep_cursor: bool = True,
                 width: int = 200) -> None:
        """Show `count` rows drawn by `row(i)`."""
        self.count = count
        self.row = row
        self._width = width
        self._cache.clear()
        if not keep_cursor or self.cursor >= count:
            self.cursor = max(0, min(self.cursor if keep_cursor else 0, count - 1))
        self._set_virtual_size(Size(width, count))
        self.refresh()

    def redraw(self) -> None:
        """Draw every row again (what they say changed, not how many there are)."""
        self._cache.clear()
        self.refresh()

    def grow(self, count: int) -> None:
        """More rows at the end (a live session): nothing already drawn changes."""
        if count != self.count:
            self.count = count
            self._set_virtual_size(Size(self._width, count))
            self.refresh()

    def _set_virtual_size(self, size: Size) -> None:
        # Assigning `virtual_size` asks Textual for a layout of the whole screen, and
        # after a layout it repaints every scrollbar on screen a second time. Our box
        # is sized by the stylesheet, never by its rows, so new rows only move our own
        # scrollbars; one that appears or disappears asks for its layout itself.
        if size != self.virtual_size:
            self.set_reactive(RowList.virtual_size, size)
            self._scroll_update(size)  # what Textual itself runs for a widget after a layout

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        if index >= self.count:
            return Strip.blank(width)
        strip = self._cache.get(index)
        if strip is None:
            if len(self._cache) > 2000:
                self._cache.clear()
            strip = Strip([Segment(text, Style.parse(style) if style else Style()) for text, style in
                           self.row(index)])
            self._cache[index] = strip
        if index == self.cursor:
            strip = strip.apply_style(Style(reverse=True) if self.has_focus else Style(bgcolor="grey30"))
        return strip.crop_extend(scroll_x, scroll_x + width, None)

    def _move_to(self, index: int) -> None:
        if not self.count:
            return
        index = max(0, min(index, self.count - 1))
        old, self.cursor = self.cursor, index
        self.scroll_to_region(Region(0, index, 1, 1), animate=False, force=True)
        self.refresh_line(old)
        self.refresh_line(index)
        self.follow(index)
        self.post_message(self.Highlighted(self, index))

    def refresh_line(self, index: int) -> None:
        """Repaint one row (the cursor moved on or off it)."""
        y = index - self.scroll_offset.y
        if 0 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def action_move(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(1, self.size.height - 1))

    def action_jump(self, index: int) -> None:
        self._move_to(index if index >= 0 else self.count - 1)

    def action_choose(self) -> None:
        if self.count:
            self.post_message(self.Chosen(self, self.cursor))

    def move_to(self, index: int) -> None:
        """Put the cursor on a row and show it."""
        self._move_to(index)

    def on_focus(self) -> None:
        self.refresh_line(self.cursor)

    def on_blur(self) -> None:
        self.refresh_line(self.cursor)

    def on_click(self, event: events.Click) -> None:
        index = self.scroll_offset.y + event.y
        if 0 <= index < self.count:
            self._move_to(index)
            if getattr(event, "chain", 1) >= 2:
                self.post_message(self.Chosen(self, index))
