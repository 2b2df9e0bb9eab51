"""TCP reassembly, per direction, for a capture (sans-I/O).

Segments go in as they were captured; each direction's bytes come out in
order, once, to a `ByteSink`: retransmissions and overlaps are trimmed,
out-of-order segments wait for the hole before them, and a hole that will
never be filled (the peer acknowledged past it, the side closed, too much
is waiting, or the capture ended) is reported as a gap with its size.
A new SYN on a used address pair starts a new connection.

Sequence numbers no sender could have used (bytes before the stream's first
one, more than the largest TCP window ahead, an acknowledgement of bytes
never sendable, a "retransmission" with other bytes) are damage: the
segment is skipped and `on_damage` says so, instead of its bytes being taken
for a retransmission in silence or opening a hole of gigabytes.
"""

from __future__ import annotations

from collections.abc import Callable

from inspector.capture import damage as rules
from inspector.capture.fragments import Piece
from inspector.capture.layers import ACK, FIN, RST, SYN, TcpSegment, address
from inspector.flows import ByteSink, TcpFlow

MAX_WAITING_SEGMENTS = 512
MAX_WAITING_BYTES = 8 << 20
# The largest window TCP can offer (RFC 7323 §2.3: 2^30 with scaling): no segment, and no
# acknowledgement, can be further ahead of the bytes seen than that.
MAX_AHEAD = 1 << 30
_HEAD = 16  # bytes of the last segment kept to tell a retransmission from a wrong sequence number
_MOD = 1 << 32
_HALF = 1 << 31


def _rel(a: int, b: int) -> int:
    """a - b in sequence-number space (RFC 1982 style), as a signed int."""
    d = (a - b) & 0xFFFF_FFFF
    return d - _MOD if d >= _HALF else d


class _Direction:
    __slots__ = ("next_seq", "offset", "waiting", "waiting_bytes", "fin", "closed", "from_a", "isn_known",
                 "last_seq", "last_head", "peer_ack", "peer_ack_packet")

    def __init__(self, from_a: bool) -> None:
        self.next_seq: int | None = None
        self.offset = 0  # stream offset of next_seq
        # seq -> (bytes, packet, start, pieces of a reassembled IP datagram or None)
        self.waiting: dict[int, tuple[bytes, int, int, tuple[Piece, ...] | None]] = {}
        self.waiting_bytes = 0
        self.fin: int | None = None  # sequence number of the FIN
        self.closed = False
        self.from_a = from_a
        self.isn_known = False  # the SYN was seen: nothing can come before next_seq - offset
        # Where the last in-order segment started (its own sequence number) and its first bytes: a
        # retransmission of it must carry the same ones.
        self.last_seq: int | None = None
        self.last_head = b""
        self.peer_ack: int | None = None  # the latest acknowledgement of these bytes by the peer
        self.peer_ack_packet = 0


class _Connection:
    __slots__ = ("flow", "dirs", "key_a", "syn_seq", "had_data")

    def __init__(self, flow: TcpFlow, key_a: tuple) -> None:
        self.flow = flow
        self.dirs = (_Direction(True), _Direction(False))
        self.key_a = key_a
        self.syn_seq: int | None = None
        self.had_data = False


