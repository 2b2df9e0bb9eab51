"""gRPC messages from DATA payloads (gRPC over HTTP/2, "Length-Prefixed-Message").

A message is a 5-byte prefix (compressed flag, 4-byte big-endian length) and
its bytes; messages cut across DATA frames or share one. `split_messages` is
a pure function of (frame index, payload) pieces, so a test can feed it any
cut of any messages.
"""

from __future__ import annotations

import gzip
import zlib
from bisect import bisect_right
from dataclasses import dataclass

from inspector.model import Direction

PREFIX = 5


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
                   encoding: str | None = None, complete: bool = True) -> list[GrpcMessage]:
    """The messages in one direction's DATA payloads, in order.

    `pieces` are (frame index, DATA payload) in stream order. `complete` says
    the stream direction ended (END_STREAM seen): a message still short then is
    a problem; otherwise it is simply not finished yet.
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
        data, problem = decompress(body, compressed, encoding)
        messages.append(GrpcMessage(direction, len(messages), compressed, length, spanned,
                                    pos - starts[first], data, problem_flag or problem))
        pos = end
    return messages


def decompress(body: bytes, compressed: bool, encoding: str | None) -> tuple[bytes | None, str | None]:
    """(message bytes, problem) for one message body under `grpc-encoding`."""
    if not compressed:
        return body, None
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        return None, ("compressed flag set, but no grpc-encoding says how" if encoding is None
                      else "compressed flag set with grpc-encoding identity")
    try:
        if name == "gzip":
            return gzip.decompress(body), None
        if name == "deflate":
            try:
                return zlib.decompress(body), None
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS), None
    except (OSError, zlib.error, EOFError) as exc:
        return None, f"{name} data does not decompress ({exc})"
    return None, f"grpc-encoding {name} is not one this tool can decompress"
