"""The proxy relays real peers verbatim and shows their frames: curl, nghttp/nghttpd, h2load.

Every test runs `h2inspect proxy --headless --format jsonl` as a subprocess
between a real client and a real server, checks the client got exactly what
it gets directly, and reads the frames the proxy printed.
"""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import threading
from pathlib import Path

import pytest
from oracle import h2inspect_frames, tshark_frames
from proxykit import md5, nghttpd, proxy, require, run, stopped_cleanly

pytestmark = [pytest.mark.peers, pytest.mark.timeout(120),
              pytest.mark.usefixtures("peers")]


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    root.mkdir()
    (root / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    (root / "small.bin").write_bytes(os.urandom(1000))
    (root / "index.html").write_bytes(b"<html><body>pushed page</body></html>\n")
    return root


def _responses(frames: list[dict]) -> list[dict]:
    return [f for f in frames if f.get("role") == "response"]


def test_curl_prior_knowledge_gets_identical_body_and_frames_are_shown(tmp_path, docroot):
    with nghttpd(docroot) as port, proxy(tmp_path, f"127.0.0.1:{port}") as p:
        got = run(["curl", "-sS", "--http2-prior-knowledge", f"{p.url}/big.bin"])
        assert got.returncode == 0, got.stderr
        assert md5(got.stdout) == md5((docroot / "big.bin").read_bytes())
        p.wait_for(lambda r: any(f["type"] == "DATA" and "END_STREAM" in f["flag_names"]
                                 for f in r.frames()))
        frames = p.frames()
    request = next(f for f in frames if f.get("role") == "request")
    assert dict(request["headers"])[":path"] == "/big.bin"
    assert request["from"] == "client" and request["stream_id"] == 1
    data = sum(f["length"] for f in frames if f["type"] == "DATA" and f["from"] == "server")
    assert data == (docroot / "big.bin").stat().st_size
    # Each side opens with SETTINGS (which arrives first at the proxy is up to the network).
    assert [f["type"] for f in frames if f["from"] == "client"][0] == "SETTINGS"
    assert [f["type"] for f in frames if f["from"] == "server"][0] == "SETTINGS"
    assert "h2c" in p.stderr()
    assert stopped_cleanly(p)


def test_nghttp_sees_server_push_through_the_proxy_like_directly(tmp_path, docroot):
    require("nghttp")
    with nghttpd(docroot, "-p/index.html=/small.bin") as port, proxy(tmp_path, f"127.0.0.1:{port}") as p:
        direct = run(["nghttp", f"http://127.0.0.1:{port}/index.html"])
        via = run(["nghttp", f"{p.url}/index.html"])
        stats = run(["nghttp", "-s", f"{p.url}/index.html"]).stdout.decode(errors="replace")
        p.wait_for(lambda r: sum(1 for f in r.frames() if f["type"] == "PUSH_PROMISE") >= 2)
        frames = p.frames()
    assert via.returncode == 0 and direct.returncode == 0
    assert md5(via.stdout) == md5(direct.stdout)
    assert "/small.bin" in stats  # nghttp received the pushed stream through the proxy
    promise = next(f for f in frames if f["type"] == "PUSH_PROMISE")
    assert promise["from"] == "server" and promise["role"] == "push-request"
    assert dict(promise["headers"])[":path"] == "/small.bin"
    pushed = [f for f in frames if f["stream_id"] % 2 == 0 and f["stream_id"] and f["type"] == "DATA"]
    assert pushed and all(f["from"] == "server" for f in pushed)


def test_h2load_many_streams_and_connections_all_succeed_and_are_all_decoded(tmp_path, docroot):
    require("h2load")
    with nghttpd(docroot) as port, proxy(tmp_path, f"127.0.0.1:{port}") as p:
        out = run(["h2load", "-n", "3000", "-c", "8", "-m", "20", f"{p.url}/small.bin"]).stdout.decode()
        assert "3000 succeeded" in out, out
        p.wait_for(lambda r: len(_responses(r.frames())) >= 3000, timeout=60)
        frames = p.frames()
    assert len(_responses(frames)) == 3000
    assert len({f["conn"] for f in frames}) == 8
    ends = [f for f in frames if f["type"] == "DATA" and f["from"] == "server" and "END_STREAM" in f["flag_names"]]
    assert len(ends) == 3000


def test_recording_decodes_to_the_frames_tshark_reads_and_the_proxy_showed(tmp_path, docroot):
    require("tshark")
    record = tmp_path / "live.pcapng"
    with nghttpd(docroot, "-p/index.html=/small.bin") as port, \
            proxy(tmp_path, f"127.0.0.1:{port}", "--record", str(record)) as p:
        for path in ("/big.bin", "/index.html"):
            assert run(["curl", "-sS", "-o", os.devnull, "--http2-prior-knowledge", p.url + path]).returncode == 0
        if shutil.which("nghttp"):
            assert run(["nghttp", "-n", f"{p.url}/index.html"]).returncode == 0
        listen_port = p.port
        assert p.stop() == 0  # Ctrl-C flushes the recording
        live = [(f["packet"], f["stream_id"], f["type_code"], f["flags"], f["length"]) for f in p.frames()]
    assert live
    ours = h2inspect_frames(str(record))
    theirs = tshark_frames(str(record), ports=[listen_port])
    assert ours == theirs
    assert live == ours


def test_recording_has_handshake_and_fin_with_consistent_sequence_numbers(tmp_path, docroot):
    require("tshark")
    record = tmp_path / "seq.pcapng"
    with nghttpd(docroot) as port, proxy(tmp_path, f"127.0.0.1:{port}", "--record", str(record)) as p:
        assert run(["curl", "-sS", "-o", os.devnull, "--http2-prior-knowledge", f"{p.url}/big.bin"]).returncode == 0
        p.stop()
    flags = run(["tshark", "-n", "-r", str(record), "-T", "fields", "-e", "tcp.flags.str"]).stdout.decode()
    lines = flags.splitlines()
    assert "S" in lines[0] and "S" in lines[1] and "A" in lines[1]
    assert sum("F" in line for line in lines) == 2
    # tshark marks lost segments, retransmissions or ACKs of unseen bytes when the numbers do not add up
    bad = run(["tshark", "-n", "-r", str(record), "-Y",
               "tcp.analysis.lost_segment or tcp.analysis.retransmission or tcp.analysis.ack_lost_segment "
               "or tcp.analysis.out_of_order or tcp.analysis.duplicate_ack"]).stdout.decode()
    assert bad == ""


def _h2c_upgrade_server(conn: socket.socket, body: bytes) -> None:
    """An HTTP/1.1 server that takes `Upgrade: h2c` and answers on stream 1 (RFC 7540 §3.2)."""
    import h2.config
    import h2.connection
    import h2.events

    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(65536)
        if not chunk:
            return
        head += chunk
    fields = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line)
    settings = fields[b"HTTP2-Settings"].strip()
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
    h2conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    h2conn.initiate_upgrade_connection(settings)
    h2conn.send_headers(1, [(":status", "200"), ("content-length", str(len(body)))])
    h2conn.send_data(1, body, end_stream=True)
    conn.sendall(h2conn.data_to_send())
    while True:
        data = conn.recv(65536)
        if not data:
            break
        for event in h2conn.receive_data(data):
            if isinstance(event, h2.events.ConnectionTerminated):
                conn.sendall(h2conn.data_to_send())
                return
        conn.sendall(h2conn.data_to_send())


