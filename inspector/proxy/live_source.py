"""The proxy as a source: relayed chunks become the same model a capture gives.

The relay hands every chunk here right after writing it on. The chunk is
recorded at once (so the recording has every byte, whatever the decoder
does) and queued; the decoder takes it from the queue later, in small
time-sliced batches paced by `DecodePacer`, and drives the SessionBuilder
through the `ByteSink` calls with a `TcpFlow` per connection, exactly like
the pcap reassembler. Packet numbers are the recording's, so a frame says
the same packet live and when the recording is opened later.

The queue is bounded per connection and in total: past the bound, decoding
of that connection pauses (a finding says so), its chunks are still relayed
and recorded, and decoding resumes after a gap once the queue has drained.
"""

from __future__ import annotations

import asyncio
import time as _time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from inspector.findings.rules import RULES
from inspector.flows import FlowSide, TcpFlow
from inspector.http2.session_builder import SessionBuilder
from inspector.model import Connection, Direction, Finding, Session
from inspector.proxy.recorder import MAX_SEGMENT, PcapngRecorder, RecordedFlow
from inspector.proxy.spool import SPOOL_LIMIT, PayloadSpool

if TYPE_CHECKING:
    from inspector.proxy.relay import Route

CONNECTION_BACKLOG = 64 << 20  # bytes waiting to be decoded, per connection
TOTAL_BACKLOG = 256 << 20
DECODE_PIECE = 16 << 10  # the most fed to the decoder between two looks at the clock
COSTLY_PIECE = 0.05  # CPU seconds one piece may cost before its connection is no longer decoded
_PLACE_LATER = -1  # a queued chunk's offset, when it is placed at decoding time


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class LiveConnection:
    """One proxied connection as the source sees it."""

    __slots__ = ("index", "flow", "recorded", "offsets", "queued", "paused", "skipped", "skip_packet",
                 "connection", "tls", "first_bytes", "closed", "reported", "costly", "given_up")

    def __init__(self, index: int, client: tuple[str, int], server: tuple[str, int], isn: tuple[int, int],
                 tls: bool) -> None:
        self.index = index
        self.flow = TcpFlow(index, _address(*client), _address(*server), client[1], server[1], True)
        self.recorded = RecordedFlow(client, server, isn)
        self.offsets = [0, 0]  # stream offset of the next byte, client and server
        self.queued = 0  # bytes waiting to be decoded
        self.paused = False
        self.skipped = [0, 0]  # bytes not decoded while paused, per direction
        self.skip_packet = [0, 0]
        self.connection: Connection | None = None
        self.tls = tls
        self.first_bytes = b""
        self.closed: list[str | None] = [None, None]  # how each side ended: "FIN", "RST"
        self.reported = False
        self.costly = 0  # pieces in a row that cost more than COSTLY_PIECE to decode
        self.given_up = False  # decoding stopped for good: its input costs too much


class LivePayloads:
    """Reads payloads back: from the recording file, or (without --record) from a spool
    of the relayed chunks (the last SPOOL_LIMIT bytes, in an unlinked temporary file)."""

    def __init__(self, recorder: PcapngRecorder, spool_limit: int = SPOOL_LIMIT) -> None:
        self.recorder = recorder
        self.flows: dict[int, TcpFlow] = {}
        self.in_memory = recorder.file is None  # no recording to read from: keep the chunks
        self.spool = PayloadSpool(spool_limit) if self.in_memory else None
        self.keep = self.spool.keep if self.spool is not None else lambda packet, piece: None

    def forget(self, ends: dict[tuple[int, int], int], finished: set[int]) -> None:
        """A bounded history dropped frames: for (connection, direction), the stream offset where
        its last dropped frame ended; `finished`: closed connections with no frame kept. What only
        they needed is forgotten (the spool's index of packets older than any kept row); the
        recording keeps everything."""
        for conn_index in finished:
            flow = self.flows.get(conn_index)
            if flow is not None:
                for side in flow.sides:
                    side.forget_all()
        for (conn_index, d), offset in ends.items():
            flow = self.flows.get(conn_index)
            if flow is not None:
                flow.sides[d].forget_before(offset)  # the client is always side A
        if self.spool is not None:
            firsts = [p for flow in self.flows.values() for side in flow.sides
                      if (p := side.first_packet()) is not None]
            if firsts:
                self.spool.forget_before(min(firsts))

    def _bytes(self, packet: int, start: int, length: int) -> bytes:
        if self.spool is not None:
            return self.spool.read(packet, start, length)
        return self.recorder.read(self.recorder.data_offsets[packet] + start, length)

    def close(self) -> None:
        """Let go of the spool (the recording is its writer's to close)."""
        if self.spool is not None:
            self.spool.close()

    def read(self, conn_index: int, direction: Direction, offset: int, length: int) -> bytes:
        """`length` bytes from `offset` in one direction's byte stream of connection `conn_index`."""
        flow = self.flows.get(conn_index)
        if flow is None or length <= 0:
            return b""
        side = flow.sides[0 if direction == Direction.CLIENT else 1]  # the client is always side A
        offsets = side.seg_offset
        i = bisect_right(offsets, offset) - 1
        if i < 0:
            return b""
        out = []
        pos, end = offset, offset + length
        while pos < end and i < len(offsets):
            seg_start, seg_len = offsets[i], side.seg_length[i]
            if seg_start > pos:
                break
            skip = pos - seg_start
            if skip < seg_len:
                take = min(seg_len - skip, end - pos)
                got = self._bytes(side.seg_packet[i], side.seg_start[i] + skip, take)
                out.append(got)
                if len(got) < take:
                    break  # no longer kept
                pos += take
            i += 1
        return b"".join(out)


