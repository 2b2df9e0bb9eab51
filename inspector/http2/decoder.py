"""The connection decoder: bytes of one connection in, frames into the model out.

Sans-I/O like h2 and hyperframe: it never touches a file or a socket, so a
pcap reader, the proxy and a test feed it the same way:

    decoder.receive(Direction.CLIENT, data, time, packet, stream_offset)

It splits frames, joins CONTINUATION into header blocks, decodes HPACK per
direction, moves stream states (stream_state.TRANSITIONS) and tracks the
flow-control windows. It is an observer: a frame that breaks the rules is
kept and marked with a finding, never dropped.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from inspector.http2 import frames as F
from inspector.http2.hpack_decoder import DEFAULT_TABLE_SIZE, HpackContext
from inspector.http2.stream_state import AFTER_DATA as _AFTER_DATA
from inspector.http2.stream_state import AFTER_HEADERS as _AFTER_HEADERS
from inspector.http2.stream_state import StreamEvent, assumed_state, next_state
from inspector.model import FRAME_RECORD as _RECORD
from inspector.model import HEADER_BLOCK_RECORD as _HB_RECORD
from inspector.model import (
    Connection,
    Direction,
    Finding,
    Role,
    Session,
    Severity,
    Stream,
    StreamState,
)

_HEADER = struct.Struct(">BHBBI")
_unpack_header = _HEADER.unpack_from
_I32 = struct.Struct(">I")

MAX_WINDOW = 2**31 - 1
MIDSTREAM_MAX_FRAME = 1 << 20  # limit for framing checks when we never saw SETTINGS
RESYNC_BUFFER_LIMIT = 1 << 20
_KNOWN_TYPES = frozenset(F.TYPE_NAMES)
_FIXED_LENGTH = {F.FrameType.PRIORITY: 5, F.FrameType.RST_STREAM: 4, F.FrameType.PING: 8,
                 F.FrameType.WINDOW_UPDATE: 4}
_CONNECTION_ONLY = frozenset({F.FrameType.SETTINGS, F.FrameType.PING, F.FrameType.GOAWAY})
_STREAM_ONLY = frozenset({F.FrameType.DATA, F.FrameType.HEADERS, F.FrameType.PRIORITY,
                          F.FrameType.RST_STREAM, F.FrameType.PUSH_PROMISE,
                          F.FrameType.CONTINUATION})
_DEFINED_BITS = {t: sum(f.bit for f in flags) for t, flags in F.DEFINED_FLAGS.items()}

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
C, S = Direction.CLIENT, Direction.SERVER
_HEADERS = StreamEvent.HEADERS
_REQUEST, _TRAILERS = Role.REQUEST, Role.TRAILERS


class PendingBlock(NamedTuple):
    """A field block waiting for its END_HEADERS."""

    stream_id: int
    promised_id: int  # 0 unless it came on PUSH_PROMISE
    end_stream: bool
    fragments: list[bytes]


class _Side:
    """What the decoder keeps for one direction of the connection."""

    __slots__ = ("buf", "buf_offset", "synced", "expect_preface", "hpack_state", "pending",
                 "skipped_from", "skipped_packet")

    def __init__(self, hpack_state: int, synced: bool) -> None:
        self.buf = b""  # bytes received but not yet a whole frame
        self.buf_offset = 0  # stream offset of buf[0]
        self.synced = synced  # False: looking for a frame boundary we can prove
        self.expect_preface = False
        self.hpack_state = hpack_state
        self.pending: PendingBlock | None = None
        self.skipped_from: int | None = None  # stream offset where unframed bytes began
        self.skipped_packet = 0


class ConnectionDecoder:
    """Decodes one connection's two byte streams into `session`'s model."""

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
        self.initial_window = [F.DEFAULT_WINDOW, F.DEFAULT_WINDOW]  # receiver's setting, per side
        self.highest_stream = 0

    # ---- input -----------------------------------------------------------

    def receive(self, direction: Direction, data: bytes, time: float, packet: int,
                offset: int) -> None:
        """Bytes that arrived in `direction`, starting at stream `offset`, in capture packet `packet`."""
        side = self.sides[direction]
        if side.buf:
            data = side.buf + data
            offset = side.buf_offset
        pos = 0
        if side.expect_preface:
            need = len(F.CLIENT_PREFACE)
            if len(data) < need and F.CLIENT_PREFACE.startswith(data):
                side.buf, side.buf_offset = data, offset
                return
            side.expect_preface = False
            if data.startswith(F.CLIENT_PREFACE):
                pos = need
            else:
                self._finding(Severity.ERROR, "the client did not start with the connection preface",
                              "RFC 9113 §3.4", packet=packet)
        if not side.synced:
            pos = self._resync(side, direction, data, pos, offset, packet)
            if pos < 0:
                return
        n = len(data)
        d = int(direction)
        peer = 1 - d
        first_index = self.session.frames.next_index()
        frame = self._frame
        conn = self.conn
        streams = conn.streams
        log = self.session.frames
        buf = log.buf
        record_size = _RECORD.size
        pack = _RECORD.pack
        max_frame = self.max_frame
        hpack_cache = self.hpack.cache
        hb_headers = self.session.header_blocks.headers
        hb_buf = self.session.header_blocks.buf
        hb_pack = _HB_RECORD.pack
        conn_index = conn.index
        while n - pos >= 9:
            hi, lo, type_code, flags, sid = _unpack_header(data, pos)
            length = hi << 16 | lo
            end = pos + 9 + length
            if length > max_frame[peer] and not self._frame_size_plausible(data, pos, end, direction):
                side.skipped_from, side.skipped_packet = offset + pos, packet
                side.synced = False
                pos = self._resync(side, direction, data, pos + 1, offset, packet)
                if pos < 0:
                    return
                continue
            if end > n:
                break
            # Fast paths for the frames that make up nearly all traffic: DATA and
            # a whole header block in one HEADERS frame, on a known stream, with
            # a state transition the RFC allows. Anything else takes `_frame`.
            stream = streams.get(sid) if type_code <= 1 and side.pending is None else None
            if stream is None and type_code == HEADERS and sid and side.pending is None:
                stream = self._stream(sid, d, _HEADERS)
            if stream is not None:
                if type_code == DATA:
                    new = _AFTER_DATA.get((stream.state, d, flags & 1))
                    if new is not None:
                        stream.state = new
                        if d:
                            conn.window_server -= length
                            stream.window_server -= length
                        else:
                            conn.window_client -= length
                            stream.window_client -= length
                        try:
                            buf += pack(conn_index, d, packet, time, sid, 0, flags, length, offset + pos,
                                        new, conn.window_client, conn.window_server,
                                        stream.window_client, stream.window_server, -1)
                        except struct.error:  # a window past 32 bits: stored at the limit
                            log.add(conn_index, d, packet, time, sid, 0, flags, length, offset + pos,
                                    new, conn.window_client, conn.window_server,
                                    stream.window_client, stream.window_server, -1)
                        pos = end
                        continue
                elif flags & 0x2C == 4:  # END_HEADERS, no PADDED or PRIORITY
                    new = _AFTER_HEADERS.get((stream.state, d, flags & 1))
                    decoded = hpack_cache.get((side.hpack_state, data[pos + 9:end]))
                    if new is not None and decoded is not None and decoded.clean:
                        stream.state = new
                        index = len(buf) // record_size
                        side.hpack_state = decoded.state_id
                        headers = decoded.headers
                        if d:
                            role = _role(stream, d, headers, flags & 1)
                        else:
                            role = _TRAILERS if stream.seen & 1 else _REQUEST
                            stream.seen |= 1
                        block = len(hb_headers)
                        hb_headers.append(headers)
                        hb_buf += hb_pack(conn_index, sid, d, role, index, flags & 1)
                        try:
                            buf += pack(conn_index, d, packet, time, sid, 1, flags, length, offset + pos,
                                        new, conn.window_client, conn.window_server,
                                        stream.window_client, stream.window_server, block)
                        except struct.error:
                            log.add(conn_index, d, packet, time, sid, 1, flags, length, offset + pos,
                                    new, conn.window_client, conn.window_server,
                                    stream.window_client, stream.window_server, block)
                        pos = end
                        continue
            frame(d, data, pos, length, type_code, flags, sid, time, packet, offset + pos)
            pos = end
        if pos < n:
            side.buf = data[pos:]
            side.buf_offset = offset + pos
        else:
            side.buf = b""
        added = len(buf) // record_size - first_index
        if added:
            if not conn.frame_count:
                conn.first_time = time
            conn.frame_count += added
            conn.last_time = time

    def gap(self, direction: Direction, size: int, packet: int) -> None:
        """`size` bytes of `direction` were never captured: drop what was half-read and resync."""
        side = self.sides[direction]
        side.buf = b""
        side.synced = False
        side.expect_preface = False
        side.pending = None
        side.skipped_from = None
        side.hpack_state = self.hpack.lose_sync(side.hpack_state)
        self._finding(Severity.WARNING,
                      f"{size} bytes from the {direction.label} are missing from the capture "
                      f"(a hole just before packet {packet}); decoding resumes at the next frame "
                      "boundary it can prove", "", packet=packet)

    def close(self, direction: Direction, how: str, packet: int) -> None:
        """The TCP side `direction` ended with FIN or RST."""
        if self.conn.closed_by is None:
            self.conn.closed_by = f"{direction.label} {how}"
        side = self.sides[direction]
        if side.buf and side.synced:
            self._finding(Severity.WARNING,
                          f"the {direction.label} closed with {len(side.buf)} bytes of an unfinished frame",
                          "", packet=packet)
            side.buf = b""

    def finish(self) -> None:
        """The source ended: report frames left unfinished."""
        for d in (C, S):
            side = self.sides[d]
            if side.buf and side.synced:
                self._finding(Severity.WARNING,
                              f"the capture ends inside a frame from the {d.label} "
                              f"({len(side.buf)} bytes of it captured)", "")
            if side.pending is not None:
                self._finding(Severity.WARNING,
                              f"the capture ends inside a header block on stream {side.pending.stream_id} "
                              "(no END_HEADERS)", "RFC 9113 §6.10")

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

    def _proven_boundary(self, data: bytes, start: int, direction: Direction) -> int:
        """First offset >= start where a chain of plausible frames proves a boundary, or -1.

        Proof: two or more plausible headers chain to exactly the end of what we
        have, or three chain in a row.
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
                    return q
            if p == n and chain >= 1 and q == start and self.midstream and start == 0:
                return q  # a chunk that starts on a frame boundary, as most do
        return -1

    def _resync(self, side: _Side, direction: Direction, data: bytes, pos: int, offset: int,
                packet: int) -> int:
        """Find where framing can resume; buffers and returns -1 when not yet provable."""
        if side.skipped_from is None:
            side.skipped_from, side.skipped_packet = offset + pos, packet
        q = self._proven_boundary(data, pos, direction)
        if q < 0:
            keep = data[-RESYNC_BUFFER_LIMIT:] if len(data) > RESYNC_BUFFER_LIMIT else data
            side.buf, side.buf_offset = keep, offset + len(data) - len(keep)
            return -1
        skipped = offset + q - side.skipped_from
        if skipped:
            self._finding(Severity.WARNING,
                          f"skipped {skipped} bytes from the {direction.label} that do not form "
                          f"HTTP/2 frames (from packet {side.skipped_packet})", "RFC 9113 §4.1",
                          packet=packet)
        side.skipped_from = None
        side.synced = True
        return q

    # ---- one frame ---------------------------------------------------------

    def _stream(self, sid: int, direction: int, event: StreamEvent) -> Stream:
        stream = self.conn.streams.get(sid)
        if stream is None:
            if self.midstream or sid <= self.highest_stream and sid % 2:
                state = assumed_state(Direction(direction), event) if self.midstream else StreamState.IDLE
            else:
                state = StreamState.IDLE
            stream = Stream(self.conn.index, sid, state, self.initial_window[S], self.initial_window[C],
                            self.session.stream_frames)
            self.conn.streams[sid] = stream
            if sid > self.highest_stream:
                self.highest_stream = sid
        return stream

    def _transition(self, stream: Stream, direction: int, event: StreamEvent, type_code: int,
                    packet: int, frame: int) -> None:
        new = next_state(stream.state, Direction(direction), event)
        if new is None:
            self._finding(Severity.ERROR,
                          f"{F.type_name(type_code)} from the {Direction(direction).label} on a stream that is "
                          f"{stream.state.label}", "RFC 9113 §5.1", stream_id=stream.stream_id,
                          packet=packet, frame=frame)
            if event is StreamEvent.RST_STREAM:
                stream.state = StreamState.CLOSED
        else:
            stream.state = new

    def _frame(self, direction: int, data: bytes, pos: int, length: int, type_code: int,
               flags: int, sid: int, time: float, packet: int, offset: int) -> None:
        """Decode one frame the general way and add its record to the frame log.

        `direction` is 0 (client) or 1. `receive` inlines the common cases of
        DATA and HEADERS; every other frame, and every unusual case, comes here.
        """
        log = self.session.frames
        index = log.next_index()
        conn = self.conn
        side = self.sides[direction]
        stream: Stream | None = None
        block = -1
        if sid >> 31:
            sid &= 0x7FFF_FFFF
            self._finding(Severity.WARNING, "reserved bit of the stream identifier is set",
                          "RFC 9113 §4.1", stream_id=sid, packet=packet, frame=index)
        if side.pending is not None and (type_code != CONTINUATION or sid != side.pending.stream_id):
            self._finding(Severity.ERROR,
                          f"{F.type_name(type_code)} on stream {sid} interrupts the header block of "
                          f"stream {side.pending.stream_id}", "RFC 9113 §6.10", stream_id=sid,
                          packet=packet, frame=index)
            side.pending = None

        if type_code == DATA and sid:
            stream = conn.streams.get(sid) or self._stream(sid, direction, StreamEvent.DATA)
            if direction:
                conn.window_server -= length
                stream.window_server -= length
            else:
                conn.window_client -= length
                stream.window_client -= length
            self._transition(stream, direction, StreamEvent.DATA, type_code, packet, index)
            if flags & 1:
                self._transition(stream, direction, StreamEvent.END_STREAM, type_code, packet, index)
        else:
            stream, block = self._other_frame(direction, data, pos, length, type_code, flags, sid,
                                              packet, index)
        if length > self.max_frame[1 - direction]:
            self._finding(Severity.ERROR,
                          f"frame of {length} bytes exceeds the peer's SETTINGS_MAX_FRAME_SIZE "
                          f"({self.max_frame[1 - direction]})", "RFC 9113 §4.2", stream_id=sid,
                          packet=packet, frame=index)
        if stream is not None:
            log.add(conn.index, direction, packet, time, sid, type_code, flags, length, offset,
                    stream.state, conn.window_client, conn.window_server, stream.window_client,
                    stream.window_server, block)
        else:
            log.add(conn.index, direction, packet, time, sid, type_code, flags, length, offset, 0,
                    conn.window_client, conn.window_server, 0, 0, block)

    def _other_frame(self, direction: int, data: bytes, pos: int, length: int, type_code: int,
                     flags: int, sid: int, packet: int, index: int) -> tuple[Stream | None, int]:
        """Every frame but the common DATA and HEADERS: returns (its stream, header block index)."""
        conn = self.conn
        side = self.sides[direction]
        stream: Stream | None = None
        block = -1
        payload_start = pos + 9
        payload_end = payload_start + length
        if type_code == HEADERS or type_code == PUSH_PROMISE:
            payload = data[payload_start:payload_end]
            try:
                fragment = F.header_block_fragment(type_code, flags, payload)
            except F.FieldError as exc:
                self._finding(Severity.ERROR, f"{F.type_name(type_code)}: {exc}", "RFC 9113 §6.2",
                              stream_id=sid, packet=packet, frame=index)
                fragment = b""
            promised = 0
            if type_code == PUSH_PROMISE and length >= 4:
                at = 1 if flags & F.PADDED else 0
                if len(payload) >= at + 4:
                    promised = _I32.unpack_from(payload, at)[0] & 0x7FFF_FFFF
            if sid:
                stream = self._stream(sid, direction, StreamEvent.HEADERS)
                if type_code == HEADERS:
                    self._transition(stream, direction, StreamEvent.HEADERS, type_code, packet, index)
                    if flags & F.END_STREAM:
                        self._transition(stream, direction, StreamEvent.END_STREAM, type_code, packet,
                                         index)
                elif promised:
                    self._transition(stream, direction, StreamEvent.PUSH_PROMISE, type_code, packet, index)
                    pushed = self._stream(promised, direction, StreamEvent.PUSH_PROMISE)
                    self._transition(pushed, direction, StreamEvent.PUSH_PROMISE, type_code, packet, index)
                    pushed.promised_by = sid
            end_stream = type_code == HEADERS and bool(flags & F.END_STREAM)
            if flags & F.END_HEADERS:
                block = self._header_block(direction, sid, promised, end_stream, fragment, index)
            else:
                side.pending = PendingBlock(sid, promised, end_stream, [fragment])
        elif type_code == CONTINUATION:
            stream = self._stream(sid, direction, StreamEvent.CONTROL) if sid else None
            pending = side.pending
            if pending is None or pending.stream_id != sid:
                self._finding(Severity.ERROR, "CONTINUATION without a header block in progress",
                              "RFC 9113 §6.10", stream_id=sid, packet=packet, frame=index)
            else:
                pending.fragments.append(data[payload_start:payload_end])
                if flags & F.END_HEADERS:
                    side.pending = None
                    block = self._header_block(direction, pending.stream_id, pending.promised_id,
                                               pending.end_stream, b"".join(pending.fragments), index)
        elif type_code == DATA:  # on stream 0: counted against the connection only
            if direction:
                conn.window_server -= length
            else:
                conn.window_client -= length
        elif type_code == SETTINGS:
            if not flags & F.ACK:
                self._settings(direction, data[payload_start:payload_end], packet, index)
        elif type_code == WINDOW_UPDATE:
            increment = _I32.unpack_from(data, payload_start)[0] & 0x7FFF_FFFF if length >= 4 else 0
            if not increment:
                self._finding(Severity.ERROR, "WINDOW_UPDATE with an increment of 0", "RFC 9113 §6.9",
                              stream_id=sid, packet=packet, frame=index)
            # A WINDOW_UPDATE lets the *peer* send more.
            if sid == 0:
                if direction:
                    conn.window_client += increment
                else:
                    conn.window_server += increment
            else:
                stream = self._stream(sid, direction, StreamEvent.CONTROL)
                if direction:
                    stream.window_client += increment
                else:
                    stream.window_server += increment
                self._transition(stream, direction, StreamEvent.CONTROL, type_code, packet, index)
        elif type_code == RST_STREAM:
            if sid:
                stream = self._stream(sid, direction, StreamEvent.RST_STREAM)
                self._transition(stream, direction, StreamEvent.RST_STREAM, type_code, packet, index)
                stream.reset_by = Direction(direction)
                stream.reset_code = _I32.unpack_from(data, payload_start)[0] if length >= 4 else 0
        elif type_code == PRIORITY:
            if sid:
                stream = self._stream(sid, direction, StreamEvent.CONTROL)
                self._transition(stream, direction, StreamEvent.CONTROL, type_code, packet, index)
        elif type_code == GOAWAY:
            conn.goaway.append(index)
            if length >= 8:
                code = _I32.unpack_from(data, payload_start + 4)[0]
                if code:
                    self._finding(Severity.WARNING,
                                  f"GOAWAY from the {Direction(direction).label} with {F.error_name(code)}",
                                  "RFC 9113 §6.8", packet=packet, frame=index)
        elif sid and type_code != PING:
            stream = conn.streams.get(sid)
        if type_code in _STREAM_ONLY and not sid:
            self._finding(Severity.ERROR, f"{F.type_name(type_code)} on stream 0", "RFC 9113 §6",
                          packet=packet, frame=index)
        elif type_code in _CONNECTION_ONLY and sid:
            self._finding(Severity.ERROR, f"{F.type_name(type_code)} on stream {sid}, not stream 0",
                          "RFC 9113 §6", stream_id=sid, packet=packet, frame=index)
        return stream, block

    def _settings(self, direction: int, payload: bytes, packet: int, frame: int) -> None:
        if len(payload) % 6:
            self._finding(Severity.ERROR, f"SETTINGS length {len(payload)} is not a multiple of 6",
                          "RFC 9113 §6.5", packet=packet, frame=frame)
        mine = self.conn.settings_client if direction == C else self.conn.settings_server
        for ident, value in F.parse_settings(payload):
            mine[ident] = value
            if ident == F.Setting.HEADER_TABLE_SIZE:
                self.table_limit[direction] = value
            elif ident == F.Setting.MAX_FRAME_SIZE:
                if not 16_384 <= value <= 16_777_215:
                    self._finding(Severity.ERROR, f"SETTINGS_MAX_FRAME_SIZE {value} is out of range",
                                  "RFC 9113 §6.5.2", packet=packet, frame=frame)
                else:
                    self.max_frame[direction] = value
            elif ident == F.Setting.INITIAL_WINDOW_SIZE:
                if value > MAX_WINDOW:
                    self._finding(Severity.ERROR, f"SETTINGS_INITIAL_WINDOW_SIZE {value} is too large",
                                  "RFC 9113 §6.5.2", packet=packet, frame=frame)
                    continue
                # The receiver's setting sizes the windows the peer sends into
                # (RFC 9113 section 6.9.2): adjust every stream by the change.
                delta = value - self.initial_window[direction]
                self.initial_window[direction] = value
                if delta:
                    for stream in self.conn.streams.values():
                        if direction == C:
                            stream.window_server += delta
                        else:
                            stream.window_client += delta

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
        index = blocks.append(self.conn.index, sid, direction, role, headers, frame, end_stream)
        if decoded.error:
            blocks.errors[index] = decoded.error
            self._finding(Severity.ERROR, f"HPACK: {decoded.error}", "RFC 7541",
                          stream_id=sid, frame=frame)
        if decoded.unknown_refs:
            blocks.unknown_refs[index] = decoded.unknown_refs
        return index

    def _finding(self, severity: Severity, message: str, reference: str, *, stream_id: int | None = None,
                 packet: int | None = None, frame: int | None = None) -> None:
        self.session.findings.append(Finding(severity, message, reference, self.conn.index, stream_id,
                                             packet, frame))

    # ---- HTTP/1.1 Upgrade ----------------------------------------------------

    def upgraded_request(self, headers: tuple[tuple[str, str], ...], settings: bytes,
                         end_stream: bool) -> None:
        """An h2c Upgrade: the HTTP/1.1 request becomes stream 1 (RFC 7540 §3.2),
        half-closed from the client, and its HTTP2-Settings are the client's."""
        self._settings(C, settings, 0, -1)
        stream = self._stream(1, C, StreamEvent.HEADERS)
        stream.upgraded = True
        stream.state = StreamState.HALF_CLOSED_LOCAL if end_stream else StreamState.OPEN
        stream.seen |= 1
        self.session.header_blocks.append(self.conn.index, 1, C, Role.REQUEST, headers, -1, end_stream)


def _role(stream: Stream, direction: int, headers: tuple[tuple[str, str], ...],
          end_stream: bool) -> Role:
    """What a header block is on its stream (see DESIGN.md, vocabulary)."""
    if direction == C:
        if stream.seen & 1:
            return Role.TRAILERS
        stream.seen |= 1
        return Role.REQUEST
    status = headers[0][1] if headers and headers[0][0] == ":status" else None
    if status is not None and status[:1] == "1":
        return Role.INFORMATIONAL
    if stream.seen & 2 or status is None:
        return Role.TRAILERS
    stream.seen |= 2
    if end_stream:
        for name, _ in headers:
            if name == "grpc-status":
                return Role.TRAILERS  # a gRPC Trailers-Only response
    return Role.RESPONSE
