"""`h2inspect export`: a capture in a format other tools read (HAR 1.2)."""

from __future__ import annotations

import argparse
import sys

from inspector.capture.load import loader_for
from inspector.errors import InspectorError
from inspector.views.har import write_har


def run(args: argparse.Namespace) -> int:
    """Decode the capture and write its HAR."""
    loader = loader_for(args)
    with loader:
        session = loader.load()
        try:
            count = write_har(session, args.har)
        except OSError as exc:
            raise InspectorError(f"cannot write {args.har}: {exc.strerror or exc}") from None
        print(f"h2inspect: {args.har}: {count} entries (one per HTTP/2 stream)", file=sys.stderr)
        for finding in session.findings:
            print(f"h2inspect: {args.capture}: {finding.one_line()}", file=sys.stderr)
        return 0
