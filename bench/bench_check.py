#!/usr/bin/env python3
"""`h2inspect check` (every rule on) against `dump --format jsonl` and tshark on bench/big.pcap,
in one run; then `check` on a flood of a million frames, to show findings stay grouped.

Reports wall time, frames per second and peak memory (max RSS) of each, and the ratios.
Targets: check at least 3x tshark's frames per second and within 1.3x of dump's time;
peak memory under a quarter of tshark's; the flood gives a handful of findings, not one per frame.
Make the capture first: `python bench/make_big_capture.py`."""

from __future__ import annotations

import argparse
import os
import platform
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_dump as B  # noqa: E402


def count_check_frames(stream) -> int:
    """check prints findings, not frames: the frame count is the capture's (told by the caller)."""
    for _ in iter(lambda: stream.read(1 << 20), b""):
        pass
    return 0


def flood_capture(path: Path, frames: int) -> None:
    """A pcap of one h2c connection: the preface, then `frames` PINGs the server never answers."""
    def packet(src: int, sport: int, dport: int, seq: int, flags: int, payload: bytes) -> bytes:
        tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0, 64, 6, 0,
                         bytes([127, 0, 0, src]), bytes([127, 0, 0, 3 - src]))
        return ip + tcp + payload

    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 101))  # LINKTYPE_RAW
        seq_c, seq_s, t = 1000, 5000, 1_700_000_000

        def write(src: int, flags: int, payload: bytes) -> None:
            nonlocal seq_c, seq_s, t
            t += 1
            sport, dport, seq = (40000, 8080, seq_c) if src == 1 else (8080, 40000, seq_s)
            data = packet(src, sport, dport, seq, flags, payload)
            out.write(struct.pack("<IIII", t // 1000, (t % 1000) * 1000, len(data), len(data)) + data)
            advance = len(payload) + (1 if flags & 0x02 else 0)
            if src == 1:
                seq_c += advance
            else:
                seq_s += advance

        write(1, 0x02, b"")
        write(2, 0x12, b"")
        write(1, 0x10, b"")
        settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
        write(1, 0x18, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + settings)
        write(2, 0x18, settings + b"\x00\x00\x00\x04\x01\x00\x00\x00\x00")
        ping = b"\x00\x00\x08\x06\x00\x00\x00\x00\x00" + bytes(8)
        per_segment = 3000  # 51 kB a segment: within an IPv4 total length
        for start in range(0, frames, per_segment):
            write(1, 0x18, ping * min(per_segment, frames - start))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--capture", default=str(HERE / "big.pcap"))
    parser.add_argument("--repeat", type=int, default=1, help="runs of each tool; the best is reported")
    parser.add_argument("--flood", type=int, default=1_000_000, help="frames in the flood capture")
    args = parser.parse_args()
    port_file = HERE / "big.port"
    if not os.path.exists(args.capture) or not port_file.exists():
        print("bench_check: bench/big.pcap is missing; run python bench/make_big_capture.py", file=sys.stderr)
        return 2
    port = port_file.read_text().strip()
    base = B.h2inspect_command()
    if base is None:
        print("bench_check: h2inspect is not importable", file=sys.stderr)
        return 2
    tools = {
        "check": ([*base, "check", args.capture, "--port", port], count_check_frames),
        "dump": ([*base, "dump", args.capture, "--format", "jsonl", "--port", port], B.count_lines),
        "tshark": (["tshark", "-n", "-r", args.capture, "-d", f"tcp.port=={port},http2", "-T", "fields",
                    "-e", "frame.number", "-e", "http2.streamid", "-e", "http2.type", "-e", "http2.flags",
                    "-e", "http2.length", "-E", "occurrence=a"], B.count_tshark_frames),
    }
    results = {}
    for _ in range(max(1, args.repeat)):
        for name, (cmd, count) in tools.items():  # interleaved, so a busy moment hits each tool alike
            got = one(cmd, count)
            if isinstance(got, str):
                print(f"{name} FAILED: {got}")
                return 1
            if name not in results or got[0] < results[name][0]:
                results[name] = got
    frames = results["dump"][1]
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line), "?")
    print(f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    print(f"capture: {args.capture} ({os.path.getsize(args.capture) / 1e6:.1f} MB), {frames} frames, "
          f"best of {max(1, args.repeat)}")
    print(f"{'tool':<8} {'seconds':>8} {'frames/s':>10} {'peak RSS':>10}")
    for name, (seconds, _, peak) in results.items():
        print(f"{name:<8} {seconds:8.2f} {frames / seconds:10.0f} {peak / 1024:8.0f} MB")
    (check_s, _, check_m), (dump_s, _, _), (tshark_s, _, tshark_m) = results["check"], results["dump"], \
        results["tshark"]
    print(f"speed: check is {tshark_s / check_s:.2f}x tshark (target >= 3x), {check_s / dump_s:.2f} of dump's "
          "time (target <= 1.3)")
    print(f"memory: check peaks at {check_m / tshark_m:.2f} of tshark (target < 0.25)")
    with tempfile.TemporaryDirectory() as tmp:
        flood = Path(tmp) / "flood.pcap"
        flood_capture(flood, args.flood)
        got = one([*base, "check", str(flood), "--format", "jsonl", "--severity", "info"], B.count_lines)
        dumped = one([*base, "dump", str(flood), "--format", "jsonl"], B.count_lines)
        if isinstance(got, str) or isinstance(dumped, str):
            print(f"flood FAILED: {got if isinstance(got, str) else dumped}")
            return 1
        out = subprocess.run([*base, "check", str(flood), "--severity", "info"], capture_output=True,
                             text=True).stdout.splitlines()
        print(f"flood: {args.flood} PINGs never answered ({flood.stat().st_size / 1e6:.1f} MB): check gives "
              f"{got[1]} findings in {got[0]:.2f} s, peak RSS {got[2] / 1024:.0f} MB "
              f"(dump --format jsonl: {dumped[0]:.2f} s, {dumped[2] / 1024:.0f} MB)")
        for line in out:
            print(f"  {line[:160]}")
    return 0


def measure(cmd: list[str], count) -> tuple[float, int, int]:
    """bench_dump.measure, where exit status 1 (check found something) is not a failure."""
    import resource
    import time

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    frames = count(proc.stdout)
    err = proc.stderr.read().decode(errors="replace").strip().splitlines()
    proc.wait()
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"exit status {proc.returncode}: {(err[-1] if err else '')[:200]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, frames, max(peak, before)


def one(cmd, count):
    """One timed run in its own python process (so one tool's peak never hides another's)."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import bench_dump as b, bench_check as c; "
            "s, f, m = c.measure(sys.argv[3:], getattr(c, sys.argv[2], None) or getattr(b, sys.argv[2])); "
            "print(s, f, m)")
    proc = subprocess.run([sys.executable, "-c", code, str(HERE), count.__name__, *cmd], capture_output=True,
                          text=True, cwd=HERE)
    out = proc.stdout.split()
    if len(out) != 3:
        lines = proc.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit status {proc.returncode}"
    return float(out[0]), int(out[1]), int(out[2])


if __name__ == "__main__":
    raise SystemExit(main())
