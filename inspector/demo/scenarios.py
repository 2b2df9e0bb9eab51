"""The gRPC sample captures: what each one's client does, and what it saw.

captures/make_captures.py runs each scenario against the demo server while
tcpdump records it, and writes what the client saw into manifest.json; the
tests compare `h2inspect rpcs` with that.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc

from . import client
from .client import CallResult
from .server import serve


@dataclass(slots=True, frozen=True)
class Scenario:
    """One capture: its file stem, what it shows, the calls it makes on one channel."""

    name: str
    description: str
    calls: Callable[[grpc.Channel], list[CallResult]]

    def run(self, target: str) -> list[CallResult]:
        with client.channel(target) as ch:
            grpc.channel_ready_future(ch).result(timeout=10)
            return self.calls(ch)


def start_server(port: int = 0) -> tuple[grpc.Server, int]:
    """The demo server on loopback."""
    return serve("127.0.0.1", port)


def _errors(ch: grpc.Channel) -> list[CallResult]:
    return [
        client.unary(ch, fail_code=5, fail_message="no such thing: café 100%"),  # Trailers-Only NOT_FOUND
        client.unary(ch, delay_ms=500, timeout=0.1),  # DEADLINE_EXCEEDED
        client.server_stream(ch, count=1000, delay_ms=5, cancel_after=3),  # CANCELLED by RST_STREAM
    ]


def _concurrent(ch: grpc.Channel) -> list[CallResult]:
    with ThreadPoolExecutor(20) as pool:
        return list(pool.map(lambda i: client.unary(ch, name=f"caller {i}"), range(20)))


SCENARIOS = [
    Scenario("grpc-unary", "one unary call: request HEADERS, one request message, response HEADERS, one "
             "response message, trailers with grpc-status 0", lambda ch: [client.unary(ch)]),
    Scenario("grpc-server-streaming", "one server-streaming call: five response messages before the trailers",
             lambda ch: [client.server_stream(ch, 5)]),
    Scenario("grpc-client-streaming", "one client-streaming call: four request messages, END_STREAM on the last",
             lambda ch: [client.client_stream(ch, 4)]),
    Scenario("grpc-bidi-streaming", "two bidi calls: ping-pong (each request answered at once) and "
             "answer-after-all (every answer after the last request)",
             lambda ch: [client.bidi(ch, 3), client.bidi(ch, 3, answer_after_all=True)]),
    Scenario("grpc-errors", "an error status as Trailers-Only (NOT_FOUND), a deadline exceeded, and a "
             "server stream cancelled by the client (RST_STREAM CANCEL)", _errors),
    Scenario("grpc-large-messages", "a unary call with 300 kB messages: many DATA frames, WINDOW_UPDATE at work",
             lambda ch: [client.unary(ch, payload_size=300_000, name="x" * 300_000)]),
    Scenario("grpc-gzip", "a unary call compressed with gzip (grpc-encoding: gzip, compressed flag set)",
             lambda ch: [client.unary(ch, gzip=True, name="compress me " * 100)]),
    Scenario("grpc-concurrent", "twenty unary calls at once on one connection", _concurrent),
]