def test_h2c_upgrade_is_relayed_and_decoded(tmp_path):
    from proxykit import ThreadServer
    body = os.urandom(5000)
    with ThreadServer(lambda c: _h2c_upgrade_server(c, body)) as upstream, \
            proxy(tmp_path, f"127.0.0.1:{upstream.port}") as p:
        direct = run(["curl", "-sS", "--http2", f"http://127.0.0.1:{upstream.port}/x"])
        got = run(["curl", "-sS", "--http2", f"{p.url}/x"])
        assert direct.returncode == 0 and got.returncode == 0, got.stderr
        assert md5(got.stdout) == md5(direct.stdout) == md5(body)
        p.wait_for(lambda r: _responses(r.frames()))
        frames = p.frames()
    assert "h2c-upgrade" in p.stderr()
    response = _responses(frames)[0]
    assert response["stream_id"] == 1 and dict(response["headers"])[":status"] == "200"
    assert sum(f["length"] for f in frames if f["type"] == "DATA") == len(body)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass


def test_http11_is_relayed_and_shown_as_http11_not_decoded_as_http2(tmp_path, docroot):
    handler = lambda *a: _Quiet(*a, directory=str(docroot))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with proxy(tmp_path, f"127.0.0.1:{server.server_address[1]}") as p:
            got = run(["curl", "-sS", "--http1.1", f"{p.url}/big.bin"])
            assert got.returncode == 0, got.stderr
            assert md5(got.stdout) == md5((docroot / "big.bin").read_bytes())
            p.wait_for(lambda r: "http/1.1" in r.stderr())
            p.stop()
            assert p.frames() == []
            assert "HTTP/1.1" in p.stderr()
    finally:
        server.shutdown()
        server.server_close()


