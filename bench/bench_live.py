#!/usr/bin/env python3
"""Sniffing loopback under load: h2inspect beside tshark, both live on the same traffic.

Runs nghttpd on loopback, starts `h2inspect dump -i lo -f "tcp port P" --format jsonl`
(headless, decoding on) and `tshark -i lo -f "tcp port P"` decoding HTTP/2, then drives
`h2load -n N -c 4 -m 10` against nghttpd (again and again for `--seconds`, if given).
For each tool: the HTTP/2 frames it printed, frames per second over the load, how long it
needed after the load to finish (its lag), packets the kernel dropped, CPU seconds (the
tool and its children: h2inspect's tcpdump, tshark's dumpcap), peak memory, and RSS at
the start, middle and end of the run.

    python bench/bench_live.py [--requests 100000] [--seconds 0] [--size 1024]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class Tool:
    """One live decoder: its process, its frames counted as it prints them, its measures."""

    def __init__(self, name: str, cmd: list[str], ready: str, count) -> None:  # type: ignore[no-untyped-def]
        self.name = name
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        self.frames = 0
        self.last_frame = 0.0
        self.err: list[str] = []
        self.rss: list[int] = []
        self.peak = 0
        self.cpu = 0.0
        self._count = count
        self._ready = threading.Event()
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, args=(ready,), daemon=True).start()
        if not self._ready.wait(20):
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

    def stop(self) -> float:
        """Ctrl-C; seconds until it has printed everything and exited."""
        self.sample()
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.monotonic() - started

    def drops(self) -> str:
        text = "\n".join(self.err)
        m = re.search(r"(\d+) dropped by the kernel", text) or re.search(r"(\d+) packets? dropped", text)
        return m.group(1) if m else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100_000, help="h2load -n per round")
    parser.add_argument("--seconds", type=float, default=0, help="keep loading in rounds for this long")
    parser.add_argument("--size", type=int, default=1024, help="bytes of the file served")
    parser.add_argument("--no-tshark", action="store_true", help="h2inspect alone")
    args = parser.parse_args()
    for tool in ("nghttpd", "h2load", "tcpdump") + (() if args.no_tshark else ("tshark",)):
        if shutil.which(tool) is None:
            raise SystemExit(f"needs {tool}")
    port = _free_port()
    docroot = Path(tempfile.mkdtemp())
    (docroot / "index.html").write_bytes(os.urandom(args.size))
    server = subprocess.Popen(["nghttpd", "-d", str(docroot), "--no-tls", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tools: list[Tool] = []
    try:
        time.sleep(0.3)
        bpf = f"tcp port {port}"
        tools.append(Tool("h2inspect", [sys.executable, "-m", "inspector", "dump", "-i", "lo", "-f", bpf,
                                        "--format", "jsonl"], "capturing", lambda line: 1))
        if not args.no_tshark:
            tools.append(Tool("tshark", ["tshark", "-i", "lo", "-f", bpf, "-l", "-n", "-d", f"tcp.port=={port},http2",
                                         "-T", "fields", "-e", "http2.type", "-E", "occurrence=a"],
                              "Capturing on", lambda line: len(line.strip().split(b",")) if line.strip() else 0))
        for tool in tools:
            tool.sample()
        started = time.monotonic()
        rounds = 0
        middle_done = False
        while True:
            load = subprocess.run(["h2load", "-n", str(args.requests), "-c", "4", "-m", "10",
                                   f"http://127.0.0.1:{port}/"], capture_output=True, text=True)
            rounds += 1
            if load.returncode != 0:
                raise SystemExit(f"h2load failed: {load.stderr[-500:]}")
            elapsed = time.monotonic() - started
            if not middle_done and elapsed >= args.seconds / 2:
                for tool in tools:
                    tool.sample()
                middle_done = True
            if elapsed >= args.seconds:
                break
        load_seconds = time.monotonic() - started
        load_end = time.monotonic()
        # Each tool is stopped once it has printed nothing new for a second (or after a minute):
        # its lag is from the end of the load to its last frame.
        for tool in tools:
            quiet_since, seen = time.monotonic(), tool.frames
            while time.monotonic() - quiet_since < 1.0 and time.monotonic() - load_end < 60:
                time.sleep(0.1)
                tool.sample()
                if tool.frames != seen:
                    quiet_since, seen = time.monotonic(), tool.frames
        lags = {tool.name: max(0.0, tool.last_frame - load_end) for tool in tools}
        for tool in tools:
            tool.stop()
        print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}")
        print(f"load: {rounds} x h2load -n {args.requests} -c 4 -m 10, {args.size}-byte responses, "
              f"{load_seconds:.1f} s")
        print(f"{'tool':10} {'frames':>9} {'frames/s':>9} {'lag s':>6} {'drops':>6} {'CPU s':>6} {'peak MB':>8} "
              f"{'RSS MB start/middle/end':>24}")
        for tool in tools:
            rss = "/".join(f"{r / 1e6:.0f}" for r in (tool.rss[0], tool.rss[len(tool.rss) // 2], tool.rss[-1]))
            said = [line for line in tool.err if "captured" in line or "dropped" in line]
            print(f"  {tool.name} said: {' | '.join(said)}")
            print(f"{tool.name:10} {tool.frames:9} {tool.frames / load_seconds:9.0f} {lags[tool.name]:6.1f} "
                  f"{tool.drops():>6} {tool.cpu:6.1f} {tool.peak / 1e6:8.0f} {rss:>24}")
    finally:
        for tool in tools:
            if tool.proc.poll() is None:
                tool.proc.kill()
                tool.proc.wait()
        server.terminate()
        server.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
