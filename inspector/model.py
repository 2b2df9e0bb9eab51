"""The model every view reads: sessions, connections, streams, frames,
header blocks and findings.

A saved capture and a live proxy fill the same model. Frames live in one
columnar `FrameLog` per session (arrays, not an object per frame) so a
capture of a million frames stays small; `FrameLog[i]` hands out a
`FrameRecord` when a view wants one. Payload bytes are not stored: a frame
knows where its payload sits in its direction's byte stream, and the
session's `PayloadStore` reads it back from the capture or the recording.
"""

from __future__ import annotations

import struct
import sys
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from itertools import starmap
from operator import itemgetter
from typing import TYPE_CHECKING, Literal, NamedTuple, Protocol, cast

from inspector.http2.frames import DEFAULT_WINDOW, FRAME_HEADER_LENGTH, flag_names, type_name

if TYPE_CHECKING:
    from inspector.findings.engine import FindingsEngine
    from inspector.rpc.calls import CallLog


class Direction(IntEnum):
    """Who sent the bytes."""

    CLIENT = 0
    SERVER = 1

    @property
    def label(self) -> str:
        return "client" if self is Direction.CLIENT else "server"

    @property
    def peer(self) -> Direction:
        return Direction.SERVER if self is Direction.CLIENT else Direction.CLIENT


class StreamState(IntEnum):
    """RFC 9113 section 5.1 states, as the client sees them.

    "local" is the client, "remote" the server: half-closed (local) means the
    client has sent END_STREAM and only the server may still send.
    """

    IDLE = 0
    RESERVED_LOCAL = 1
    RESERVED_REMOTE = 2
    OPEN = 3
    HALF_CLOSED_LOCAL = 4
    HALF_CLOSED_REMOTE = 5
    CLOSED = 6

    @property
    def label(self) -> str:
        return self.name.lower().replace("_local", " (local)").replace("_remote", " (remote)") \
            .replace("_", "-")


class Role(IntEnum):
    """What a header block is, on its stream."""

    NONE = 0
    REQUEST = 1
    RESPONSE = 2
    INFORMATIONAL = 3
    TRAILERS = 4
    PUSH_REQUEST = 5

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


class Severity(IntEnum):
    """How much a finding matters."""

    INFO = 0
    WARNING = 1
    ERROR = 2


#: Rule ids of findings made without one (code that builds `Finding(severity, message, ...)`).
DEFAULT_RULE_PROBLEM = "capture.damage"
DEFAULT_RULE_NOTE = "capture.note"


@dataclass(slots=True, frozen=True)
class Finding:
    """Something a reader should notice: the rule that says so, where it happened, and how often.

    A grouped finding (one rule firing many times on one connection or stream) is one
    record: `frame`, `packet` and `time` say where it first happened, `last_frame` where
    it last did, `count` how many times. The rules are in `inspector.findings.rules`.
    Fields after `frame` were added later and have defaults, so the positional form
    `Finding(severity, message, reference, conn_index, stream_id, packet, frame)` still works;
    such a finding gets the rule `capture.damage` (or `capture.note` when it is info).
    """

    severity: Severity
    message: str
    reference: str = ""
    conn_index: int | None = None
    stream_id: int | None = None
    packet: int | None = None
    frame: int | None = None  # index in the session's FrameLog
    rule: str = ""
    time: float | None = None
    last_frame: int | None = None
    count: int = 1
    threshold: tuple[str, float, str] | None = None  # (limit name, value, where the value came from)
    last_packet: int | None = None
    last_time: float | None = None

    def __post_init__(self) -> None:
        if not self.rule:
            object.__setattr__(self, "rule", DEFAULT_RULE_PROBLEM if self.severity > Severity.INFO
                               else DEFAULT_RULE_NOTE)

    def one_line(self) -> str:
        where = []
        if self.packet is not None:
            where.append(f"packet {self.packet}")
        if self.conn_index is not None:
            where.append(f"conn {self.conn_index}")
        if self.stream_id is not None:
            where.append(f"stream {self.stream_id}")
        ref = f" ({self.reference})" if self.reference else ""
        times = f" [x{self.count}]" if self.count > 1 else ""
        text = f"{self.severity.name.lower()} {self.rule}: {self.message}{times}{ref}"
        return f"{', '.join(where)}: {text}" if where else text


Header = tuple[str, str]


