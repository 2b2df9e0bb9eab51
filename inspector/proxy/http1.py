"""Where HTTP/1.1 messages begin and end on a forward-mode http:// connection (RFC 9112 §6).

A client that keeps its connection to the proxy open sends request after request, each
naming its own origin in absolute form (`GET http://b:8080/ HTTP/1.1`). To take each to the
host it names, the proxy must find every request head in the client's bytes (skipping the
bodies: Content-Length, chunked) and know when the origin has answered every request it was
given (skipping response bodies, 1xx, HEAD and 204/304, a body that ends at close). Sans-I/O:
bytes in, pieces and counts out; nothing here touches a socket.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from inspector.proxy.forward import HEAD_LIMIT, BadRequestHead, RequestHead, parse_head

_HEAD, _BODY, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _TO_CLOSE, _OPAQUE = range(8)
CHUNK_LINE_LIMIT = 4096  # a chunk-size line (with extensions) longer than this is not HTTP/1.1


@dataclass(slots=True, frozen=True)
class Head:
    """A whole request head found in the client's bytes."""

    head: RequestHead
    raw: bytes


class _BodyFramer:
    """The body part shared by both directions: Content-Length, chunked, or none."""

    def __init__(self) -> None:
        self.state = _HEAD
        self.left = 0  # body or chunk bytes still to come
        self.line = bytearray()  # a chunk-size line or a trailer line being read

    def start_body(self, headers: dict[str, str]) -> None:
        """After a head: how its body is delimited (no body: back to _HEAD)."""
        coding = headers.get("transfer-encoding", "").lower()
        if coding:
            if coding.rsplit(",", 1)[-1].strip() != "chunked":
                raise BadRequestHead(f"transfer-encoding {coding!r} without chunked last: no way to find the end")
            self.state = _CHUNK_SIZE
            return
        length = headers.get("content-length", "").strip()
        if length:
            if not length.isdigit():
                raise BadRequestHead(f"content-length {length[:40]!r} is not a number")
            self.left = int(length)
            self.state = _BODY if self.left else _HEAD
            return
        self.state = _HEAD

    def skip_body(self, data: bytes | memoryview, pos: int) -> int:
        """Consume body bytes from `pos`; returns where they end (the state says what comes next)."""
        end = len(data)
        while pos < end and self.state not in (_HEAD, _OPAQUE, _TO_CLOSE):
            if self.state in (_BODY, _CHUNK_DATA):
                take = min(self.left, end - pos)
                pos += take
                self.left -= take
                if not self.left:
                    self.state = _HEAD if self.state == _BODY else _CHUNK_END
                continue
            stop = bytes(data[pos:pos + CHUNK_LINE_LIMIT + 2]).find(b"\n")
            if stop < 0:
                self.line += data[pos:end]
                if len(self.line) > CHUNK_LINE_LIMIT:
                    raise BadRequestHead("a chunk-size line too long")
                return end
            self.line += data[pos:pos + stop]
            pos += stop + 1
            line = bytes(self.line).rstrip(b"\r")
            self.line.clear()
            if self.state == _CHUNK_SIZE:
                size = line.split(b";", 1)[0].strip()
                try:
                    self.left = int(size, 16)
                except ValueError:
                    raise BadRequestHead(f"not a chunk size: {line[:40]!r}") from None
                self.state = _CHUNK_DATA if self.left else _TRAILERS
            elif self.state == _CHUNK_END:
                if line:
                    raise BadRequestHead("a chunk not followed by CRLF")
                self.state = _CHUNK_SIZE
            elif not line:  # _TRAILERS: an empty line ends the message
                self.state = _HEAD
        return pos


class RequestFramer(_BodyFramer):
    """The client's side: `feed(data)` gives its bytes as pieces, each a `Head` (a whole request
    head, held until all of it is there) or bytes that are not a head (bodies)."""

    def __init__(self) -> None:
        super().__init__()
        self.head = bytearray()
        self.problem: str | None = None  # why the bytes stopped being read as requests

    def feed(self, data: bytes) -> list[Head | bytes]:
        """Bytes that cannot be an HTTP/1.1 request stream make the framer give up (`problem`
        says why): what it held of a head, and all from there on, comes back as bytes."""
        out: list[Head | bytes] = []
        pos, end = 0, len(data)
        try:
            while pos < end:
                if self.state == _OPAQUE:
                    out.append(data[pos:])
                    return out
                if self.state != _HEAD:
                    stop = self.skip_body(data, pos)
                    out.append(data[pos:stop])
                    pos = stop
                    continue
                if not self.head and data[pos] in b"\r\n":  # a CRLF between requests (§2.2)
                    out.append(data[pos:pos + 1])
                    pos += 1
                    continue
                start = len(self.head)
                self.head += data[pos:]
                head = parse_head(bytes(self.head))
                if head is None:
                    return out
                raw = bytes(self.head[:head.length])
                self.head.clear()
                out.append(Head(head, raw))
                pos += head.length - start
                if head.method == "CONNECT" or head.headers.get("upgrade"):
                    self.state = _OPAQUE  # what follows is a tunnel's, or another protocol's
                else:
                    self.start_body(head.headers)
        except BadRequestHead as exc:
            self.problem = str(exc)
            self.state = _OPAQUE
            if self.head:  # a head that cannot be: it holds all of this data from `pos` on
                out.append(bytes(self.head))
                self.head.clear()
            else:
                out.append(data[pos:])
        return out


class ResponseFramer(_BodyFramer):
    """The origin's side: counts the final responses it has completed, given the method of each
    request sent to it (`expect`), so the proxy knows when the origin has answered them all."""

    def __init__(self) -> None:
        super().__init__()
        self.methods: deque[str] = deque()  # of requests not yet answered, oldest first
        self.head = bytearray()

    def expect(self, method: str) -> None:
        """A request went to the origin: a response is owed."""
        self.methods.append(method)

    @property
    def answered(self) -> bool:
        """Every request sent has had its whole final response."""
        return not self.methods and self.state == _HEAD and not self.head

    @property
    def opaque(self) -> bool:
        """The connection stopped being HTTP/1.1 (101 Switching Protocols, a body to close, nonsense)."""
        return self.state in (_OPAQUE, _TO_CLOSE)

    def feed(self, data: bytes) -> None:
        pos, end = 0, len(data)
        while pos < end and self.state not in (_OPAQUE, _TO_CLOSE):
            if self.state != _HEAD:
                pos = self.skip_body(data, pos)
                if self.state == _HEAD and self.methods:
                    self.methods.popleft()
                continue
            start = len(self.head)
            self.head += data[pos:]
            stop = bytes(self.head).find(b"\r\n\r\n")
            if stop < 0:
                if len(self.head) > HEAD_LIMIT:
                    self.state = _OPAQUE
                return
            pos += stop + 4 - start
            self._response(bytes(self.head[:stop]))
            self.head.clear()

    def _response(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            self.state = _OPAQUE
            return
        status = int(parts[1])
        if 100 <= status < 200 and status != 101:
            return  # informational: the final response is still to come
        method = self.methods[0] if self.methods else "GET"
        if status == 101:
            self.state = _OPAQUE
            return
        if method == "HEAD" or status in (204, 304):
            if self.methods:
                self.methods.popleft()
            return
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        try:
            if "transfer-encoding" not in headers and "content-length" not in headers:
                self.state = _TO_CLOSE
                return
            self.start_body(headers)
        except BadRequestHead:
            self.state = _OPAQUE
            return
        if self.state == _HEAD and self.methods:
            self.methods.popleft()
