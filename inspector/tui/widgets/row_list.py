"""A list that draws only the rows on screen (Textual's line API), with a cursor
and an optional header row that stays put while the rows scroll.

Hundreds of thousands of rows cost nothing until they scroll into view: the
widget asks `row(i)` for visible rows only and keeps a small cache of them.
A row is a list of pieces (text, component class); the classes are declared
by each widget (`COMPONENT_CLASSES`) and styled in the .tcss, so a theme, a
light one too, restyles every row without the code knowing a colour.
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

Row = list[tuple[str, str]]  # (text, component class name without the widget's prefix, or "")


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

    #: a piece of a row names its classes without the "row--" prefix ("time", "type-data flags");
    #: each is styled in the .tcss (`RowList > .row--time`), so a theme restyles every row
    COMPONENT_CLASSES = {f"row--{name}" for name in (
        "cursor", "cursor-blurred", "header", "time", "client", "server", "stream", "type-data", "type-headers",
        "type-reset", "type-push", "type-control", "flags", "role", "length", "meaning", "match", "error",
        "warning", "info", "gap", "lifeline", "arrow-client", "arrow-server", "arrow-reset", "arrow-push",
        "lane", "conn", "what", "status", "status-failed", "style", "state", "count", "duration",
        "rule", "title", "where", "detail", "detail-title", "hex")}
    PREFIX = "row--"

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

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.count = 0
        self.cursor = 0
        self.row: Callable[[int], Row] = lambda i: [("", "")]
        self.header: Row | None = None  # drawn on the first line, never scrolled away
        # Called with the cursor's new row before the list repaints, so that what shows
        # that row (a detail pane) lands in the same screen update. Highlighted, a message,
        # reaches its listeners only after a few hops, often after the list has repainted alone.
        self.follow: Callable[[int], None] = lambda i: None
        self._header_maker: Callable[[], Row | None] | None = None
        self._cache: dict[int, Strip] = {}
        self._styles: dict[str, Style] = {}
        self._width = 200

    # ---- rows ----------------------------------------------------------------------------

    @property
    def _head(self) -> int:
        return 1 if self.header is not None else 0

    def set_rows(self, count: int, row: Callable[[int], Row], *, keep_cursor: bool = True,
                 width: int = 200, header: Row | Callable[[], Row | None] | None = None) -> None:
        """Show `count` rows drawn by `row(i)`, under `header` if given (a row, or a function that
        draws it, so that it follows the columns when the width changes)."""
        self.count = count
        self.row = row
        if callable(header):
            self._header_maker = header
            self.header = header()
        else:
            self._header_maker = None
            self.header = header
        self._width = width
        self._cache.clear()
        if not keep_cursor or self.cursor >= count:
            self.cursor = max(0, min(self.cursor if keep_cursor else 0, count - 1))
        self._set_virtual_size(Size(width, count + self._head))
        self.refresh()

    def redraw(self) -> None:
        """Draw every row again (what they say changed, not how many there are)."""
        self._cache.clear()
        self.refresh()

    def grow(self, count: int) -> None:
        """More rows at the end (a live session): nothing already drawn changes."""
        if count != self.count:
            self.count = count
            self._set_virtual_size(Size(self._width, count + self._head))
            self.refresh()

    def _set_virtual_size(self, size: Size) -> None:
        # Assigning `virtual_size` asks Textual for a layout of the whole screen, and
        # after a layout it repaints every scrollbar on screen a second time. Our box
        # is sized by the stylesheet, never by its rows, so new rows only move our own
        # scrollbars; one that appears or disappears asks for its layout itself.
        if size != self.virtual_size:
            self.set_reactive(RowList.virtual_size, size)
            self._scroll_update(size)  # what Textual itself runs for a widget after a layout

    def visible_rows(self) -> int:
        """How many rows fit under the header."""
        return max(1, self.size.height - self._head)

    def row_text(self, i: int) -> str:
        """Row `i` as plain text (for tests and copying)."""
        return "".join(text for text, _ in self.row(i))

    # ---- drawing ---------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = Style()
            for part in name.split():
                style += self.get_component_rich_style(self.PREFIX + part, partial=True, default=Style())
            self._styles[name] = style
        return style

    def notify_style_update(self) -> None:
        # A theme or stylesheet change: the rows are drawn again in the new styles.
        super().notify_style_update()
        self._styles.clear()
        self._cache.clear()

    def _strip(self, row: Row) -> Strip:
        return Strip([Segment(text, self._style(cls) if cls else None) for text, cls in row if text])

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if self.header is not None:
            if y == 0:
                if self._header_maker is not None:
                    self.header = self._header_maker() or self.header  # the columns at this width
                return self._strip(self.header).crop_extend(scroll_x, scroll_x + width,
                                                            self._style("header"))
            y -= 1
        index = scroll_y + y
        if index >= self.count:
            return Strip.blank(width)
        strip = self._cache.get(index)
        if strip is None:
            if len(self._cache) > 2000:
                self._cache.clear()
            strip = self._cache[index] = self._strip(self.row(index))
        if index == self.cursor:
            strip = strip.crop_extend(0, max(width + scroll_x, strip.cell_length), None)
            strip = strip.apply_style(self._style("cursor" if self.has_focus else "cursor-blurred"))
        return strip.crop_extend(scroll_x, scroll_x + width, None)

    # ---- the cursor ----------------------------------------------------------------------------

    def _scroll_to_row(self, index: int) -> None:
        top = self.scroll_offset.y
        shown = self.visible_rows()
        if index < top:
            self.scroll_to(y=index, animate=False, force=True, immediate=True)
        elif index >= top + shown:
            self.scroll_to(y=index - shown + 1, animate=False, force=True, immediate=True)

    def _move_to(self, index: int) -> None:
        if not self.count:
            return
        index = max(0, min(index, self.count - 1))
        old, self.cursor = self.cursor, index
        self._scroll_to_row(index)
        self.refresh_line(old)
        self.refresh_line(index)
        self.follow(index)
        self.post_message(self.Highlighted(self, index))

    def refresh_line(self, index: int) -> None:
        """Repaint one row (the cursor moved on or off it)."""
        y = index - self.scroll_offset.y + self._head
        if self._head <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def action_move(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(1, self.visible_rows() - 1))

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
        index = self.scroll_offset.y + event.y - self._head
        if 0 <= index < self.count and event.y >= self._head:
            self._move_to(index)
            if getattr(event, "chain", 1) >= 2:
                self.post_message(self.Chosen(self, index))

    def on_resize(self) -> None:
        self._cache.clear()
