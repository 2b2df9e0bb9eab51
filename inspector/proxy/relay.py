"""The relay: an asyncio server where every client connection gets its own upstream one.

Bytes are written on first and handed to the `LiveSource` after, so decoding
never sits between a byte's arrival and its departure. Each leg is an
asyncio Protocol (no streams, no extra copies; with TLS a BufferedProtocol,
so records are decrypted into one reused buffer); a leg whose peer cannot take
more pauses reading, as TCP would. Half-close, resets and upstream failures
are passed on to the other leg as a real TCP peer would see them, and told
to the source as events.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from inspector.http2.frames import CLIENT_PREFACE
from inspector.proxy.live_source import LiveConnection, LiveSource
from inspector.proxy.recorder import MAX_SEGMENT
from inspector.proxy.tls import HANDSHAKE_TIMEOUT, SNI_REFUSED, ClientFacingTls, UpstreamTls, client_handshake_failure

if TYPE_CHECKING:
    from inspector.proxy.forward import ForwardSettings

CONNECT_TIMEOUT = 10.0
PENDING_LIMIT = 1 << 20  # client bytes held while the upstream connection is being made
WRITE_BUFFER_HIGH = 1 << 20  # a leg's write buffer: past this, the other leg stops reading...
WRITE_BUFFER_LOW = 256 << 10  # ...until it is back under this
_PEER_FULL, _PENDING_FULL = 1, 2  # why a leg's reading is paused
TLS_READ_BUFFER = MAX_SEGMENT  # what a TLS leg decrypts into per read, at least: one recorded packet
_LINGER_RESET = struct.pack("ii", 1, 0)


@dataclass(slots=True, frozen=True)
class Endpoint:
    """A host and a port."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(slots=True)
class RelaySettings:
    """What the relay needs to know: where to listen, where to go, and TLS on each leg."""

    listen: Endpoint
    upstream: Endpoint | None
    client_tls: ssl.SSLContext | None = None
    upstream_tls: UpstreamTls | None = None
    client_certificates: ClientFacingTls | None = None  # what makes client_tls's certificates
    forward: ForwardSettings | None = None  # forward mode (proxy/forward.py): CONNECT and absolute-form


@dataclass(slots=True)
class Route:
    """Where one link goes when it is not the settings' one upstream (forward mode)."""

    target: Endpoint
    name: str  # the target as the client named it: "host:port"
    server_name: str | None = None  # for upstream TLS: SNI and the name verified
    upstream_tls: UpstreamTls | None = None
    sock: socket.socket | None = None  # already connected to the target
    addresses: tuple[tuple[str, int], tuple[str, int]] | None = None  # (client, server) to record


def _limit_tls_reads(transport: asyncio.Transport, high: int | None) -> None:
    """Bound what a TLS transport reads below the application (None: its default). asyncio's
    and uvloop's TLS transports have `set_read_buffer_limits`; the Transport ABC does not."""
    set_limits = getattr(transport, "set_read_buffer_limits", None)
    if set_limits is not None:
        set_limits(high=high)


def _reset(transport: asyncio.Transport | None) -> None:
    """Close with a TCP RST, as a peer that was reset would see (also when already closing:
    what it still buffers is for a peer that reset)."""
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        except OSError:
            pass
    transport.abort()


def connect_failure(exc: BaseException) -> str:
    """The proxy.* rule a failed connection to an upstream (or a forward-mode target) breaks."""
    if isinstance(exc, ssl.SSLError):
        return "proxy.upstream-tls"
    if isinstance(exc, ConnectionRefusedError):
        return "proxy.upstream-refused"
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return "proxy.upstream-timeout"
    return "proxy.upstream-unreachable"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "refused the connection"
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return f"did not answer within {CONNECT_TIMEOUT:g} s"
    if isinstance(exc, OSError) and exc.errno == errno.ENOTCONN:
        # shutdown(2) on a socket whose peer's RST came in before the relay read it
        return "already reset when a FIN was passed on"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc) or type(exc).__name__


