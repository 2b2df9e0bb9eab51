#!/usr/bin/env python3
"""`h2inspect dump --format jsonl` against `tshark -T fields` on bench/big.pcap, in one run.

Reports wall time, HTTP/2 frames per second and peak memory (max RSS) of each,
and the ratios. Target: h2inspect at least 3.5x tshark's frames per second with
the full model built, and under a quarter of its peak memory.
Make the capture first: `python bench/make_big_capture.py`."""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(cmd: list[str], count) -> tuple[float, int, int]:
    """(seconds, frames, peak RSS in KB) of one run, each tool in a fresh child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        raise SystemExit(f"cannot start {cmd[0]}: {exc.strerror}") from None
    frames = count(proc.stdout)
    err = proc.stderr.read().decode(errors="replace").strip().splitlines()
    proc.wait()
    seconds = time.perf_counter() - start
    if proc.returncode:
        last = err[-1] if err else ""
        raise SystemExit(f"exit status {proc.returncode}: {last[:200]}")
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


def one(cmd, count) -> tuple[float, int, int] | str:
    """One timed run, or the reason it failed (a missing tool is reported, not a crash)."""
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: measure each tool in its own
    # python process so one tool's peak never hides the other's.
    code = ("import sys, bench_dump as b; s, f, m = b.measure(sys.argv[2:], getattr(b, sys.argv[1])); "
            "print(s, f, m)")
    proc = subprocess.run([sys.executable, "-c", code, count.__name__, *cmd], capture_output=True, text=True,
                          cwd=HERE)
    out = proc.stdout.split()
    if proc.returncode or len(out) != 3:
        lines = proc.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit status {proc.returncode}"
    return float(out[0]), int(out[1]), int(out[2])


def h2inspect_command() -> list[str] | None:
    """`python -m inspector` with this interpreter if importable (no pyenv shim in the timing),
    else the `h2inspect` console script on PATH, else None."""
    if importlib.util.find_spec("inspector") is not None:
        return [sys.executable, "-m", "inspector"]
    script = shutil.which("h2inspect")
    return [script] if script else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--capture", default=str(HERE / "big.pcap"))
    parser.add_argument("--repeat", type=int, default=1, help="runs of each tool; the best is reported")
    args = parser.parse_args()
    if not os.path.exists(args.capture):
        print(f"bench_dump: {args.capture} is missing; run python bench/make_big_capture.py", file=sys.stderr)
        return 2
    port_file = HERE / "big.port"
    if not port_file.exists():
        print(f"bench_dump: {port_file} is missing; run python bench/make_big_capture.py", file=sys.stderr)
        return 2
    port = port_file.read_text().strip()
    base = h2inspect_command()
    ours = base and [*base, "dump", args.capture, "--format", "jsonl", "--port", port]
    theirs = shutil.which("tshark") and [
        "tshark", "-n", "-r", args.capture, "-d", f"tcp.port=={port},http2", "-T", "fields",
        "-e", "frame.number", "-e", "http2.streamid", "-e", "http2.type", "-e", "http2.flags",
        "-e", "http2.length", "-E", "occurrence=a"]
    results: dict[str, tuple[float, int, int] | str] = {}
    tools = (("h2inspect", ours, count_lines, "pip install -e ."),
             ("tshark", theirs, count_tshark_frames, "apt-get install tshark"))
    for name, cmd, count, install in tools:
        if not cmd:
            results[name] = f"not installed ({install})"
            continue
        runs = [one(cmd, count) for _ in range(max(1, args.repeat))]
        good = [r for r in runs if not isinstance(r, str)]
        results[name] = min(good) if good else runs[-1]
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line), "?")
    print(f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    print(f"capture: {args.capture} ({os.path.getsize(args.capture) / 1e6:.1f} MB), port {port}, "
          f"best of {max(1, args.repeat)}")
    print(f"{'tool':<10} {'seconds':>8} {'frames':>9} {'frames/s':>10} {'peak RSS':>10}")
    for name, result in results.items():
        if isinstance(result, str):
            print(f"{name:<10} FAILED: {result}")
            continue
        seconds, frames, peak = result
        print(f"{name:<10} {seconds:8.2f} {frames:9d} {frames / seconds:10.0f} {peak / 1024:8.0f} MB")
    mine, ref = results["h2inspect"], results["tshark"]
    if isinstance(mine, str) or isinstance(ref, str):
        print("no ratios: a tool did not run")
        return 1
    (s1, f1, m1), (s2, f2, m2) = mine, ref
    if f1 != f2:
        print(f"warning: frame counts differ: h2inspect {f1}, tshark {f2}")
    print(f"speed: h2inspect is {(f1 / s1) / (f2 / s2):.2f}x tshark (target >= 3.5x)")
    print(f"memory: h2inspect peaks at {m1 / m2:.2f} of tshark (target < 0.25)")
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
