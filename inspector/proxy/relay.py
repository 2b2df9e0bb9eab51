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
import socket
import ssl
import struct
import time
from dataclasses import dataclass

from inspector.http2.frames import CLIENT_PREFACE
from inspector.model import Severity
from inspector.proxy.live_source import LiveConnection, LiveSource
from inspector.proxy.recorder import MAX_SEGMENT
from inspector.proxy.tls import UpstreamTls

CONNECT_TIMEOUT = 10.0
PENDING_LIMIT = 1 << 20
WRITE_BUFFER_HIGH = 1 << 20  # client bytes held while the upstream connection is being made
TLS_READ_BUFFER = MAX_SEGMENT  # what a TLS leg decrypts into per read: one recorded packet, never split
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
    upstream: Endpoint
    client_tls: ssl.SSLContext | None = None
    upstream_tls: UpstreamTls | None = None


def _reset(transport: asyncio.BaseTransport | None) -> None:
    """Close with a TCP RST, as a peer that was reset would see."""
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        except OSError:
            pass
    transport.abort()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "refused the connection"
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return f"did not answer within {CONNECT_TIMEOUT:.0f} s"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc) or type(exc).__name__


class _Leg(asyncio.Protocol):
    """One side's transport. What arrives is written to the other side, then recorded."""

    __slots__ = ("link", "from_client", "transport", "eof", "lost", "is_tls")

    def __init__(self, link: _Link, from_client: bool) -> None:
        self.link = link
        self.from_client = from_client
        self.transport: asyncio.Transport | None = None
        self.eof = False
        self.lost = False
        self.is_tls = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        # Room for a few large reads before the other leg must pause: fewer pause/resume rounds.
        transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH)  # type: ignore[attr-defined]
        self.is_tls = transport.get_extra_info("ssl_object") is not None
        if self.from_client:
            self.link.client_connected(self)

    def data_received(self, data: bytes) -> None:
        link = self.link
        other = link.upstream if self.from_client else link.client
        if other is not None and other.transport is not None:
            other.transport.write(data)
        else:
            link.hold(data)
        link.source.data(link.live, self.from_client, data, time.time())  # type: ignore[arg-type]

    def eof_received(self) -> bool:
        self.eof = True
        self.link.half_closed(self)
        return not self.is_tls  # TLS cannot stay half-open (and asyncio warns if asked)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.link.leg_lost(self, exc)

    def pause_writing(self) -> None:
        other = self.link.upstream if not self.from_client else self.link.client
        if other is not None and other.transport is not None:
            other.transport.pause_reading()

    def resume_writing(self) -> None:
        other = self.link.upstream if not self.from_client else self.link.client
        if other is not None and other.transport is not None and not other.lost:
            other.transport.resume_reading()


class _TlsLeg(_Leg, asyncio.BufferedProtocol):
    """A leg with TLS: the TLS layer decrypts straight into one buffer, reused (no bytes
    object per TLS record and no join of them, as with `data_received`); one copy of each
    read is then relayed and kept. More than the buffer holds comes in the next turn of the loop."""

    __slots__ = ("buffer",)

    def __init__(self, link: _Link, from_client: bool) -> None:
        super().__init__(link, from_client)
        self.buffer = memoryview(bytearray(TLS_READ_BUFFER))

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(self.buffer[:nbytes].tobytes())


