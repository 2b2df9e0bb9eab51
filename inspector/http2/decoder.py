"""The connection decoder: bytes of one connection in, frames into the model out.

Sans-I/O like h2 and hyperframe: it never touches a file or a socket, so a
pcap reader, the proxy and a test feed it the same way:

    decoder.receive(Direction.CLIENT, data, time, packet, stream_offset)

It splits frames, joins CONTINUATION into header blocks, decodes HPACK per
direction, moves stream states (stream_state.TRANSITIONS) and tracks the
flow-control windows. It is an observer: a frame that breaks the rules is
kept and marked with a finding, never dropped.

Each frame type has one small handler in `_HANDLERS` (like h2's
`_frame_dispatch_table`); the payload's fields come from `payloads`. DATA
and a whole HEADERS block on a known stream, nearly all of any capture, take
one inlined fast path in `receive`, which `FAST_PATH = False` switches off
(a test checks both give the same records). Work is linear in the bytes
received: a partial frame waits in a buffer that is appended to, and the
resynchronising scan never looks at a byte twice except to finish a chain.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import NamedTuple

from inspector.http2 import frames as F
from inspector.http2 import payloads as P
from inspector.http2.hpack_decoder import DEFAULT_TABLE_SIZE, DecodedBlock, HpackContext
from inspector.http2.stream_state import AFTER_DATA_FROM as _AFTER_DATA_FROM
from inspector.http2.stream_state import AFTER_HEADERS_FROM as _AFTER_HEADERS_FROM
from inspector.http2.stream_state import StreamEvent, assumed_state, next_state
from inspector.model import (
    Connection,
    Direction,
    Goaway,
    Role,
    Session,
    Stream,
    StreamState,
)

_HEADER = struct.Struct(">BHBBI")
_unpack_header = _HEADER.unpack_from

MAX_WINDOW = 2**31 - 1
MIDSTREAM_MAX_FRAME = 1 << 20  # limit for framing checks when we never saw SETTINGS
RESYNC_BUFFER_LIMIT = 1 << 20  # bytes held while a frame boundary cannot yet be proven
HEADER_BLOCK_LIMIT = 1 << 20  # encoded bytes of one header block kept for decoding; the rest is counted
_KNOWN_TYPES = frozenset(F.TYPE_NAMES)
_FIXED_LENGTH: dict[int, int] = {F.FrameType.PRIORITY: 5, F.FrameType.RST_STREAM: 4, F.FrameType.PING: 8,
                 F.FrameType.WINDOW_UPDATE: 4}
_CONNECTION_ONLY = frozenset({F.FrameType.SETTINGS, F.FrameType.PING, F.FrameType.GOAWAY})
_STREAM_ONLY = frozenset({F.FrameType.DATA, F.FrameType.HEADERS, F.FrameType.PRIORITY,
                          F.FrameType.RST_STREAM, F.FrameType.PUSH_PROMISE,
                          F.FrameType.CONTINUATION})
_DEFINED_BITS = {t: sum(f.bit for f in flags) for t, flags in F.DEFINED_FLAGS.items()}

DATA, HEADERS, SETTINGS, CONTINUATION = (F.FrameType.DATA, F.FrameType.HEADERS, F.FrameType.SETTINGS,
                                         F.FrameType.CONTINUATION)
END_STREAM, END_HEADERS, PADDED, PRIORITY_FLAG = F.END_STREAM, F.END_HEADERS, F.PADDED, F.PRIORITY_FLAG
_PLAIN_HEADERS = END_HEADERS  # flags & _HEADERS_SHAPE == this: one whole block, no padding or priority
_HEADERS_SHAPE = END_HEADERS | PADDED | PRIORITY_FLAG
C, S = Direction.CLIENT, Direction.SERVER
_HEADERS_EVENT = StreamEvent.HEADERS
_REQUEST, _TRAILERS, _RESPONSE, _INFORMATIONAL = Role.REQUEST, Role.TRAILERS, Role.RESPONSE, Role.INFORMATIONAL
_REQUEST_SEEN, _RESPONSE_SEEN = Stream.REQUEST_SEEN, Stream.RESPONSE_SEEN
_IDLE, _CLOSED = StreamState.IDLE, StreamState.CLOSED
_COUNTED = Stream.COUNTED
_STREAM_ID_MASK = P.STREAM_ID_MASK


class PendingBlock:
    """A field block waiting for its END_HEADERS: its fragments are kept up to
    HEADER_BLOCK_LIMIT bytes, and past that only counted."""

    __slots__ = ("stream_id", "promised_id", "end_stream", "fragments", "size", "frames")

    def __init__(self, stream_id: int, promised_id: int, end_stream: bool, fragment: bytes) -> None:
        self.stream_id = stream_id
        self.promised_id = promised_id  # 0 unless it came on PUSH_PROMISE
        self.end_stream = end_stream
        self.fragments = [fragment]
        self.size = len(fragment)
        self.frames = 1

    def add(self, fragment: bytes) -> None:
        """One more CONTINUATION's fragment."""
        self.size += len(fragment)
        self.frames += 1
        if self.size <= HEADER_BLOCK_LIMIT:
            self.fragments.append(fragment)
        elif self.fragments:
            self.fragments = []  # over the limit: nothing of it will be decoded

    @property
    def over_limit(self) -> bool:
        return self.size > HEADER_BLOCK_LIMIT


class Handled(NamedTuple):
    """What a frame handler tells the record it appends."""

    stream: Stream | None
    header_block: int = -1
    control_value: int = 0