class _Leg(asyncio.Protocol):
    """One side's transport. What arrives is written to the other side, then recorded.

    Backpressure: when this leg's write buffer passes its high-water mark,
    reading stops on the *other* leg (the one whose bytes fill it) until the
    buffer is back under the low-water mark, so each direction holds at most
    one buffer's worth whatever the peers do, as a TCP window would.
    """

    __slots__ = ("link", "from_client", "transport", "eof", "eof_sent", "lost", "is_tls",
                 "held_back", "full", "received", "dropped", "write_error")

    def __init__(self, link: _Link, from_client: bool) -> None:
        self.link = link
        self.from_client = from_client
        self.transport: asyncio.Transport | None = None
        self.eof = False  # the peer sent FIN (or close_notify)
        self.eof_sent = False  # we passed a FIN on, or are closing: nothing more is written
        self.lost = False
        self.is_tls = False
        self.held_back = 0  # why reading is paused: a mask of _PEER_FULL, _PENDING_FULL
        self.full = False  # our write buffer is over its high-water mark
        self.received = 0  # bytes read from the peer
        self.dropped = 0  # of them, bytes that could not be written on (the other leg was gone)
        self.write_error: OSError | None = None  # passing a FIN on failed: the peer had reset

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream protocol is always given a full transport (asyncio's and uvloop's alike).
        self.transport = t = cast(asyncio.Transport, transport)
        # Room for a few large reads before the other leg must pause: fewer pause/resume rounds.
        t.set_write_buffer_limits(high=WRITE_BUFFER_HIGH, low=WRITE_BUFFER_LOW)
        self.is_tls = t.get_extra_info("ssl_object") is not None
        if self.from_client:
            self.link.client_connected(self)

    # ---- what can be done with this leg -------------------------------------------

    def writable(self) -> bool:
        """True while bytes written here still reach the peer."""
        t = self.transport
        return t is not None and not self.lost and not self.eof_sent and not t.is_closing()

    def send(self, data: bytes) -> bool:
        """Write `data` to the peer; False (nothing written) if this leg can no longer write."""
        t = self.transport
        if t is None or not self.writable():
            return False
        t.write(data)
        return True

    def send_eof(self) -> None:
        """Pass a FIN on, after what is buffered (TLS cannot half-close: close_notify and close)."""
        t = self.transport
        if t is None or not self.writable():
            return
        self.eof_sent = True
        if not t.can_write_eof():
            t.close()
            return
        try:
            t.write_eof()
        except OSError as exc:
            # shutdown(2) fails (ENOTCONN) when the peer's RST is in but not yet read. asyncio
            # raises it here, in the other leg's callback; uvloop gives it to connection_lost.
            # Either way it is this peer's reset, said as one.
            self.write_error = exc
            t.abort()

    def close(self) -> None:
        """Close politely: what is buffered is written first, then FIN."""
        self.eof_sent = True
        if self.transport is not None and not self.lost:
            self.transport.close()

    def pause(self, why: int) -> None:
        """Stop reading from the peer (for reason `why`) until `resume(why)`."""
        t = self.transport
        if not self.held_back and t is not None and not self.lost and not t.is_closing():
            if self.is_tls:
                # Stop the socket underneath too, at once: uvloop's TLS layer, on a TCP FIN that
                # arrives while the application is paused, drops what it holds undecrypted.
                # Not reading the socket, it never sees that FIN before we resume.
                _limit_tls_reads(t, 0)
            t.pause_reading()
        self.held_back |= why

    def resume(self, why: int) -> None:
        """Reading may go on as far as reason `why` is concerned."""
        was = self.held_back
        self.held_back &= ~why
        t = self.transport
        if was and not self.held_back and t is not None and not self.lost and not t.is_closing():
            t.resume_reading()
            if self.is_tls:
                _limit_tls_reads(t, None)  # the defaults again

    # ---- asyncio's calls ----------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        link = self.link
        self.received += len(data)
        other = link.upstream if self.from_client else link.client
        if other is None:
            if link.failed or link.detached:
                self.dropped += len(data)
                return
            link.hold(data)
        elif not other.send(data):
            link.undeliverable(self, len(data))
            return
        link.source.data(link.connection, self.from_client, data, time.time())

    def eof_received(self) -> bool:
        self.eof = True
        self.link.half_closed(self)
        return not self.is_tls  # TLS cannot stay half-open (and asyncio warns if asked)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.link.leg_lost(self, exc if exc is not None else self.write_error)

    def pause_writing(self) -> None:
        self.full = True
        other = self.link.upstream if self.from_client else self.link.client
        if other is not None:
            other.pause(_PEER_FULL)

    def resume_writing(self) -> None:
        self.full = False
        other = self.link.upstream if self.from_client else self.link.client
        if other is not None:
            other.resume(_PEER_FULL)


