"""The gRPC server reflection protocol's messages, in protobuf wire format (pure functions).

`grpc.reflection.v1` and `grpc.reflection.v1alpha` define the same messages with the
same field numbers (reflection.proto in the grpc repository), so one codec serves both,
and both the reflection client (`rpc/reflection.py`) and the reading of reflection
exchanges found in a capture (`rpc/reflection_seen.py`) use it. No grpcio-reflection
is needed for either.

    ServerReflectionRequest  { host = 1; file_by_filename = 3; file_containing_symbol = 4;
                               list_services = 7; ... }
    ServerReflectionResponse { valid_host = 1; original_request = 2;
                               file_descriptor_response = 4 { repeated bytes file_descriptor_proto = 1 };
                               list_services_response = 6 { repeated service = 1 { name = 1 } };
                               error_response = 7 { error_code = 1; error_message = 2 } }
"""

from __future__ import annotations

from typing import Any, NamedTuple

from inspector.rpc.protobuf_wire import LEN, VARINT, decode_fields
from inspector.rpc.schema import Schema

V1 = "grpc.reflection.v1.ServerReflection"
V1ALPHA = "grpc.reflection.v1alpha.ServerReflection"
REFLECTION_SERVICES = (V1, V1ALPHA)
# The one method of each version, as it appears in a request's :path; v1 is asked first.
REFLECTION_METHODS = {f"/{V1}/ServerReflectionInfo": "v1", f"/{V1ALPHA}/ServerReflectionInfo": "v1alpha"}

_FILE_BY_FILENAME, _FILE_CONTAINING_SYMBOL, _LIST_SERVICES = 3, 4, 7
_FILE_DESCRIPTOR_RESPONSE, _LIST_SERVICES_RESPONSE, _ERROR_RESPONSE = 4, 6, 7


class ReflectionProtocolError(ValueError):
    """Bytes that are not a ServerReflectionResponse."""


class ReflectionResponse(NamedTuple):
    """What one ServerReflectionResponse says; `kind` names the answer it carries."""

    kind: str  # "files", "services", "error", or "other" (an answer this reader does not use)
    files: tuple[bytes, ...] = ()  # serialized FileDescriptorProtos
    services: tuple[str, ...] = ()
    error: tuple[int, str] | None = None  # (gRPC status code, message)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _string_field(number: int, text: str) -> bytes:
    data = text.encode()
    return _varint(number << 3 | LEN) + _varint(len(data)) + data


def list_services_request() -> bytes:
    """ServerReflectionRequest { list_services: "" }: which services the server has."""
    return _string_field(_LIST_SERVICES, "")


def file_containing_symbol_request(symbol: str) -> bytes:
    """ServerReflectionRequest { file_containing_symbol }: the file defining a service or type."""
    return _string_field(_FILE_CONTAINING_SYMBOL, symbol)


def file_by_filename_request(name: str) -> bytes:
    """ServerReflectionRequest { file_by_filename }: a file by its name (a dependency)."""
    return _string_field(_FILE_BY_FILENAME, name)


def _fields(data: bytes, what: str) -> list[tuple[int, int, int | bytes]]:
    try:
        return [(f.number, f.wire_type, f.value) for f in decode_fields(data)]
    except ValueError as exc:
        raise ReflectionProtocolError(f"{what} is not protobuf ({exc})") from None


def _text(value: int | bytes, what: str) -> str:
    if not isinstance(value, bytes):
        raise ReflectionProtocolError(f"{what} is not a string")
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise ReflectionProtocolError(f"{what} is not UTF-8") from None


def parse_response(data: bytes) -> ReflectionResponse:
    """One ServerReflectionResponse; ReflectionProtocolError when the bytes are not one."""
    answer: tuple[int, bytes] | None = None
    for number, wire_type, value in _fields(data, "the response"):
        if number in (_FILE_DESCRIPTOR_RESPONSE, 5, _LIST_SERVICES_RESPONSE, _ERROR_RESPONSE):
            if wire_type != LEN:
                raise ReflectionProtocolError(f"field {number} of the response is not a message")
            assert isinstance(value, bytes)
            answer = (number, value)  # a oneof: the last one on the wire wins, as protobuf says
    if answer is None:
        raise ReflectionProtocolError("the response carries no answer (no file, service list or error)")
    number, body = answer
    if number == _FILE_DESCRIPTOR_RESPONSE:
        files = []
        for field, wire_type, value in _fields(body, "file_descriptor_response"):
            if field == 1:
                if wire_type != LEN or not isinstance(value, bytes):
                    raise ReflectionProtocolError("file_descriptor_proto is not bytes")
                files.append(value)
        return ReflectionResponse("files", files=tuple(files))
    if number == _LIST_SERVICES_RESPONSE:
        services = []
        for field, wire_type, value in _fields(body, "list_services_response"):
            if field == 1:
                if wire_type != LEN or not isinstance(value, bytes):
                    raise ReflectionProtocolError("a listed service is not a message")
                for inner, _, name in _fields(value, "a listed service"):
                    if inner == 1:
                        services.append(_text(name, "a service name"))
        return ReflectionResponse("services", services=tuple(services))
    if number == _ERROR_RESPONSE:
        code, message = 0, ""
        for field, wire_type, value in _fields(body, "error_response"):
            if field == 1 and wire_type == VARINT and isinstance(value, int):
                code = value
            elif field == 2:
                message = _text(value, "error_message")
        return ReflectionResponse("error", error=(code, message))
    return ReflectionResponse("other")


