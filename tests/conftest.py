"""Shared fixtures: where the sample captures are, and their manifest."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
sys.path.insert(0, str(Path(__file__).resolve().parent))
# pytest keeps each test module with its asserts rewritten in __pycache__ (git-ignored), but not while
# bytecode writing is off (PYTHONDONTWRITEBYTECODE): then every run, in every xdist worker, rewrote all
# of them again, about 4 s of each worker's start. The modules imported after this line are cached.
sys.dont_write_bytecode = False


def load_manifest() -> list[dict]:
    """captures/manifest.json: one entry per sample capture (written by captures/make_captures.py)."""
    path = CAPTURES / "manifest.json"
    data = json.loads(path.read_text())
    return data["captures"] if isinstance(data, dict) else data


@pytest.fixture
def tmp_capture(tmp_path):
    """A path for a capture a test builds."""
    return str(tmp_path / "test.pcap")


@pytest.fixture
def peers() -> None:
    """nghttpd and curl, which every proxy test talks through: missing, the test fails."""
    from proxykit import require

    require("nghttpd", "curl")


os.environ.setdefault("PYTHONHASHSEED", "0")

FINDINGS_READ_PER_RULE = 50  # different messages of one rule a test has read in Japanese, at most


@pytest.fixture(autouse=True)
def every_finding_reads_in_japanese(monkeypatch):
    """Every finding a test makes must read in Japanese (inspector/findings/messages.py), with every
    number of its English line: a checker's new message without a Japanese form fails the test that
    made it, whichever test that is."""
    from collections import Counter

    from inspector.capture.damage import CaptureDamage
    from inspector.findings.engine import FindingsEngine
    from inspector.findings.messages import japanese
    from inspector.proxy.live_source import LiveSource

    made: dict[tuple[str, str], None] = {}
    per_rule: Counter[str] = Counter()

    def note(rule: str, message: str) -> None:
        if (rule, message) not in made and per_rule[rule] < FINDINGS_READ_PER_RULE:
            made[(rule, message)] = None
            per_rule[rule] += 1

    report, tallied, event = FindingsEngine.report, CaptureDamage.findings, LiveSource.event

    def noting_report(self, rule_id, message, **where):  # type: ignore[no-untyped-def]
        note(rule_id, message)
        return report(self, rule_id, message, **where)

    def noting_findings(self):  # type: ignore[no-untyped-def]
        findings = tallied(self)
        for finding in findings:
            note(finding.rule, finding.message)
        return findings

    def noting_event(self, rule_id, message, live=None):  # type: ignore[no-untyped-def]
        note(rule_id, message)
        return event(self, rule_id, message, live)

    monkeypatch.setattr(FindingsEngine, "report", noting_report)
    monkeypatch.setattr(CaptureDamage, "findings", noting_findings)
    monkeypatch.setattr(LiveSource, "event", noting_event)
    yield
    number = re.compile(r"\d+")
    unread = []
    for rule, message in made:
        said = japanese(rule, message)
        if said is None or Counter(number.findall(message)) - Counter(number.findall(said)):
            unread.append(f"{rule}: {message!r} -> {said!r}")
    if unread:
        pytest.fail("findings without their Japanese (add a form to inspector/findings/messages.py):\n  "
                    + "\n  ".join(unread), pytrace=False)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: one worker more than the cores. A TUI test spends half its time in Textual's
    idle waits (about 40 ms a key), so with one worker per core the cores sit idle a third of the
    time; the extra worker fills it (`not peers`: 64 s to 50 s on 2 cores). The peers stay one group
    on one worker. PYTEST_XDIST_AUTO_NUM_WORKERS still decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores + 1


def pytest_configure(config: pytest.Config) -> None:
    # `pytest -m "not peers"` runs everything that needs no program outside Python
    # (tshark, nghttpd, curl, h2load, tcpdump, tmux) and no grpcio peers: the core, in seconds.
    config.addinivalue_line("markers", "peers: needs real peers or tools (tshark, nghttpd, curl, grpcio, tmux)")
    config.addinivalue_line("markers", "xdist_group(name): pytest-xdist's, run one group on one worker")


def screen_lines(app) -> list[str]:  # type: ignore[no-untyped-def]
    """What a Textual app shows now, line by line, as a terminal would show it."""
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot())).replace("\xa0", " ").splitlines()


def screen_text(app) -> list[str]:  # type: ignore[no-untyped-def]
    """What the app's current screen shows, line by line, spaces kept (the SVG export of
    `screen_lines` loses the spaces between differently styled pieces)."""
    strips = app.screen._compositor.render_strips()  # Textual's own render of the screen: exact cells
    return ["".join(segment.text for segment in strip).rstrip() for strip in strips]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test that asks for the `peers` fixture needs them: it is marked so, whatever its file says.
    # Under pytest-xdist (`-n`, `--dist loadgroup`) the peers tests form one group, run one after
    # another on one worker: they share loopback, tcpdump and tmux, while the rest, pure Python,
    # spreads over the other workers.
    for item in items:
        if "peers" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.peers)
        if item.get_closest_marker("peers") is not None:
            item.add_marker(pytest.mark.xdist_group("peers"))