def test_client_half_close_is_passed_on_and_the_answer_still_arrives(tmp_path):
    # An echo upstream that answers only after the client's FIN, as a real TCP peer might.
    def handler(conn: socket.socket) -> None:
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
        conn.sendall(b"got " + str(len(data)).encode())
        conn.shutdown(socket.SHUT_WR)

    from proxykit import ThreadServer
    with ThreadServer(handler) as upstream, proxy(tmp_path, f"127.0.0.1:{upstream.port}") as p:
        sock = socket.create_connection(("127.0.0.1", p.port), 10)
        sock.sendall(b"x" * 100_000)
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
        sock.close()
    assert reply == b"got 100000"


def test_listening_beyond_loopback_warns(tmp_path, docroot):
    with nghttpd(docroot) as port, proxy(tmp_path, f"127.0.0.1:{port}", listen="0.0.0.0:0") as p:
        assert "not loopback" in p.stderr()


def test_loopback_is_the_only_address_bound_by_default(tmp_path, docroot):
    with nghttpd(docroot) as port, proxy(tmp_path, f"127.0.0.1:{port}") as p:
        assert "listening on 127.0.0.1:" in p.stderr() and "not loopback" not in p.stderr()


def test_text_format_shows_frames_like_nghttp_with_settings_read_back(tmp_path, docroot):
    with nghttpd(docroot) as port, proxy(tmp_path, f"127.0.0.1:{port}", fmt="text") as p:
        assert run(["curl", "-sS", "-o", os.devnull, "--http2-prior-knowledge", f"{p.url}/small.bin"]).returncode == 0
        p.wait_for(lambda r: "DATA frame" in r.stdout())
        text = p.stdout()
    assert "client → server HEADERS frame" in text and ":path: /small.bin" in text
    assert "(MAX_CONCURRENT_STREAMS=" in text  # a SETTINGS payload, read back from what was relayed


def test_ctrl_c_with_a_connection_open_closes_both_legs_and_flushes_the_recording(tmp_path, docroot):
    require("tshark")
    record = tmp_path / "open.pcapng"
    with nghttpd(docroot) as port, proxy(tmp_path, f"127.0.0.1:{port}", "--record", str(record)) as p:
        sock = socket.create_connection(("127.0.0.1", p.port), 10)
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        p.wait_for(lambda r: sum(1 for f in r.frames() if f["type"] == "SETTINGS") >= 2)
        assert p.stop() == 0
        sock.settimeout(10)
        rest = b""
        while chunk := sock.recv(65536):  # the client sees the connection end, not hang
            rest += chunk
        sock.close()
    assert stopped_cleanly(p)
    flags = run(["tshark", "-n", "-r", str(record), "-T", "fields", "-e", "tcp.flags.str"]).stdout.decode()
    assert sum("F" in line for line in flags.splitlines()) == 2


def test_ipv6_loopback_is_relayed_and_recorded(tmp_path, docroot):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    record = tmp_path / "v6.pcapng"
    with nghttpd(docroot) as port, proxy(tmp_path, f"127.0.0.1:{port}", "--record", str(record),
                                         listen="[::1]:0") as p:
        got = run(["curl", "-sS", "-g", "--http2-prior-knowledge", f"http://[::1]:{p.port}/small.bin"])
        assert got.returncode == 0, got.stderr
        assert md5(got.stdout) == md5((docroot / "small.bin").read_bytes())
        p.wait_for(lambda r: any(f.get("role") == "response" for f in r.frames()))
        assert p.frames()[0]["client"].startswith("[::1]:")
        listen_port = p.port
        p.stop()
    frames = h2inspect_frames(str(record))
    assert frames
    if shutil.which("tshark"):
        assert frames == tshark_frames(str(record), ports=[listen_port])