class HeaderBlock(NamedTuple):
    """A decoded field block (HEADERS or PUSH_PROMISE plus CONTINUATIONs)."""

    # mypy sees a field named `index` as overriding tuple.index (python/mypy#4507); it is the field we mean.
    index: int  # type: ignore[assignment]
    conn_index: int
    stream_id: int
    direction: Direction
    role: Role
    headers: tuple[Header, ...]
    frame: int  # FrameLog index of the frame that completed it (-1: HTTP/1.1 upgrade request)
    end_stream: bool
    error: str | None  # why decoding stopped early, if it did
    unknown_refs: tuple[int, ...]  # dynamic-table indexes the capture never saw
    # How each field was written on the wire, packed (http2.hpack_decoder.unpack_representations).
    representations: bytes = b""

    def get(self, name: str) -> str | None:
        """First value of a header, or None."""
        for k, v in self.headers:
            if k == name:
                return v
        return None


# Packed values back to their enums: a dict lookup, where calling the enum costs a microsecond
# (records are built by the million when a view walks many calls).
_DIRECTION_OF = {d.value: d for d in Direction}
_ROLE_OF = {r.value: r for r in Role}
_STATE_OF = {s.value: s for s in StreamState}


class _Column:
    """A typed column of a packed log: `log.stream_id` is every frame's stream id, as an array."""

    __slots__ = ("name",)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, log: _PackedLog, owner: type | None = None) -> array:
        return log.column(self.name)


class Shifted:
    """A column of a log whose oldest records were dropped (a live session's bounded history),
    indexed by absolute record number like the whole column it stands for: `len` is the log's
    length, iteration gives the records kept. An index of a dropped record raises IndexError
    instead of wrapping round to the other end."""

    __slots__ = ("items", "base")

    def __init__(self, items: array | list, base: int) -> None:
        self.items = items
        self.base = base

    def __getitem__(self, i: int | slice) -> object:
        if isinstance(i, slice):
            start = None if i.start is None else max(0, i.start - self.base) if i.start >= 0 else i.start
            stop = None if i.stop is None else max(0, i.stop - self.base) if i.stop >= 0 else i.stop
            return self.items[start:stop:i.step]
        if i < 0:
            return self.items[i]
        j = i - self.base
        if j < 0:
            raise IndexError(f"record {i} was dropped (history kept from {self.base})")
        return self.items[j]

    def __len__(self) -> int:
        return self.base + len(self.items)

    def __iter__(self) -> Iterator:
        return iter(self.items)


_READERS: dict[tuple[str, tuple[str, ...]], struct.Struct] = {}  # _PackedLog._reader's, by class name and fields


