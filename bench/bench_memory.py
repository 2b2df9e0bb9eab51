#!/usr/bin/env python3
"""Peak memory (max RSS) and wall time of h2inspect on hostile captures built at full size.

Cases (built by tests/memkit.py into a temporary folder, or --keep DIR):
an HPACK table of 2^32-1 bytes filled with 20,000 entries (`dump --format jsonl`);
one header block of a HEADERS and 1,000,000 CONTINUATIONs (`dump --format jsonl`);
80,000 calls with a unique `x-request-id` each, and the same calls without it
(`dump --format jsonl`; the issue asks the first within 1.5x of the second);
raw protobuf nested 900 deep around a 4 MiB field (`rpcs -v`); a 1 MiB gzip
message that inflates to 1 GiB (`rpcs -v`). Target: each under 20 s and 400 MB.

    python bench/bench_memory.py [--only NAME]... [--timeout S] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
import memkit  # noqa: E402

MiB = 1 << 20


@dataclass(frozen=True)
class Case:
    """One hostile input and the command run on it."""

    name: str
    events: Callable[[], Iterable[memkit.Event]]
    command: tuple[str, ...]  # h2inspect arguments after the capture's path


CASES = (
    Case("hpack-table-2^32-20k-entries", lambda: memkit.table_filled(20_000), ("dump", "--format", "jsonl")),
    Case("1M-continuations-one-block", lambda: memkit.continuation_flood(1_000_000),
         ("dump", "--format", "jsonl")),
    Case("80k-calls-unique-request-id", lambda: memkit.calls_with_request_ids(80_000, unique=True),
         ("dump", "--format", "jsonl")),
    Case("80k-calls-no-request-id", lambda: memkit.calls_with_request_ids(80_000, unique=False),
         ("dump", "--format", "jsonl")),
    Case("protobuf-900-deep-4MiB", lambda: memkit.grpc_call(memkit.grpc_message(
        memkit.nested_protobuf(900, bytes(range(256)) * (4 * MiB // 256)))), ("rpcs", "-v")),
    Case("gzip-1MiB-to-1GiB", lambda: memkit.grpc_call(
        memkit.grpc_message(memkit.gzip_bomb(1 << 30), compressed=True), encoding="gzip"), ("rpcs", "-v")),
)


def run(cmd: list[str], timeout: float) -> tuple[float, float, int, int, str]:
    """(wall seconds, CPU seconds, peak RSS in KB, exit status, last stderr line) of one child process.

    os.wait4 gives this child's own rusage, so one case's peak never hides another's."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)  # polling a child we wait for, not a fixed delay in a test
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    cpu = usage.ru_utime + usage.ru_stime  # steadier than wall time on a shared machine
    return seconds, cpu, usage.ru_maxrss, proc.returncode, lines[-1][:120] if lines else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[], help="run the cases whose name contains this")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before a run is killed")
    parser.add_argument("--keep", help="build the captures in this folder and keep them")
    args = parser.parse_args()
    cases = [c for c in CASES if not args.only or any(o in c.name for o in args.only)]
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_memory."))
    folder.mkdir(parents=True, exist_ok=True)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line), "?")
    print(f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    print(f"{'case':<30} {'command':<22} {'capture':>9} {'seconds':>8} {'CPU s':>7} {'peak RSS':>9}  exit")
    peaks: dict[str, int] = {}
    for case in cases:
        path = folder / f"{case.name}.pcap"
        if not path.exists():
            memkit.write_pcap(str(path), case.events())
        cmd = [sys.executable, "-m", "inspector", case.command[0], str(path), *case.command[1:]]
        seconds, cpu, peak, status, last = run(cmd, args.timeout)
        peaks[case.name] = peak
        over = " (killed at the timeout)" if seconds >= args.timeout else ""
        print(f"{case.name:<30} {' '.join(case.command):<22} {path.stat().st_size / MiB:7.1f}MB "
              f"{seconds:8.2f} {cpu:7.2f} {peak / 1024:7.0f}MB  {status}{over}  {last}", flush=True)
        if not args.keep:
            path.unlink()
    unique, plain = peaks.get("80k-calls-unique-request-id"), peaks.get("80k-calls-no-request-id")
    if unique and plain:
        print(f"unique request ids: {unique / plain:.2f}x the memory without them (target <= 1.5x)")
    if not args.keep:
        folder.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
