"""The `h2inspect` command line: parse arguments, run a command, turn errors into one line.

The forms and options here are a public contract (see docs/ARCHITECTURE.md): extend, never break.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import re
import sys
import threading
from typing import Any, NoReturn

from inspector import __version__
from inspector.errors import InspectorError
from inspector.model import LIVE_HISTORY


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"port out of range: {value}")
    return value


def _size(text: str) -> int:
    """A byte count: 1048576, 64K, 64M, 1G."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    scale = units.get(text[-1:].upper(), 1)
    digits = text[:-1] if scale > 1 else text
    if not digits.isdigit() or int(digits) == 0:
        raise argparse.ArgumentTypeError(f"not a size in bytes: {text!r} (e.g. 1048576, 64K, 64M)")
    return int(digits) * scale


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)


def _history(text: str) -> int:
    """--history: frames a live session keeps, or `all` (0: keep everything)."""
    if text == "all":
        return 0
    return _positive(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r}")
    return value


def _stream_id(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a stream id: {text!r}") from None
    if not 0 <= value < 2**31:
        raise argparse.ArgumentTypeError(f"stream id out of range: {value}")
    return value


LIMITS = """limits (each one, when hit, is said on the frame, block or message it cut):
  a compressed gRPC message inflates to at most 64 MiB (--max-message)
  a header block is decoded from at most 1 MiB of fragments, to at most 256 KiB of header list
  the HPACK table an observer keeps is at most 64 KiB, whatever SETTINGS allow
  raw protobuf is shown 100 levels deep and 10,000 lines per message at most
  bytes that are not HTTP/2 frames are searched for a frame boundary 1 MiB at a time"""


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line, as every error here does; in the learner's language
    for `tutorial ... --lang ja` (`lang`)."""

    def __init__(self, *args: Any, lang: str = "en", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lang = lang

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {argument_error(self.lang, message)}\n")


#: argparse's messages (Python 3.11) and the phrase (tutorial/phrases.py) that says each in another language
_ARGPARSE = [(re.compile(r"argument (?P<option>\S+): expected one argument"), "error.arg_value"),
             (re.compile(r"argument (?P<option>\S+): invalid choice: '(?P<value>.*)' \(choose from (?P<choices>.*)\)"),
              "error.choice"),
             (re.compile(r"argument (?P<option>\S+): ignored explicit argument '(?P<value>.*)'"), "error.arg_explicit"),
             (re.compile(r"unrecognized arguments: (?P<arguments>.*)"), "error.arg_unknown"),
             (re.compile(r"ambiguous option: (?P<option>\S+) could match (?P<choices>.*)"), "error.arg_ambiguous")]


def argument_error(lang: str, message: str) -> str:
    """An argparse error in `lang`; one it does not know is quoted as argparse said it."""
    if lang == "en":
        return message
    from inspector.tutorial.phrases import phrase

    for pattern, key in _ARGPARSE:
        found = pattern.fullmatch(message)
        if found:
            values = found.groupdict()
            if "choices" in values:
                values["choices"] = values["choices"].replace("'", "")
            return phrase(lang, key, **values)
    return phrase(lang, "error.arg_other", message=message)


def _tutorial_lang(argv: list[str]) -> str:
    """The language `tutorial ... --lang L` asks for, so that its own argument errors speak it too."""
    if "tutorial" not in argv:
        return "en"
    for i, arg in enumerate(argv):
        value = arg.removeprefix("--lang=") if arg.startswith("--lang=") else \
            argv[i + 1] if arg == "--lang" and i + 1 < len(argv) else None
        if value in ("en", "ja"):
            return value
    return "en"


@functools.lru_cache(maxsize=2)
def build_parser(lang: str = "en") -> argparse.ArgumentParser:
    """The whole command line, in one place (`lang`: the language of its errors).

    Built once per language: parsing leaves a parser as it was, and building one costs
    about 10 ms, paid again by every `main` called in one process (the tests, the fuzz loop)."""
    parser = _Parser(prog="h2inspect", description="See what really travels on an HTTP/2 connection, "
                     "frame by frame and stream by stream, and what gRPC makes of it.",
                     epilog=LIMITS, formatter_class=argparse.RawDescriptionHelpFormatter, lang=lang)
    parser.add_argument("--version", action="version", version=f"h2inspect {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def capture_args(p: argparse.ArgumentParser, live: bool = False) -> None:
        p.add_argument("capture", metavar="CAPTURE", nargs="?" if live else None,
                       help="a pcap or pcapng file; - reads standard input as it arrives "
                            "(tcpdump -U -w - | h2inspect ...)")
        p.add_argument("--keylog", metavar="F", help="TLS key log (SSLKEYLOGFILE format)")
        p.add_argument("--port", metavar="N", type=_port, action="append",
                       help="treat this port as HTTP/2 even without a client preface (repeatable)")
        p.add_argument("--max-message", metavar="BYTES", type=_size, default=None,
                       help="a compressed gRPC message is inflated up to this size (default 64M); "
                            "past it the message is marked and not shown")

    def follow_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--follow", action="store_true",
                       help="keep reading CAPTURE as it is written, like tail -f, until Ctrl-C")
        sniff = p.add_argument_group("sniffing an interface (through tcpdump; needs root or CAP_NET_RAW)")
        sniff.add_argument("-i", "--interface", metavar="IFACE", help="capture on this interface (lo included) "
                           "instead of reading CAPTURE, until Ctrl-C, --count or --duration")
        sniff.add_argument("-f", "--filter", metavar="BPF", help='a capture filter, e.g. "tcp port 8080"')
        sniff.add_argument("--count", metavar="N", type=_positive, help="stop after N packets")
        sniff.add_argument("--duration", metavar="S", type=_seconds, help="stop after S seconds")
        sniff.add_argument("--record", metavar="FILE.pcapng", help="also write the packets seen as pcapng")
        history_arg(p)

    def history_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--history", metavar="FRAMES", type=_history,
                       help=f"a live source (-i, -, --follow; the proxy) keeps the last FRAMES frames and what "
                            f"they refer to, dropping older ones as more arrive (default {LIVE_HISTORY:,}; "
                            f"'all' keeps everything); numbers stay absolute, output as it arrives is unchanged, "
                            f"--record still writes everything. A capture file is always read whole")

    def reflect_args(p: argparse.ArgumentParser) -> None:
        group = p.add_argument_group("schemas from gRPC server reflection")
        group.add_argument("--reflect", metavar="HOST:PORT", help="ask this server for its schema by gRPC server "
                           "reflection (v1, else v1alpha) before reading; messages decoded by name. Reflection "
                           "exchanges in the capture are used for their connection without it")
        group.add_argument("--reflect-tls", action="store_true", help="ask --reflect over TLS (verified against "
                           "the system's CAs, or --reflect-ca)")
        group.add_argument("--reflect-ca", metavar="FILE", help="CA bundle for --reflect's certificate (implies "
                           "--reflect-tls)")

    p = sub.add_parser("open", help="the TUI on a capture")
    capture_args(p, live=True)
    follow_arg(p)
    p.add_argument("--proto", metavar="FILE", action="append",
                   help=".proto file or descriptor set: gRPC messages decoded by name (repeatable)")
    reflect_args(p)

    p = sub.add_parser("dump", help="print every frame (text like nghttp -v, or JSON lines)")
    capture_args(p, live=True)
    follow_arg(p)
    p.add_argument("--format", choices=("text", "jsonl"), default="text")
    p.add_argument("--stream", metavar="ID", type=_stream_id, help="only frames of this stream id")

    p = sub.add_parser("rpcs", help="the gRPC calls in a capture")
    capture_args(p, live=True)
    follow_arg(p)
    p.add_argument("--format", choices=("text", "jsonl"), default="text")
    p.add_argument("--proto", metavar="FILE", action="append",
                   help=".proto file or descriptor set, for styles and payloads (repeatable)")
    reflect_args(p)
    p.add_argument("-v", "--verbose", action="store_true", help="show each message")

    p = sub.add_parser("check", help="find protocol problems, gRPC conformance problems, stalls and abuse")
    p.add_argument("capture", metavar="CAPTURE", nargs="?", help="a pcap or pcapng file")
    follow_arg(p)
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
    reflect_args(p)
    p.add_argument("--list-rules", action="store_true", help="print every rule and the limits in force")
    p.add_argument("--lang", choices=("en", "ja"), default="en", help="language of --list-rules' sentences")
    p = sub.add_parser("export", help="write a capture as HAR 1.2 (one entry per HTTP/2 stream)")
    capture_args(p)
    p.add_argument("--har", metavar="FILE", required=True, help="the HAR file to write")

    p = sub.add_parser("proxy", help="relay between a client and a server, showing frames live")
    p.add_argument("--listen", metavar="HOST:PORT", required=True)
    p.add_argument("--upstream", metavar="HOST:PORT", help="the one server (reverse mode; not with --forward)")
    p.add_argument("--forward", action="store_true",
                   help="forward proxy: clients send CONNECT or absolute http:// URLs (https_proxy, http_proxy)")
    p.add_argument("--intercept", metavar="HOST[:PORT]", action="append",
                   help="with --forward: intercept TLS only to these hosts (globs; repeatable; default every "
                        "host); other tunnels are relayed untouched")
    p.add_argument("--auth", metavar="USER:PASS", help="with --forward: require Basic Proxy-Authorization "
                   "(needed when listening beyond loopback)")
    p.add_argument("--upstream-tls", action="store_true", help="connect upstream over TLS")
    p.add_argument("--upstream-ca", metavar="FILE", help="CA bundle for the upstream certificate")
    p.add_argument("--insecure", action="store_true", help="do not verify the upstream certificate")
    p.add_argument("--tls", action="store_true", help="terminate TLS from the client (local CA)")
    p.add_argument("--keylog", metavar="FILE", help="write TLS secrets here (SSLKEYLOGFILE format)")
    p.add_argument("--record", metavar="FILE.pcapng", help="write what passed as pcapng")
    history_arg(p)
    p.add_argument("--har", metavar="FILE", help="write what passed as HAR 1.2 when the proxy stops")
    p.add_argument("--reflect", action="store_true", help="ask the upstream (with --forward: each intercepted "
                   "gRPC host) for its schema by gRPC server reflection, v1 else v1alpha (once per host, off the "
                   "relay's path); messages decoded by name from then on")
    p.add_argument("--headless", action="store_true", help="print frames instead of the TUI")
    p.add_argument("--format", choices=("text", "jsonl"), default="text")
    p.add_argument("--proto", metavar="FILE", action="append",
                   help=".proto file or descriptor set: gRPC messages decoded by name (repeatable)")

    p = sub.add_parser("tutorial", help="learn gRPC on HTTP/2 from real traffic: the four call styles, errors, "
                       "flow control, HPACK, multiplexing",
                       epilog="Experiments change the real exchange (every value is checked by the tutorial "
                              "itself, so its errors come in the learner's --lang; sizes may end in K or M): "
                              "--messages N, --size BYTES, --compress gzip|deflate|identity, --window BYTES, "
                              "--max-frame BYTES, --concurrency N, --delay MS, --deadline MS, --table-size BYTES.")
    p.add_argument("style", nargs="?", metavar="LESSON",
                   help="unary, server-streaming, client-streaming, bidi-streaming (all four if left out), "
                        "errors, flow-control, hpack or multiplexing")
    p.add_argument("--headless", action="store_true", help="print the annotated timeline as text")
    p.add_argument("--lang", choices=("en", "ja"), default="en")
    p.add_argument("--record", metavar="FILE.pcapng", help="also write what passed as pcapng")
    p.add_argument("--capture", metavar="FILE", help="with --headless: annotate a recorded tutorial "
                   "(--record) instead of running one")
    experiment = p.add_argument_group("experiments (each lesson has its own defaults)")
    experiment.add_argument("--messages", metavar="N", help="messages each streaming side sends")
    experiment.add_argument("--size", metavar="BYTES", help="payload bytes in every message, both ways")
    experiment.add_argument("--compress", metavar="ALGORITHM", help="gzip, deflate or identity, both ways")
    experiment.add_argument("--window", metavar="BYTES", help="each receiver's initial flow-control window "
                            "(SETTINGS_INITIAL_WINDOW_SIZE; BDP probing off, so it stays)")
    experiment.add_argument("--max-frame", metavar="BYTES", help="each receiver's SETTINGS_MAX_FRAME_SIZE "
                            "(16384 to 16777215; grpcio heeds it only with BDP probing off, which leaves the "
                            "windows at 65535 unless --window says)")
    experiment.add_argument("--concurrency", metavar="N", help="copies of each call at once on the connection "
                            "(multiplexing: the number of calls)")
    experiment.add_argument("--delay", metavar="MS", help="milliseconds between messages (unary: before the reply)")
    experiment.add_argument("--deadline", metavar="MS", help="the deadline the client gives each call (grpc-timeout)")
    experiment.add_argument("--table-size", metavar="BYTES", help="the HPACK dynamic table each side lets the "
                            "other keep (SETTINGS_HEADER_TABLE_SIZE)")

    p = sub.add_parser("diagram", help="Mermaid sequence diagrams of the gRPC calls in a capture")
    capture_args(p)
    p.add_argument("--stream", metavar="ID", type=_stream_id, help="only the call on this stream id")
    p.add_argument("--conn", metavar="N", type=int, help="only calls of this connection index")
    p.add_argument("--lang", choices=("en", "ja"), default="en")
    p.add_argument("--window-updates", action="store_true", help="draw WINDOW_UPDATE frames too")
    for command in sub.choices.values():
        command.lang = lang
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; exit status 0 on success, 2 on bad input, never a traceback."""
    args = build_parser(_tutorial_lang(sys.argv[1:] if argv is None else argv)).parse_args(argv)
    try:
        module = importlib.import_module(f"inspector.commands.{args.command}")
        return int(module.run(args))
    except InspectorError as exc:
        print(f"h2inspect: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`| head`): not an error. Keep Python quiet on exit.
        _stdout_to_devnull()
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: still one line, unless asked for the traceback
        if os.environ.get("H2INSPECT_DEBUG"):
            raise
        print(f"h2inspect: internal error: {type(exc).__name__}: {exc} "
              "(set H2INSPECT_DEBUG=1 for the traceback)", file=sys.stderr)
        return 2


def _stdout_to_devnull() -> None:
    """Standard output goes to /dev/null from now on: what is still buffered for a reader that went
    away is flushed there, so Python's own flush at exit has no broken pipe to complain of."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def console() -> NoReturn:
    """The `h2inspect` command and `python -m inspector`: `main`, then out of the process at once.
    What a command built is left to the OS to take back: a capture's model is held in reference
    cycles (big.pcap: 200,000 streams), and the interpreter's teardown would collect and free it
    all, a tenth of a dump's time. Every file a command writes is closed before `main` returns;
    a thread still running (none should be) gets the ordinary exit, which waits for it."""
    status = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away after the last write: as in `main`, not an error
        _stdout_to_devnull()
    if threading.active_count() > 1:
        sys.exit(status)
    os._exit(status)
