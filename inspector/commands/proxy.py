"""`h2inspect proxy`: relay between a client and a server, showing the frames live.

Environment knobs (for tests and for tuning, not everyday use):
H2INSPECT_HOME (where the local CA lives), H2INSPECT_LOOP=asyncio (do not
use uvloop even if installed), H2INSPECT_DECODE_BACKLOG (bytes waiting to be
decoded per connection before decoding of it pauses), H2INSPECT_HEAD_TIMEOUT (seconds a
forward-mode client gets to send its request head; 30).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from inspector.errors import UsageError
from inspector.model import History
from inspector.proxy.forward import ForwardSettings
from inspector.proxy.live_source import CONNECTION_BACKLOG, DecodePacer, LiveSource
from inspector.proxy.recorder import PcapngRecorder
from inspector.proxy.relay import Endpoint, Relay, RelaySettings
from inspector.proxy.server_names import shown
from inspector.proxy.tls import ClientFacingTls, LocalCA, UpstreamTls, prepare_keylog
from inspector.rpc.host_reflection import SCHEMA_RULE, Ask, HostReflection, Outcome, ReflectHost
from inspector.rpc.reflection import UNREADABLE_RULE
from inspector.rpc.schema import Schema, load_schema
from inspector.views.har import write_har
from inspector.views.headless import PREFIX, HeadlessPrinter

if TYPE_CHECKING:
    from textual.app import App as TextualApp

    from inspector.model import Session

    AppFactory = Callable[[Session], TextualApp[Any]]  # the TUI's App class: it takes the session

STOP_GRACE = 0.25  # seconds links get to close politely on Ctrl-C before they are aborted
FINISH_BUDGET = 0.25  # seconds of decoding left to the backlog on Ctrl-C


def parse_endpoint(text: str, option: str) -> Endpoint:
    """HOST:PORT or [IPv6]:PORT."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise UsageError(f"{option} {text!r}: expected HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return Endpoint(host, int(port))


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when installed (H2INSPECT_LOOP=asyncio says no), for this run only: a
    global policy would outlive the command in a process that goes on (a test worker)."""
    if os.environ.get("H2INSPECT_LOOP", "").lower() == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _forward_settings(args: argparse.Namespace, listen: Endpoint) -> tuple[RelaySettings, str | None]:
    if args.upstream:
        raise UsageError("--forward takes no --upstream: each client says where it goes (CONNECT)")
    if args.tls or args.upstream_tls:
        raise UsageError("--tls and --upstream-tls are for reverse mode; --forward intercepts TLS by itself")
    if args.auth is not None and ":" not in args.auth:
        raise UsageError("--auth expects USER:PASS")
    if args.auth is None and not is_loopback(listen.host):
        raise UsageError(f"--forward on {listen.host} (not loopback) needs --auth USER:PASS")
    if args.upstream_ca and not os.path.isfile(args.upstream_ca):
        raise UsageError(f"--upstream-ca {args.upstream_ca}: no such file")
    if args.keylog:
        prepare_keylog(args.keylog)
    ca = LocalCA().ensure()
    names = [n for n in (listen.host, "localhost", "127.0.0.1", "::1") if n not in ("0.0.0.0", "::")]
    certificates = ClientFacingTls(ca, names, args.keylog)
    forward = ForwardSettings(list(args.intercept or ()), args.auth, certificates,
                              UpstreamTls(args.upstream_ca, args.insecure, args.keylog), str(ca.cert_path))
    return RelaySettings(listen, None, None, None, certificates, forward), str(ca.cert_path)


def _settings(args: argparse.Namespace) -> tuple[RelaySettings, str | None]:
    listen = parse_endpoint(args.listen, "--listen")
    if getattr(args, "forward", False):
        return _forward_settings(args, listen)
    if getattr(args, "intercept", None) or getattr(args, "auth", None):
        raise UsageError("--intercept and --auth only apply with --forward")
    if not args.upstream:
        raise UsageError("--upstream HOST:PORT is needed (or --forward)")
    upstream = parse_endpoint(args.upstream, "--upstream")
    if (args.upstream_ca or args.insecure) and not args.upstream_tls:
        raise UsageError("--upstream-ca and --insecure only apply with --upstream-tls")
    if args.keylog and not (args.tls or args.upstream_tls):
        raise UsageError("--keylog needs --tls or --upstream-tls: there are no TLS secrets to write")
    if args.upstream_ca and not os.path.isfile(args.upstream_ca):
        raise UsageError(f"--upstream-ca {args.upstream_ca}: no such file")
    if args.keylog:
        prepare_keylog(args.keylog)  # it holds every session's secrets: 0600 from the start
    ca_note = None
    certificates = None
    if args.tls:
        ca = LocalCA().ensure()
        names = [listen.host, "localhost", "127.0.0.1", "::1", upstream.host]
        certificates = ClientFacingTls(ca, [n for n in names if n not in ("0.0.0.0", "::")], args.keylog)
        ca_note = str(ca.cert_path)
    upstream_tls = UpstreamTls(args.upstream_ca, args.insecure, args.keylog) if args.upstream_tls else None
    return RelaySettings(listen, upstream, certificates.context if certificates else None, upstream_tls,
                         certificates), ca_note


def _read_ca(path: str | None) -> bytes | None:
    if not path:
        return None
    with open(path, "rb") as f:
        return f.read()


def _reflection_asker(loop: asyncio.AbstractEventLoop, source: LiveSource, upstream_tls: UpstreamTls | None) -> Ask:
    """`reflect` on the loop's executor, the outcome handed back on the loop (so the model is
    only touched there) and shown at once: the relay never waits for a reflection answer. Over
    TLS the upstream is verified as the relay verifies it (--upstream-ca, else the system's CAs;
    not at all with --insecure)."""
    from inspector.rpc.reflection import ReflectionError, reflect

    verify = not (upstream_tls is not None and upstream_tls.insecure)

    def ask(host: ReflectHost, answered: Callable[[Outcome], None]) -> None:
        try:
            roots = _read_ca(upstream_tls.ca_file if host.tls and upstream_tls is not None and verify else None)
        except OSError as exc:
            answered(ReflectionError(f"{host.address}: the upstream CA cannot be read ({exc.strerror or exc})"))
            source.session.notify()
            return
        future = loop.run_in_executor(None, lambda: reflect(host.address, roots, host.tls, host.server_name,
                                                            verify=verify))

        def done(fut: asyncio.Future) -> None:
            try:
                outcome: Outcome = fut.result()
            except ReflectionError as exc:
                outcome = exc
            except Exception as exc:  # noqa: BLE001 (whatever it was, the relay goes on and says so)
                outcome = ReflectionError(f"{host.address}: {type(exc).__name__}: {exc}", UNREADABLE_RULE)
            answered(outcome)
            source.session.notify()
        future.add_done_callback(done)
    return ask


def _ask_reflection(loop: asyncio.AbstractEventLoop, args: argparse.Namespace, settings: RelaySettings,
                    source: LiveSource, schema: Schema | None) -> None:
    """--reflect: the upstream asked at once (reverse mode), or each intercepted gRPC host once its
    first gRPC request is decoded (forward mode); on the loop's executor, never on the relay's path."""
    if settings.forward is not None:
        ask = _reflection_asker(loop, source, settings.forward.upstream_tls)
        def host_of(conn_index: int) -> ReflectHost | None:
            route = source.routes.get(conn_index)
            if route is None:
                return None
            return ReflectHost(str(route.target), route.upstream_tls is not None, route.server_name)
        watcher = HostReflection(source.session, host_of, ask)
        source.session.listeners.append(watcher.look)
        return
    ask = _reflection_asker(loop, source, settings.upstream_tls)
    up = settings.upstream
    assert up is not None  # reverse mode has one upstream
    upstream = ReflectHost(str(up), settings.upstream_tls is not None, up.host)
    report = source.session.findings_engine.report

    def answered(outcome: Outcome) -> None:
        if isinstance(outcome, Exception):
            report(outcome.rule, f"--reflect: {outcome}; messages are shown in raw wire format")
            return
        target = schema if schema is not None else outcome.schema
        if schema is not None:
            schema.merge(outcome.schema)  # --proto first: what it gave is kept
        source.session.calls.use_schema(target)
        report(SCHEMA_RULE, f"--reflect: {up}: {outcome.summary()}: messages decoded by name")

    ask(upstream, answered)


def _report_bad_server_names(source: LiveSource) -> Callable[[Any], None]:
    """An unraisable-exception hook: ssl cannot hand a non-ASCII SNI to Python (it fails to
    decode it, prints that as a traceback and fails the handshake); here it is one line."""
    default = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, UnicodeDecodeError) and isinstance(unraisable.object, bytes):
            source.event("proxy.bad-sni", f"TLS server name {shown(unraisable.object)} is not ASCII (international "
                         "names are sent as IDNA A-labels, xn--...): TLS handshake refused")
            return
        default(unraisable)
    return hook


def _recorder(path: str | None) -> PcapngRecorder:
    if path is None:
        # Without --record, packets are only numbered; payloads are read back
        # from a spool of the relayed chunks (the last GiB, in an unlinked temporary file).
        return PcapngRecorder(None)
    try:
        return PcapngRecorder.open(path)
    except OSError as exc:
        raise UsageError(f"--record {path}: {exc.strerror or exc}") from None


def _tui_app_class() -> AppFactory:
    """The TUI's App (it takes a Session); a one-line error if this build has none."""
    try:
        from inspector.tui.app import App
    except ImportError as exc:
        raise UsageError(f"the TUI is not available ({exc}); use --headless") from None
    return App


