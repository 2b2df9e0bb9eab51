"""TLS on both legs: the local CA, upstream verification, ALPN, key log, with real curl and nghttpd."""

from __future__ import annotations

import os
import socket
import ssl
import stat
import sys
from pathlib import Path

import pytest
from oracle import h2inspect_frames, tshark_frames
from proxykit import ThreadServer, md5, nghttpd, proxy, require, run, stopped_cleanly
from wirekit import captured

from inspector.capture.load import CaptureLoader
from inspector.proxy.tls import LocalCA
from inspector.tls.keylog import KeyLog

pytestmark = [pytest.mark.peers, pytest.mark.timeout(120),
              pytest.mark.usefixtures("peers")]


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    root.mkdir()
    (root / "big.bin").write_bytes(os.urandom(2 * 1024 * 1024 + 5))
    return root


@pytest.fixture
def upstream_ca(tmp_path: Path) -> LocalCA:
    """A CA of the upstream server's own, unrelated to the proxy's."""
    return LocalCA(tmp_path / "upstream-ca").ensure()


@pytest.fixture
def tls_server(upstream_ca: LocalCA):  # type: ignore[no-untyped-def]
    leaf = upstream_ca.leaf(["localhost", "127.0.0.1"])
    return leaf.key, leaf.cert


def _proxy_ca(tmp_path: Path) -> Path:
    return tmp_path / "h2home" / "ca" / "ca.pem"


def test_curl_over_tls_on_both_legs_gets_identical_body_over_h2(tmp_path, docroot, tls_server, upstream_ca):
    with nghttpd(docroot, tls=tls_server) as port, \
            proxy(tmp_path, f"127.0.0.1:{port}", "--tls", "--upstream-tls",
                  "--upstream-ca", str(upstream_ca.cert_path)) as p:
        got = run(["curl", "-sS", "--cacert", str(_proxy_ca(tmp_path)), "-w", "%{stderr}%{http_version}",
                   f"https://127.0.0.1:{p.port}/big.bin"])
        assert got.returncode == 0, got.stderr
        assert got.stderr.decode() == "2"
        assert md5(got.stdout) == md5((docroot / "big.bin").read_bytes())
        by_name = run(["curl", "-sS", "-o", os.devnull, "--cacert", str(_proxy_ca(tmp_path)),
                       "--resolve", f"api.example.test:{p.port}:127.0.0.1",
                       f"https://api.example.test:{p.port}/big.bin"])
        assert by_name.returncode == 0, by_name.stderr  # a certificate made for the SNI name
        p.wait_for(lambda r: sum(1 for f in r.frames() if f.get("role") == "response") >= 2)
        frames = p.frames()
    request = next(f for f in frames if f.get("role") == "request")
    assert dict(request["headers"])[":scheme"] == "https"
    assert ": h2\n" in p.stderr()
    assert stopped_cleanly(p)


def test_h2load_uploads_and_downloads_over_tls_on_both_legs_all_succeed_and_are_all_decoded(
        tmp_path, docroot, tls_server, upstream_ca):
    # Many streams on a few connections, bodies both ways: TLS reads of every size, from one
    # record to many, through the buffer the TLS legs decrypt into.
    require("h2load")
    (docroot / "small.bin").write_bytes(os.urandom(20_000))
    upload = tmp_path / "upload.bin"
    upload.write_bytes(os.urandom(70_000))
    with nghttpd(docroot, tls=tls_server) as port, \
            proxy(tmp_path, f"127.0.0.1:{port}", "--tls", "--upstream-tls",
                  "--upstream-ca", str(upstream_ca.cert_path)) as p:
        out = run(["h2load", "-n", "1000", "-c", "4", "-m", "10", "-d", str(upload),
                   f"https://127.0.0.1:{p.port}/small.bin"]).stdout.decode()
        assert "1000 succeeded" in out, out
        p.wait_for(lambda r: sum(1 for f in r.frames() if f.get("role") == "response") >= 1000, timeout=60)
        frames = p.frames()
    data = [f for f in frames if f["type"] == "DATA"]
    assert sum(f["length"] for f in data if f["from"] == "client") == 1000 * 70_000
    assert sum(f["length"] for f in data if f["from"] == "server") == 1000 * 20_000
    assert stopped_cleanly(p)


