"""TCP reassembly, per direction, for a capture (sans-I/O).

Segments go in as they were captured; each direction's bytes come out in
order, once, to a `ByteSink`: retransmissions and overlaps are trimmed,
out-of-order segments wait for the hole before them, and a hole that will
never be filled (the peer acknowledged past it, the side closed, too much
is waiting, or the capture ended) is reported as a gap with its size.
A new SYN on a used address pair starts a new connection.
"""

from __future__ import annotations

from inspector.capture.layers import ACK, FIN, RST, SYN, TcpSegment, address
from inspector.flows import ByteSink, TcpFlow

MAX_WAITING_SEGMENTS = 512
MAX_WAITING_BYTES = 8 << 20
_MOD = 1 << 32
_HALF = 1 << 31


def _rel(a: int, b: int) -> int:
    """a - b in sequence-number space (RFC 1982 style), as a signed int."""
    d = (a - b) & 0xFFFF_FFFF
    return d - _MOD if d >= _HALF else d


class _Direction:
    __slots__ = ("next_seq", "offset", "waiting", "waiting_bytes", "fin", "closed", "from_a")

    def __init__(self, from_a: bool) -> None:
        self.next_seq: int | None = None
        self.offset = 0  # stream offset of next_seq
        self.waiting: dict[int, tuple[bytes, int, int]] = {}  # seq -> (bytes, packet, start)
        self.waiting_bytes = 0
        self.fin: int | None = None  # sequence number of the FIN
        self.closed = False
        self.from_a = from_a


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

    def __init__(self, sink: ByteSink) -> None:
        self.sink = sink
        self._conns: dict[tuple, _Connection] = {}
        self.flow_count = 0
        self.retransmitted_bytes = 0
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

    def segment(self, seg: TcpSegment, data: bytes, time: float, packet: int) -> None:
        """One captured segment; `data` is the packet it is in."""
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
            return
        length = seg.payload_end - seg.payload_start
        if length:
            conn.had_data = True
            self._data(conn, d, seg.seq, data, seg.payload_start, length, time, packet)
        if flags & ACK:
            other = conn.dirs[1 if from_a else 0]
            if other.waiting and other.next_seq is not None and _rel(seg.ack, other.next_seq) > 0:
                # The peer acknowledged bytes we never saw: they are lost from the capture.
                self._fill_gap(conn, other, packet, upto=seg.ack)
        if flags & (FIN | RST):
            if flags & FIN:
                d.fin = (seg.seq + length) & 0xFFFF_FFFF
            if flags & RST or d.next_seq is None or not d.waiting:
                self._close(conn, d, "RST" if flags & RST else "FIN", packet)

    def _data(self, conn: _Connection, d: _Direction, seq: int, data: bytes, start: int, length: int,
              time: float, packet: int) -> None:
        if d.next_seq is None:  # the capture began after this connection did
            d.next_seq = seq
        rel = _rel(seq, d.next_seq)
        if rel > 0:
            held = d.waiting.get(seq)
            if held is None or len(held[0]) < length:
                if held is not None:
                    d.waiting_bytes -= len(held[0])
                d.waiting[seq] = (data[start:start + length], packet, start)
                d.waiting_bytes += length
            if len(d.waiting) > MAX_WAITING_SEGMENTS or d.waiting_bytes > MAX_WAITING_BYTES:
                self._fill_gap(conn, d, packet)
            return
        if rel + length <= 0:
            self.retransmitted_bytes += length
            return
        if rel < 0:  # overlaps what we already have: keep only the new tail
            self.retransmitted_bytes -= rel
            start -= rel
            length += rel
        self._emit(conn, d, data[start:start + length], start, packet, packet, time)
        if d.waiting:
            self._drain(conn, d, packet, time)

    def _emit(self, conn: _Connection, d: _Direction, payload: bytes, start: int, source_packet: int,
              packet: int, time: float) -> None:
        flow = conn.flow
        flow.sides[0 if d.from_a else 1].record(d.offset, source_packet, start, len(payload))
        offset = d.offset
        d.offset += len(payload)
        d.next_seq = (d.next_seq + len(payload)) & 0xFFFF_FFFF  # type: ignore[operator]
        self.sink.data(flow, d.from_a, payload, time, packet, offset)

    def _drain(self, conn: _Connection, d: _Direction, packet: int, time: float) -> None:
        progress = True
        while progress and d.waiting:
            progress = False
            for seq in list(d.waiting):
                rel = _rel(seq, d.next_seq)  # type: ignore[arg-type]
                if rel > 0:
                    continue
                payload, source_packet, start = d.waiting.pop(seq)
                d.waiting_bytes -= len(payload)
                if rel + len(payload) > 0:
                    self._emit(conn, d, payload[-rel:] if rel else payload, start - rel,
                               source_packet, packet, time)
                else:
                    self.retransmitted_bytes += len(payload)
                progress = True
        if not d.waiting and d.fin is not None and d.fin == d.next_seq and not d.closed:
            self._close(conn, d, "FIN", packet)

    def _fill_gap(self, conn: _Connection, d: _Direction, packet: int, upto: int | None = None) -> None:
        """Declare the hole before the earliest waiting segment lost, and move past it."""
        if not d.waiting or d.next_seq is None:
            return
        first = min(d.waiting, key=lambda s: _rel(s, d.next_seq))  # type: ignore[arg-type]
        if upto is not None and _rel(upto, first) < 0:
            first_needed = upto  # acked past next_seq but not yet up to what waits
        else:
            first_needed = first
        size = _rel(first_needed, d.next_seq)
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

    def finish(self) -> None:
        """The capture ended: what still waits behind a hole is released after a gap."""
        seen = set()
        for conn in self._conns.values():
            if id(conn) not in seen:
                seen.add(id(conn))
                self._finish(conn)
