"""One connection's trouble stays its own: a client feeding the decoder hostile bytes does not
stall another connection, and Ctrl-C stops the proxy without decoding what decoding still owes
(how fast: bench/bench_proxy_isolation.py and bench/bench_proxy_stop.py)."""

from __future__ import annotations

import os
import re
import signal
import socket

import pytest
from proxykit import (
    MIB,
    GarbageClient,
    ThreadServer,
    garbage_sink_else,
    nghttpd,
    proxy,
    require,
    run,
    sink,
    stopped_cleanly,
    timed_download,
)

from inspector.http2.frames import CLIENT_PREFACE

pytestmark = [pytest.mark.timeout(180), pytest.mark.usefixtures("peers")]

DOWNLOAD = int(os.environ.get("H2INSPECT_DOWNLOAD_MIB", "50")) * MIB


@pytest.mark.parametrize("fill", [0x00, 0xFF])
def test_a_client_sending_16_mib_of_garbage_does_not_stall_a_download_beside_it(tmp_path, fill):
    """The decoder's worst input beside a 50 MB download: the download completes, every byte as
    sent, and a small request is answered after it. Before decoding was kept from starving
    the relay, the download got no byte in 240 s (curl's 120 s here fails it). How much slower it
    is beside the garbage than alone (issue 20: under 2x) is bench/bench_proxy_isolation.py's
    figure: a time, which a shared machine makes a coin toss in a test."""
    docroot = tmp_path / "www"
    docroot.mkdir()
    (docroot / "big.bin").write_bytes(os.urandom(DOWNLOAD))
    with nghttpd(docroot) as port, ThreadServer(garbage_sink_else(port)) as upstream, \
            proxy(tmp_path, f"127.0.0.1:{upstream.port}") as p:
        with GarbageClient(p.port, fill) as bad:
            beside = timed_download(p, docroot)
            during = bad.thread.is_alive()
        small = run(["curl", "-sS", "-o", os.devnull, "--http2-prior-knowledge", f"{p.url}/big.bin",
                     "-r", "0-999"], timeout=30)
        assert small.returncode == 0
        # (Whether decoding that connection is given up, as too costly, depends on the decoder's
        # speed on such bytes: not asserted. The relay's speed beside it is the bench's.)
    print(f"50 MB download beside the garbage client {beside:.2f} s (it sent {bad.sent / MIB:.1f} MiB, "
          f"{'still sending' if during else 'done'} when the download ended)")
    assert bad.sent > MIB
    assert stopped_cleanly(p)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_during_a_decode_backlog_stops_within_a_second_with_the_recording_whole(tmp_path, sig):
    require("tshark")
    record = tmp_path / "backlog.pcapng"
    # Many tiny frames: cheap to relay, dear to decode, so decoding falls far behind.
    ping = b"\x00\x00\x08\x06\x00\x00\x00\x00\x00" + b"12345678"
    burst = CLIENT_PREFACE + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" + ping * (24 * MIB // len(ping))
    with ThreadServer(sink) as upstream, \
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
