"""HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/): one entry per HTTP/2 stream.

What HAR has no field for is kept in extension fields, whose names start with
an underscore as the spec asks:

- `entry._conn`, `entry._streamId`, `entry._server`, `entry._client`: where the stream was;
  `entry._target`: the host a forward-proxy client asked for (CONNECT);
- `entry._pushed`: a server push (the request came in a PUSH_PROMISE);
- `entry._resetBy`, `entry._resetCode`: who reset the stream, with which error code;
- `response._trailers`: the trailer fields, as `[{name, value}]`;
- `response._informational`: 1xx responses before the final one, `[{status, headers}]`;
- `entry._grpc`: the gRPC call (the `rpcs --format jsonl` object) with its messages,
  `requests` and `responses`, each `{index, length, compressed, frames, data}`, `data`
  base64 of the message (decompressed; null if not all captured), `wire` the compressed bytes
  when it was compressed, `decoded` its text by the schema (--proto, --reflect) when one knows it;
- `postData._encoding` "base64": HAR 1.2 has `content.encoding` for responses but
  nothing for request bodies, so a binary request body says how it is written.

Bodies are the DATA frames' bytes after padding, as sent (not decompressed):
text when the content type is textual and the bytes are UTF-8, base64 otherwise.
Sizes of header blocks are -1: HPACK has no size comparable to HTTP/1.1 headers.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from inspector import __version__
from inspector.http2.frames import FrameType
from inspector.http2.payloads import DataPayload
from inspector.model import Direction, Header, HeaderBlock, Role, Session, Stream
from inspector.rpc.calls import GrpcCall, decode_payload
from inspector.rpc.messages import GrpcMessage

HAR_VERSION = "1.2"
HTTP_VERSION = "HTTP/2"
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
              "application/x-www-form-urlencoded", "image/svg+xml")
REASONS = {200: "OK", 201: "Created", 204: "No Content", 206: "Partial Content", 301: "Moved Permanently",
           302: "Found", 304: "Not Modified", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout"}


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(seconds: float) -> float:
    return round(max(seconds, 0.0) * 1000.0, 3)


def _fields(headers: Iterable[Header]) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in headers if not n.startswith(":")]


def _cookies(headers: Iterable[Header], name: str) -> list[dict[str, str]]:
    out = []
    for n, v in headers:
        if n != name:
            continue
        parts = v.split(";") if name == "set-cookie" else v.split("; ")
        for part in parts[:1] if name == "set-cookie" else parts:
            key, _, value = part.strip().partition("=")
            if key:
                out.append({"name": key, "value": value})
    return out


def _is_text(mime: str) -> bool:
    return mime.lower().startswith(TEXT_TYPES)


def _body_text(body: bytes, mime: str) -> tuple[str, bool]:
    """The body as HAR text, and whether it is base64."""
    if _is_text(mime):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


class _StreamFacts:
    """What one stream's frames say, read once: its blocks, bodies and times."""

    def __init__(self, session: Session, stream: Stream) -> None:
        self.request: HeaderBlock | None = None
        self.response: HeaderBlock | None = None
        self.informational: list[HeaderBlock] = []
        self.trailers: HeaderBlock | None = None
        self.bodies: dict[Direction, bytearray] = {Direction.CLIENT: bytearray(), Direction.SERVER: bytearray()}
        self.times: dict[Direction, list[float]] = {Direction.CLIENT: [], Direction.SERVER: []}
        self.request_end: float | None = None
        frames = session.frames
        blocks = session.header_blocks
        for i in stream.frames:
            frame = frames[i]
            self.times[frame.direction].append(frame.time)
            if frame.direction is Direction.CLIENT and frame.flags & 0x1 and frame.type_code in (
                    FrameType.DATA, FrameType.HEADERS):
                self.request_end = frame.time
            if frame.type_code == FrameType.DATA:
                payload = session.frame_payload(frame)
                data = DataPayload.parse(frame.flags, payload)
                self.bodies[frame.direction] += payload[data.data_start:data.data_end]
            if frame.header_block >= 0:
                self._block(blocks[frame.header_block])
        if self.request is None and stream.promised_by is not None:
            # A pushed stream's request is the PUSH_PROMISE on its parent stream.
            for block in blocks:
                if block.role is Role.PUSH_REQUEST and block.conn_index == stream.conn_index and \
                        _promised(session, block) == stream.stream_id:
                    self.request = block
                    break

    def _block(self, block: HeaderBlock) -> None:
        if block.role is Role.REQUEST and self.request is None:
            self.request = block
        elif block.role is Role.RESPONSE and self.response is None:
            self.response = block
        elif block.role is Role.INFORMATIONAL:
            self.informational.append(block)
        elif block.role is Role.TRAILERS:
            self.trailers = block


def _promised(session: Session, block: HeaderBlock) -> int | None:
    if block.frame < 0:
        return None
    return session.frames[block.frame].control_value


def _message(message: GrpcMessage, call: GrpcCall) -> dict[str, Any]:
    data = message.data if message.whole else None
    raw = message.reader(message) if message.whole else None
    out: dict[str, Any] = {"index": message.index, "length": message.length, "compressed": message.compressed,
            "frames": list(message.frames),
            "data": base64.b64encode(data).decode("ascii") if data is not None else None,
            "wire": base64.b64encode(raw).decode("ascii") if raw is not None and message.compressed else None,
            "problem": message.problem}
    if data is not None and call.method_info is not None:
        out["decoded"] = decode_payload(message, call)  # by the schema: "pkg.Type { ... }"
    return out


