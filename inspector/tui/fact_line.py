"""One line of facts that fits its width: the status line, a view's title.

Each fact has forms, longest first (the last may be "", the fact may go); when the
line is too long, facts give way in a stated order, the least deciding first, a
form at a time. A fact that may be cut (a key's message, a search) is cut with an
ellipsis, down to its least; what is still too long ends with an ellipsis. A word
is never cut silently. Pure functions, so a width of 80 is testable without a
terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import RenderResult
from textual.visual import VisualType
from textual.widgets import Static

from inspector.tui.columns import cell_width, cut

SEPARATOR = " · "


@dataclass(slots=True, frozen=True)
class Fact:
    """A fact of the line: its forms, longest first, and when it gives way (lower: sooner)."""

    forms: tuple[str, ...]
    give_way: int
    least: int = 0  # > 0: once at its shortest form, the fact may be cut with an ellipsis to this many cells


def fact(*forms: str, give_way: int, least: int = 0) -> Fact:
    return Fact(tuple(forms), give_way, least)


def _join(texts: Sequence[str]) -> str:
    return " " + SEPARATOR.join(t for t in texts if t)


def fit_facts(facts: Sequence[Fact], width: int) -> str:
    """The facts in at most `width` cells, in their order on the line, the least deciding giving way."""
    texts = [f.forms[0] for f in facts]
    chosen = [0] * len(facts)
    line = _join(texts)
    for i in sorted(range(len(facts)), key=lambda i: facts[i].give_way):
        f = facts[i]
        while cell_width(line) > width and chosen[i] < len(f.forms) - 1:
            chosen[i] += 1
            texts[i] = f.forms[chosen[i]]
            line = _join(texts)
        excess = cell_width(line) - width
        if excess > 0 and f.least and texts[i]:
            texts[i] = cut(texts[i], max(f.least, cell_width(texts[i]) - excess))
            line = _join(texts)
    return cut(line, width)


def longest(facts: Sequence[Fact]) -> str:
    """Every fact in its longest form (what the line says when there is room)."""
    return _join([f.forms[0] for f in facts])


class FactLine(Static):
    """A one-line Static that draws its facts fitted to its own width, at every size.

    `show(facts)` sets them; a plain `update` (the tutorial's own words) draws as a Static does."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._facts: tuple[Fact, ...] = ()

    def show(self, facts: Sequence[Fact]) -> None:
        facts = tuple(facts)
        if facts != self._facts:
            self._facts = facts
            self.refresh()  # one line, sized by the stylesheet: no layout

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        self._facts = ()
        super().update(content, layout=layout)

    def fits(self, facts: Sequence[Fact]) -> bool:
        """The facts, at this line's width, all in their longest forms."""
        width = self.size.width or self.app.size.width
        return cell_width(longest(facts)) <= width

    def render(self) -> RenderResult:
        if not self._facts:
            return super().render()
        return Text(fit_facts(self._facts, self.size.width or self.app.size.width))