class _Side:
    """What the decoder keeps for one direction of the connection."""

    __slots__ = ("buf", "buf_offset", "need", "synced", "expect_preface", "hpack_state", "pending",
                 "skipped_from", "skipped_packet", "skipped_end", "ended")

    def __init__(self, hpack_state: int, synced: bool) -> None:
        self.buf = bytearray()  # bytes received but not yet a whole frame
        self.buf_offset = 0  # stream offset of buf[0]
        self.need = 0  # how many bytes buf must hold before decoding can go on
        self.synced = synced  # False: looking for a frame boundary we can prove
        self.expect_preface = False
        self.hpack_state = hpack_state
        self.pending: PendingBlock | None = None
        self.skipped_from: int | None = None  # stream offset where unframed bytes began
        self.skipped_packet = 0
        self.skipped_end = 0  # stream offset just past the last byte searched
        self.ended = False  # FIN, RST or the end of the source: its HPACK table is let go

    def hold(self, data: bytes, start: int, offset: int, need: int) -> None:
        """Keep data[start:] (which begins at stream `offset`) until `need` bytes are there."""
        self.buf = bytearray(memoryview(data)[start:])
        self.buf_offset = offset
        self.need = need


Handler = Callable[["ConnectionDecoder", int, bytes, int, int, int, int, int, int], Handled]


