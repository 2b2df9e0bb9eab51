"""Calls to the demo service, one function per kind, each saying what the client saw:
`python -m inspector.demo.client HOST:PORT STYLE`."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from . import demo_pb2 as pb
from . import demo_pb2_grpc as pb_grpc

METHOD = "/h2inspect.demo.Demo/"
CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0)]


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


def unary(ch: grpc.Channel, *, payload_size: int = 0, fail_code: int = 0, fail_message: str = "",
          timeout: float | None = None, delay_ms: int = 0, gzip: bool = False,
          name: str = "h2inspect") -> CallResult:
    stub = pb_grpc.DemoStub(ch)
    request = pb.Request(name=name, payload_size=payload_size, fail_code=fail_code, fail_message=fail_message,
                         delay_ms=delay_ms, numbers=[1, 2, 3], meta=pb.Nested(key="k", blob=b"\x00\x01"))
    try:
        stub.Unary(request, timeout=timeout, compression=grpc.Compression.Gzip if gzip else None)
        return CallResult(METHOD + "Unary", "unary", 1, 1, 0, "trailers")
    except grpc.RpcError as err:
        code = err.code()
        # At a deadline the client resets the stream, unless the server's own deadline
        # fired first and it answered Trailers-Only: the client cannot tell which.
        ended = "rst_stream or trailers-only" if code is grpc.StatusCode.DEADLINE_EXCEEDED else "trailers-only"
        return CallResult(METHOD + "Unary", "unary", 1, 0, code.value[0], ended)


def server_stream(ch: grpc.Channel, count: int = 5, *, cancel_after: int | None = None, delay_ms: int = 0,
                  payload_size: int = 16) -> CallResult:
    stub = pb_grpc.DemoStub(ch)
    call = stub.ServerStream(pb.Request(name="stream", count=count, delay_ms=delay_ms, payload_size=payload_size))
    received = 0
    try:
        for _ in call:
            received += 1
            if cancel_after is not None and received == cancel_after:
                call.cancel()
        return CallResult(METHOD + "ServerStream", "server-streaming", 1, received, 0, "trailers")
    except grpc.RpcError as err:
        return CallResult(METHOD + "ServerStream", "server-streaming", 1, received, err.code().value[0],
                          "rst_stream")


def client_stream(ch: grpc.Channel, count: int = 4) -> CallResult:
    stub = pb_grpc.DemoStub(ch)
    requests = [pb.Request(name=f"part {i + 1}", numbers=[i]) for i in range(count)]
    stub.ClientStream(iter(requests))
    return CallResult(METHOD + "ClientStream", "client-streaming", count, 1, 0, "trailers")


def bidi(ch: grpc.Channel, count: int = 3, *, answer_after_all: bool = False,
         after_headers: bool = False) -> CallResult:
    """`count` requests, each answered (ping-pong) or all answered at the end. With
    `after_headers`, the first request waits until the server's response HEADERS
    (initial metadata) have arrived, so they are on the wire before any request DATA,
    however busy the machine."""
    stub = pb_grpc.DemoStub(ch)
    headers_seen = threading.Event()

    def requests():
        if after_headers:
            headers_seen.wait(10)  # the call is open (request HEADERS sent) and answered already
        for i in range(count):
            yield pb.Request(name=f"ping {i + 1}", answer_after_all=answer_after_all)
            time.sleep(0.02)  # ping-pong: let each answer come back before the next request

    call = stub.Bidi(requests())
    if after_headers:
        call.initial_metadata()  # blocks until the server's HEADERS are here
        headers_seen.set()
    replies = list(call)
    return CallResult(METHOD + "Bidi", "bidi-streaming", count, len(replies), 0, "trailers")


STYLES: dict[str, Callable[[grpc.Channel], CallResult]] = {
    "unary": unary, "server-streaming": server_stream, "client-streaming": client_stream, "bidi-streaming": bidi}


def main() -> int:
    parser = argparse.ArgumentParser(description="Make one call of a style to the demo server.")
    parser.add_argument("target", metavar="HOST:PORT")
    parser.add_argument("style", choices=sorted(STYLES))
    args = parser.parse_args()
    with channel(args.target) as ch:
        try:
            result = STYLES[args.style](ch)
        except grpc.RpcError as err:
            print(f"demo client: {err.code().name}: {err.details()}", file=sys.stderr)
            return 2
    print(result.as_dict())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
