"""Checkers of the grpc.* rules (gRPC over HTTP/2, PROTOCOL-HTTP2.md), fed by the call log.

The gRPC layer (`rpc.calls.CallLog`) builds the calls as frames arrive; it hands
each call here when its request is known (`request`), when a server header block
arrives (`server_block`) and once when it is over (`ended`). A call is any object
with the attributes of `rpc.calls.GrpcCall`: this package sits below the gRPC
layer, so it names none of its types and says what it reads as the protocols
`CallFacts` and `MessageFacts`, which mypy checks GrpcCall against.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from inspector.model import HeaderBlock, Role, Stream

Report = Callable[..., None]
"""engine.report, bound to a session: report(rule id, message, conn_index=, stream_id=, frame=)."""

CONTENT_TYPE = re.compile(r"application/grpc(\+[A-Za-z0-9._-]+)?(\s*;.*)?")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
STATUS_NAMES = ("OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
                "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
                "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED")
#: HTTP status -> the gRPC status a client reports for it (gRPC http-grpc-status-mapping.md).
HTTP_TO_GRPC = {400: 13, 401: 16, 403: 7, 404: 12, 429: 14, 502: 14, 503: 14, 504: 14}
DEADLINE_SLACK = 0.1  # a call may end this share of its timeout late (clocks, the capture's own delay)
DEADLINE_EXCEEDED = 4


class MessageFacts(Protocol):
    """What the checks read of a gRPC message (`rpc.messages.GrpcMessage`)."""

    index: int
    length: int
    received: int
    compressed: bool
    ended: bool

    @property
    def encoding(self) -> str | None: ...
    @property
    def label(self) -> str: ...
    @property
    def whole(self) -> bool: ...
    @property
    def frames(self) -> Sequence[int]: ...


class CallFacts(Protocol):
    """What the checks read of a gRPC call (`rpc.calls.GrpcCall`)."""

    conn_index: int
    stream_id: int
    first_time: float | None
    client_end_frame: int | None
    last_frame: int | None

    @property
    def ended(self) -> Sequence[bool]: ...

    @property
    def request(self) -> HeaderBlock | None: ...
    @property
    def response(self) -> HeaderBlock | None: ...
    @property
    def trailers_block(self) -> HeaderBlock | None: ...
    @property
    def requests(self) -> Sequence[MessageFacts]: ...
    @property
    def responses(self) -> Sequence[MessageFacts]: ...
    @property
    def method(self) -> str: ...
    @property
    def duration(self) -> float: ...
    @property
    def stream(self) -> Stream | None: ...
    @property
    def timeout(self) -> float | None: ...
    @property
    def style(self) -> str: ...
    @property
    def style_source(self) -> str: ...
    @property
    def grpc_status(self) -> int | None: ...


def _where(call: CallFacts, frame: int | None) -> dict[str, Any]:
    return {"conn_index": call.conn_index, "stream_id": call.stream_id, "frame": frame}


# What `request` and `server_block` find depends only on a block's header tuple (and a fact or
# two beside it), and identical blocks share one tuple: each tuple's findings are worked out once.
# Keyed by id(); the tuple is kept in the value, so its id cannot be reused while the entry lives.
MEMO_LIMIT = 4096
_request_memo: dict[int, tuple[tuple, list[tuple[str, str]]]] = {}
_server_memo: dict[tuple[int, int, bool, bool], tuple[tuple, list[tuple[str, str]]]] = {}


def request(call: CallFacts, report: Report) -> None:
    """The request headers of a call: content-type, te and method."""
    block: HeaderBlock | None = call.request
    if block is None:
        return
    headers = block.headers
    memo = _request_memo.get(id(headers))
    if memo is None or memo[0] is not headers:
        if len(_request_memo) >= MEMO_LIMIT:
            _request_memo.clear()
        memo = _request_memo[id(headers)] = (headers, _request_findings(block, call.method))
    if memo[1]:
        frame = block.frame if block.frame >= 0 else None
        for rule, message in memo[1]:
            report(rule, message, **_where(call, frame))


def _request_findings(block: HeaderBlock, method_name: str) -> list[tuple[str, str]]:
    """(rule, message) of each finding of a request block (`method_name`: the call's, from its :path)."""
    found = []
    content_type = block.get("content-type") or ""
    if content_type.startswith("application/grpc") and not CONTENT_TYPE.fullmatch(content_type):
        found.append(("grpc.content-type", f"request content-type {content_type!r} is not application/grpc[+format]"))
    te = block.get("te")
    if te is None:
        found.append(("grpc.te-trailers", f"the request for {method_name} has no te: trailers"))
    elif te.strip().lower() != "trailers":
        found.append(("grpc.te-trailers", f"the request for {method_name} has te: {te}, not trailers"))
    method = block.get(":method")
    if method is not None and method != "POST":
        found.append(("grpc.method", f"{method_name} called with {method}, not POST"))
    return found


def _said_grpc(block: HeaderBlock | None) -> bool:
    """A server block that says it is gRPC (content-type application/grpc..., or a grpc-status)."""
    return block is not None and (CONTENT_TYPE.fullmatch(block.get("content-type") or "") is not None
                                  or block.get("grpc-status") is not None)


def _asked_grpc(call: CallFacts) -> bool:
    """The call's request was seen and says content-type application/grpc..."""
    request = call.request
    return request is not None and (request.get("content-type") or "").startswith("application/grpc")


def _known_grpc(call: CallFacts) -> bool:
    """Whether the call is known to be gRPC: its request says so, or (a call that began before the
    capture, or whose content-type refers to a field the capture never saw) its server does. A stream
    of a connection joined mid-way may be anything."""
    return _asked_grpc(call) or _said_grpc(call.response) or _said_grpc(call.trailers_block)


def server_block(call: CallFacts, block: HeaderBlock, report: Report) -> None:
    """A response or trailers block (or a Trailers-Only response) of a call."""
    headers = block.headers
    key = (id(headers), int(block.role), block.end_stream, _asked_grpc(call))
    memo = _server_memo.get(key)
    if memo is None or memo[0] is not headers:
        if len(_server_memo) >= MEMO_LIMIT:
            _server_memo.clear()
        memo = _server_memo[key] = (headers, _server_findings(block, key[3]))
    for rule, message in memo[1]:
        report(rule, message, **_where(call, block.frame))


def _server_findings(block: HeaderBlock, asked: bool) -> list[tuple[str, str]]:
    """(rule, message) of each finding of a server block (`asked`: the call's request said gRPC)."""
    found: list[tuple[str, str]] = []
    if not asked and not _said_grpc(block):
        return found  # (nothing says this call is gRPC: a stream of a connection joined mid-way)
    status = block.get(":status")
    if status is not None and block.role in (Role.RESPONSE, Role.TRAILERS) and status != "200":
        code = int(status) if status.isdigit() else 0
        mapped = HTTP_TO_GRPC.get(code, 2)
        found.append(("grpc.http-status", f"HTTP status {status} on a gRPC response: the client sees "
                      f"{STATUS_NAMES[mapped]} ({mapped})"))
    elif status == "200":
        content_type = block.get("content-type")
        if content_type is not None and not CONTENT_TYPE.fullmatch(content_type):
            found.append(("grpc.content-type", f"response content-type {content_type!r} is not application/grpc"))
    grpc_status = block.get("grpc-status")
    if grpc_status is not None:
        if not grpc_status.strip().isdigit() or int(grpc_status) > 16:
            found.append(("grpc.status-range", f"grpc-status {grpc_status!r} is not a code from 0 to 16"))
        if status is not None and not block.end_stream:
            found.append(("grpc.trailers-only-body",
                          "a Trailers-Only response (grpc-status with :status) without END_STREAM"))
    message = block.get("grpc-message")
    if message is not None and (_PERCENT.search(message) or any(not " " <= ch <= "~" for ch in message)):
        found.append(("grpc.message-encoding", f"grpc-message {message[:60]!r} is not percent-encoded"))
    return found


def ended(call: CallFacts, report: Report, *, connection_closed: bool, capture_over: bool) -> None:
    """A call that is over (or still going when the capture ended): what it ended without."""
    if not _known_grpc(call):
        return
    last = call.last_frame
    stream = call.stream
    reset = stream is not None and stream.reset_code is not None
    # Each block once: a call's blocks are records built from the packed log when asked.
    request, response, trailers = call.request, call.response, call.trailers_block
    if trailers is None and not reset:
        if call.ended[1]:
            report("grpc.missing-status", f"the server ended {call.method} without grpc-status (no trailers)",
                   **_where(call, last))
        elif connection_closed and request is not None:
            report("grpc.missing-status", f"the connection closed before {call.method} got its grpc-status",
                   **_where(call, last))
    elif trailers is not None and trailers.get("grpc-status") is None and not trailers.unknown_refs:
        report("grpc.missing-status", f"the trailers of {call.method} carry no grpc-status",
               **_where(call, trailers.frame))
    if response is None and trailers is not None and call.responses and request is not None:
        # (without the request, the response headers may have come before the capture)
        report("grpc.trailers-only-body", f"{len(call.responses)} response message(s) with a Trailers-Only "
               "response", **_where(call, call.responses[0].frames[0]))
    _messages(call, report, request, response, trailers)
    _counts(call, report, reset)
    timeout = call.timeout
    if timeout is not None and call.first_time is not None and call.duration > timeout * (1 + DEADLINE_SLACK) + 0.01:
        status = call.grpc_status
        report("grpc.deadline", f"{call.method} ran {call.duration:.3f} s with grpc-timeout {timeout:g} s"
               + ("" if status == DEADLINE_EXCEEDED else f" and ended with status {status}"),
               **_where(call, last))


def _messages(call: CallFacts, report: Report, request: HeaderBlock | None, response: HeaderBlock | None,
              trailers: HeaderBlock | None) -> None:
    requests, responses = call.requests, call.responses
    if not any(m.compressed or (m.ended and not m.whole) for m in requests) and \
            not any(m.compressed or (m.ended and not m.whole) for m in responses):
        return  # nothing below can be said of whole, uncompressed messages
    request_accepts = _listed(request.get("grpc-accept-encoding")) if request is not None else None
    response_block = response or trailers
    response_accepts = _listed(response_block.get("grpc-accept-encoding")) if response_block is not None else None
    response_type = response.get("content-type") if response is not None else None
    grpc_responses = response_type is None or CONTENT_TYPE.fullmatch(response_type) is not None
    sides = [(requests, response_accepts)] + ([(responses, request_accepts)] if grpc_responses else [])
    # A call that began before the capture may be seen from the middle of a message: its first prefix is
    # not one, so nothing can be said to run past the end.
    began_in_capture = request is not None
    for messages, accepts in sides:  # (a response that is not gRPC, an error page, is not cut into messages)
        for m in messages:
            if began_in_capture and m.ended and not m.whole and m.received:
                report("grpc.message-truncated",
                       f"{m.label} message #{m.index + 1} declares {m.length} bytes; the stream ended after "
                       f"{max(0, m.received - 5)}", **_where(call, m.frames[-1]))
            if not m.compressed:
                continue
            encoding = (m.encoding or "").strip().lower()
            if encoding in ("", "identity"):
                report("grpc.compressed-without-encoding",
                       f"{m.label} message #{m.index + 1} has the compressed flag but grpc-encoding is "
                       f"{m.encoding or 'missing'}", **_where(call, m.frames[0]))
            elif accepts is not None and encoding not in accepts:
                report("grpc.encoding-not-accepted",
                       f"{m.label} message #{m.index + 1} is {encoding}-compressed; the peer accepts "
                       f"{', '.join(sorted(accepts)) or 'nothing'}", **_where(call, m.frames[0]))


def _listed(value: str | None) -> set[str] | None:
    if value is None:
        return None
    return {part.strip().lower() for part in value.split(",") if part.strip()} | {"identity"}


def _counts(call: CallFacts, report: Report, reset: bool) -> None:
    """With a schema: the number of messages each style allows (connectrpc's "unexpected" cases)."""
    if call.style_source != "schema" or reset or call.request is None:
        return  # (a call that began before the capture: its first messages may be missing)
    style = call.style
    requests, responses = len(call.requests), len(call.responses)
    if style in ("unary", "server-streaming") and call.ended[0] and requests != 1:
        report("grpc.message-count", f"{style} method {call.method} was sent {requests} request messages, not 1",
               **_where(call, call.client_end_frame))
    if style in ("unary", "client-streaming") and call.trailers_block is not None:
        status = call.grpc_status
        if responses > 1 or (responses == 0 and status == 0):
            report("grpc.message-count", f"{style} method {call.method} was answered with {responses} response "
                   "messages, not 1", **_where(call, call.trailers_block.frame))