class TcpReassembler:
    """Turns captured TCP segments into ordered byte streams for `sink`."""

    def __init__(self, sink: ByteSink, on_damage: Callable[..., None] | None = None) -> None:
        self.sink = sink
        # CaptureDamage.note: (rule, packet, lost bytes, conn_index=, detail=, example=)
        self._on_damage = on_damage
        self._conns: dict[tuple, _Connection] = {}
        self.flow_count = 0
        self._time = 0.0  # time of the packet being handled

    def _new(self, seg: TcpSegment, initiator_known: bool) -> _Connection:
        key = (seg.src, seg.sport, seg.dst, seg.dport)
        flow = TcpFlow(self.flow_count, address(seg.src, seg.sport), address(seg.dst, seg.dport),
                       seg.sport, seg.dport, initiator_known)
        self.flow_count += 1
        conn = _Connection(flow, key)
        self._conns[key] = conn
        self._conns[(seg.dst, seg.dport, seg.src, seg.sport)] = conn
        return conn

    def segment(self, seg: TcpSegment, data: bytes, time: float, packet: int,
                pieces: tuple[Piece, ...] | None = None) -> None:
        """One captured segment; `data` is the packet it is in, or the datagram reassembled from
        IP fragments, `pieces` saying which packet each stretch of it came from."""
        key = (seg.src, seg.sport, seg.dst, seg.dport)
        conn = self._conns.get(key)
        flags = seg.flags
        self._time = time
        if flags & SYN and not flags & ACK:
            if conn is None or (conn.syn_seq != seg.seq and (conn.had_data or conn.syn_seq is not None
                                                             or conn.key_a != key)):
                self._finish(conn)
                conn = self._new(seg, True)
            conn.syn_seq = seg.seq
            d = conn.dirs[0]
            d.next_seq = (seg.seq + 1) & 0xFFFF_FFFF
            d.offset = 0
            d.isn_known = True
            return
        if conn is None:
            if flags & SYN:  # SYN-ACK first: the sender of it is the server
                conn = self._new(seg._replace(src=seg.dst, sport=seg.dport, dst=seg.src,
                                              dport=seg.sport), True)
            else:
                conn = self._new(seg, False)
        from_a = conn.key_a == key
        d = conn.dirs[0 if from_a else 1]
        if flags & SYN:  # SYN-ACK
            d.next_seq = (seg.seq + 1) & 0xFFFF_FFFF
            d.offset = 0
            d.isn_known = True
            return
        length = seg.payload_end - seg.payload_start
        if length:
            conn.had_data = True
            if not self._data(conn, d, seg.seq, data, seg.payload_start, length, time, packet, pieces):
                return  # impossible: its flags and acknowledgement mean nothing either
        if flags & ACK:
            other = conn.dirs[1 if from_a else 0]
            if other.next_seq is not None:
                acked = _rel(seg.ack, other.next_seq)
                if acked > MAX_AHEAD or acked < -other.offset - MAX_AHEAD or (
                        other.isn_known and acked < -other.offset):
                    self._impossible_ack(conn, d, seg.ack, other, packet)
                else:
                    other.peer_ack, other.peer_ack_packet = seg.ack, packet
                    if other.waiting and acked > 0:
                        # The peer acknowledged bytes we never saw: they are lost from the capture.
                        self._fill_gap(conn, other, packet, upto=seg.ack)
        if flags & (FIN | RST):
            if flags & FIN:
                d.fin = (seg.seq + length) & 0xFFFF_FFFF
            if flags & RST or d.next_seq is None or not d.waiting:
                self._close(conn, d, "RST" if flags & RST else "FIN", packet)

    def _data(self, conn: _Connection, d: _Direction, seq: int, data: bytes, start: int, length: int,
              time: float, packet: int, pieces: tuple[Piece, ...] | None = None) -> bool:
        """Take one segment's bytes; False if its sequence number is impossible (it is skipped)."""
        if d.next_seq is None:  # the capture began after this connection did
            d.next_seq = seq
        rel = _rel(seq, d.next_seq)
        # A keep-alive probe sends one byte, any byte, just before next_seq: never damage.
        keepalive = rel == -1 and length == 1
        before_first = rel + length <= -d.offset or (d.isn_known and rel < -d.offset)
        if rel > MAX_AHEAD or (before_first and not keepalive):
            # Past any window, or before the stream's first byte (wholly, or at all when the SYN
            # said where it is).
            self._impossible_seq(conn, d, seq, length, packet)
            return False
        if rel <= 0 and seq == d.last_seq and not keepalive and data[start:start + min(length, _HEAD)] != \
                d.last_head[:min(length, _HEAD)]:
            self._different_bytes(conn, d, seq, length, packet)
            return False
        if rel > 0:
            held = d.waiting.get(seq)
            if held is None or len(held[0]) < length:
                if held is not None:
                    d.waiting_bytes -= len(held[0])
                d.waiting[seq] = (data[start:start + length], packet, start, pieces)
                d.waiting_bytes += length
            if len(d.waiting) > MAX_WAITING_SEGMENTS or d.waiting_bytes > MAX_WAITING_BYTES:
                self._fill_gap(conn, d, packet)
            return True
        if rel + length <= 0:  # all of it seen already: a retransmission
            return True
        d.last_seq, d.last_head = seq, data[start:start + _HEAD]
        if rel < 0:  # overlaps what we already have: keep only the new tail
            start -= rel
            length += rel
        self._emit(conn, d, data[start:start + length], start, packet, packet, time, pieces)
        if d.waiting:
            self._drain(conn, d, packet, time)
        return True

    # ---- impossible sequence numbers: one helper per message ------------------------------

    def _side(self, conn: _Connection, d: _Direction) -> str:
        return conn.flow.a if d.from_a else conn.flow.b

    def _impossible_seq(self, conn: _Connection, d: _Direction, seq: int, length: int, packet: int) -> None:
        # capture.tcp-impossible-sequence
        if self._on_damage is None:
            return
        next_seq = d.next_seq
        assert next_seq is not None, "a sequence number is judged against one seen"
        first = (next_seq - d.offset) & 0xFFFF_FFFF
        rel = _rel(seq, next_seq)
        if rel > 0:
            where = f"{rel} bytes past the next one expected, more than any TCP window"
        elif d.isn_known:
            where = f"before the connection's first byte at {first}"
        else:
            where = f"before the first byte the capture holds, at {first}: reordered or reversed packets"
        self._on_damage(rules.TCP_SEQUENCE, packet, length, conn_index=conn.flow.index, detail=self._side(conn, d),
                        example=f"packet {packet}: sequence number {seq}, {where}")

    def _impossible_ack(self, conn: _Connection, d: _Direction, ack: int, other: _Direction,
                        packet: int) -> None:
        # capture.tcp-impossible-ack
        if self._on_damage is None:
            return
        assert other.next_seq is not None, "an acknowledgement is judged against bytes seen"
        first = (other.next_seq - other.offset) & 0xFFFF_FFFF
        self._on_damage(rules.TCP_ACK, packet, 0, conn_index=conn.flow.index, detail=self._side(conn, d),
                        example=f"packet {packet}: acknowledgement {ack}, the other side's bytes seen run "
                        f"from {first} to {other.next_seq}")

    def _different_bytes(self, conn: _Connection, d: _Direction, seq: int, length: int, packet: int) -> None:
        # capture.tcp-retransmission-differs
        if self._on_damage is None:
            return
        self._on_damage(rules.TCP_CONTENT, packet, length, conn_index=conn.flow.index, detail=self._side(conn, d),
                        example=f"packet {packet}: sequence number {seq}")

    def _emit(self, conn: _Connection, d: _Direction, payload: bytes, start: int, source_packet: int,
              packet: int, time: float, pieces: tuple[Piece, ...] | None = None) -> None:
        flow = conn.flow
        side = flow.sides[0 if d.from_a else 1]
        if pieces is None:
            side.record(d.offset, source_packet, start, len(payload))
        else:  # a datagram from IP fragments: each stretch is read back from its own packet
            end = start + len(payload)
            for piece in pieces:
                low, high = max(start, piece.offset), min(end, piece.offset + piece.length)
                if low < high:
                    side.record(d.offset + low - start, piece.packet, piece.start + low - piece.offset, high - low)
        offset = d.offset
        d.offset += len(payload)
        assert d.next_seq is not None, "bytes are emitted only after the stream's start is known"
        d.next_seq = (d.next_seq + len(payload)) & 0xFFFF_FFFF
        self.sink.data(flow, d.from_a, payload, time, packet, offset)

    def _drain(self, conn: _Connection, d: _Direction, packet: int, time: float) -> None:
        progress = True
        while progress and d.waiting:
            progress = False
            for seq in list(d.waiting):
                assert d.next_seq is not None, "segments wait only once the stream's start is known"
                rel = _rel(seq, d.next_seq)
                if rel > 0:
                    continue
                payload, source_packet, start, pieces = d.waiting.pop(seq)
                d.waiting_bytes -= len(payload)
                if rel + len(payload) > 0:
                    self._emit(conn, d, payload[-rel:] if rel else payload, start - rel,
                               source_packet, packet, time, pieces)
                progress = True
        if not d.waiting and d.fin is not None and d.fin == d.next_seq and not d.closed:
            self._close(conn, d, "FIN", packet)

    def _fill_gap(self, conn: _Connection, d: _Direction, packet: int, upto: int | None = None) -> None:
        """Declare the hole before the earliest waiting segment lost, and move past it."""
        next_seq = d.next_seq
        if not d.waiting or next_seq is None:
            return
        first = min(d.waiting, key=lambda s: _rel(s, next_seq))
        if upto is not None and _rel(upto, first) < 0:
            first_needed = upto  # acked past next_seq but not yet up to what waits
        else:
            first_needed = first
        size = _rel(first_needed, next_seq)
        if size <= 0:
            return
        # Report the hole at the packet whose bytes come right after it.
        self.sink.gap(conn.flow, d.from_a, size, d.waiting[first][1])
        d.offset += size
        d.next_seq = first_needed
        self._drain(conn, d, packet, self._time)

    def _close(self, conn: _Connection, d: _Direction, how: str, packet: int) -> None:
        if not d.closed:
            d.closed = True
            self.sink.close(conn.flow, d.from_a, how, packet)

    def _finish(self, conn: _Connection | None) -> None:
        if conn is None:
            return
        for d in conn.dirs:
            while d.waiting:
                before = len(d.waiting)
                self._fill_gap(conn, d, 0)
                if len(d.waiting) == before:  # nothing could move: drop what is left
                    d.waiting.clear()
            self._acked_unseen(conn, d)

    def _acked_unseen(self, conn: _Connection, d: _Direction) -> None:
        # capture.tcp-acked-unseen
        if d.peer_ack is None or d.next_seq is None or self._on_damage is None:
            return
        sent = d.next_seq + (1 if d.fin == d.next_seq else 0)  # a FIN takes one sequence number
        beyond = _rel(d.peer_ack, sent & 0xFFFF_FFFF)
        if beyond > 0:
            self._on_damage(rules.TCP_ACKED_UNSEEN, d.peer_ack_packet, beyond, conn_index=conn.flow.index,
                            detail=conn.flow.b if d.from_a else conn.flow.a,
                            example=f"packet {d.peer_ack_packet}: acknowledgement {d.peer_ack}, the last byte "
                            f"seen is {(sent - 1) & 0xFFFF_FFFF}")

    def finish(self) -> None:
        """The capture ended: what still waits behind a hole is released after a gap."""
        seen = set()
        for conn in self._conns.values():
            if id(conn) not in seen:
                seen.add(id(conn))
                self._finish(conn)
