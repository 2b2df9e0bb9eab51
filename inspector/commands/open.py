"""`h2inspect open`: the TUI on a capture."""

from __future__ import annotations

import argparse
import sys

from inspector.capture.load import loader_for
from inspector.commands.live import capture_counts
from inspector.rpc.schema import load_schema


def run(args: argparse.Namespace) -> int:
    """Check the capture first (so bad input is one line, exit 2), then open the TUI while it loads."""
    loader = loader_for(args)
    schema = load_schema(getattr(args, "proto", None))
    from inspector.tui.app import App  # Textual loads only when a TUI is wanted

    app = App(loader.session, loader, schema=schema)
    try:
        app.run()
    finally:
        # q or Ctrl-C quits the app; a live capture is stopped, what it held decoded and
        # --record closed, and what the kernel dropped said.
        app.finish_live()
    if loader.live is not None:
        if loader.drops is not None:
            print(f"h2inspect: {loader.path}: {loader.drops.one_line()}", file=sys.stderr)
        capture_counts(loader)
    return 0
