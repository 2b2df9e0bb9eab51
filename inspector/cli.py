"""The `h2inspect` command line: parse arguments, run a command, turn errors into one line.

The forms and options here are a public contract (see docs/ARCHITECTURE.md): extend, never break.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from inspector import __version__
from inspector.errors import InspectorError


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"port out of range: {value}")
    return value


def _stream_id(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a stream id: {text!r}") from None
    if not 0 <= value < 2**31:
        raise argparse.ArgumentTypeError(f"stream id out of range: {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line, as every error here does."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, in one place."""
    parser = _Parser(prog="h2inspect", description="See what really travels on an HTTP/2 connection, "
                     "frame by frame and stream by stream, and what gRPC makes of it.")
    parser.add_argument("--version", action="version", version=f"h2inspect {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def capture_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("capture", metavar="CAPTURE", help="a pcap or pcapng file")
        p.add_argument("--keylog", metavar="F", help="TLS key log (SSLKEYLOGFILE format)")
        p.add_argument("--port", metavar="N", type=_port, action="append",
                       help="treat this port as HTTP/2 even without a client preface (repeatable)")

    p = sub.add_parser("open", help="the TUI on a capture")
    capture_args(p)

    p = sub.add_parser("dump", help="print every frame (text like nghttp -v, or JSON lines)")
    capture_args(p)
    p.add_argument("--format", choices=("text", "jsonl"), default="text")
    p.add_argument("--stream", metavar="ID", type=_stream_id, help="only frames of this stream id")

    p = sub.add_parser("rpcs", help="the gRPC calls in a capture")
    capture_args(p)
    p.add_argument("--format", choices=("text", "jsonl"), default="text")
    p.add_argument("--proto", metavar="FILE", action="append",
                   help=".proto file or descriptor set, for styles and payloads (repeatable)")
    p.add_argument("-v", "--verbose", action="store_true", help="show each message")

    p = sub.add_parser("check", help="find protocol problems, gRPC conformance problems, stalls and abuse")
    p.add_argument("capture", metavar="CAPTURE", nargs="?", help="a pcap or pcapng file")
    p.add_argument("--keylog", metavar="F", help="TLS key log (SSLKEYLOGFILE format)")
    p.add_argument("--port", metavar="N", type=_port, action="append",
                   help="treat this port as HTTP/2 even without a client preface (repeatable)")
    p.add_argument("--format", choices=("text", "jsonl"), default="text")
    p.add_argument("--preset", choices=("default", "nghttp2", "envoy", "haproxy", "go"), default="default",
                   help="abuse limits as this server enforces them (default: a blend, see --list-rules)")
    p.add_argument("--limit", metavar="NAME=VALUE", action="append",
                   help="set one abuse limit (NAME=off turns it off; repeatable)")
    p.add_argument("--severity", choices=("error", "warning", "info"), default="error",
                   help="exit 1 when a finding at or above this is found (default error); "
                        "warnings are always shown, info with --severity info")
    p.add_argument("--proto", metavar="FILE", action="append",
                   help=".proto file or descriptor set: message counts per call style (repeatable)")
    p.add_argument("--list-rules", action="store_true", help="print every rule and the limits in force")
    p.add_argument("--lang", choices=("en", "ja"), default="en", help="language of --list-rules' sentences")

    p = sub.add_parser("proxy", help="relay between a client and a server, showing frames live")
    p.add_argument("--listen", metavar="HOST:PORT", required=True)
    p.add_argument("--upstream", metavar="HOST:PORT", required=True)
    p.add_argument("--upstream-tls", action="store_true", help="connect upstream over TLS")
    p.add_argument("--upstream-ca", metavar="FILE", help="CA bundle for the upstream certificate")
    p.add_argument("--insecure", action="store_true", help="do not verify the upstream certificate")
    p.add_argument("--tls", action="store_true", help="terminate TLS from the client (local CA)")
    p.add_argument("--keylog", metavar="FILE", help="write TLS secrets here (SSLKEYLOGFILE format)")
    p.add_argument("--record", metavar="FILE.pcapng", help="write what passed as pcapng")
    p.add_argument("--headless", action="store_true", help="print frames instead of the TUI")
    p.add_argument("--format", choices=("text", "jsonl"), default="text")

    p = sub.add_parser("tutorial", help="learn the four gRPC call styles from real traffic")
    p.add_argument("style", nargs="?", metavar="LESSON",
                   choices=("unary", "server-streaming", "client-streaming", "bidi-streaming", "errors",
                            "flow-control"),
                   help="unary, server-streaming, client-streaming, bidi-streaming (all four if left out), "
                        "errors or flow-control")
    p.add_argument("--headless", action="store_true", help="print the annotated timeline as text")
    p.add_argument("--lang", choices=("en", "ja"), default="en")
    p.add_argument("--record", metavar="FILE.pcapng", help="also write what passed as pcapng")
    p.add_argument("--capture", metavar="FILE", help="with --headless: annotate a recorded tutorial "
                   "(--record) instead of running one")

    p = sub.add_parser("diagram", help="Mermaid sequence diagrams of the gRPC calls in a capture")
    capture_args(p)
    p.add_argument("--stream", metavar="ID", type=_stream_id, help="only the call on this stream id")
    p.add_argument("--conn", metavar="N", type=int, help="only calls of this connection index")
    p.add_argument("--lang", choices=("en", "ja"), default="en")
    p.add_argument("--window-updates", action="store_true", help="draw WINDOW_UPDATE frames too")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; exit status 0 on success, 2 on bad input, never a traceback."""
    args = build_parser().parse_args(argv)
    try:
        module = importlib.import_module(f"inspector.commands.{args.command}")
        return int(module.run(args))
    except InspectorError as exc:
        print(f"h2inspect: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`| head`): not an error. Keep Python quiet on exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: still one line, unless asked for the traceback
        if os.environ.get("H2INSPECT_DEBUG"):
            raise
        print(f"h2inspect: internal error: {type(exc).__name__}: {exc} "
              "(set H2INSPECT_DEBUG=1 for the traceback)", file=sys.stderr)
        return 2
