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
from typing import Any


def _loop_tls_class(loop: asyncio.AbstractEventLoop) -> Any:
    """The TLS protocol class the running loop uses for its own TLS servers."""
    try:
        import uvloop.loop
    except ImportError:
        pass
    else:
        if isinstance(loop, uvloop.Loop):
            return uvloop.loop.__dict__["SSLProtocol"]  # not in uvloop's stubs, there in the module
    from asyncio import sslproto

    return sslproto.SSLProtocol


async def accept_tls(transport: asyncio.Transport, protocol: asyncio.BaseProtocol, ctx: ssl.SSLContext,
                     already_read: bytes, handshake_timeout: float) -> None:
    """Run a TLS server handshake on `transport`, starting from `already_read` (the client's first
    bytes), then hand `protocol` the TLS transport (its `connection_made`). Raises what the
    handshake raised (ssl.SSLError, a timeout, OSError); the transport is then closed."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    tls: asyncio.BufferedProtocol = _loop_tls_class(loop)(
        loop, protocol, ctx, waiter, server_side=True, server_hostname=None, ssl_handshake_timeout=handshake_timeout)
    transport.pause_reading()
    transport.set_protocol(tls)
    # Before connection_made the protocol only stores what it is given (its incoming BIO);
    # the handshake then starts from those bytes as if they had just been read.
    rest = memoryview(already_read)
    while rest:
        buffer = memoryview(tls.get_buffer(len(rest)))
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