class _PackedLog:
    """Fixed-size records packed one after another, in the layout of one table.

    `LAYOUT` (field name, struct code) is the only place a record's layout is
    written: the struct format, the column arrays and the field names all come
    from it. One packed record costs one C call to append; a view that wants a
    whole column, to filter or sort, gets an array built once and extended as
    the log grows.
    """

    __slots__ = ("buf", "queued", "_arrays", "_rows", "base")

    LAYOUT: tuple[tuple[str, str], ...] = ()
    RECORD = struct.Struct("<")
    FIELDS: tuple[str, ...] = ()
    PLACES: tuple[tuple[int, int], ...] = ()  # (offset in the record, width) of each field
    SLICEABLE: tuple[bool, ...] = ()

    def __init_subclass__(cls) -> None:
        codes = "".join(code for _, code in cls.LAYOUT)
        cls.RECORD = struct.Struct("<" + codes)
        cls.FIELDS = tuple(name for name, _ in cls.LAYOUT)
        # Where each field sits in a record, and whether an array of its type holds it byte for byte,
        # so a column can be cut out of the packed records with strided slices instead of unpacking.
        cls.PLACES = tuple((struct.calcsize("<" + codes[:k]), struct.calcsize("<" + code))
                           for k, code in enumerate(codes))
        cls.SLICEABLE = tuple(sys.byteorder == "little" and array(code.replace("?", "B")).itemsize == width
                              for code, (_, width) in zip(codes, cls.PLACES, strict=True))

    def __init__(self) -> None:
        self.buf = bytearray()  # RECORD after RECORD
        # Records added as tuples of fields in LAYOUT order and not packed yet: a hot loop appends to
        # this list (cheaper than a call of `append`) and calls `pack_queued` when it is done. Every
        # method here packs them first, and `len` counts them, so a reader never sees the difference.
        self.queued: list[tuple] = []
        self._arrays: dict[str, array] = {}
        self._rows: dict[str, int] = {}  # records of each built column, counted from `base`
        # Absolute number of the first record kept: records keep their numbers when the oldest
        # are dropped (`drop`), and `len` stays the number of records ever added.
        self.base = 0

    def __len__(self) -> int:
        return self.base + len(self.buf) // self.RECORD.size + len(self.queued)

    def pack_queued(self) -> None:
        """Pack the records in `queued` onto the buffer (the list is emptied in place: a hot loop
        may hold its bound append)."""
        queued = self.queued
        if not queued:
            return
        try:
            packed = b"".join(starmap(self.RECORD.pack, queued))
        except struct.error:  # a field out of its range: each record as `append` would pack it
            records = queued[:]
            queued.clear()
            self._pack_one_by_one(records)
            return
        self.buf += packed
        queued.clear()

    def _pack_one_by_one(self, records: list[tuple]) -> None:
        for record in records:
            self.buf += self.RECORD.pack(*record)

    def _unpacked(self, i: int) -> tuple:
        self.pack_queued()
        n = len(self)
        if i < 0:
            i += n
        if not self.base <= i < n:
            raise IndexError(f"record {i} was dropped (history kept from {self.base})" if 0 <= i < n else i)
        return (i, *self.RECORD.unpack_from(self.buf, (i - self.base) * self.RECORD.size))

    def rows(self, start: int = 0, end: int | None = None, fields: tuple[str, ...] | None = None) -> Iterator[tuple]:
        """The raw field tuples of records [start, end), in LAYOUT order: the fast path for
        views that print every record (JSONL). `fields` (in LAYOUT order) keeps only those,
        the others are skipped unread. Records before `base` were dropped: asking for
        them raises IndexError."""
        self.pack_queued()
        record = self.RECORD if fields is None else self._reader(fields)
        size = record.size
        stop = len(self) if end is None else end
        if start < self.base:
            raise IndexError(f"record {start} was dropped (history kept from {self.base})")
        start, stop = start - self.base, stop - self.base
        view = memoryview(self.buf)[start * size:stop * size]
        try:
            yield from record.iter_unpack(view)
        finally:
            view.release()

    @classmethod
    def _reader(cls, fields: tuple[str, ...]) -> struct.Struct:
        """A struct that reads only `fields` of a record: pad bytes stand for the others."""
        key = (cls.__name__, fields)
        reader = _READERS.get(key)
        if reader is None:
            wanted = set(fields)
            if tuple(name for name in cls.FIELDS if name in wanted) != fields:
                raise ValueError(f"{fields} are not fields of {cls.__name__} in LAYOUT order")
            codes = "".join(code if name in wanted else f"{width}x"
                            for (name, code), (_, width) in zip(cls.LAYOUT, cls.PLACES, strict=True))
            reader = _READERS[key] = struct.Struct("<" + codes)
        return reader

    def column(self, name: str) -> array:
        """One field of every record, as an array (built once, then extended). Once records were
        dropped it is a `Shifted` view of the records kept, indexed by absolute record number."""
        col = self._built(name)
        # A Shifted answers indexing, slicing, len and iteration as the whole array would.
        return col if not self.base else cast(array, Shifted(col, self.base))

    def kept(self, name: str) -> tuple[array, int]:
        """One field of the records kept, as a plain array, and the number of its first record: the
        fast path for a loop over many records of a log that may have dropped some (`column`'s
        Shifted view costs a Python call per item)."""
        return self._built(name), self.base

    def drop(self, count: int) -> None:
        """Forget the oldest `count` records kept; the others keep their numbers. Costs the
        records kept (a move of the buffers), so callers drop many at a time."""
        self.pack_queued()
        count = min(count, len(self) - self.base)
        if count <= 0:
            return
        del self.buf[:count * self.RECORD.size]
        for name, col in self._arrays.items():
            built = self._rows[name]
            del col[:min(count, built)]
            self._rows[name] = max(0, built - count)
        self.base += count

    def _built(self, name: str) -> array:
        self.pack_queued()
        col = self._arrays.get(name)
        k = self.FIELDS.index(name)
        if col is None:
            col = self._arrays[name] = array(self.LAYOUT[k][1].replace("?", "B"))
            self._rows[name] = 0
        done, count = self._rows[name], len(self.buf) // self.RECORD.size
        if done < count:
            size = self.RECORD.size
            if self.SLICEABLE[k]:
                # The field's bytes of every record, one strided slice per byte of it: C speed,
                # 600,000 records in milliseconds, where unpacking them takes most of a second.
                offset, width = self.PLACES[k]
                start, end, buf = done * size + offset, count * size, self.buf
                if width == 1:
                    col.frombytes(buf[start:end:size])
                elif not offset % width and not size % width:  # aligned: one strided pass of items
                    code = cast("Literal['I']", col.typecode)  # the stubs take one literal code per overload
                    with memoryview(buf) as raw, raw.cast(code) as items:
                        col.frombytes(items[start // width:end // width:size // width].tobytes())
                else:
                    out = bytearray((count - done) * width)
                    for j in range(width):
                        out[j::width] = buf[start + j:end:size]
                    col.frombytes(out)
            else:
                view = memoryview(self.buf)[done * size:count * size]
                col.extend([r[k] for r in self.RECORD.iter_unpack(view)])
                view.release()
            self._rows[name] = count
        return col


class HeaderBlockLog(_PackedLog):
    """Every header block of a session, packed; the decoded header tuples, and how each field
    was represented on the wire, are kept beside the records and shared between identical
    blocks. `table_lost` lists where a side's HPACK table became unknown (bytes lost, a block
    too big to decode): (conn_index, direction, index of the first block after it)."""

    __slots__ = ("_headers", "_representations", "errors", "unknown_refs", "table_lost")

    LAYOUT = (("conn_index", "I"), ("stream_id", "I"), ("direction", "B"), ("role", "B"), ("frame", "i"),
              ("end_stream", "?"))
    conn_index = _Column()
    stream_id = _Column()
    direction = _Column()
    role = _Column()
    frame = _Column()
    end_stream = _Column()

    def __init__(self) -> None:
        super().__init__()
        self._headers: list[tuple[Header, ...]] = []  # the same tuple for every identical block
        self._representations: list[bytes] = []  # packed, the same object for identical blocks
        self.errors: dict[int, str] = {}
        self.unknown_refs: dict[int, tuple[int, ...]] = {}
        self.table_lost: list[tuple[int, int, int]] = []

    def append(self, conn_index: int, stream_id: int, direction: int, role: int,
               headers: tuple[Header, ...], frame: int, end_stream: bool, representations: bytes = b"") -> int:
        """Add a block; returns its index."""
        if self.queued:  # blocks keep their order
            self.pack_queued()
        all_headers = self._headers
        all_headers.append(headers)
        self._representations.append(representations)
        buf = self.buf
        buf += _BLOCK_PACK(conn_index, stream_id, direction, role, frame, end_stream)
        return self.base + len(all_headers) - 1

    def pack_queued(self) -> None:
        """Pack the blocks in `queued`, each a tuple of `append`'s arguments (not LAYOUT's fields
        alone: the header tuple and representations go to their lists)."""
        queued = self.queued
        if not queued:
            return
        self._headers.extend(map(_HEADERS_OF, queued))
        self._representations.extend(map(_REPRESENTATIONS_OF, queued))
        self.buf += b"".join(starmap(_BLOCK_PACK, map(_BLOCK_FIELDS_OF, queued)))
        queued.clear()

    @property
    def headers(self) -> list[tuple[Header, ...]]:
        """Every block's header tuple, by block index (a `Shifted` view once blocks were dropped)."""
        self.pack_queued()
        return self._headers if not self.base else cast(list, Shifted(self._headers, self.base))

    def headers_kept(self) -> tuple[list[tuple[Header, ...]], int]:
        """The header tuples of the blocks kept, and the number of the first (see `kept`)."""
        self.pack_queued()
        return self._headers, self.base

    @property
    def representations(self) -> list[bytes]:
        """Every block's packed field representations, by block index."""
        self.pack_queued()
        return self._representations if not self.base else cast(list, Shifted(self._representations, self.base))

    def drop(self, count: int) -> None:
        """Forget the oldest `count` blocks kept (see `_PackedLog.drop`)."""
        count = min(count, len(self) - self.base)
        if count <= 0:
            return
        super().drop(count)
        del self._headers[:count]
        del self._representations[:count]
        for kept in (self.errors, self.unknown_refs):
            for i in [i for i in kept if i < self.base]:
                del kept[i]

    def __len__(self) -> int:
        return self.base + len(self._headers) + len(self.queued)

    def __getitem__(self, i: int) -> HeaderBlock:
        index, conn_index, sid, direction, role, frame, end_stream = self._unpacked(i)
        at = index - self.base
        return HeaderBlock(index, conn_index, sid, _DIRECTION_OF[direction], _ROLE_OF[role], self._headers[at],
                           frame, end_stream, self.errors.get(index), self.unknown_refs.get(index, ()),
                           self._representations[at])

    def __iter__(self) -> Iterator[HeaderBlock]:
        for i in range(self.base, len(self)):
            yield self[i]

    def role_of(self, i: int) -> Role:
        """The role of block i, without building the whole record."""
        return Role(self.role[i])


class FrameRecord(NamedTuple):
    """One HTTP/2 frame as it was on the wire, and the state right after it."""

    index: int  # type: ignore[assignment]  # as HeaderBlock.index
    conn_index: int
    direction: Direction
    packet: int
    time: float
    stream_id: int
    type_code: int
    flags: int
    length: int
    offset: int  # byte offset of the frame header in its direction's stream
    stream_state: StreamState
    conn_window_client: int  # connection send window of the client, after this frame
    conn_window_server: int
    stream_window_client: int  # this stream's send window of the client
    stream_window_server: int
    header_block: int  # index into Session.header_blocks, or -1
    control_value: int  # the value its row shows: see `payloads.control_value`

    @property
    def type_name(self) -> str:
        return type_name(self.type_code)

    @property
    def flag_names(self) -> tuple[str, ...]:
        return flag_names(self.type_code, self.flags)

    @property
    def payload_offset(self) -> int:
        return self.offset + FRAME_HEADER_LENGTH


_I32_MIN, _I32_MAX = -2**31, 2**31 - 1


def _i32(value: int) -> int:
    return _I32_MIN if value < _I32_MIN else _I32_MAX if value > _I32_MAX else value


class FrameLog(_PackedLog):
    """Every frame of a session in capture order, as packed fixed-size records.

    `log[i]` is a FrameRecord; `log.stream_id` (and every other field of it
    but `index`) is that column as an array, for filters and sorts over many
    frames; `log.rows()` iterates the raw tuples.
    """

    __slots__ = ()

    LAYOUT = (("conn_index", "I"), ("direction", "B"), ("packet", "I"), ("time", "d"), ("stream_id", "I"),
              ("type_code", "B"), ("flags", "B"), ("length", "I"), ("offset", "Q"), ("stream_state", "B"),
              ("conn_window_client", "i"), ("conn_window_server", "i"), ("stream_window_client", "i"),
              ("stream_window_server", "i"), ("header_block", "i"), ("control_value", "I"))
    conn_index = _Column()
    direction = _Column()
    packet = _Column()
    time = _Column()
    stream_id = _Column()
    type_code = _Column()
    flags = _Column()
    length = _Column()
    offset = _Column()
    stream_state = _Column()
    conn_window_client = _Column()
    conn_window_server = _Column()
    stream_window_client = _Column()
    stream_window_server = _Column()
    header_block = _Column()
    control_value = _Column()

    def append(self, conn_index: int, direction: int, packet: int, time: float, stream_id: int,
               type_code: int, flags: int, length: int, offset: int, stream_state: int,
               conn_window_client: int, conn_window_server: int, stream_window_client: int,
               stream_window_server: int, header_block: int = -1, control_value: int = 0) -> int:
        """Add one frame; returns its index.

        Windows are stored as 32-bit values: a window past that range is
        already a flow-control error, and is kept at the limit.
        """
        if self.queued:  # records keep their order
            self.pack_queued()
        buf = self.buf  # a bytearray: += extends it in place (the hot path: no attribute set)
        index = self.base + len(buf) // _FRAME_SIZE
        try:
            buf += _FRAME_PACK(conn_index, direction, packet, time, stream_id, type_code, flags, length, offset,
                               stream_state, conn_window_client, conn_window_server, stream_window_client,
                               stream_window_server, header_block, control_value)
        except struct.error:
            buf += _FRAME_PACK(conn_index, direction, packet, time, stream_id, type_code, flags, length, offset,
                               stream_state, _i32(conn_window_client), _i32(conn_window_server),
                               _i32(stream_window_client), _i32(stream_window_server), header_block, control_value)
        return index

    def next_index(self) -> int:
        """The index the next added frame will have."""
        return len(self)

    def _pack_one_by_one(self, records: list[tuple]) -> None:
        for record in records:
            self.append(*record)  # clamps the windows to 32 bits

    def __getitem__(self, i: int) -> FrameRecord:
        (index, conn_index, direction, packet, time, sid, type_code, flags, length, offset, state, cwc, cws,
         swc, sws, hb, value) = self._unpacked(i)
        return FrameRecord(index, conn_index, _DIRECTION_OF[direction], packet, time, sid, type_code, flags,
                           length, offset, _STATE_OF[state], cwc, cws, swc, sws, hb, value)

    def __iter__(self) -> Iterator[FrameRecord]:
        for i in range(self.base, len(self)):
            yield self[i]


_FRAME_PACK, _FRAME_SIZE = FrameLog.RECORD.pack, FrameLog.RECORD.size
_BLOCK_PACK = HeaderBlockLog.RECORD.pack
# A queued block is a tuple of HeaderBlockLog.append's arguments: its header tuple, its
# representations, and the fields its record packs.
_HEADERS_OF, _REPRESENTATIONS_OF, _BLOCK_FIELDS_OF = itemgetter(4), itemgetter(7), itemgetter(0, 1, 2, 3, 5, 6)


class Stream:
    """One HTTP/2 stream: its state now and the frames that made it so.

    Kept lean on purpose (a large capture has hundreds of thousands):
    times, byte counts and header blocks are derived from its frames.
    Its send windows are kept as offsets from the initial window the
    receiver's SETTINGS give (RFC 9113 §6.9.2), so a change of that setting
    costs nothing per stream: the window is `offset + initial`.
    """

    REQUEST_SEEN = 1  # bits of `seen`: the request block has been decoded
    RESPONSE_SEEN = 2  # a final (non-1xx) response block has
    COUNTED = 4  # counted among the client's open streams (findings: SETTINGS_MAX_CONCURRENT_STREAMS)

    __slots__ = ("conn_index", "stream_id", "state", "_index", "window_offset_client", "window_offset_server",
                 "reset_by", "reset_code", "promised_by", "upgraded", "seen")

    def __init__(self, conn_index: int, stream_id: int, state: StreamState = StreamState.IDLE,
                 index: StreamFrames | None = None) -> None:
        self.conn_index = conn_index
        self.stream_id = stream_id
        self.state = state
        self._index = index
        self.window_offset_client = 0  # the client's send window on this stream, less the initial one
        self.window_offset_server = 0
        self.reset_by: Direction | None = None
        self.reset_code: int | None = None
        self.promised_by: int | None = None  # the stream its PUSH_PROMISE came on
        self.upgraded = False  # stream 1 of an h2c Upgrade: the request came as HTTP/1.1
        self.seen = 0  # Stream.REQUEST_SEEN | Stream.RESPONSE_SEEN | Stream.COUNTED

    @property
    def pushed(self) -> bool:
        return self.stream_id % 2 == 0

    @property
    def frames(self) -> array:
        """FrameLog indexes of this stream's frames, in order."""
        if self._index is None:
            return array("I")
        return self._index.of(self.conn_index, self.stream_id)

    def __repr__(self) -> str:
        return f"Stream(conn={self.conn_index}, id={self.stream_id}, {self.state.label})"


class StreamFrames:
    """Which frames belong to which stream: built from the frame log when first
    asked, then kept up to date, so decoding never pays for it."""

    __slots__ = ("log", "done", "by_stream")

    def __init__(self, log: FrameLog) -> None:
        self.log = log
        self.done = 0
        self.by_stream: dict[tuple[int, int], array] = {}

    def of(self, conn_index: int, stream_id: int) -> array:
        """Frame indexes of one stream (stream 0: the connection's own frames)."""
        n = len(self.log)
        if self.done < n:
            conns, base = self.log.kept("conn_index")
            sids, _ = self.log.kept("stream_id")
            by_stream = self.by_stream
            for i in range(max(self.done, base), n):
                key = (conns[i - base], sids[i - base])
                frames = by_stream.get(key)
                if frames is None:
                    frames = by_stream[key] = array("I")
                frames.append(i)
            self.done = n
        return self.by_stream.get((conn_index, stream_id)) or array("I")

    def drop_before(self, first: int, streams: set[tuple[int, int]]) -> None:
        """The frames before `first` were dropped, and the `streams` (conn_index, id) forgotten."""
        self.of(0, 0)  # index every frame still kept first
        by_stream = self.by_stream
        for key in streams:
            by_stream.pop(key, None)
        for key, frames in list(by_stream.items()):
            if frames[-1] < first:
                del by_stream[key]
            elif frames[0] < first:
                del frames[:bisect_left(frames, first)]


class Goaway(NamedTuple):
    """A GOAWAY frame's facts, read once when it was decoded."""

    frame: int  # FrameLog index
    direction: Direction
    last_stream_id: int
    error_code: int


@dataclass(slots=True, eq=False)
class Connection:
    """One TCP connection that carries HTTP/2 (or was seen as HTTP/1.1)."""

    index: int
    client: str  # "ip:port"
    server: str
    protocol: str = "h2c"  # h2c prior knowledge, "h2c-upgrade", "http/1.1", "h2-midstream"
    streams: dict[int, Stream] = field(default_factory=dict)
    settings_client: dict[int, int] = field(default_factory=dict)  # last SETTINGS each side sent
    settings_server: dict[int, int] = field(default_factory=dict)
    window_client: int = DEFAULT_WINDOW  # connection-level send windows
    window_server: int = DEFAULT_WINDOW
    initial_window_client: int = DEFAULT_WINDOW  # a new stream's send window for the client (the server's setting)
    initial_window_server: int = DEFAULT_WINDOW
    frame_count: int = 0
    goaways: list[Goaway] = field(default_factory=list)
    closed_by: str | None = None  # "client FIN", "server RST", ...
    target: str | None = None  # "host:port" a forward-proxy client asked for (CONNECT), if it did
    # Closed streams of a bounded history dropped from `streams`: the highest id, so that a late
    # frame on one finds it closed again rather than idle (the decoder's `_stream`).
    forgotten: int = 0
    forgotten_resets: dict[int, Direction] = field(default_factory=dict)  # the last few dropped reset streams
    # The last frame each side (client, server) sent among those a bounded history dropped, or -1.
    last_dropped: list[int] = field(default_factory=lambda: [-1, -1])

    def stream_windows(self, stream: Stream) -> tuple[int, int]:
        """(client, server) send windows of a stream now."""
        return (stream.window_offset_client + self.initial_window_client,
                stream.window_offset_server + self.initial_window_server)


class PayloadStore(Protocol):
    """Reads payload bytes back from where the source keeps them."""

    def read(self, conn_index: int, direction: Direction, offset: int, length: int) -> bytes:
        """`length` bytes from `offset` in one direction's byte stream (fewer if not captured)."""
        ...

    def close(self) -> None:
        """Let go of the files payloads are read from."""
        ...


class EmptyPayloads:
    """A store for sessions built from bytes in a test: nothing to read back."""

    def read(self, conn_index: int, direction: Direction, offset: int, length: int) -> bytes:
        return b""

    def close(self) -> None:
        """Nothing is held."""


@dataclass(slots=True, eq=False)
class Session:
    """Everything decoded from one capture or one proxy run."""

    name: str
    frames: FrameLog = field(default_factory=FrameLog)
    connections: list[Connection] = field(default_factory=list)
    header_blocks: HeaderBlockLog = field(default_factory=HeaderBlockLog)
    findings: list[Finding] = field(default_factory=list)
    payloads: PayloadStore = field(default_factory=EmptyPayloads)
    #: frames a live session keeps (`--history`): past it the oldest are dropped, a chunk at a
    #: time (`History`); None keeps everything (a finished capture).
    history: History | None = None
    packets: int = 0
    #: epoch seconds of the source's first packet (a capture's first packet, whatever it carries; a
    #: proxy's first connection): the one zero every view counts time from. None before any packet.
    start: float | None = None
    complete: bool = False  # the source has ended
    cut_short: str | None = None  # where a truncated capture ends
    listeners: list[Callable[[Session], None]] = field(default_factory=list)
    stream_frames: StreamFrames = field(init=False)
    _by_index: dict[int, Connection] = field(init=False, default_factory=dict)
    _calls: CallLog | None = field(init=False, default=None)
    _engine: FindingsEngine | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.stream_frames = StreamFrames(self.frames)

    @property
    def calls(self) -> CallLog:
        """The session's gRPC calls, read from the frames it has not read yet whenever asked."""
        if self._calls is None:
            # The gRPC layer reads this model; it is imported here, on first use, so the
            # model does not depend on it at import time.
            from inspector.rpc.calls import CallLog

            self._calls = CallLog(self)
        return self._calls

    @property
    def findings_engine(self) -> FindingsEngine:
        """The findings engine the decoders feed (inspector.findings), made on first use."""
        if self._engine is None:
            # As with the calls: the engine reads this model, so it is imported on first use.
            from inspector.findings.engine import FindingsEngine

            self._engine = FindingsEngine(self)
        return self._engine

    def flush_findings(self) -> None:
        """Bring grouped findings' counts up to date in `findings` (done on every notify)."""
        if self._engine is not None:
            self._engine.flush()

    def time_zero(self) -> float:
        """The zero of relative times: the source's first packet, else the first frame kept (a
        session built from bytes in a test has no packets), else 0."""
        if self.start is not None:
            return self.start
        return self.frames.time[0] if len(self.frames) else 0.0

    def close(self) -> None:
        """Let go of the source's files (the capture payloads are read back from): a command
        that is done with the session says so, rather than leave a descriptor to the collector."""
        self.payloads.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def frame_payload(self, frame: FrameRecord) -> bytes:
        """The payload of a frame, read back from the source."""
        return self.payloads.read(frame.conn_index, frame.direction, frame.payload_offset, frame.length)

    def stream(self, conn_index: int, stream_id: int) -> Stream | None:
        """A stream by connection index and id."""
        c = self.connection(conn_index)
        return c.streams.get(stream_id) if c is not None else None

    def connection(self, conn_index: int) -> Connection | None:
        """A connection by its index."""
        if len(self._by_index) != len(self.connections):
            self._by_index = {c.index: c for c in self.connections}
        return self._by_index.get(conn_index)

    def notify(self) -> None:
        """Tell live views the model grew. A bounded history first drops what views have had
        their turn at: frames added since the last notify are always kept until the next one."""
        if self.history is not None:
            self.history.trim(self)
        self.flush_findings()
        for listener in self.listeners:
            listener(self)


LIVE_HISTORY = 100_000  # frames a live session keeps unless --history says otherwise
FORGOTTEN_RESETS = 1024  # reset streams a connection remembers after dropping them


class History:
    """A live session's bounded history: the last `limit` frames, and what they refer to.

    At each notify, once more than `limit + chunk` frames are kept, the oldest go (a chunk at a
    time, so the cost per frame stays constant), with the header blocks before the first frame
    kept, the closed streams none of whose frames is kept, and (through `CallLog.drop_before`)
    the gRPC calls that ended on them. Open streams and calls stay; frame numbers stay absolute.
    """

    __slots__ = ("limit", "chunk", "seen", "dropped")

    def __init__(self, limit: int, chunk: int | None = None) -> None:
        self.limit = max(1, limit)
        self.chunk = chunk if chunk is not None else max(1000, self.limit // 4)
        self.seen = 0  # frames views have had a turn at (the frame count at the last notify)
        self.dropped = 0  # frames dropped so far (== session.frames.base)

    @classmethod
    def asked(cls, frames: int | None) -> History | None:
        """The history `--history` asks for on a live source: None (not given) is LIVE_HISTORY,
        0 (`all`) keeps everything."""
        if frames is None:
            frames = LIVE_HISTORY
        return cls(frames) if frames else None

    def summary(self, session: Session) -> str:
        """One line of what the session keeps now (the proxy and live commands say it at the end)."""
        frames = session.frames
        streams = sum(len(c.streams) for c in session.connections)
        calls = len(session._calls._calls) if session._calls is not None else 0
        return (f"history: showing the last {len(frames) - frames.base} frames, {frames.base} earlier dropped "
                f"(--history {self.limit}); kept {streams} streams, "
                f"{len(session.header_blocks) - session.header_blocks.base} header blocks, {calls} gRPC calls")

    def trim(self, session: Session) -> None:
        """Drop what is past the limit, of the frames views have seen."""
        frames = session.frames
        cut = min(len(frames) - self.limit, self.seen)
        self.seen = len(frames)
        if cut - frames.base < self.chunk:
            return
        if session._calls is not None:
            session._calls.update()  # the call log reads every frame before any goes
        if session._engine is not None:
            session._engine.before_drop(cut)
        ends: dict[tuple[int, int], int] = {}  # (conn, direction) -> where its last dropped frame ends
        last: dict[tuple[int, int], int] = {}  # (conn, direction) -> its last dropped frame
        for i, (conn_index, d, _, _, _, _, _, length, offset, *_) in enumerate(frames.rows(frames.base, cut),
                                                                           frames.base):
            ends[conn_index, d] = offset + FRAME_HEADER_LENGTH + length
            last[conn_index, d] = i
        for (conn_index, d), i in last.items():
            dropped_conn = session.connection(conn_index)
            if dropped_conn is not None:
                dropped_conn.last_dropped[d] = i
        index = session.stream_frames
        index.of(0, 0)
        gone: set[tuple[int, int]] = set()
        closed = StreamState.CLOSED
        # The streams none of whose frames is kept: those of them that are closed go.
        for (conn_index, sid), own in index.by_stream.items():
            if own[-1] >= cut or not sid:
                continue
            conn = session.connection(conn_index)
            stream = conn.streams.get(sid) if conn is not None else None
            if conn is None or stream is None or stream.state is not closed:
                continue
            del conn.streams[sid]
            gone.add((conn_index, sid))
            if stream.reset_by is not None:  # frames in flight after a reset stay allowed
                resets = conn.forgotten_resets
                resets[sid] = stream.reset_by
                if len(resets) > FORGOTTEN_RESETS:
                    del resets[next(iter(resets))]
            if sid > conn.forgotten:
                conn.forgotten = sid
        blocks = session.header_blocks
        block_frames = blocks.column("frame")
        first_block = blocks.base
        while first_block < len(blocks) and block_frames[first_block] < cut:
            first_block += 1
        if session._calls is not None:
            session._calls.drop_before(cut, first_block, gone)
        frames.drop(cut - frames.base)
        blocks.drop(first_block - blocks.base)
        index.drop_before(cut, gone)
        forget = getattr(session.payloads, "forget", None)
        if forget is not None:
            # A closed connection none of whose frames is kept has no payload left to read back.
            with_frames = {conn_index for conn_index, _ in index.by_stream}
            finished = {c.index for c in session.connections if c.closed_by is not None and c.index not in with_frames}
            forget(ends, finished)
        self.dropped = frames.base
