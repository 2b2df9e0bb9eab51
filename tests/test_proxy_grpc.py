"""A real grpcio client and server through the proxy: all four call styles, h2c and TLS.

The service is defined here with grpcio's generic handlers (bytes in, bytes
out), so it needs no generated code: what matters is the traffic grpcio makes.
"""

from __future__ import annotations

import hashlib
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from proxykit import proxy, stopped_cleanly

pytestmark = [pytest.mark.peers, pytest.mark.timeout(120)]

SERVICE = "h2inspect.test.Echo"
OPTIONS = [("grpc.enable_http_proxy", 0)]


def _unary(request: bytes, context) -> bytes:  # type: ignore[no-untyped-def]
    return b"unary:" + hashlib.sha256(request).digest()


def _server_streaming(request: bytes, context):  # type: ignore[no-untyped-def]
    for i in range(5):
        yield bytes([i]) * (1000 * (i + 1)) + request


def _client_streaming(requests, context) -> bytes:  # type: ignore[no-untyped-def]
    return hashlib.sha256(b"".join(requests)).digest()


def _bidi(requests, context):  # type: ignore[no-untyped-def]
    for request in requests:
        yield request[::-1]


@pytest.fixture
def grpc_server():  # type: ignore[no-untyped-def]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=OPTIONS)
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(_unary),
        "ServerStreaming": grpc.unary_stream_rpc_method_handler(_server_streaming),
        "ClientStreaming": grpc.stream_unary_rpc_method_handler(_client_streaming),
        "Bidi": grpc.stream_stream_rpc_method_handler(_bidi),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port
    server.stop(0).wait(5)


def _all_styles(channel: grpc.Channel) -> list[bytes]:
    """One call of each style; everything the client received, in order."""
    got = []
    got.append(channel.unary_unary(f"/{SERVICE}/Unary")(b"hello" * 100, timeout=10))
    got.extend(channel.unary_stream(f"/{SERVICE}/ServerStreaming")(b"tail", timeout=10))
    got.append(channel.stream_unary(f"/{SERVICE}/ClientStreaming")(
        iter([b"a" * 10, b"b" * 20_000, b"c"]), timeout=10))
    got.extend(channel.stream_stream(f"/{SERVICE}/Bidi")(iter([b"one", b"two" * 5000, b"three"]), timeout=10))
    return got


def _check_frames(frames: list[dict]) -> None:
    requests = [f for f in frames if f.get("role") == "request"]
    paths = [dict(f["headers"])[":path"] for f in requests]
    assert paths == [f"/{SERVICE}/{m}" for m in ("Unary", "ServerStreaming", "ClientStreaming", "Bidi")]
    assert all(dict(f["headers"])["content-type"].startswith("application/grpc") for f in requests)
    trailers = [dict(f["headers"]) for f in frames if f.get("role") == "trailers"]
    assert [t.get("grpc-status") for t in trailers] == ["0"] * 4
    assert len({f["stream_id"] for f in requests}) == 4  # every call, unary too, is one HTTP/2 stream


def test_grpc_all_four_styles_through_h2c_proxy_match_a_direct_run(tmp_path: Path, grpc_server):
    with grpc.insecure_channel(f"127.0.0.1:{grpc_server}", options=OPTIONS) as channel:
        direct = _all_styles(channel)
    with proxy(tmp_path, f"127.0.0.1:{grpc_server}") as p:
        with grpc.insecure_channel(f"127.0.0.1:{p.port}", options=OPTIONS) as channel:
            via = _all_styles(channel)
        p.wait_for(lambda r: sum(1 for f in r.frames() if f.get("role") == "trailers") >= 4)
        frames = p.frames()
    assert via == direct
    _check_frames(frames)
    assert stopped_cleanly(p)


def test_grpc_client_trusting_the_local_ca_works_through_tls(tmp_path: Path, grpc_server):
    with grpc.insecure_channel(f"127.0.0.1:{grpc_server}", options=OPTIONS) as channel:
        direct = _all_styles(channel)
    with proxy(tmp_path, f"127.0.0.1:{grpc_server}", "--tls") as p:
        root = (tmp_path / "h2home" / "ca" / "ca.pem").read_bytes()
        credentials = grpc.ssl_channel_credentials(root_certificates=root)
        with grpc.secure_channel(f"localhost:{p.port}", credentials, options=OPTIONS) as channel:
            via = _all_styles(channel)
        p.wait_for(lambda r: sum(1 for f in r.frames() if f.get("role") == "trailers") >= 4)
        frames = p.frames()
    assert via == direct
    _check_frames(frames)
    assert ": h2\n" in p.stderr()
