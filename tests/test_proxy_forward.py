"""Forward mode (`proxy --forward`): CONNECT with TLS intercepted, h2c in a tunnel, tunnels left
alone, absolute-form http://, proxy authentication and bad input, with real curl and nghttpd."""

from __future__ import annotations

import base64
import http.server
import json
import os
import re
import socket
import sys
import threading
from pathlib import Path

import pytest
from oracle import h2inspect_frames, tshark_frames
from proxykit import md5, nghttpd, proxy, require, run, stopped_cleanly

from inspector.proxy.forward import ForwardSettings, client_hello_names, parse_head
from inspector.proxy.tls import LocalCA

pytestmark = [pytest.mark.peers, pytest.mark.timeout(120), pytest.mark.usefixtures("peers")]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    root.mkdir()
    (root / "big.bin").write_bytes(os.urandom(1024 * 1024 + 3))
    (root / "a.txt").write_bytes(b"from the first host\n")
    return root


@pytest.fixture
def upstream_ca(tmp_path: Path) -> LocalCA:
    return LocalCA(tmp_path / "upstream-ca").ensure()


@pytest.fixture
def tls_server(upstream_ca: LocalCA):  # type: ignore[no-untyped-def]
    leaf = upstream_ca.leaf(["localhost", "127.0.0.1"])
    return leaf.key, leaf.cert


def _ca(tmp_path: Path) -> str:
    return str(tmp_path / "h2home" / "ca" / "ca.pem")


def _curl(p, *args: str):  # type: ignore[no-untyped-def]
    return run(["curl", "-sS", "-x", p.url, *args])


def test_curl_through_connect_to_two_tls_hosts_gets_identical_bodies_and_tshark_reads_the_recording(
        tmp_path, docroot, tls_server, upstream_ca):
    require("tshark")
    record = tmp_path / "fw.pcapng"
    with nghttpd(docroot, tls=tls_server) as one, nghttpd(docroot, tls=tls_server) as two, \
            proxy(tmp_path, "", "--upstream-ca", str(upstream_ca.cert_path), "--record", str(record)) as p:
        got = _curl(p, "--cacert", _ca(tmp_path), "-w", "%{stderr}%{http_version}", f"https://127.0.0.1:{one}/big.bin")
        assert got.returncode == 0, got.stderr
        assert got.stderr.decode() == "2"  # ALPN h2 passed through
        assert md5(got.stdout) == md5((docroot / "big.bin").read_bytes())
        got = _curl(p, "--cacert", _ca(tmp_path), f"https://localhost:{two}/a.txt")
        assert got.returncode == 0, got.stderr
        assert got.stdout == b"from the first host\n"
        p.wait_for(lambda r: sum(1 for f in r.frames() if f["type"] == "DATA" and "END_STREAM" in f["flag_names"]
                                 and f["from"] == "server") >= 2)
        assert p.stop() == 0
    # What the proxy printed, read once it has stopped (as the relay test does): a frame still on
    # its way when the calls ended (a last SETTINGS ACK) is printed by then, as it is recorded.
    live = [(f["packet"], f["stream_id"], f["type_code"], f["flags"], f["length"]) for f in p.frames()]
    assert stopped_cleanly(p) and "not decoded" not in p.stderr()
    err = p.stderr()
    # Each connection is named by the host its client asked for.
    assert f"→ 127.0.0.1:{one} (127.0.0.1:{one}): h2" in err
    assert f"→ localhost:{two} (127.0.0.1:{two}): h2" in err
    frames = p.frames()
    paths = [dict(f["headers"])[":path"] for f in frames if f.get("role") == "request"]
    assert paths == ["/big.bin", "/a.txt"]
    ours = h2inspect_frames(str(record))
    assert ours == live
    assert ours == tshark_frames(str(record), ports=[one, two])


