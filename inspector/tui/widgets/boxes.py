"""The TUI's text boxes: the stream filter, search and go-to. Esc always leaves
a box and clears it; Enter submits; what a box holds is also said in words
where the list it acts on is shown."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class Box(Input):
    """An input that Esc leaves (and clears), so no box ever traps the keyboard."""

    BINDINGS = [Binding("escape", "leave", "Leave the box", show=False)]

    class Left(Message):
        """Esc in a box: it was cleared and wants the focus to go back to a list."""

        def __init__(self, box: Box) -> None:
            super().__init__()
            self.box = box

        @property
        def control(self) -> Box:
            return self.box

    def action_leave(self) -> None:
        self.value = ""
        self.post_message(self.Left(self))


class SaveScreen(ModalScreen[str | None]):
    """Where to save: a file name whose ending (.pcapng, .jsonl, .mmd) chooses the format."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, prompt: str, suggested: str) -> None:
        super().__init__()
        self.prompt = prompt  # what is saved and how to choose the format, in the App's language
        self.suggested = suggested

    def compose(self) -> ComposeResult:
        with Vertical(id="save-box"):
            yield Static(self.prompt)
            yield Box(value=self.suggested, id="save-path")

    def on_mount(self) -> None:
        self.set_focus(self.query_one(Box))  # at once: a name typed right after w goes into the box

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def on_box_left(self, event: Box.Left) -> None:
        event.stop()
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
