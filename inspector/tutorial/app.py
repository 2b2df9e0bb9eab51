"""The TUI in teaching mode: a lesson pane and the call's sequence diagram beside
the timeline, and keys to step through the frames one at a time.

It is the ordinary h2inspect App (timeline, ladder, detail, search, filters,
the connection view all work) on the live session of a tutorial exchange. The
exchange (demo server, proxy, client) starts when the window opens and
everything it started stops when the learner quits. `x` opens the experiment
form: the lesson runs again with the learner's settings and the two runs are
compared in the lesson pane. Every word on screen is in the learner's language.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap
from textual.containers import Horizontal, VerticalScroll
from textual.dom import DOMNode
from textual.message import Message
from textual.widgets import Static

from inspector.errors import InspectorError
from inspector.model import FrameRecord, Session
from inspector.rpc.calls import GrpcCall
from inspector.tui.app import App
from inspector.tui.describe import FrameCells, frame_cells
from inspector.tui.widgets.boxes import Box, SaveScreen
from inspector.tui.widgets.footer import KeyFooter
from inspector.tui.widgets.help import HelpScreen
from inspector.tui.widgets.problems import ProblemsScreen
from inspector.tui.widgets.row_list import RowList
from inspector.tutorial import notes
from inspector.tutorial.exchange import Exchange, Experiment, Lesson, LessonCall, lesson_calls, os_reason
from inspector.tutorial.experiment import RunSummary, compare_lines, run_lesson, summarize, summary_lines
from inspector.tutorial.form import ExperimentForm
from inspector.tutorial.notes import call_facts, explain, header_fields
from inspector.tutorial.phrases import phrase
from inspector.tutorial.timeline import lane
from inspector.views.diagram import call_diagram, frame_label, text_lines

_TUI = Path(__file__).resolve().parent.parent / "tui"
# a binding's action -> the phrase of its footer words
FOOTER_WORDS = {"quit": "footer.quit", "help": "footer.help", "toggle_ladder": "footer.toggle_ladder",
                "connection_view": "footer.connection_view", "zoom": "footer.zoom", "problems": "footer.problems",
                "search": "footer.search", "goto": "footer.goto", "time_mode": "footer.time_mode",
                "save(0)": "footer.save", "step(1)": "footer.step_next", "step(-1)": "footer.step_back",
                "call(1)": "footer.call_next", "call(-1)": "footer.call_back", "experiment": "footer.experiment",
                "dismiss": "footer.dismiss", "leave": "footer.dismiss", "cancel": "footer.cancel"}


def speak(node: DOMNode, lang: str) -> None:
    """Put a node's key bindings (what the footer shows) in `lang`."""
    words = BindingsMap()
    for key, bindings in node._bindings.key_to_bindings.items():
        for binding in bindings:
            said = FOOTER_WORDS.get(binding.action)
            words.key_to_bindings.setdefault(key, []).append(
                dataclasses.replace(binding, description=phrase(lang, said)) if said else binding)
    node._bindings = words


class PanePart(Static):
    """A part of the lesson pane. New words are laid out a refresh or more after they are set (more on
    a busy machine), so the part says when its size changes: the step is brought into view again with
    the layout as it now is."""

    class Resized(Message):
        pass

    def on_resize(self, event: events.Resize) -> None:
        self.post_message(self.Resized())


