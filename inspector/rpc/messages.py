"""gRPC messages from DATA payloads (gRPC over HTTP/2, "Length-Prefixed-Message").

A message is a 5-byte prefix (compressed flag, 4-byte big-endian length) and
its bytes; messages cut across DATA frames or share one. `split_messages` is
a pure function of (frame index, payload) pieces, so a test can feed it any
cut of any messages.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from inspector.model import Direction

PREFIX = 5
MiB = 1 << 20
# Bytes one compressed message may inflate to (the --max-message option): a
# 1 MiB gzip bomb inflates to 1 GiB, and decompression must stop well before.
MAX_MESSAGE = 64 * MiB
MAX_DEFLATE_RATIO = 1032  # deflate's best: a 258-byte match in 2 bits (RFC 1951)
INFLATE_CHUNK = MiB
MESSAGES_KEPT = 100_000  # messages kept per direction of a call; past it they are cut and counted only

MessageReader = Callable[["GrpcMessage"], bytes]
"""Reads a message's body bytes (as sent, before decompression) back from where they are kept."""


class GrpcMessage:
    """One length-prefixed gRPC message and where it lies in the DATA frames.

    Its bytes are not kept: `data` reads them back (through its splitter's
    `reader`) and decompresses them each time it is asked, so memory does not
    grow with the bodies a capture holds. A message still arriving has `data` None.
    What all the messages of one direction share (direction, reader, encoding,
    limit) is its splitter's, not copied into each: a capture holds millions.
    """

    __slots__ = ("split", "index", "compressed", "length", "frames", "offset", "received", "ended", "_flag",
                 "_problem")

    def __init__(self, split: MessageSplitter, index: int, frame: int, offset: int) -> None:
        self.split = split
        self.index = index  # 0-based, per direction
        self.compressed = False
        self.length = 0  # as declared in the prefix (0 until the prefix is whole)
        # FrameLog indexes of the DATA frames it spans: a tuple while it is one (most are), a list after
        self.frames: tuple[int] | list[int] = (frame,)
        self.offset = offset  # where its prefix starts in the first frame's DATA (after any padding)
        self.received = 0  # bytes of prefix and body seen so far
        self.ended = False  # its direction ended (END_STREAM): a message still short is cut
        self._flag = 0
        self._problem: str | None = None  # a decompression problem, once found

    @property
    def direction(self) -> Direction:
        return self.split.direction

    @property
    def encoding(self) -> str | None:
        """grpc-encoding of its direction."""
        return self.split.encoding

    @property
    def reader(self) -> MessageReader:
        return self.split.reader

    @property
    def max_message(self) -> int:
        """Decompression stops past this many bytes."""
        return self.split.max_message

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
        split = self.split
        data, problem = decompress(split.reader(self), self.compressed, split.encoding, split.max_message)
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

    __slots__ = ("direction", "messages", "count", "reader", "encoding", "max_message", "_head", "_current",
                 "_on_frame")

    def __init__(self, direction: Direction, reader: MessageReader,
                 on_frame: Callable[[int, GrpcMessage], None] | None = None, max_message: int = MAX_MESSAGE) -> None:
        self.direction = direction
        self.max_message = max_message
        self.messages: list[GrpcMessage] = []  # the first MESSAGES_KEPT of them
        self.count = 0  # every message begun, kept or not
        self.reader = reader
        self.encoding: str | None = None
        self._head = b""  # the prefix bytes of the current message seen so far
        self._current: GrpcMessage | None = None  # a message whose prefix or body is still arriving
        self._on_frame = on_frame  # told each (frame, message) pair once

    def _touch(self, message: GrpcMessage, frame: int) -> None:
        frames = message.frames
        if frames[-1] != frame:
            if isinstance(frames, tuple):
                message.frames = [*frames, frame]
            else:
                frames.append(frame)
            if self._on_frame is not None and message.index < MESSAGES_KEPT:
                self._on_frame(frame, message)

    @property
    def unkept(self) -> int:
        """Messages past MESSAGES_KEPT: cut and counted, not kept."""
        return self.count - len(self.messages)

    def feed(self, frame: int, body: bytes) -> None:
        """The body of the next DATA frame of this direction (padding already taken off)."""
        pos, n = 0, len(body)
        current = self._current
        if not n and current is not None:
            self._touch(current, frame)  # an empty frame in the middle of a message is part of it
        while pos < n:
            if current is None:
                if self.count >= MESSAGES_KEPT:
                    # Past the kept ones, a message that lies whole in this body is only counted: no
                    # object for it (a 16 MiB frame of empty messages holds 3 million).
                    pos = self._count_whole(body, pos)
                    if pos >= n:
                        break
                current = self._current = GrpcMessage(self, self.count, frame, pos)
                self.count += 1
                if current.index < MESSAGES_KEPT:  # past it the message is only followed to its end
                    self.messages.append(current)
                    if self._on_frame is not None:
                        self._on_frame(frame, current)
            else:
                self._touch(current, frame)
            if current.received < PREFIX:
                take = min(PREFIX - current.received, n - pos)
                self._head += body[pos:pos + take]  # at most 5 bytes: a new small bytes each time is cheapest
                current.received += take
                pos += take
                if current.received < PREFIX:
                    break
                current._flag = self._head[0]
                current.compressed = self._head[0] == 1
                current.length = int.from_bytes(self._head[1:5], "big")
                self._head = b""
            take = min(current.length - (current.received - PREFIX), n - pos)
            current.received += take
            pos += take
            if current.whole:
                current = self._current = None

    def _count_whole(self, body: bytes, pos: int) -> int:
        """Count the messages that lie whole in body[pos:]; where the first one that does not begins."""
        n, count = len(body), self.count
        while pos + PREFIX <= n:
            end = pos + PREFIX + int.from_bytes(body[pos + 1:pos + PREFIX], "big")
            if end > n:
                break
            count += 1
            pos = end
        self.count = count
        return pos

    def end(self) -> None:
        """The direction ended (END_STREAM): a message still short is cut, not unfinished."""
        for message in self.messages:
            message.ended = True

    def set_encoding(self, encoding: str | None) -> None:
        """The direction's grpc-encoding, once its headers say it."""
        self.encoding = encoding  # its messages read it here


def split_messages(direction: Direction, pieces: list[tuple[int, bytes]],
                   encoding: str | None = None, complete: bool = True, *,
                   max_message: int = MAX_MESSAGE) -> list[GrpcMessage]:
    """The messages in one direction's DATA payloads, in order: a pure function of
    (frame index, body) pieces, so a test can feed it any cut of any messages.

    `complete` says the stream direction ended (END_STREAM seen): a message still
    short then is a problem; otherwise it is simply not finished yet.
    """
    bodies = dict(pieces)

    def read(message: GrpcMessage) -> bytes:
        joined = b"".join(bodies[f] for f in message.frames)
        return joined[message.offset + PREFIX:message.offset + PREFIX + message.length]

    splitter = MessageSplitter(direction, read, max_message=max_message)
    splitter.set_encoding(encoding)
    for frame, body in pieces:
        splitter.feed(frame, body)
    if complete:
        splitter.end()
    return splitter.messages


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
