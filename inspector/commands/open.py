"""`h2inspect open`: the TUI on a capture."""

from __future__ import annotations

import argparse

from inspector.capture.load import loader_for
from inspector.rpc.schema import load_schema


def run(args: argparse.Namespace) -> int:
    """Check the capture first (so bad input is one line, exit 2), then open the TUI while it loads."""
    loader = loader_for(args)
    schema = load_schema(getattr(args, "proto", None))
    from inspector.tui.app import App  # Textual loads only when a TUI is wanted

    App(loader.session, loader, schema=schema).run()
    return 0
