"""tcpdump on loopback around a block of real traffic, for tests that read what crossed the wire."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


def start_capture(path: str, *ports: int) -> subprocess.Popen:
    """tcpdump writing packets of these ports to `path`, once it is really listening."""
    expr = " or ".join(f"tcp port {port}" for port in ports)
    # A large buffer: a burst of megabytes on loopback must not overrun it.
    proc = subprocess.Popen(["tcpdump", "-i", "lo", "--immediate-mode", "-U", "-B", "65536", "-n", "-w", path, expr],
                            stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True).start()  # type: ignore[arg-type]
    deadline = time.time() + 10
    # tcpdump says "listening on" once its filter is set and packets are being captured.
    while not any("listening on" in line for line in lines) and time.time() < deadline:
        time.sleep(0.05)
    return proc


def stop_capture(proc: subprocess.Popen) -> None:
    time.sleep(0.3)  # the last packets
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=10)


@contextmanager
def captured(path: str, *ports: int) -> Iterator[None]:
    proc = start_capture(path, *ports)
    try:
        yield
    finally:
        stop_capture(proc)
