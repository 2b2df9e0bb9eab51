"""`h2inspect rpcs`: the gRPC calls in a capture."""

from __future__ import annotations

import argparse
import sys

from inspector.capture.load import loader_for
from inspector.commands.live import capture_counts, listening_line, stopped_by_interrupt, waiting_line
from inspector.commands.schemas import command_schema
from inspector.rpc.calls import GrpcCall, find_calls
from inspector.views.rpcs import jsonl_lines, text_lines

WRITE_LINES = 4000


def run(args: argparse.Namespace) -> int:
    """Decode the capture, find its gRPC calls, print them (live JSON lines: each call once it ends)."""
    asked = command_schema(args)  # --proto read and --reflect asked before the capture is
    loader = loader_for(args, on_wait=waiting_line(args.capture), on_listening=listening_line(args))
    with loader:
        session = loader.session
        schema = asked.apply(session)
        # id() of the calls already printed, with the call: held, so that no new call gets its id
        printed: dict[int, GrpcCall] = {}
        dropped = 0  # frames a bounded history had dropped when `printed` was last pruned
        out = sys.stdout

        def ended(calls: list[GrpcCall]) -> list[GrpcCall]:
            nonlocal printed, dropped
            history = session.history
            if history is not None and history.dropped != dropped:  # calls it dropped are let go here too
                dropped = history.dropped
                printed = {id(c): c for c in calls if id(c) in printed}
            done = [c for c in calls if id(c) not in printed and c.ended_by != "capture-end"]
            printed.update((id(c), c) for c in done)
            return done

        with stopped_by_interrupt(loader):
            if loader.live is not None and args.format == "jsonl":
                # A live source has no end to wait for: a call is printed as soon as it has ended.
                for _ in loader.batches(batch=300):
                    done = ended(session.calls.calls)
                    if done:
                        out.write("".join(jsonl_lines(done)))
                        out.flush()
            else:
                loader.load()
        calls = find_calls(session, schema)
        session.flush_findings()
        if printed:
            rest = [c for c in calls if id(c) not in printed]
            lines = jsonl_lines(rest)
        else:
            lines = jsonl_lines(calls) if args.format == "jsonl" else text_lines(calls, verbose=args.verbose,
                                                                                   schema=schema)
        chunk: list[str] = []
        for line in lines:  # written a few thousand lines at a time: the listing is never all in memory
            chunk.append(line)
            if len(chunk) >= WRITE_LINES:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))
        out.flush()
        for finding in session.findings:
            print(f"h2inspect: {loader.path}: {finding.one_line()}", file=sys.stderr)
        capture_counts(loader)
        return 0