def test_local_ca_is_made_once_with_a_key_only_the_user_can_read(tmp_path, docroot):
    with nghttpd(docroot) as port:
        with proxy(tmp_path, f"127.0.0.1:{port}", "--tls") as p:
            assert str(_proxy_ca(tmp_path)) in p.stderr()
        first = _proxy_ca(tmp_path).read_bytes()
        with proxy(tmp_path, f"127.0.0.1:{port}", "--tls") as p:
            got = run(["curl", "-sS", "-o", os.devnull, "--cacert", str(_proxy_ca(tmp_path)),
                       f"https://localhost:{p.port}/big.bin"])
            assert got.returncode == 0, got.stderr
    folder = _proxy_ca(tmp_path).parent
    assert _proxy_ca(tmp_path).read_bytes() == first
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "ca-key.pem").stat().st_mode) == 0o600
    for key in (folder / "leaves").glob("*-key.pem"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_upstream_certificate_is_verified_unless_told_otherwise(tmp_path, docroot, tls_server):
    with nghttpd(docroot, tls=tls_server) as port:
        with proxy(tmp_path, f"127.0.0.1:{port}", "--upstream-tls") as p:
            got = run(["curl", "-sS", "--http2-prior-knowledge", f"{p.url}/big.bin"])
            assert got.returncode != 0
            p.wait_for(lambda r: "certificate verify failed" in r.stderr())
            assert f"conn 0: error proxy.upstream-tls: upstream 127.0.0.1:{port} certificate verify failed" \
                in p.stderr()
        assert stopped_cleanly(p)
        with proxy(tmp_path, f"127.0.0.1:{port}", "--upstream-tls", "--insecure") as p:
            got = run(["curl", "-sS", "--http2-prior-knowledge", f"{p.url}/big.bin"])
            assert got.returncode == 0, got.stderr
            assert md5(got.stdout) == md5((docroot / "big.bin").read_bytes())


def test_plain_client_to_tls_upstream_offers_what_the_client_speaks(tmp_path, docroot, tls_server, upstream_ca):
    with nghttpd(docroot, tls=tls_server) as port, \
            proxy(tmp_path, f"127.0.0.1:{port}", "--upstream-tls", "--upstream-ca",
                  str(upstream_ca.cert_path)) as p:
        got = run(["curl", "-sS", "--http2-prior-knowledge", f"{p.url}/big.bin"])
        assert got.returncode == 0, got.stderr
        assert md5(got.stdout) == md5((docroot / "big.bin").read_bytes())


def _alpn_echo(conn: ssl.SSLSocket) -> None:
    conn.sendall(f"alpn={conn.selected_alpn_protocol()}".encode())
    conn.recv(10)


@pytest.mark.parametrize("offer", ["h2", "http/1.1"])
def test_alpn_offered_upstream_follows_what_the_client_negotiated(tmp_path, upstream_ca, offer):
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf = upstream_ca.leaf(["127.0.0.1"])
    server_ctx.load_cert_chain(str(leaf.cert), str(leaf.key))
    server_ctx.set_alpn_protocols(["h2", "http/1.1"])
    with ThreadServer(_alpn_echo, server_ctx) as upstream, \
            proxy(tmp_path, f"127.0.0.1:{upstream.port}", "--tls", "--upstream-tls", "--upstream-ca",
                  str(upstream_ca.cert_path)) as p:
        client_ctx = ssl.create_default_context(cafile=str(_proxy_ca(tmp_path)))
        client_ctx.set_alpn_protocols([offer])
        with socket.create_connection(("127.0.0.1", p.port), 10) as raw, \
                client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.selected_alpn_protocol() == offer
            assert tls.recv(100) == f"alpn={offer}".encode()


def test_keylog_holds_the_secrets_of_both_legs(tmp_path, docroot, tls_server, upstream_ca):
    keylog = tmp_path / "keys.log"
    with nghttpd(docroot, tls=tls_server) as port, \
            proxy(tmp_path, f"127.0.0.1:{port}", "--tls", "--upstream-tls", "--upstream-ca",
                  str(upstream_ca.cert_path), "--keylog", str(keylog)) as p:
        got = run(["curl", "-sS", "-o", os.devnull, "--cacert", str(_proxy_ca(tmp_path)),
                   f"https://127.0.0.1:{p.port}/big.bin"])
        assert got.returncode == 0, got.stderr
    lines = [line.split() for line in keylog.read_text().splitlines() if line and not line.startswith("#")]
    labels = {line[0] for line in lines}
    assert {"CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"} <= labels
    assert all(len(line) == 3 and len(line[1]) == 64 for line in lines)
    assert len({line[1] for line in lines}) == 2  # one client random per leg


def test_a_capture_of_both_tls_legs_decodes_with_the_proxys_key_log(tmp_path, docroot, tls_server, upstream_ca):
    """What the key log is for: the encrypted wire, captured, read with it (by h2inspect and by tshark)."""
    keylog, wire = tmp_path / "keys.log", tmp_path / "wire.pcap"
    with nghttpd(docroot, tls=tls_server) as port, \
            proxy(tmp_path, f"127.0.0.1:{port}", "--tls", "--upstream-tls", "--upstream-ca",
                  str(upstream_ca.cert_path), "--keylog", str(keylog)) as p, captured(str(wire), port, p.port):
        got = run(["curl", "-sS", "--cacert", str(_proxy_ca(tmp_path)), f"https://127.0.0.1:{p.port}/big.bin"])
        assert got.returncode == 0, got.stderr
    frames = h2inspect_frames(str(wire), keylog=str(keylog))
    assert frames == tshark_frames(str(wire), extra=["-o", f"tls.keylog_file:{keylog}"])
    session = CaptureLoader(str(wire))
    session.builder.keylog = KeyLog.load(str(keylog))
    loaded = session.load()
    assert [c.protocol.split(" (")[0] for c in loaded.connections] == ["h2", "h2"]  # client leg, upstream leg
    for conn in loaded.connections:  # the 2 MiB body crossed both legs, decrypted intact
        body = b"".join(loaded.frame_payload(loaded.frames[i]) for i in loaded.stream_frames.of(conn.index, 1)
                        if loaded.frames.type_code[i] == 0 and loaded.frames.direction[i] == 1)
        assert md5(body) == md5((docroot / "big.bin").read_bytes())


def test_keylog_without_tls_is_a_usage_error(tmp_path):
    got = run([sys.executable, "-m", "inspector", "proxy", "--listen", "127.0.0.1:0", "--upstream",
               "127.0.0.1:1", "--keylog", str(tmp_path / "k"), "--headless"], cwd=Path(__file__).parent.parent)
    assert got.returncode == 2
    assert got.stderr.decode().count("\n") == 1 and "--keylog" in got.stderr.decode()
