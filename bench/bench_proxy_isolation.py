"""One bad client beside a download: how much slower the download is through the proxy.

    python bench/bench_proxy_isolation.py [--rounds 5] [--mib 50]

Issue 20's target: a client that sends the preface, a frame header of length 2^24-1 and then
16 MiB of 0x00 or 0xff (the decoder's worst input) slows a 50 MB download on another connection
by less than 2x. The test (tests/test_proxy_isolation.py) checks that the download completes
with every byte beside it; this script measures the slowdown, which a test cannot assert on a
shared machine. Each round, for each fill: the download through the proxy alone, then again
while the garbage client sends, through one proxy (headless, JSONL, decoding on) in front of
an upstream that sinks the garbage and hands other connections to nghttpd. Prints every round
and the median ratio of the download's time beside the garbage client to its time alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from proxykit import (  # noqa: E402  (the tests' own peers and garbage client: one copy)
    MIB,
    GarbageClient,
    ThreadServer,
    garbage_sink_else,
    nghttpd,
    proxy,
    require,
    timed_download,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mib", type=int, default=50, help="MiB of the download")
    args = parser.parse_args()
    require("nghttpd", "curl")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
          f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="h2i-isolation-") as tmp:
        folder = Path(tmp)
        docroot = folder / "www"
        docroot.mkdir()
        (docroot / "big.bin").write_bytes(os.urandom(args.mib * MIB))
        with nghttpd(docroot) as port, ThreadServer(garbage_sink_else(port)) as upstream, \
                proxy(folder, f"127.0.0.1:{upstream.port}") as p:
            for fill in (0x00, 0xFF):
                ratios = []
                for n in range(args.rounds):
                    alone = timed_download(p, docroot)
                    with GarbageClient(p.port, fill) as bad:
                        beside = timed_download(p, docroot)
                    ratios.append(beside / alone)
                    print(f"fill 0x{fill:02x} round {n + 1}: {args.mib} MB alone {alone:.2f} s, beside the garbage "
                          f"client {beside:.2f} s ({beside / alone:.2f}x; it sent {bad.sent / MIB:.1f} MiB)")
                median = statistics.median(ratios)
                print(f"fill 0x{fill:02x}: median {median:.2f}x, max {max(ratios):.2f}x (target: under 2x): "
                      f"{'met' if median < 2 else 'not met'}; load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
