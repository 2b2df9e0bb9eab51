"""Backpressure: a slow peer holds the fast one back through the proxy, whose memory stays
bounded by its buffers, and every byte still arrives intact.

Sizes are scaled for the test suite (64 MiB); `H2INSPECT_FAULT_MIB=200` (downloads) and
`H2INSPECT_UPLOAD_MIB=400` run the sizes of issue 20. Without backpressure the proxy would
hold nearly all of it: what is asserted is its peak resident memory (VmHWM).
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading

import pytest
from proxykit import Pace, PatternStream, ThreadServer, proxy, rss, run, stopped_cleanly

pytestmark = [pytest.mark.timeout(240), pytest.mark.usefixtures("peers")]

MIB = 1 << 20
DOWNLOAD = int(os.environ.get("H2INSPECT_FAULT_MIB", "64")) * MIB
UPLOAD = int(os.environ.get("H2INSPECT_UPLOAD_MIB", "64")) * MIB
SLOW = 24 * MIB  # bytes per second a slow peer takes: several times less than the proxy could give
RSS_LIMIT = 100 * MIB  # issue 20: the proxy stays under this whatever a peer does
# What the proxy itself may add to its resident memory while relaying: two legs' write
# buffers (1 MiB each), reads in flight, the decoder's queue, allocator slack.
RSS_GROWTH = 40 * MIB
# The decoder's queue is bounded apart from the relay's buffers (64 MiB per connection by
# default): on a loaded machine decoding falls behind and that queue fills, whatever the
# relay does. Held small here, so what the memory bound measures is the relay's buffers.
BACKLOG = {"H2INSPECT_DECODE_BACKLOG": str(8 * MIB)}


def _kernel_in_flight() -> int:
    """What the kernel may hold between a sender and its reader through the proxy: two sockets
    sending (tcp_wmem's maximum each) and two receiving (tcp_rmem's, up to 32 MiB on some
    machines): the part of "how far ahead" no relay controls."""
    def most(name: str) -> int:
        return int(open(f"/proc/sys/net/ipv4/{name}").read().split()[2])
    return 2 * most("tcp_wmem") + 2 * most("tcp_rmem")


def _sender(stream: PatternStream, http_header: bool):  # type: ignore[no-untyped-def]
    """An upstream that sends `stream` as fast as it can (after an HTTP/1.1 request, if asked)."""
    def handler(conn: socket.socket) -> None:
        if http_header:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                request += chunk
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Content-Length: %d\r\n\r\n" % stream.size)
        for chunk in stream.chunks(1 << 18):
            conn.sendall(chunk)
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(65536):
            pass
    return handler


def _slow_read(port: int, rate: float) -> tuple[str, int]:
    """Read a whole raw stream at `rate` bytes/s; its sha256 and length."""
    h = hashlib.sha256()
    n = 0
    pace = Pace(rate)
    with socket.create_connection(("127.0.0.1", port), 10) as sock:
        sock.settimeout(30)
        while chunk := sock.recv(65536):
            h.update(chunk)
            n += len(chunk)
            pace.after(n)
    return h.hexdigest(), n


def _memory_ok(p, before: int) -> int:  # type: ignore[no-untyped-def]
    peak = rss(p.proc.pid, peak=True)
    assert peak < RSS_LIMIT, f"proxy peak RSS {peak / MIB:.0f} MiB"
    assert peak - before < RSS_GROWTH, f"proxy RSS grew {(peak - before) / MIB:.0f} MiB while relaying"
    return peak


def test_slow_reader_of_a_raw_tcp_stream_holds_the_upstream_back(tmp_path):
    stream = PatternStream(DOWNLOAD)
    with ThreadServer(_sender(stream, http_header=False)) as upstream, \
            proxy(tmp_path, f"127.0.0.1:{upstream.port}", env=BACKLOG) as p:
        before = rss(p.proc.pid)
        digest, n = _slow_read(p.port, SLOW)
        peak = _memory_ok(p, before)
    assert n == stream.size and digest == stream.sha256()
    assert stopped_cleanly(p)
    print(f"raw {n / MIB:.0f} MiB at {SLOW / MIB:.0f} MiB/s: proxy RSS {before / MIB:.0f} -> peak {peak / MIB:.0f} MiB")


def test_slow_http11_reader_holds_the_upstream_back(tmp_path):
    stream = PatternStream(DOWNLOAD)
    body = tmp_path / "body.bin"
    with ThreadServer(_sender(stream, http_header=True)) as upstream, \
            proxy(tmp_path, f"127.0.0.1:{upstream.port}", env=BACKLOG) as p:
        before = rss(p.proc.pid)
        got = run(["curl", "-sS", "--http1.1", "--limit-rate", str(SLOW), "-o", str(body),
                   f"{p.url}/big"], timeout=200)
        assert got.returncode == 0, got.stderr
        peak = _memory_ok(p, before)
        p.wait_for(lambda r: "HTTP/1.1" in r.stderr())
    assert body.stat().st_size == stream.size
    assert hashlib.sha256(body.read_bytes()).hexdigest() == stream.sha256()
    assert stopped_cleanly(p)
    print(f"HTTP/1.1 {stream.size / MIB:.0f} MiB: proxy RSS {before / MIB:.0f} -> peak {peak / MIB:.0f} MiB")


def test_slow_upstream_holds_a_big_upload_back(tmp_path):
    stream = PatternStream(UPLOAD)
    received = [0]
    digest: list[str] = []
    done = threading.Event()

    def slow_reader(conn: socket.socket) -> None:
        h = hashlib.sha256()
        pace = Pace(SLOW)
        conn.settimeout(30)
        while chunk := conn.recv(65536):
            h.update(chunk)
            received[0] += len(chunk)
            pace.after(received[0])
        digest.append(h.hexdigest())
        conn.sendall(b"done")
        done.set()

    ahead = []  # how far the client was ahead of what the upstream had read, at each send
    with ThreadServer(slow_reader) as upstream, proxy(tmp_path, f"127.0.0.1:{upstream.port}", env=BACKLOG) as p:
        before = rss(p.proc.pid)
        sent = 0
        with socket.create_connection(("127.0.0.1", p.port), 10) as sock:
            sock.settimeout(60)
            for chunk in stream.chunks(1 << 18):
                sock.sendall(chunk)
                sent += len(chunk)
                ahead.append(sent - received[0])
            sock.shutdown(socket.SHUT_WR)
            assert sock.recv(100) == b"done"
        assert done.wait(30)
        peak = _memory_ok(p, before)
    assert received[0] == stream.size and digest == [stream.sha256()]
    # Held back: at no time had the client sent more than the upstream read plus what is in
    # flight, the kernel's socket buffers and the proxy's own (two 1 MiB write buffers, reads in
    # flight, 8 MiB of slack). Without backpressure the proxy takes the whole upload at once: past
    # this bound at the sizes of issue 20 (400 MiB), and in the proxy's memory (checked above) at any.
    assert max(ahead) < _kernel_in_flight() + 8 * MIB, f"client ran {max(ahead) / MIB:.0f} MiB ahead"
    assert stopped_cleanly(p)
    print(f"upload {stream.size / MIB:.0f} MiB: client at most {max(ahead) / MIB:.1f} MiB ahead; "
          f"proxy RSS {before / MIB:.0f} -> peak {peak / MIB:.0f} MiB")


def test_fast_download_is_still_fast_and_intact(tmp_path):
    """Backpressure only ever holds a peer back as long as the other side is slower."""
    stream = PatternStream(DOWNLOAD)
    with ThreadServer(_sender(stream, http_header=False)) as upstream, \
            proxy(tmp_path, f"127.0.0.1:{upstream.port}", env=BACKLOG) as p:
        digest, n = _slow_read(p.port, 1 << 40)
    assert n == stream.size and digest == stream.sha256()
    assert stopped_cleanly(p)


def test_slow_reader_over_tls_on_both_legs_holds_the_upstream_back(tmp_path):
    # TLS reads come in pieces of at most 65,000 bytes, four times as many as plain TCP's, and
    # while bytes keep coming the decoder gets 2% of the loop: here it falls behind, and its
    # queue (bounded on its own: 64 MiB per connection by default) would be what grows. The
    # bound is set low so that what is measured is the relay's buffers.
    import ssl

    from inspector.proxy.tls import LocalCA

    upstream_ca = LocalCA(tmp_path / "upstream-ca").ensure()
    leaf = upstream_ca.leaf(["127.0.0.1"])
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(str(leaf.cert), str(leaf.key))
    stream = PatternStream(DOWNLOAD)
    with ThreadServer(_sender(stream, http_header=False), server_ctx) as upstream, \
            proxy(tmp_path, f"127.0.0.1:{upstream.port}", "--tls", "--upstream-tls", "--upstream-ca",
                  str(upstream_ca.cert_path), env=BACKLOG) as p:
        before = rss(p.proc.pid)
        client_ctx = ssl.create_default_context(cafile=str(tmp_path / "h2home" / "ca" / "ca.pem"))
        h = hashlib.sha256()
        n = 0
        pace = Pace(SLOW)
        with socket.create_connection(("127.0.0.1", p.port), 10) as raw, \
                client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.settimeout(30)
            try:
                while chunk := tls.recv(65536):
                    h.update(chunk)
                    n += len(chunk)
                    pace.after(n)
            except ssl.SSLEOFError:
                pass  # the proxy passes the upstream's end on as TCP FIN after close_notify, or not
        peak = _memory_ok(p, before)
    assert n == stream.size and h.hexdigest() == stream.sha256()
    assert stopped_cleanly(p)
    print(f"TLS {n / MIB:.0f} MiB: proxy RSS {before / MIB:.0f} -> peak {peak / MIB:.0f} MiB")
