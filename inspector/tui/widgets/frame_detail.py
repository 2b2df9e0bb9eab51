"""The frame detail: every field and flag of the chosen frame, its headers, its
gRPC messages (by name with `--proto`), the findings on it, the state and
windows after it, and its whole payload in hex, drawn a line at a time."""

from __future__ import annotations

from collections.abc import Callable

from inspector.model import Finding, Session, Severity
from inspector.tui.describe import SEVERITY_WORD, Detail, frame_detail, header_value
from inspector.tui.detail_words import WORDS
from inspector.tui.widgets.row_list import Row, RowList
from inspector.views.hpack import DynamicTables


class FrameDetail(RowList):
    """One frame's detail; `y` copies it, `Y` copies the value of the header under the cursor."""

    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.lang = "en"  # the tutorial's Japanese mode sets "ja"
        self.frame: int | None = None
        self.detail = Detail([WORDS["en"]["no_frames"]], b"")
        #: the findings on a frame (FrameLog index); the app knows them
        self.findings_of: Callable[[int], list[Finding]] = lambda frame: []
        self.tables = DynamicTables(session)  # the HPACK listing's tables, replayed forward once
        self._shown: tuple[object, ...] | None = None  # what the detail on screen was made from

    def show(self, frame: int | None) -> None:
        """Show frame `frame` (a FrameLog index), or say there is none."""
        if frame is not None and frame < self.session.frames.base:
            frame = None  # dropped by a live session's bounded history: nothing of it is left to show
        found = self.findings_of(frame) if frame is not None else []
        session = self.session
        # The same frame of the same session (a view switch, the cursor put back where it was):
        # nothing to make or draw again.
        shown = (frame, self.lang, len(session.frames), session.complete, tuple(map(id, found)))
        if shown == self._shown:
            return
        self._shown = shown
        self.frame = frame
        if frame is None:
            self.detail = Detail([WORDS[self.lang]["no_frames"]], b"")
        else:
            self.detail = frame_detail(self.session, self.session.frames[frame], self.lang, found, self.tables)
        detail = self.detail
        head = len(detail.head)
        width = max(max(map(len, detail.head), default=0), 80 if detail.payload else 0) + 1
        kinds = {detail.findings_at + n: SEVERITY_WORD[Severity(f.severity)] for n, f in enumerate(found)}

        def row(i: int) -> Row:
            line = detail.line(i)
            if i == 0:
                return [(line, "detail-title")]
            if i >= head:
                return [(line, "hex")]
            return [(line, kinds.get(i, ""))]

        # A line-API list, not a Static: a new frame's detail repaints without a layout pass.
        self.set_rows(len(detail), row, keep_cursor=False, width=width)

    def text(self) -> str:
        """The whole detail as text (the hex of the whole payload too)."""
        return self.detail.text()

    def header_value(self) -> str | None:
        """The value of the header on the cursor's line, if it is on one."""
        if not 0 <= self.cursor < len(self.detail.head):
            return None
        return header_value(self.detail.line(self.cursor))
