"""`h2inspect open`: the TUI on a capture."""

from __future__ import annotations

import argparse

from inspector.capture.load import CaptureLoader, refuse_keylog


def run(args: argparse.Namespace) -> int:
    """Check the capture first (so bad input is one line, exit 2), then open the TUI while it loads."""
    refuse_keylog(args.keylog)
    loader = CaptureLoader(args.capture, tuple(args.port or ()))
    from inspector.tui.app import App  # Textual loads only when a TUI is wanted

    App(loader.session, loader).run()
    return 0
