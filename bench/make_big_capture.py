#!/usr/bin/env python3
"""Make bench/big.pcap: h2load against nghttpd on loopback, about 600,000 HTTP/2
frames and 400,000 header blocks (200,000 requests, each a HEADERS from the
client and HEADERS + one DATA from the server). Run as root; reuses an existing
capture unless --force. The port goes to bench/big.port for the other scripts."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "captures"))
from make_captures import capture, free_port, nghttpd  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--force", action="store_true", help="make it again even if it exists")
    parser.add_argument("--requests", type=int, default=200_000)
    args = parser.parse_args()
    path, port_file = HERE / "big.pcap", HERE / "big.port"
    if path.exists() and port_file.exists() and not args.force:
        print(f"{path} exists (use --force to make it again)")
        return 0
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "small.txt").write_text("ok")
        with nghttpd(Path(tmp), port), capture(path, port, bulk=True):
            out = subprocess.run(["h2load", "-n", str(args.requests), "-c", "4", "-m", "10",
                                  f"http://127.0.0.1:{port}/small.txt"], capture_output=True, text=True,
                                 check=True).stdout
            time.sleep(1)
    print(next(line for line in out.splitlines() if line.startswith("requests:")))
    port_file.write_text(f"{port}\n")
    types = subprocess.run(["tshark", "-n", "-r", str(path), "-d", f"tcp.port=={port},http2", "-T", "fields",
                            "-e", "http2.type", "-E", "occurrence=a"], capture_output=True, text=True,
                           check=True).stdout.replace("\n", ",").split(",")
    frames = [t for t in types if t]
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB, {len(frames)} HTTP/2 frames, "
          f"{frames.count('1')} header blocks")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
