"""An app for snapshot tests: the TUI on a sample capture, loaded before it is shown
(so every snapshot is the same), with the clock-free relative times it always shows."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from inspector.capture.load import CaptureLoader  # noqa: E402
from inspector.tui.app import App  # noqa: E402


def make_app(name: str) -> App:
    loader = CaptureLoader(str(ROOT / "captures" / name))
    session = loader.load()
    return App(session, None, title=name)


app = make_app(os.environ.get("H2INSPECT_SNAPSHOT_CAPTURE", "curl-h2c-prior-knowledge.pcap"))
