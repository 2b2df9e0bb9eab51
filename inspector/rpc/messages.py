"""gRPC messages from DATA payloads (gRPC over HTTP/2, "Length-Prefixed-Message").

A message is a 5-byte prefix (compressed flag, 4-byte big-endian length) and
its bytes; messages cut across DATA frames or share one. `split_messages` is
a pure function of (frame index, payload) pieces, so a test can feed it any
cut of any messages.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

from inspector.model import Direction

PREFIX = 5

MessageReader = Callable[["GrpcMessage"], bytes]
"""Reads a message's body bytes (as sent, before decompression) back from where they are kept."""


class GrpcMessage:
    """One length-prefixed gRPC message and where it lies in the DATA frames.

    Its bytes are not kept: `data` reads them back (through `reader`) and
    decompresses them each time it is asked, so memory does not grow with the
    bodies a capture holds. A message still arriving has `data` None.
    """

    __slots__ = ("direction", "index", "compressed", "length", "frames", "offset", "received",
                 "encoding", "ended", "reader", "_flag", "_problem")

    def __init__(self, direction: Direction, index: int, frame: int, offset: int, reader: MessageReader,
                 encoding: str | None = None) -> None:
        self.direction = direction
        self.index = index  # 0-based, per direction
        self.compressed = False
        self.length = 0  # as declared in the prefix (0 until the prefix is whole)
        self.frames: list[int] = [frame]  # FrameLog indexes of the DATA frames it spans
        self.offset = offset  # where its prefix starts in the first frame's DATA (after any padding)
        self.received = 0  # bytes of prefix and body seen so far
        self.encoding = encoding  # grpc-encoding of its direction
        self.ended = False  # its direction ended (END_STREAM): a message still short is cut
        self.reader = reader
        self._flag = 0
        self._problem: str | None = None  # a decompression problem, once found

    @property
    def label(self) -> str:
        return "request" if self.direction is Direction.CLIENT else "response"

    @property
    def whole(self) -> bool:
        """The prefix and all the body it declares have arrived."""
        return self.received >= PREFIX and self.received - PREFIX >= self.length

    @property
    def data(self) -> bytes | None:
        """The message bytes, decompressed; None if not all captured (or not decompressible)."""
        if not self.whole:
            return None
        data, problem = decompress(self.reader(self), self.compressed, self.encoding)
        self._problem = problem
        return data

    @property
    def problem_flag(self) -> bool:
        """Its compressed-flag byte is neither 0 nor 1."""
        return self.received >= PREFIX and self._flag > 1

    @property
    def problem(self) -> str | None:
        """What is wrong with it, if anything (found by reading it, once, for a compressed one)."""
        if self.received < PREFIX:
            return f"only {self.received} bytes of a 5-byte message prefix" if self.ended else None
        if self._flag > 1:
            return f"compressed flag is {self._flag} (only 0 and 1 are defined)"
        if not self.whole:
            return (f"message of {self.length} bytes, only {self.received - PREFIX} captured"
                    if self.ended else None)
        if self.compressed and self._problem is None:
            self.data  # noqa: B018 -- reading it is how a decompression problem is found
        return self._problem

    def __repr__(self) -> str:
        return f"GrpcMessage({self.label} #{self.index + 1}, {self.length} B, frames {self.frames})"


class MessageSplitter:
    """Cuts one direction's DATA bodies into messages as they arrive: bodies are looked at
    only where a prefix lies, and nothing of them is kept."""

    __slots__ = ("direction", "messages", "reader", "encoding", "_head", "_current", "_on_frame")

    def __init__(self, direction: Direction, reader: MessageReader,
                 on_frame: Callable[[int, GrpcMessage], None] | None = None) -> None:
        self.direction = direction
        self.messages: list[GrpcMessage] = []
        self.reader = reader
        self.encoding: str | None = None
        self._head = bytearray()  # the prefix bytes of the current message seen so far
        self._current: GrpcMessage | None = None  # a message whose prefix or body is still arriving
        self._on_frame = on_frame  # told each (frame, message) pair once

    def _touch(self, message: GrpcMessage, frame: int) -> None:
        if message.frames[-1] != frame:
            message.frames.append(frame)
            if self._on_frame is not None:
                self._on_frame(frame, message)

    def feed(self, frame: int, body: bytes) -> None:
        """The body of the next DATA frame of this direction (padding already taken off)."""
        pos, n = 0, len(body)
        current = self._current
        if not n and current is not None:
            self._touch(current, frame)  # an empty frame in the middle of a message is part of it
        while pos < n:
            if current is None:
                current = self._current = GrpcMessage(self.direction, len(self.messages), frame, pos,
                                                      self.reader, self.encoding)
                self.messages.append(current)
                if self._on_frame is not None:
                    self._on_frame(frame, current)
            else:
                self._touch(current, frame)
            if current.received < PREFIX:
                take = min(PREFIX - current.received, n - pos)
                self._head += body[pos:pos + take]
                current.received += take
                pos += take
                if current.received < PREFIX:
                    break
                current._flag = self._head[0]
                current.compressed = self._head[0] == 1
                current.length = int.from_bytes(self._head[1:5], "big")
                self._head.clear()
            take = min(current.length - (current.received - PREFIX), n - pos)
            current.received += take
            pos += take
            if current.whole:
                current = self._current = None

    def end(self) -> None:
        """The direction ended (END_STREAM): a message still short is cut, not unfinished."""
        for message in self.messages:
            message.ended = True

    def set_encoding(self, encoding: str | None) -> None:
        """The direction's grpc-encoding, once its headers say it."""
        self.encoding = encoding
        for message in self.messages:
            message.encoding = encoding


def split_messages(direction: Direction, pieces: list[tuple[int, bytes]],
                   encoding: str | None = None, complete: bool = True) -> list[GrpcMessage]:
    """The messages in one direction's DATA payloads, in order: a pure function of
    (frame index, body) pieces, so a test can feed it any cut of any messages.

    `complete` says the stream direction ended (END_STREAM seen): a message still
    short then is a problem; otherwise it is simply not finished yet.
    """
    bodies = dict(pieces)

    def read(message: GrpcMessage) -> bytes:
        joined = b"".join(bodies[f] for f in message.frames)
        return joined[message.offset + PREFIX:message.offset + PREFIX + message.length]

    splitter = MessageSplitter(direction, read)
    splitter.set_encoding(encoding)
    for frame, body in pieces:
        splitter.feed(frame, body)
    if complete:
        splitter.end()
    return splitter.messages


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
