"""`h2inspect rpcs`: the gRPC calls in a capture."""

from __future__ import annotations

import argparse
import sys

from inspector.capture.load import loader_for
from inspector.commands.live import capture_counts, listening_line, stopped_by_interrupt, waiting_line
from inspector.rpc.calls import find_calls
from inspector.rpc.schema import load_schema
from inspector.views.rpcs import jsonl_lines, text_lines


def run(args: argparse.Namespace) -> int:
    """Decode the capture, find its gRPC calls, print them."""
    loader = loader_for(args, on_wait=waiting_line(args.capture), on_listening=listening_line(args))
    schema = load_schema(args.proto)
    with stopped_by_interrupt(loader):
        session = loader.load()
    calls = find_calls(session, schema)
    lines = jsonl_lines(calls) if args.format == "jsonl" else text_lines(calls, verbose=args.verbose,
                                                                           schema=schema)
    sys.stdout.write("".join(lines))
    sys.stdout.flush()
    for finding in session.findings:
        print(f"h2inspect: {loader.path}: {finding.one_line()}", file=sys.stderr)
    capture_counts(loader)
    return 0
