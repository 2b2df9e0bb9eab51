"""gRPC calls from the HTTP/2 model: one call per stream whose request says
`content-type: application/grpc`, with its messages, metadata, status, style
and how it ended.

The calls belong to the session (`session.calls`, a `CallLog`): it reads the
frames it has not seen yet each time it is asked, so a live session's calls
are current after every batch, at a cost proportional to the batch, with no
clock and no global. A call is a live object: what it has seen is kept as it
arrives; its status, style and ending are worked out from that when read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from inspector.findings import grpc as grpc_rules
from inspector.http2.frames import END_STREAM, FRAME_HEADER_LENGTH, PADDED, ErrorCode, FrameType, error_name
from inspector.http2.payloads import data_body
from inspector.model import Direction, Finding, HeaderBlock, Role, Session, Stream, StreamState
from inspector.rpc.messages import MAX_MESSAGE, PREFIX, GrpcMessage, MessageSplitter
from inspector.rpc.protobuf_wire import format_raw
from inspector.rpc.reflection_protocol import REFLECTION_METHODS, reflection_schema
from inspector.rpc.reflection_seen import ReflectionSeen
from inspector.rpc.schema import MethodInfo, Schema
from inspector.rpc.status import (
    RST_TO_STATUS,
    GrpcStatus,
    decode_grpc_message,
    decode_status_details,
    parse_status,
    parse_timeout,
    status_name,
)

Header = tuple[str, str]
STYLES = ("unary", "server-streaming", "client-streaming", "bidi-streaming")
UNKNOWN_PATH = "<unknown :path>"
UNKNOWN_METHOD = "<unknown method: the call began before the capture>"
_DATA, _HEADERS, _GOAWAY, _RST = FrameType.DATA, FrameType.HEADERS, FrameType.GOAWAY, FrameType.RST_STREAM
# A call's `ended` for each of its END_STREAM bits (1: the client's, 2: the server's): four shared
# tuples, so a capture of many calls keeps no list per call.
_ENDED = ((False, False), (True, False), (False, True), (True, True))
_DIRECTIONS = (Direction.CLIENT, Direction.SERVER)
RECENT_BLOCKS = 64  # header block records the call log keeps built (CallLog.block)


class GrpcCall:
    """One gRPC call: one HTTP/2 stream (unary calls too), kept up to date by its CallLog."""

    __slots__ = ("log", "conn_index", "stream_id", "_request", "requests_split", "responses_split", "_response",
                 "_trailers", "first_time", "end_time", "_ends", "client_end_frame", "short_frames",
                 "seen_grpc_reply", "last_frame", "checked")

    def __init__(self, log: CallLog, conn_index: int, stream_id: int, request: HeaderBlock | None,
                 start_time: float | None) -> None:
        self.log = log
        self.conn_index = conn_index
        self.stream_id = stream_id
        # Header blocks by index (-1: none), so a call holds ints, not records: a capture of
        # many calls keeps them all. _request -1: the call began before the capture did.
        self._request = request.index if request is not None else -1
        reader, on_frame, limit = log.reader, log.on_frame, log.max_message  # one bound method each, shared
        self.requests_split = MessageSplitter(Direction.CLIENT, reader, on_frame, limit)
        self.responses_split = MessageSplitter(Direction.SERVER, reader, on_frame, limit)
        if request is not None:
            self.requests_split.set_encoding(request.get("grpc-encoding"))
        self._response = -1
        self._trailers = -1
        self.first_time = start_time  # None until its stream has a frame
        self.end_time = start_time or 0.0
        self._ends = 0  # END_STREAM seen: 1 the client's, 2 the server's (`ended`)
        self.client_end_frame: int | None = None
        self.short_frames: list[int] | tuple[()] = ()  # packets of DATA frames not fully captured
        self.seen_grpc_reply = False  # a server block that only gRPC sends (for calls the request cannot prove)
        self.last_frame: int | None = None
        self.checked = False  # the grpc.* rules that wait for the end have looked at it

    # ---- fed frame by frame by the CallLog ---------------------------------

    def frame(self, index: int, direction: int, type_code: int, flags: int, length: int, time: float,
              packet: int, block: HeaderBlock | None, payload_at: int) -> None:
        """One more frame of this call's stream (`payload_at`: its payload's offset in its direction)."""
        if self.first_time is None:
            self.first_time = time
            self.log.order_changed()
        self.end_time = time
        self.last_frame = index
        if block is not None and direction == Direction.SERVER and block.role is not Role.INFORMATIONAL:
            grpc_rules.server_block(self, block, self.log.report)
            if block.role is Role.RESPONSE and self._response < 0:
                self._response = block.index
                self.responses_split.set_encoding(block.get("grpc-encoding"))
            elif block.role is Role.TRAILERS and self._trailers < 0:
                self._trailers = block.index
                if self._response < 0:
                    self.responses_split.set_encoding(block.get("grpc-encoding"))
            if block.get("grpc-status") is not None or (block.get("content-type") or "").startswith(
                    "application/grpc"):
                self.seen_grpc_reply = True
        if type_code == _DATA:
            payload = self.log.session.payloads.read(self.conn_index, _DIRECTIONS[direction], payload_at, length)
            if flags & PADDED:
                payload = data_body(flags, payload) if payload else payload
            elif len(payload) < length:
                short = self.short_frames
                if not isinstance(short, list):
                    short = self.short_frames = []
                short.append(packet)
            (self.requests_split if direction == Direction.CLIENT else self.responses_split).feed(index, payload)
        if flags & END_STREAM and type_code in (_DATA, _HEADERS):
            if not self._ends & 1 << direction:
                (self.requests_split if direction == Direction.CLIENT else self.responses_split).end()
            self._ends |= 1 << direction
            if direction == Direction.CLIENT and self.client_end_frame is None:
                self.client_end_frame = index
            if direction == Direction.SERVER:
                self.log.over.append(self)
        elif type_code == _RST:
            self.log.over.append(self)

    # ---- what views read ---------------------------------------------------

    @property
    def ended(self) -> tuple[bool, bool]:
        """END_STREAM seen, by direction (client, server)."""
        return _ENDED[self._ends]

    def _block(self, index: int) -> HeaderBlock | None:
        return self.log.block(index) if index >= 0 else None

    # A view reads a call's fields many times (method, status, message...): straight from the
    # header tuples, not a HeaderBlock record built for each.

    def _headers(self, index: int) -> tuple[Header, ...] | None:
        return self.log.headers_of(index) if index >= 0 else None

    def _value(self, index: int, name: str) -> str | None:
        """The first value of `name` in block `index` (None: no such block or field)."""
        if index < 0:
            return None
        for key, value in self.log.headers_of(index):
            if key == name:
                return value
        return None

    def _unknown_refs(self, index: int) -> tuple[int, ...]:
        if index < 0:
            return ()
        pinned = self.log._pinned.get(index)  # a block a bounded history dropped from the log
        return pinned.unknown_refs if pinned is not None else \
            self.log.session.header_blocks.unknown_refs.get(index, ())

    @property
    def request(self) -> HeaderBlock | None:
        """The request's header block; None when the call began before the capture did."""
        return self._block(self._request)

    @property
    def response(self) -> HeaderBlock | None:
        return self._block(self._response)

    @property
    def trailers_block(self) -> HeaderBlock | None:
        return self._block(self._trailers)

    @property
    def requests(self) -> list[GrpcMessage]:
        return self.requests_split.messages

    @property
    def responses(self) -> list[GrpcMessage]:
        return self.responses_split.messages

    @property
    def request_count(self) -> int:
        """Request messages, kept or not (see messages.MESSAGES_KEPT)."""
        return self.requests_split.count

    @property
    def response_count(self) -> int:
        return self.responses_split.count

    @property
    def method(self) -> str:
        """"/pkg.Service/Method"."""
        if self._request < 0:
            return UNKNOWN_METHOD
        return self._value(self._request, ":path") or (UNKNOWN_PATH if self._unknown_refs(self._request) else "?")

    @property
    def start_time(self) -> float:
        return self.first_time if self.first_time is not None else 0.0

    @property
    def duration(self) -> float:
        return self.end_time - self.start_time

    @property
    def stream(self) -> Stream | None:
        return self.log.session.stream(self.conn_index, self.stream_id)

    @property
    def request_metadata(self) -> list[Header]:
        request = self._headers(self._request)
        return [h for h in request if not h[0].startswith(":")] if request is not None else []

    @property
    def response_metadata(self) -> list[Header]:
        response = self._headers(self._response)
        return list(response) if response is not None else []

    @property
    def trailers(self) -> list[Header]:
        trailers = self._headers(self._trailers)
        return list(trailers) if trailers is not None else []

    @property
    def timeout(self) -> float | None:
        """grpc-timeout, in seconds."""
        return parse_timeout(self._value(self._request, "grpc-timeout")) if self._request >= 0 else None

    @property
    def ended_by(self) -> str:
        """trailers, trailers-only, rst_stream, goaway or capture-end."""
        if self._trailers >= 0:
            return "trailers-only" if self._trailers_only else "trailers"
        stream = self.stream
        if stream is not None and stream.reset_code is not None:
            return "rst_stream"
        if self.log.cut_by_goaway(self.conn_index, self.stream_id, stream):
            return "goaway"
        return "capture-end"

    @property
    def _trailers_only(self) -> bool:
        """A Trailers-Only response: the one server block, status and trailers in one (a call whose
        response headers came before the capture began ends with plain trailers instead)."""
        assert self._trailers >= 0
        return self._response < 0 and (self._request >= 0 or bool(self._value(self._trailers, ":status")))

    @property
    def grpc_status(self) -> int | None:
        ended_by = self.ended_by
        if ended_by in ("trailers", "trailers-only"):
            return parse_status(self._value(self._trailers, "grpc-status"))
        if ended_by != "rst_stream":
            return None
        stream = self.stream
        assert stream is not None and stream.reset_code is not None
        timeout = self.timeout
        if (stream.reset_code == ErrorCode.CANCEL and stream.reset_by is Direction.CLIENT and timeout is not None
                and self.duration >= timeout * 0.9):
            return int(GrpcStatus.DEADLINE_EXCEEDED)  # the client gave up at its deadline: it reports so
        return int(RST_TO_STATUS.get(stream.reset_code, GrpcStatus.INTERNAL))

    @property
    def grpc_status_name(self) -> str | None:
        return status_name(self.grpc_status)

    @property
    def grpc_status_source(self) -> str | None:
        """trailers, trailers-only or rst_stream."""
        ended_by = self.ended_by
        return ended_by if ended_by in ("trailers", "trailers-only", "rst_stream") else None

    @property
    def rst_error(self) -> str | None:
        stream = self.stream
        if self._trailers >= 0 or stream is None or stream.reset_code is None:
            return None
        name = error_name(stream.reset_code)
        return f"{name} from the {stream.reset_by.label}" if stream.reset_by is not None else name

    @property
    def grpc_message(self) -> str | None:
        return decode_grpc_message(self._value(self._trailers, "grpc-message")) if self._trailers >= 0 else None

    @property
    def status_details(self) -> dict | None:
        return (decode_status_details(self._value(self._trailers, "grpc-status-details-bin"))
                if self._trailers >= 0 else None)

    @property
    def problems(self) -> list[str]:
        """What a reader should know is wrong or missing, in words."""
        problems: list[str] = []
        unknown = self._unknown_refs(self._request)
        if unknown:
            problems.append("the capture began after some request headers were indexed: "
                            + ", ".join(f"dynamic entry {n}" for n in unknown) + " unknown")
        problems += [f"DATA frame at packet {packet} was not fully captured" for packet in self.short_frames]
        problems += [f"{m.label} message #{m.index + 1}: {m.problem}" for m in self.requests + self.responses
                     if m.problem]
        for split in (self.requests_split, self.responses_split):
            if split.unkept:
                label = "request" if split.direction is Direction.CLIENT else "response"
                kept = len(split.messages)
                problems.append(f"{split.unkept} more {label} messages past the first {kept:,} are counted, not kept")
        if self._trailers >= 0 and parse_status(self._value(self._trailers, "grpc-status")) is None:
            problems.append("grpc-status unknown: the trailers refer to header fields indexed before the "
                            "capture began" if self._unknown_refs(self._trailers) else "trailers without a grpc-status")
        return problems

    @property
    def findings(self) -> list[Finding]:
        """The session's findings about this call's stream (grpc.* and h2.* alike)."""
        session = self.log.session
        session.flush_findings()
        return [f for f in session.findings if f.conn_index == self.conn_index and f.stream_id == self.stream_id]

    @property
    def schema(self) -> Schema | None:
        """The schema that knows this call's method: its connection's (forward mode's reflection of
        its host, or a reflection exchange in the traffic), else the session's (--proto, --reflect)."""
        log = self.log
        if log.schema is None and not log.connection_schemas and not log.reflection_seen.seen:
            return None  # no schema anywhere: the method is not even looked up
        return log.schema_for(self.conn_index, self.method)

    @property
    def method_info(self) -> MethodInfo | None:
        """What the schema says of this call's method, if one knows it."""
        schema = self.schema
        return schema.method(self.method) if schema is not None else None

    def _style(self) -> tuple[str, str, bool, str]:
        """(style, source, certain, note). The schema knows; traffic can only suggest."""
        info = self.method_info
        if info is not None:
            return info.style, "schema", True, ""
        responses = self.responses
        nreq, nresp = self.request_count, self.response_count
        # A response before the client said END_STREAM: the server answered while the
        # client could still send, which only a bidi call allows a server to do.
        client_end = self.client_end_frame
        early = client_end is None or any(m.frames[0] < client_end for m in responses) if responses else False
        if nreq > 1 and nresp > 1:
            return "bidi-streaming", "traffic", True, ""
        if early and nresp and nreq:
            return "bidi-streaming", "traffic", True, "the server answered before the client finished sending"
        if nreq > 1:
            return "client-streaming", "traffic", False, \
                f"{nreq} requests and one response: client streaming, or bidi that answered once"
        if nresp > 1:
            return "server-streaming", "traffic", False, \
                f"one request and {nresp} responses: server streaming, or bidi that asked once"
        return "unary", "traffic", False, \
            "one message each way (or none) looks unary; a streaming method used that way looks the same"

    @property
    def style_facts(self) -> tuple[str, str, bool, str]:
        """(style, style_source, style_certain, style_note) at once, for a view that shows them all."""
        return self._style()

    @property
    def style(self) -> str:
        return self._style()[0]

    @property
    def style_source(self) -> str:
        """"schema" or "traffic"."""
        return self._style()[1]

    @property
    def style_certain(self) -> bool:
        return self._style()[2]

    @property
    def style_note(self) -> str:
        """Why traffic alone cannot tell, when it cannot."""
        return self._style()[3]

    def looks_like_grpc(self) -> bool:
        """For a call the request cannot prove (its content-type was indexed before the capture
        began, or the request was never seen): a reply only gRPC sends, or DATA that splits
        exactly into 5-byte-prefixed messages."""
        if self.seen_grpc_reply:
            return True
        sides = [s.messages for s in (self.requests_split, self.responses_split) if s.messages]
        return bool(sides) and all(_exactly_messages(m) for m in sides) and any(
            m.length or m.received for ms in sides for m in ms)

    def as_json(self) -> dict:
        """The `rpcs --format jsonl` object (the contract's keys first: docs/ARCHITECTURE.md)."""
        style, source, certain, _ = self._style()
        requests, responses = self.requests, self.responses
        return {
            "conn": self.conn_index, "stream_id": self.stream_id, "method": self.method, "style": style,
            "style_source": source, "request_messages": self.request_count,
            "response_messages": self.response_count, "grpc_status": self.grpc_status,
            "grpc_message": self.grpc_message, "ended_by": self.ended_by,
            "grpc_status_name": self.grpc_status_name, "grpc_status_source": self.grpc_status_source,
            "style_certain": certain, "rst_error": self.rst_error, "timeout": self.timeout,
            "start_time": self.start_time, "duration": round(self.duration, 6),
            "request_bytes": sum(m.length for m in requests),
            "response_bytes": sum(m.length for m in responses),
            "compressed": any(m.compressed for m in requests + responses),
            "status_details": self.status_details, "problems": self.problems,
            "findings": [{"rule": f.rule, "severity": f.severity.name.lower(), "message": f.message,
                          "frame": f.frame, "count": f.count} for f in self.findings],
        }

    def __repr__(self) -> str:
        return f"GrpcCall(conn {self.conn_index}, stream {self.stream_id}, {self.method})"


