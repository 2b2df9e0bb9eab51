"""A pipe whose writer never waits on its reader: a child process holds what is not read yet.

tcpdump writes the capture into a pipe. If the pipe is not emptied as fast as it fills,
tcpdump waits in write(), stops taking packets off the kernel's ring, and the kernel drops
them. A thread of h2inspect's own cannot be relied on to empty it: every read needs the
GIL, which the decoder holds, and the decoder runs at a lower priority than the capture,
so the kernel may preempt it while it holds the GIL and leave the drain waiting behind the
lowest-priority thread (a priority inversion: under sustained load on two shared cores a
drain thread let the kernel drop a quarter of the packets; bench/README.md).

`PipeBuffer` runs this file as a separate Python process with its own interpreter: it reads
its input as it comes and keeps it in memory until the reader takes it from the buffer's
own pipe, so a burst the decoder cannot keep up with waits here and is decoded after, up to
`HOLD_LIMIT` bytes: past that it stops reading, so the writer waits (a pipe on standard input
loses nothing; tcpdump's kernel drops are counted and shown). It ignores Ctrl-C (the
terminal sends it to the whole process group): it ends at its input's
end once everything is handed on, or as soon as its reader has gone.

Run as a script this file imports the standard library only (`python -I -S`: started in
milliseconds, whatever the environment).
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import subprocess
import sys
from collections import deque

READ = 1 << 20  # bytes taken from the input at a time
# The most held for a reader that falls behind: past it the input is no longer read until the
# reader has taken half of it, so the writer waits (backpressure: a pipe loses nothing; tcpdump
# waits in write() and the kernel's drops are counted and shown). Bursts far above what the
# decoder keeps up with still fit; a decoder behind for good no longer grows memory without end.
HOLD_LIMIT = 1 << 30


def grow_pipe(fd: int) -> None:
    """The biggest pipe buffer the system allows (Linux: /proc/sys/fs/pipe-max-size), if `fd` is a pipe."""
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setsize is None:
        return
    try:
        with open("/proc/sys/fs/pipe-max-size") as f:
            most = int(f.read())
        fcntl.fcntl(fd, setsize, most)
    except (OSError, ValueError):
        pass


def relay(source: int, sink: int, limit: int = HOLD_LIMIT) -> None:
    """Copy `source` to `sink` until the source ends, reading whenever the source has bytes and
    holding them until the sink takes them, up to `limit` bytes (then reading waits until the
    sink has taken half); returns at once if the sink's reader goes away."""
    grow_pipe(source)
    grow_pipe(sink)
    os.set_blocking(sink, False)
    held: deque[memoryview] = deque()
    holding = 0  # bytes in `held`
    poll = select.poll()
    reading = True  # the source is watched (not ended, not held back)
    poll.register(source, select.POLLIN)
    watching_sink = 0  # events asked of the sink: POLLOUT while something is held; errors always
    poll.register(sink, watching_sink)
    ended = False
    while not ended or held:
        wanted = select.POLLOUT if held else 0
        if wanted != watching_sink:
            poll.modify(sink, wanted)
            watching_sink = wanted
        if not ended and reading != (holding < limit if reading else holding <= limit // 2):
            reading = not reading  # hold back past the limit; read again once half of it is taken
            poll.modify(source, select.POLLIN if reading else 0)
        for fd, events in poll.poll():
            if fd == sink and events & (select.POLLERR | select.POLLHUP):
                return  # nobody reads any more: what is held is for no one
            if fd == source and events & (select.POLLIN | select.POLLHUP | select.POLLERR):
                data = os.read(source, READ)
                if data:
                    held.append(memoryview(data))
                    holding += len(data)
                else:
                    ended = True
                    poll.unregister(source)
        while held:
            try:
                written = os.write(sink, held[0])
            except BlockingIOError:
                break
            except BrokenPipeError:
                return
            holding -= written
            if written == len(held[0]):
                held.popleft()
            else:
                held[0] = held[0][written:]


class PipeBuffer:
    """This file run as a child between a pipe and its reader; read `fd`, the child's output.

    The caller may close its copy of `source` once this is made: the child holds its own."""

    def __init__(self, source: int, limit: int = HOLD_LIMIT) -> None:
        self.proc = subprocess.Popen([sys.executable, "-I", "-S", __file__, str(limit)], stdin=source,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True)
        assert self.proc.stdout is not None
        self.fd = self.proc.stdout.fileno()

    @property
    def pid(self) -> int:
        """The child's process id (to give it the capture's priority)."""
        return self.proc.pid

    def close(self) -> None:
        """Stop reading: the child ends (its reader gone), and is waited for."""
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def main() -> None:
    """The child: standard input to standard output, held as long as it takes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    relay(sys.stdin.fileno(), sys.stdout.fileno(), int(sys.argv[1]) if len(sys.argv) > 1 else HOLD_LIMIT)


if __name__ == "__main__":
    main()
