"""The TUI in teaching mode: a lesson pane and the call's sequence diagram beside
the timeline, and keys to step through the frames one at a time.

It is the ordinary h2inspect App (timeline, detail, search, filters, the
connection view all work) on the live session of a tutorial exchange. The
exchange (demo server, proxy, client) starts when the window opens and
everything it started stops when the learner quits.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Static

from inspector.errors import InspectorError
from inspector.model import FrameRecord, Session
from inspector.rpc.calls import GrpcCall
from inspector.tui.app import App
from inspector.tui.describe import FrameCells, frame_cells
from inspector.tui.widgets.row_list import RowList
from inspector.tutorial.exchange import Exchange, Lesson, LessonCall, lesson_calls
from inspector.tutorial.notes import call_facts, explain, header_fields
from inspector.tutorial.phrases import phrase
from inspector.tutorial.timeline import lane
from inspector.views.diagram import call_diagram, frame_label, text_lines

_TUI = Path(__file__).resolve().parent.parent / "tui"


class TutorialApp(App):
    """h2inspect, teaching one or more lessons on their live exchange."""

    CSS_PATH = [str(_TUI / "styles.tcss"), str(Path(__file__).with_name("tutorial.tcss"))]
    BINDINGS = [
        Binding("space,right,l", "step(1)", "Next frame"),
        Binding("left,b,h", "step(-1)", "Previous frame"),
        Binding("right_square_bracket", "call(1)", "Next call"),
        Binding("left_square_bracket", "call(-1)", "Previous call"),
    ]

    def __init__(self, exchange: Exchange, lang: str = "en") -> None:
        super().__init__(exchange.session, title=f"tutorial: {', '.join(lesson.key for lesson in exchange.lessons)}")
        self.exchange = exchange
        self.lang = lang
        self.call_number = 0  # which of the lessons' calls the timeline shows
        self._stopped = False
        self._lesson = Text()
        self._diagram = Text()

    def compose(self) -> ComposeResult:
        # The lesson pane where the ordinary App has its stream list: a lesson is about its calls.
        yield from self.status_bar()
        with Horizontal(id="main"):
            with VerticalScroll(id="lesson-side"):
                yield Static(id="lesson")
                yield Static(id="diagram")
            yield from self.frame_pane()
        yield from self.boxes()
        yield Footer()

    def on_mount(self) -> None:
        self.detail_view.lang = self.lang
        if self.lang != "en":
            self.timeline_view.describe = self._cells
        super().on_mount()
        self.timeline_view.focus()
        self._teach_pane()
        self._run_exchange()

    @work(exclusive=True, group="exchange")
    async def _run_exchange(self) -> None:
        try:
            await self.exchange.start()
            await self.exchange.run()
            await self.exchange.settle()
        except (InspectorError, OSError) as exc:
            self.exchange.progress.stage, self.exchange.progress.error = "failed", str(exc)
        self._refresh()
        self._teach_pane()

    # ---- which call, which frame ---------------------------------------------------------

    def _calls(self) -> list[tuple[Lesson, LessonCall, GrpcCall | None]]:
        return lesson_calls(self.session, self.exchange.lessons)

    def _refresh(self) -> None:
        if not self._alive():
            return
        super()._refresh()
        calls = self._calls()
        if calls and self.call_number < len(calls):
            call = calls[self.call_number][2]
            if call is not None and self.selected != (call.conn, call.stream_id):
                self.show((call.conn, call.stream_id))
                self.frame_view.move_to(0)
        self._teach_pane()

    @property
    def timeline(self) -> list[int]:
        """The frames the timeline shows (FrameLog indexes)."""
        return self.frame_view.frames

    def _current_frame(self) -> FrameRecord | None:
        index = self.frame_view.current_frame()
        return self.session.frames[index] if index is not None else None

    @on(RowList.Highlighted, "#timeline")
    def _step_highlighted(self, event: RowList.Highlighted) -> None:
        self._teach_pane()

    def _cells(self, session: Session, frame: FrameRecord) -> FrameCells:
        """The ordinary cells; in Japanese, what a frame carries is the lesson's Japanese label."""
        cells = frame_cells(session, frame)
        label = frame_label(session, frame.index, self.lang)
        return cells._replace(meaning=label.split(" ", 1)[1] if " " in label else "")

    # ---- the lesson pane ---------------------------------------------------------------------

    def lesson_text(self) -> str:
        """What the lesson pane says now (for tests)."""
        return self._lesson.plain

    def diagram_text(self) -> str:
        """What the diagram pane draws now (for tests)."""
        return self._diagram.plain

    def _teach_pane(self) -> None:
        if not self._alive():
            return
        lang = self.lang
        calls = self._calls()
        text = Text()
        progress = self.exchange.progress
        if not calls or calls[min(self.call_number, len(calls) - 1)][2] is None:
            text.append(phrase(lang, "failed", error=progress.error) if progress.stage == "failed"
                        else phrase(lang, "waiting"), style="bold")
            self._show_pane(text, Text())
            return
        lesson, made, call = calls[self.call_number]
        assert call is not None
        lesson_numbers = [lesson.key for lesson in self.exchange.lessons]
        text.append(f"{phrase(lang, 'lesson')} {lesson_numbers.index(lesson.key) + 1}/{len(lesson_numbers)}: "
                    f"{phrase(lang, 'lesson.' + lesson.key)}\n", style="bold")
        text.append(f"{phrase(lang, 'point')}: ", style="bold")
        text.append(phrase(lang, f"lesson.{lesson.key}.point") + "\n\n")
        caption = f" · {phrase(lang, made.caption)}" if made.caption else ""
        text.append(f"{phrase(lang, 'call')} {self.call_number + 1}/{len(calls)}{caption}\n", style="bold magenta")
        text.append(f"{call.method} · {phrase(lang, 'stream')} {call.stream_id} · {call.style}\n\n")
        frame = self._current_frame()
        on_call = frame is not None and (frame.conn, frame.stream_id) == (call.conn, call.stream_id)
        if frame is not None:
            note = explain(self.session, frame, call_facts(self.session, call) if on_call else None, lang)
            cursor = self.frame_view.cursor
            flags = " ".join(f"[{n}]" for n in frame.flag_names)
            text.append(f"{phrase(lang, 'step')} {cursor + 1}/{len(self.timeline)} · {lane(lang, frame.direction)} "
                        f"{frame.type_name} {flags}\n", style="bold cyan")
            text.append(f"{phrase(lang, 'bytes')}: {note.header.hex(' ')}\n  = {header_fields(lang, frame)}\n",
                        style="dim")
            text.append(note.what + "\n", style="bold")
            for sentence in note.why:
                text.append(f"· {sentence}\n")
            text.append(f"{phrase(lang, 'see')}: {note.section}\n", style="italic")
            if cursor == len(self.timeline) - 1 and on_call:
                text.append("\n" + phrase(lang, "end_of_call") + "\n", style="bold green")
        else:
            text.append(phrase(lang, "no_frames") + "\n")
        text.append("\n" + phrase(lang, "keys"), style="dim")
        current = frame.index if frame is not None else None
        diagram = call_diagram(self.session, call, lang, window_updates=lesson.window_updates)
        drawing = text_lines(diagram, lang, width=self._diagram_width(), current=current)
        self._show_pane(text, Text(f"{phrase(lang, 'diagram')}\n" + "\n".join(drawing)))

    def _diagram_width(self) -> int:
        width = self.query_one("#lesson-side").size.width - 2  # its border, and room for a scroll bar
        return max(40, width) if width > 0 else 58

    def _show_pane(self, lesson: Text, diagram: Text) -> None:
        if lesson.plain != self._lesson.plain:
            self._lesson = lesson
            self.query_one("#lesson", Static).update(lesson)
        if diagram.plain != self._diagram.plain:
            self._diagram = diagram
            self.query_one("#diagram", Static).update(diagram)

    # ---- keys ----------------------------------------------------------------------------------

    def action_step(self, delta: int) -> None:
        timeline = self.frame_view
        if self.timeline:
            timeline.move_to(max(0, min(len(self.timeline) - 1, timeline.cursor + delta)))

    def action_call(self, delta: int) -> None:
        calls = self._calls()
        target = self.call_number + delta
        if 0 <= target < len(calls) and calls[target][2] is not None:
            self.call_number = target
            call = calls[target][2]
            assert call is not None
            self.show((call.conn, call.stream_id))
            self.frame_view.move_to(0)
            self._teach_pane()

    async def action_quit(self) -> None:
        await self._stop_exchange()
        self.exit()

    async def _stop_exchange(self) -> None:
        if not self._stopped:
            self._stopped = True
            self.workers.cancel_group(self, "exchange")
            await self.exchange.stop()
            self.exchange.close()
