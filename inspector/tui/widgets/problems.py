"""The problems view: the session's findings grouped by rule, with counts and
severity in words (and colour), each finding on its own row under its group;
Enter jumps to the stream and frame it concerns. A live session's new
findings join as they are found.

Findings are grouped by their `rule` id when they have one (the findings
engine gives one), else by their message with the numbers taken out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from inspector.model import Finding, Session, Severity
from inspector.tui.columns import cell_width, fit
from inspector.tui.describe import (
    SEVERITY_MARK,
    SEVERITY_WORD,
    count_words,
    finding_message,
    finding_rule,
    finding_title,
    finding_where,
    severity_word,
)
from inspector.tui.detail_words import PROBLEM_HEADER, PROBLEM_WORDS
from inspector.tui.widgets.row_list import Row, RowList


@dataclass(slots=True)
class FindingGroup:
    """The findings of one rule."""

    rule: str
    title: str
    severity: Severity
    findings: list[Finding] = field(default_factory=list)


class ProblemsView(RowList):
    """A row per rule (severity, count, title), then a row per finding (where, message, reference)."""

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

    def __init__(self, session: Session, *, id: str | None = None, lang: str = "en") -> None:
        super().__init__(id=id)
        self.session = session
        self.lang = lang
        self.groups: dict[str, FindingGroup] = {}
        self.rows: list[tuple[FindingGroup, Finding | None]] = []
        self.seen = 0  # findings read from the session so far

    def model_changed(self) -> bool:
        """Read the findings added since last time; True if there were any."""
        findings = self.session.findings
        if len(findings) == self.seen:
            return False
        for finding in findings[self.seen:]:
            rule = finding_rule(finding)
            group = self.groups.get(rule)
            if group is None:
                group = self.groups[rule] = FindingGroup(rule, finding_title(finding, self.lang),
                                                         Severity(finding.severity))
            group.findings.append(finding)
            group.severity = max(group.severity, Severity(finding.severity))
        self.seen = len(findings)
        ordered = sorted(self.groups.values(), key=lambda g: (-g.severity, -len(g.findings), g.rule))
        self.rows = [row for g in ordered for row in [(g, None), *((g, f) for f in g.findings)]]
        self.set_rows(len(self.rows), self.draw_row, keep_cursor=True, width=0, header=self.header_row())
        return True

    def header_row(self) -> Row:
        if self.lang in PROBLEM_HEADER:
            return [(PROBLEM_HEADER[self.lang].format(count=len(self.session.findings), groups=len(self.groups)),
                     "header")]
        return [(f"  {count_words(self.session.findings)} in {len(self.groups)} "
                 f"group{'s' if len(self.groups) != 1 else ''} (by rule) · Enter: go to the frame · Esc: back",
                 "header")]

    def finding_at(self, row: int) -> Finding | None:
        if not 0 <= row < len(self.rows):
            return None
        group, finding = self.rows[row]
        return finding if finding is not None else group.findings[0]

    def draw_row(self, i: int) -> Row:
        group, finding = self.rows[i]
        width = max(20, self.scrollable_content_region.width or 100)
        words = PROBLEM_WORDS[self.lang]
        if finding is None:
            word = SEVERITY_WORD[group.severity]  # also the component class that colours it
            said = severity_word(group.severity, self.lang)
            head = f"{SEVERITY_MARK[group.severity]} {said.upper():<{7 - cell_width(said) + len(said)}} " \
                   f"×{len(group.findings):<5} "
            name = getattr(group.findings[0], "rule", None)
            title = f"{name}{words['colon']}{group.title}" if name else group.title
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

    def __init__(self, session: Session, lang: str = "en") -> None:
        super().__init__()
        self.session = session
        self.lang = lang  # the tutorial's Japanese mode: "ja"
        self.words = PROBLEM_WORDS[lang]
        if lang != "en":
            self._bindings = BindingsMap([Binding("escape,p,exclamation_mark,q", "close", self.words["back"]),
                                          Binding("enter", "go", self.words["go"])])

    def compose(self) -> ComposeResult:
        yield Static(self.words["title"], id="problems-title")
        yield ProblemsView(self.session, id="problems", lang=self.lang)
        yield Static(id="problem-detail")
        yield Footer()

    def on_mount(self) -> None:
        view = self.query_one(ProblemsView)
        view.model_changed()
        view.focus()
        self._explain(view.finding_at(view.cursor))
        self.set_interval(0.5, self._grow)  # a live session's findings join as they come

    def _grow(self) -> None:
        view = self.query_one(ProblemsView)
        if view.model_changed():
            self._explain(view.finding_at(view.cursor))

    def on_problems_view_finding_highlighted(self, event: ProblemsView.FindingHighlighted) -> None:
        self._explain(event.finding)

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