def test_h2c_prior_knowledge_inside_a_connect_tunnel_is_decoded(tmp_path, docroot):
    with nghttpd(docroot) as port, proxy(tmp_path, "") as p:
        got = _curl(p, "-p", "--http2-prior-knowledge", f"http://127.0.0.1:{port}/big.bin")
        assert got.returncode == 0, got.stderr
        assert md5(got.stdout) == md5((docroot / "big.bin").read_bytes())
        p.wait_for(lambda r: any(f["type"] == "DATA" and "END_STREAM" in f["flag_names"] for f in r.frames()))
        data = sum(f["length"] for f in p.frames() if f["type"] == "DATA" and f["from"] == "server")
    assert data == (docroot / "big.bin").stat().st_size
    assert f"127.0.0.1:{port}): h2c" in p.stderr()
    assert stopped_cleanly(p)


def test_tunnel_to_a_host_not_intercepted_is_relayed_untouched_and_shows_sni_and_alpn(
        tmp_path, docroot, tls_server, upstream_ca):
    with nghttpd(docroot, tls=tls_server) as port, \
            proxy(tmp_path, "", "--intercept", "*.example.test", "--intercept", "localhost:1") as p:
        # The client trusts only the server's own CA: only an untouched tunnel can satisfy it.
        got = _curl(p, "--cacert", str(upstream_ca.cert_path), f"https://localhost:{port}/big.bin")
        assert got.returncode == 0, got.stderr
        assert md5(got.stdout) == md5((docroot / "big.bin").read_bytes())
        p.wait_for(lambda r: "relayed untouched" in r.stderr())
    err = p.stderr()
    assert f"info proxy.tunnel-untouched: tunnel to localhost:{port} relayed untouched (not intercepted): TLS, " \
           "SNI localhost, ALPN offered h2, http/1.1" in err
    assert not [f for f in p.frames() if f.get("role") == "request"]  # nothing decrypted
    assert stopped_cleanly(p)


def test_client_that_rejects_the_local_ca_is_a_finding_with_the_hint(tmp_path, docroot, tls_server, upstream_ca):
    with nghttpd(docroot, tls=tls_server) as port, \
            proxy(tmp_path, "", "--upstream-ca", str(upstream_ca.cert_path)) as p:
        got = _curl(p, f"https://localhost:{port}/a.txt")
        assert got.returncode == 60
        p.wait_for(lambda r: "rejected the certificate" in r.stderr())
        # and the proxy goes on serving
        again = _curl(p, "--cacert", _ca(tmp_path), f"https://localhost:{port}/a.txt")
        assert again.returncode == 0 and again.stdout == b"from the first host\n"
    [line] = [x for x in p.stderr().splitlines() if "rejected the certificate" in x]
    assert f": error proxy.client-rejected-ca: CONNECT localhost:{port}: the client rejected the certificate" in line
    assert f"trust {_ca(tmp_path)} (curl --cacert {_ca(tmp_path)}) (RFC 8446 §6.2)" in line
    assert stopped_cleanly(p)


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = f"plain {self.path}\n".encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass


