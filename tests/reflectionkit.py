"""Real grpcio servers for reflection tests: the demo service with grpcio-reflection (v1, v1alpha
or both), without it, with a reflection service that answers nonsense, or one that waits."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path

import grpc

from inspector.demo import demo_pb2 as pb
from inspector.demo import demo_pb2_grpc as pb_grpc
from inspector.demo import server as demo

OPTIONS = [("grpc.enable_http_proxy", 0)]
REFLECTION = ("grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection")
Handler = Callable[[Iterator[bytes], grpc.ServicerContext], Iterator[bytes]]


@contextmanager
def grpc_server(reflection: tuple[str, ...] = (), handler: Handler | None = None,
                tls: tuple[Path, Path] | None = None) -> Iterator[int]:
    """The demo service on 127.0.0.1; `reflection` the versions grpcio-reflection serves, or
    `handler` (bytes in, bytes out) as both reflection services; `tls` (key, cert). Yields the port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=OPTIONS)
    pb_grpc.add_DemoServicer_to_server(demo.DemoService(), server)
    if reflection:
        demo.add_reflection(server, reflection)
    if handler is not None:
        for name in REFLECTION:
            server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, {
                "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(handler)}),))
    if tls is not None:
        key, cert = tls
        port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([(key.read_bytes(),
                                                                                 cert.read_bytes())]))
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port
    finally:
        server.stop(0).wait(5)


def nonsense(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
    """A reflection service that answers every request with bytes that are not protobuf."""
    for _ in requests:
        yield b"\xff\xff\xff\xff not a ServerReflectionResponse"


def held_until(event: threading.Event, asked: threading.Event) -> Handler:
    """A reflection service that sets `asked` when a request comes and answers nothing until
    `event` is set, then nonsense."""
    def handler(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
        for _ in requests:
            asked.set()
            event.wait(30)
            yield b"\x08"  # a varint field cut short
    return handler


def unary(channel: grpc.Channel, name: str = "reflected") -> str:
    """One Unary call of the demo service; the reply's text."""
    return pb_grpc.DemoStub(channel).Unary(pb.Request(name=name, numbers=[7]), timeout=10).text


def plain_channel(port: int, via: str | None = None) -> grpc.Channel:
    """A channel of its own (its own connection: no subchannel shared with other channels),
    straight to the port or through the forward proxy `via` (CONNECT, as https_proxy makes it)."""
    route = [("grpc.http_proxy", via)] if via else OPTIONS
    return grpc.insecure_channel(f"127.0.0.1:{port}", options=[*route, ("grpc.use_local_subchannel_pool", 1)])
