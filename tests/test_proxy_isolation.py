"""One connection's trouble stays its own: a client feeding the decoder hostile bytes does not
slow another connection down, and Ctrl-C stops the proxy at once whatever decoding still owes."""

from __future__ import annotations

import os
import re
import signal
import socket
import struct
import threading
import time
from pathlib import Path

import pytest
from proxykit import ThreadServer, md5, nghttpd, proxy, require, run, stopped_cleanly

pytestmark = [pytest.mark.timeout(180), pytest.mark.usefixtures("peers")]

MIB = 1 << 20
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DOWNLOAD = int(os.environ.get("H2INSPECT_DOWNLOAD_MIB", "50")) * MIB


def _download(p, docroot: Path) -> float:  # type: ignore[no-untyped-def]
    """curl fetches the big file through the proxy; seconds it took."""
    began = time.monotonic()
    got = run(["curl", "-sS", "--http2-prior-knowledge", f"{p.url}/big.bin"], timeout=120)
    took = time.monotonic() - began
    assert got.returncode == 0, got.stderr
    assert md5(got.stdout) == md5((docroot / "big.bin").read_bytes())
    return took


class GarbageClient:
    """Sends the preface, a frame header of length 2^24-1, then 16 MiB of `fill`, as fast as
    the proxy takes it (the upstream closes on it; the client stops when its writes fail)."""

    def __init__(self, port: int, fill: int) -> None:
        self.port = port
        self.fill = fill
        self.sent = 0
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        header = struct.pack(">I", (1 << 24) - 1)[1:] + b"\x00\x00\x00\x00\x00\x01"
        block = bytes([self.fill]) * (1 << 16)
        try:
            with socket.create_connection(("127.0.0.1", self.port), 10) as sock:
                sock.sendall(PREFACE + header)
                for _ in range(256):  # 16 MiB
                    sock.sendall(block)
                    self.sent += len(block)
                    if self.sent >= 1 * MIB:
                        self.started.set()
        except OSError:
            pass
        self.started.set()

    def __enter__(self) -> GarbageClient:
        self.thread.start()
        assert self.started.wait(30)
        return self

    def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
        self.thread.join(30)


def _sink(conn: socket.socket) -> None:
    while conn.recv(1 << 20):
        pass


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while chunk := src.recv(1 << 18):
            dst.sendall(chunk)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _garbage_sink_else_nghttpd(port: int):  # type: ignore[no-untyped-def]
    """An upstream that takes in everything the garbage client sends (nghttpd would close on
    its first frame header, and the proxy with it, sparing the decoder most of it) and hands
    every other connection to nghttpd."""
    def handler(conn: socket.socket) -> None:
        first = b""
        while len(first) < len(PREFACE) + 9:
            chunk = conn.recv(65536)
            if not chunk:
                return
            first += chunk
        if first[len(PREFACE):len(PREFACE) + 3] == b"\xff\xff\xff":
            _sink(conn)
            return
        with socket.create_connection(("127.0.0.1", port), 10) as server:
            server.sendall(first)
            back = threading.Thread(target=_pipe, args=(server, conn), daemon=True)
            back.start()
            _pipe(conn, server)
            back.join(60)
    return handler


@pytest.mark.parametrize("fill", [0x00, 0xFF])
def test_a_client_sending_16_mib_of_garbage_does_not_slow_a_download_beside_it(tmp_path, fill):
    docroot = tmp_path / "www"
    docroot.mkdir()
    (docroot / "big.bin").write_bytes(os.urandom(DOWNLOAD))
    with nghttpd(docroot) as port, ThreadServer(_garbage_sink_else_nghttpd(port)) as upstream, \
            proxy(tmp_path, f"127.0.0.1:{upstream.port}") as p:
        # Alone: the download's own time, taken twice (the slower counts: the machine is shared).
        alone = max(_download(p, docroot), _download(p, docroot))
        with GarbageClient(p.port, fill) as bad:
            beside = _download(p, docroot)
        # And the proxy still answers small requests at once.
        small = run(["curl", "-sS", "-o", os.devnull, "--http2-prior-knowledge", f"{p.url}/big.bin",
                     "-r", "0-999"], timeout=30)
        assert small.returncode == 0
        # (Whether decoding that connection is given up, as too costly, depends on the decoder's
        # speed on such bytes: not asserted. The relay's speed beside it is.)
    print(f"50 MB download alone {alone:.2f} s, beside the garbage client {beside:.2f} s "
          f"(it sent {bad.sent / MIB:.1f} MiB)")
    assert beside < 2 * alone, (alone, beside)
    assert stopped_cleanly(p)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_during_a_decode_backlog_stops_within_a_second_with_the_recording_whole(tmp_path, sig):
    require("tshark")
    record = tmp_path / "backlog.pcapng"
    # Many tiny frames: cheap to relay, dear to decode, so decoding falls far behind.
    ping = b"\x00\x00\x08\x06\x00\x00\x00\x00\x00" + b"12345678"
    burst = PREFACE + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" + ping * (24 * MIB // len(ping))
    with ThreadServer(_sink) as upstream, \
            proxy(tmp_path, f"127.0.0.1:{upstream.port}", "--record", str(record), fmt="text") as p:
        with socket.create_connection(("127.0.0.1", p.port), 10) as sock:
            sock.sendall(burst)
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(30)
            assert sock.recv(10) == b""  # the proxy passed the FIN on, and the upstream closed
        p.proc.send_signal(sig)
        p.proc.wait(30)  # a guard against the old hang (over 120 s), not a measure: see below
    err = p.stderr()
    print(f"{sig.name}: {err.splitlines()[-1]}")
    assert p.proc.returncode == 0 and "Traceback" not in err
    # It stopped without decoding the backlog first, and said how much it left: what keeps the
    # stop within a second whatever the backlog. The second itself is measured by
    # bench/bench_proxy_stop.py (a timed assertion would fail on a loaded machine, not on a bug).
    left = re.search(r"stopped with (\d+) bytes on 1 connection not decoded; the recording", err.splitlines()[-1])
    assert left and 0 < int(left.group(1)) <= len(burst), err
    tcp_len = run(["tshark", "-n", "-r", str(record), "-T", "fields", "-e", "tcp.len", "-e", "tcp.srcport",
                   "-Y", f"tcp.dstport == {p.port}"], timeout=120)
    assert tcp_len.returncode == 0, tcp_len.stderr
    sent = sum(int(line.split()[0]) for line in tcp_len.stdout.decode().splitlines() if line.strip())
    assert sent == len(burst)  # every byte the client sent is in the recording
