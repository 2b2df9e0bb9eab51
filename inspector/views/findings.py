"""Findings as a linter prints them (`check`), as JSON lines (the `check --format jsonl`
contract in ../shared/DESIGN.md), under the frame they concern (`dump`), and the rule table
(`check --list-rules`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from inspector.findings.presets import Limits
from inspector.findings.rules import RULES
from inspector.model import Finding, Severity

SEVERITY_WORDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "info"}


def order(findings: Iterable[Finding]) -> list[Finding]:
    """Capture order: by the first frame (or packet) they concern; ones about no frame last."""
    def key(f: Finding) -> tuple[int, int, int]:
        if f.frame is not None and f.frame >= 0:
            return (0, f.frame, f.packet or 0)
        if f.packet is not None:
            return (1, f.packet, 0)
        return (2, 0, 0)
    return sorted(findings, key=key)


def where(f: Finding) -> str:
    """"conn 0 stream 3 frame 12 packet 9"."""
    parts = []
    if f.conn_index is not None:
        parts.append(f"conn {f.conn_index}")
    if f.stream_id is not None:
        parts.append(f"stream {f.stream_id}")
    if f.frame is not None and f.frame >= 0:
        parts.append(f"frame {f.frame}")
    if f.packet is not None:
        parts.append(f"packet {f.packet}")
    return " ".join(parts) or "capture"


def _times(f: Finding) -> str:
    if f.count <= 1:
        return ""
    last = f" to frame {f.last_frame}" if f.last_frame is not None else ""
    if f.last_packet is not None:
        last += f" (packet {f.last_packet})"
    return f" [x{f.count}{last}]"


def _threshold(f: Finding) -> str:
    if f.threshold is None:
        return ""
    name, value, source = f.threshold
    shown = int(value) if float(value).is_integer() else value
    return f" {{{name}={shown}, {source}}}"


def text_line(f: Finding, *, located: bool = True) -> str:
    """One line: where (unless `located` is False: printed under its frame), severity, rule, message,
    how often, the limit, the reference."""
    ref = f" ({f.reference})" if f.reference else ""
    place = f"{where(f)}: " if located else ""
    return f"{place}{SEVERITY_WORDS[f.severity]} {f.rule}: {f.message}{_times(f)}{_threshold(f)}{ref}\n"


def text_lines(findings: list[Finding], name: str, shown: Severity) -> Iterator[str]:
    """The linter's report: the findings at or above `shown`, then one line of totals."""
    counted = {s: 0 for s in Severity}
    for f in findings:
        counted[f.severity] += 1
    for f in order(findings):
        if f.severity >= shown:
            yield text_line(f)
    hidden = sum(n for s, n in counted.items() if s < shown)
    totals = ", ".join(f"{counted[s]} {SEVERITY_WORDS[s]}{'s' if counted[s] != 1 and s is not Severity.INFO else ''}"
                       for s in (Severity.ERROR, Severity.WARNING, Severity.INFO))
    note = f" ({hidden} below {SEVERITY_WORDS[shown]} not shown)" if hidden else ""
    yield f"{name}: {totals}{note}\n"


def as_json(f: Finding) -> dict:
    """The contract's keys (DESIGN.md, `check --format jsonl`), then the added ones."""
    threshold = None
    if f.threshold is not None:
        name, value, source = f.threshold
        threshold = {"name": name, "value": int(value) if float(value).is_integer() else value, "preset": source}
    rule = RULES.get(f.rule)
    return {
        "rule": f.rule, "severity": SEVERITY_WORDS[f.severity], "message": f.message, "reference": f.reference,
        "conn": f.conn_index, "stream_id": f.stream_id, "frame": f.frame if f.frame is None or f.frame >= 0 else None,
        "packet": f.packet, "time": f.time, "last_frame": f.last_frame if f.count > 1 else f.frame,
        "count": f.count, "threshold": threshold,
        "title": rule.title if rule else "", "last_packet": f.last_packet if f.count > 1 else f.packet,
        "last_time": f.last_time if f.count > 1 else f.time,
    }


def jsonl_lines(findings: list[Finding], shown: Severity) -> Iterator[str]:
    for f in order(findings):
        if f.severity >= shown:
            yield json.dumps(as_json(f), ensure_ascii=False) + "\n"


class FindingsByFrame:
    """The findings of a session by the frame they first concern, for views that print frames."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        self.read = 0
        self.by_frame: dict[int, list[int]] = {}  # frame -> indexes in findings (a group's entry is replaced)

    def current(self) -> dict[int, list[int]]:
        """frame -> indexes in `findings` of the findings that first concern it, as they are now
        (a view printing many frames asks once, then tests each frame against it)."""
        findings = self.findings
        for i in range(self.read, len(findings)):
            first = findings[i].frame
            if first is not None and first >= 0:
                self.by_frame.setdefault(first, []).append(i)
        self.read = len(findings)
        return self.by_frame

    def of(self, frame: int) -> list[Finding]:
        """Findings whose first frame is `frame`, as they are now."""
        indexes = self.current().get(frame)
        findings = self.findings
        return [findings[i] for i in indexes] if indexes else []


def rule_lines(limits: Limits, lang: str = "en") -> Iterator[str]:
    """Every rule: id, severity, limits in force, reference, title and its sentence."""
    width = max(len(r) for r in RULES)
    for rule in RULES.values():
        limit = f"  [{limits.describe(rule.limits)}]" if rule.limits else ""
        ref = f"  ({rule.reference})" if rule.reference else ""
        yield f"{rule.id:<{width}}  {SEVERITY_WORDS[rule.severity]:<7}  {rule.title}{limit}{ref}\n"
        yield f"{'':<{width}}  {'':<7}  {rule.explain(lang)}\n"