def _reflection_file(version: str) -> Any:
    """reflection.proto of one version, as a FileDescriptorProto, so that reflection calls have their
    style (bidi-streaming) and their messages read by name. file_descriptor_proto is declared as
    FileDescriptorProto messages, which is what its bytes are, so a listing shows each file by name."""
    from google.protobuf import descriptor_pb2 as d

    f = d.FieldDescriptorProto
    string, int32, message = f.TYPE_STRING, f.TYPE_INT32, f.TYPE_MESSAGE
    one, many = f.LABEL_OPTIONAL, f.LABEL_REPEATED
    package = f"grpc.reflection.{version}"
    file = d.FileDescriptorProto(name=f"h2inspect/known/{package.replace('.', '/')}/reflection.proto",
                                 package=package, syntax="proto3", dependency=["google/protobuf/descriptor.proto"])

    def add(name: str, fields: list[tuple[str, int, int, int, str, int | None]], oneof: str | None = None) -> None:
        m = file.message_type.add(name=name)
        if oneof:
            m.oneof_decl.add(name=oneof)
        for field_name, number, kind, label, type_name, index in fields:
            field = m.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                field.type_name = type_name if type_name.startswith(".google") else f".{package}.{type_name}"
            if index is not None:
                field.oneof_index = index

    add("ServerReflectionRequest", [
        ("host", 1, string, one, "", None), ("file_by_filename", 3, string, one, "", 0),
        ("file_containing_symbol", 4, string, one, "", 0),
        ("file_containing_extension", 5, message, one, "ExtensionRequest", 0),
        ("all_extension_numbers_of_type", 6, string, one, "", 0), ("list_services", 7, string, one, "", 0)],
        "message_request")
    add("ExtensionRequest", [("containing_type", 1, string, one, "", None),
                             ("extension_number", 2, int32, one, "", None)])
    add("ServerReflectionResponse", [
        ("valid_host", 1, string, one, "", None),
        ("original_request", 2, message, one, "ServerReflectionRequest", None),
        ("file_descriptor_response", 4, message, one, "FileDescriptorResponse", 0),
        ("all_extension_numbers_response", 5, message, one, "ExtensionNumberResponse", 0),
        ("list_services_response", 6, message, one, "ListServiceResponse", 0),
        ("error_response", 7, message, one, "ErrorResponse", 0)], "message_response")
    add("FileDescriptorResponse", [("file_descriptor_proto", 1, message, many, ".google.protobuf.FileDescriptorProto",
                                    None)])
    add("ExtensionNumberResponse", [("base_type_name", 1, string, one, "", None),
                                    ("extension_number", 2, int32, many, "", None)])
    add("ListServiceResponse", [("service", 1, message, many, "ServiceResponse", None)])
    add("ServiceResponse", [("name", 1, string, one, "", None)])
    add("ErrorResponse", [("error_code", 1, int32, one, "", None), ("error_message", 2, string, one, "", None)])
    service = file.service.add(name="ServerReflection")
    service.method.add(name="ServerReflectionInfo", input_type=f".{package}.ServerReflectionRequest",
                       output_type=f".{package}.ServerReflectionResponse", client_streaming=True,
                       server_streaming=True)
    return file


_SCHEMA: list[Schema] = []


def reflection_schema() -> Schema:
    """The reflection services themselves (v1 and v1alpha), made once: the schema of every
    ServerReflectionInfo call, whatever else a connection knows."""
    if not _SCHEMA:
        schema = Schema()
        problems = schema.add_protos([_reflection_file("v1"), _reflection_file("v1alpha")])
        assert not problems and not schema.missing, problems
        _SCHEMA.append(schema)
    return _SCHEMA[0]
