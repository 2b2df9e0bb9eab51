"""Shared fixtures: where the sample captures are, and their manifest."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
sys.path.insert(0, str(Path(__file__).resolve().parent))


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
