"""Ctrl-C during a decode backlog: seconds from the signal to the end of the proxy process.

    python bench/bench_proxy_stop.py [--rounds 5] [--mib 24]

Issue 20's target: SIGINT and SIGTERM stop the proxy within a second whatever decoding still
owes, with the recording whole. The test (tests/test_proxy_isolation.py) checks what makes that
so (the stop does not decode the backlog first, and says what it left); this script measures the
second, which a test cannot assert on a shared machine. Each round: a headless proxy with
`--record` in front of a sink, a client that sends the preface and `--mib` MiB of PING frames
(cheap to relay, dear to decode, so decoding falls far behind) and half-closes, then the signal
as soon as the proxy has passed the FIN on. Prints each round's time and what the proxy said.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from proxykit import MIB, ThreadServer, proxy, sink  # noqa: E402  (the tests' own proxy runner: one copy)

from inspector.http2.frames import CLIENT_PREFACE  # noqa: E402

SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
PING = b"\x00\x00\x08\x06\x00\x00\x00\x00\x00" + b"12345678"


def one_stop(folder: Path, sig: signal.Signals, mib: int) -> tuple[float, str]:
    """One round: seconds from `sig` to the proxy's exit, and the last line it wrote."""
    burst = CLIENT_PREFACE + SETTINGS + PING * (mib * MIB // len(PING))
    with ThreadServer(sink) as upstream, \
            proxy(folder, f"127.0.0.1:{upstream.port}", "--record", str(folder / "stop.pcapng"),
                  fmt="text") as p:
        with socket.create_connection(("127.0.0.1", p.port), 10) as sock:
            sock.sendall(burst)
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(60)
            sock.recv(10)  # b"": the FIN went through the proxy and the sink closed
        began = time.monotonic()
        p.proc.send_signal(sig)
        p.proc.wait(120)
        took = time.monotonic() - began
    lines = p.stderr().splitlines()
    return took, lines[-1] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mib", type=int, default=24, help="MiB of PING frames the client sends")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
          f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for sig in (signal.SIGINT, signal.SIGTERM):
        times = []
        for n in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix="h2i-stop-") as tmp:
                took, said = one_stop(Path(tmp), sig, args.mib)
            times.append(took)
            left = re.search(r"stopped with (\d+) bytes", said)
            print(f"{sig.name} round {n + 1}: {took:.3f} s to exit; "
                  f"{int(left.group(1)) / MIB:.1f} MiB left undecoded" if left else said)
        print(f"{sig.name}: median {statistics.median(times):.3f} s, max {max(times):.3f} s "
              f"(target: under 1 s); load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
