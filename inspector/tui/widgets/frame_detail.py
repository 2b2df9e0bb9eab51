"""The frame detail: every field and flag of the chosen frame, its headers, its
gRPC messages (by name with `--proto`), the findings on it, the state and
windows after it, and its whole payload in hex, drawn a line at a time."""

from __future__ import annotations

from collections.abc import Callable

from inspector.model import Finding, Session, Severity
from inspector.tui.columns import wrap_spans
from inspector.tui.describe import SEVERITY_WORD, Detail, frame_detail, header_value
from inspector.tui.detail_words import WORDS
from inspector.tui.widgets.row_list import Row, RowList
from inspector.views.hpack import DynamicTables

CONTINUED = 2  # cells a wrapped line's later rows are indented by, past the line's own indent


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
        self._spans: list[tuple[int, int, int]] = []  # the head's rows at this width: (line, start, end)
        self._head_rows = 0
        self._hex_per_line = 1
        self._found: list[Finding] = []
        self._wrapped_at = 0  # the width the rows were laid out for

    def show(self, frame: int | None) -> None:
        """Show frame `frame` (a FrameLog index), or say there is none."""
        if frame is not None and frame < self.session.frames.base:
            frame = None  # dropped by a live session's bounded history: nothing of it is left to show
        self._found = found = self.findings_of(frame) if frame is not None else []
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
        self._draw()

    def _draw(self) -> None:
        """Lay the detail's lines out at this width: a long line wraps onto indented rows (at a
        space), so nothing is cut at 80 columns; the hex lines are one row each where they fit."""
        detail = self.detail
        head = len(detail.head)
        width = max(20, self.scrollable_content_region.width or self.size.width or 80)
        self._wrapped_at = width
        kinds = {detail.findings_at + n: SEVERITY_WORD[Severity(f.severity)] for n, f in enumerate(self._found)}
        spans: list[tuple[int, int, int]] = []  # the head's rows: (line, start, end)
        for n, line in enumerate(detail.head):
            indent = len(line) - len(line.lstrip(" ")) + CONTINUED
            spans += [(n, a, b) for a, b in wrap_spans(line, width, indent if indent < width // 2 else CONTINUED)]
        self._spans = spans
        self._head_rows = len(spans)
        # Every hex line is as wide as the first (the last is padded): rows per line, at this width.
        per = len(wrap_spans(detail.line(head), width, CONTINUED)) if detail.payload else 1
        self._hex_per_line = per
        hex_rows = (len(detail) - head) * per

        def row(i: int) -> Row:
            if i >= len(spans):
                n, part = divmod(i - len(spans), per)
                line = detail.line(head + n)
                if per == 1:
                    return [(line, "hex")]
                pieces = wrap_spans(line, width, CONTINUED)
                a, b = pieces[part] if part < len(pieces) else (0, 0)
                return [(" " * CONTINUED if part else "", ""), (line[a:b], "hex")]
            n, a, b = spans[i]
            line = detail.line(n)
            kind = "detail-title" if n == 0 else kinds.get(n, "")
            if a == 0:
                return [(line[a:b], kind)]
            indent = len(line) - len(line.lstrip(" ")) + CONTINUED
            return [(" " * (indent if indent < width // 2 else CONTINUED), ""), (line[a:b], kind)]

        # A line-API list, not a Static: a new frame's detail repaints without a layout pass.
        self.set_rows(len(spans) + hex_rows, row, keep_cursor=False, width=width)

    def on_resize(self) -> None:
        super().on_resize()
        width = self.scrollable_content_region.width or self.size.width
        if width and width != self._wrapped_at:
            line = self.cursor_line()
            self._draw()
            if line is not None:
                self.move_to_line(line)

    def cursor_line(self) -> int | None:
        """The detail's line under the cursor (a wrapped line's rows are one line)."""
        if not self.count:
            return None
        if self.cursor < self._head_rows:
            return self._spans[self.cursor][0]
        return len(self.detail.head) + (self.cursor - self._head_rows) // self._hex_per_line

    def move_to_line(self, line: int) -> None:
        """Put the cursor on the first row of the detail's line `line`."""
        head = len(self.detail.head)
        if line >= head:
            self.move_to(self._head_rows + (line - head) * self._hex_per_line)
        else:
            self.move_to(next((i for i, span in enumerate(self._spans) if span[0] == line), 0))

    def text(self) -> str:
        """The whole detail as text (the hex of the whole payload too)."""
        return self.detail.text()

    def header_value(self) -> str | None:
        """The value of the header on the cursor's line, if it is on one."""
        line = self.cursor_line()
        if line is None or line >= len(self.detail.head):
            return None
        return header_value(self.detail.line(line))
