"""The problems view: the session's findings grouped by rule, with counts and
severity in words (and colour), each finding on its own row under its group;
Enter jumps to the stream and frame it concerns. A live session's new
findings join as they are found.

Findings are grouped by their `rule` id when they have one (the findings
engine gives one), else by their message with the numbers taken out.
"""

from __future__ import annotations

from bisect import bisect_right

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static

from inspector.model import Finding, Session, Severity
from inspector.tui.columns import cell_width, fit
from inspector.tui.describe import (
    SEVERITY_MARK,
    SEVERITY_WORD,
    finding_message,
    finding_title,
    finding_where,
    severity_word,
)
from inspector.tui.detail_words import PROBLEM_HEADER, PROBLEM_WORDS
from inspector.tui.finding_index import FindingGroup, FindingIndex
from inspector.tui.widgets.footer import KeyFooter
from inspector.tui.widgets.row_list import Row, RowList

__all__ = ["FindingGroup", "ProblemsScreen", "ProblemsView"]


class ProblemsView(RowList):
    """A row per rule (severity, count, title), then a row per finding (where, message, reference).

    Rows are found, not listed: a group's first row is kept (`starts`), and row i is the
    group it falls in and a position in that group, so 60,000 findings cost nothing until
    their rows scroll into view."""

    class FindingChosen(Message):
        """Enter on a finding (or on a group: its first finding)."""

        def __init__(self, finding: Finding) -> None:
            super().__init__()
            self.finding = finding

    class FindingHighlighted(Message):
        """The cursor is on a finding."""

        def __init__(self, finding: Finding | None) -> None:
            super().__init__()
            self.finding = finding

    def __init__(self, session: Session, *, id: str | None = None, lang: str = "en",
                 index: FindingIndex | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.lang = lang
        #: the findings indexed as they came (the app's, shared with its marks and status line)
        self.index = index if index is not None else FindingIndex(session)
        self.ordered: list[FindingGroup] = []
        self.starts: list[int] = []  # the row of each group's own row
        self._drawn = -1  # the index's version the rows were laid out from

    @property
    def groups(self) -> dict[str, FindingGroup]:
        return self.index.groups

    def model_changed(self) -> bool:
        """Read the findings added since last time; True if the rows changed."""
        self.index.update()
        if self.index.version == self._drawn:
            return False
        self._drawn = self.index.version
        self.ordered = self.index.ordered()
        starts, row = [], 0
        for group in self.ordered:
            starts.append(row)
            row += 1 + len(group.findings)
        self.starts = starts
        self.set_rows(row, self.draw_row, keep_cursor=True, width=0, header=self.header_row())
        return True

    def header_row(self) -> Row:
        count = self.index.seen
        groups = len(self.ordered)
        if self.lang in PROBLEM_HEADER:
            return [(PROBLEM_HEADER[self.lang].format(count=count, groups=groups), "header")]
        return [(f"  {self.index.count_words()} in {groups} "
                 f"group{'s' if groups != 1 else ''} (by rule) · Enter: go to the frame · Esc: back",
                 "header")]

    def entry(self, row: int) -> tuple[FindingGroup, Finding | None]:
        """The group of a row, and its finding (None on the group's own row)."""
        g = bisect_right(self.starts, row) - 1
        group = self.ordered[g]
        k = row - self.starts[g]
        return group, (self.session.findings[group.findings[k - 1]] if k else None)

    def finding_at(self, row: int) -> Finding | None:
        if not 0 <= row < self.count:
            return None
        group, finding = self.entry(row)
        return finding if finding is not None else self.session.findings[group.findings[0]]

    def draw_row(self, i: int) -> Row:
        group, finding = self.entry(i)
        width = max(20, self.scrollable_content_region.width or 100)
        words = PROBLEM_WORDS[self.lang]
        if finding is None:
            word = SEVERITY_WORD[group.severity]  # also the component class that colours it
            said = severity_word(group.severity, self.lang)
            head = f"{SEVERITY_MARK[group.severity]} {said.upper():<{7 - cell_width(said) + len(said)}} " \
                   f"×{len(group.findings):<5} "
            first = self.session.findings[group.findings[0]]
            name = getattr(first, "rule", None)
            title = group.title if self.lang == "en" else finding_title(first, self.lang)
            title = f"{name}{words['colon']}{title}" if name else title
            return [(head, word), (fit(title, width - cell_width(head)), "rule")]
        severity = Severity(finding.severity)
        where = f"    {SEVERITY_MARK[severity]} {finding_where(self.session, finding, self.lang)}{words['colon']}"
        ref = f" ({finding.reference})" if finding.reference else ""
        return [(where, "where"), (fit(finding_message(finding, self.lang) + ref, width - cell_width(where)), "")]

    def _move_to(self, index: int) -> None:
        super()._move_to(index)
        self.post_message(self.FindingHighlighted(self.finding_at(self.cursor)))

    def action_choose(self) -> None:
        finding = self.finding_at(self.cursor)
        if finding is not None:
            self.post_message(self.FindingChosen(finding))


class ProblemsScreen(Screen[Finding | None]):
    """The problems view on its own screen, with the chosen finding's words below it."""

    BINDINGS = [Binding("escape,p,exclamation_mark,q", "close", "Back"),
                Binding("enter", "go", "Go to the frame")]

    def __init__(self, session: Session, lang: str = "en", index: FindingIndex | None = None) -> None:
        super().__init__()
        self.session = session
        self.lang = lang  # the tutorial's Japanese mode: "ja"
        self.index = index  # the app's index of the findings, if it keeps one
        self._timer: Timer | None = None
        self._styled_at = -1  # the app's CSS update count when this screen was last styled
        self.words = PROBLEM_WORDS[lang]
        if lang != "en":
            self._bindings = BindingsMap([Binding("escape,p,exclamation_mark,q", "close", self.words["back"]),
                                          Binding("enter", "go", self.words["go"])])

    def compose(self) -> ComposeResult:
        yield Static(self.words["title"], id="problems-title")
        yield ProblemsView(self.session, id="problems", lang=self.lang, index=self.index)
        yield Static(id="problem-detail")
        yield KeyFooter()

    def on_mount(self) -> None:
        view = self.query_one(ProblemsView)
        view.model_changed()
        view.focus()
        # Explained from the move itself, not from its Highlighted message: the words below land in
        # the same screen update as the cursor (a message comes a few hops later, a second update).
        view.follow = lambda row: self._explain(view.finding_at(row))
        self._explain(view.finding_at(view.cursor))
        self._timer = self.set_interval(0.5, self._grow)  # a live session's findings join as they come

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual styles a screen again on every resume. Unless the app's CSS changed since (a new
        # theme: its counter moved), that restyle changes nothing but asks for a layout and two more
        # screen updates, which made each visit cost three updates instead of one.
        unchanged = self._styled_at == self.app._css_update_count
        self._styled_at = self.app._css_update_count
        event.prevent_default()  # Screen's own handler runs below, once
        super()._on_screen_resume(events.ScreenResume(refresh_styles=False) if unchanged else event)
        # The app keeps this screen (installed) between visits: what came meanwhile, and the
        # cursor where it was left.
        if self._timer is not None:
            self._grow()
            self._timer.resume()

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.pause()

    def _grow(self) -> None:
        view = self.query_one(ProblemsView)
        if view.model_changed():
            self._explain(view.finding_at(view.cursor))

    def _explain(self, finding: Finding | None) -> None:
        box = self.query_one("#problem-detail", Static)
        # layout=False: the box's size is fixed by the stylesheet, and a layout pass of the
        # whole screen on every cursor move would cost more than the move itself.
        if finding is None:
            box.update(Text(self.words["none"]), layout=False)
            return
        severity = severity_word(Severity(finding.severity), self.lang)
        rule = getattr(finding, "rule", None)
        box.update(Text(f" {SEVERITY_MARK[Severity(finding.severity)]} {severity}"
                   + (f" · {self.words['rule']} {rule}" if rule else "")
                   + f" · {finding_where(self.session, finding, self.lang)}\n {finding_message(finding, self.lang)}\n"
                        f" {self.words['see']} {finding.reference or self.words['no_reference']}"), layout=False)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_go(self) -> None:
        view = self.query_one(ProblemsView)
        self.dismiss(view.finding_at(view.cursor))

    def on_problems_view_finding_chosen(self, event: ProblemsView.FindingChosen) -> None:
        event.stop()
        self.dismiss(event.finding)
