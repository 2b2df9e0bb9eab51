"""Sniffing an interface: tcpdump as a child, writing pcap to a pipe that `LiveInput` reads.

libpcap through tcpdump is the capture path: it sets the kernel BPF filter,
sizes the ring buffer, knows every interface (loopback included) and counts
what the kernel dropped, and its pipe is the same stream `h2inspect dump -`
reads, so a sniffed interface is a pipe h2inspect opened itself (README:
"Why tcpdump", with the figures that chose it over scapy's live sockets).
The pipe is emptied by a child process (`pipe_buffer.py`) so tcpdump never
waits on the decoder, and tcpdump and that child capture at a higher priority
than the decoding thread where the process may change priorities. tcpdump
says what went wrong on its stderr before it writes a byte; those lines
become one `CaptureError`. At its end it prints how many
packets it captured and how many the kernel dropped; `stats` reads them.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from typing import NamedTuple

from inspector.capture.live import LiveInput
from inspector.errors import CaptureError

BUFFER_KIB = 65536  # tcpdump -B: a burst on loopback must not overrun the kernel's ring
PERMISSION = ("you may not capture on {iface}: run as root, or give tcpdump the right with "
              "`sudo setcap cap_net_raw,cap_net_admin+eip {tcpdump}`")


DECODER_NICENESS = 5  # added to the decoding thread's niceness while a sniff lasts
CAPTURE_NICENESS = -10  # tcpdump's and its pipe buffer's, where the process may raise a priority


def _capture_first(pid: int) -> None:
    """Give a capturing process (tcpdump, its pipe buffer) more CPU than the load it watches,
    where that is allowed (root, CAP_SYS_NICE): on a busy machine a capture that waits for the
    CPU lets the kernel's ring overflow. Without the right, it keeps the priority it has."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, CAPTURE_NICENESS)
    except (OSError, AttributeError):
        pass


def _decode_behind_capture() -> int | None:
    """Lower the calling (decoding) thread's priority, not tcpdump's or the pipe buffer's
    (Linux nices a thread): on a busy machine the capture gets the CPU first and the decoder
    catches up after, from what the pipe buffer holds, instead of the kernel dropping packets.
    Returns the niceness it had, for `_restore_priority`; None when it was left as it was."""
    try:
        before = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, 0, before + DECODER_NICENESS)
    except (OSError, AttributeError):
        return None
    return before


def _restore_priority(before: int | None) -> None:
    """The sniff is over: the thread gets its niceness back (where it may: raising a priority
    needs CAP_SYS_NICE, which root and a capture-capable process usually have), so a process
    that sniffs many times, a test run or a library user, is not left lowered, nor lowered again."""
    if before is None:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, 0, before)
    except (OSError, AttributeError):
        pass


class CaptureStats(NamedTuple):
    """What tcpdump counted: packets written, received by the filter, dropped by the kernel."""

    captured: int
    received: int
    dropped: int


