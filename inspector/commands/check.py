"""`h2inspect check`: the findings of a capture, like a linter; exit 1 when one is at or above --severity."""

from __future__ import annotations

import argparse
import sys

from inspector.capture.load import loader_for
from inspector.commands.live import capture_counts, listening_line, stopped_by_interrupt, waiting_line
from inspector.commands.schemas import command_schema
from inspector.errors import UsageError
from inspector.findings.presets import Limits, parse_limit
from inspector.model import Severity
from inspector.views.findings import jsonl_lines, rule_lines, text_lines

SEVERITIES = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO}


def limits_from(args: argparse.Namespace) -> Limits:
    """The preset and --limit overrides of the command line."""
    overrides = dict(parse_limit(text) for text in args.limit or ())
    return Limits(args.preset, overrides)


def run(args: argparse.Namespace) -> int:
    """Decode the capture with every rule on; print what was found; 0 clean, 1 found, 2 bad input."""
    limits = limits_from(args)
    if args.list_rules:
        sys.stdout.write("".join(rule_lines(limits, args.lang)))
        return 0
    if args.capture is None and not getattr(args, "interface", None):
        raise UsageError("check: give a CAPTURE, - for standard input, or -i IFACE (or --list-rules)")
    fail_at = SEVERITIES[args.severity]
    shown = min(fail_at, Severity.WARNING)  # warnings are shown even when only errors fail the check
    asked = command_schema(args)  # --proto read and --reflect asked before the capture is
    loader = loader_for(args, on_wait=waiting_line(args.capture), on_listening=listening_line(args))
    with loader:
        session = loader.session
        session.findings_engine.use_limits(limits)
        engine = session.findings_engine
        calls = session.calls  # kept current batch by batch: the grpc.* rules see each call as it ends
        asked.apply(session)
        with stopped_by_interrupt(loader):  # a live source (-i, -, --follow) ends at Ctrl-C: check what came
            for _ in loader.batches():
                if engine.maybe_grpc:  # no gRPC request yet: nothing for the call log to read
                    calls.update()
        if engine.maybe_grpc:
            calls.update()
        session.flush_findings()
        findings = session.findings
        source = args.capture or f"-i {args.interface}"
        lines = jsonl_lines(findings, shown) if args.format == "jsonl" else text_lines(findings, source, shown)
        sys.stdout.write("".join(lines))
        sys.stdout.flush()
        capture_counts(loader)
        return 1 if any(f.severity >= fail_at for f in findings) else 0
