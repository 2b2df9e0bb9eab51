"""Faults: the proxy passes them on as a TCP peer would, shows them, and keeps serving."""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import time
from pathlib import Path

import h2.config
import h2.connection
import h2.errors
import h2.events
import pytest
from proxykit import ThreadServer, free_port, md5, nghttpd, proxy, run, stopped_cleanly

from inspector.http2.frames import CLIENT_PREFACE as PREFACE

pytestmark = [pytest.mark.peers, pytest.mark.timeout(120),
              pytest.mark.usefixtures("peers")]


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    root.mkdir()
    (root / "file.bin").write_bytes(os.urandom(300_000))
    return root


def _curl_ok(p, docroot: Path) -> None:  # type: ignore[no-untyped-def]
    got = run(["curl", "-sS", "--http2-prior-knowledge", f"{p.url}/file.bin"])
    assert got.returncode == 0, got.stderr
    assert md5(got.stdout) == md5((docroot / "file.bin").read_bytes())


def test_upstream_down_is_an_event_and_the_client_is_reset(tmp_path):
    dead = free_port()
    with proxy(tmp_path, f"127.0.0.1:{dead}") as p:
        got = run(["curl", "-sS", "--http2-prior-knowledge", f"{p.url}/x"])
        assert got.returncode != 0
        got = run(["curl", "-sS", "--http2-prior-knowledge", f"{p.url}/y"])
        assert got.returncode != 0
        p.wait_for(lambda r: r.stderr().count("refused the connection") == 2)
        assert p.proc.poll() is None
        for conn in (0, 1):
            assert f"conn {conn}: error proxy.upstream-refused: upstream 127.0.0.1:{dead} refused the connection; " \
                   "the client's connection is reset (RFC 9293 §3.5.2)" in p.stderr()
    assert "Traceback" not in p.stderr()
    assert stopped_cleanly(p)


def test_upstream_that_comes_back_is_served_again(tmp_path, docroot):
    port = free_port()
    with proxy(tmp_path, f"127.0.0.1:{port}") as p:
        assert run(["curl", "-sS", "--http2-prior-knowledge", f"{p.url}/file.bin"]).returncode != 0
        with nghttpd(docroot, port=port):
            _curl_ok(p, docroot)


def _half_response_then(how: str):  # type: ignore[no-untyped-def]
    """An upstream that starts a response, then closes (FIN) or resets (RST) mid-stream."""
    def handler(conn: socket.socket) -> None:
        h2conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        h2conn.initiate_connection()
        conn.sendall(h2conn.data_to_send())
        while True:
            data = conn.recv(65536)
            if not data:
                return
            events = h2conn.receive_data(data)
            conn.sendall(h2conn.data_to_send())
            for event in events:
                if isinstance(event, h2.events.RequestReceived):
                    h2conn.send_headers(event.stream_id, [(":status", "200")])
                    h2conn.send_data(event.stream_id, b"partial " * 100)
                    conn.sendall(h2conn.data_to_send())
                    time.sleep(0.1)
                    if how == "RST":
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    conn.close()
                    return
    return handler


def _raw_client_request(port: int) -> tuple[bytes, str]:
    """Send a request with h2; read until the connection ends. Returns (bytes read, how it ended)."""
    client = h2.connection.H2Connection()
    client.initiate_connection()
    client.send_headers(1, [(":method", "GET"), (":path", "/"), (":scheme", "http"),
                            (":authority", "x")], end_stream=True)
    got = b""
    with socket.create_connection(("127.0.0.1", port), 10) as sock:
        sock.sendall(client.data_to_send())
        try:
            while chunk := sock.recv(65536):
                got += chunk
        except ConnectionResetError:
            return got, "RST"
    return got, "FIN"


@pytest.mark.parametrize("how", ["FIN", "RST"])
def test_upstream_closing_mid_stream_ends_the_client_connection_after_what_was_sent(tmp_path, docroot, how):
    # A reset is not passed on as a reset: that would throw away what the client has not read
    # yet (in the proxy's buffers and in the client's own receive buffer). The client gets
    # every byte, then FIN; the proxy says the upstream reset.
    with ThreadServer(_half_response_then(how)) as upstream, proxy(tmp_path, f"127.0.0.1:{upstream.port}") as p:
        got, ended = _raw_client_request(p.port)
        assert ended == "FIN"
        assert b"partial " in got
        p.wait_for(lambda r: any(f["type"] == "DATA" and f["from"] == "server" for f in r.frames()))
        if how == "RST":
            p.wait_for(lambda r: "warning proxy.upstream-reset: the upstream server reset the connection"
                       in r.stderr())
        again, _ = _raw_client_request(p.port)  # the proxy goes on serving
        assert b"partial " in again
    assert stopped_cleanly(p)