class LiveSource:
    """Records relayed chunks and decodes them into `session`, behind the relay."""

    def __init__(self, recorder: PcapngRecorder, name: str = "proxy",
                 connection_backlog: int = CONNECTION_BACKLOG, total_backlog: int = TOTAL_BACKLOG) -> None:
        self.recorder = recorder
        self.payloads = LivePayloads(recorder)
        self.session = Session(name, payloads=self.payloads)
        self.builder = SessionBuilder(self.session, on_connection=self._on_connection)
        self.connection_backlog = connection_backlog
        self.total_backlog = total_backlog
        self.queue: deque[tuple] = deque()
        self.queued = 0
        self.activity = 0  # chunks relayed so far: the pacer reads it to tell busy from idle
        self.connections: list[LiveConnection] = []
        self.names: dict[int, str] = {}  # connection index -> the target host a forward-mode client asked for
        self.routes: dict[int, Route] = {}  # connection index -> its forward-mode route (target, upstream TLS)
        self.on_queue: Callable[[], None] = lambda: None  # the pacer's wake-up
        self._dirty = False

    # ---- called by the relay, on its path: cheap -------------------------------

    def open(self, client: tuple[str, int], server: tuple[str, int], tls: bool = False,
             time: float | None = None) -> LiveConnection:
        """A client connected: number the connection and record its handshake."""
        index = len(self.connections)
        live = LiveConnection(index, client, server, (0x10000 * (index + 1) & 0xFFFF_FFFF,
                                                      0x20000 * (index + 1) & 0xFFFF_FFFF), tls)
        self.connections.append(live)
        self.payloads.flows[index] = live.flow
        time = time or _time.time()
        if self.session.start is None:  # the recording's first packet: this handshake
            self.session.start = time
        self.recorder.handshake(live.recorded, time)
        return live

    def data(self, live: LiveConnection, from_client: bool, data: bytes, time: float) -> None:
        """Bytes that were just relayed in one direction (called on the relay's path: kept lean).

        Without a recording, only what must happen now happens now: the chunk gets its
        packet numbers and joins the queue. Its stream offset, byte map and spooled copy
        are made when it is decoded, behind the relay (`_place`)."""
        self.activity += 1
        recorder = self.recorder
        if recorder.file is not None:
            self._recorded(live, from_client, data, time)
            return
        n = len(data)
        packet = recorder.count + 1
        recorder.count += (n - 1) // MAX_SEGMENT + 1 if n else 1  # the packets a recording would hold
        d = 0 if from_client else 1
        if live.paused:
            self._skip(live, d, n, packet)
            return
        if live.skipped[d]:
            self._gap(live, from_client, d, time)
        self.queue.append((live, from_client, data, time, packet, _PLACE_LATER, None))
        self._queued(live, n)

    def _recorded(self, live: LiveConnection, from_client: bool, data: bytes, time: float) -> None:
        """`data` with --record: written to the recording at once, every byte, paused or not."""
        d, offset, side = self._advance(live, from_client, data)
        n = len(data)
        segments = self.recorder.data(live.recorded, from_client, data, time)
        if live.paused:
            self._skip(live, d, n, segments[0][0])
            for number, start, length in segments:
                side.record(offset + start, number, 0, length)
            return
        if live.skipped[d]:
            self._gap(live, from_client, d, time)
        for packet, start, length in segments:
            side.record(offset + start, packet, 0, length)
            piece = data if length == n else data[start:start + length]
            self.queue.append((live, from_client, piece, time, packet, offset + start, None))
        self._queued(live, n)

    @staticmethod
    def _advance(live: LiveConnection, from_client: bool, data: bytes) -> tuple[int, int, FlowSide]:
        """Place `data` in its direction's byte stream: (direction, its offset, that side's byte map)."""
        d = 0 if from_client else 1
        offset = live.offsets[d]
        live.offsets[d] = offset + len(data)
        if from_client and len(live.first_bytes) < 24:
            live.first_bytes += data[:24 - len(live.first_bytes)]
        return d, offset, live.flow.sides[d]

    @staticmethod
    def _skip(live: LiveConnection, d: int, n: int, packet: int) -> None:
        """Bytes relayed while decoding of the connection is paused: only counted."""
        live.skipped[d] += n
        if not live.skip_packet[d]:
            live.skip_packet[d] = packet

    def _gap(self, live: LiveConnection, from_client: bool, d: int, time: float) -> None:
        """First bytes after a pause: the decoder is told what it missed."""
        self.queue.append((live, from_client, None, time, live.skip_packet[d], live.skipped[d], "gap"))
        live.skipped[d] = 0
        live.skip_packet[d] = 0

    def _queued(self, live: LiveConnection, n: int) -> None:
        """`n` more bytes wait to be decoded: pause the connection past the bound, wake the pacer."""
        live.queued += n
        self.queued += n
        if live.queued > self.connection_backlog or self.queued > self.total_backlog:
            self._pause(live)
        self.on_queue()

    def _place(self, live: LiveConnection, from_client: bool, data: bytes, packet: int) -> list[tuple[bytes, int, int]]:
        """A chunk relayed without a recording, now being decoded: its stream offset, its
        byte map rows (one per packet a recording would hold) and its spooled copy.
        Returns (piece, packet, offset) per packet."""
        _, offset, side = self._advance(live, from_client, data)
        n = len(data)
        keep = self.payloads.keep
        if n <= MAX_SEGMENT:
            side.seg_offset.append(offset)
            side.seg_packet.append(packet)
            side.seg_start.append(0)
            side.seg_length.append(n)
            keep(packet, data)
            return [(data, packet, offset)]
        pieces = []
        for k, start in enumerate(range(0, n, MAX_SEGMENT)):
            piece = data[start:start + MAX_SEGMENT]
            side.record(offset + start, packet + k, 0, len(piece))
            keep(packet + k, piece)
            pieces.append((piece, packet + k, offset + start))
        return pieces

    def close(self, live: LiveConnection, from_client: bool, how: str, time: float | None = None) -> None:
        """One side sent FIN or RST (`how`); the relay has passed it on."""
        d = 0 if from_client else 1
        if live.closed[d] == "RST" or live.closed[d] == how:
            return  # a RST may still follow a FIN (a half-closed side reset later), nothing else
        live.closed[d] = how
        time = time or _time.time()
        rec = self.recorder
        packet = rec.rst(live.recorded, from_client, time) if how == "RST" else \
            rec.fin(live.recorded, from_client, time)
        self.queue.append((live, from_client, None, time, packet, 0, how))
        self.on_queue()

    def event(self, rule_id: str, message: str, live: LiveConnection | None = None) -> None:
        """Something the proxy met (an upstream refusing, a reset, decoding paused): a finding of its
        `proxy.*` rule (severity and reference from the table), shown at once."""
        rule = RULES[rule_id]
        self.session.findings.append(Finding(rule.severity, message, rule.reference,
                                             live.index if live is not None else None, rule=rule_id,
                                             time=_time.time()))
        self._dirty = True
        self.on_queue()

    def _pause(self, live: LiveConnection) -> None:
        live.paused = True
        self.event("proxy.decoding-paused",
                   f"decoding of this connection paused: {live.queued >> 20} MiB wait to be decoded "
                   f"(limit {self.connection_backlog >> 20} MiB per connection, "
                   f"{self.total_backlog >> 20} MiB in all); the relay goes on and the recording keeps "
                   "every byte", live)

    # ---- called by the pacer, behind the relay --------------------------------------

    def decode(self, budget: float) -> bool:
        """Decode queued chunks for about `budget` seconds; True if some are left.

        The clock is read after every piece fed to the decoder, and a chunk is fed in pieces
        of at most `DECODE_PIECE` bytes, so one slice overruns its budget by one piece's cost
        at most; a chunk cut short goes back to the head of the queue. A connection whose
        pieces cost more than `COSTLY_PIECE` of CPU each (hostile or pathological input) twice in
        a row is no longer decoded: its bytes are still relayed and recorded."""
        queue = self.queue
        if not queue and not self._dirty:
            return False
        builder = self.builder
        clock = _time.perf_counter
        cpu = _time.thread_time
        deadline = clock() + budget
        while queue:
            live, from_client, data, time, packet, offset, how = queue.popleft()
            if data is not None:
                if live.given_up:
                    self._dequeued(live, len(data))
                    continue
                if offset == _PLACE_LATER:
                    pieces = self._place(live, from_client, data, packet)
                    data, packet, offset = pieces[0]
                    for later in reversed(pieces[1:]):  # each placed: fed below, one by one
                        queue.appendleft((live, from_client, later[0], time, later[1], later[2], None))
                n = len(data)
                start = 0
                while start < n:
                    piece = data if n <= DECODE_PIECE else data[start:start + DECODE_PIECE]
                    began = cpu()
                    builder.data(live.flow, from_client, piece, time, packet, offset + start)
                    cost = cpu() - began
                    start += len(piece)
                    if cost > COSTLY_PIECE:
                        # Twice in a row, so that a garbage collection that happened to run
                        # inside one piece does not count against the connection.
                        live.costly += 1
                        if live.costly >= 2:
                            self._give_up(live, len(piece), cost)
                            break
                    else:
                        live.costly = 0
                    if start < n and clock() > deadline:
                        break
                if start < n and not live.given_up:  # cut short: the rest comes first next time
                    queue.appendleft((live, from_client, data[start:], time, packet, offset + start, None))
                self._dequeued(live, min(start, n) if not live.given_up else n)
            elif how == "gap":
                if self.recorder.file is None:  # the skipped bytes were never placed
                    live.offsets[0 if from_client else 1] += offset
                if not live.given_up:
                    builder.gap(live.flow, from_client, offset, packet)
            else:
                builder.close(live.flow, from_client, how, packet)
                self._report_undecided(live)
            if clock() > deadline:
                break
        self.session.packets = self.recorder.count
        self._dirty = False
        self.session.notify()
        return bool(queue)

    def _dequeued(self, live: LiveConnection, n: int) -> None:
        """`n` bytes of `live` left the queue (decoded or given up)."""
        live.queued -= n
        self.queued -= n
        if live.paused and live.queued <= 0 and not live.given_up:
            live.paused = False
            where = "are in the recording only" if self.recorder.file is not None else \
                "were not decoded (use --record to keep every byte)"
            self.event("proxy.decoding-resumed", f"decoding of this connection resumes; {sum(live.skipped)} "
                       f"bytes relayed while it was paused {where}", live)

    def _give_up(self, live: LiveConnection, n: int, cost: float) -> None:
        """Decoding `live` costs too much to go on with it on the relay's loop: stop for good."""
        live.given_up = True
        live.paused = True  # from now on its chunks are only counted (`data`)
        where = "the recording keeps every byte" if self.recorder.file is not None else \
            "use --record to keep every byte"
        self.event("proxy.decoding-stopped",
                   f"decoding of this connection stopped: {n} bytes took {cost * 1000:.0f} ms of CPU "
                   f"to decode (the limit is {COSTLY_PIECE * 1000:.0f} ms), which would hold up every "
                   f"connection; its bytes are still relayed ({where})", live)

    def undecoded(self) -> tuple[int, int]:
        """Bytes waiting to be decoded, and on how many connections."""
        return self.queued, sum(1 for live in self.connections if live.queued > 0)

    def finish(self, budget: float = 0.3) -> tuple[int, int]:
        """The proxy stopped: decode what is left for at most `budget` seconds, then end the
        session. Returns what was left undecoded: (bytes, connections)."""
        deadline = _time.perf_counter() + budget
        while _time.perf_counter() < deadline and self.decode(min(0.05, budget)):
            pass
        left = self.undecoded()
        self.queue.clear()
        for live in self.connections:
            live.queued = 0
            self._report_undecided(live)
        self.queued = 0
        self.builder.finish()
        self.session.packets = self.recorder.count
        self.session.notify()
        return left

    # ---- what the decoder tells us ---------------------------------------------------

    def _on_connection(self, flow: TcpFlow, conn: Connection, client_is_a: bool) -> None:
        live = self.connections[flow.index]
        live.connection = conn
        conn.target = self.names.get(flow.index)
        if live.tls and conn.protocol == "h2c":
            conn.protocol = "h2"  # HTTP/2 over TLS, negotiated with ALPN
        if conn.protocol == "http/1.1":
            self.event("proxy.http1", "HTTP/1.1: relayed, shown as such, not decoded as HTTP/2", live)

    def _report_undecided(self, live: LiveConnection) -> None:
        if live.connection is None and not live.reported and live.first_bytes:
            live.reported = True
            self.event("proxy.not-http", f"the client's first bytes are neither the HTTP/2 preface nor HTTP/1.1 "
                       f"({live.first_bytes!r}); relayed, not decoded", live)


