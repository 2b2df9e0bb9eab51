"""The frame view: the frames of the chosen stream (or connection) after the
filters, the clock, the marks of search matches and findings, and the cursor
kept on a frame as the view changes, drawn in one of two shapes: a list
(`timeline.ListShape`) or a ladder (`ladder.LadderShape`).

One widget with two shapes, not two widgets: `l` draws the rows on screen in
the other shape and does nothing else. Two widgets shown in turn cost a layout
of the whole screen, the focus moved and every row class restyled on each `l`,
several times the rows themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypedDict, Unpack

from textual.message import Message

from inspector.model import FrameRecord, Session, Severity
from inspector.tui.columns import TIME_MODE_SHORT, TIME_MODE_WORDS, Clock
from inspector.tui.describe import SEVERITY_MARK, SEVERITY_WORD, FrameCells, badge, frame_cells
from inspector.tui.fact_line import Fact, fact, longest
from inspector.tui.view_cache import (
    DIRECTION_FILTERS,
    FLAG_FILTERS,
    TYPE_FILTERS,
    Filters,
    Selection,
    ViewCache,
    position,
)
from inspector.tui.widgets.ladder import LadderShape
from inspector.tui.widgets.row_list import Row, RowList
from inspector.tui.widgets.timeline import ListShape

__all__ = ["DIRECTION_FILTERS", "FLAG_FILTERS", "TYPE_FILTERS", "FrameRows", "FrameViewState", "Selection",
           "StateChange"]

RowShape = ListShape | LadderShape


class StateChange(TypedDict, total=False):
    """Part of a FrameViewState, by field name: what `FrameView.change` may be given."""

    selection: Selection | None
    type_filter: int
    direction_filter: int
    flag_filter: int
    time_mode: str


@dataclass(slots=True, frozen=True)
class FrameViewState:
    """What a frame view shows: a stream or a connection, the filters, how time reads."""

    selection: Selection | None = None
    type_filter: int = 0
    direction_filter: int = 0
    flag_filter: int = 0
    time_mode: str = "capture"

    @property
    def filters(self) -> Filters:
        return (self.type_filter, self.direction_filter, self.flag_filter)

    def filter_words(self) -> list[str]:
        """The filters in words ("DATA only", "from client"), none when showing everything."""
        words = []
        kind = TYPE_FILTERS[self.type_filter]
        if kind is not None:
            words.append("control frames only" if kind == "control" else f"{kind} only")
        direction = DIRECTION_FILTERS[self.direction_filter]  # Direction.CLIENT is 0: test for None, not truth
        if direction is not None:
            words.append(f"from {direction.label} only")
        flag = FLAG_FILTERS[self.flag_filter]
        if flag is not None:
            words.append(f"flag {flag} only")
        return words

    def filter_badges(self) -> list[str]:
        """The filters in short words for a narrow title ("DATA", "client", "ES"); the legend is in ?."""
        words = []
        kind = TYPE_FILTERS[self.type_filter]
        if kind is not None:
            words.append(kind)
        direction = DIRECTION_FILTERS[self.direction_filter]
        if direction is not None:
            words.append(direction.label)
        flag = FLAG_FILTERS[self.flag_filter]
        if flag is not None:
            words.append(badge(flag))
        return words


class FrameRows(RowList):
    """A line-API view of frames: the rows come from `describe` as cells, laid out by the shape (list or
    ladder)."""

    class FrameHighlighted(Message):
        """The cursor is on a frame (a FrameLog index)."""

        def __init__(self, view: FrameRows, frame: int) -> None:
            super().__init__()
            self.view = view
            self.frame = frame

    def __init__(self, session: Session, *, cache: ViewCache | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.session = session
        #: what the rows need, worked out once: shared with the other frame view (`l` reads no frame again)
        self.cache = cache if cache is not None else ViewCache(session)
        self.state = FrameViewState()
        self.clock = Clock()
        self.frames: Sequence[int] = ()  # FrameLog indexes on screen, in capture order
        self.all_frames: Sequence[int] = ()  # the same before the filters
        self.matches: set[int] = set()  # frames that match the search
        self.marks: dict[int, Severity] = {}  # frames with a finding: the worst one's severity
        #: a frame's cells; the tutorial's Japanese mode puts its own words in
        self.describe: Callable[[Session, FrameRecord], FrameCells] = frame_cells
        self.lang = "en"  # of the column names, directions and roles (the tutorial's Japanese mode: "ja")
        self._stream_start: float = 0.0
        self.list_shape, self.ladder_shape = ListShape(), LadderShape()
        self.shape: RowShape = self.list_shape

    @property
    def ladder(self) -> bool:
        """The frames are drawn as a ladder (else as a list)."""
        return self.shape is self.ladder_shape

    def show_as(self, ladder: bool) -> None:
        """Draw the same frames as a ladder or as a list: the cursor and the scroll stay, nothing is read
        again (the cache has the widths and the lanes), only the rows on screen are drawn."""
        shape = self.ladder_shape if ladder else self.list_shape
        if shape is self.shape:
            return
        self.shape = shape
        cursor, top = self.cursor, self.scroll_offset.y
        self.prepare()
        self.set_rows(len(self.frames), self.draw_row, keep_cursor=True, width=self.row_width(),
                      header=self.header_row)
        self.cursor = cursor
        self.scroll_to(y=top, animate=False, immediate=True)

    # ---- what is shown -----------------------------------------------------------------------

    @property
    def connection_view(self) -> bool:
        return self.state.selection is not None and self.state.selection[1] is None

    def apply(self, state: FrameViewState, frame: int | None = None) -> None:
        """Show `state`, with the cursor on `frame` if it is shown (else on the first row)."""
        self.state = state
        self.clock.mode = state.time_mode
        self.rebuild(frame)

    def change(self, **changes: Unpack[StateChange]) -> None:
        """Change part of the state (a filter, the time mode), keeping the cursor's frame if it stays."""
        self.apply(replace(self.state, **changes), self.current_frame())

    def select_frames(self) -> Sequence[int]:
        """The frames of the selection, before the filters."""
        return self.cache.frames(self.state.selection)

    def rebuild(self, frame: int | None = None, keep: bool = False) -> None:
        """Read the selection's frames again (a new selection, a filter, a live session that grew):
        the cache reads only what it has not read before."""
        log = self.session.frames
        self.all_frames = self.select_frames()
        self.frames = self.cache.filtered(self.state.selection, self.state.filters)
        self.clock.zero = self.session.time_zero()
        self._stream_start = log.time[self.all_frames[0]] if self.all_frames else 0.0
        self.prepare()
        cursor = self.cursor if keep else 0
        if frame is not None:
            row = self.row_of(frame)
            cursor = row if row is not None else 0
        self.set_rows(len(self.frames), self.draw_row, keep_cursor=True, width=self.row_width(),
                      header=self.header_row)
        self.cursor = max(0, min(cursor, len(self.frames) - 1))
        self.scroll_to(y=max(0, self.cursor - self.visible_rows() // 2), animate=False, immediate=True)
        if self.frames:
            self.follow(self.cursor)

    def row_of(self, frame: int) -> int | None:
        """The row of a frame, if shown."""
        return position(self.frames, frame)

    def current_frame(self) -> int | None:
        """The FrameLog index under the cursor."""
        return self.frames[self.cursor] if 0 <= self.cursor < len(self.frames) else None

    def move_to_frame(self, frame: int) -> bool:
        """Put the cursor on a frame; False if the filters hide it."""
        row = self.row_of(frame)
        if row is None:
            return False
        self.move_to(row)
        return True

    def _move_to(self, index: int) -> None:
        super()._move_to(index)
        if 0 <= index < len(self.frames):
            self.post_message(self.FrameHighlighted(self, self.frames[self.cursor]))

    def set_marks(self, matches: set[int] | None = None, marks: dict[int, Severity] | None = None) -> None:
        """New search matches or findings: the rows are drawn again with their marks."""
        if matches is not None:
            self.matches = matches
        if marks is not None:
            self.marks = marks
        self.redraw()

    # ---- drawing: the shape lays out the cells ----------------------------------------------------

    def prepare(self) -> None:
        """Work out column widths (and a connection ladder's lanes) for the rows now selected."""
        self.shape.prepare(self)

    def row_width(self) -> int:
        return 0  # as wide as the view: the shape fits its columns to it

    def header_row(self) -> Row | None:
        return self.shape.header_row(self)

    def draw_row(self, i: int) -> Row:
        return self.shape.draw_row(self, i)

    def on_resize(self) -> None:
        super().on_resize()
        self.header = self.header_row()
        self.refresh()

    def cells(self, i: int) -> FrameCells:
        return self.cache.cells(self.describe, self.frames[i])

    def marks_of(self, index: int) -> tuple[tuple[str, str], tuple[str, str]]:
        """The two mark columns: a search match (●), a finding (✖ error, ▲ warning, ℹ info)."""
        match = ("●", "match") if index in self.matches else (" ", "")
        severity = self.marks.get(index)
        finding = (SEVERITY_MARK[severity], SEVERITY_WORD[severity]) if severity is not None else (" ", "")
        return match, finding

    def time_text(self, i: int, t: float) -> str:
        mode = self.clock.mode
        previous = None
        start = self._stream_start
        if mode == "delta" and i > 0:
            previous = self.session.frames.time[self.frames[i - 1]]
        elif mode == "stream" and self.connection_view:
            log = self.session.frames
            own = self.session.stream_frames.of(log.conn_index[self.frames[i]], log.stream_id[self.frames[i]])
            start = log.time[own[0]] if len(own) else t
        return self.clock.text(t, start, previous)

    def time_width(self) -> int:
        log = self.session.frames
        end = log.time[self.all_frames[-1]] if self.all_frames else 0.0
        return self.clock.width(end, self._stream_start)

    def title(self) -> str:
        """What the view shows, its filters and time, in words (every fact in its longest form)."""
        return longest(self.title_facts())

    def title_facts(self) -> list[Fact]:
        """The title's facts; on a narrow screen the time gives way first, the filters last."""
        selection = self.state.selection
        if selection is None:
            return [fact("no stream chosen", give_way=9)]
        conn_index, sid = selection
        what = (fact(f"connection {conn_index}, every stream", f"conn {conn_index}, all streams", give_way=2)
                if sid is None else fact(f"stream {sid} of connection {conn_index}", f"stream {sid}, conn {conn_index}",
                                         give_way=2))
        shown, total = len(self.frames), len(self.all_frames)
        facts = [what, fact(f"{shown} of {total} frames", f"{shown}/{total} frames", give_way=3) if shown != total
                 else fact(f"{shown} frames", give_way=1)]
        filters = self.state.filter_words()
        if filters:
            facts.append(fact(f"filter: {', '.join(filters)}", f"only {', '.join(self.state.filter_badges())}",
                              give_way=5, least=8))
        facts.append(fact(TIME_MODE_WORDS[self.clock.mode], TIME_MODE_SHORT[self.clock.mode], give_way=0))
        return facts
