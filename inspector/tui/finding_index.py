"""The session's findings as the TUI reads them, indexed once as they arrive:
the worst severity on each frame and each stream (the row marks), the findings
on a frame (the detail), the count of each severity (the status line) and the
groups by rule (the problems view).

Every finding is read once, when it first appears; a view that asks again
costs a dict lookup, so the status line and the problems view cost the same
with 6 findings or 60,000. The index keeps positions in `session.findings`,
not the findings themselves: the findings engine replaces a grouped finding
in place as its count grows, and the views show the finding as it is now.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inspector.model import Finding, Session, Severity
from inspector.tui.describe import finding_rule, finding_title, severity_counts_badges, severity_counts_words


@dataclass(slots=True)
class FindingGroup:
    """The findings of one rule: positions in `session.findings`, in the order they came."""

    rule: str
    title: str
    severity: Severity
    findings: list[int] = field(default_factory=list)


class FindingIndex:
    """Marks, counts and groups of a session's findings, extended with each new finding."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.version = 0  # grows whenever findings were read: a view compares it with the one it drew
        self._reset()

    def _reset(self) -> None:
        self.seen = 0  # findings read so far
        self.by_frame: dict[int, list[int]] = {}
        self.frame_marks: dict[int, Severity] = {}  # frame -> the worst severity on it
        self.stream_marks: dict[tuple[int, int], Severity] = {}  # (conn_index, stream id; 0: the connection)
        self.counts: dict[Severity, int] = {s: 0 for s in Severity}
        self.groups: dict[str, FindingGroup] = {}
        self._ordered: list[FindingGroup] = []
        self._ordered_at = -1

    def update(self) -> bool:
        """Read the findings added since the last call; True if there were any."""
        findings = self.session.findings
        if len(findings) < self.seen:  # the list was cut (a session that drops its oldest records)
            self._reset()
        if len(findings) == self.seen:
            return False
        log = self.session.frames
        frames = len(log)
        conns, sids = log.column("conn_index"), log.column("stream_id")
        by_frame, frame_marks, stream_marks = self.by_frame, self.frame_marks, self.stream_marks
        counts, groups = self.counts, self.groups
        for position in range(self.seen, len(findings)):
            finding = findings[position]
            severity = Severity(finding.severity)
            counts[severity] += 1
            conn_index, sid, frame = finding.conn_index, finding.stream_id, finding.frame
            if frame is not None and log.base <= frame < frames:  # (not a frame a bounded history dropped)
                by_frame.setdefault(frame, []).append(position)
                if frame_marks.get(frame, -1) < severity:
                    frame_marks[frame] = severity
                conn_index, sid = conns[frame], sids[frame]
            if conn_index is not None:
                key = (conn_index, sid or 0)
                if stream_marks.get(key, -1) < severity:
                    stream_marks[key] = severity
            rule = finding_rule(finding)
            group = groups.get(rule)
            if group is None:
                group = groups[rule] = FindingGroup(rule, finding_title(finding), severity)
            elif group.severity < severity:
                group.severity = severity
            group.findings.append(position)
        self.seen = len(findings)
        self.version += 1
        return True

    def findings_of(self, frame: int) -> list[Finding]:
        """The findings on a frame (FrameLog index), as they are now."""
        findings = self.session.findings
        return [findings[p] for p in self.by_frame.get(frame, ())]

    def ordered(self) -> list[FindingGroup]:
        """The groups, the worst and the most frequent first."""
        if self._ordered_at != self.version:
            self._ordered = sorted(self.groups.values(), key=lambda g: (-g.severity, -len(g.findings), g.rule))
            self._ordered_at = self.version
        return self._ordered

    def count_words(self) -> str:
        """3 errors, 12 warnings, 1 info; or "no findings" (counted once, as they came)."""
        return severity_counts_words(self.counts)

    def count_badges(self) -> str:
        """The counts as marks, "✖3 ▲12 ℹ1", for a narrow status line."""
        return severity_counts_badges(self.counts)