async def _serve(args: argparse.Namespace, settings: RelaySettings, ca_note: str | None,
                 source: LiveSource, app_class: AppFactory | None) -> None:
    schema = load_schema(getattr(args, "proto", None))  # a bad schema is bad input: before listening
    if schema is not None:
        source.session.calls.use_schema(schema)
    loop = asyncio.get_running_loop()
    if getattr(args, "reflect", False):
        _ask_reflection(loop, args, settings, source, schema)
    relay = Relay(settings, source)
    if settings.client_certificates is not None:
        settings.client_certificates.report = lambda message: source.event("proxy.bad-sni", message)
    sys.unraisablehook = _report_bad_server_names(source)
    pacer = DecodePacer(loop, source)
    try:
        bound = await relay.start()
    except OSError as exc:
        raise UsageError(f"--listen {settings.listen}: {exc.strerror or exc}") from None
    err = sys.stderr
    where = ", ".join(str(b) for b in bound)
    if settings.forward is not None:
        forward = settings.forward
        which = ", ".join(forward.intercept) if forward.intercept else "every host"
        err.write(f"{PREFIX}listening on {where}, forward proxy (CONNECT, http://; TLS intercepted for "
                  f"{which}{'; Basic proxy authentication' if forward.auth else ''})\n")
    else:
        mode = ("TLS" if settings.client_tls else "plain") + " → " + \
            ("TLS" if settings.upstream_tls else "plain")
        err.write(f"{PREFIX}listening on {where}, upstream {settings.upstream} ({mode})\n")
    if not is_loopback(settings.listen.host):
        err.write(f"{PREFIX}warning: listening on {settings.listen.host}, not loopback: anyone who can "
                  "reach this address can use the proxy\n")
    if ca_note:
        err.write(f"{PREFIX}clients must trust the local CA {ca_note} (curl --cacert {ca_note})\n")
    if args.record:
        err.write(f"{PREFIX}recording to {args.record}\n")
    err.flush()

    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        if args.headless:
            HeadlessPrinter(source.session, args.format, sys.stdout, err)
            await stop.wait()
        else:
            assert app_class is not None, "the TUI's class was found before listening"
            await _run_tui(app_class(source.session), stop)
    finally:
        # Ctrl-C stops at once, however far decoding is behind: the relay closes its links,
        # the decoder gets a moment more, and what it did not reach is said in one line.
        await relay.stop(grace=STOP_GRACE)
        pacer.cancel()
        left, connections = source.finish(budget=FINISH_BUDGET)
        source.recorder.flush()
        if left:
            kept = f"the recording {args.record} has every byte" if args.record else \
                "they were relayed, not shown"
            err.write(f"{PREFIX}stopped with {left} bytes on {connections} connection"
                      f"{'s' if connections != 1 else ''} not decoded; {kept}\n")
            err.flush()
        history = source.session.history
        if history is not None and history.dropped:
            err.write(f"{PREFIX}{history.summary(source.session)}\n")
            err.flush()
        if args.har:
            _write_har(source, args.har)


