"""Run every finding rule on a capture or a DecoderWire, the way `h2inspect check` does, and pick
findings out by rule."""

from __future__ import annotations

from inspector.capture.load import CaptureLoader
from inspector.findings.presets import Limits
from inspector.model import Finding, Session


def check_capture(path: str, preset: str = "default", **limits: float | None) -> Session:
    """The session of a capture decoded with the rules of `preset` (and `limits` overrides), calls included."""
    loader = CaptureLoader(path)
    session = loader.session
    session.findings_engine.use_limits(Limits(preset, limits))
    for _ in loader.batches():
        session.calls.update()
    session.calls.update()
    session.flush_findings()
    return session


def by_rule(session, rule: str) -> list[Finding]:
    """The findings of one rule, in the order they were made (of a Session, or of a DecoderWire)."""
    session = getattr(session, "session", session)
    session.flush_findings()
    return [f for f in session.findings if f.rule == rule]


def rules_of(session: Session) -> set[str]:
    session.flush_findings()
    return {f.rule for f in session.findings}