class _Link:
    """One proxied connection: the client leg, the upstream leg, and what passed."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.source = relay.source
        self.client: _Leg | None = None
        self.upstream: _Leg | None = None
        self.live: LiveConnection | None = None
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.alpn: str | None = None
        self.connecting = False
        self.failed = False

    # ---- the client leg ---------------------------------------------------------

    def client_connected(self, leg: _Leg) -> None:
        self.client = leg
        transport = leg.transport
        assert transport is not None
        peer = transport.get_extra_info("peername")[:2]
        local = transport.get_extra_info("sockname")[:2]
        ssl_object = transport.get_extra_info("ssl_object")
        self.alpn = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
        self.live = self.source.open(peer, local, tls=ssl_object is not None)
        self.relay.links.add(self)
        settings = self.relay.settings
        # A plain client towards a TLS upstream: offer upstream what the client's first
        # bytes say it speaks (wait for them); otherwise connect at once.
        if settings.upstream_tls is None or ssl_object is not None:
            self._start_connect()

    def hold(self, data: bytes) -> None:
        """Client bytes that arrived before the upstream connection is there."""
        self.pending.append(data)
        self.pending_size += len(data)
        if self.pending_size > PENDING_LIMIT and self.client is not None and self.client.transport:
            self.client.transport.pause_reading()
        if not self.connecting and not self.failed:
            first = b"".join(self.pending)
            if first.startswith(CLIENT_PREFACE) or not CLIENT_PREFACE.startswith(first[:len(CLIENT_PREFACE)]):
                self.alpn = "h2" if first.startswith(CLIENT_PREFACE) else "http/1.1"
                self._start_connect()

    def _start_connect(self) -> None:
        self.connecting = True
        task = asyncio.get_running_loop().create_task(self._connect())
        self.relay.tasks.add(task)
        task.add_done_callback(self.relay.tasks.discard)

    async def _connect(self) -> None:
        settings = self.relay.settings
        up = settings.upstream
        ctx = None
        if settings.upstream_tls is not None:
            ctx = settings.upstream_tls.context_for((self.alpn,) if self.alpn else ())
        loop = asyncio.get_running_loop()
        leg_class = _Leg if ctx is None else _TlsLeg
        try:
            _, leg = await asyncio.wait_for(
                loop.create_connection(lambda: leg_class(self, False), up.host, up.port, ssl=ctx,
                                       server_hostname=up.host if ctx is not None else None),
                CONNECT_TIMEOUT)
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            self.failed = True
            self.source.event(f"upstream {up} {_describe(exc)}; the client's connection is reset",
                              self.live, Severity.ERROR)
            if self.client is not None:
                if not self.client.lost:
                    self.source.close(self.live, False, "RST")  # type: ignore[arg-type]
                _reset(self.client.transport)
            return
        if self.client is None or self.client.lost:
            leg.transport.close()  # type: ignore[union-attr]
            return
        self.upstream = leg
        if ctx is not None:
            chosen = leg.transport.get_extra_info("ssl_object").selected_alpn_protocol()  # type: ignore[union-attr]
            if self.alpn and chosen != self.alpn:
                self.source.event(f"upstream negotiated ALPN {chosen!r}, the client {self.alpn!r}",
                                  self.live, Severity.WARNING)
        transport = leg.transport
        assert transport is not None
        if self.pending:
            transport.write(b"".join(self.pending))
            self.pending.clear()
            self.pending_size = 0
            if self.client.transport is not None and not self.client.eof:
                self.client.transport.resume_reading()
        if self.client.eof:
            self._pass_eof(transport)

    # ---- closing, as TCP would ----------------------------------------------------

    @staticmethod
    def _pass_eof(transport: asyncio.Transport) -> None:
        if transport.can_write_eof():
            transport.write_eof()
        else:
            transport.close()  # TLS: close_notify, after what is buffered

    def half_closed(self, leg: _Leg) -> None:
        """`leg`'s peer sent FIN: record it, pass it on, close when both sides are done."""
        self.source.close(self.live, leg.from_client, "FIN")  # type: ignore[arg-type]
        other = self.upstream if leg.from_client else self.client
        if other is None or other.transport is None or other.lost:
            return  # no upstream yet: the connect task passes the FIN on once it is there
        self._pass_eof(other.transport)
        if other.eof and not leg.is_tls:
            other.transport.close()
            leg.transport.close()  # type: ignore[union-attr]

    def leg_lost(self, leg: _Leg, exc: Exception | None) -> None:
        """A leg's transport closed: a reset is passed on as a reset, the rest as FIN."""
        other = self.upstream if leg.from_client else self.client
        if exc is not None and not leg.eof:
            self.source.close(self.live, leg.from_client, "RST")  # type: ignore[arg-type]
            what = "the client" if leg.from_client else "the upstream server"
            self.source.event(f"{what} reset the connection ({_describe(exc)}); passed on as a reset",
                              self.live, Severity.WARNING)
            if other is not None and not other.lost:
                self.source.close(self.live, not leg.from_client, "RST")  # type: ignore[arg-type]
                _reset(other.transport)
        elif not leg.eof and not self.failed:
            # Closed without a FIN we saw (TLS closed, or we closed it): still the end of its data.
            self.source.close(self.live, leg.from_client, "FIN")  # type: ignore[arg-type]
            if other is not None and other.transport is not None and not other.lost:
                self._pass_eof(other.transport)
        if other is not None and not other.lost and other.eof and other.transport is not None:
            other.transport.close()
        # The link is done when no leg is left open (a connect still under way sees the
        # client gone and closes its new leg itself).
        if other is None or other.lost:
            self.relay.links.discard(self)

    def close(self) -> None:
        """Close both legs politely (Ctrl-C)."""
        for leg in (self.client, self.upstream):
            if leg is not None and leg.transport is not None and not leg.lost:
                leg.transport.close()


class Relay:
    """The listening server and its links."""

    def __init__(self, settings: RelaySettings, source: LiveSource) -> None:
        self.settings = settings
        self.source = source
        self.links: set[_Link] = set()
        self.tasks: set[asyncio.Task] = set()
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> list[Endpoint]:
        """Bind and start accepting; returns the addresses bound."""
        loop = asyncio.get_running_loop()
        listen = self.settings.listen
        leg = _Leg if self.settings.client_tls is None else _TlsLeg
        self.server = await loop.create_server(lambda: leg(_Link(self), True), listen.host, listen.port,
                                               ssl=self.settings.client_tls, reuse_address=True,
                                               backlog=512)
        return [Endpoint(*s.getsockname()[:2]) for s in self.server.sockets]

    async def stop(self, grace: float = 2.0) -> None:
        """Stop accepting, close every link, and wait (a little) for them to go."""
        if self.server is not None:
            self.server.close()
        for task in list(self.tasks):
            task.cancel()
        for link in list(self.links):
            link.close()
        deadline = time.monotonic() + grace
        while any(not (leg is None or leg.lost) for link in self.links
                  for leg in (link.client, link.upstream)) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
