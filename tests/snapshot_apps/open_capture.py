"""An app for snapshot tests: the TUI on a sample capture, loaded before it is shown
(so every snapshot is the same), with the clock-free relative times it always shows.
"findings" is a capture built here that breaks rules (see tuikit.findings_capture)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from inspector.capture.load import CaptureLoader  # noqa: E402

# The frame detail gives the wall-clock time too: the same zone wherever the snapshots are taken.
os.environ["TZ"] = "UTC"
time.tzset()
from inspector.tui.app import App  # noqa: E402


def make_app(name: str) -> App:
    if name == "findings":
        from tuikit import findings_capture

        path = findings_capture(os.path.join(tempfile.mkdtemp(), "findings.pcap"))
    else:
        path = str(ROOT / "captures" / name)
    session = CaptureLoader(path).load()
    return App(session, None, title=name)


app = make_app(os.environ.get("H2INSPECT_SNAPSHOT_CAPTURE", "curl-h2c-prior-knowledge.pcap"))
