"""Calls to the demo service, one function per kind, each saying what the client saw:
`python -m inspector.demo.client HOST:PORT KIND` (the four styles, an error status, a call
slower than its deadline, a long stream cancelled, a big message, a compressed one)."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc

from . import demo_pb2 as pb
from . import demo_pb2_grpc as pb_grpc

METHOD = "/h2inspect.demo.Demo/"
CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0)]
COMPRESSION = {"identity": grpc.Compression.NoCompression, "gzip": grpc.Compression.Gzip,
               "deflate": grpc.Compression.Deflate}


@dataclass(slots=True)
class CallResult:
    """What the client sent and received, and how the call ended for it."""

    method: str
    style: str
    request_messages: int
    response_messages: int
    grpc_status: int
    ended_by: str

    def as_dict(self) -> dict:
        return {"method": self.method, "style": self.style, "request_messages": self.request_messages,
                "response_messages": self.response_messages, "grpc_status": self.grpc_status,
                "ended_by": self.ended_by}


def channel(target: str, options: list[tuple[str, int]] | None = None) -> grpc.Channel:
    """One plaintext channel (one HTTP/2 connection) to the demo server."""
    return grpc.insecure_channel(target, options=CHANNEL_OPTIONS + (options or []))


def payload(size: int) -> bytes:
    """`size` bytes that compress well (a short pattern repeated), as the server's replies carry."""
    return bytes(i % 251 for i in range(size))


def _compression(name: str | None) -> grpc.Compression | None:
    return COMPRESSION[name] if name else None


def _ended(err: grpc.RpcError, received: int) -> str:
    # At a deadline the client resets the stream, unless the server's own deadline
    # fired first and it answered Trailers-Only: the client cannot tell which.
    if err.code() is grpc.StatusCode.DEADLINE_EXCEEDED:
        return "rst_stream or trailers-only"
    if err.code() is grpc.StatusCode.CANCELLED:
        return "rst_stream"
    return "trailers" if received else "trailers-only"


def unary(ch: grpc.Channel, *, payload_size: int = 0, request_size: int = 0, fail_code: int = 0,
          fail_message: str = "", timeout: float | None = None, delay_ms: int = 0, gzip: bool = False,
          compression: str | None = None, name: str = "h2inspect",
          metadata: tuple[tuple[str, str], ...] = ()) -> CallResult:
    """One request, one reply of `payload_size` bytes; the request carries `request_size` bytes."""
    stub = pb_grpc.DemoStub(ch)
    request = pb.Request(name=name, payload_size=payload_size, fail_code=fail_code, fail_message=fail_message,
                         delay_ms=delay_ms, numbers=[1, 2, 3],
                         meta=pb.Nested(key="k", blob=payload(request_size) if request_size else b"\x00\x01"))
    try:
        stub.Unary(request, timeout=timeout, metadata=metadata or None,
                   compression=grpc.Compression.Gzip if gzip else _compression(compression))
        return CallResult(METHOD + "Unary", "unary", 1, 1, 0, "trailers")
    except grpc.RpcError as err:
        return CallResult(METHOD + "Unary", "unary", 1, 0, err.code().value[0], _ended(err, 0))


def server_stream(ch: grpc.Channel, count: int = 5, *, cancel_after: int | None = None, delay_ms: int = 0,
                  payload_size: int = 16, timeout: float | None = None, compression: str | None = None,
                  fail_code: int = 0, fail_message: str = "",
                  first_reply: threading.Event | None = None) -> CallResult:
    """`count` replies, `delay_ms` apart; cancelled after `cancel_after` of them if asked.
    `first_reply` is set when the first reply has arrived (or the call ended without one)."""
    stub = pb_grpc.DemoStub(ch)
    call = stub.ServerStream(pb.Request(name="stream", count=count, delay_ms=delay_ms, payload_size=payload_size,
                                        fail_code=fail_code, fail_message=fail_message),
                             timeout=timeout, compression=_compression(compression))
    received = 0
    try:
        for _ in call:
            received += 1
            if first_reply is not None:
                first_reply.set()
            if cancel_after is not None and received == cancel_after:
                call.cancel()
        return CallResult(METHOD + "ServerStream", "server-streaming", 1, received, 0, "trailers")
    except grpc.RpcError as err:
        return CallResult(METHOD + "ServerStream", "server-streaming", 1, received, err.code().value[0],
                          _ended(err, received))
    finally:
        if first_reply is not None:
            first_reply.set()


def client_stream(ch: grpc.Channel, count: int = 4, *, payload_size: int = 0, delay_ms: int = 0,
                  timeout: float | None = None, compression: str | None = None) -> CallResult:
    """`count` requests of `payload_size` bytes each, `delay_ms` apart; one reply."""
    stub = pb_grpc.DemoStub(ch)

    def requests() -> Iterator[pb.Request]:
        for i in range(count):
            if i and delay_ms:
                time.sleep(delay_ms / 1000)
            yield pb.Request(name=f"part {i + 1}", numbers=[i], payload_size=payload_size,
                             meta=pb.Nested(key="k", blob=payload(payload_size)) if payload_size else None)

    try:
        stub.ClientStream(requests(), timeout=timeout, compression=_compression(compression))
        return CallResult(METHOD + "ClientStream", "client-streaming", count, 1, 0, "trailers")
    except grpc.RpcError as err:
        return CallResult(METHOD + "ClientStream", "client-streaming", count, 0, err.code().value[0],
                          _ended(err, 0))


