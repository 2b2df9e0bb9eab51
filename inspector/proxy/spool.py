"""Relayed payloads kept for reading back, when there is no --record file.

The views read a frame's payload only when someone looks at it, so the relay
must keep what passed somewhere. Keeping each relayed chunk in memory makes
the process touch fresh memory for every byte relayed (a page fault each
4 KiB, a large share of the relay's CPU under load) and grow with traffic.
The spool holds on to the last chunks (up to a megabyte, by reference: no
copy) and then writes them with one `pwritev` into an unlinked temporary
file used as a ring of `limit` bytes. Memory stays flat (the chunks' memory
is reused for the next ones), the kernel makes the one copy there is, the
last `limit` bytes stay readable, and nothing is left on disk when the
process ends, however it ends.
"""

from __future__ import annotations

import os
import tempfile
from array import array
from bisect import bisect_right

SPOOL_LIMIT = 1 << 30  # the last GiB of relayed payloads stays readable
BUFFER = 1 << 20  # chunks held before they are written out
MAX_PIECES = 512  # chunks written by one pwritev (the system allows 1024)


class PayloadSpool:
    """Payload bytes by packet number: the newest chunks held, the rest in a ring file."""

    def __init__(self, limit: int = SPOOL_LIMIT, directory: str | None = None) -> None:
        self._file = tempfile.TemporaryFile(dir=directory)  # unlinked at once
        self._fd = self._file.fileno()
        self.limit = limit
        self.written = 0  # bytes accepted so far (their absolute positions run from 0)
        self.flushed = 0  # of them, bytes already in the file
        self._held: list[bytes] = []  # chunks not yet written out, oldest first
        self._held_at: list[int] = []  # their absolute positions
        self._where = array("q", [-1])  # packet number - _first -> absolute position of its payload, or -1
        self._first = 0  # the packet number of _where[0]: the ones before were forgotten

    def keep(self, packet: int, piece: bytes) -> None:
        """Remember one packet's payload (packet numbers only grow; the bytes must not change)."""
        where = self._where
        at = packet - self._first
        if len(where) < at:
            where.extend([-1] * (at - len(where)))  # packets without payload: handshakes, FIN, RST
        if len(where) == at:
            where.append(self.written)
        else:
            where[at] = self.written
        self._held.append(piece)
        self._held_at.append(self.written)
        self.written += len(piece)
        if self.written - self.flushed >= BUFFER or len(self._held) >= MAX_PIECES:
            self._flush()

    def read(self, packet: int, start: int, length: int) -> bytes:
        """`length` bytes from `start` in a packet's payload; b"" if it was never kept or is overwritten."""
        at = packet - self._first
        if not 0 < packet or not 0 <= at < len(self._where) or self._where[at] < 0:
            return b""
        pos = self._where[at] + start
        if pos < self.written - self.limit:
            return b""  # the ring has come round over it
        if pos >= self.flushed:
            i = bisect_right(self._held_at, pos) - 1
            at = pos - self._held_at[i]
            return bytes(self._held[i][at:at + length])
        ring = pos % self.limit
        first = min(length, self.limit - ring)
        data = os.pread(self._fd, first, ring)
        return data + os.pread(self._fd, length - first, 0) if length > first else data

    def forget_before(self, packet: int) -> None:
        """Packets before `packet` will not be read again (a bounded history dropped their frames):
        their places go, so the index stays as small as what is kept."""
        drop = min(packet - self._first, len(self._where))
        if drop > 0:
            del self._where[:drop]
            self._first += drop

    def _flush(self) -> None:
        held, self._held, self._held_at = self._held, [], []
        ring = self.flushed % self.limit
        size = self.written - self.flushed
        if ring + size <= self.limit:
            done = os.pwritev(self._fd, held, ring)
            if done == size:
                self.flushed += size
                return
            held = [b"".join(held)[done:]]  # a short write (rare): the rest, one piece at a time below
            self.flushed += done
        for piece in held:  # across the ring's end
            self._write(piece)

    def _write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            ring = self.flushed % self.limit
            done = os.pwrite(self._fd, view[:self.limit - ring], ring)
            view = view[done:]
            self.flushed += done

    def close(self) -> None:
        self._file.close()