class DecodePacer:
    """Runs `LiveSource.decode` on the event loop without slowing the relay.

    The relay comes first. Decoding (and the views it feeds) runs in short
    slices and the loop serves the sockets between any two of them, so a
    chunk that arrives meanwhile waits one slice at most. While chunks keep
    arriving, slices get at most `BUSY_SHARE` of the loop's time; once the
    relay has been quiet for `QUIET`, they run back to back until the queue
    is empty (but after one that ran past `OVERRUN` the loop is left to the
    relay as long). At human pace frames show `QUIET` after their bytes
    passed; under load the queue grows, up to its bound. A slice lasts its
    budget plus the cost of one piece (`DECODE_PIECE`) at most, and input
    whose pieces cost more than `COSTLY_PIECE` is no longer decoded, so the
    decoder never holds the relay up for long whatever it is fed.

    Slices are timed with `clock` (perf_counter), not `loop.time()`: uvloop's
    loop clock counts whole milliseconds, so a half-millisecond slice would
    measure as 0 or 1 ms, right only on average.
    """

    SLICE = 0.0005
    BUSY_SHARE = 0.02
    QUIET = 0.003
    OVERRUN = 0.01

    def __init__(self, loop: asyncio.AbstractEventLoop, source: LiveSource,
                 clock: Callable[[], float] = _time.perf_counter) -> None:
        self.loop = loop
        self.source = source
        self.clock = clock
        self._handle: asyncio.TimerHandle | asyncio.Handle | None = None
        self._mark = 0
        self._next_busy_slice: float | None = None
        source.on_queue = self.poke

    def poke(self) -> None:
        """Something was queued: make sure decoding comes."""
        if self._handle is None:
            self._mark = self.source.activity
            self._handle = self.loop.call_later(self.QUIET, self._run)

    def _run(self) -> None:
        self._handle = None
        source = self.source
        loop = self.loop
        now = self.clock()
        active = source.activity != self._mark
        self._mark = source.activity
        if active:
            if self._next_busy_slice is None:
                self._next_busy_slice = now + self.SLICE / self.BUSY_SHARE
            if now < self._next_busy_slice:
                self._handle = loop.call_later(self.QUIET, self._run)  # the relay first
                return
        else:
            self._next_busy_slice = None
        more = source.decode(self.SLICE)
        if not more:
            return
        end = self.clock()
        if active:
            # What the slice really cost (views included) sets when the next may run.
            self._next_busy_slice = end + (end - now) / self.BUSY_SHARE
            self._handle = loop.call_later(self.QUIET, self._run)
        elif end - now > self.OVERRUN:
            # A slice that ran long kept the relay from seeing whether it was busy: it gets
            # the loop for at least as long before the next.
            self._handle = loop.call_later(end - now, self._run)
        else:
            self._handle = loop.call_soon(self._run)

    def cancel(self) -> None:
        """Stop pacing (the caller finishes the queue itself)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
