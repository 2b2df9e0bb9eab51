"""`h2inspect rpcs`: the gRPC calls in a capture."""

from __future__ import annotations

import argparse
import sys

from inspector.capture.load import loader_for
from inspector.rpc.calls import find_calls
from inspector.rpc.schema import load_schema
from inspector.views.rpcs import jsonl_lines, text_lines


def run(args: argparse.Namespace) -> int:
    """Decode the capture, find its gRPC calls, print them."""
    loader = loader_for(args)
    schema = load_schema(args.proto)
    session = loader.load()
    calls = find_calls(session, schema)
    session.flush_findings()
    lines = jsonl_lines(calls) if args.format == "jsonl" else text_lines(calls, verbose=args.verbose,
                                                                           schema=schema)
    sys.stdout.write("".join(lines))
    sys.stdout.flush()
    for finding in session.findings:
        print(f"h2inspect: {args.capture}: {finding.one_line()}", file=sys.stderr)
    return 0