class ConnectionDecoder:
    """Decodes one connection's two byte streams into `session`'s model."""

    FAST_PATH = True  # inline DATA and plain HEADERS in `receive`; off, every frame takes its handler

    def __init__(self, session: Session, conn: Connection, hpack: HpackContext, *,
                 midstream: bool = False) -> None:
        self.session = session
        self.conn = conn
        self.hpack = hpack
        self.midstream = midstream
        state = hpack.initial_state(partial=midstream)
        self.sides = (_Side(state, synced=not midstream), _Side(state, synced=not midstream))
        self.sides[C].expect_preface = not midstream
        # frame-size limit each side accepts (the receiver's SETTINGS_MAX_FRAME_SIZE)
        default_max = MIDSTREAM_MAX_FRAME if midstream else F.DEFAULT_MAX_FRAME_SIZE
        self.max_frame = [default_max, default_max]
        self.table_limit = [DEFAULT_TABLE_SIZE if not midstream else 1 << 30] * 2
        self.highest_stream = 0
        # The capture may have begun after an h2c Upgrade (no handshake seen, or only the server's 101):
        # stream 1 without a request is then the upgraded request's, not an idle stream.
        self.upgrade_unseen = False
        self.checks = session.findings_engine.connection(conn, midstream=midstream)
        self._time = 0.0  # of the frame a handler is handling (handlers report findings with it)
        self._packet = 0

    # ---- input -----------------------------------------------------------

    def receive(self, direction: Direction, data: bytes, time: float, packet: int,
                offset: int) -> None:
        """Bytes that arrived in `direction`, starting at stream `offset`, in capture packet `packet`."""
        side = self.sides[direction]
        if side.buf:
            side.buf += data
            if len(side.buf) < side.need:
                return
            data, offset = bytes(side.buf), side.buf_offset
            side.buf = bytearray()
        pos = 0
        if side.expect_preface:
            need = len(F.CLIENT_PREFACE)
            if len(data) < need and F.CLIENT_PREFACE.startswith(data):
                side.hold(data, 0, offset, len(data) + 1)  # look again at the next byte
                return
            side.expect_preface = False
            if data.startswith(F.CLIENT_PREFACE):
                pos = need
            else:
                # The finding points at the client's first frame: what it sent instead of the preface.
                self.checks.report("h2.preface", "the client did not start with the connection preface",
                                   frame=self.session.frames.next_index(), packet=packet, time=time)
        if not side.synced:
            pos = self._resync(side, direction, data, pos, offset, packet)
            if pos < 0:
                return
        n = len(data)
        d = int(direction)
        peer = 1 - d
        conn = self.conn
        streams = conn.streams
        log = self.session.frames
        blocks = self.session.header_blocks
        first_index = index = log.next_index()  # `index`: the next frame's, `block` the next header block's
        block = len(blocks)
        # The fast path's frames and blocks go to their logs' queues, packed together when this call
        # ends (a list append costs less than a call of `append`); the logs count them meanwhile.
        queue, queue_block = log.queued.append, blocks.queued.append
        max_frame = self.max_frame
        hpack_cache = self.hpack.cache
        fast = self.FAST_PATH
        after_data, after_headers = _AFTER_DATA_FROM[d], _AFTER_HEADERS_FROM[d]
        conn_index = conn.index
        checks = self.checks
        content_left = checks.content_left
        lint_get = checks.lint_cache.get
        while n - pos >= 9:
            hi, lo, type_code, flags, sid = _unpack_header(data, pos)
            length = hi << 16 | lo
            end = pos + 9 + length
            if length > max_frame[peer]:
                if not self._frame_size_plausible(data, pos, end, direction):
                    side.skipped_from, side.skipped_packet = offset + pos, packet
                    side.synced = False
                    pos = self._resync(side, direction, data, pos + 1, offset, packet)
                    if pos < 0:
                        log.pack_queued()
                        blocks.pack_queued()
                        return
                    continue
                if end <= n:  # too long, but framed: its handler says so
                    self._frame(d, data, pos, length, type_code, flags, sid, time, packet, offset + pos)
                    index, block = log.next_index(), len(blocks)
                    pos = end
                    continue
            if end > n:
                side.hold(data, pos, offset + pos, 9 + length)
                break
            # The fast path: DATA, or a whole header block in one HEADERS frame, on a
            # known stream, with a state transition the RFC allows. Anything else,
            # and every unusual case, takes the frame type's handler.
            # Findings are fed here only what is unusual (an empty DATA, a window at 0, a
            # block that needs a look); a content-length is counted down inline.
            if type_code <= 1 and fast and side.pending is None:
                stream = streams.get(sid)
                # (A stream id with the reserved bit set is the handler's: it masks it and says so.)
                if stream is None and type_code == HEADERS and 0 < sid <= _STREAM_ID_MASK:
                    stream = self._new_stream(sid, d, _HEADERS_EVENT)
                if stream is None:
                    pass  # DATA on a stream never seen: the handler's
                elif type_code == DATA:
                    new = after_data[stream.state << 1 | flags & END_STREAM]
                    if new is not None and not flags & PADDED:
                        stream.state = new
                        if d:
                            conn.window_server -= length
                            stream.window_offset_server -= length
                        else:
                            conn.window_client -= length
                            stream.window_offset_client -= length
                        cwc, cws = conn.window_client, conn.window_server
                        swc = stream.window_offset_client + conn.initial_window_client
                        sws = stream.window_offset_server + conn.initial_window_server
                        queue((conn_index, d, packet, time, sid, DATA, flags, length, offset + pos, new,
                               cwc, cws, swc, sws, -1, 0))
                        if content_left:  # some stream declared a content-length
                            checks.count_down(d, sid, flags, length, index, packet, time)
                        if not length or (cws if d else cwc) <= 0 or (sws if d else swc) <= 0:
                            checks.data(d, stream, sid, flags, length, cws if d else cwc, sws if d else swc, index,
                                        packet, time)
                        if new is _CLOSED and stream.seen & _COUNTED:
                            stream.seen &= ~_COUNTED
                            checks.active -= 1
                        index += 1
                        pos = end
                        continue
                elif flags & _HEADERS_SHAPE == _PLAIN_HEADERS:
                    old = stream.state
                    new = after_headers[old << 1 | flags & END_STREAM]
                    raw = data[pos + 9:end]
                    decoded = hpack_cache.get((side.hpack_state, raw))
                    fresh = False  # decoded here: a block the cache could not apply (a new value, a table change)
                    if new is not None and not sid >> 31 and (decoded is None or not decoded.clean):
                        decoded = self.hpack.decode(side.hpack_state, raw, self.table_limit[peer])
                        fresh = True
                    if new is not None and decoded is not None and (decoded.clean or fresh):
                        stream.state = new
                        side.hpack_state = decoded.state_id
                        headers = decoded.headers
                        if d:
                            role = _role(stream, d, headers, flags & END_STREAM)
                        else:
                            role = _TRAILERS if stream.seen & _REQUEST_SEEN else _REQUEST
                            stream.seen |= _REQUEST_SEEN
                        queue((conn_index, d, packet, time, sid, HEADERS, flags, length, offset + pos, new,
                               conn.window_client, conn.window_server,
                               stream.window_offset_client + conn.initial_window_client,
                               stream.window_offset_server + conn.initial_window_server, block, 0))
                        queue_block((conn_index, sid, d, role, headers, index, bool(flags & END_STREAM),
                                     decoded.representations))
                        hb = block
                        block += 1
                        if old is _IDLE:  # a new stream
                            # a client's new stream, in order, under the limits: counted here; else the checks
                            active = checks.active
                            if d or sid <= checks.last_client or not sid & 1 or active >= checks.open_limit:
                                checks.opened(stream, d, index, packet, time)
                            else:
                                checks.last_client = sid
                                checks.active = active + 1
                                checks.streams_opened += 1
                                stream.seen |= _COUNTED
                        if fresh:  # what `_header_block` does after decoding, in its order
                            self._block_problems(d, sid, hb, decoded, index, packet, time)
                            checks.header_block(d, sid, role, headers, flags & END_STREAM, length, index, packet,
                                                time, decoded.list_size)
                        else:
                            lint = lint_get(id(headers) << 3 | role)
                            if lint is None or lint[0] or lint[2] >= checks.size_check:
                                checks.header_block(d, sid, role, headers, flags & END_STREAM, length, index,
                                                    packet, time)
                            elif flags & END_STREAM:
                                if content_left:
                                    left = content_left.pop(sid << 1 | d, None)
                                    if left:
                                        checks.content_mismatch(d, sid, left, index, packet, time)
                            elif lint[1] >= 0:
                                content_left[sid << 1 | d] = lint[1]
                        if new is _CLOSED and stream.seen & _COUNTED:
                            stream.seen &= ~_COUNTED
                            checks.active -= 1
                        index += 1
                        pos = end
                        continue
            self._frame(d, data, pos, length, type_code, flags, sid, time, packet, offset + pos)
            index, block = log.next_index(), len(blocks)
            pos = end
        else:
            if pos < n:
                side.hold(data, pos, offset + pos, 9)
        log.pack_queued()
        blocks.pack_queued()
        conn.frame_count += len(log) - first_index

    def gap(self, direction: Direction, size: int, packet: int) -> None:
        """`size` bytes of `direction` were never captured: drop what was half-read and resync."""
        side = self.sides[direction]
        side.buf = bytearray()
        side.synced = False
        side.expect_preface = False
        side.pending = None
        side.skipped_from = None
        side.hpack_state = self.hpack.lose_sync(side.hpack_state)
        blocks = self.session.header_blocks
        blocks.table_lost.append((self.conn.index, int(direction), len(blocks)))
        self.checks.report("capture.gap", f"{size} bytes from the {direction.label} are missing from the capture "
                           f"(a hole just before packet {packet}); decoding resumes at the next frame "
                           "boundary it can prove", packet=packet)

    def close(self, direction: Direction, how: str, packet: int) -> None:
        """The TCP side `direction` ended with FIN or RST."""
        if self.conn.closed_by is None:
            self.conn.closed_by = f"{direction.label} {how}"
        side = self.sides[direction]
        if side.buf and side.synced:
            self.checks.report("capture.unfinished-frame",
                               f"the {direction.label} closed with {len(side.buf)} bytes of an unfinished frame",
                               packet=packet)
            side.buf = bytearray()
        pending = side.pending
        self.checks.tcp_closed(direction, how, (pending.stream_id, pending.frames) if pending else None,
                               packet)
        side.pending = None
        self._unframed_to_the_end(direction, side, f"closed ({how})", packet)
        self._end(side)

    def _unframed_to_the_end(self, direction: Direction, side: _Side, ending: str, packet: int | None) -> None:
        """Bytes searched for a frame boundary that never came: said, once, when the side ends."""
        if side.synced or side.skipped_from is None:
            return
        end = side.buf_offset + len(side.buf) if side.buf else side.skipped_end
        skipped = max(end - side.skipped_from, 0)
        self.checks.report("capture.unframed-bytes",
                           f"skipped {skipped} bytes from the {direction.label} that do not form HTTP/2 frames "
                           f"(from packet {side.skipped_packet} until the {direction.label} {ending})",
                           packet=packet)
        side.skipped_from = None
        side.buf = bytearray()

    def _end(self, side: _Side) -> None:
        """No block comes from this side any more: the HPACK context may free its table."""
        if not side.ended:
            side.ended = True
            self.hpack.release(side.hpack_state)

    def finish(self) -> None:
        """The source ended: report frames left unfinished."""
        for d in (C, S):
            side = self.sides[d]
            if side.buf and side.synced:
                self.checks.report("capture.unfinished-frame", f"the capture ends inside a frame from the {d.label} "
                                   f"({len(side.buf)} bytes of it captured)")
            if side.pending is not None:
                self.checks.report("capture.unfinished-header-block",
                                   f"the capture ends inside a header block on stream {side.pending.stream_id} "
                                   "(no END_HEADERS)", stream_id=side.pending.stream_id)
            self._unframed_to_the_end(d, side, "capture ended", None)
            self._end(side)
        self.checks.finish()

    # ---- framing checks and resynchronisation ------------------------------

    def _plausible(self, data: bytes, pos: int, direction: Direction) -> int:
        """Length of a frame whose header at `pos` is plausible, or -1."""
        hi, lo, t, flags, sid = _unpack_header(data, pos)
        length = hi << 16 | lo
        if sid >> 31 or length > self.max_frame[direction.peer] or t not in _KNOWN_TYPES:
            return -1
        if flags & ~_DEFINED_BITS.get(t, 0) and t <= CONTINUATION:
            return -1
        fixed = _FIXED_LENGTH.get(t)
        if fixed is not None and length != fixed:
            return -1
        if t == SETTINGS and (length % 6 or (flags & F.ACK and length)):
            return -1
        if (t in _CONNECTION_ONLY and sid) or (t in _STREAM_ONLY and not sid):
            return -1
        if sid > self.highest_stream + 2000 and self.highest_stream:
            return -1
        return length

    def _frame_size_plausible(self, data: bytes, pos: int, end: int, direction: Direction) -> bool:
        """A frame over the receiver's limit is kept when the bytes after it frame correctly."""
        if end + 9 <= len(data):
            return self._plausible(data, end, direction) >= 0
        return False

    def _proven_boundary(self, data: bytes, start: int, direction: Direction) -> tuple[int, int, int]:
        """(boundary, -1, 0) for the first offset >= start where a chain of plausible frames proves
        a boundary; (-1, q, need) when the bytes from q on cannot yet say (its chain runs past the
        end, and `need` bytes from q would let it go on).

        Proof: two or more plausible headers chain to exactly the end of what we
        have, or three chain in a row. A candidate whose chain breaks is never
        looked at again, so the scan is linear in the bytes.
        """
        n = len(data)
        for q in range(start, n - 8):
            chain, p = 0, q
            while p + 9 <= n:
                length = self._plausible(data, p, direction)
                if length < 0:
                    break
                chain += 1
                p += 9 + length
                if chain >= 3 or (p == n and chain >= 2):
                    return q, -1, 0
            else:
                if p == n and chain >= 1 and q == start and self.midstream and start == 0:
                    return q, -1, 0  # a chunk that starts on a frame boundary, as most do
                if chain and p + 9 - q <= RESYNC_BUFFER_LIMIT:
                    return -1, q, p + 9 - q  # undecided: wait for the rest of its chain
        q = max(start, n - 8)
        return -1, q, n - q + 1

    def _resync(self, side: _Side, direction: Direction, data: bytes, pos: int, offset: int,
                packet: int) -> int:
        """Find where framing can resume; holds the undecided bytes and returns -1 when not yet provable."""
        if side.skipped_from is None:
            side.skipped_from, side.skipped_packet = offset + pos, packet
        q, undecided, need = self._proven_boundary(data, pos, direction)
        if q < 0:
            side.hold(data, undecided, offset + undecided, need)
            side.skipped_end = offset + len(data)
            return -1
        skipped = offset + q - side.skipped_from
        if skipped:
            self.checks.report("capture.unframed-bytes",
                               f"skipped {skipped} bytes from the {direction.label} that do not form "
                               f"HTTP/2 frames (from packet {side.skipped_packet})", packet=packet)
        side.skipped_from = None
        side.synced = True
        return q

    # ---- one frame ---------------------------------------------------------

    def _stream(self, sid: int, direction: int, event: StreamEvent) -> Stream:
        stream = self.conn.streams.get(sid)
        return self._new_stream(sid, direction, event) if stream is None else stream

    def _new_stream(self, sid: int, direction: int, event: StreamEvent) -> Stream:
        """A stream first seen now (`_stream` when the fast path already knows it is not there)."""
        conn, highest = self.conn, self.highest_stream
        if sid <= conn.forgotten and sid <= highest:
            state = _CLOSED  # a closed stream a bounded history dropped: closed still
        elif self.midstream or sid <= highest and sid % 2:
            state = assumed_state(Direction(direction), event) if self.midstream else _IDLE
        else:
            state = _IDLE
        stream = Stream(conn.index, sid, state, self.session.stream_frames)
        if state is _CLOSED:
            stream.reset_by = conn.forgotten_resets.get(sid)
        conn.streams[sid] = stream
        if sid > highest:
            self.highest_stream = sid
        if sid == 1 and self.upgrade_unseen and not (direction == C and event is StreamEvent.HEADERS):
            # RFC 9113 §3.1 (RFC 7540 §3.2): the request sent before the Upgrade is stream 1,
            # half-closed from the client; it was not captured.
            stream.upgraded = True
            stream.state = StreamState.HALF_CLOSED_LOCAL
        return stream

    def _transition(self, stream: Stream, direction: int, event: StreamEvent, type_code: int,
                    packet: int, frame: int) -> bool:
        """Move the stream's state; False (and a finding) when the RFC does not allow the event."""
        old = stream.state
        new = next_state(old, Direction(direction), event)
        if new is None and old is StreamState.CLOSED and stream.reset_by is not None \
                and stream.reset_by != direction:
            return False  # frames in flight after the peer's RST_STREAM are allowed (RFC 9113 §5.1, "closed")
        if new is None:
            self.checks.violation(_state_rule(old, direction, type_code, event),
                                  f"{F.type_name(type_code)} from the {Direction(direction).label} on a stream that "
                                  f"is {old.label}", direction, stream.stream_id, frame, packet, self._time)
            if event is StreamEvent.RST_STREAM:
                stream.state = new = StreamState.CLOSED
            else:
                return False
        stream.state = new
        if old is StreamState.IDLE and new is not StreamState.IDLE:
            self.checks.opened(stream, direction, frame, packet, self._time)
        if new is StreamState.CLOSED and old is not StreamState.CLOSED:
            self.checks.closed(stream)
        return new is not None

    def _move_window(self, sender: int, delta: int, *, connection: bool, stream: Stream | None) -> None:
        """Flow control: `sender`'s send window on the connection and/or on `stream` changes
        by `delta` (DATA counts against both, RFC 9113 §6.9.1; a WINDOW_UPDATE from the peer
        widens one of them)."""
        conn = self.conn
        if sender:
            if connection:
                conn.window_server += delta
            if stream is not None:
                stream.window_offset_server += delta
        else:
            if connection:
                conn.window_client += delta
            if stream is not None:
                stream.window_offset_client += delta

    def _append(self, direction: int, packet: int, time: float, sid: int, type_code: int, flags: int,
                length: int, offset: int, handled: Handled) -> None:
        """Add the frame's record, with the state and windows it left behind."""
        conn, stream = self.conn, handled.stream
        if stream is not None:
            window_client, window_server = conn.stream_windows(stream)
            state = int(stream.state)
        else:
            window_client = window_server = state = 0
        self.session.frames.append(conn.index, direction, packet, time, sid, type_code, flags, length, offset,
                                   state, conn.window_client, conn.window_server, window_client, window_server,
                                   handled.header_block, handled.control_value)

    def _frame(self, direction: int, data: bytes, pos: int, length: int, type_code: int,
               flags: int, sid: int, time: float, packet: int, offset: int) -> None:
        """Decode one frame by its type's handler and add its record to the frame log."""
        index = self.session.frames.next_index()
        self._time, self._packet = time, packet
        checks = self.checks
        side = self.sides[direction]
        if sid >> 31:
            sid &= P.STREAM_ID_MASK
            checks.violation("h2.reserved-bit", "reserved bit of the stream identifier is set", direction, sid,
                             index, packet, time)
        if side.pending is not None and (type_code != CONTINUATION or sid != side.pending.stream_id):
            checks.violation("h2.continuation-interrupted",
                             f"{F.type_name(type_code)} on stream {sid} interrupts the header block of "
                             f"stream {side.pending.stream_id}", direction, sid, index, packet, time)
            side.pending = None
        # DATA's bytes stay in the capture (a padded one's Pad Length is read, to check it)
        payload = data[pos + 9:pos + 9 + length] if type_code != DATA or flags & PADDED and length else b""
        fixed = _FIXED_LENGTH.get(type_code)
        if fixed is not None and length != fixed:
            checks.violation("h2.frame-length", f"{F.type_name(type_code)} of {length} bytes (it is {fixed})",
                             direction, sid, index, packet, time)
        handler = _HANDLERS.get(type_code, ConnectionDecoder._on_unknown)
        handled = handler(self, direction, payload, flags, sid, packet, index, type_code, length)
        if type_code in _STREAM_ONLY and not sid:
            checks.violation("h2.stream-zero", f"{F.type_name(type_code)} on stream 0", direction, 0, index,
                             packet, time)
        elif type_code in _CONNECTION_ONLY and sid:
            checks.violation("h2.connection-frame-on-stream", f"{F.type_name(type_code)} on stream {sid}, "
                             "not stream 0", direction, sid, index, packet, time)
        if length > self.max_frame[1 - direction]:
            checks.violation("h2.frame-size", f"frame of {length} bytes exceeds the peer's SETTINGS_MAX_FRAME_SIZE "
                             f"({self.max_frame[1 - direction]})", direction, sid, index, packet, time)
        self._append(direction, packet, time, sid, type_code, flags, length, offset, handled)

    # ---- the handlers: one per frame type ----------------------------------
    # Each takes (direction, payload, flags, stream id, packet, frame index, type code,
    # length) and returns what the frame's record needs.

    def _on_data(self, direction: int, payload: bytes, flags: int, sid: int, packet: int, index: int,
                 type_code: int, length: int) -> Handled:
        checks, conn, time = self.checks, self.conn, self._time
        if flags & PADDED:
            try:
                P.DataPayload.parse(flags, payload)
            except P.FieldError as exc:
                checks.violation("h2.padding", f"DATA: {exc}", direction, sid, index, packet, time)
        if not sid:  # counted against the connection only
            self._move_window(direction, -length, connection=True, stream=None)
            return Handled(None)
        stream = conn.streams.get(sid) or self._stream(sid, direction, StreamEvent.DATA)
        self._move_window(direction, -length, connection=True, stream=stream)
        allowed = self._transition(stream, direction, StreamEvent.DATA, type_code, packet, index)
        if flags & END_STREAM and allowed:
            self._transition(stream, direction, StreamEvent.END_STREAM, type_code, packet, index)
        # the same checks, in the same order, as the fast path in `receive`
        if checks.content_left:
            checks.count_down(direction, sid, flags, length, index, packet, time)
        window_client, window_server = conn.stream_windows(stream)
        cw, sw = (conn.window_server, window_server) if direction else (conn.window_client, window_client)
        if not length or cw <= 0 or sw <= 0:
            checks.data(direction, stream, sid, flags, length, cw, sw, index, packet, time)
        return Handled(stream)

    def _on_headers(self, direction: int, payload: bytes, flags: int, sid: int, packet: int, index: int,
                    type_code: int, length: int) -> Handled:
        fragment = self._fragment(direction, payload, flags, sid, packet, index, type_code)
        if flags & PRIORITY_FLAG and sid and len(payload) >= 5:
            try:
                dependency = P.HeadersPayload.parse(flags, payload).stream_dependency
            except P.FieldError:
                dependency = None
            self.checks.priority(direction, sid, dependency, index, packet, self._time, frame_type="HEADERS")
        stream = None
        if sid:
            stream = self._stream(sid, direction, StreamEvent.HEADERS)
            allowed = self._transition(stream, direction, StreamEvent.HEADERS, type_code, packet, index)
            if flags & END_STREAM and allowed:
                self._transition(stream, direction, StreamEvent.END_STREAM, type_code, packet, index)
        return Handled(stream, self._block_fragment(direction, sid, 0, bool(flags & END_STREAM), flags,
                                                    fragment, index))

    def _on_push_promise(self, direction: int, payload: bytes, flags: int, sid: int, packet: int, index: int,
                         type_code: int, length: int) -> Handled:
        fragment = self._fragment(direction, payload, flags, sid, packet, index, type_code)
        promised = P.control_value(type_code, flags, payload)
        stream = None
        if direction == S and self.conn.settings_client.get(F.Setting.ENABLE_PUSH) == 0:
            self.checks.violation("h2.push-disabled", f"PUSH_PROMISE of stream {promised} after the client set "
                                  "SETTINGS_ENABLE_PUSH to 0", direction, sid, index, packet, self._time)
        if sid:
            stream = self._stream(sid, direction, StreamEvent.HEADERS)
            if promised:
                self._transition(stream, direction, StreamEvent.PUSH_PROMISE, type_code, packet, index)
                pushed = self._stream(promised, direction, StreamEvent.PUSH_PROMISE)
                self._transition(pushed, direction, StreamEvent.PUSH_PROMISE, type_code, packet, index)
                pushed.promised_by = sid
        block = self._block_fragment(direction, sid, promised, False, flags, fragment, index)
        return Handled(stream, block, promised)

    def _on_continuation(self, direction: int, payload: bytes, flags: int, sid: int, packet: int, index: int,
                         type_code: int, length: int) -> Handled:
        stream = self._stream(sid, direction, StreamEvent.CONTROL) if sid else None
        side = self.sides[direction]
        pending = side.pending
        if pending is None or pending.stream_id != sid:
            self.checks.violation("h2.continuation-without-block", "CONTINUATION without a header block in progress",
                                  direction, sid, index, packet, self._time)
            return Handled(stream)
        pending.add(payload)
        self.checks.fragment(direction, sid, pending.frames, pending.size, bool(flags & END_HEADERS), index,
                             packet, self._time)
        if not flags & END_HEADERS:
            return Handled(stream)
        side.pending = None
        if pending.over_limit:
            return Handled(stream, self._oversized_block(direction, pending, index))
        return Handled(stream, self._header_block(direction, pending.stream_id, pending.promised_id,
                                                  pending.end_stream, b"".join(pending.fragments), index))

    def _on_settings(self, direction: int, payload: bytes, flags: int, sid: int, packet: int, index: int,
                     type_code: int, length: int) -> Handled:
        ack = bool(flags & F.ACK)
        if ack and length:
            self.checks.violation("h2.settings-length", f"SETTINGS ACK with a payload of {length} bytes", direction,
                                  sid, index, packet, self._time)
        if not ack:
            self._settings(direction, payload, packet, index)
        if not sid:
            self.checks.settings(direction, ack, len(payload) // 6, index, packet, self._time)
        return Handled(None)

    def _on_window_update(self, direction: int, payload: bytes, flags: int, sid: int, packet: int,
                          index: int, type_code: int, length: int) -> Handled:
        increment = P.control_value(type_code, flags, payload)
        checks = self.checks
        if not increment:
            checks.violation("h2.window-update-zero", "WINDOW_UPDATE with an increment of 0", direction, sid,
                             index, packet, self._time)
        stream = self._stream(sid, direction, StreamEvent.CONTROL) if sid else None
        self._move_window(1 - direction, increment, connection=not sid, stream=stream)  # the *peer* may send more
        if stream is not None:
            self._transition(stream, direction, StreamEvent.CONTROL, type_code, packet, index)
            window = self.conn.stream_windows(stream)[1 - direction]
        else:
            window = self.conn.window_client if direction else self.conn.window_server
        checks.window_update(direction, sid, increment, window, index, packet, self._time)
        return Handled(stream, -1, increment)

    def _on_rst_stream(self, direction: int, payload: bytes, flags: int, sid: int, packet: int, index: int,
                       type_code: int, length: int) -> Handled:
        code = P.control_value(type_code, flags, payload)
        if not sid:
            return Handled(None, -1, code)
        stream = self._stream(sid, direction, StreamEvent.RST_STREAM)
        self._transition(stream, direction, StreamEvent.RST_STREAM, type_code, packet, index)
        stream.reset_by = Direction(direction)
        stream.reset_code = code
        self.checks.rst_stream(direction, stream, code, index, packet, self._time)
        return Handled(stream, -1, code)

    def _on_priority(self, direction: int, payload: bytes, flags: int, sid: int, packet: int, index: int,
                     type_code: int, length: int) -> Handled:
        if not sid:
            return Handled(None)
        try:
            dependency: int | None = P.PriorityPayload.parse(flags, payload).stream_dependency
        except P.FieldError:
            dependency = None
        self.checks.priority(direction, sid, dependency, index, packet, self._time)
        stream = self._stream(sid, direction, StreamEvent.CONTROL)
        self._transition(stream, direction, StreamEvent.CONTROL, type_code, packet, index)
        return Handled(stream)

    def _on_goaway(self, direction: int, payload: bytes, flags: int, sid: int, packet: int, index: int,
                   type_code: int, length: int) -> Handled:
        try:
            goaway = P.GoawayPayload.parse(flags, payload)
            last, code = goaway.last_stream_id, goaway.error_code
        except P.FieldError:
            last, code = 0, 0
        self.conn.goaways.append(Goaway(index, Direction(direction), last, code))
        self.checks.settings_changed()  # new streams are looked at from now on (h2.stream-after-goaway)
        if code:
            self.checks.report("h2.goaway-error", f"GOAWAY from the {Direction(direction).label} with "
                               f"{F.error_name(code)}", frame=index, packet=packet, time=self._time)
        return Handled(None, -1, last)

    def _on_ping(self, direction: int, payload: bytes, flags: int, sid: int, packet: int, index: int,
                 type_code: int, length: int) -> Handled:
        if not sid:
            self.checks.ping(direction, bool(flags & F.ACK), payload, index, packet, self._time)
        return Handled(None)

    def _on_unknown(self, direction: int, payload: bytes, flags: int, sid: int, packet: int, index: int,
                    type_code: int, length: int) -> Handled:
        """ALTSVC, ORIGIN, PRIORITY_UPDATE and unknown types: recorded, no state of their own."""
        return Handled(self.conn.streams.get(sid) if sid else None)

    # ---- header blocks -----------------------------------------------------

    def _fragment(self, direction: int, payload: bytes, flags: int, sid: int, packet: int, index: int,
                  type_code: int) -> bytes:
        try:
            return P.header_block_fragment(type_code, flags, payload)
        except P.FieldError as exc:
            rule = "h2.padding" if "Pad" in str(exc) else "h2.frame-length"
            self.checks.violation(rule, f"{F.type_name(type_code)}: {exc}", direction, sid, index, packet,
                                  self._time)
            return b""

    def _block_fragment(self, direction: int, sid: int, promised: int, end_stream: bool, flags: int,
                        fragment: bytes, index: int) -> int:
        """The first fragment of a block: decoded now if END_HEADERS, else kept for CONTINUATION."""
        if flags & END_HEADERS:
            return self._header_block(direction, sid, promised, end_stream, fragment, index)
        self.sides[direction].pending = PendingBlock(sid, promised, end_stream, fragment)
        return -1

    def _oversized_block(self, direction: int, pending: PendingBlock, frame: int) -> int:
        """A block too big to keep: recorded with no headers, and the side's HPACK table is
        marked as lost, since the block may have changed it."""
        side = self.sides[direction]
        side.hpack_state = self.hpack.lose_sync(side.hpack_state)
        sid = pending.promised_id or pending.stream_id
        blocks = self.session.header_blocks
        role = Role.PUSH_REQUEST if pending.promised_id else Role.NONE
        index = blocks.append(self.conn.index, sid, direction, role, (), frame, pending.end_stream)
        error = (f"header block of {pending.size} bytes in {pending.frames} frames is over the "
                 f"{HEADER_BLOCK_LIMIT >> 20} MiB this tool decodes; its headers are not shown and "
                 "the dynamic table is unknown from here")
        blocks.errors[index] = error
        blocks.table_lost.append((self.conn.index, direction, index + 1))
        self.checks.violation("h2.hpack", f"HPACK: {error}", direction, sid, frame, self._packet, self._time)
        return index

    def _settings(self, direction: int, payload: bytes, packet: int, frame: int) -> None:
        checks, time = self.checks, self._time
        if len(payload) % 6:
            checks.violation("h2.settings-length", f"SETTINGS length {len(payload)} is not a multiple of 6",
                             direction, 0, frame, packet, time)
        conn = self.conn
        mine = conn.settings_client if direction == C else conn.settings_server
        for ident, value in P.settings_pairs(payload):
            mine[ident] = value
            if ident == F.Setting.HEADER_TABLE_SIZE:
                self.table_limit[direction] = value
            elif ident == F.Setting.ENABLE_PUSH:
                if value > 1 or (value == 1 and direction == S):
                    checks.violation("h2.settings-value", f"SETTINGS_ENABLE_PUSH {value} from the "
                                     f"{Direction(direction).label}", direction, 0, frame, packet, time)
            elif ident == F.Setting.MAX_FRAME_SIZE:
                if not 16_384 <= value <= 16_777_215:
                    checks.violation("h2.settings-value", f"SETTINGS_MAX_FRAME_SIZE {value} is out of range",
                                     direction, 0, frame, packet, time)
                else:
                    self.max_frame[direction] = value
            elif ident == F.Setting.INITIAL_WINDOW_SIZE:
                if value > MAX_WINDOW:
                    checks.violation("h2.settings-value", f"SETTINGS_INITIAL_WINDOW_SIZE {value} is too large",
                                     direction, 0, frame, packet, time)
                    continue
                # The receiver's setting sizes the windows the peer sends into (RFC 9113
                # section 6.9.2). Streams keep offsets from it, so this is one assignment.
                if direction == C:
                    conn.initial_window_server = value
                else:
                    conn.initial_window_client = value

    def _header_block(self, direction: int, stream_id: int, promised_id: int, end_stream: bool,
                      raw: bytes, frame: int) -> int:
        side = self.sides[direction]
        decoded = self.hpack.decode(side.hpack_state, raw, self.table_limit[1 - direction])
        side.hpack_state = decoded.state_id
        headers = decoded.headers
        sid = promised_id or stream_id
        stream = self.conn.streams.get(sid)
        if promised_id:
            role = Role.PUSH_REQUEST
        elif stream is None:
            role = Role.NONE
        else:
            role = _role(stream, direction, headers, end_stream)
        blocks = self.session.header_blocks
        index = blocks.append(self.conn.index, sid, direction, role, headers, frame, end_stream,
                              decoded.representations)
        checks, packet, time = self.checks, self._packet, self._time
        self._block_problems(direction, sid, index, decoded, frame, packet, time)
        if role is not Role.NONE:
            checks.header_block(direction, sid, role, headers, end_stream, len(raw), frame, packet, time,
                                decoded.list_size)
        return index

    def _block_problems(self, direction: int, sid: int, index: int, decoded: DecodedBlock, frame: int, packet: int,
                        time: float) -> None:
        """Block `index`'s decoding error (a finding too) and its unknown dynamic-table references."""
        blocks = self.session.header_blocks
        if decoded.error:
            blocks.errors[index] = decoded.error
            rule = "h2.hpack-table-size" if decoded.error.startswith("table size update to") else "h2.hpack"
            self.checks.violation(rule, f"HPACK: {decoded.error}", direction, sid, frame, packet, time)
        if decoded.unknown_refs:
            blocks.unknown_refs[index] = decoded.unknown_refs

    # ---- HTTP/1.1 Upgrade ----------------------------------------------------

    def upgraded_request(self, headers: tuple[tuple[str, str], ...], settings: bytes,
                         end_stream: bool) -> None:
        """An h2c Upgrade: the HTTP/1.1 request becomes stream 1 (RFC 7540 §3.2),
        half-closed from the client, and its HTTP2-Settings are the client's."""
        self._settings(C, settings, 0, -1)
        stream = self._stream(1, C, StreamEvent.HEADERS)
        stream.upgraded = True
        stream.state = StreamState.HALF_CLOSED_LOCAL if end_stream else StreamState.OPEN
        stream.seen |= _REQUEST_SEEN
        self.session.header_blocks.append(self.conn.index, 1, C, Role.REQUEST, headers, -1, end_stream)


_HANDLERS: dict[int, Handler] = {
    F.FrameType.DATA: ConnectionDecoder._on_data,
    F.FrameType.HEADERS: ConnectionDecoder._on_headers,
    F.FrameType.PRIORITY: ConnectionDecoder._on_priority,
    F.FrameType.RST_STREAM: ConnectionDecoder._on_rst_stream,
    F.FrameType.SETTINGS: ConnectionDecoder._on_settings,
    F.FrameType.PUSH_PROMISE: ConnectionDecoder._on_push_promise,
    F.FrameType.PING: ConnectionDecoder._on_ping,
    F.FrameType.GOAWAY: ConnectionDecoder._on_goaway,
    F.FrameType.WINDOW_UPDATE: ConnectionDecoder._on_window_update,
    F.FrameType.CONTINUATION: ConnectionDecoder._on_continuation,
}
"""Frame type code -> its handler; a type not here (ALTSVC, ORIGIN, ...) takes `_on_unknown`."""


def _state_rule(state: StreamState, direction: int, type_code: int, event: StreamEvent) -> str:
    """Which h2.* rule a frame not allowed in the stream's state breaks."""
    if state is StreamState.IDLE:
        return "h2.frame-on-idle-stream"
    if state is StreamState.CLOSED:
        return "h2.stream-id-reuse" if type_code == HEADERS and direction == C else "h2.frame-on-closed-stream"
    ended = StreamState.HALF_CLOSED_LOCAL if direction == C else StreamState.HALF_CLOSED_REMOTE
    if state is ended and type_code in (DATA, HEADERS):
        return "h2.frame-after-end-stream"
    return "h2.stream-state"


def _role(stream: Stream, direction: int, headers: tuple[tuple[str, str], ...],
          end_stream: bool | int) -> Role:
    """What a header block is on its stream (see docs/ARCHITECTURE.md, vocabulary)."""
    # (Roles are read from module names: an enum's attribute costs a class lookup each time.)
    if not direction:  # the client
        if stream.seen & _REQUEST_SEEN:
            return _TRAILERS
        stream.seen |= _REQUEST_SEEN
        return _REQUEST
    status = headers[0][1] if headers and headers[0][0] == ":status" else None
    if status is not None and status[:1] == "1":
        return _INFORMATIONAL
    if stream.seen & _RESPONSE_SEEN or status is None:
        return _TRAILERS
    stream.seen |= _RESPONSE_SEEN
    if end_stream:
        for name, _ in headers:
            if name == "grpc-status":
                return _TRAILERS  # a gRPC Trailers-Only response
    return _RESPONSE
