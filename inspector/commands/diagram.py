"""`h2inspect diagram`: Mermaid sequence diagrams of the gRPC calls in a capture.

The lessons in tutorials/ embed its output (tutorials/update_diagrams.py
rewrites them), so their diagrams are the frames of real captures.
"""

from __future__ import annotations

import argparse
import sys

from inspector.capture.load import loader_for
from inspector.errors import UsageError
from inspector.rpc.calls import find_calls
from inspector.views.diagram import FrameLabels, call_diagram, mermaid


def run(args: argparse.Namespace) -> int:
    """One Mermaid diagram per gRPC call (or the one on --stream), separated by a blank line."""
    with loader_for(args) as loader:
        session = loader.load()
        calls = [c for c in find_calls(session)
                 if (args.stream is None or c.stream_id == args.stream)
                 and (args.conn is None or c.conn_index == args.conn)]
        if not calls:
            where = f" on stream {args.stream}" if args.stream is not None else ""
            raise UsageError(f"{args.capture}: no gRPC call{where}")
        # Written a diagram at a time: 80,000 calls make 30 MB of text, never all in memory at once.
        write = sys.stdout.write
        labels = FrameLabels(session, args.lang)
        for n, call in enumerate(calls):
            if n:
                write("\n")
            write(mermaid(call_diagram(session, call, args.lang, window_updates=args.window_updates, labels=labels),
                          args.lang))
        return 0