class InterfaceSniffer:
    """tcpdump on one interface, its pcap on `self.input` (a pipe read as it arrives)."""

    def __init__(self, iface: str, bpf: str | None = None, count: int | None = None,
                 tcpdump: str | None = None, on_listening: Callable[[], None] | None = None) -> None:
        self.iface = iface
        self.on_listening = on_listening  # told once tcpdump says its filter is set and it captures
        program = tcpdump or shutil.which("tcpdump")
        if program is None:
            raise CaptureError(iface, "sniffing needs tcpdump (apt-get install tcpdump), which is not on PATH")
        self.tcpdump = program
        # -U: each packet written to the pipe as tcpdump gets it; -s 0: whole packets; -n: no
        # name lookups (they would block the capture). Not --immediate-mode: the kernel then
        # hands packets over a block at a time (when full, or after tcpdump's 1 s timeout), which
        # halves tcpdump's CPU under load and is what kept it from dropping packets in
        # bench/bench_live.py (240 of 40,102 dropped with it, 0 without); a quiet connection's
        # frames show up to a second late.
        cmd = [program, "-i", iface, "-U", "-B", str(BUFFER_KIB), "-s", "0", "-n",
               "-w", "-"]
        if count is not None:
            cmd += ["-c", str(count)]
        if bpf:
            cmd.append(bpf)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        # tcpdump's pipe goes through a buffering child (capture/pipe_buffer.py), so tcpdump
        # never waits on the decoder; both capture before anything else runs where allowed.
        self.input = LiveInput(self.proc.stdout.fileno(), drain=True)
        self.proc.stdout.close()  # the buffer holds its own end: tcpdump ends if the buffer does
        _capture_first(self.proc.pid)
        if self.input.buffer is not None:
            _capture_first(self.input.buffer.pid)
        self._niceness = _decode_behind_capture()
        self.messages: list[str] = []
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        self._timer: threading.Timer | None = None

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            text = line.decode(errors="replace").rstrip()
            self.messages.append(text)
            if "listening on" in text and self.on_listening is not None:
                self.on_listening()

    def stop_after(self, seconds: float) -> None:
        """Stop the capture `seconds` from now (--duration)."""
        self._timer = threading.Timer(seconds, self.stop)
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> None:
        """Ask tcpdump to end: it writes what it holds, prints its counts and closes the pipe."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGINT)
            except ProcessLookupError:
                pass

    def failure(self) -> CaptureError:
        """Why tcpdump ended before writing a capture: its complaint, as one line."""
        self.wait()
        said = " ".join(m for m in self.messages if m and not m.startswith(("tcpdump: listening", "listening")))
        text = said.lower()
        if any(re.match(r"\d+ packets? captured", m) for m in self.messages):
            return CaptureError(self.iface, "the capture ended before its first packet")
        if "permission" in text or "operation not permitted" in text or "not permitted" in text:
            return CaptureError(self.iface, PERMISSION.format(iface=self.iface, tcpdump=self.tcpdump))
        if "no such device" in text or "doesn't exist" in text or "no such interface" in text:
            return CaptureError(self.iface, "no such interface (`ip link` lists them)")
        if "syntax error" in text or "can't parse filter" in text or "filter expression" in text:
            detail = re.sub(r"^tcpdump:\s*", "", said)
            return CaptureError(self.iface, f"the BPF filter does not compile: {detail}")
        return CaptureError(self.iface, f"tcpdump could not capture: {said or f'exit {self.proc.returncode}'}")

    def wait(self, timeout: float = 10.0) -> int | None:
        """Wait for tcpdump to end and its last words to be read."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._reader.join(timeout)
        if self._timer is not None:
            self._timer.cancel()
        return self.proc.returncode

    def ask_counts(self) -> None:
        """Ask a running tcpdump for its counts (SIGUSR1: it prints them and goes on); `counts` reads them."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGUSR1)
            except ProcessLookupError:
                pass

    def stats(self) -> CaptureStats | None:
        """tcpdump's counts, once it has ended (None if it printed none)."""
        self.stop()
        self.wait()
        return self.counts()

    def counts(self) -> CaptureStats | None:
        """The last counts tcpdump printed (at its end, or when asked), or None."""
        found: dict[str, int] = {}
        for line in list(self.messages):  # the newest counts win
            # at its end a count a line; asked (SIGUSR1), all three on one line
            for m in re.finditer(r"(\d+) packets? (captured|received by filter|dropped by kernel)", line):
                found[m.group(2)] = int(m.group(1))
        if "captured" not in found:
            return None
        return CaptureStats(found["captured"], found.get("received by filter", 0), found.get("dropped by kernel", 0))

    def close(self) -> None:
        """Stop tcpdump if it still runs, release the pipe, and give the thread its priority back."""
        self.stop()
        self.wait()
        _restore_priority(self._niceness)
        self._niceness = None
        self.input.close()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
