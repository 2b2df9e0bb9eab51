"""`h2inspect dump`: every frame of a capture, as text or JSON lines."""

from __future__ import annotations

import argparse
import gc
import sys

from inspector.capture.load import loader_for
from inspector.commands.live import capture_counts, listening_line, stopped_by_interrupt, waiting_line
from inspector.views.jsonl import JsonlFrames
from inspector.views.text import TextFrames

WRITE_FRAMES = 2000  # frames formatted and written at a time


def run(args: argparse.Namespace) -> int:
    """Decode the capture and print its frames as they are decoded."""
    loader = loader_for(args, on_wait=waiting_line(args.capture), on_listening=listening_line(args))
    with loader:
        session = loader.session
        view = JsonlFrames(session) if args.format == "jsonl" else TextFrames(session)
        out = sys.stdout
        write = out.write
        printed = 0
        live = loader.live is not None
        # JSON lines stream out as the capture decodes; the text view of a file waits for the
        # end, because a gRPC message it shows under a DATA frame may end frames later. A live
        # source cannot wait for its end: its text is printed as it arrives too.
        with stopped_by_interrupt(loader):
            batches = loader.batches(batch=300) if args.format == "jsonl" or live else [loader.load()]
            try:
                for _ in batches:
                    end = len(session.frames)
                    while printed < end:  # a slice at a time: the text of a big capture is never all in memory
                        upto = min(end, printed + WRITE_FRAMES)
                        write("".join(view.lines(printed, upto, args.stream)))
                        printed = upto
                    if live:
                        out.flush()
                    else:
                        # What a finished capture decoded so far stays to the end of the command: the
                        # cyclic garbage collector need not walk it again at every later collection
                        # (big.pcap: 7% fewer instructions). Refcounting still frees what is let go.
                        gc.freeze()
            finally:
                gc.unfreeze()  # the collector walks everything again from here
        out.flush()
        session.flush_findings()
        for finding in session.findings:
            print(f"h2inspect: {loader.path}: {finding.one_line()}", file=sys.stderr)
        capture_counts(loader)
        return 0