def test_absolute_form_http_request_goes_to_the_host_it_names(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with proxy(tmp_path, "") as p:
            got = _curl(p, f"http://127.0.0.1:{server.server_port}/x?y=1")
            assert got.returncode == 0, got.stderr
            p.wait_for(lambda r: "http/1.1" in r.stderr())
    finally:
        server.shutdown()
    assert got.stdout == b"plain http://127.0.0.1:%d/x?y=1\n" % server.server_port  # the request as sent
    assert stopped_cleanly(p)


def _ask(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def test_bad_input_is_answered_and_said_and_the_proxy_keeps_serving(tmp_path, docroot):
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))
    closed_port = refused.getsockname()[1]
    refused.close()
    with nghttpd(docroot) as port, proxy(tmp_path, "") as p:
        got = _curl(p, "-p", "--http2-prior-knowledge", f"http://127.0.0.1:{closed_port}/")
        assert got.returncode != 0 and b"502" in got.stderr
        assert _ask(p.port, b"\x16\x03\x01\x02\x00garbage\r\n\r\n").startswith(b"HTTP/1.1 400 ")
        assert _ask(p.port, b"CONNECT nowhere HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400 ")
        assert _ask(p.port, b"GET /relative HTTP/1.1\r\nhost: x\r\n\r\n").startswith(b"HTTP/1.1 400 ")
        # A tunnel whose "TLS" is nonsense: the handshake fails, said in one line.
        tunnel = _ask(p.port, f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode() + b"\x16\x03\x01\x00\x05hello")
        assert tunnel.startswith(b"HTTP/1.1 200 ")
        p.wait_for(lambda r: "TLS handshake with the client failed" in r.stderr())
        ok = _curl(p, "-p", "--http2-prior-knowledge", f"http://127.0.0.1:{port}/a.txt")
        assert ok.returncode == 0 and ok.stdout == b"from the first host\n"
    err = p.stderr()
    assert f"error proxy.upstream-refused: forward proxy: CONNECT 127.0.0.1:{closed_port}: the target refused the " \
           "connection" in err
    assert "warning proxy.forward-bad-request: forward proxy: " in err
    assert "not an HTTP/1.1 request line" in err and "CONNECT target without a port" in err
    assert f"warning proxy.client-tls-failed: CONNECT 127.0.0.1:{port}: TLS handshake with the client failed" in err
    assert stopped_cleanly(p)


def test_proxy_authentication_is_required_when_asked_for(tmp_path, docroot):
    with nghttpd(docroot) as port, proxy(tmp_path, "", "--auth", "ann:s3cret") as p:
        url = f"http://127.0.0.1:{port}/a.txt"
        denied = _curl(p, "-p", "--http2-prior-knowledge", url)
        assert denied.returncode != 0 and b"407" in denied.stderr
        wrong = _curl(p, "-p", "--proxy-user", "ann:nope", "--http2-prior-knowledge", url)
        assert wrong.returncode != 0
        ok = _curl(p, "-p", "--proxy-user", "ann:s3cret", "--http2-prior-knowledge", url)
        assert ok.returncode == 0 and ok.stdout == b"from the first host\n"
    assert p.stderr().count("warning proxy.forward-auth: forward proxy: a request without the right "
                            "Proxy-Authorization (--auth) is refused (RFC 9110 §15.5.8)") == 2
    assert stopped_cleanly(p)


def test_forward_beyond_loopback_without_auth_is_a_usage_error(tmp_path):
    got = run([sys.executable, "-m", "inspector", "proxy", "--forward", "--listen", "0.0.0.0:0", "--headless"],
              cwd=ROOT, env=dict(os.environ, H2INSPECT_HOME=str(tmp_path / "h")))
    assert got.returncode == 2
    assert got.stderr.decode().count("\n") == 1 and "--auth" in got.stderr.decode()


@pytest.mark.parametrize("argv, word", [
    (["--forward", "--upstream", "127.0.0.1:1"], "--upstream"),
    (["--intercept", "x", "--upstream", "127.0.0.1:1"], "--forward"),
    ([], "--upstream"),
])
def test_mode_options_that_do_not_fit_are_usage_errors(tmp_path, argv, word):
    got = run([sys.executable, "-m", "inspector", "proxy", "--listen", "127.0.0.1:0", *argv, "--headless"],
              cwd=ROOT, env=dict(os.environ, H2INSPECT_HOME=str(tmp_path / "h")))
    assert got.returncode == 2, got.stderr
    assert got.stderr.decode().count("\n") == 1 and word in got.stderr.decode()


def test_har_of_a_forward_run_names_the_targets(tmp_path, docroot):
    har = tmp_path / "fw.har"
    with nghttpd(docroot) as port, proxy(tmp_path, "", "--har", str(har)) as p:
        assert _curl(p, "-p", "--http2-prior-knowledge", f"http://localhost:{port}/a.txt").returncode == 0
        p.wait_for(lambda r: any(f["type"] == "DATA" for f in r.frames()))
    (entry,) = json.loads(har.read_text())["log"]["entries"]
    assert entry["_target"] == f"localhost:{port}"
    assert entry["response"]["content"]["text"] == "from the first host\n"
    assert stopped_cleanly(p)


