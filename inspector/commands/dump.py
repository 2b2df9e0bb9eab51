"""`h2inspect dump`: every frame of a capture, as text or JSON lines."""

from __future__ import annotations

import argparse
import sys

from inspector.capture.load import loader_for
from inspector.views.jsonl import JsonlFrames
from inspector.views.text import TextFrames

WRITE_FRAMES = 2000  # frames formatted and written at a time


def run(args: argparse.Namespace) -> int:
    """Decode the capture and print its frames as they are decoded."""
    loader = loader_for(args)
    session = loader.session
    view = JsonlFrames(session) if args.format == "jsonl" else TextFrames(session)
    out = sys.stdout
    write = out.write
    printed = 0
    # JSON lines stream out as the capture decodes; the text view waits for the
    # end, because a gRPC message it shows under a DATA frame may end frames later.
    batches = loader.batches(batch=300) if args.format == "jsonl" else [loader.load()]
    for _ in batches:
        end = len(session.frames)
        while printed < end:  # a slice at a time: the text of a big capture is never all in memory
            upto = min(end, printed + WRITE_FRAMES)
            write("".join(view.lines(printed, upto, args.stream)))
            printed = upto
    out.flush()
    session.flush_findings()
    for finding in session.findings:
        print(f"h2inspect: {args.capture}: {finding.one_line()}", file=sys.stderr)
    return 0
