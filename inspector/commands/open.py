"""`h2inspect open`: the TUI on a capture."""

from __future__ import annotations

import argparse
import os
import sys

from inspector.capture.load import loader_for
from inspector.commands.live import capture_counts
from inspector.commands.schemas import command_schema
from inspector.errors import UsageError


def _capture_from_stdin() -> int:
    """`tcpdump -w - | h2inspect open -`: the capture keeps the pipe (on a new descriptor) and
    the TUI gets the terminal back on standard input, as termshark does, for its keys."""
    fd = os.dup(0)
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        raise UsageError("open - needs a terminal for its keys (/dev/tty cannot be opened); "
                         "use dump - for a pipe without one") from None
    os.dup2(tty, 0)
    os.close(tty)
    return fd


def run(args: argparse.Namespace) -> int:
    """Check the capture first (so bad input is one line, exit 2), then open the TUI while it loads."""
    asked = command_schema(args)  # --proto read and --reflect asked before the capture is
    if args.capture == "-":
        args.stdin_fd = _capture_from_stdin()
    loader = loader_for(args)
    schema = asked.apply(loader.session)
    from inspector.tui.app import App  # Textual loads only when a TUI is wanted

    app = App(loader.session, loader, schema=schema)
    try:
        app.run()
    finally:
        # q or Ctrl-C quits the app; a live capture is stopped, what it held decoded and
        # --record closed, and what the kernel dropped said.
        app.finish_live()
        loader.close()
    if loader.live is not None:
        if loader.drops is not None:
            print(f"h2inspect: {loader.path}: {loader.drops.one_line()}", file=sys.stderr)
        capture_counts(loader)
    return 0
