"""gRPC messages from DATA payloads (gRPC over HTTP/2, "Length-Prefixed-Message").

A message is a 5-byte prefix (compressed flag, 4-byte big-endian length) and
its bytes; messages cut across DATA frames or share one. `split_messages` is
a pure function of (frame index, payload) pieces, so a test can feed it any
cut of any messages.
"""

from __future__ import annotations

import zlib
from bisect import bisect_right
from dataclasses import dataclass

from inspector.model import Direction

PREFIX = 5
MiB = 1 << 20
# Bytes one compressed message may inflate to (the --max-message option): a
# 1 MiB gzip bomb inflates to 1 GiB, and decompression must stop well before.
MAX_MESSAGE = 64 * MiB
MAX_DEFLATE_RATIO = 1032  # deflate's best: a 258-byte match in 2 bits (RFC 1951)
INFLATE_CHUNK = MiB


@dataclass(slots=True)
class GrpcMessage:
    """One length-prefixed gRPC message and where it lies in the DATA frames."""

    direction: Direction
    index: int  # 0-based, per direction
    compressed: bool
    length: int  # as declared in the prefix
    frames: tuple[int, ...]  # FrameLog indexes of the DATA frames it spans
    offset: int  # where its prefix starts in the first frame's DATA (after any padding)
    data: bytes | None  # the message bytes, decompressed; None if not all captured
    problem: str | None = None

    @property
    def label(self) -> str:
        return "request" if self.direction is Direction.CLIENT else "response"


def split_messages(direction: Direction, pieces: list[tuple[int, bytes]],
                   encoding: str | None = None, complete: bool = True, *,
                   max_message: int = MAX_MESSAGE) -> list[GrpcMessage]:
    """The messages in one direction's DATA payloads, in order.

    `pieces` are (frame index, DATA payload) in stream order. `complete` says
    the stream direction ended (END_STREAM seen): a message still short then is
    a problem; otherwise it is simply not finished yet. A compressed message is
    inflated up to `max_message` bytes (see `decompress`).
    """
    starts: list[int] = []
    frames: list[int] = []
    buf = bytearray()
    for frame, payload in pieces:
        starts.append(len(buf))
        frames.append(frame)
        buf += payload
    messages: list[GrpcMessage] = []
    pos, n = 0, len(buf)
    while pos < n:
        first = bisect_right(starts, pos) - 1
        if n - pos < PREFIX:
            messages.append(GrpcMessage(direction, len(messages), False, 0, (frames[first],),
                                        pos - starts[first], None,
                                        f"only {n - pos} bytes of a 5-byte message prefix"
                                        if complete else None))
            break
        compressed = buf[pos] == 1
        if buf[pos] > 1:
            problem_flag = f"compressed flag is {buf[pos]} (only 0 and 1 are defined)"
        else:
            problem_flag = None
        length = int.from_bytes(buf[pos + 1:pos + 5], "big")
        end = pos + PREFIX + length
        last = bisect_right(starts, max(pos, min(end, n) - 1)) - 1
        spanned = tuple(frames[first:last + 1])
        if end > n:
            problem = (f"message of {length} bytes, only {n - pos - PREFIX} captured" if complete else None)
            messages.append(GrpcMessage(direction, len(messages), compressed, length, spanned,
                                        pos - starts[first], None, problem))
            break
        body = bytes(buf[pos + PREFIX:end])
        data, problem = decompress(body, compressed, encoding, max_message)
        messages.append(GrpcMessage(direction, len(messages), compressed, length, spanned,
                                    pos - starts[first], data, problem_flag or problem))
        pos = end
    return messages


def _size_text(size: int) -> str:
    """64 MiB, 512 KiB or 1000 bytes: how a limit reads in a sentence."""
    if size and size % MiB == 0:
        return f"{size // MiB} MiB"
    if size and size % 1024 == 0:
        return f"{size // 1024} KiB"
    return f"{size} bytes"


class _PastLimit(Exception):
    """The inflated bytes would pass the limit."""


