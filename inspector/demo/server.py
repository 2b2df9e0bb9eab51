"""The demo gRPC server (grpcio): `python -m inspector.demo.server --port N`."""

from __future__ import annotations

import argparse
import time
from concurrent import futures

import grpc

from . import demo_pb2 as pb
from . import demo_pb2_grpc as pb_grpc


def _payload(size: int) -> bytes:
    return bytes(i % 251 for i in range(size))


def _fail_if_asked(request: pb.Request, context: grpc.ServicerContext) -> None:
    if request.fail_code:
        # Before any reply: grpcio then answers with a Trailers-Only response.
        context.abort(grpc.StatusCode(_code(request.fail_code)), request.fail_message or "failed on request")


def _code(number: int) -> tuple:
    return next(code.value for code in grpc.StatusCode if code.value[0] == number)


class DemoService(pb_grpc.DemoServicer):
    """One method per call style; each can be asked to fail, to wait, or to send big payloads."""

    def Unary(self, request, context):  # noqa: N802 (gRPC method names)
        _fail_if_asked(request, context)
        time.sleep(request.delay_ms / 1000)
        return pb.Reply(text=f"hello {request.name}", payload=_payload(request.payload_size),
                        numbers=list(request.numbers))

    def ServerStream(self, request, context):  # noqa: N802
        _fail_if_asked(request, context)
        for i in range(request.count):
            if not context.is_active():
                return
            if i and request.delay_ms:
                time.sleep(request.delay_ms / 1000)
            yield pb.Reply(text=f"reply {i + 1} of {request.count}", index=i,
                           payload=_payload(request.payload_size))

    def ClientStream(self, request_iterator, context):  # noqa: N802
        total, names, size = 0, [], 0
        for request in request_iterator:
            _fail_if_asked(request, context)
            total += sum(request.numbers)
            names.append(request.name)
            size = request.payload_size
        return pb.Reply(text=f"got {len(names)} requests: {', '.join(names)}", numbers=[total],
                        payload=_payload(size))

    def Bidi(self, request_iterator, context):  # noqa: N802
        # Response headers at once, before reading a request: in bidi the server
        # need not wait for the client (the tutorial shows these HEADERS first).
        context.send_initial_metadata((("demo-style", "bidi"),))
        held: list[pb.Request] = []
        after_all = None
        for i, request in enumerate(request_iterator):
            _fail_if_asked(request, context)
            if after_all is None:
                after_all = request.answer_after_all
            if after_all:
                held.append(request)  # answer after all requests
            else:
                yield pb.Reply(text=f"pong {request.name}", index=i,
                               payload=_payload(request.payload_size))  # ping-pong
        for i, request in enumerate(held):
            yield pb.Reply(text=f"answer to {request.name}", index=i, payload=_payload(request.payload_size))


REFLECTION_VERSIONS = ("v1", "v1alpha")


def add_reflection(server: grpc.Server, versions: tuple[str, ...] = REFLECTION_VERSIONS) -> None:
    """Serve gRPC server reflection (grpcio-reflection) for the Demo service, in these versions.

    grpcio-reflection serves grpc.reflection.v1alpha only. v1's messages are v1alpha's, field
    for field (only the package differs), so v1 is the same servicer under the v1 name, as
    servers in other languages offer both."""
    from grpc_reflection.v1alpha import reflection
    from grpc_reflection.v1alpha import reflection_pb2 as rpb

    names = [pb.DESCRIPTOR.services_by_name["Demo"].full_name]
    names += [f"grpc.reflection.{v}.ServerReflection" for v in versions]
    servicer = reflection.ReflectionServicer(names)
    if "v1alpha" in versions:
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(reflection.SERVICE_NAME, {
            "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                servicer.ServerReflectionInfo, request_deserializer=rpb.ServerReflectionRequest.FromString,
                response_serializer=rpb.ServerReflectionResponse.SerializeToString)}),))
    if "v1" in versions:
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("grpc.reflection.v1.ServerReflection", {
            "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                servicer.ServerReflectionInfo, request_deserializer=rpb.ServerReflectionRequest.FromString,
                response_serializer=rpb.ServerReflectionResponse.SerializeToString)}),))


def serve(host: str = "127.0.0.1", port: int = 0, *, options: list[tuple[str, int]] | None = None,
          compression: grpc.Compression | None = None, reflection: tuple[str, ...] = ()) -> tuple[grpc.Server, int]:
    """Start the demo server; returns it and the port it listens on. `options` are grpcio
    channel arguments (its HTTP/2 settings); `compression` compresses every reply; `reflection`
    the server reflection versions it serves ("v1", "v1alpha"; none by default)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32), options=options or None,
                         compression=compression)
    pb_grpc.add_DemoServicer_to_server(DemoService(), server)
    if reflection:
        add_reflection(server, reflection)
    bound = server.add_insecure_port(f"{host}:{port}")
    server.start()
    return server, bound


def main() -> int:
    parser = argparse.ArgumentParser(description="The h2inspect demo gRPC server (plaintext, h2c).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=50051)
    parser.add_argument("--reflection", action="store_true",
                        help="serve gRPC server reflection (v1 and v1alpha; needs grpcio-reflection)")
    args = parser.parse_args()
    server, port = serve(args.host, args.port, reflection=REFLECTION_VERSIONS if args.reflection else ())
    print(f"demo gRPC server on {args.host}:{port}", flush=True)
    server.wait_for_termination()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
