"""Schemas for `rpcs --proto`: a .proto compiled at run time with grpcio-tools,
or a descriptor set (protoc --descriptor_set_out). They give each method's
style and message types, and decode payloads field by name."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
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
        self._pending: dict[str, Any] = {}  # file name -> a FileDescriptorProto waiting for its imports
        self._protos: dict[str, Any] = {}  # file name -> the FileDescriptorProto added

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
        problems = self.add_files(fds)
        if problems:
            raise SchemaError(f"{path}: {problems[0]}")
        if self.missing:
            raise SchemaError(f"{path}: imports {', '.join(self.missing)}, which it does not hold "
                              "(protoc --include_imports)")

    def add_files(self, fds: Any) -> list[str]:
        """Add the files of a FileDescriptorSet (from a file, or from server reflection); see `add_protos`."""
        return self.add_protos(fds.file)

    def add_serialized(self, files: Iterable[bytes]) -> list[str]:
        """Add serialized FileDescriptorProtos (as reflection sends them); see `add_protos`."""
        from google.protobuf import descriptor_pb2

        protos, problems = [], []
        for data in files:
            try:
                proto = descriptor_pb2.FileDescriptorProto.FromString(data)
            except Exception:  # protobuf raises its own DecodeError
                problems.append(f"a file descriptor of {len(data)} bytes that does not parse")
                continue
            if not proto.name:
                problems.append(f"a file descriptor of {len(data)} bytes without a file name")
                continue
            protos.append(proto)
        return problems + self.add_protos(protos)

    def add_protos(self, protos: Iterable[Any]) -> list[str]:
        """Add FileDescriptorProtos in the order their imports need, whatever order they come in;
        a file whose imports are not known yet waits for them (`missing` names them). Returns what
        could not be added (a file that clashes with one known), one sentence each."""
        pending = self._pending
        for proto in protos:
            if proto.name not in self._loaded:
                pending.setdefault(proto.name, proto)
        problems: list[str] = []
        progress = True
        while progress and pending:
            progress = False
            for name, proto in list(pending.items()):
                missing = [d for d in proto.dependency if d not in self._loaded and d not in pending]
                for dependency in missing:
                    well_known = _well_known(dependency)
                    if well_known is not None:
                        pending[dependency] = well_known
                        progress = True
                if any(d not in self._loaded for d in proto.dependency):
                    continue
                del pending[name]
                self._loaded.add(name)  # added or not: what depends on it is tried (and says why)
                progress = True
                try:
                    self.pool.Add(proto)
                except TypeError as exc:  # the pool says why in its message
                    problems.append(f"{name}: {str(exc).removeprefix(_POOL_PREFIX)}")
                    continue
                self._protos[name] = proto
                self._methods_of(proto)
        return problems

    def merge(self, other: Schema) -> list[str]:
        """Add the files of another schema; a file or type this one has already is kept (see `add_protos`)."""
        return self.add_protos(other._protos.values())

    @property
    def missing(self) -> list[str]:
        """Files imported by files waiting in the schema that nobody has given it."""
        pending = self._pending
        return sorted({d for p in pending.values() for d in p.dependency if d not in self._loaded and d not in pending})

    def give_up(self, name: str) -> list[str]:
        """A file nobody will give: the files waiting for it (directly or not) are dropped; their names."""
        gone, dropped = {name}, []
        changed = True
        while changed:
            changed = False
            for waiting, proto in list(self._pending.items()):
                if any(d in gone for d in proto.dependency):
                    del self._pending[waiting]
                    gone.add(waiting)
                    dropped.append(waiting)
                    changed = True
        return dropped

    @property
    def files(self) -> int:
        """How many files the schema holds."""
        return len(self._loaded)

    def _methods_of(self, file: Any) -> None:
        package = f"{file.package}." if file.package else ""
        for service in file.service:
            for m in service.method:
                info = MethodInfo(f"/{package}{service.name}/{m.name}", m.input_type.lstrip("."),
                                  m.output_type.lstrip("."), m.client_streaming, m.server_streaming)
                self.methods[info.path] = info

    def services(self) -> list[str]:
        """The full names of the services the schema knows ("pkg.Service")."""
        return sorted({path[1:].rsplit("/", 1)[0] for path in self.methods})

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


_POOL_PREFIX = "Couldn't build proto file into descriptor pool: "


def _well_known(name: str) -> Any | None:
    """A well-known type's file (google/protobuf/*.proto) from the protobuf runtime, for a
    descriptor set that imports one without holding it; None for any other file."""
    if not name.startswith("google/protobuf/") or not name.endswith(".proto"):
        return None
    import importlib

    from google.protobuf import descriptor_pb2, descriptor_pool

    module = name.removeprefix("google/protobuf/").removesuffix(".proto")
    if not module.isidentifier():
        return None
    try:
        importlib.import_module(f"google.protobuf.{module}_pb2")
        found = descriptor_pool.Default().FindFileByName(name)
    except (ImportError, KeyError):
        return None
    proto = descriptor_pb2.FileDescriptorProto()
    found.CopyToProto(proto)
    return proto


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
