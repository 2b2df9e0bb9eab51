"""gRPC calls from the HTTP/2 model: one call per stream whose request says
`content-type: application/grpc`, with its messages, metadata, status, style
and how it ended.

Views call `find_calls`, `call_for_stream` and `messages_in_frame`; results
are kept per session and rebuilt when the session has grown (a live proxy).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from inspector.http2.frames import PADDED, FrameType, error_name
from inspector.http2.payloads import data_body
from inspector.model import Direction, HeaderBlock, Role, Session, Stream
from inspector.rpc.messages import GrpcMessage, split_messages
from inspector.rpc.protobuf_wire import format_raw
from inspector.rpc.schema import Schema
from inspector.rpc.status import (
    RST_TO_STATUS,
    decode_grpc_message,
    decode_status_details,
    parse_status,
    parse_timeout,
    status_name,
)

Header = tuple[str, str]
STYLES = ("unary", "server-streaming", "client-streaming", "bidi-streaming")


@dataclass(slots=True)
class GrpcCall:
    """One gRPC call: one HTTP/2 stream (unary calls too)."""

    conn: int
    stream_id: int
    method: str  # "/pkg.Service/Method"
    service: str
    style: str
    style_source: str  # "schema" or "traffic"
    style_certain: bool
    style_note: str  # why traffic alone cannot tell, when it cannot
    requests: list[GrpcMessage]
    responses: list[GrpcMessage]
    request_metadata: list[Header]
    response_metadata: list[Header]
    trailers: list[Header]
    grpc_status: int | None
    grpc_status_name: str | None
    grpc_status_source: str | None  # "trailers", "trailers-only", "rst_stream"
    grpc_message: str | None
    status_details: dict | None
    timeout: float | None  # grpc-timeout, seconds
    ended_by: str  # trailers, trailers-only, rst_stream, goaway, capture-end
    rst_error: str | None
    start_time: float
    end_time: float
    problems: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.end_time - self.start_time

    def as_json(self) -> dict:
        """The `rpcs --format jsonl` object (DESIGN.md keys first)."""
        return {
            "conn": self.conn, "stream_id": self.stream_id, "method": self.method, "style": self.style,
            "style_source": self.style_source, "request_messages": len(self.requests),
            "response_messages": len(self.responses), "grpc_status": self.grpc_status,
            "grpc_message": self.grpc_message, "ended_by": self.ended_by,
            "grpc_status_name": self.grpc_status_name, "grpc_status_source": self.grpc_status_source,
            "style_certain": self.style_certain, "rst_error": self.rst_error, "timeout": self.timeout,
            "start_time": self.start_time, "duration": round(self.duration, 6),
            "request_bytes": sum(m.length for m in self.requests),
            "response_bytes": sum(m.length for m in self.responses),
            "compressed": any(m.compressed for m in self.requests + self.responses),
            "status_details": self.status_details, "problems": self.problems,
        }


class CallIndex:
    """All calls of a session, by stream and by frame."""

    def __init__(self, calls: list[GrpcCall]) -> None:
        self.calls = calls
        self.by_stream = {(c.conn, c.stream_id): c for c in calls}
        self.by_frame: dict[int, list[GrpcMessage]] = {}
        for call in calls:
            for message in call.requests + call.responses:
                for frame in message.frames:
                    self.by_frame.setdefault(frame, []).append(message)


_cache: dict[int, tuple[Session, int, Schema | None, CallIndex, float]] = {}
STALE_WHILE_GROWING = 1.0  # seconds: a growing session is re-read at most this often


def _index(session: Session, schema: Schema | None = None) -> CallIndex:
    entry = _cache.get(id(session))
    if entry is not None and entry[0] is session and entry[2] is schema:
        if entry[1] == len(session.frames):
            return entry[3]
        if not session.complete and time.monotonic() - entry[4] < STALE_WHILE_GROWING:
            return entry[3]  # still loading or live: a second-old answer beats rebuilding per frame
    index = CallIndex(_build(session, schema))
    _cache[id(session)] = (session, len(session.frames), schema, index, time.monotonic())
    return index


def index_is_current(session: Session) -> bool:
    """Whether the calls known for the session have read all its frames (a live one may lag a second)."""
    entry = _cache.get(id(session))
    return entry is not None and entry[0] is session and entry[1] == len(session.frames)


def find_calls(session: Session, schema: Schema | None = None) -> list[GrpcCall]:
    """Every gRPC call in the session, in order of stream start."""
    return _index(session, schema).calls


def call_for_stream(session: Session, conn: int, stream_id: int) -> GrpcCall | None:
    """The call on one stream, if that stream carries gRPC."""
    return _index(session).by_stream.get((conn, stream_id))


def messages_in_frame(session: Session, frame_index: int) -> list[GrpcMessage]:
    """The gRPC messages a DATA frame carries (wholly or in part)."""
    return _index(session).by_frame.get(frame_index, [])


def decode_payload(message: GrpcMessage, call: GrpcCall | None, schema: Schema | None = None) -> str:
    """A message as text: by its schema type when known, else the raw wire format."""
    if message.data is None:
        return f"({message.problem or 'not captured'})"
    if schema is not None and call is not None:
        info = schema.method(call.method)
        if info is not None:
            type_name = info.input_type if message.direction is Direction.CLIENT else info.output_type
            text = schema.decode(type_name, message.data)
            if text is not None:
                return f"{type_name} {{ {text.replace(chr(10), ' ')} }}" if text else f"{type_name} {{}}"
    if not message.data:
        return "(empty message)"
    return "\n".join(format_raw(message.data))


UNKNOWN_PATH = "<unknown :path>"


def _is_grpc(headers: tuple[Header, ...]) -> bool | None:
    """True or False from the request's content-type; None when the capture cannot say
    (the header was a dynamic-table entry indexed before the capture began)."""
    unknown = False
    for name, value in headers:
        if name == "content-type":
            return value.startswith("application/grpc")
        unknown |= name.startswith("<unknown dynamic entry")
    return None if unknown else False


def _looks_like_grpc(session: Session, stream: Stream) -> bool:
    """For a stream whose request headers the capture could not fully decode: a
    response that only gRPC sends (grpc-status, a gRPC content-type), or DATA that
    splits exactly into 5-byte-prefixed messages."""
    pieces: dict[int, list[bytes]] = {0: [], 1: []}
    for i in stream.frames:
        frame = session.frames[i]
        hb = frame.header_block
        if hb >= 0 and frame.direction is Direction.SERVER:
            for name, value in session.header_blocks.headers[hb]:
                if name == "grpc-status" or (name == "content-type" and value.startswith("application/grpc")):
                    return True
        if frame.type_code == FrameType.DATA and not frame.flags & 0x8:
            pieces[frame.direction].append(session.frame_payload(frame))
    framed = [_exactly_messages(b"".join(p)) for p in pieces.values() if p]
    return bool(framed) and all(framed) and any(p and b"".join(p) for p in pieces.values())


def _exactly_messages(data: bytes) -> bool:
    """Whole 5-byte-prefixed messages, the last one possibly cut short (a reset stream)."""
    pos = whole = 0
    while pos + 5 <= len(data):
        if data[pos] > 1:
            return False
        end = pos + 5 + int.from_bytes(data[pos + 1:pos + 5], "big")
        if end > len(data):
            return whole > 0
        whole += 1
        pos = end
    return whole > 0 and (pos == len(data) or len(data) - pos < 5)


def _build(session: Session, schema: Schema | None) -> list[GrpcCall]:
    blocks = session.header_blocks
    roles = blocks.column("role")
    grpc_seen: dict[int, bool] = {}
    calls: list[GrpcCall] = []
    for i in range(len(roles)):
        if roles[i] != Role.REQUEST:
            continue
        headers = blocks.headers[i]
        key = id(headers)
        if key in grpc_seen:
            is_grpc = grpc_seen[key]
        else:
            is_grpc = grpc_seen[key] = _is_grpc(headers)
        if is_grpc is False:
            continue
        block = blocks[i]
        stream = session.stream(block.conn, block.stream_id)
        if stream is not None and (is_grpc or _looks_like_grpc(session, stream)):
            calls.append(_call(session, stream, block, schema))
    calls.sort(key=lambda c: (c.start_time, c.conn, c.stream_id))
    return calls


def _call(session: Session, stream: Stream, request: HeaderBlock, schema: Schema | None) -> GrpcCall:
    log = session.frames
    frames = [log[i] for i in stream.frames]
    blocks = [session.header_blocks[f.header_block] for f in frames if f.header_block >= 0]
    server_blocks = [b for b in blocks if b.direction is Direction.SERVER and b.role is not Role.INFORMATIONAL]
    response = next((b for b in server_blocks if b.role is Role.RESPONSE), None)
    trailers = next((b for b in server_blocks if b.role is Role.TRAILERS), None)
    method = request.get(":path") or (UNKNOWN_PATH if request.unknown_refs else "?")
    problems: list[str] = []
    if request.unknown_refs:
        problems.append("the capture began after some request headers were indexed: "
                        + ", ".join(f"dynamic entry {n}" for n in request.unknown_refs) + " unknown")

    # Messages, each direction on its own.
    pieces: dict[Direction, list[tuple[int, bytes]]] = {Direction.CLIENT: [], Direction.SERVER: []}
    ended = {Direction.CLIENT: False, Direction.SERVER: False}
    client_end_frame = None
    for f in frames:
        if f.type_code == FrameType.DATA:
            payload = session.frame_payload(f)
            if f.flags & PADDED and payload:
                payload = data_body(f.flags, payload)
            if len(payload) < f.length and not f.flags & 0x8:
                problems.append(f"DATA frame at packet {f.packet} was not fully captured")
            pieces[f.direction].append((f.index, payload))
        if f.type_code in (FrameType.DATA, FrameType.HEADERS) and f.flags & 0x1:
            ended[f.direction] = True
            if f.direction is Direction.CLIENT and client_end_frame is None:
                client_end_frame = f.index
    request_encoding = request.get("grpc-encoding")
    response_encoding = (response or trailers).get("grpc-encoding") if (response or trailers) else None
    requests = split_messages(Direction.CLIENT, pieces[Direction.CLIENT], request_encoding,
                              ended[Direction.CLIENT])
    responses = split_messages(Direction.SERVER, pieces[Direction.SERVER], response_encoding,
                               ended[Direction.SERVER])
    problems += [f"{m.label} message #{m.index + 1}: {m.problem}" for m in requests + responses if m.problem]

    # How it ended, and the status it ended with.
    status_source = None
    status = None
    rst_error = None
    if trailers is not None:
        ended_by = "trailers" if response is not None else "trailers-only"
        status = parse_status(trailers.get("grpc-status"))
        status_source = ended_by
        if status is None:
            problems.append("grpc-status unknown: the trailers refer to header fields indexed before the "
                            "capture began" if trailers.unknown_refs else "trailers without a grpc-status")
    elif stream.reset_code is not None:
        ended_by = "rst_stream"
        rst_error = f"{error_name(stream.reset_code)} from the {stream.reset_by.label}" if stream.reset_by \
            is not None else error_name(stream.reset_code)
        status = RST_TO_STATUS.get(stream.reset_code, 13)
        status_source = "rst_stream"
    elif _cut_by_goaway(session, stream):
        ended_by = "goaway"
    else:
        ended_by = "capture-end"
    start = frames[0].time if frames else 0.0
    end = frames[-1].time if frames else start
    timeout = parse_timeout(request.get("grpc-timeout"))
    if (ended_by == "rst_stream" and stream.reset_code == 0x8 and stream.reset_by is Direction.CLIENT
            and timeout is not None and end - start >= timeout * 0.9):
        status = 4  # the client gave up at its deadline: it reports DEADLINE_EXCEEDED
    final = trailers
    grpc_message = decode_grpc_message(final.get("grpc-message")) if final else None
    details = decode_status_details(final.get("grpc-status-details-bin")) if final else None

    style, source, certain, note = _style(method, requests, responses, client_end_frame, schema)
    service = method.rsplit("/", 1)[0].lstrip("/") if method.count("/") >= 2 else ""
    return GrpcCall(
        conn=stream.conn, stream_id=stream.stream_id, method=method, service=service, style=style,
        style_source=source, style_certain=certain, style_note=note, requests=requests, responses=responses,
        request_metadata=[h for h in request.headers if not h[0].startswith(":")],
        response_metadata=list(response.headers) if response is not None else [],
        trailers=list(trailers.headers) if trailers is not None else [],
        grpc_status=status, grpc_status_name=status_name(status), grpc_status_source=status_source,
        grpc_message=grpc_message, status_details=details, timeout=timeout, ended_by=ended_by,
        rst_error=rst_error, start_time=start, end_time=end, problems=problems)


def _style(method: str, requests: list[GrpcMessage], responses: list[GrpcMessage], client_end: int | None,
           schema: Schema | None) -> tuple[str, str, bool, str]:
    """(style, source, certain, note). The schema knows; traffic can only suggest."""
    info = schema.method(method) if schema is not None else None
    if info is not None:
        return info.style, "schema", True, ""
    nreq, nresp = len(requests), len(responses)
    # A response before the client said END_STREAM: the server answered while the
    # client could still send, which only a bidi call allows a server to do.
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


def _cut_by_goaway(session: Session, stream: Stream) -> bool:
    """A GOAWAY whose last stream id is below this stream: the peer will not finish it."""
    conn = session.connection(stream.conn)
    if conn is None:
        return False
    if any(goaway.last_stream_id < stream.stream_id for goaway in conn.goaways):
        return True
    return bool(conn.goaways) and stream.state.name != "CLOSED"
