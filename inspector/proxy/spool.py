"""Relayed payloads kept for reading back, when there is no --record file.

The views read a frame's payload only when someone looks at it, so the relay
must keep what passed somewhere. Keeping each relayed chunk in memory makes
the process touch fresh memory for every byte relayed (a page fault each
4 KiB, a large share of the relay's CPU under load) and grow with traffic.
The spool copies each chunk into one reused buffer and writes the buffer,
a megabyte at a time, into an unlinked temporary file used as a ring of
`limit` bytes: memory stays flat, the last `limit` bytes stay readable, and
nothing is left on disk when the process ends, however it ends.
"""

from __future__ import annotations

import os
import tempfile
from array import array

SPOOL_LIMIT = 1 << 30  # the last GiB of relayed payloads stays readable
BUFFER = 1 << 20


class PayloadSpool:
    """Payload bytes by packet number, written behind through a buffer into a ring file."""

    def __init__(self, limit: int = SPOOL_LIMIT, directory: str | None = None) -> None:
        self._file = tempfile.TemporaryFile(dir=directory)  # unlinked at once
        self._fd = self._file.fileno()
        self.limit = limit
        self.written = 0  # bytes accepted so far (their absolute positions run from 0)
        self.flushed = 0  # of them, bytes already in the file
        self._buffer = bytearray(BUFFER)
        self._used = 0
        self._where = array("q", [-1])  # packet number -> absolute position of its payload, or -1

    def keep(self, packet: int, piece: bytes | memoryview) -> None:
        """Remember one packet's payload (packet numbers only grow)."""
        where = self._where
        if len(where) < packet:
            where.extend([-1] * (packet - len(where)))  # packets without payload: handshakes, FIN, RST
        if len(where) == packet:
            where.append(self.written)
        else:
            where[packet] = self.written
        n = len(piece)
        if self._used + n > BUFFER:
            self._flush()
        if n >= BUFFER:
            self._write(piece)
        else:
            self._buffer[self._used:self._used + n] = piece
            self._used += n
        self.written += n

    def read(self, packet: int, start: int, length: int) -> bytes:
        """`length` bytes from `start` in a packet's payload; b"" if it was never kept or is overwritten."""
        if not 0 < packet < len(self._where) or self._where[packet] < 0:
            return b""
        pos = self._where[packet] + start
        if pos < self.written - self.limit:
            return b""  # the ring has come round over it
        if pos >= self.flushed:
            at = pos - self.flushed
            return bytes(self._buffer[at:at + length])
        ring = pos % self.limit
        first = min(length, self.limit - ring)
        data = os.pread(self._fd, first, ring)
        return data + os.pread(self._fd, length - first, 0) if length > first else data

    def _flush(self) -> None:
        if self._used:
            self._write(memoryview(self._buffer)[:self._used])
            self._used = 0

    def _write(self, data: bytes | memoryview) -> None:
        ring = self.flushed % self.limit
        first = min(len(data), self.limit - ring)
        os.pwrite(self._fd, data[:first], ring)
        if len(data) > first:
            os.pwrite(self._fd, data[first:], 0)
        self.flushed += len(data)

    def close(self) -> None:
        self._file.close()
