#!/usr/bin/env python3
"""`h2inspect dump --format jsonl` against `tshark -T fields` on bench/big.pcap, in one run.

Reports wall time, HTTP/2 frames per second and peak memory (max RSS) of each,
and the ratios. Target: h2inspect at least 3x tshark's frames per second with
the full model built, and under a quarter of its peak memory.
Make the capture first: `python bench/make_big_capture.py`."""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(cmd: list[str], count) -> tuple[float, int, int]:
    """(seconds, frames, peak RSS in KB) of one run, each tool in a fresh child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    frames = count(proc.stdout)
    proc.wait()
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"bench_dump: {' '.join(cmd[:3])} failed with status {proc.returncode}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, frames, peak if peak > before else before


def count_lines(stream) -> int:
    return sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b""))


def count_tshark_frames(stream) -> int:
    total = 0
    for line in stream:
        types = line.rstrip(b"\n").split(b"\t")[2]
        if types:
            total += types.count(b",") + 1
    return total


def one(cmd, count) -> tuple[float, int, int]:
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: measure each tool in its own
    # python process so one tool's peak never hides the other's.
    code = ("import sys, bench_dump as b; s, f, m = b.measure(sys.argv[2:], getattr(b, sys.argv[1])); "
            "print(s, f, m)")
    out = subprocess.run([sys.executable, "-c", code, count.__name__, *cmd], capture_output=True, text=True,
                         cwd=HERE, check=True).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--capture", default=str(HERE / "big.pcap"))
    parser.add_argument("--repeat", type=int, default=1, help="runs of each tool; the best is reported")
    args = parser.parse_args()
    if not os.path.exists(args.capture):
        print(f"bench_dump: {args.capture} is missing; run python bench/make_big_capture.py", file=sys.stderr)
        return 2
    port = (HERE / "big.port").read_text().strip()
    ours = [sys.executable, "-m", "inspector", "dump", args.capture, "--format", "jsonl", "--port", port]
    theirs = ["tshark", "-n", "-r", args.capture, "-d", f"tcp.port=={port},http2", "-T", "fields",
              "-e", "frame.number", "-e", "http2.streamid", "-e", "http2.type", "-e", "http2.flags",
              "-e", "http2.length", "-E", "occurrence=a"]
    results = {}
    for name, cmd, count in (("h2inspect", ours, count_lines), ("tshark", theirs, count_tshark_frames)):
        runs = [one(cmd, count) for _ in range(args.repeat)]
        results[name] = min(runs)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line), "?")
    print(f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    print(f"capture: {args.capture} ({os.path.getsize(args.capture) / 1e6:.1f} MB)")
    print(f"{'tool':<10} {'seconds':>8} {'frames':>9} {'frames/s':>10} {'peak RSS':>10}")
    for name, (seconds, frames, peak) in results.items():
        print(f"{name:<10} {seconds:8.2f} {frames:9d} {frames / seconds:10.0f} {peak / 1024:8.0f} MB")
    (s1, f1, m1), (s2, f2, m2) = results["h2inspect"], results["tshark"]
    if f1 != f2:
        print(f"warning: frame counts differ: h2inspect {f1}, tshark {f2}")
    print(f"speed: h2inspect is {(f1 / s1) / (f2 / s2):.2f}x tshark (target >= 3x)")
    print(f"memory: h2inspect peaks at {m1 / m2:.2f} of tshark (target < 0.25)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
