"""A gzip-compressed capture, inflated once as it is read, into an unlinked temporary file.

Payloads are read back by position long after their packet was parsed, and a
gzip stream can only be read forwards: seeking back in it means inflating
again from the start, once per read. So every inflated byte is also written
to a temporary file (removed from the directory at once, gone when closed)
and read-back is a plain `pread` there. Memory stays bounded: at most one
inflated chunk is held, whatever the capture inflates to.
"""

from __future__ import annotations

import os
import tempfile
import zlib

_INPUT_CHUNK = 256 * 1024
_OUTPUT_CHUNK = 1 << 20  # one call never inflates more than this, however well it compresses


class InflatedCapture:
    """Reads a .gz file forwards (`read`, `tell`) and any inflated byte again (`read_at`)."""

    def __init__(self, path: str) -> None:
        self._raw = open(path, "rb")
        self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)  # gzip header and trailer
        self._copy = tempfile.TemporaryFile(prefix="h2inspect-", suffix=".inflated")
        self._pending = b""  # inflated, not yet handed to `read`
        self._pending_at = 0
        self._position = 0  # inflated bytes handed to `read` so far
        self.inflated = 0  # inflated bytes in the copy
        self.ended = False
        # Why the gzip stream stopped before its end marker, if it did.
        self.cut_short: str | None = None

    def read(self, size: int) -> bytes:
        """The next `size` inflated bytes (fewer at the end of the stream)."""
        have = len(self._pending) - self._pending_at
        if have >= size:
            out = self._pending[self._pending_at:self._pending_at + size]
            self._pending_at += size
        else:
            parts = [self._pending[self._pending_at:]]
            while have < size and not self.ended:
                more = self._inflate_some()
                parts.append(more)
                have += len(more)
            joined = b"".join(parts)
            out, self._pending, self._pending_at = joined[:size], joined, min(size, len(joined))
        self._position += len(out)
        return out

    def tell(self) -> int:
        """Position in the inflated stream."""
        return self._position

    def read_at(self, offset: int, size: int) -> bytes:
        """Inflated bytes at `offset`, read back from the copy (none once it is closed)."""
        if self._copy.closed:
            return b""
        self._copy.flush()
        return os.pread(self._copy.fileno(), size, offset)

    def _inflate_some(self) -> bytes:
        inflater = self._inflater
        chunk = inflater.unconsumed_tail
        if not chunk:
            chunk = self._raw.read(_INPUT_CHUNK)
            if not chunk:
                self.ended = True
                if self.inflated and not inflater.eof:
                    self.cut_short = (f"a gzip stream cut short: it ends without its end marker after "
                                      f"{self.inflated} inflated bytes")
                return b""
        try:
            out = inflater.decompress(chunk, _OUTPUT_CHUNK)
        except zlib.error as exc:
            self.ended = True
            self.cut_short = f"a damaged gzip stream after {self.inflated} inflated bytes ({exc})"
            return b""
        if inflater.eof:
            out += self._next_member(inflater.unused_data)
        self._copy.write(out)
        self.inflated += len(out)
        return out

    def _next_member(self, rest: bytes) -> bytes:
        """After a member's trailer: concatenated members (`cat a.gz b.gz`) inflate as one stream."""
        if not rest:
            rest = self._raw.read(_INPUT_CHUNK)
        if not rest.startswith(b"\x1f\x8b"):
            self.ended = True  # nothing more, or padding after the last member: harmless
            return b""
        self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        try:
            return self._inflater.decompress(rest, _OUTPUT_CHUNK)
        except zlib.error as exc:
            self.ended = True
            self.cut_short = f"a damaged gzip stream after {self.inflated} inflated bytes ({exc})"
            return b""

    def close(self) -> None:
        """Close the file and drop the inflated copy."""
        self._raw.close()
        self._copy.close()
