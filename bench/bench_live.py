#!/usr/bin/env python3
"""Sniffing loopback under load: h2inspect beside tshark, both live on the same traffic, and
the two capture paths h2inspect could use (libpcap through tcpdump, scapy's live sockets).

Runs nghttpd on loopback and drives `h2load -n N -c 4 -m 10` against it (again and again
for `--seconds`, if given) while the tools capture `tcp port P` on lo:

  --against tshark (the default): `h2inspect dump -i lo -f ... --format jsonl` (headless,
    decoding on) beside `tshark -i lo -f ...` decoding HTTP/2. For each: the HTTP/2 frames
    it printed, frames per second over the load, how long it needed after the load to
    finish (its lag), packets the kernel dropped, CPU seconds (the tool and its children:
    h2inspect's tcpdump and pipe buffer, tshark's dumpcap; the decoding of a backlog after
    the capture stopped included), peak memory, and RSS at the start, middle and end.
  --against scapy: first the capture paths alone, on one load: `tcpdump -w /dev/null`
    against scapy's L2ListenSocket (the kernel BPF filter scapy attaches, the same kernel
    buffer as tcpdump's -B, each packet received with scapy's own receive and written as a
    pcap record to /dev/null); then each path feeding h2inspect's decoder: `h2inspect dump
    -i lo` against the same dump reading a pipe that a scapy socket, read on a thread of
    the decoding process, writes (what `-i` would be on scapy). Packets kept, received by
    the filter, dropped by the kernel, frames, CPU seconds, peak memory.

`--runs K` repeats the whole comparison K times and ends with how many runs each tool
dropped packets in, and in how many h2inspect dropped where the other did not.

    python bench/bench_live.py [--against tshark|scapy] [--runs 1] [--requests 100000]
                               [--seconds 0] [--size 1024] [--rps 0] [--no-tshark]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
BUFFER_KIB = 65536  # the kernel buffer each capture path gets (tcpdump -B, SO_RCVBUFFORCE for scapy)
CAPTURE_NICENESS = -10  # what h2inspect gives tcpdump; both bare capture paths get it too


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree(pid: int) -> list[int]:
    """A process and its descendants."""
    out = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
            for child in children:
                out += _tree(int(child))
    except OSError:
        pass
    return out


def _cpu(pid: int) -> float:
    """CPU seconds of a process tree so far."""
    total = 0.0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
        except OSError:
            pass
    return total


def _mem(pid: int, key: str) -> int:
    """VmRSS or VmHWM of a process tree, bytes."""
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith(key):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


class Counts(NamedTuple):
    """What a capture said at its end: packets kept, received by the filter, dropped by the kernel."""

    kept: int | None
    received: int | None
    dropped: int | None


def _said(text: str, *patterns: str) -> int | None:
    for pattern in patterns:
        m = re.search(pattern, text)
        if m:
            return int(m.group(1))
    return None


class Tool:
    """One live capture: its process, its frames counted as it prints them, its measures."""

    def __init__(self, name: str, cmd: list[str], ready: str, count: Callable[[bytes], int] = lambda line: 0,
                 stop_signal: int = signal.SIGINT, niceness: int | None = None) -> None:
        self.name = name
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        if niceness is not None:
            try:
                os.setpriority(os.PRIO_PROCESS, self.proc.pid, niceness)
            except OSError:
                pass
        self.frames = 0
        self.last_frame = 0.0
        self.err: list[str] = []
        self.rss: list[int] = []
        self.peak = 0
        self.cpu = 0.0
        self.stop_signal = stop_signal
        self._count = count
        self._ready = threading.Event()
        self._out = threading.Thread(target=self._read_out, daemon=True)
        self._out.start()
        self._errs = threading.Thread(target=self._read_err, args=(ready,), daemon=True)
        self._errs.start()
        if not self._ready.wait(30):
            self.proc.kill()
            raise SystemExit(f"{name} did not start: {' '.join(self.err)}")

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.frames += self._count(line)
            self.last_frame = time.monotonic()

    def _read_err(self, ready: str) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            text = line.decode(errors="replace").rstrip()
            self.err.append(text)
            if ready in text:
                self._ready.set()

    def sample(self) -> None:
        if self.proc.poll() is None:
            self.rss.append(_mem(self.proc.pid, "VmRSS:"))
            self.peak = max(self.peak, _mem(self.proc.pid, "VmHWM:"))
            self.cpu = _cpu(self.proc.pid)

    def stop(self, patience: float = 120.0) -> float:
        """Ask it to stop; seconds until it has printed everything and exited. Its CPU time then
        comes from wait4: the whole tree's, what it spent on a backlog after the stop included."""
        self.sample()
        started = time.monotonic()
        if self.proc.returncode is not None:  # it ended by itself (sample's poll reaped it): say so
            self.err.append(f"(ended by itself, status {self.proc.returncode}) " + " | ".join(self.err[-3:]))
            self._out.join(5)
            self._errs.join(5)
            return 0.0
        self.proc.send_signal(self.stop_signal)
        deadline = started + patience
        while True:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                self.cpu = max(self.cpu, usage.ru_utime + usage.ru_stime)
                break
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                self.err.append(f"(killed after {patience:.0f} s)")
                break
            time.sleep(0.05)
        self._out.join(5)
        self._errs.join(5)
        return time.monotonic() - started

    def counts(self) -> Counts:
        """Packets kept, received by the filter and dropped by the kernel, as the tool said them
        (tcpdump, h2inspect, the scapy child: all three; tshark: captured, and drops when any)."""
        text = "\n".join(self.err)
        kept = _said(text, r"(\d+) packets captured")
        received = _said(text, r"(\d+) (?:packets )?received by (?:the )?filter")
        dropped = _said(text, r"(\d+) (?:packets )?dropped by (?:the )?kernel", r"(\d+) packets? dropped from")
        if dropped is None and kept is not None and self.name.startswith("tshark"):
            dropped = 0  # tshark says nothing of drops when there were none
        return Counts(kept, received, dropped)