def test_client_resetting_a_stream_is_relayed_and_shown_and_the_connection_goes_on(tmp_path, docroot):
    with nghttpd(docroot) as port, proxy(tmp_path, f"127.0.0.1:{port}") as p:
        client = h2.connection.H2Connection()
        client.initiate_connection()
        headers = [(":method", "GET"), (":path", "/file.bin"), (":scheme", "http"), (":authority", "x")]
        client.send_headers(1, headers, end_stream=True)
        client.reset_stream(1, h2.errors.ErrorCodes.CANCEL)
        client.send_headers(3, headers, end_stream=True)
        body = b""
        done = False
        with socket.create_connection(("127.0.0.1", p.port), 10) as sock:
            sock.sendall(client.data_to_send())
            while not done:
                data = sock.recv(65536)
                assert data, "connection closed before stream 3 ended"
                for event in client.receive_data(data):
                    if isinstance(event, h2.events.DataReceived) and event.stream_id == 3:
                        body += event.data
                        client.acknowledge_received_data(event.flow_controlled_length, 3)
                    if isinstance(event, h2.events.StreamEnded) and event.stream_id == 3:
                        done = True
                sock.sendall(client.data_to_send())
        assert md5(body) == md5((docroot / "file.bin").read_bytes())
        p.wait_for(lambda r: any(f["type"] == "RST_STREAM" for f in r.frames())
                   and any(f["stream_id"] == 3 and "END_STREAM" in f["flag_names"] for f in r.frames()))
        rst = next(f for f in p.frames() if f["type"] == "RST_STREAM")
    assert rst["from"] == "client" and rst["stream_id"] == 1


def test_client_resetting_the_connection_resets_the_upstream_leg(tmp_path):
    upstream_saw = []

    def handler(conn: socket.socket) -> None:
        try:
            while conn.recv(65536):
                pass
            upstream_saw.append("FIN")
        except ConnectionResetError:
            upstream_saw.append("RST")

    with ThreadServer(handler) as upstream, proxy(tmp_path, f"127.0.0.1:{upstream.port}") as p:
        sock = socket.create_connection(("127.0.0.1", p.port), 10)
        sock.sendall(PREFACE)
        time.sleep(0.2)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        p.wait_for(lambda r: "conn 0: warning proxy.client-reset: the client reset the connection" in r.stderr())
        deadline = time.monotonic() + 10
        while not upstream_saw and time.monotonic() < deadline:
            time.sleep(0.02)
    assert upstream_saw == ["RST"]


def test_garbage_instead_of_a_preface_is_shown_and_other_connections_are_served(tmp_path, docroot):
    with nghttpd(docroot) as port, proxy(tmp_path, f"127.0.0.1:{port}") as p:
        with socket.create_connection(("127.0.0.1", p.port), 10) as sock:
            sock.sendall(b"\x16\x03\x01 this is not HTTP at all \x00\x01\x02" * 3)
            sock.settimeout(10)
            try:
                while sock.recv(65536):
                    pass
            except OSError:
                pass
        _curl_ok(p, docroot)
        # The garbage is said either way, in the order the proxy saw the two sides: nghttpd sends its
        # SETTINGS as soon as the proxy connects, and when they come before the client's bytes
        # (a loaded machine) the connection is HTTP/2 from the server's preface, with a client that
        # did not start with one; else neither side's first bytes are HTTP.
        p.wait_for(lambda r: "conn 0: warning proxy.not-http: the client's first bytes are neither the HTTP/2 "
                   "preface nor HTTP/1.1" in r.stderr() or
                   "conn 0: error h2.preface: the client did not start with the connection preface" in r.stderr())
        p.wait_for(lambda r: any(f.get("role") == "response" for f in r.frames()))
    assert stopped_cleanly(p)


def test_decoding_that_falls_behind_pauses_with_a_notice_and_the_relay_loses_nothing(tmp_path, docroot):
    big = docroot / "huge.bin"
    big.write_bytes(os.urandom(24 * 1024 * 1024))
    record = tmp_path / "all.pcapng"
    with nghttpd(docroot) as port, \
            proxy(tmp_path, f"127.0.0.1:{port}", "--record", str(record),
                  env={"H2INSPECT_DECODE_BACKLOG": str(256 * 1024)}) as p:
        got = run(["curl", "-sS", "--http2-prior-knowledge", f"{p.url}/huge.bin"])
        assert got.returncode == 0, got.stderr
        assert md5(got.stdout) == md5(big.read_bytes())
        p.wait_for(lambda r: "conn 0: warning proxy.decoding-paused: decoding of this connection paused"
                   in r.stderr())
        p.wait_for(lambda r: "conn 0: warning proxy.decoding-resumed: decoding of this connection resumes"
                   in r.stderr())
        _curl_ok(p, docroot)
        p.wait_for(lambda r: any(f["conn"] == 1 and f.get("role") == "response" for f in r.frames()))
        assert p.stop() == 0
    # The recording kept every byte: decoding it afterwards sees the whole body.
    out = run([sys.executable, "-m", "inspector", "dump", str(record), "--format", "jsonl"],
              cwd=Path(__file__).parent.parent).stdout.decode()
    frames = [json.loads(line) for line in out.splitlines()]
    first_conn = [f for f in frames if f["conn"] == 0 and f["type"] == "DATA" and f["from"] == "server"]
    assert sum(f["length"] for f in first_conn) == big.stat().st_size