class _TlsLeg(_Leg, asyncio.BufferedProtocol):
    """A leg with TLS: asyncio's TLS layer decrypts straight into one buffer, reused (no bytes
    object per TLS record and no join of them, as with `data_received`); one copy of each
    read is then relayed and kept. The buffer grows to hold all the TLS layer has. uvloop's
    TLS layer treats any `asyncio.Protocol` as unbuffered and calls `data_received` (its copy
    of what it read, joined), which this leg, a `_Leg` too, takes as well."""

    __slots__ = ("buffer",)

    def __init__(self, link: _Link, from_client: bool) -> None:
        super().__init__(link, from_client)
        self.buffer = memoryview(bytearray(TLS_READ_BUFFER))

    def get_buffer(self, sizehint: int) -> memoryview:
        # Room for all the TLS layer holds: what does not fit is read in a later turn of the
        # loop, and a TCP FIN coming in between would end the connection without it.
        if sizehint > len(self.buffer):
            self.buffer = memoryview(bytearray(sizehint))
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(self.buffer[:nbytes].tobytes())


class _Link:
    """One proxied connection: the client leg, the upstream leg, and what passed."""

    def __init__(self, relay: Relay, route: Route | None = None) -> None:
        self.relay = relay
        self.route = route
        self.source = relay.source
        self.client: _Leg | None = None
        self.upstream: _Leg | None = None
        self.live: LiveConnection | None = None
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.alpn: str | None = None
        self.connecting = False
        self.failed = False
        self.detached = False  # the client's transport went on to another link (forward mode's http://)
        self.told_undeliverable = False
        self.upstream_class: type[_Leg] = _Leg  # the upstream leg, when it is plain TCP

    # ---- the client leg ---------------------------------------------------------

    def client_connected(self, leg: _Leg) -> None:
        self.client = leg
        transport = leg.transport
        assert transport is not None
        route = self.route
        if route is not None and route.addresses is not None:
            peer, local = route.addresses
        else:
            peer = transport.get_extra_info("peername")[:2]
            local = transport.get_extra_info("sockname")[:2]
        ssl_object = transport.get_extra_info("ssl_object")
        self.alpn = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
        self.live = self.source.open(peer, local, tls=ssl_object is not None)
        if route is not None:
            self.source.names[self.live.index] = route.name
            self.source.routes[self.live.index] = route  # where --reflect asks this connection's host
        self.relay.links.add(self)
        # A plain client towards a TLS upstream: offer upstream what the client's first
        # bytes say it speaks (wait for them); otherwise connect at once.
        if self._upstream_tls() is None or ssl_object is not None:
            self._start_connect()

    def hold(self, data: bytes) -> None:
        """Client bytes that arrived before the upstream connection is there."""
        self.pending.append(data)
        self.pending_size += len(data)
        if self.pending_size > PENDING_LIMIT and self.client is not None:
            self.client.pause(_PENDING_FULL)
        if not self.connecting and not self.failed:
            first = b"".join(self.pending)
            if first.startswith(CLIENT_PREFACE) or not CLIENT_PREFACE.startswith(first[:len(CLIENT_PREFACE)]):
                self.alpn = "h2" if first.startswith(CLIENT_PREFACE) else "http/1.1"
                self._start_connect()

    def _upstream_tls(self) -> UpstreamTls | None:
        return self.route.upstream_tls if self.route is not None else self.relay.settings.upstream_tls

    @property
    def connection(self) -> LiveConnection:
        """The connection as the live source numbers it: there from the client leg's connect on,
        before any byte or close can arrive."""
        live = self.live
        assert live is not None, "the client leg connected first"
        return live

    def _start_connect(self) -> None:
        self.connecting = True
        task = asyncio.get_running_loop().create_task(self._connect())
        self.relay.tasks.add(task)
        task.add_done_callback(self.relay.tasks.discard)

    async def _connect(self) -> None:
        route = self.route
        up = route.target if route is not None else self.relay.settings.upstream
        assert up is not None  # reverse mode has one upstream; forward mode a route per link
        upstream_tls = self._upstream_tls()
        ctx = None
        if upstream_tls is not None:
            ctx = upstream_tls.context_for((self.alpn,) if self.alpn else ())
        loop = asyncio.get_running_loop()
        leg_class = self.upstream_class if ctx is None else _TlsLeg
        name = (route.server_name or up.host) if route is not None else up.host
        sock = route.sock if route is not None else None
        if route is not None:
            route.sock = None  # the leg owns it now
        try:
            if sock is not None:
                connecting = loop.create_connection(lambda: leg_class(self, False), sock=sock, ssl=ctx,
                                                    server_hostname=name if ctx is not None else None)
            else:
                connecting = loop.create_connection(lambda: leg_class(self, False), up.host, up.port, ssl=ctx,
                                                    server_hostname=name if ctx is not None else None)
            _, leg = await asyncio.wait_for(connecting, CONNECT_TIMEOUT)
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            self.failed = True
            self.pending.clear()
            self.source.event(connect_failure(exc), f"upstream {up} {_describe(exc)}; the client's connection "
                              "is reset", self.live)
            if self.client is not None:
                if not self.client.lost:
                    self.source.close(self.connection, False, "RST")
                _reset(self.client.transport)
            return
        transport = leg.transport
        assert transport is not None, "connection_made ran before create_connection returned"
        client = self.client
        if client is None or client.lost:
            transport.close()
            return
        self.upstream = leg
        if ctx is not None:
            chosen = transport.get_extra_info("ssl_object").selected_alpn_protocol()
            if self.alpn and chosen != self.alpn:
                self.source.event("proxy.alpn-mismatch", f"upstream negotiated ALPN {chosen!r}, the client "
                                  f"{self.alpn!r}", self.live)
        if client.full:  # the client is slower than what the upstream already sent it
            leg.pause(_PEER_FULL)
        if self.pending:
            leg.send(b"".join(self.pending))
            self.pending.clear()
            self.pending_size = 0
        client.resume(_PENDING_FULL)
        if client.eof:
            leg.send_eof()

    def detach_client(self) -> None:
        """The client's transport leaves this link for another (its leg no longer acts on it):
        what the upstream still sends is dropped, and its closing closes no client."""
        self.detached = True
        self.client = None

    # ---- closing, as TCP would ----------------------------------------------------

    def half_closed(self, leg: _Leg) -> None:
        """`leg`'s peer sent FIN: record it, pass it on, close when both sides are done."""
        self.source.close(self.connection, leg.from_client, "FIN")
        other = self.upstream if leg.from_client else self.client
        if other is None or other.lost:
            return  # no upstream yet: the connect task passes the FIN on once it is there
        other.send_eof()
        if other.eof and not leg.is_tls:
            other.close()
            leg.close()

    def undeliverable(self, leg: _Leg, n: int) -> None:
        """`leg` read `n` bytes its other side can no longer take (it is gone or closing):
        they are dropped, said once, and `leg` is closed (its peer talks to no one)."""
        leg.dropped += n
        if not self.told_undeliverable:
            self.told_undeliverable = True
            to = "client" if not leg.from_client else "upstream server"
            self.source.event("proxy.side-closed", f"the {to}'s side is already closed: bytes still arriving "
                              "from the other side are dropped, and that side closed too", self.live)
        if leg.is_tls or leg.eof:
            leg.close()
        else:
            leg.send_eof()
            leg.close()

    def leg_lost(self, leg: _Leg, exc: Exception | None) -> None:
        """A leg's transport closed: nothing reaches its peer any more, so the other leg closes
        too. A client's reset is passed on as a reset; the upstream's reaches the client after
        every byte already read from the upstream (a reset would throw away what is buffered,
        here and in the client's receive buffer); a close as FIN."""
        peer = self.upstream if leg.from_client else self.client
        other = peer if peer is not None and not peer.lost else None  # the leg still open, if any
        alive = other is not None
        if exc is not None:
            self.source.close(self.connection, leg.from_client, "RST")
            if leg.from_client:
                self.source.event("proxy.client-reset", f"the client reset the connection ({_describe(exc)})"
                                  + ("; passed on as a reset" if alive else ""), self.live)
                if other is not None:
                    self.source.close(self.connection, False, "RST")
                    _reset(other.transport)
            else:
                self.source.event("proxy.upstream-reset", f"the upstream server reset the connection "
                                  f"({_describe(exc)}) after {leg.received} bytes"
                                  + (f"; all {leg.received} are written to the client, then its connection is "
                                     "closed" if alive else ""), self.live)
                if other is not None:
                    other.close()
        else:
            if not leg.eof and not self.failed:
                # Closed without a FIN we saw (TLS closed, or we closed it): still the end of its data.
                self.source.close(self.connection, leg.from_client, "FIN")
            if other is not None:
                other.close()
        # The link is done when no leg is left open (a connect still under way sees the
        # client gone and closes its new leg itself).
        if not alive:
            self.relay.links.discard(self)

    def close(self) -> None:
        """Close both legs politely (Ctrl-C)."""
        for leg in (self.client, self.upstream):
            if leg is not None:
                leg.close()

    def abort(self) -> None:
        """Close both legs at once, buffers dropped (Ctrl-C, when polite did not do)."""
        for leg in (self.client, self.upstream):
            if leg is not None and leg.transport is not None and not leg.lost:
                leg.transport.abort()