def _inflate(data: bytes, wbits: int, room: int) -> tuple[bytes, bytes]:
    """One zlib, gzip or raw deflate stream: (its bytes, what follows it in `data`).

    Never more than `room` + 1 bytes are produced: _PastLimit past `room`,
    zlib.error for bad data, EOFError when the stream is cut short."""
    inflater = zlib.decompressobj(wbits)
    out = inflater.decompress(data, room + 1)
    if len(out) > room:
        raise _PastLimit
    if not inflater.eof:
        raise EOFError("Compressed file ended before the end-of-stream marker was reached")
    return out, inflater.unused_data


def _count_inflated(data: bytes, wbits: int, room: int) -> tuple[int, bytes]:
    """Like `_inflate`, but only counts the bytes, holding one INFLATE_CHUNK at a time."""
    inflater = zlib.decompressobj(wbits)
    size = 0
    tail = data
    while not inflater.eof:
        out = inflater.decompress(tail, INFLATE_CHUNK)
        size += len(out)
        if size > room:
            raise _PastLimit
        tail = inflater.unconsumed_tail
        if not out and not tail:
            raise EOFError("Compressed file ended before the end-of-stream marker was reached")
    return size, inflater.unused_data


def _gunzip(body: bytes, limit: int, *, count_only: bool = False) -> bytes:
    """gzip members one after another, as gzip.decompress reads them, within `limit` bytes.

    With `count_only` nothing is kept (b"" is returned): only the errors and the limit are checked."""
    members: list[bytes] = []
    total = 0
    rest = body
    while rest:
        if rest[:2] != b"\x1f\x8b":
            raise OSError(f"Not a gzipped file ({rest[:2]!r})")  # gzip.decompress's words
        if count_only:
            size, rest = _count_inflated(rest, 16 + zlib.MAX_WBITS, limit - total)
        else:
            out, rest = _inflate(rest, 16 + zlib.MAX_WBITS, limit - total)
            members.append(out)
            size = len(out)
        total += size
        rest = rest.lstrip(b"\0")  # gzip.decompress skips zero padding between members
    return b"".join(members) if len(members) != 1 else members[0]


def _inflate_deflate(body: bytes, limit: int, *, count_only: bool = False) -> bytes:
    """`deflate`: the zlib format, or raw deflate as some peers send it; bytes after the stream are ignored.

    With `count_only` nothing is kept (b"" is returned): only the errors and the limit are checked."""
    failure: Exception = EOFError()
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
        try:
            if count_only:
                _count_inflated(body, wbits, limit)
                return b""
            return _inflate(body, wbits, limit)[0]
        except (zlib.error, EOFError) as exc:
            failure = exc
    if isinstance(failure, EOFError):
        raise zlib.error("Error -5 while decompressing data: incomplete or truncated stream")  # zlib's words
    raise failure


def decompress(body: bytes, compressed: bool, encoding: str | None,
               max_message: int = MAX_MESSAGE) -> tuple[bytes | None, str | None]:
    """(message bytes, problem) for one message body under `grpc-encoding`.

    Inflating stops at `max_message` bytes: a message that would be larger is
    a problem, and costs no more memory than the limit."""
    if not compressed:
        return body, None
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        return None, ("compressed flag set, but no grpc-encoding says how" if encoding is None
                      else "compressed flag set with grpc-encoding identity")
    # A body this short cannot pass the limit; a longer one is first inflated only to be
    # counted, so a bomb costs one chunk of memory, not the limit (or twice it, joined).
    might_pass = len(body) * MAX_DEFLATE_RATIO > max_message
    try:
        if name == "gzip":
            if might_pass:
                _gunzip(body, max_message, count_only=True)
            return _gunzip(body, max_message), None
        if name == "deflate":
            if might_pass:
                _inflate_deflate(body, max_message, count_only=True)
            return _inflate_deflate(body, max_message), None
    except _PastLimit:
        return None, (f"{name} message of {len(body)} bytes inflates past the {_size_text(max_message)} "
                      "limit (--max-message)")
    except (OSError, zlib.error, EOFError) as exc:
        return None, f"{name} data does not decompress ({exc})"
    return None, f"grpc-encoding {name} is not one this tool can decompress"
