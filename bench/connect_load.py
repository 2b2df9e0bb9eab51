"""An HTTP/2 load client over TLS that can go through a forward proxy (HTTP CONNECT).

    python bench/connect_load.py https://127.0.0.1:8443/body [--proxy 127.0.0.1:8080]
        [-n 20000] [-c 4] [-m 10] [--cacert ca.pem] [--size BYTES]

h2load cannot CONNECT, so forward mode is measured with this instead, and so are direct,
reverse mode and mitmproxy beside it: the same client for all of them. Like `h2load -n -c -m`
it opens `-c` connections (each, with `--proxy`, a CONNECT tunnel first), keeps `-m` GET
requests open on each until `-n` are done, and prints one JSON line: requests, seconds
(from the first connection's start to the last response), requests per second, response
body bytes per second, and CPU seconds of this client. Every response must carry exactly
`--size` body bytes (a 404 or a cut response fails the run: exit 1, one line). The client does
little per frame: request header blocks are made once (HPACK without indexing, so the same
bytes serve every stream), frames are split by their 9-byte headers and DATA is only counted;
windows are opened wide at the start so no WINDOW_UPDATE is needed per response.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import struct
import sys
import time
from urllib.parse import urlsplit

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY = 0x0, 0x1, 0x3, 0x4, 0x6, 0x7
END_STREAM, ACK, PADDED = 0x1, 0x1, 0x8
MAX_WINDOW = (1 << 31) - 1
_HEADER = struct.Struct(">HBBBI")  # length (24 bits as 16 + 8), type, flags, stream id


class LoadError(Exception):
    """The run could not be done as asked (a refused tunnel, a wrong response)."""


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    """One HTTP/2 frame."""
    n = len(payload)
    return struct.pack(">HBBBI", n >> 8, n & 0xFF, kind, flags, stream) + payload


def _literal(name_index: int, value: str) -> bytes:
    """An HPACK literal without indexing, name from the static table (RFC 7541 §6.2.2)."""
    raw = value.encode()
    if len(raw) >= 127:
        raise LoadError(f"header value too long for this client: {value[:40]!r}")
    return bytes([name_index, len(raw)]) + raw


def request_block(authority: str, path: str) -> bytes:
    """GET https://authority/path as a header block that changes no dynamic table."""
    return b"\x82\x87" + _literal(1, authority) + _literal(4, path)  # :method GET, :scheme https