class Relay:
    """The listening server and its links."""

    def __init__(self, settings: RelaySettings, source: LiveSource) -> None:
        self.settings = settings
        self.source = source
        self.links: set[_Link] = set()
        self.tasks: set[asyncio.Task] = set()
        self.server: asyncio.base_events.Server | None = None
        self.listeners: list[socket.socket] = []  # --tls: the plain sockets the handshakes start on
        self.acceptors: list[asyncio.Task] = []

    async def start(self) -> list[Endpoint]:
        """Bind and start accepting; returns the addresses bound."""
        loop = asyncio.get_running_loop()
        listen = self.settings.listen
        if self.settings.client_tls is not None and self.settings.forward is None:
            return await self._listen_tls()
        factory: Callable[[], asyncio.Protocol] = lambda: _Leg(_Link(self), True)  # noqa: E731
        if self.settings.forward is not None:
            from inspector.proxy.forward import ForwardRequest

            factory = lambda: ForwardRequest(self)  # noqa: E731
        self.server = await loop.create_server(factory, listen.host, listen.port, reuse_address=True,
                                               backlog=512)
        return [Endpoint(*s.getsockname()[:2]) for s in self.server.sockets]

    async def _listen_tls(self) -> list[Endpoint]:
        """`--tls`: listen on plain sockets and do each client's handshake here, so that one that fails
        is said (a TLS server of asyncio's or uvloop's would only log it in debug mode)."""
        loop = asyncio.get_running_loop()
        listen = self.settings.listen
        infos = await loop.getaddrinfo(listen.host, listen.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        bound = []
        try:
            for family, kind, proto, _, address in dict.fromkeys(infos):
                listener = socket.socket(family, kind, proto)
                self.listeners.append(listener)
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                listener.bind(address)
                listener.listen(512)
                listener.setblocking(False)
                bound.append(Endpoint(*listener.getsockname()[:2]))
        except OSError:
            self._close_listeners()
            raise
        self.acceptors = [loop.create_task(self._accept(listener)) for listener in self.listeners]
        return bound

    async def _accept(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, _ = await loop.sock_accept(listener)
            except OSError:  # out of descriptors, or a client gone before it was accepted: go on
                await asyncio.sleep(0.05)
                continue
            task = loop.create_task(self._client_tls(sock))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _client_tls(self, sock: socket.socket) -> None:
        """TLS with one client of the listener; a handshake that fails is a proxy.* finding."""
        settings = self.settings
        assert settings.client_tls is not None
        try:
            peer = sock.getpeername()
        except OSError:
            sock.close()
            return
        link = _Link(self)
        try:
            await asyncio.get_running_loop().connect_accepted_socket(
                lambda: _TlsLeg(link, True), sock, ssl=settings.client_tls, ssl_handshake_timeout=HANDSHAKE_TIMEOUT)
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            sock.close()
            if isinstance(exc, ConnectionError) and not isinstance(exc, ssl.SSLError):
                return  # the client left before it said anything (a port probe): nothing to tell
            rule, reason = client_handshake_failure(exc)
            if reason == SNI_REFUSED:
                return  # the server name callback refused the name, and said so (proxy.bad-sni)
            who = f"client {Endpoint(*peer[:2])}"
            if rule == "proxy.client-rejected-ca":
                ca = settings.client_certificates.ca.cert_path if settings.client_certificates else "ca.pem"
                self.source.event(rule, f"the {who} rejected the certificate the proxy made ({reason}): make "
                                  f"the client trust {ca} (curl --cacert {ca})")
            else:
                self.source.event(rule, f"TLS handshake with the {who} failed ({reason})")
        except BaseException:
            sock.close()
            raise

    def _close_listeners(self) -> None:
        for listener in self.listeners:
            listener.close()
        self.listeners.clear()

    async def stop(self, grace: float = 0.3) -> None:
        """Stop accepting and close every link: politely (buffers written, then FIN) for up to
        `grace` seconds, then at once, so that stopping never waits on a slow peer."""
        if self.server is not None:
            self.server.close()
        for acceptor in self.acceptors:
            acceptor.cancel()
        await asyncio.gather(*self.acceptors, return_exceptions=True)
        self._close_listeners()
        for task in list(self.tasks):
            task.cancel()
        for link in list(self.links):
            link.close()
        deadline = time.monotonic() + grace
        while self._open_legs() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for link in list(self.links):
            link.abort()
        await asyncio.sleep(0)  # let the aborted transports report connection_lost

    def _open_legs(self) -> bool:
        return any(not (leg is None or leg.lost) for link in self.links for leg in (link.client, link.upstream))