# ---- no peers: the pieces -----------------------------------------------------------

@pytest.mark.parametrize("host, port, expected", [
    ("api.example.test", 443, True), ("example.test", 443, False), ("localhost", 8443, True),
    ("localhost", 9, False), ("10.0.0.1", 1, True)])
def test_intercept_globs_match_host_and_optional_port(host, port, expected):
    settings = ForwardSettings(["*.example.test", "localhost:8443", "10.0.0.*"])
    assert settings.intercepts(host, port) is expected


def test_basic_proxy_authorization_is_checked():
    settings = ForwardSettings(auth="u:p")
    assert settings.authorized({"proxy-authorization": "Basic " + base64.b64encode(b"u:p").decode()})
    assert not settings.authorized({"proxy-authorization": "Basic " + base64.b64encode(b"u:q").decode()})
    assert not settings.authorized({"proxy-authorization": "Basic !!!"})
    assert not settings.authorized({})
    assert ForwardSettings().authorized({})


def test_request_head_is_parsed_only_when_whole():
    assert parse_head(b"CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n") is None
    head = parse_head(b"CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n\x16")
    assert head is not None and (head.method, head.target, head.headers["host"], head.length) == \
        ("CONNECT", "a:1", "a:1", 35)


def test_client_hello_gives_sni_and_alpn():
    import ssl
    ctx = ssl.create_default_context()
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="api.example.test")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    hello = outgoing.read()
    assert client_hello_names(hello) == ("api.example.test", ["h2", "http/1.1"])
    assert client_hello_names(hello[:20]) is None


def test_grpcio_client_with_an_http_proxy_calls_a_tls_grpcio_server_through_connect(tmp_path, upstream_ca):
    from concurrent import futures

    import grpc

    service = "h2inspect.test.Echo"

    def echo(request: bytes, context) -> bytes:  # type: ignore[no-untyped-def]
        return b"echo:" + request

    def count(request: bytes, context):  # type: ignore[no-untyped-def]
        for i in range(3):
            yield bytes([i]) * 1000 + request

    leaf = upstream_ca.leaf(["localhost"])
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), options=[("grpc.enable_http_proxy", 0)])
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {
        "Echo": grpc.unary_unary_rpc_method_handler(echo),
        "Count": grpc.unary_stream_rpc_method_handler(count)}),))
    credentials = grpc.ssl_server_credentials([(leaf.key.read_bytes(), leaf.cert.read_bytes())])
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        with proxy(tmp_path, "", "--upstream-ca", str(upstream_ca.cert_path)) as p:
            root = Path(_ca(tmp_path)).read_bytes()
            options = [("grpc.http_proxy", p.url)]
            with grpc.secure_channel(f"localhost:{port}", grpc.ssl_channel_credentials(root), options) as channel:
                assert channel.unary_unary(f"/{service}/Echo")(b"x" * 5000, timeout=10) == b"echo:" + b"x" * 5000
                streamed = list(channel.unary_stream(f"/{service}/Count")(b"!", timeout=10))
            assert streamed == [bytes([i]) * 1000 + b"!" for i in range(3)]
            p.wait_for(lambda r: sum(1 for f in r.frames() if f.get("role") == "trailers") >= 2)
            frames = p.frames()
    finally:
        server.stop(0).wait(5)
    paths = [dict(f["headers"])[":path"] for f in frames if f.get("role") == "request"]
    assert paths == [f"/{service}/Echo", f"/{service}/Count"]
    assert [dict(f["headers"]).get("grpc-status") for f in frames if f.get("role") == "trailers"] == ["0", "0"]
    assert f"→ localhost:{port} (127.0.0.1:{port}): h2" in p.stderr()
    assert stopped_cleanly(p)


