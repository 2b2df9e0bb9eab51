"""The stream list: each connection and its streams, with method and path (or
the gRPC method), status, style, state, counts and duration; narrowed to id,
method and status when the terminal is narrow. It filters by words and by
header terms (`grpc-status!=0`), sorts, and marks streams with a finding."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message
from textual.reactive import reactive

from inspector.model import Session, Severity
from inspector.rpc.status import format_duration
from inspector.tui.columns import cell_width, fit, fit_tail
from inspector.tui.describe import SEVERITY_MARK, SEVERITY_WORD, StreamSummary, summarize
from inspector.tui.fact_line import Fact, fact
from inspector.tui.query import StreamFilter, StreamHeaders
from inspector.tui.widgets.row_list import Row, RowList

SORTS = ("stream id", "frames", "bytes", "duration")  # s cycles through these
Entry = tuple[int, int | None]  # (conn_index, stream id), or (conn_index, None) for the connection's own row


@dataclass(slots=True, frozen=True)
class StreamColumns:
    """Widths of the list's columns, from the rows it shows."""

    stream: int
    what: int
    status: int
    style: int
    state: int
    frames: int
    data: int


class StreamList(RowList):
    """Connections and their streams, a row each."""

    class Selected(Message):
        """The cursor is on a stream or a connection (`chosen`: Enter was pressed on it)."""

        def __init__(self, streams: StreamList, entry: Entry, chosen: bool) -> None:
            super().__init__()
            self.streams = streams
            self.entry = entry
            self.chosen = chosen

    compact: reactive[bool] = reactive(False)  # id, method and status only
    sort: reactive[int] = reactive(0)

    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.entries: list[Entry] = []
        self.filter = StreamFilter((), ())
        self.marks: dict[tuple[int, int], Severity] = {}  # streams with a finding: the worst severity
        self._summaries: dict[tuple[int, int], StreamSummary] = {}
        self._headers = StreamHeaders(session)
        self._columns = StreamColumns(1, 1, 1, 0, 0, 1, 1)
        self._total = 0

    # ---- state --------------------------------------------------------------------------------

    def set_filter(self, text: str) -> None:
        """Words and header terms typed in the box above the list."""
        self.filter = StreamFilter.parse(text)
        self.rebuild(keep_entry=True)

    def watch_sort(self) -> None:
        self.rebuild(keep_entry=True)

    def watch_compact(self) -> None:
        self.rebuild(keep_entry=True)

    def model_changed(self) -> None:
        """The session grew: summaries are read again."""
        self._summaries.clear()
        self.rebuild(keep_entry=True)

    def summary(self, conn_index: int, stream_id: int) -> StreamSummary:
        key = (conn_index, stream_id)
        summary = self._summaries.get(key)
        if summary is None:
            stream = self.session.stream(conn_index, stream_id)
            assert stream is not None, "a listed stream is in the model"
            summary = self._summaries[key] = summarize(self.session, stream)
        return summary

    def words(self) -> str:
        """How many streams show, and why: the filter and the sort in words."""
        shown = sum(1 for e in self.entries if e[1] is not None)
        says = f"{shown} of {self._total} streams" if self.filter else f"{self._total} streams"
        if self.filter:
            says += f" · filter: {self.filter.describe()}"
        if self.sort:
            says += f" · sorted by {SORTS[self.sort]}"
        return says

    def facts(self, stacked: bool = False) -> list[Fact]:
        """The same facts, fitted to a line: the sort gives way before the filter. Stacked (the
        list's own title hidden), they go on the status line, and only when they say more than the
        count: the filter box shows the filter's text."""
        shown = sum(1 for e in self.entries if e[1] is not None)
        facts = []
        if self.filter:
            facts.append(fact(f"{shown} of {self._total} streams", f"{shown}/{self._total} streams", give_way=8))
            if not stacked:
                facts.append(fact(f"filter: {self.filter.describe()}", give_way=9, least=10))
        elif not stacked:
            facts.append(fact(f"{self._total} streams", give_way=9))
        if self.sort:
            facts.append(fact(f"sorted by {SORTS[self.sort]}", f"by {SORTS[self.sort]}", give_way=7))
        return facts

    # ---- rows ---------------------------------------------------------------------------------

    def rebuild(self, keep_entry: bool = False) -> None:
        current = self.current_entry() if keep_entry else None
        entries: list[Entry] = []
        flt = self.filter
        total = 0
        for conn in self.session.connections:
            ids = [sid for sid in conn.streams if sid]
            total += len(ids)
            if flt:
                ids = [sid for sid in ids
                       if flt.matches(self.summary(conn.index, sid).text(), self._headers.of(conn.index, sid))]
            if self.sort:
                key = {1: lambda s: -s.frames, 2: lambda s: -s.data_bytes, 3: lambda s: -s.duration}[self.sort]
                ids.sort(key=lambda sid: key(self.summary(conn.index, sid)))  # noqa: B023 - used at once
            else:
                ids.sort()
            if ids or not flt:
                entries.append((conn.index, None))
                entries += [(conn.index, sid) for sid in ids]
        self.entries = entries
        self._total = total
        self._columns = self._measure()
        cursor = self.cursor
        if current is not None and current in entries:
            cursor = entries.index(current)
        self.set_rows(len(entries), self.draw_row, keep_cursor=True, width=0, header=self.header_row)
        self.cursor = max(0, min(cursor, len(entries) - 1))

    def _measure(self) -> StreamColumns:
        streams = [self.summary(c, s) for c, s in self.entries[:2000] if s is not None]
        if not streams:
            return StreamColumns(6, 6, 6, 0, 0, 1, 1)
        return StreamColumns(
            max(6, max(len(str(s.stream_id)) for s in streams)),
            max(cell_width(s.what) for s in streams), max(len(s.status) for s in streams),
            max(len(s.style) for s in streams), max(len(s.state) for s in streams),
            max(len(str(s.frames)) for s in streams), max(len(str(s.data_bytes)) for s in streams))

    def current_entry(self) -> Entry | None:
        return self.entries[self.cursor] if 0 <= self.cursor < len(self.entries) else None

    def select(self, entry: Entry) -> bool:
        """Put the cursor on a stream or connection (False if the filter hides it)."""
        if entry not in self.entries:
            return False
        self.move_to(self.entries.index(entry))
        return True

    def wanted_width(self) -> int:
        """The cells its rows need (the pane is sized to it, up to a share of the screen)."""
        c = self._columns
        width = 2 + c.stream + 1 + c.what + 1 + c.status
        if not self.compact:
            width += 1 + c.style + 1 + c.state + 1 + c.frames + 4 + c.data + 3 + 8
        return width + 2  # the scrollbar

    def least_width(self) -> int:
        """The cells a row needs to show its status whole beside 12 cells of method."""
        c = self._columns
        return 2 + c.stream + 1 + 12 + 1 + c.status + 2

    def _room(self) -> int:
        return max(20, self.scrollable_content_region.width or self.size.width or 60)

    def _widths(self) -> tuple[int, int, int]:
        """(what, status, details) for the room there is: the method gives way first."""
        c = self._columns
        room = self._room() - 2 - c.stream - 1
        status = min(c.status, max(8, room - 12))  # the status whole; the method gives way first
        if self.compact:
            return max(8, room - status - 1), status, 0
        details = c.style + 1 + c.state + 1 + c.frames + 4 + c.data + 3 + 8
        what = max(12, min(c.what, room - status - 1 - details - 1))
        return what, status, max(0, room - what - 1 - status - 1)

    def header_row(self) -> Row:
        c = self._columns
        what, status, details = self._widths()
        words = "  " + fit("stream", c.stream, right=True) + " " + fit("method and path", what) + " " + \
            fit("status", status)
        if details:
            words += " " + fit(" ".join((fit("style", c.style), fit("state", c.state), "frames, bytes, duration")),
                               details)
        return [(words, "header")]

    def draw_row(self, i: int) -> Row:
        conn_index, sid = self.entries[i]
        conn = self.session.connection(conn_index)
        assert conn is not None, "a listed connection is in the model"
        if sid is None:
            mark = self.marks.get((conn_index, 0))
            words = (f" conn {conn_index}  {conn.client} → {conn.server}  {conn.protocol}  "
                     f"{conn.frame_count} frames  {len(conn.streams) - (0 in conn.streams)} streams")
            room = self._room() - 1
            if cell_width(words) > room:  # narrow: the protocol before the addresses, the counts go
                words = fit(f" conn {conn_index} {conn.protocol}  {conn.client} → {conn.server}", room).rstrip()
            return [(SEVERITY_MARK[mark] if mark is not None else " ", SEVERITY_WORD[mark] if mark is not None else ""),
                    (words, "conn")]
        s = self.summary(conn_index, sid)
        c = self._columns
        what, status, details = self._widths()
        mark = self.marks.get((conn_index, sid))
        row: Row = [(SEVERITY_MARK[mark] if mark is not None else " ", SEVERITY_WORD[mark] if mark is not None else ""),
                    (" ", ""), (fit(str(s.stream_id), c.stream, right=True), "stream"), (" ", ""),
                    (fit_tail(s.what, what), "what"), (" ", ""),
                    (fit(s.status, status), "status-failed" if s.failed else "status")]
        if details:
            rest = [(fit(s.style, c.style), "style"), (" ", ""), (fit(s.state, c.state), "state"), (" ", ""),
                    (f"{s.frames:>{c.frames}} fr {s.data_bytes:>{c.data}} B {format_duration(s.duration):>8}",
                     "count")]
            used = 0
            row.append((" ", ""))
            for text, cls in rest:
                if used + cell_width(text) > details:
                    row.append((fit(text, details - used), cls))
                    break
                row.append((text, cls))
                used += cell_width(text)
        return row

    def on_resize(self) -> None:
        super().on_resize()
        self.header = self.header_row()
        self.refresh()

    def _move_to(self, index: int) -> None:
        super()._move_to(index)
        entry = self.current_entry()
        if entry is not None:
            self.post_message(self.Selected(self, entry, False))

    def action_choose(self) -> None:
        entry = self.current_entry()
        if entry is not None:
            self.post_message(self.Selected(self, entry, True))