def bidi(ch: grpc.Channel, count: int = 3, *, answer_after_all: bool = False, after_headers: bool = False,
         payload_size: int = 0, delay_ms: int = 0, timeout: float | None = None,
         compression: str | None = None,
         before_request: Callable[[int], None] | None = None) -> CallResult:
    """`count` requests, each answered at once (ping-pong: request i waits for answer i-1) or
    all answered at the end; `delay_ms` more between requests. With `after_headers`, the
    first request waits until the server's response HEADERS (initial metadata) have
    arrived, so they are on the wire before any request DATA, however busy the machine.
    `before_request(i)` runs just before request i (from 0) is sent: a caller's hook to
    order other calls between them by events, not by time."""
    stub = pb_grpc.DemoStub(ch)
    headers_seen = threading.Event()
    answered = threading.Semaphore(0)

    def requests() -> Iterator[pb.Request]:
        if after_headers:
            headers_seen.wait(10)  # the call is open (request HEADERS sent) and answered already
        for i in range(count):
            if i and not answer_after_all:
                answered.acquire(timeout=10)  # answer i-1 is here
            if i and delay_ms:
                time.sleep(delay_ms / 1000)
            if before_request is not None:
                before_request(i)
            yield pb.Request(name=f"ping {i + 1}", answer_after_all=answer_after_all, payload_size=payload_size,
                             meta=pb.Nested(key="k", blob=payload(payload_size)) if payload_size else None)

    call = stub.Bidi(requests(), timeout=timeout, compression=_compression(compression))
    replies = 0
    try:
        if after_headers:
            call.initial_metadata()  # blocks until the server's HEADERS are here
            headers_seen.set()
        for _ in call:
            replies += 1
            answered.release()
        return CallResult(METHOD + "Bidi", "bidi-streaming", count, replies, 0, "trailers")
    except grpc.RpcError as err:
        return CallResult(METHOD + "Bidi", "bidi-streaming", count, replies, err.code().value[0],
                          _ended(err, replies))
    finally:
        headers_seen.set()
        answered.release()


def error_status(ch: grpc.Channel) -> CallResult:
    """The server fails before any reply: a Trailers-Only response with NOT_FOUND."""
    return unary(ch, fail_code=5, fail_message="no such thing")


def slow(ch: grpc.Channel) -> CallResult:
    """The server takes 600 ms, the client gives it 200: DEADLINE_EXCEEDED."""
    return unary(ch, delay_ms=600, timeout=0.2)


def long_stream(ch: grpc.Channel) -> CallResult:
    """A stream of 1,000 replies that the client cancels after three: RST_STREAM CANCEL."""
    return server_stream(ch, 1000, delay_ms=20, cancel_after=3)


def big(ch: grpc.Channel) -> CallResult:
    """A 300 kB reply: many DATA frames, and WINDOW_UPDATE at work."""
    return unary(ch, payload_size=300_000)


def compressed(ch: grpc.Channel) -> CallResult:
    """A request compressed with gzip (grpc-encoding: gzip, the compressed flag set)."""
    return unary(ch, compression="gzip", name="compress me " * 100)


KINDS: dict[str, Callable[[grpc.Channel], CallResult]] = {
    "unary": unary, "server-streaming": server_stream, "client-streaming": client_stream, "bidi-streaming": bidi,
    "error": error_status, "slow": slow, "long-stream": long_stream, "big": big, "gzip": compressed}
STYLES = {key: KINDS[key] for key in ("unary", "server-streaming", "client-streaming", "bidi-streaming")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Make calls to the demo server and say what the client saw.")
    parser.add_argument("target", metavar="HOST:PORT")
    parser.add_argument("kind", nargs="*", metavar="KIND",
                        help="what to call (several on one connection; default: all of them in turn): "
                             + ", ".join(f"{k} ({(f.__doc__ or '').split(':')[0].strip().rstrip('.')})"
                                         for k, f in KINDS.items() if k not in STYLES))
    args = parser.parse_args(argv)
    unknown = [k for k in args.kind if k not in KINDS and k != "all"]
    if unknown:
        parser.error(f"unknown kind {unknown[0]!r} (choose from {', '.join(KINDS)}, all)")
    kinds = list(KINDS) if not args.kind or "all" in args.kind else args.kind
    with channel(args.target) as ch:
        try:
            grpc.channel_ready_future(ch).result(timeout=10)
        except grpc.FutureTimeoutError:
            print(f"demo client: no server at {args.target}", file=sys.stderr)
            return 2
        for kind in kinds:
            result = KINDS[kind](ch)
            print(kind, result.as_dict(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