def _exactly_messages(messages: list[GrpcMessage]) -> bool:
    """Whole 5-byte-prefixed messages (at least one), the last one possibly cut short (a reset stream)."""
    return any(m.whole for m in messages) and not any(m.problem_flag for m in messages)


class CallLog:
    """Every gRPC call of a session, extended from the frames it has not read yet."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.schema: Schema | None = None  # the session's: --proto, --reflect
        self.connection_schemas: dict[int, Schema] = {}  # a connection's own: its host's, or seen in its traffic
        self.reflection_seen = ReflectionSeen(self)
        self.max_message = MAX_MESSAGE  # bytes a compressed message may inflate to (--max-message)
        self.frames_read = 0
        self.blocks_read = 0
        self._calls: list[GrpcCall] = []  # in order of stream start (once sorted)
        self._sorted = True
        self.by_stream: dict[tuple[int, int], GrpcCall] = {}
        # frame -> its message, or its messages when it carries several (most carry one: no list for them)
        self.by_frame: dict[int, GrpcMessage | list[GrpcMessage]] = {}
        self._unproven: set[tuple[int, int]] = set()  # calls listed only if they look like gRPC
        self._not_grpc: set[int] = set()  # conn << 32 | stream id: an int each, not a tuple (most streams)
        # Streams (conn << 32 | id) with a frame `update` passed by before any call had them: only
        # these need the stream index to find the frames a call opened later missed (few, or none).
        self._passed: set[int] = set()
        self._grpc_seen: dict[int, tuple[tuple[Header, ...], bool | None]] = {}  # id(headers) -> (them, is gRPC)
        self._goaway_min: dict[int, int] = {}  # conn_index -> lowest last stream id of its GOAWAYs
        self.over: list[GrpcCall] = []  # calls that ended since the grpc.* rules last looked
        self.report = session.findings_engine.report
        self._final = False
        self._recent_blocks: dict[int, HeaderBlock] = {}  # see `block`
        self._pinned: dict[int, HeaderBlock] = {}  # blocks of kept calls a bounded history dropped
        # Bound once: every call's two splitters share them (a bound method is 64 bytes, per call).
        self.reader: Callable[[GrpcMessage], bytes] = self.read_message
        self.on_frame: Callable[[int, GrpcMessage], None] = self.index_message

    # ---- reading -------------------------------------------------------------

    @property
    def calls(self) -> list[GrpcCall]:
        """Every call, in order of stream start."""
        self.update()
        if not self._sorted:
            self._calls.sort(key=_call_order)
            self._sorted = True
        if not self._unproven:
            return self._calls
        return [c for c in self._calls
                if (c.conn_index, c.stream_id) not in self._unproven or c.looks_like_grpc()]

    def __iter__(self) -> Iterator[GrpcCall]:
        return iter(self.calls)

    def __len__(self) -> int:
        return len(self.calls)

    def for_stream(self, conn_index: int, stream_id: int) -> GrpcCall | None:
        """The call on one stream, if that stream carries gRPC."""
        self.update()
        call = self.by_stream.get((conn_index, stream_id))
        if call is not None and (conn_index, stream_id) in self._unproven and not call.looks_like_grpc():
            return None
        return call

    def in_frame(self, frame_index: int) -> list[GrpcMessage]:
        """The gRPC messages a DATA frame carries (wholly or in part)."""
        self.update()
        found = self.by_frame.get(frame_index)
        if found is None:
            return []
        return found if isinstance(found, list) else [found]

    def use_schema(self, schema: Schema | None) -> None:
        """Styles (and payload types) from this schema from now on."""
        self.schema = schema

    def use_connection_schema(self, conn_index: int, schema: Schema) -> None:
        """One connection's styles and payload types from this schema, before the session's."""
        self.connection_schemas[conn_index] = schema

    def schema_for(self, conn_index: int, method: str) -> Schema | None:
        """The schema that knows `method` on a connection: the connection's own, else the session's;
        a reflection call's is the reflection protocol's (`reflection_protocol.reflection_schema`)."""
        own = self.connection_schemas.get(conn_index)
        if own is not None and method in own.methods:
            return own
        schema = self.schema
        if schema is not None and method in schema.methods:
            return schema
        if method in REFLECTION_METHODS:
            return reflection_schema()
        return None

    @property
    def current(self) -> bool:
        """Whether every frame of the session has been read."""
        return self.frames_read == len(self.session.frames)

    # ---- building -------------------------------------------------------------

    def update(self) -> None:
        """Read the frames (and upgrade requests) added since the last call."""
        session = self.session
        blocks = session.header_blocks
        if self.blocks_read < len(blocks):
            frames_of_block = blocks.frame
            for hb in range(max(self.blocks_read, blocks.base), len(blocks)):
                if frames_of_block[hb] == -1:  # an h2c Upgrade's HTTP/1.1 request: a block with no frame
                    upgrade = blocks[hb]
                    if upgrade.role is Role.REQUEST:
                        self._request(upgrade, None)
            self.blocks_read = len(blocks)
        log = session.frames
        end = len(log)
        if self.frames_read >= end:
            if session.complete and not self._final:
                self._check_over()
            return
        # A call log made after a bounded history dropped frames starts at the first one kept.
        start, self.frames_read = max(self.frames_read, log.base), end
        by_stream, not_grpc, passed = self.by_stream, self._not_grpc, self._passed
        # plain arrays of the blocks kept, indexed from the first one's number (a bounded history)
        (roles, bbase), (block_sids, _) = blocks.kept("role"), blocks.kept("stream_id")
        headers_of, _ = blocks.headers_kept()
        request, data, headers = int(Role.REQUEST), int(_DATA), int(_HEADERS)
        for (conn_index, d, packet, time, sid, type_code, flags, length, offset, _, _, _, _, _, hb,
             value) in log.rows(start, end):
            index = start
            start += 1
            if not sid:
                if type_code == _GOAWAY:
                    low = self._goaway_min.get(conn_index)
                    self._goaway_min[conn_index] = value if low is None else min(low, value)
                continue
            key = (conn_index, sid)
            call: GrpcCall | None = by_stream.get(key)
            block = None
            if call is None:
                if conn_index << 32 | sid in not_grpc:  # a stream whose request was not gRPC: most, in most captures
                    continue
                if hb >= 0 and roles[hb - bbase] == request and block_sids[hb - bbase] == sid:
                    # Most requests of most captures are not gRPC: the header tuple says so, once per tuple.
                    if self._grpc_of_headers(headers_of[hb - bbase]) is False:
                        not_grpc.add(conn_index << 32 | sid)
                        continue
                    block = self.block(hb)
                    call = self._request(block, index, time)
                else:
                    if type_code != data and type_code != headers:
                        passed.add(conn_index << 32 | sid)
                        continue
                    stream = session.stream(conn_index, sid)
                    if stream is None or stream.seen & Stream.REQUEST_SEEN or sid % 2 == 0:
                        passed.add(conn_index << 32 | sid)
                        continue  # a request was seen, and it was not gRPC; or a pushed stream
                    # a call already under way when the capture began
                    call = self._open(conn_index, sid, None, index, time)
                    self._unproven.add(key)
            if call is not None:
                if block is None and hb >= 0:
                    block = self.block(hb)
                call.frame(index, d, type_code, flags, length, time, packet, block, offset + FRAME_HEADER_LENGTH)
        if self.reflection_seen.calls:
            self.reflection_seen.update()
        self._check_over()

    def _grpc_of_headers(self, headers: tuple[Header, ...]) -> bool | None:
        """`_is_grpc` of a request's headers, kept by the tuple's identity (identical blocks share it)."""
        key = id(headers)
        known = self._grpc_seen.get(key)
        if known is None or known[0] is not headers:
            if len(self._grpc_seen) > 4096:
                self._grpc_seen.clear()
            known = self._grpc_seen[key] = (headers, _is_grpc(headers))
        return known[1]

    def _check_over(self) -> None:
        """The grpc.* rules that wait for a call to end, for the calls that ended (all, once the source has)."""
        session = self.session
        over = self.over
        if session.complete and not self._final and self.frames_read == len(session.frames):
            self._final = True
            over = over + self._calls
        for call in over:
            if not call.checked and ((call.conn_index, call.stream_id) not in self._unproven or call.looks_like_grpc()):
                call.checked = True
                conn = session.connection(call.conn_index)
                grpc_rules.ended(call, self.report, connection_closed=conn is not None and conn.closed_by is not None,
                                 capture_over=session.complete)
        self.over = []

    def _request(self, block: HeaderBlock, frame: int | None, time: float | None = None) -> GrpcCall | None:
        key = (block.conn_index, block.stream_id)
        is_grpc = _is_grpc(block.headers)
        if is_grpc is False:
            self._not_grpc.add(block.conn_index << 32 | block.stream_id)
            return None
        call = self._open(block.conn_index, block.stream_id, block, frame, time)
        if block.get(":path") in REFLECTION_METHODS:
            self.reflection_seen.watch(call)
        if is_grpc is None:
            self._unproven.add(key)
        else:
            grpc_rules.request(call, self.report)
        return call

    def order_changed(self) -> None:
        """A call's start time became known: sort again before the calls are next read."""
        self._sorted = False

    def _open(self, conn_index: int, sid: int, request: HeaderBlock | None, frame: int | None,
              time: float | None = None) -> GrpcCall:
        """A new call; the frames its stream had before `frame` (or, for an upgrade request
        that has no frame, before the frames not read yet) are read into it first. `time`: that
        of `frame`, when the caller has it."""
        session = self.session
        if frame is not None and conn_index << 32 | sid not in self._passed:
            earlier: list[int] = []  # `update` passed no frame of this stream by: `frame` is its first
        else:
            limit = frame if frame is not None else self.frames_read
            earlier = [i for i in session.stream_frames.of(conn_index, sid) if i < limit]
        first = earlier[0] if earlier else frame
        if first is None:
            start = None
        elif first == frame and time is not None:
            start = time
        else:
            start = session.frames.time[first]
        call = GrpcCall(self, conn_index, sid, request, start)
        self.by_stream[(conn_index, sid)] = call
        calls = self._calls
        if calls and _call_order(calls[-1]) > _call_order(call):
            self._sorted = False
        calls.append(call)
        blocks = session.header_blocks
        for i in earlier:
            f = session.frames[i]
            block = blocks[f.header_block] if f.header_block >= 0 else None
            call.frame(i, f.direction, f.type_code, f.flags, f.length, f.time, f.packet, block, f.payload_offset)
        return call

    def drop_before(self, frame: int, block: int, streams: set[tuple[int, int]]) -> None:
        """A bounded history drops the frames before `frame`, the header blocks before `block` and
        the `streams` (conn_index, id): the calls on those streams go, with what indexes them.
        A call kept (its stream is open) keeps the header blocks it names, as records."""
        self.update()
        self._check_over()
        if streams:
            kept = []
            for call in self._calls:
                key = (call.conn_index, call.stream_id)
                if key in streams:
                    del self.by_stream[key]
                    self._unproven.discard(key)
                else:
                    kept.append(call)
            self._calls = kept
            keys = {c << 32 | s for c, s in streams}
            self._not_grpc -= keys
            self._passed -= keys
        for i in [i for i in self.by_frame if i < frame]:
            del self.by_frame[i]
        pinned: dict[int, HeaderBlock] = {}
        for call in self._calls:
            for index in (call._request, call._response, call._trailers):
                if 0 <= index < block:
                    pinned[index] = self.block(index)
        self._pinned = pinned
        self._recent_blocks = {i: b for i, b in self._recent_blocks.items() if i >= block}

    def headers_of(self, index: int) -> tuple[Header, ...]:
        """The header tuple of block `index` (of a call kept, when the log has dropped the block)."""
        blocks = self.session.header_blocks
        if index < blocks.base:
            pinned = self._pinned.get(index)
            return pinned.headers if pinned is not None else ()
        return blocks.headers[index]

    def block(self, index: int) -> HeaderBlock:
        """Header block `index`, from a small cache of the last few: a call's request, response and
        trailers are each read many times while it is checked or printed (the record is built from
        the packed log each time otherwise). A block a bounded history dropped from the log is
        still here while a call that names it is kept (`drop_before`)."""
        cache = self._recent_blocks
        block = cache.get(index)
        if block is None:
            pinned = self._pinned.get(index)
            if pinned is not None:
                return pinned
            if len(cache) >= RECENT_BLOCKS:
                cache.clear()
            block = cache[index] = self.session.header_blocks[index]
        return block

    def index_message(self, frame: int, message: GrpcMessage) -> None:
        """A message lies (partly) in a frame: kept for `in_frame`."""
        found = self.by_frame.get(frame)
        if found is None:
            self.by_frame[frame] = message
        elif isinstance(found, list):
            found.append(message)
        else:
            self.by_frame[frame] = [found, message]

    def read_message(self, message: GrpcMessage) -> bytes:
        """A message's bytes as sent, read back from its DATA frames: only the bytes it has, so
        many small messages in one big frame do not each read the whole frame."""
        if not message.length:
            return b""
        session = self.session
        if message.frames[0] < session.frames.base:
            return b""  # a bounded history dropped its frames: as a payload no longer kept
        skip, left = message.offset + PREFIX, message.length  # skip: into the bodies, from the first frame's
        parts = []
        for i in message.frames:
            frame = session.frames[i]
            start, end = frame.payload_offset, frame.payload_offset + frame.length
            if frame.flags & PADDED:  # as payloads.data_body: a pad that does not fit is no padding
                pad = session.payloads.read(frame.conn_index, frame.direction, start, 1)
                if pad and pad[0] < frame.length:
                    start, end = start + 1, end - pad[0]
            if skip >= end - start:
                skip -= end - start
                continue
            take = min(left, end - start - skip)
            parts.append(session.payloads.read(frame.conn_index, frame.direction, start + skip, take))
            left -= take
            skip = 0
            if not left:
                break
        return b"".join(parts)

    def cut_by_goaway(self, conn_index: int, stream_id: int, stream: Stream | None) -> bool:
        """A GOAWAY whose last stream id is below this stream: the peer will not finish it."""
        low = self._goaway_min.get(conn_index)
        if low is None:
            return False
        return low < stream_id or (stream is not None and stream.state is not StreamState.CLOSED)