def _check_har_path(path: str | None) -> None:
    """A HAR that cannot be written is bad input, said before listening, not after a session."""
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise UsageError(f"--har {path}: cannot write in {folder}")


def _write_har(source: LiveSource, path: str) -> None:
    err = sys.stderr
    try:
        count = write_har(source.session, path, source.names)
    except OSError as exc:
        err.write(f"{PREFIX}--har {path}: {exc.strerror or exc}\n")
    else:
        err.write(f"{PREFIX}wrote {count} HAR entr{'y' if count == 1 else 'ies'} to {path}\n")
    err.flush()


async def _run_tui(app: TextualApp, stop: asyncio.Event) -> None:
    """The TUI on the same loop as the relay, until the user quits it or a signal comes."""
    tui = asyncio.ensure_future(app.run_async())
    waiter = asyncio.ensure_future(stop.wait())
    await asyncio.wait({tui, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if not tui.done():
        app.exit()
        await tui
    waiter.cancel()


def run(args: argparse.Namespace) -> int:
    """Run the proxy until Ctrl-C (or SIGTERM); the recording is flushed on the way out."""
    settings, ca_note = _settings(args)
    _check_har_path(getattr(args, "har", None))
    app_class = None if args.headless else _tui_app_class()
    recorder = _recorder(args.record)
    backlog = int(os.environ.get("H2INSPECT_DECODE_BACKLOG", CONNECTION_BACKLOG))
    target = "forward" if settings.forward is not None else str(settings.upstream)
    source = LiveSource(recorder, name=f"proxy {settings.listen} → {target}",
                        connection_backlog=backlog, total_backlog=max(backlog, 4 * backlog))
    source.session.history = History.asked(args.history)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_serve(args, settings, ca_note, source, app_class))
    except KeyboardInterrupt:
        pass
    finally:
        recorder.close(_secrets_to_embed(args, source))
        sys.stdout.flush()
    return 0


def _secrets_to_embed(args: argparse.Namespace, source: LiveSource) -> bytes | None:
    """The key log, when the recording holds TLS wire bytes (a tunnel relayed untouched whose
    client logs its secrets to the same --keylog file): then tshark and Wireshark read the
    recording with no key log beside it. Plaintext recordings get none (nothing to decrypt)."""
    if not (args.record and args.keylog):
        return None
    if not any(c.protocol.startswith("tls") or "(TLS" in c.protocol for c in source.session.connections):
        return None
    try:
        with open(args.keylog, "rb") as keys:
            return keys.read() or None
    except OSError as exc:
        sys.stderr.write(f"{PREFIX}--keylog {args.keylog}: {exc.strerror or exc}; the recording has no secrets\n")
        return None
