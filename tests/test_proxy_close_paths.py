"""Every way a leg can end while the other still talks: no write to a closed transport, no
traceback, the other side told, and on an upstream reset every byte the proxy read delivered."""

from __future__ import annotations

import re
import socket
import struct
import threading

import pytest
from proxykit import Pace, PatternStream, ThreadServer, proxy, stopped_cleanly

pytestmark = [pytest.mark.timeout(180), pytest.mark.usefixtures("peers")]

MIB = 1 << 20
RUNS = 20
_LINGER_RESET = struct.pack("ii", 1, 0)


def _endless_sender(conn: socket.socket) -> None:
    """An upstream that answers with bytes until its peer is gone (at most 64 MiB)."""
    for chunk in PatternStream(64 * MIB).chunks(1 << 16):
        conn.sendall(chunk)


def _half_close_then_go(port: int, reset: bool) -> int:
    """Connect, send, half-close, read until the upstream's bytes flow, then go away
    (close with unread data, which the kernel turns into a RST; or an explicit RST)."""
    sock = socket.create_connection(("127.0.0.1", port), 10)
    sock.settimeout(10)
    sock.sendall(b"a request the upstream ignores\n")
    sock.shutdown(socket.SHUT_WR)
    got = 0
    while got < 256 << 10:  # the upstream's answer is flowing through the proxy
        chunk = sock.recv(65536)
        assert chunk, "the proxy closed before the upstream's bytes came"
        got += len(chunk)
    if reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    sock.close()
    return got


def _still_serves(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), 10) as sock:
        sock.settimeout(10)
        assert len(sock.recv(65536)) > 0


def test_client_half_closing_then_going_away_while_the_upstream_sends_twenty_times(tmp_path):
    with ThreadServer(_endless_sender) as upstream, proxy(tmp_path, f"127.0.0.1:{upstream.port}") as p:
        for run in range(RUNS):
            _half_close_then_go(p.port, reset=run % 2 == 1)
        # Every one of them ended: the proxy saw each client go and passed it on.
        p.wait_for(lambda r: r.stderr().count("the client reset the connection") >= RUNS)
        _still_serves(p.port)
    err = p.stderr()
    assert "Traceback" not in err and "unable to perform operation" not in err, err
    assert stopped_cleanly(p)


def test_client_resetting_while_the_upstream_sends_resets_the_upstream(tmp_path):
    upstream_saw: list[str] = []
    ended = threading.Event()

    def sender(conn: socket.socket) -> None:
        try:
            _endless_sender(conn)
            upstream_saw.append("sent all")
        except (ConnectionResetError, BrokenPipeError):
            upstream_saw.append("reset")
        ended.set()

    with ThreadServer(sender) as upstream, proxy(tmp_path, f"127.0.0.1:{upstream.port}") as p:
        _half_close_then_go(p.port, reset=True)
        assert ended.wait(20)
    assert upstream_saw == ["reset"]
    assert "Traceback" not in p.stderr()


def test_upstream_reset_mid_response_reaches_the_client_after_every_byte_the_proxy_read(tmp_path):
    size = 20 * MIB
    sent = [0]

    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size

    def resetting_sender(conn: socket.socket) -> None:
        # Sends as much of the body as goes into the buffers at once, then resets.
        conn.sendall(head)
        conn.settimeout(0.5)
        try:
            for chunk in PatternStream(size).chunks(1 << 16):
                conn.sendall(chunk)
                sent[0] += len(chunk)
        except TimeoutError:
            pass  # the slow client holds everything back: buffers are full
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)

    results = []
    with ThreadServer(resetting_sender) as upstream, proxy(tmp_path, f"127.0.0.1:{upstream.port}") as p:
        for _ in range(3):
            received = 0
            with socket.create_connection(("127.0.0.1", p.port), 10) as sock:
                sock.settimeout(20)
                sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
                pace = Pace(16 * MIB)  # slower than the upstream: the proxy has bytes buffered for it
                try:
                    while chunk := sock.recv(65536):
                        received += len(chunk)
                        pace.after(received)
                except ConnectionResetError:
                    pass
            results.append((sent[0], received))
            sent[0] = 0
        p.wait_for(lambda r: r.stderr().count("upstream server reset the connection") >= 3)
        err = p.stderr()
    counts = [int(n) for n in re.findall(r"upstream server reset the connection \([^)]*\) after (\d+) bytes", err)]
    assert len(counts) == 3
    for (upstream_sent, client_got), proxy_read in zip(results, counts, strict=True):
        # The client has every byte the proxy read (the response head included); what the
        # upstream sent beyond that was thrown away by the kernel on the proxy's socket
        # when the RST came, before anyone could read it.
        assert client_got == proxy_read, (upstream_sent, proxy_read, client_got)
        assert proxy_read > 1 * MIB
        print(f"upstream sent {upstream_sent} body bytes, the proxy read {proxy_read}, the client got "
              f"{client_got}: lost by the kernel {upstream_sent + len(head) - proxy_read}")
    assert "Traceback" not in err
    assert stopped_cleanly(p)


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_fin_passed_to_an_upstream_whose_reset_is_not_yet_read_is_said_as_that_reset(tmp_path, loop):
    """The upstream resets while the proxy holds its reads back (the client reads nothing), so
    the RST waits unread; then the client half-closes, and passing its FIN on fails
    (shutdown(2): ENOTCONN; asyncio raises it in the client leg's callback, uvloop reports it
    on the upstream leg). It is the upstream's reset either way: said as one, and the client
    gets every byte the proxy read, then a FIN."""
    blocked = threading.Event()

    def fill_then_reset(conn: socket.socket) -> None:
        conn.settimeout(2.0)
        try:
            for chunk in PatternStream(256 * MIB).chunks(1 << 16):
                conn.sendall(chunk)
        except TimeoutError:
            pass  # every buffer on the way is full: the proxy reads no more from this side
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        conn.close()
        blocked.set()

    env = {"H2INSPECT_LOOP": "asyncio" if loop == "asyncio" else ""}
    with ThreadServer(fill_then_reset) as upstream, proxy(tmp_path, f"127.0.0.1:{upstream.port}", env=env) as p:
        with socket.create_connection(("127.0.0.1", p.port), 10) as sock:
            sock.settimeout(20)
            assert blocked.wait(60)
            sock.shutdown(socket.SHUT_WR)
            received = 0
            while chunk := sock.recv(1 << 20):  # a reset here would raise
                received += len(chunk)
        p.wait_for(lambda r: "upstream server reset" in r.stderr())
        err = p.stderr()
    said = re.findall(r"upstream server reset the connection \(([^)]*)\) after (\d+) bytes", err)
    assert [why for why, _ in said] == ["already reset when a FIN was passed on"], err
    assert received == int(said[0][1]) > 1 * MIB
    assert "client reset" not in err and "Traceback" not in err, err
    assert stopped_cleanly(p)
