"""What the timeline and the ladder share: the frames of the chosen stream (or
connection) after the filters, the clock, the marks of search matches and
findings, and the cursor kept on a frame as the view changes.

A view's state is a `FrameViewState`, so the app can hand it from the list to
the ladder (`l`) and back without either knowing the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypedDict, Unpack

from textual.message import Message

from inspector.http2 import frames as F
from inspector.model import Direction, FrameRecord, Session, Severity
from inspector.tui.columns import TIME_MODE_WORDS, Clock
from inspector.tui.describe import SEVERITY_MARK, SEVERITY_WORD, FrameCells, frame_cells
from inspector.tui.widgets.row_list import Row, RowList

TYPE_FILTERS = (None, "HEADERS", "DATA", "control")  # f cycles through these
DIRECTION_FILTERS = (None, Direction.CLIENT, Direction.SERVER)  # d cycles through these
FLAG_FILTERS = (None, "END_STREAM", "END_HEADERS", "ACK", "PADDED", "PRIORITY")  # e cycles through these

Selection = tuple[int, int | None]  # (conn_index, stream id), or (conn_index, None) for the whole connection


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


class FrameRows(RowList):
    """A line-API view of frames: the rows come from `describe` as cells; subclasses lay them out."""

    class FrameHighlighted(Message):
        """The cursor is on a frame (a FrameLog index)."""

        def __init__(self, view: FrameRows, frame: int) -> None:
            super().__init__()
            self.view = view
            self.frame = frame

    def __init__(self, session: Session, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.session = session
        self.state = FrameViewState()
        self.clock = Clock()
        self.frames: list[int] = []  # FrameLog indexes on screen, in capture order
        self.all_frames: list[int] = []  # the same before the filters
        self.matches: set[int] = set()  # frames that match the search
        self.marks: dict[int, Severity] = {}  # frames with a finding: the worst one's severity
        #: a frame's cells; the tutorial's Japanese mode puts its own words in
        self.describe: Callable[[Session, FrameRecord], FrameCells] = frame_cells
        self.lang = "en"  # of the column names, directions and roles (the tutorial's Japanese mode: "ja")
        self._stream_start: float = 0.0

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

    def select_frames(self) -> list[int]:
        """The frames of the selection, before the filters."""
        selection = self.state.selection
        if selection is None:
            return []
        conn_index, sid = selection
        if sid is None:
            conns = self.session.frames.column("conn_index")
            return [i for i in range(len(conns)) if conns[i] == conn_index]
        return list(self.session.stream_frames.of(conn_index, sid))

    def filtered(self, indexes: list[int]) -> list[int]:
        log = self.session.frames
        state = self.state
        wanted_type = TYPE_FILTERS[state.type_filter]
        if wanted_type == "control":
            types = log.column("type_code")
            indexes = [i for i in indexes if types[i] not in (F.FrameType.DATA, F.FrameType.HEADERS)]
        elif wanted_type is not None:
            code, types = F.FrameType[wanted_type], log.column("type_code")
            indexes = [i for i in indexes if types[i] == code]
        wanted_dir = DIRECTION_FILTERS[state.direction_filter]
        if wanted_dir is not None:
            directions = log.column("direction")
            indexes = [i for i in indexes if directions[i] == wanted_dir]
        wanted_flag = FLAG_FILTERS[state.flag_filter]
        if wanted_flag is not None:
            types, flags = log.column("type_code"), log.column("flags")
            indexes = [i for i in indexes if wanted_flag in F.flag_names(types[i], flags[i])]
        return indexes

    def rebuild(self, frame: int | None = None, keep: bool = False) -> None:
        """Read the selection's frames again (a new selection, a filter, a live session that grew)."""
        log = self.session.frames
        self.all_frames = self.select_frames()
        self.frames = self.filtered(self.all_frames)
        self.clock.zero = log.time[0] if len(log) else 0.0
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
        import bisect

        row = bisect.bisect_left(self.frames, frame)
        return row if row < len(self.frames) and self.frames[row] == frame else None

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

    # ---- drawing: subclasses lay out the cells -------------------------------------------------

    def prepare(self) -> None:
        """Work out column widths for the rows now selected."""

    def row_width(self) -> int:
        return 200

    def header_row(self) -> Row | None:
        return None

    def draw_row(self, i: int) -> Row:
        raise NotImplementedError

    def cells(self, i: int) -> FrameCells:
        return self.describe(self.session, self.session.frames[self.frames[i]])

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
        """What the view shows, its filters and time, in words."""
        selection = self.state.selection
        if selection is None:
            return " no stream chosen"
        conn_index, sid = selection
        what = f"connection {conn_index}, every stream" if sid is None else f"stream {sid} of connection {conn_index}"
        shown = f"{len(self.frames)} of {len(self.all_frames)} frames" if len(self.frames) != len(self.all_frames) \
            else f"{len(self.frames)} frames"
        filters = self.state.filter_words()
        return (f" {what} · {shown}" + (f" · filter: {', '.join(filters)}" if filters else "")
                + f" · {TIME_MODE_WORDS[self.clock.mode]}")
