"""The footer of keys, composed again only when the keys it shows change.

Textual's Footer composes its keys again whenever the screen's bindings may
have changed: on every change of focus, and whenever a screen comes back. Each
time, a score of key widgets is made, styled and laid out with the whole
screen, a tenth of a second and more on a slow machine, in the middle of the
key that moved the focus (`l` from the list to the ladder, Esc back from the
problems view). The list and the ladder have the same keys: nothing to redo.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

NARROW_BELOW = 120  # columns: below this the footer is compact, its words short, the palette's key gone
#: the footer's short words for a narrow terminal (every key is in ? help, in full)
SHORT = {"List/ladder": "Ladder", "Connection": "Conn"}

KeysShown = tuple[tuple[str, str, str, bool, str], ...]  # (key, description, action, enabled, tooltip)


def keys_shown(screen: Screen[object]) -> KeysShown:
    """What a footer would show for the screen's bindings now."""
    return tuple((binding.key, binding.description, binding.action, enabled, tooltip)
                 for _, binding, enabled, tooltip in screen.active_bindings.values() if binding.show)


class KeyFooter(Footer):
    """A Footer that skips composing the same keys again."""

    def __init__(self) -> None:
        super().__init__()
        self._shown: KeysShown | None = None
        self.narrow = False

    def fit_width(self, width: int) -> None:
        """Below NARROW_BELOW columns: compact, short words, no palette key, so every key fits at 80."""
        narrow = width < NARROW_BELOW
        if narrow != self.narrow:
            self.narrow = narrow
            self.compact = narrow
            self.show_command_palette = not narrow
            self._shown = None
            if self.is_attached:
                self.refresh(recompose=True)

    def on_resize(self) -> None:
        self.fit_width(self.app.size.width)

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if self.narrow and isinstance(widget, FooterKey):
                widget.description = SHORT.get(widget.description, widget.description)
            yield widget

    def bindings_changed(self, screen: Screen[object]) -> None:
        shown = keys_shown(screen)
        focused = screen.app.app_focus
        if focused and shown == self._shown and self._bindings_ready:
            return
        if focused and self.is_attached and screen is self.screen:  # what Footer composes then
            self._shown = shown
        super().bindings_changed(screen)