def test_recording_of_an_untouched_tunnel_carries_the_key_log_as_a_secrets_block(
        tmp_path, docroot, tls_server, upstream_ca):
    """The client logs its secrets (SSLKEYLOGFILE) to the proxy's --keylog; the recording then
    holds them in a Decryption Secrets Block, so tshark reads it with no key log given."""
    require("tshark")
    keylog, record = tmp_path / "keys.log", tmp_path / "tunnel.pcapng"
    with nghttpd(docroot, tls=tls_server) as port, \
            proxy(tmp_path, "", "--intercept", "nothing.test", "--keylog", str(keylog), "--record", str(record),
                  env={"SSLKEYLOGFILE": ""}) as p:
        got = run(["curl", "-sS", "-x", p.url, "--cacert", str(upstream_ca.cert_path),
                   f"https://localhost:{port}/big.bin"], env=dict(os.environ, SSLKEYLOGFILE=str(keylog)))
        assert got.returncode == 0, got.stderr
        assert md5(got.stdout) == md5((docroot / "big.bin").read_bytes())
        p.wait_for(lambda r: "relayed untouched" in r.stderr())
        assert p.stop() == 0
    raw = record.read_bytes()
    secrets = keylog.read_bytes()
    assert secrets and raw.find(secrets) > 0 and raw.find(b"TLSK"[::-1]) > 0
    # No -o tls.keylog_file: the secrets come from the file itself (the port is named TLS only
    # because it is not 443).
    theirs = tshark_frames(str(record), extra=["-d", f"tcp.port=={port},tls"])
    assert theirs, "tshark decrypted nothing without a key log"
    assert sum(length for _, _, kind, _, length in theirs if kind == 0) == (docroot / "big.bin").stat().st_size
    assert theirs == h2inspect_frames(str(record), keylog=str(keylog))
    assert theirs == h2inspect_frames(str(record))  # h2inspect reads the secrets block too
    assert stopped_cleanly(p)


def test_plaintext_recording_gets_no_secrets_block(tmp_path, docroot, tls_server, upstream_ca):
    keylog, record = tmp_path / "keys.log", tmp_path / "plain.pcapng"
    with nghttpd(docroot, tls=tls_server) as port, \
            proxy(tmp_path, "", "--upstream-ca", str(upstream_ca.cert_path), "--keylog", str(keylog),
                  "--record", str(record)) as p:
        assert _curl(p, "--cacert", _ca(tmp_path), "-o", os.devnull, f"https://localhost:{port}/a.txt").returncode == 0
        p.wait_for(lambda r: any(f["type"] == "DATA" for f in r.frames()))
        assert p.stop() == 0
    assert keylog.read_bytes()  # the proxy's own secrets were logged...
    assert b"TLSK"[::-1] not in record.read_bytes()  # ...but the recording is plaintext: nothing to decrypt


def test_a_client_that_never_sends_a_request_head_is_closed_and_others_are_served(tmp_path, docroot):
    with nghttpd(docroot) as port, proxy(tmp_path, "", env={"H2INSPECT_HEAD_TIMEOUT": "0.5"}) as p:
        with socket.create_connection(("127.0.0.1", p.port), 10) as silent:
            ok = _curl(p, "-p", "--http2-prior-knowledge", f"http://127.0.0.1:{port}/a.txt")
            assert ok.returncode == 0 and ok.stdout == b"from the first host\n"
            assert silent.recv(100) == b""  # closed by the proxy, not by this test
        p.wait_for(lambda r: "warning proxy.forward-timeout: forward proxy: a client sent no request head in 0.5 s; "
                   "closed" in r.stderr())
    assert stopped_cleanly(p)


def _echo_request_head(conn: socket.socket) -> None:
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(4096)
        if not chunk:
            return
        head += chunk
    body = head.split(b"\r\n\r\n")[0]
    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body) + body)


