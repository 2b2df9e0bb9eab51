"""`reflect(verify=False)`: the certificate a TLS server shows becomes the one trust anchor, checked
for a name it carries. A real TLS server (the standard library's) on loopback."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from inspector.proxy.tls import LocalCA
from inspector.rpc.reflection import ReflectionError, unverified_identity


@contextmanager
def tls_server(cert: Path, key: Path, handshakes: int) -> Iterator[int]:
    """A TLS server on 127.0.0.1 that completes `handshakes` handshakes, then stops; yields its port."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        for _ in range(handshakes):
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)  # until the client closes
            except (OSError, ssl.SSLError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(10)


def test_the_shown_certificate_is_pinned_with_the_name_asked_for_when_it_covers_it(tmp_path: Path):
    leaf = LocalCA(tmp_path / "ca").ensure().leaf(["*.svc.test", "10.9.8.7"])
    with tls_server(leaf.cert, leaf.key, 2) as port:
        pem, name = unverified_identity(f"127.0.0.1:{port}", "api.svc.test", 5)
        assert name == "api.svc.test"  # covered by the wildcard
        assert ssl.PEM_cert_to_DER_cert(pem.decode()) == ssl.PEM_cert_to_DER_cert(leaf.cert.read_text())
        _, other = unverified_identity(f"127.0.0.1:{port}", "127.0.0.1", 5)
        assert other == "reflection.svc.test"  # not covered: a name under the certificate's wildcard


def test_a_host_that_cannot_be_reached_is_reflection_unavailable(tmp_path: Path):
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    with pytest.raises(ReflectionError) as caught:
        unverified_identity(f"127.0.0.1:{port}", None, 5)
    assert caught.value.rule == "grpc.reflection-unavailable"
    assert f"127.0.0.1:{port}: cannot be reached (" in str(caught.value)