def _call_order(call: GrpcCall) -> tuple[float, int, int]:
    return call.start_time, call.conn_index, call.stream_id


def _is_grpc(headers: tuple[Header, ...]) -> bool | None:
    """True or False from the request's content-type; None when the capture cannot say
    (the header was a dynamic-table entry indexed before the capture began)."""
    unknown = False
    for name, value in headers:
        if name == "content-type":
            return value.startswith("application/grpc")
        unknown |= name.startswith("<unknown dynamic entry")
    return None if unknown else False


def find_calls(session: Session, schema: Schema | None = None) -> list[GrpcCall]:
    """Every gRPC call in the session, in order of stream start (styles from `schema` if given)."""
    if schema is not None:
        session.calls.use_schema(schema)
    return session.calls.calls


def call_for_stream(session: Session, conn_index: int, stream_id: int) -> GrpcCall | None:
    """The call on one stream, if that stream carries gRPC."""
    return session.calls.for_stream(conn_index, stream_id)


def messages_in_frame(session: Session, frame_index: int) -> list[GrpcMessage]:
    """The gRPC messages a DATA frame carries (wholly or in part)."""
    return session.calls.in_frame(frame_index)


def decode_payload(message: GrpcMessage, call: GrpcCall | None, schema: Schema | None = None) -> str:
    """A message as text: by its schema type when known (the call's own, `GrpcCall.schema`, else
    `schema`), else the raw wire format."""
    data = message.data
    if data is None:
        return f"({message.problem or 'not captured'})"
    if call is not None:
        schema = call.schema or schema
    if schema is not None and call is not None:
        info = schema.method(call.method)
        if info is not None:
            type_name = info.input_type if message.direction is Direction.CLIENT else info.output_type
            text = schema.decode(type_name, data)
            if text is not None:
                return f"{type_name} {{ {text.replace(chr(10), ' ')} }}" if text else f"{type_name} {{}}"
    if not data:
        return "(empty message)"
    return "\n".join(format_raw(data))