def test_the_proxys_credentials_do_not_reach_the_origin(tmp_path):
    """Proxy-Authorization is for the proxy (hop by hop): an absolute-form request goes on without it."""
    from proxykit import ThreadServer

    with ThreadServer(_echo_request_head) as origin, proxy(tmp_path, "", "--auth", "ann:s3cret") as p:
        got = _curl(p, "--proxy-user", "ann:s3cret", "-H", "x-kept: yes", f"http://127.0.0.1:{origin.port}/echo")
        assert got.returncode == 0, got.stderr
        assert b"x-kept: yes" in got.stdout.lower() and b"GET " in got.stdout
        assert b"proxy-authorization" not in got.stdout.lower()
    assert stopped_cleanly(p)


def _banner_then_echo(conn: socket.socket) -> None:
    conn.sendall(b"220 banner.test ready\r\n")
    while chunk := conn.recv(4096):
        conn.sendall(b"echo:" + chunk)


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


@pytest.mark.parametrize("intercept", [[], ["--intercept", "elsewhere.test"]], ids=["intercepted", "untouched"])
def test_a_tunnel_whose_server_speaks_first_is_relayed_at_once(tmp_path, intercept):
    """The banner reaches the client with the client silent: nothing waits for its first bytes
    (the head timeout is an hour, so a tunnel that waited would never pass this test)."""
    from proxykit import ThreadServer

    with ThreadServer(_banner_then_echo) as banner, \
            proxy(tmp_path, "", *intercept, env={"H2INSPECT_HEAD_TIMEOUT": "3600"}) as p:
        with socket.create_connection(("127.0.0.1", p.port), 10) as client:
            client.settimeout(20)
            client.sendall(f"CONNECT 127.0.0.1:{banner.port} HTTP/1.1\r\n\r\n".encode())
            answer = b"HTTP/1.1 200 Connection established\r\n\r\n"
            assert _read_exactly(client, len(answer)) == answer
            assert _read_exactly(client, 23) == b"220 banner.test ready\r\n"
            client.sendall(b"EHLO me\r\n")
            assert _read_exactly(client, 14) == b"echo:EHLO me\r\n"
        p.wait_for(lambda r: "the server spoke first" in r.stderr())
    assert f"tunnel to 127.0.0.1:{banner.port}: the server spoke first; relayed as it is" in p.stderr()
    assert stopped_cleanly(p)


