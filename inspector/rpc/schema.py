"""Schemas for `rpcs --proto`: a .proto compiled at run time with grpcio-tools,
or a descriptor set (protoc --descriptor_set_out). They give each method's
style and message types, and decode payloads field by name."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any

from inspector.errors import InspectorError


class SchemaError(InspectorError):
    """A --proto file that cannot be used."""


@dataclass(slots=True, frozen=True)
class MethodInfo:
    """What the schema says of one RPC method."""

    path: str  # "/pkg.Service/Method"
    input_type: str
    output_type: str
    client_streaming: bool
    server_streaming: bool

    @property
    def style(self) -> str:
        if self.client_streaming and self.server_streaming:
            return "bidi-streaming"
        if self.client_streaming:
            return "client-streaming"
        if self.server_streaming:
            return "server-streaming"
        return "unary"


class Schema:
    """Methods and message types from one or more .proto files or descriptor sets."""

    def __init__(self) -> None:
        from google.protobuf import descriptor_pool

        self.pool = descriptor_pool.DescriptorPool()
        self.methods: dict[str, MethodInfo] = {}
        self._loaded: set[str] = set()

    def load(self, path: str) -> None:
        """Add a .proto file (compiled now) or a serialized FileDescriptorSet."""
        from google.protobuf import descriptor_pb2

        if not os.path.isfile(path):
            raise SchemaError(f"{path}: no such file")
        if path.endswith(".proto"):
            data = _compile(path)
        else:
            with open(path, "rb") as f:
                data = f.read()
        fds = descriptor_pb2.FileDescriptorSet()
        try:
            fds.ParseFromString(data)
        except Exception:  # protobuf raises its own DecodeError
            raise SchemaError(f"{path}: not a .proto file or a descriptor set") from None
        if not fds.file:
            raise SchemaError(f"{path}: not a .proto file or a descriptor set")
        self.add_files(fds)

    def add_files(self, fds: Any) -> None:
        """Add the files of a FileDescriptorSet (from a file, or from server reflection)."""
        for file in fds.file:
            if file.name in self._loaded:
                continue
            try:
                self.pool.Add(file)
            except TypeError:
                pass  # already known to the pool (a well-known type)
            self._loaded.add(file.name)
            package = f"{file.package}." if file.package else ""
            for service in file.service:
                for m in service.method:
                    info = MethodInfo(f"/{package}{service.name}/{m.name}", m.input_type.lstrip("."),
                                      m.output_type.lstrip("."), m.client_streaming, m.server_streaming)
                    self.methods[info.path] = info

    def method(self, path: str) -> MethodInfo | None:
        """What the schema says of "/pkg.Service/Method", if it knows it."""
        return self.methods.get(path)

    def decode(self, type_name: str, data: bytes) -> str | None:
        """A message as protobuf text format, or None when the type is unknown or the bytes don't parse."""
        from google.protobuf import message_factory, text_format

        try:
            descriptor = self.pool.FindMessageTypeByName(type_name)
            message = message_factory.GetMessageClass(descriptor)()
            message.ParseFromString(data)
        except Exception:
            return None
        return text_format.MessageToString(message, as_utf8=True).rstrip("\n")


def _compile(path: str) -> bytes:
    """protoc (from grpcio-tools) turns a .proto into a descriptor set, imports included."""
    try:
        import grpc_tools
        from grpc_tools import protoc
    except ImportError:
        raise SchemaError("compiling a .proto needs grpcio-tools (pip install grpcio-tools)") from None
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "set.pb")
        args = ["protoc", f"-I{os.path.dirname(os.path.abspath(path))}", f"-I{include}",
                f"--descriptor_set_out={out}", "--include_imports", os.path.abspath(path)]
        if protoc.main(args) != 0 or not os.path.exists(out):
            raise SchemaError(f"{path}: protoc could not compile it")
        with open(out, "rb") as f:
            return f.read()


def load_schema(paths: list[str] | None) -> Schema | None:
    """A Schema from the --proto arguments, or None when there are none."""
    if not paths:
        return None
    schema = Schema()
    for path in paths:
        schema.load(path)
    return schema
