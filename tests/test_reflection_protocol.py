"""The reflection protocol's messages as h2inspect writes and reads them, against the generated
classes of grpcio-reflection (the reference); and a schema built from files in any order."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import CAPTURES, ROOT
from google.protobuf import descriptor_pb2, empty_pb2, timestamp_pb2
from grpc_reflection.v1alpha import reflection_pb2 as rpb

from inspector.demo import demo_pb2
from inspector.rpc.reflection_protocol import (
    ReflectionProtocolError,
    file_by_filename_request,
    file_containing_symbol_request,
    list_services_request,
    parse_response,
)
from inspector.rpc.schema import Schema, SchemaError


def _proto(module) -> descriptor_pb2.FileDescriptorProto:  # type: ignore[no-untyped-def]
    proto = descriptor_pb2.FileDescriptorProto()
    module.DESCRIPTOR.CopyToProto(proto)
    return proto


def test_requests_are_what_the_generated_classes_read():
    assert rpb.ServerReflectionRequest.FromString(list_services_request()).WhichOneof("message_request") == \
        "list_services"
    asked = rpb.ServerReflectionRequest.FromString(file_containing_symbol_request("h2inspect.demo.Demo"))
    assert asked.file_containing_symbol == "h2inspect.demo.Demo"
    long_name = "dir/" * 40 + "x.proto"  # a length past one varint byte
    assert rpb.ServerReflectionRequest.FromString(file_by_filename_request(long_name)).file_by_filename == long_name


def test_responses_written_by_the_generated_classes_are_read():
    listed = rpb.ServerReflectionResponse(
        valid_host="h", original_request=rpb.ServerReflectionRequest(list_services=""),
        list_services_response=rpb.ListServiceResponse(service=[rpb.ServiceResponse(name="a.B"),
                                                                rpb.ServiceResponse(name="c.D")]))
    got = parse_response(listed.SerializeToString())
    assert got.kind == "services" and got.services == ("a.B", "c.D")
    files = [_proto(demo_pb2).SerializeToString(), _proto(empty_pb2).SerializeToString()]
    described = rpb.ServerReflectionResponse(file_descriptor_response=rpb.FileDescriptorResponse(
        file_descriptor_proto=files))
    got = parse_response(described.SerializeToString())
    assert got.kind == "files" and list(got.files) == files
    failed = rpb.ServerReflectionResponse(error_response=rpb.ErrorResponse(error_code=5, error_message="not found"))
    assert parse_response(failed.SerializeToString()).error == (5, "not found")


@pytest.mark.parametrize("data, words", [
    (b"\xff\xff\xff", "not protobuf"),
    (b"", "carries no answer"),
    (rpb.ServerReflectionResponse(valid_host="only a host").SerializeToString(), "carries no answer"),
    (b"\x30\x01", "is not a message"),  # field 6 as a varint
    (b"\x32\x03\x0a\x01\xff", "is not protobuf"),  # a service entry cut short
])
def test_bytes_that_are_not_a_response_are_a_typed_error(data, words):
    with pytest.raises(ReflectionProtocolError, match=words):
        parse_response(data)


def test_files_are_added_in_the_order_their_imports_need_whatever_order_they_come_in():
    service = descriptor_pb2.FileDescriptorProto(name="svc.proto", package="t", dependency=["msgs.proto"])
    method = service.service.add(name="S").method.add(name="M", input_type=".t.Req", output_type=".t.Rep")
    method.server_streaming = True
    msgs = descriptor_pb2.FileDescriptorProto(name="msgs.proto", package="t",
                                              dependency=["google/protobuf/timestamp.proto"])
    req = msgs.message_type.add(name="Req")
    req.field.add(name="at", number=1, type=11, type_name=".google.protobuf.Timestamp", label=1)
    msgs.message_type.add(name="Rep").field.add(name="text", number=1, type=9, label=1)
    schema = Schema()
    assert schema.add_protos([service]) == [] and schema.missing == ["msgs.proto"] and not schema.methods
    assert schema.add_protos([msgs, _proto(timestamp_pb2)]) == [] and schema.missing == []
    assert schema.method("/t.S/M").style == "server-streaming"
    assert schema.decode("t.Req", b"\x0a\x02\x08\x05") == "at {\n  seconds: 5\n}"


def test_an_import_nobody_sends_is_given_up_with_what_waits_for_it():
    top = descriptor_pb2.FileDescriptorProto(name="top.proto", dependency=["mid.proto"])
    mid = descriptor_pb2.FileDescriptorProto(name="mid.proto", dependency=["gone.proto"])
    schema = Schema()
    schema.add_protos([top, mid])
    assert schema.missing == ["gone.proto"]
    assert sorted(schema.give_up("gone.proto")) == ["mid.proto", "top.proto"] and schema.missing == []


def test_a_clash_with_a_file_already_known_is_said_not_raised():
    schema = Schema()
    assert schema.add_protos([_proto(demo_pb2)]) == []
    clash = descriptor_pb2.FileDescriptorProto(name="other.proto", package="h2inspect.demo")
    clash.message_type.add(name="Request")
    [problem] = schema.add_protos([clash])
    assert "other.proto" in problem and "h2inspect.demo.Request" in problem
    assert schema.add_serialized([b"\xff"]) == ["a file descriptor of 1 bytes that does not parse"]


def test_a_descriptor_set_missing_an_import_is_bad_input(tmp_path):
    needs = descriptor_pb2.FileDescriptorProto(name="needs.proto", dependency=["elsewhere.proto"])
    path = tmp_path / "partial.pb"
    path.write_bytes(descriptor_pb2.FileDescriptorSet(file=[needs]).SerializeToString())
    with pytest.raises(SchemaError, match="imports elsewhere.proto, which it does not hold"):
        Schema().load(str(path))
    got = subprocess.run([sys.executable, "-m", "inspector", "rpcs", str(CAPTURES / "grpc-unary.pcap"), "--proto",
                          str(path)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert got.returncode == 2 and len(got.stderr.strip().splitlines()) == 1 and "--include_imports" in got.stderr


def test_a_descriptor_set_without_the_well_known_types_it_imports_still_loads(tmp_path):
    uses = descriptor_pb2.FileDescriptorProto(name="uses.proto", package="w",
                                              dependency=["google/protobuf/empty.proto"])
    uses.service.add(name="S").method.add(name="Ping", input_type=".google.protobuf.Empty",
                                         output_type=".google.protobuf.Empty")
    path = tmp_path / "uses.pb"
    path.write_bytes(descriptor_pb2.FileDescriptorSet(file=[uses]).SerializeToString())
    schema = Schema()
    schema.load(str(path))
    assert schema.method("/w.S/Ping") is not None and schema.decode("google.protobuf.Empty", b"") == ""


def test_the_built_in_reflection_schema_is_reflection_proto_field_for_field():
    from inspector.rpc.reflection_protocol import reflection_schema

    official = rpb.DESCRIPTOR
    pool = reflection_schema().pool
    for version in ("v1", "v1alpha"):
        for name, message in official.message_types_by_name.items():
            ours = pool.FindMessageTypeByName(f"grpc.reflection.{version}.{name}")
            theirs = {f.name: (f.number, f.is_repeated, f.type) for f in message.fields}
            mine = {f.name: (f.number, f.is_repeated, f.type) for f in ours.fields}
            if name == "FileDescriptorResponse":  # bytes there, the FileDescriptorProto they hold here
                assert theirs["file_descriptor_proto"][:2] == mine["file_descriptor_proto"][:2]
                continue
            assert mine == theirs, name
        method = reflection_schema().method(f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo")
        assert method is not None and method.style == "bidi-streaming"


def test_a_response_is_read_by_name_with_each_file_it_carries():
    from inspector.rpc.reflection_protocol import reflection_schema

    response = rpb.ServerReflectionResponse(
        original_request=rpb.ServerReflectionRequest(file_containing_symbol="h2inspect.demo.Demo"),
        file_descriptor_response=rpb.FileDescriptorResponse(file_descriptor_proto=[
            _proto(demo_pb2).SerializeToString()]))
    text = reflection_schema().decode("grpc.reflection.v1alpha.ServerReflectionResponse", response.SerializeToString())
    assert text is not None and 'file_containing_symbol: "h2inspect.demo.Demo"' in text
    assert 'name: "demo.proto"' in text and 'package: "h2inspect.demo"' in text and 'name: "Request"' in text
