"""A client that knows nothing of the demo service but its name, as grpcurl does: it asks the
server by reflection (grpcio-reflection's ProtoReflectionDescriptorDatabase, v1alpha), builds the
message classes from the files it is sent, and calls the service on the same channel.
`python -m inspector.demo.reflection_client HOST:PORT` (needs grpcio-reflection)."""

from __future__ import annotations

import argparse
import sys

import grpc

from .client import CallResult, channel

SERVICE = "h2inspect.demo.Demo"


def calls_by_reflection(target: str) -> list[CallResult]:
    """Reflection, then one unary and one server-streaming call, all on one connection."""
    from google.protobuf import descriptor_pool, message_factory
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    with channel(target) as ch:
        database = ProtoReflectionDescriptorDatabase(ch)
        if SERVICE not in database.get_services():
            raise RuntimeError(f"{target} does not list {SERVICE} by reflection")
        service = descriptor_pool.DescriptorPool(database).FindServiceByName(SERVICE)
        unary, stream = service.methods_by_name["Unary"], service.methods_by_name["ServerStream"]
        request_class = message_factory.GetMessageClass(unary.input_type)
        reply_class = message_factory.GetMessageClass(unary.output_type)
        path = f"/{service.full_name}/"
        call = ch.unary_unary(path + unary.name, request_serializer=request_class.SerializeToString,
                              response_deserializer=reply_class.FromString)
        request = request_class(name="by reflection", numbers=[4, 5, 6])
        request.meta.key = "learned"
        request.meta.blob = b"\x00\x01"
        reply = call(request, timeout=10)
        if reply.text != "hello by reflection":
            raise RuntimeError(f"unexpected reply {reply.text!r}")
        replies = list(ch.unary_stream(path + stream.name, request_serializer=request_class.SerializeToString,
                                       response_deserializer=reply_class.FromString)(
            request_class(name="stream", count=3), timeout=10))
    return [CallResult(path + "Unary", "unary", 1, 1, 0, "trailers"),
            CallResult(path + "ServerStream", "server-streaming", 1, len(replies), 0, "trailers")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", metavar="HOST:PORT")
    args = parser.parse_args()
    try:
        for result in calls_by_reflection(args.target):
            print(result.as_dict())
    except grpc.RpcError as exc:
        print(f"reflection_client: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