class _Origin(http.server.BaseHTTPRequestHandler):
    """A keep-alive HTTP/1.1 origin that says who it is, what it was asked, the body's length
    (Content-Length or chunked) and whether a Proxy-Authorization header reached it."""

    protocol_version = "HTTP/1.1"

    def _body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while size := int(self.rfile.readline().split(b";")[0], 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b""):
                pass
            return data
        return self.rfile.read(int(self.headers.get("content-length", 0)))

    def _answer(self) -> None:
        body = self._body()
        text = (f"{self.server.server_port} {self.command} {self.path} {len(body)} "
                f"auth={'proxy-authorization' in self.headers}\n").encode()
        self.send_response(200)
        self.send_header("content-length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    do_GET = do_POST = _answer  # noqa: N815

    def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass


@pytest.fixture
def two_origins():  # type: ignore[no-untyped-def]
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Origin) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [server.server_port for server in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


def test_keep_alive_requests_to_two_origins_each_reach_the_origin_they_name(tmp_path, two_origins):
    a, b = two_origins
    with proxy(tmp_path, "", "--auth", "ann:s3cret") as p:
        urls = [f"http://127.0.0.1:{a}/one", f"http://127.0.0.1:{b}/two", f"http://127.0.0.1:{a}/three"]
        got = _curl(p, "--proxy-user", "ann:s3cret", "-w", "connects=%{num_connects}\n", *urls)
        assert got.returncode == 0, got.stderr
        p.wait_for(lambda r: r.stderr().count(": http/1.1") >= 3)
    assert got.stdout.decode().splitlines() == [
        f"{a} GET http://127.0.0.1:{a}/one 0 auth=False", "connects=1",  # one connection to the proxy...
        f"{b} GET http://127.0.0.1:{b}/two 0 auth=False", "connects=0",  # ...reused for each origin
        f"{a} GET http://127.0.0.1:{a}/three 0 auth=False", "connects=0"]
    err = p.stderr()
    for n, port in enumerate((a, b, a)):  # each origin's part of the connection is a connection of its own
        assert re.search(rf"conn {n}: 127\.0\.0\.1:\d+ → 127\.0\.0\.1:{port} \(127\.0\.0\.1:{port}\): http/1\.1", err)
    assert stopped_cleanly(p)


def _responses(sock: socket.socket) -> list[bytes]:
    """The bodies of the responses read until the proxy closes (each with a content-length)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    bodies = []
    while data:
        head, _, data = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
        bodies.append(data[:length])
        data = data[length:]
    return bodies


def test_pipelined_requests_with_bodies_to_two_origins_are_answered_in_order(tmp_path, two_origins):
    """All at once: a POST with a body to one origin, a chunked POST to the other, a GET to the
    first again. The second origin is asked only once the first has answered, so the answers
    come back in the order asked, each from the origin named."""
    a, b = two_origins
    requests = (f"POST http://127.0.0.1:{a}/p HTTP/1.1\r\nhost: 127.0.0.1:{a}\r\ncontent-length: 5\r\n\r\nhello"
                f"POST http://127.0.0.1:{b}/q HTTP/1.1\r\nhost: 127.0.0.1:{b}\r\ntransfer-encoding: chunked\r\n\r\n"
                "3;ext=1\r\nabc\r\n4\r\ndefg\r\n0\r\nx-trailer: 1\r\n\r\n"
                f"GET http://127.0.0.1:{a}/r HTTP/1.1\r\nhost: 127.0.0.1:{a}\r\nconnection: close\r\n\r\n").encode()
    with proxy(tmp_path, "") as p:
        with socket.create_connection(("127.0.0.1", p.port), 10) as client:
            client.settimeout(20)
            client.sendall(requests)
            bodies = _responses(client)
    assert bodies == [f"{a} POST http://127.0.0.1:{a}/p 5 auth=False\n".encode(),
                      f"{b} POST http://127.0.0.1:{b}/q 7 auth=False\n".encode(),
                      f"{a} GET http://127.0.0.1:{a}/r 0 auth=False\n".encode()]
    assert stopped_cleanly(p)


def test_a_later_request_without_the_proxys_credentials_is_refused(tmp_path, two_origins):
    a, b = two_origins
    auth = base64.b64encode(b"ann:s3cret").decode()
    with proxy(tmp_path, "", "--auth", "ann:s3cret") as p:
        with socket.create_connection(("127.0.0.1", p.port), 10) as client:
            client.settimeout(20)
            client.sendall(f"GET http://127.0.0.1:{a}/ok HTTP/1.1\r\nhost: x\r\n"
                           f"proxy-authorization: Basic {auth}\r\n\r\n".encode())
            first = b""
            while not first.endswith(b"auth=False\n") and (chunk := client.recv(65536)):
                first += chunk
            client.sendall(f"GET http://127.0.0.1:{b}/sneaky HTTP/1.1\r\nhost: x\r\n\r\n".encode())
            rest = b""
            while chunk := client.recv(65536):
                rest += chunk
    assert first.endswith(f"{a} GET http://127.0.0.1:{a}/ok 0 auth=False\n".encode())
    assert rest.startswith(b"HTTP/1.1 407 ")
    assert stopped_cleanly(p)


def test_requests_to_two_origins_followed_at_once_by_fin_are_all_answered(tmp_path, two_origins):
    """The client's FIN comes while its request for the second origin waits for the first to
    answer: it is passed on after that request, not to the first origin, and not lost."""
    a, b = two_origins
    with proxy(tmp_path, "") as p:
        got = _ask(p.port, f"GET http://127.0.0.1:{a}/one HTTP/1.1\r\nhost: 127.0.0.1:{a}\r\n\r\n"
                           f"GET http://127.0.0.1:{b}/two HTTP/1.1\r\nhost: 127.0.0.1:{b}\r\n\r\n".encode())
    assert got.count(b"HTTP/1.1 200 ") == 2
    assert f"{a} GET http://127.0.0.1:{a}/one 0 auth=False\n".encode() in got
    assert got.endswith(f"{b} GET http://127.0.0.1:{b}/two 0 auth=False\n".encode())
    assert stopped_cleanly(p)


def _client_hello(server_name: str) -> bytes:
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.set_alpn_protocols(["h2"])
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=server_name)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def test_client_hellos_the_proxy_cannot_serve_are_said_in_one_line_and_others_are_served(tmp_path, docroot):
    """A ClientHello straight at the proxy (no CONNECT); one in a tunnel to a host not
    intercepted, whose target is no TLS server; one with an SNI name no certificate can have."""
    def closes_at_once(conn: socket.socket) -> None:
        conn.recv(65536)

    from proxykit import ThreadServer

    with nghttpd(docroot) as port, ThreadServer(closes_at_once) as plain, \
            proxy(tmp_path, "", "--intercept", "127.0.0.1") as p:
        assert _ask(p.port, _client_hello("direct.test")).startswith(b"HTTP/1.1 400 ")
        untouched = _ask(p.port, f"CONNECT localhost:{plain.port} HTTP/1.1\r\n\r\n".encode()
                         + _client_hello("elsewhere.test"))
        assert untouched == b"HTTP/1.1 200 Connection established\r\n\r\n"  # then the target closed
        refused = _ask(p.port, f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode() + _client_hello("-bad.test"))
        assert refused == b"HTTP/1.1 200 Connection established\r\n\r\n"  # then closed: no handshake
        p.wait_for(lambda r: "TLS handshake refused" in r.stderr())
        ok = _curl(p, "-p", "--http2-prior-knowledge", f"http://127.0.0.1:{port}/a.txt")
        assert ok.returncode == 0 and ok.stdout == b"from the first host\n"
    err = p.stderr()
    # (the bytes as Python shows them: in double quotes when the random hello holds a ')
    assert re.search(r"forward proxy: not an HTTP request: b[\"']\\x16\\x03", err), err
    assert f"tunnel to localhost:{plain.port} relayed untouched (not intercepted): TLS, SNI elsewhere.test, " \
           "ALPN offered h2" in err
    assert f"CONNECT 127.0.0.1:{port}: TLS server name '-bad.test' is not a host name" in err
    assert stopped_cleanly(p)


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_intercepted_tls_starts_from_the_client_hello_already_read_on_either_event_loop(
        tmp_path, docroot, tls_server, upstream_ca, loop):
    """The ClientHello the proxy read for its SNI is handed to the loop's own TLS protocol
    (uvloop's or asyncio's): the handshake completes, the body is whole, a client that rejects
    the CA is still told to trust ca.pem."""
    with nghttpd(docroot, tls=tls_server) as port, \
            proxy(tmp_path, "", "--upstream-ca", str(upstream_ca.cert_path),
                  env={"H2INSPECT_LOOP": "asyncio" if loop == "asyncio" else ""}) as p:
        got = _curl(p, "--cacert", _ca(tmp_path), f"https://localhost:{port}/big.bin")
        assert got.returncode == 0, got.stderr
        assert md5(got.stdout) == md5((docroot / "big.bin").read_bytes())
        assert _curl(p, f"https://localhost:{port}/a.txt").returncode == 60
        p.wait_for(lambda r: "rejected the certificate" in r.stderr())
    assert f"make the client trust {_ca(tmp_path)}" in p.stderr()
    assert stopped_cleanly(p)
