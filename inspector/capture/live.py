"""Captures that are still arriving: a pipe (standard input, tcpdump's output) or a file
still being written (`--follow`).

`LiveInput` is the forward-only file the pcap and pcapng readers need (`read`,
`tell`): it never seeks, reads what the descriptor has as it comes, and says
when nothing is waiting (`idle`), so the loader can hand out what it decoded
before it blocks for more. A pipe ends at its end of file; a followed file
waits at its end, like `tail -f`, until `stop()`. Waiting is done in short
`select` slices so that `stop()` (from a signal handler or another thread)
ends it at once.
"""

from __future__ import annotations

import os
import select
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from queue import SimpleQueue
from typing import Any

from inspector.capture.pipe_buffer import HOLD_LIMIT, PipeBuffer

CHUNK = 1 << 16  # bytes asked of the descriptor at a time
POLL = 0.1  # seconds between looks at a followed file's end, and at the stop flag


class LiveInput:
    """A non-seeking reader over a descriptor, with a stop flag; `follow`: wait at the end of file."""

    def __init__(self, fd: int, follow: bool = False, on_wait: Callable[[], None] | None = None,
                 drain: bool = False, hold: int = HOLD_LIMIT) -> None:
        self.follow = follow
        self.on_wait = on_wait  # told once each time a followed file has nothing more for now
        self._buffer = bytearray()
        self._pos = 0  # read position in the buffer
        self._offset = 0  # bytes consumed before the buffer's start
        self._stopped = threading.Event()
        self.ended = False  # end of file seen (a pipe), or stopped
        # drain: the pipe is emptied as fast as it fills by a child process (pipe_buffer.py), so
        # its writer (tcpdump) never waits on a decoder busy with a burst: while it waits, the
        # kernel's ring overflows and packets are dropped. The burst is held there instead, and
        # decoded after; this reads the child's own pipe.
        # It holds at most `hold` bytes: a decoder behind for good makes the writer wait instead.
        self.buffer = PipeBuffer(fd, hold) if drain else None
        self.fd = self.buffer.fd if self.buffer is not None else fd
        # A pipe says whether it has bytes waiting; a regular file (followed) always seems to.
        self._pipe = stat.S_ISFIFO(os.fstat(self.fd).st_mode)

    def stop(self) -> None:
        """End the input: a read in progress returns what it has (signal- and thread-safe)."""
        self._stopped.set()

    @property
    def stopped(self) -> bool:
        """stop() was called."""
        return self._stopped.is_set()

    def tell(self) -> int:
        """Bytes handed out so far."""
        return self._offset + self._pos

    def idle(self) -> bool:
        """Nothing read ahead is waiting: the next read may block."""
        if self._pos < len(self._buffer):
            return False
        if not self._pipe:
            return True
        ready, _, _ = select.select([self.fd], [], [], 0)
        return not ready

    def read(self, size: int, /) -> bytes:
        """`size` bytes, fewer only at the end of a pipe or once stopped."""
        while len(self._buffer) - self._pos < size and self._fill():
            pass
        start = self._pos
        end = min(len(self._buffer), start + size)
        self._pos = end
        data = bytes(self._buffer[start:end])
        if self._pos > CHUNK:  # drop what was handed out, so the buffer stays small
            del self._buffer[:self._pos]
            self._offset += self._pos
            self._pos = 0
        return data

    def _fill(self) -> bool:
        """Read more into the buffer; False at the end (of a pipe, or of a followed file once stopped)."""
        waited = False
        while not self._stopped.is_set():
            ready, _, _ = select.select([self.fd], [], [], POLL)
            if not ready:
                continue
            data = os.read(self.fd, CHUNK)
            if data:
                self._buffer += data
                return True
            if not self.follow:
                break
            if not waited:
                waited = True
                if self.on_wait is not None:
                    self.on_wait()
            time.sleep(POLL)  # a regular file is always "ready": look again a little later
        self.ended = True
        return False

    def close(self) -> None:
        """The buffering child, if any, is ended; the descriptor itself belongs to whoever opened it."""
        if self.buffer is not None:
            self.buffer.close()


class PacketQueue:
    """Packets read on a thread and decoded on the caller's (the TUI's event loop): reading a
    live source blocks, and the loop that draws must not. Iterate it only when not `idle()`."""

    def __init__(self, packets: Iterable[Any]) -> None:
        self._queue: SimpleQueue[Any] = SimpleQueue()
        self._packets = packets
        self.ended = False  # the source has ended: what is queued is all there is
        self._thread = threading.Thread(target=self._read, daemon=True, name="h2inspect-capture")
        self._thread.start()

    def _read(self) -> None:
        put = self._queue.put
        try:
            for packet in self._packets:
                put(packet)
        finally:
            self.ended = True
            put(None)

    def idle(self) -> bool:
        """Nothing queued: the next packet would make the caller wait."""
        return self._queue.empty()

    def __iter__(self) -> Iterator[Any]:
        get = self._queue.get
        while True:
            packet = get()
            if packet is None:
                return
            yield packet
