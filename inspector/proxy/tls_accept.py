"""Server-side TLS on an accepted transport whose client's first bytes were already read.

Forward mode reads a tunnel's first TLS record (the ClientHello) to learn its SNI name
before it picks a certificate, so the handshake must start from bytes no longer in the
socket. `loop.start_tls` cannot be handed such bytes; this builds the event loop's own TLS
protocol (uvloop's, or asyncio's: the one `create_server(ssl=...)` puts on every reverse-mode
client), writes those bytes into it before its handshake starts, and lets the transport read
on. The client leg is then exactly a reverse-mode TLS leg: no socket pair between the client's
socket and the TLS layer, no second copy of each byte (that cost forward mode about a fifth of
its throughput).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, Protocol


class _TlsProtocol(Protocol):
    """What this module uses of the event loop's TLS protocol (uvloop's and asyncio's alike)."""

    def get_buffer(self, sizehint: int) -> Any: ...

    def buffer_updated(self, nbytes: int) -> None: ...

    def connection_made(self, transport: asyncio.BaseTransport) -> None: ...


def _tls_protocol(loop: asyncio.AbstractEventLoop, protocol: asyncio.BaseProtocol, ctx: ssl.SSLContext,
                  waiter: asyncio.Future[None], handshake_timeout: float) -> _TlsProtocol:
    """The TLS protocol the running loop uses for its own TLS servers, server side."""
    try:
        import uvloop
    except ImportError:
        uvloop = None  # type: ignore[assignment]
    if uvloop is not None and isinstance(loop, uvloop.Loop):
        import uvloop.loop

        cls: Any = uvloop.loop.SSLProtocol  # type: ignore[attr-defined]
    else:
        from asyncio import sslproto

        cls = sslproto.SSLProtocol
    made: _TlsProtocol = cls(loop, protocol, ctx, waiter, server_side=True, server_hostname=None,
                             ssl_handshake_timeout=handshake_timeout)
    return made


async def accept_tls(transport: asyncio.Transport, protocol: asyncio.BaseProtocol, ctx: ssl.SSLContext,
                     already_read: bytes, handshake_timeout: float) -> None:
    """Run a TLS server handshake on `transport`, starting from `already_read` (the client's first
    bytes), then hand `protocol` the TLS transport (its `connection_made`). Raises what the
    handshake raised (ssl.SSLError, a timeout, OSError); the transport is then closed."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    tls = _tls_protocol(loop, protocol, ctx, waiter, handshake_timeout)
    transport.pause_reading()
    transport.set_protocol(tls)  # type: ignore[arg-type]
    # Before connection_made the protocol only stores what it is given (its incoming BIO);
    # the handshake then starts from those bytes as if they had just been read.
    rest = memoryview(already_read)
    while rest:
        buffer = tls.get_buffer(len(rest))
        n = min(len(buffer), len(rest))
        buffer[:n] = rest[:n]
        tls.buffer_updated(n)
        rest = rest[n:]
    tls.connection_made(transport)
    transport.resume_reading()
    try:
        await waiter
    except BaseException:
        transport.abort()
        raise