def _load(port: int, requests: int, seconds: float, at_middle: Callable[[], None],
          rps: int = 0) -> tuple[int, float]:
    """h2load against nghttpd in rounds until `seconds` have passed (one round at least); paced
    at `rps` requests per second per client if given (h2load --rps), else as fast as it goes."""
    started = time.monotonic()
    rounds = 0
    middle_done = False
    pace = ["--rps", str(rps)] if rps else []
    while True:
        load = subprocess.run(["h2load", "-n", str(requests), "-c", "4", "-m", "10", *pace,
                               f"http://127.0.0.1:{port}/"], capture_output=True, text=True)
        rounds += 1
        if load.returncode != 0:
            raise SystemExit(f"h2load failed: {load.stderr[-500:]}")
        elapsed = time.monotonic() - started
        if not middle_done and elapsed >= seconds / 2:
            at_middle()
            middle_done = True
        if elapsed >= seconds:
            return rounds, time.monotonic() - started


def _until_quiet(tools: list[Tool], load_end: float) -> dict[str, float]:
    """Each tool is let run until it has printed nothing new for a second (or a minute has
    passed since the load): its lag is from the end of the load to its last frame."""
    for tool in tools:
        quiet_since, seen = time.monotonic(), tool.frames
        while time.monotonic() - quiet_since < 1.0 and time.monotonic() - load_end < 60:
            time.sleep(0.1)
            tool.sample()
            if tool.frames != seen:
                quiet_since, seen = time.monotonic(), tool.frames
    return {tool.name: max(0.0, tool.last_frame - load_end) if tool.frames else 0.0 for tool in tools}


def _h2inspect(bpf: str) -> Tool:
    return Tool("h2inspect", [sys.executable, "-m", "inspector", "dump", "-i", "lo", "-f", bpf, "--format", "jsonl"],
                "capturing", lambda line: 1)


def _tshark(bpf: str, port: int) -> Tool:
    return Tool("tshark", ["tshark", "-i", "lo", "-f", bpf, "-l", "-n", "-d", f"tcp.port=={port},http2",
                           "-T", "fields", "-e", "http2.type", "-E", "occurrence=a"],
                "Capturing on", lambda line: len(line.strip().split(b",")) if line.strip() else 0)


def _scapy(mode: str, bpf: str) -> Tool:
    name = "scapy" if mode == "capture" else "h2inspect+scapy"
    count = (lambda line: 0) if mode == "capture" else (lambda line: 1)
    return Tool(name, [sys.executable, __file__, "--scapy-child", mode, "--filter", bpf], "listening on", count,
                stop_signal=signal.SIGUSR1, niceness=CAPTURE_NICENESS if mode == "capture" else None)


