"""The experiment form of teaching mode: one box per setting a learner may change, filled
with what the lesson ran with; Enter checks them (`parse_experiment`, errors in the
learner's language) and hands the experiment back, Esc leaves."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from inspector.errors import UsageError
from inspector.tutorial.exchange import OPTION_NAMES, Experiment, Lesson
from inspector.tutorial.experiment import parse_experiment
from inspector.tutorial.phrases import phrase

# settings where 0 is not a number but "grpcio's own" (the box is left empty)
ZERO_IS_GRPCIO = frozenset({"window", "max_frame", "deadline", "table_size"})


def field_id(name: str) -> str:
    """The id of a setting's box (`form-max_frame`)."""
    return f"form-{name}"


class ExperimentForm(ModalScreen[Experiment | None]):
    """Change a lesson's settings; dismissed with the experiment, or None on Esc."""

    BINDINGS = [Binding("escape", "leave", "Close")]

    def __init__(self, lesson: Lesson, lang: str = "en") -> None:
        super().__init__()
        self.lesson = lesson
        self.lang = lang

    def compose(self) -> ComposeResult:
        lang, settings = self.lang, self.lesson.settings
        with Vertical(id="form-box"):
            yield Static(phrase(lang, "form.title", lesson=phrase(lang, f"lesson.{self.lesson.key}")),
                         id="form-title")
            for name, option in OPTION_NAMES.items():
                value = getattr(settings, name)
                with Horizontal(classes="form-row"):
                    yield Static(option, classes="form-option")
                    empty = value is None or (value == 0 and name in ZERO_IS_GRPCIO)
                    yield Input(value="" if empty else str(value),
                                placeholder=phrase(lang, "form.default"), id=field_id(name))
                    yield Static(phrase(lang, f"form.field.{name}"), classes="form-what")
            yield Static("", id="form-error")
            yield Static(phrase(lang, "form.hint"), id="form-hint")

    def on_mount(self) -> None:
        self.query_one(f"#{field_id('messages')}", Input).focus()

    def texts(self) -> dict[str, str | None]:
        """What the boxes hold, by setting."""
        return {name: self.query_one(f"#{field_id(name)}", Input).value.strip() for name in OPTION_NAMES}

    @on(Input.Submitted)
    def _submitted(self) -> None:
        try:
            experiment = parse_experiment(self.texts(), self.lang)
        except UsageError as exc:
            self.query_one("#form-error", Static).update(str(exc))
            return
        self.dismiss(experiment)

    def action_leave(self) -> None:
        self.dismiss(None)