def _grpc(call: GrpcCall) -> dict[str, Any]:
    out = call.as_json()
    out["requests"] = [_message(m, call) for m in call.requests]
    out["responses"] = [_message(m, call) for m in call.responses]
    return out


def har_entry(session: Session, stream: Stream, names: dict[int, str] | None = None) -> dict[str, Any] | None:
    """The HAR entry of one stream; None for a stream with no frames at all."""
    facts = _StreamFacts(session, stream)
    client_times, server_times = facts.times[Direction.CLIENT], facts.times[Direction.SERVER]
    every = client_times + server_times
    if not every:
        return None
    conn = session.connection(stream.conn_index)
    request_headers = facts.request.headers if facts.request else ()
    get = dict(request_headers).get
    authority = get(":authority") or get("host") or (names or {}).get(stream.conn_index) or \
        (conn.target or conn.server if conn else "")
    path = get(":path", "")
    scheme = get(":scheme", "http")
    url = f"{scheme}://{authority}{path}" if facts.request else f"{scheme}://{authority}/"
    query = path.partition("?")[2]
    request_body = bytes(facts.bodies[Direction.CLIENT])
    request_mime = get("content-type", "")
    request: dict[str, Any] = {
        "method": get(":method", "GET" if facts.request is None else ""),
        "url": url, "httpVersion": HTTP_VERSION,
        "cookies": _cookies(request_headers, "cookie"), "headers": _fields(request_headers),
        "queryString": [{"name": k, "value": v} for k, v in parse_qsl(query, keep_blank_values=True)],
        "headersSize": -1, "bodySize": len(request_body),
    }
    if request_body:
        text, b64 = _body_text(request_body, request_mime)
        request["postData"] = {"mimeType": request_mime, "text": text, "params": []}
        if b64:
            request["postData"]["_encoding"] = "base64"
    response_headers = facts.response.headers if facts.response else ()
    rget = dict(response_headers).get
    status_text = rget(":status", "0")
    status = int(status_text) if status_text.isdigit() else 0
    response_body = bytes(facts.bodies[Direction.SERVER])
    response_mime = rget("content-type", "")
    content: dict[str, Any] = {"size": len(response_body), "mimeType": response_mime}
    if response_body:
        text, b64 = _body_text(response_body, response_mime)
        content["text"] = text
        if b64:
            content["encoding"] = "base64"
    response: dict[str, Any] = {
        "status": status, "statusText": REASONS.get(status, ""), "httpVersion": HTTP_VERSION,
        "cookies": _cookies(response_headers, "set-cookie"), "headers": _fields(response_headers),
        "content": content, "redirectURL": rget("location", ""), "headersSize": -1,
        "bodySize": len(response_body),
    }
    if facts.trailers is not None:
        response["_trailers"] = _fields(facts.trailers.headers)
    if facts.informational:
        response["_informational"] = [{"status": b.get(":status"), "headers": _fields(b.headers)}
                                      for b in facts.informational]
    start = min(every)
    sent = facts.request_end if facts.request_end is not None else (max(client_times) if client_times else start)
    first_reply = min(server_times) if server_times else sent
    last = max(every)
    send = _ms(sent - start)
    wait = _ms(first_reply - sent)
    receive = _ms(last - first_reply) if server_times else 0.0
    entry: dict[str, Any] = {
        "startedDateTime": _iso(start), "time": round(send + wait + receive, 3),
        "request": request, "response": response, "cache": {},
        "timings": {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1,
                    "send": send, "wait": wait, "receive": receive},
        "connection": str(stream.conn_index),
        "_conn": stream.conn_index, "_streamId": stream.stream_id,
        "_client": conn.client if conn else "", "_server": conn.server if conn else "",
    }
    if conn is not None and conn.target:
        entry["_target"] = conn.target
    if conn is not None:
        entry["serverIPAddress"] = conn.server.rpartition(":")[0].strip("[]")
    if stream.promised_by is not None:
        entry["_pushed"] = True
    if stream.reset_by is not None:
        entry["_resetBy"] = stream.reset_by.label
        entry["_resetCode"] = stream.reset_code
    call = session.calls.for_stream(stream.conn_index, stream.stream_id)
    if call is not None:
        entry["_grpc"] = _grpc(call)
    return entry


def har_log(session: Session, names: dict[int, str] | None = None) -> dict[str, Any]:
    """The whole HAR object: every stream of every connection, in the order streams began.

    `names` gives a connection's target host where the headers do not (the proxy's forward mode).
    """
    entries = []
    for conn in session.connections:
        for sid in sorted(conn.streams):
            if sid == 0:
                continue
            entry = har_entry(session, conn.streams[sid], names)
            if entry is not None:
                entries.append(entry)
    entries.sort(key=lambda e: (e["startedDateTime"], e["_conn"], e["_streamId"]))
    return {"log": {"version": HAR_VERSION, "creator": {"name": "h2inspect", "version": __version__},
                    "pages": [], "entries": entries,
                    "comment": "one entry per HTTP/2 stream; extension fields are described in "
                               "inspector/views/har.py"}}


def write_har(session: Session, path: str, names: dict[int, str] | None = None) -> int:
    """Write the session's HAR to `path`; the number of entries."""
    log = har_log(session, names)
    with open(path, "w", encoding="utf-8") as out:
        json.dump(log, out, ensure_ascii=False, indent=1)
        out.write("\n")
    return len(log["log"]["entries"])