def _tcpdump(bpf: str) -> Tool:
    return Tool("tcpdump", ["tcpdump", "-i", "lo", "-U", "-B", str(BUFFER_KIB), "-s", "0", "-n", "-w", "/dev/null",
                            bpf], "listening on", niceness=CAPTURE_NICENESS)


class Row(NamedTuple):
    """One tool's figures in one run."""

    run: int
    tool: str
    counts: Counts
    frames: int
    rate: float
    lag: float
    cpu: float
    peak: int
    rss: tuple[int, int, int]


def one_run(run: int, port: int, args: argparse.Namespace, makers: list[Callable[[str], Tool]]) -> list[Row]:
    """Start the tools, load, wait until they are quiet, stop them: their rows."""
    bpf = f"tcp port {port}"
    tools: list[Tool] = []
    try:
        for make in makers:
            tools.append(make(bpf))
        for tool in tools:
            tool.sample()
        def sample_all() -> None:
            for tool in tools:
                tool.sample()

        rounds, seconds = _load(port, args.requests, args.seconds, sample_all, args.rps)
        lags = _until_quiet(tools, time.monotonic())
        for tool in tools:
            tool.stop()
    finally:
        for tool in tools:
            if tool.proc.poll() is None:
                tool.proc.kill()
                tool.proc.wait()
    print(f"run {run}: {rounds} x h2load -n {args.requests} -c 4 -m 10"
          f"{f' --rps {args.rps}' if args.rps else ''}, {args.size}-byte responses, {seconds:.1f} s, "
          f"load average {os.getloadavg()[0]:.1f}")
    rows = []
    for tool in tools:
        said = [line for line in tool.err if "captured" in line or "dropped" in line or "received" in line
                or "killed" in line or "ended by itself" in line]
        print(f"  {tool.name} said: {' | '.join(said)}")
        rss = tool.rss or [0]
        rows.append(Row(run, tool.name, tool.counts(), tool.frames, tool.frames / seconds, lags[tool.name],
                        tool.cpu, tool.peak, (rss[0], rss[len(rss) // 2], rss[-1])))
    return rows


def _n(value: int | None) -> str:
    return "?" if value is None else str(value)


def print_rows(rows: list[Row]) -> None:
    print(f"{'run':>3} {'tool':16} {'kept':>8} {'received':>9} {'drops':>7} {'frames':>9} {'frames/s':>9} {'lag s':>6} "
          f"{'CPU s':>6} {'peak MB':>8} {'RSS MB start/middle/end':>24}")
    for r in rows:
        rss = "/".join(f"{x / 1e6:.0f}" for x in r.rss)
        print(f"{r.run:3} {r.tool:16} {_n(r.counts.kept):>8} {_n(r.counts.received):>9} {_n(r.counts.dropped):>7} "
              f"{r.frames:9} {r.rate:9.0f} {r.lag:6.1f} {r.cpu:6.1f} {r.peak / 1e6:8.0f} {rss:>24}")


def print_drops(rows: list[Row], ours: str, other: str) -> None:
    """In how many runs each tool dropped, and where `ours` dropped while `other` did not."""
    runs = sorted({r.run for r in rows})
    by = {(r.run, r.tool): r.counts.dropped for r in rows}
    mine = [by.get((run, ours)) for run in runs]
    theirs = [by.get((run, other)) for run in runs]
    worse = sum(1 for a, b in zip(mine, theirs, strict=True) if (a or 0) > 0 and b == 0)
    print(f"drops per run: {ours} {mine}, {other} {theirs}")
    print(f"{ours} dropped in {sum(1 for a in mine if a)} of {len(runs)} runs, {other} in "
          f"{sum(1 for b in theirs if b)}; runs where {ours} dropped and {other} did not: {worse}")


# ---- the scapy child: a capture path h2inspect could have had -------------------------------

PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)  # Ethernet, microseconds
SOL_PACKET, PACKET_STATISTICS, SO_RCVBUFFORCE = 263, 6, 33


def scapy_child(mode: str, bpf: str) -> int:
    """Capture lo with scapy's L2ListenSocket (kernel BPF filter, receive per packet) until
    SIGUSR1, keeping each packet as a pcap record: to /dev/null (`capture`), or into a pipe that
    h2inspect's `dump -` decodes in this same process (`decode`); then say the counts as tcpdump does."""
    from scapy.arch.linux import L2ListenSocket

    sock = L2ListenSocket(iface="lo", filter=bpf)  # attach_filter: the filter runs in the kernel
    try:
        sock.ins.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, BUFFER_KIB * 1024)  # as tcpdump's -B
    except OSError:
        pass
    sock.ins.settimeout(0.2)  # to look at the stop flag
    stopping = threading.Event()
    signal.signal(signal.SIGUSR1, lambda signum, frame: stopping.set())
    kept = 0

    def capture(out: int) -> None:
        nonlocal kept
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CAPTURE_NICENESS)
        except OSError:
            pass
        os.write(out, PCAP_HEADER)
        receive, ins = sock._recv_raw, sock.ins
        while not stopping.is_set():
            try:
                data, address, stamp = receive(ins, 262144)
            except TimeoutError:
                continue
            if address[2] == socket.PACKET_OUTGOING:
                continue  # loopback shows each packet twice: keep the received copy, as libpcap does
            kept += 1
            when = stamp if stamp is not None else time.time()
            seconds = int(when)
            os.write(out, struct.pack("<IIII", seconds, int((when - seconds) * 1e6), len(data), len(data)) + data)
        received, dropped = struct.unpack("II", ins.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        print(f"{kept} packets captured, {received} received by the filter, {dropped} dropped by the kernel",
              file=sys.stderr, flush=True)
        os.close(out)

    print("listening on lo (scapy L2ListenSocket)", file=sys.stderr, flush=True)
    if mode == "capture":
        capture(os.open(os.devnull, os.O_WRONLY))
        return 0
    read_end, write_end = os.pipe()
    threading.Thread(target=capture, args=(write_end,), daemon=True).start()
    os.dup2(read_end, 0)
    os.close(read_end)
    sys.path.insert(0, str(ROOT))
    from inspector.capture.sniff import _decode_behind_capture
    from inspector.cli import main as h2inspect

    _decode_behind_capture()  # as a sniff does: the decoding thread behind the capture
    return h2inspect(["dump", "-", "--format", "jsonl"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", choices=("tshark", "scapy"), default="tshark")
    parser.add_argument("--runs", type=int, default=1, help="repeat the comparison this many times")
    parser.add_argument("--requests", type=int, default=100_000, help="h2load -n per round")
    parser.add_argument("--seconds", type=float, default=0, help="keep loading in rounds for this long")
    parser.add_argument("--size", type=int, default=1024, help="bytes of the file served")
    parser.add_argument("--rps", type=int, default=0,
                        help="h2load --rps: requests per second per client (4 clients); 0: as fast as it goes")
    parser.add_argument("--no-tshark", action="store_true", help="h2inspect alone")
    parser.add_argument("--scapy-child", choices=("capture", "decode"), help=argparse.SUPPRESS)
    parser.add_argument("--filter", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scapy_child:
        return scapy_child(args.scapy_child, args.filter)
    needed = ["nghttpd", "h2load", "tcpdump"] + (["tshark"] if args.against == "tshark" and not args.no_tshark else [])
    for tool in needed:
        if shutil.which(tool) is None:
            raise SystemExit(f"needs {tool}")
    port = _free_port()
    docroot = Path(tempfile.mkdtemp())
    (docroot / "index.html").write_bytes(os.urandom(args.size))
    server = subprocess.Popen(["nghttpd", "-d", str(docroot), "--no-tls", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    try:
        time.sleep(0.3)
        if args.against == "tshark":
            rows = []
            for run in range(1, args.runs + 1):
                rows += one_run(run, port, args, [_h2inspect] + (
                    [] if args.no_tshark else [lambda bpf: _tshark(bpf, port)]))
            print_rows(rows)
            if not args.no_tshark:
                print_drops(rows, "h2inspect", "tshark")
            return 0
        bare, decoding = [], []
        for run in range(1, args.runs + 1):
            bare += one_run(run, port, args, [_tcpdump, lambda bpf: _scapy("capture", bpf)])
            decoding += one_run(run, port, args, [_h2inspect, lambda bpf: _scapy("decode", bpf)])
        print("the capture paths alone (niceness -10 each, a 64 MiB kernel buffer each):")
        print_rows(bare)
        print_drops(bare, "tcpdump", "scapy")
        print("each feeding h2inspect's decoder:")
        print_rows(decoding)
        print_drops(decoding, "h2inspect", "h2inspect+scapy")
    finally:
        server.terminate()
        server.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