class _Connection(asyncio.Protocol):
    """One HTTP/2 connection keeping `streams` requests open until the run's total is sent."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.open: dict[int, int] = {}  # stream id -> body bytes received
        self.next_stream = 1
        self.window_used = 0
        self.done = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        settings = struct.pack(">HI", 0x4, MAX_WINDOW) + struct.pack(">HI", 0x2, 0)  # window; no push
        out = [PREFACE, frame(SETTINGS, 0, 0, settings),
               frame(0x8, 0, 0, struct.pack(">I", MAX_WINDOW - 65535))]
        for _ in range(self.run.streams):
            if not self._request(out):
                break
        transport.write(b"".join(out))  # type: ignore[attr-defined]
        if not self.open:
            self.done.set_result(None)

    def _request(self, out: list[bytes]) -> bool:
        run = self.run
        if run.sent >= run.total:
            return False
        run.sent += 1
        stream = self.next_stream
        self.next_stream += 2
        self.open[stream] = 0
        out.append(frame(HEADERS, 0x5, stream, run.block))  # END_STREAM | END_HEADERS
        return True

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        pos, end = 0, len(buf)
        out: list[bytes] = []
        unpack = _HEADER.unpack_from
        while end - pos >= 9:
            high, low, kind, flags, stream = unpack(buf, pos)
            length = (high << 8) | low
            if end - pos < 9 + length:
                break
            at = pos + 9
            pos = at + length
            stream &= MAX_WINDOW
            if kind == DATA:
                body = length - (buf[at] + 1 if flags & PADDED else 0)
                self.open[stream] += body
                self.window_used += length
            elif kind == SETTINGS:
                if not flags & ACK:
                    out.append(frame(SETTINGS, ACK, 0))
                continue
            elif kind == PING:
                if not flags & ACK:
                    out.append(frame(PING, ACK, 0, bytes(buf[at:pos])))
                continue
            elif kind in (RST_STREAM, GOAWAY):
                self._fail(f"the server sent {'RST_STREAM' if kind == RST_STREAM else 'GOAWAY'} "
                           f"(stream {stream})")
                return
            elif kind != HEADERS:
                continue
            if flags & END_STREAM:
                got = self.open.pop(stream)
                if got != self.run.size:
                    self._fail(f"stream {stream}: {got} body bytes, expected {self.run.size}")
                    return
                self.run.completed += 1
                self._request(out)
        del buf[:pos]
        if self.window_used > 1 << 30:  # past a GiB: open the connection's window again
            out.append(frame(0x8, 0, 0, struct.pack(">I", self.window_used)))
            self.window_used = 0
        if out and self.transport is not None:
            self.transport.write(b"".join(out))
        if not self.open and not self.done.done():
            self.done.set_result(None)

    def _fail(self, message: str) -> None:
        if not self.done.done():
            self.done.set_exception(LoadError(message))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self._fail(f"the connection closed with {len(self.open)} requests open"
                       + (f" ({exc})" if exc else ""))


class _Run:
    """What the connections of one run share: the totals and the request block."""

    def __init__(self, total: int, streams: int, size: int, block: bytes) -> None:
        self.total = total
        self.streams = streams
        self.size = size
        self.block = block
        self.sent = 0
        self.completed = 0


async def _tunnel(proxy: tuple[str, int], host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(*proxy)
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    writer.write(f"CONNECT {target} HTTP/1.1\r\nhost: {target}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    if b" 200" not in status:
        writer.close()
        raise LoadError(f"the proxy answered CONNECT with {status.decode('latin-1')!r}")
    return reader, writer


async def _connect(run: _Run, url: str, proxy: tuple[str, int] | None, ctx: ssl.SSLContext) -> _Connection:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 443
    loop = asyncio.get_running_loop()
    if proxy is None:
        _, conn = await loop.create_connection(lambda: _Connection(run), host, port, ssl=ctx,
                                               server_hostname=host)
        return conn
    _, writer = await _tunnel(proxy, host, port)
    sock = writer.get_extra_info("socket").dup()  # the tunnel's socket, for a TLS transport of our own
    writer.transport.abort()
    _, conn = await loop.create_connection(lambda: _Connection(run), sock=sock, ssl=ctx, server_hostname=host)
    return conn


async def load(url: str, total: int, connections: int, streams: int, size: int, cafile: str | None,
               proxy: tuple[str, int] | None = None) -> dict[str, float]:
    """Run `total` GETs of `url` over `connections` connections, `streams` at a time on each."""
    parts = urlsplit(url)
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.set_alpn_protocols(["h2"])
    run = _Run(total, streams, size, request_block(parts.netloc, parts.path or "/"))
    cpu0, start = time.process_time(), time.perf_counter()
    conns = await asyncio.gather(*(_connect(run, url, proxy, ctx) for _ in range(connections)))
    try:
        await asyncio.gather(*(c.done for c in conns))
    finally:
        for c in conns:
            if c.transport is not None:
                c.transport.close()
    seconds = time.perf_counter() - start
    return {"requests": run.completed, "seconds": seconds, "rps": run.completed / seconds,
            "bytes_per_second": run.completed * size / seconds, "cpu": time.process_time() - cpu0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--proxy", metavar="HOST:PORT", help="go through this forward proxy (CONNECT)")
    parser.add_argument("-n", "--requests", type=int, default=20000)
    parser.add_argument("-c", "--connections", type=int, default=4)
    parser.add_argument("-m", "--streams", type=int, default=10, help="requests open at once per connection")
    parser.add_argument("--size", type=int, required=True, help="body bytes every response must have")
    parser.add_argument("--cacert", help="CA that signs the server's (or the proxy's) certificate")
    opts = parser.parse_args()
    proxy = None
    if opts.proxy:
        host, _, port = opts.proxy.rpartition(":")
        proxy = (host.strip("[]"), int(port))
    try:
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    try:
        result = asyncio.run(load(opts.url, opts.requests, opts.connections, opts.streams, opts.size,
                                  opts.cacert, proxy))
    except (LoadError, OSError, ssl.SSLError, asyncio.IncompleteReadError) as exc:
        print(f"connect_load: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