class TutorialApp(App):
    """h2inspect, teaching one or more lessons on their live exchange."""

    CSS_PATH = [str(_TUI / "styles.tcss"), str(Path(__file__).with_name("tutorial.tcss"))]
    ENABLE_COMMAND_PALETTE = False  # its words are Textual's, in English
    # `l` is the ladder and `c` the connection view, as in `open`; steps are space and the arrows.
    BINDINGS = [
        Binding("space,right", "step(1)", "Next frame"),
        Binding("left,b", "step(-1)", "Previous frame"),
        Binding("right_square_bracket", "call(1)", "Next call"),
        Binding("left_square_bracket", "call(-1)", "Previous call"),
        Binding("x", "experiment", "Experiment"),
    ]

    def __init__(self, exchange: Exchange, lang: str = "en") -> None:
        title = phrase(lang, "tui.title", count=len(exchange.lessons))
        super().__init__(exchange.session, title=title)
        self.title = title
        self.exchange = exchange
        self.lang = lang  # the App's words (tui/said.py) and the lesson's are in the learner's language
        self.call_number = 0  # which of the lessons' calls the timeline shows
        self.runs: list[RunSummary] = []  # the lesson run before and each experiment since
        self.experiment_running = False
        self._stopped = False
        self._lesson = Text()
        self._diagram = Text()
        self._compare = Text()
        self._shown_lesson: str | None = None  # the lesson whose view (calls or connection) is set
        self._last_run: dict[str, Lesson] = {}  # a lesson as its last experiment ran it
        speak(self, lang)

    def compose(self) -> ComposeResult:
        # The lesson pane where the ordinary App has its stream list: a lesson is about its calls.
        yield from self.status_bar()
        with Horizontal(id="main"):
            with VerticalScroll(id="lesson-side"):
                yield PanePart(id="compare")
                yield PanePart(id="lesson")
                yield PanePart(id="step")  # the frame under the cursor: brought into view as it changes
                yield Static(id="diagram")
            yield from self.frame_pane()
        yield from self.boxes()
        yield KeyFooter()

    def on_mount(self) -> None:
        self.detail_view.lang = self.lang
        for view in self._frame_views():
            view.lang = self.lang
            if self.lang != "en":
                view.describe = self._cells
        self.query_one("#search", Box).placeholder = phrase(self.lang, "tui.search_box")
        self.query_one("#goto", Box).placeholder = phrase(self.lang, "tui.goto_box")
        self.query_one("#compare", Static).display = False
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
            self.exchange.progress.stage, self.exchange.progress.error = "failed", self._reason(exc)
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
            lesson, _, call = calls[self.call_number]
            # before its first stream appears the App shows the connection: the lesson's view is set once
            if call is not None and (self.selected != self._target(lesson, call) or lesson.key != self._shown_lesson):
                self._show_call(lesson, call)
        self._teach_pane()

    def _target(self, lesson: Lesson, call: GrpcCall) -> tuple[int, int | None]:
        """What a call is shown on: its stream, or for a lesson about the connection, all of it."""
        return (call.conn_index, None) if lesson.view == "connection" else (call.conn_index, call.stream_id)

    def _show_call(self, lesson: Lesson, call: GrpcCall) -> None:
        """The call on its stream (or its connection, as a ladder of streams), from its first frame."""
        if lesson.key != self._shown_lesson:
            self._shown_lesson = lesson.key
            if (lesson.view == "connection") != self.ladder:
                self._set_ladder(lesson.view == "connection")
        target = self._target(lesson, call)
        if target[1] is None and self.call_number > 0:  # the connection from the call's first frame
            first = next(iter(self.session.stream_frames.of(call.conn_index, call.stream_id)), None)
            self.show(target, first)
        else:  # a stream, or the connection from its first frame (the preface's SETTINGS)
            self.show(target)
            self.frame_view.move_to(0)

    def _set_ladder(self, on: bool) -> None:
        if on != self.ladder:
            self.frame_view.show_as(on)
            self._title()

    @property
    def timeline(self) -> Sequence[int]:
        """The frames the timeline shows (FrameLog indexes)."""
        return self.frame_view.frames

    def _current_frame(self) -> FrameRecord | None:
        index = self.frame_view.current_frame()
        return self.session.frames[index] if index is not None else None

    @on(RowList.Highlighted, "#frames")
    def _step_highlighted(self, event: RowList.Highlighted) -> None:
        self._teach_pane()

    def _cells(self, session: Session, frame: FrameRecord) -> FrameCells:
        """The ordinary cells; in Japanese, what a frame carries is the lesson's Japanese label."""
        cells = frame_cells(session, frame)
        label = frame_label(session, frame.index, self.lang)
        return cells._replace(meaning=label.split(" ", 1)[1] if " " in label else "", arrow=label)

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
        text.append(f"{call.method} · {phrase(lang, 'stream')} {call.stream_id} · "
                    f"{notes.style_name(lang, call.style)}\n\n")
        frame = self._current_frame()
        # On a connection's ladder the cursor may be on another call's frame: its note speaks of that call.
        frame_call = self._call_of(frame, calls) if frame is not None else None
        step_at = len(text)  # where the step begins: the part of the pane a learner must see
        if frame is not None:
            note = explain(self.session, frame, call_facts(self.session, frame_call) if frame_call else None, lang)
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
            if cursor == len(self.timeline) - 1 and (frame_call is not None or lesson.view == "connection"):
                text.append("\n" + notes.end_of_call(lang, self.call_number + 1, len(calls), self.exchange.lessons)
                            + "\n", style="bold green")
        else:
            text.append(phrase(lang, "no_frames") + "\n")
        text.append("\n" + phrase(lang, "keys_tui"), style="dim")
        current = frame.index if frame is not None else None
        diagram = call_diagram(self.session, call, lang, window_updates=lesson.window_updates)
        drawing = text_lines(diagram, lang, width=self._diagram_width(), current=current)
        self._show_pane(text, Text(f"{phrase(lang, 'diagram')}\n" + "\n".join(drawing)), step_at)

    def _call_of(self, frame: FrameRecord, calls: list[tuple[Lesson, LessonCall, GrpcCall | None]]) \
            -> GrpcCall | None:
        return next((c for _, _, c in calls if c is not None and (c.conn_index, c.stream_id) ==
                     (frame.conn_index, frame.stream_id)), None)

    def _diagram_width(self) -> int:
        width = self.query_one("#lesson-side").size.width - 2  # its border, and room for a scroll bar
        return max(40, width) if width > 0 else 58

    def _show_pane(self, lesson: Text, diagram: Text, step_at: int | None = None) -> None:
        if lesson.plain != self._lesson.plain:
            self._lesson = lesson
            head, step = lesson.divide([step_at]) if step_at is not None else (lesson, Text())
            self.query_one("#lesson", Static).update(head)
            self.query_one("#step", Static).update(step)
            self.call_after_refresh(self._step_in_view)
        if diagram.plain != self._diagram.plain:
            self._diagram = diagram
            self.query_one("#diagram", Static).update(diagram)

    def _step_in_view(self) -> None:
        """A short terminal (80x24) has room for a few lines of the pane: when the step does not fit
        below the lesson's heading, the pane scrolls to the step's first line (the rest scrolls, Tab)."""
        if not self._alive():
            return
        side = self.query_one("#lesson-side", VerticalScroll)
        step = self.query_one("#step", Static)
        if not side.display or not self._lesson.plain:
            return
        if not step.virtual_region.height:  # not laid out yet: its Resized comes when it is
            return
        # Where the step sits in the pane's whole height, whatever the pane is scrolled to now.
        if step.virtual_region.bottom > side.scrollable_content_region.height:
            side.scroll_to_widget(step, top=True, animate=False)
        else:
            side.scroll_home(animate=False)

    @on(PanePart.Resized)
    def _pane_laid_out(self) -> None:
        self._step_in_view()

    # ---- keys ----------------------------------------------------------------------------------

    def action_step(self, delta: int) -> None:
        timeline = self.frame_view
        if self.timeline:
            timeline.move_to(max(0, min(len(self.timeline) - 1, timeline.cursor + delta)))

    def action_call(self, delta: int) -> None:
        calls = self._calls()
        target = self.call_number + delta
        if target >= len(calls) and calls:
            self.say(phrase(self.lang, "tui.last_call"))
        elif target < 0:
            self.say(phrase(self.lang, "tui.first_call"))
        elif calls[target][2] is not None:
            self.call_number = target
            lesson, _, call = calls[target]
            assert call is not None
            self.message = ""
            self._show_call(lesson, call)
            self._teach_pane()

    # ---- the experiment form, and the two runs compared ------------------------------------------

    def compare_text(self) -> str:
        """What the comparison pane says now (for tests)."""
        return self._compare.plain

    def _current_lesson(self) -> Lesson:
        calls = self._calls()
        if calls:
            return calls[min(self.call_number, len(calls) - 1)][0]
        return self.exchange.lessons[0]

    def action_experiment(self) -> None:
        if self.experiment_running:
            return
        lesson = self._current_lesson()
        lesson = self._last_run.get(lesson.key, lesson)  # the form starts from the run before
        form = ExperimentForm(lesson, self.lang)
        speak(form, self.lang)
        self.push_screen(form, callback=lambda e: self._experiment_chosen(lesson, e))

    def _experiment_chosen(self, lesson: Lesson, experiment: Experiment | None) -> None:
        if experiment is None:
            return
        if not self.runs:
            if self.exchange.progress.stage != "done":
                return
            self.runs.append(summarize(self.session, self.exchange.lessons, only=lesson.key))
        changed = Experiment.of({name: value for name, value in experiment.given().items()
                                 if getattr(lesson.settings, name) != value})
        options = " ".join(changed.options()) or phrase(self.lang, "form.own_values")
        self.experiment_running = True
        self._show_compare(Text(phrase(self.lang, "form.running", lesson=phrase(self.lang, f"lesson.{lesson.key}"),
                                       options=options), style="bold"))
        self._run_experiment(lesson.key, experiment, options)

    @work(exclusive=True, group="experiment")
    async def _run_experiment(self, key: str, experiment: Experiment, options: str) -> None:
        lang = self.lang
        try:
            exchange, summary = await run_lesson(key, experiment, lang=lang)
        except (InspectorError, OSError) as exc:
            self._show_compare(Text(phrase(lang, "form.failed", error=self._reason(exc)), style="bold red"))
            return
        finally:
            self.experiment_running = False
        exchange.close()
        before = self.runs[-1]
        self.runs.append(summary)
        ran = self._current_lesson()
        if summary.lessons == (key,) and ran.key == key:
            self._last_run[key] = dataclasses.replace(ran, settings=summary.settings[0])
        text = Text(phrase(lang, "form.compared", options=options) + "\n", style="bold")
        for line in compare_lines(before, summary, lang):
            text.append("  " + line + "\n")
        for line in summary_lines(summary, lang):
            text.append("· " + line + "\n", style="")
        self._show_compare(text)

    def _reason(self, exc: InspectorError | OSError) -> str:
        """What went wrong, in the learner's language (the tutorial's own errors already are)."""
        return os_reason(self.lang, exc) if isinstance(exc, OSError) else str(exc)

    def _show_compare(self, text: Text) -> None:
        if not self._alive():
            return
        self._compare = text
        pane = self.query_one("#compare", Static)
        pane.update(text)
        pane.display = True
        self.query_one("#lesson-side", VerticalScroll).scroll_home(animate=False)

    # ---- the words of the App, in the learner's language -----------------------------------------

    def _set_status(self) -> None:
        if not self._alive():
            return
        lang, session = self.lang, self.session
        words = phrase(lang, "tui.status", title=self.title, frames=len(session.frames),
                       findings=phrase(lang, "tui.findings", count=len(session.findings)),
                       stage=phrase(lang, f"tui.stage.{self.exchange.progress.stage}"))
        calls = self._calls()
        if calls and self.call_number < len(calls) and calls[self.call_number][2] is not None:
            call = calls[self.call_number][2]
            assert call is not None
            words += phrase(lang, "tui.status_call", number=self.call_number + 1, total=len(calls),
                            style=notes.style_name(lang, call.style))
        if self.message:  # what the last key did comes first: on a narrow terminal the rest is cut
            words = f" {self.message} ·{words}"
        if words != self._status:
            self._status = words
            self.query_one("#status", Static).update(Text(words), layout=False)

    def _title(self) -> None:
        view = self.frame_view
        selection = view.state.selection
        if selection is None:
            return
        conn, sid = selection
        lang = self.lang
        shown = phrase(lang, "tui.view.ladder" if self.ladder else "tui.view.list")
        words = phrase(lang, "tui.view.connection" if sid is None else "tui.view.stream", conn=conn, stream=sid,
                       frames=len(view.all_frames), view=shown)
        if len(view.frames) != len(view.all_frames):
            words += phrase(lang, "tui.view.filtered", shown=len(view.frames), total=len(view.all_frames))
        s = self.search_state
        if s.needle:
            words += phrase(lang, "tui.search", needle=s.needle, count=len(s.matches))
        words += " · " + phrase(lang, f"tui.time.{view.state.time_mode}")  # last: the first cut when narrow
        if words != self._title_text:
            self._title_text = words
            title = self._widget("#timeline-title", Static)
            if isinstance(title, Static):
                title.update(Text(words), layout=False)

    def action_toggle_ladder(self) -> None:
        self._set_ladder(not self.ladder)
        self.say(phrase(self.lang, "tui.said.ladder" if self.ladder else "tui.said.list"))

    def action_zoom(self) -> None:
        """z: the lesson pane hides, so the frames take the whole width (the App's z hides its stream list)."""
        side = self.query_one("#lesson-side", VerticalScroll)
        if side.display:
            self.frame_view.focus()  # not the pane that is about to hide
        side.display = not side.display
        self.say(phrase(self.lang, "tui.said.unzoomed" if side.display else "tui.said.zoomed"))

    def action_clear(self) -> None:
        super().action_clear()
        self.say(phrase(self.lang, "tui.said.cleared"))

    def action_problems(self) -> None:
        self.push_screen(ProblemsScreen(self.session, self.lang, self.finding_index), callback=self._finding_chosen)

    def action_help(self) -> None:
        screen = HelpScreen(phrase(self.lang, "tui.help"))
        speak(screen, self.lang)
        self.push_screen(screen)

    def save_screen(self, prompt: str, suggested: str) -> SaveScreen:
        screen = super().save_screen(prompt, suggested)
        speak(screen, self.lang)
        return screen

    async def action_quit(self) -> None:
        await self._stop_exchange()
        self.exit()

    async def _stop_exchange(self) -> None:
        if not self._stopped:
            self._stopped = True
            self.workers.cancel_group(self, "exchange")
            await self.exchange.stop()
            self.exchange.close()
