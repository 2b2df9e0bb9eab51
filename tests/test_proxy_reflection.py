"""`proxy --reflect`: the upstream's schema by gRPC server reflection, messages decoded by name."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from proxykit import proxy, stopped_cleanly

from inspector.demo import demo_pb2 as pb
from inspector.demo import demo_pb2_grpc as pb_grpc
from inspector.demo import server as demo

pytestmark = [pytest.mark.peers, pytest.mark.timeout(120)]
OPTIONS = [("grpc.enable_http_proxy", 0)]


@pytest.fixture
def reflecting_server():  # type: ignore[no-untyped-def]
    from grpc_reflection.v1alpha import reflection

    server, port = demo.serve()
    reflection.enable_server_reflection((pb.DESCRIPTOR.services_by_name["Demo"].full_name,
                                         reflection.SERVICE_NAME), server)
    yield port
    server.stop(0).wait(5)


@pytest.fixture
def plain_server():  # type: ignore[no-untyped-def]
    server, port = demo.serve()
    yield port
    server.stop(0).wait(5)


def _unary(port: int) -> str:
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=OPTIONS) as channel:
        return pb_grpc.DemoStub(channel).Unary(pb.Request(name="reflected"), timeout=10).text


def test_messages_are_decoded_by_name_from_reflection_with_no_proto(tmp_path: Path, reflecting_server):
    har = tmp_path / "r.har"
    with proxy(tmp_path, f"127.0.0.1:{reflecting_server}", "--reflect", "--har", str(har)) as p:
        p.wait_for(lambda r: "--reflect: 1 service" in r.stderr())
        assert _unary(p.port) == "hello reflected"
        p.wait_for(lambda r: any(f.get("role") == "trailers" for f in r.frames()))
        assert p.stop() == 0
    assert "h2inspect.demo.Demo" in p.stderr()
    assert f"info proxy.reflection: --reflect: 1 service from 127.0.0.1:{reflecting_server} (" in p.stderr()
    (entry,) = json.loads(har.read_text())["log"]["entries"]
    grpc_call = entry["_grpc"]
    assert grpc_call["style_source"] == "schema" and grpc_call["style"] == "unary"
    assert grpc_call["requests"][0]["decoded"] == 'h2inspect.demo.Request { name: "reflected" }'
    assert grpc_call["responses"][0]["decoded"].startswith('h2inspect.demo.Reply { text: "hello reflected"')
    assert stopped_cleanly(p)


def test_upstream_without_reflection_is_one_info_line_and_raw_decoding(tmp_path: Path, plain_server):
    har = tmp_path / "r.har"
    with proxy(tmp_path, f"127.0.0.1:{plain_server}", "--reflect", "--har", str(har)) as p:
        p.wait_for(lambda r: "no server reflection" in r.stderr())
        assert _unary(p.port) == "hello reflected"
        p.wait_for(lambda r: any(f.get("role") == "trailers" for f in r.frames()))
        assert p.stop() == 0
    assert "no server reflection (UNIMPLEMENTED); messages are shown in raw wire format" in p.stderr()
    assert "info proxy.reflection-unavailable: --reflect: " in p.stderr()
    (entry,) = json.loads(har.read_text())["log"]["entries"]
    assert entry["_grpc"]["style_source"] == "traffic"
    assert "decoded" not in entry["_grpc"]["requests"][0]
    assert stopped_cleanly(p)
