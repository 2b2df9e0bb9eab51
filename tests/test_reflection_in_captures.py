"""Reflection exchanges in the traffic are the schema of their connection, with no .proto and
nobody asked: the shipped capture (captures/grpc-reflection.pcap, a grpcio client using
grpcio-reflection's ProtoReflectionDescriptorDatabase as grpcurl would), a capture taken now
with tcpdump, and a proxy recording of a v1 exchange."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CAPTURES, ROOT, load_manifest

from inspector.capture.load import CaptureLoader

REFLECTION_CAPTURE = CAPTURES / "grpc-reflection.pcap"
[ENTRY] = [e for e in load_manifest() if e["file"] == REFLECTION_CAPTURE.name]
V1ALPHA = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"


def h2inspect(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def _jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def _assert_decoded_by_reflection(capture: Path) -> list[dict]:
    """rpcs -v and jsonl on a capture of calls_by_reflection: the demo calls by field name."""
    verbose = h2inspect("rpcs", str(capture), "-v")
    assert verbose.returncode == 0, verbose.stderr
    out = verbose.stdout
    assert 'h2inspect.demo.Request { name: "by reflection" meta {   key: "learned"   blob: "\\000\\001" } ' \
           'numbers: 4 numbers: 5 numbers: 6 }' in out
    assert 'h2inspect.demo.Reply { text: "hello by reflection" numbers: 4 numbers: 5 numbers: 6 }' in out
    for i in (1, 2, 3):
        assert f'h2inspect.demo.Reply {{ text: "reply {i} of 3"' in out
    assert "/h2inspect.demo.Demo/ServerStream  server-streaming (schema)" in out
    return _jsonl(h2inspect("rpcs", str(capture), "--format", "jsonl").stdout)


def test_the_shipped_reflection_capture_decodes_by_field_name_with_no_proto():
    calls = _assert_decoded_by_reflection(REFLECTION_CAPTURE)
    demo = [c for c in calls if c["method"].startswith("/h2inspect.demo.")]
    assert [(c["method"], c["style"], c["style_source"], c["request_messages"], c["response_messages"],
             c["grpc_status"]) for c in demo] == [
        (e["method"], e["style"], "schema", e["request_messages"], e["response_messages"], e["grpc_status"])
        for e in ENTRY["reflection_calls"]]
    reflection = [c for c in calls if c not in demo]
    assert {(c["method"], c["style"], c["style_source"]) for c in reflection} == {
        (V1ALPHA, "bidi-streaming", "schema")}  # the reflection protocol's own schema, built in
    verbose = h2inspect("rpcs", str(REFLECTION_CAPTURE), "-v").stdout
    assert 'grpc.reflection.v1alpha.ServerReflectionResponse { original_request {   list_services: "" } ' \
           'list_services_response {' in verbose
    assert 'file_descriptor_proto {     name: "demo.proto"     package: "h2inspect.demo"' in verbose


def test_the_reflection_exchange_is_an_info_finding_and_nothing_worse():
    checked = h2inspect("check", str(REFLECTION_CAPTURE), "--format", "jsonl", "--severity", "info")
    findings = _jsonl(checked.stdout)
    assert [f["severity"] for f in findings] == ["info"]
    [f] = findings
    assert f["rule"] == "grpc.reflection-schema" and f["conn"] == 0
    assert "(h2inspect.demo.Demo)" in f["message"] and f"stream {f['stream_id']}" in f["message"]


def test_the_tui_decodes_the_capture_by_reflection_in_the_frame_detail():
    from inspector.tui.app import App

    async def scenario() -> None:
        loader = CaptureLoader(str(REFLECTION_CAPTURE))
        app = App(loader.session, loader)
        async with app.run_test(size=(170, 45)) as pilot:
            while not app.loaded:
                await pilot.pause(0.05)
            calls = [c for c in loader.session.calls if c.method.endswith("/Unary")]
            request_data = calls[0].requests[0].frames[0]
            await pilot.press(":")
            await pilot.press(*f"f{request_data}", "enter")
            await pilot.pause(0.2)
            assert any('h2inspect.demo.Request { name: "by reflection"' in line for line in app.detail), \
                app.detail
    asyncio.run(scenario())


@pytest.mark.peers
@pytest.mark.timeout(120)
def test_a_capture_taken_now_decodes_its_reflected_connection_and_leaves_another_raw(tmp_path: Path):
    """tcpdump on loopback around the grpcio reflection client and a plain demo client: the
    connection that used reflection is decoded by name, the other one stays raw wire format."""
    from reflectionkit import grpc_server, plain_channel, unary
    from wirekit import captured

    from inspector.demo.reflection_client import calls_by_reflection

    path = tmp_path / "reflection.pcap"
    with grpc_server(("v1alpha",)) as port, captured(str(path), port):
        calls_by_reflection(f"127.0.0.1:{port}")
        with plain_channel(port) as channel:
            assert unary(channel, "no reflection here") == "hello no reflection here"
    calls = _assert_decoded_by_reflection(path)
    plain = [c for c in calls if c["conn"] == 1]
    assert [c["method"] for c in plain] == ["/h2inspect.demo.Demo/Unary"] and plain[0]["style_source"] == "traffic"
    verbose = h2inspect("rpcs", str(path), "-v").stdout
    assert "'no reflection here'" in verbose  # the raw wire format's string field


@pytest.mark.peers
@pytest.mark.timeout(120)
def test_a_v1_exchange_through_the_proxy_decodes_live_and_in_its_recording(tmp_path: Path):
    """A client asks by grpc.reflection.v1 on its channel (h2inspect's own client), then calls on the
    same connection through a reverse proxy without --reflect: the HAR (live) and rpcs on the
    recording (offline) decode by name."""
    from google.protobuf import message_factory
    from proxykit import proxy, stopped_cleanly
    from reflectionkit import grpc_server, plain_channel

    from inspector.rpc.reflection import reflect_channel

    recording, har = tmp_path / "r.pcapng", tmp_path / "r.har"
    with grpc_server(("v1",)) as port:
        with proxy(tmp_path, f"127.0.0.1:{port}", "--record", str(recording), "--har", str(har)) as p:
            with plain_channel(p.port) as channel:
                reflected = reflect_channel(channel)
                assert reflected.version == "v1"
                pool = reflected.schema.pool
                request_class = message_factory.GetMessageClass(pool.FindMessageTypeByName("h2inspect.demo.Request"))
                reply_class = message_factory.GetMessageClass(pool.FindMessageTypeByName("h2inspect.demo.Reply"))
                call = channel.unary_unary("/h2inspect.demo.Demo/Unary", request_class.SerializeToString,
                                           reply_class.FromString)
                assert call(request_class(name="v1 learned"), timeout=10).text == "hello v1 learned"
            p.wait_for(lambda r: any(dict(f.get("headers", [])).get(":path", "").endswith("/Unary")
                                     and f.get("role") == "request" for f in r.frames()))
            p.wait_for(lambda r: sum(1 for f in r.frames() if f.get("role") == "trailers") >= 2)
            assert p.stop() == 0
    assert stopped_cleanly(p)
    [unary_entry] = [e for e in json.loads(har.read_text())["log"]["entries"] if e["request"]["url"].endswith("/Unary")]
    assert unary_entry["_grpc"]["requests"][0]["decoded"] == 'h2inspect.demo.Request { name: "v1 learned" }'
    listed = h2inspect("rpcs", str(recording), "-v")
    assert 'h2inspect.demo.Request { name: "v1 learned" }' in listed.stdout, listed.stdout
    assert "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo" in listed.stdout


@pytest.mark.peers
@pytest.mark.timeout(120)
def test_a_nonsense_reflection_answer_in_a_recording_is_a_warning_and_no_schema(tmp_path: Path):
    from proxykit import proxy
    from reflectionkit import grpc_server, nonsense, plain_channel, unary

    from inspector.rpc.reflection import ReflectionError, reflect_channel

    recording = tmp_path / "n.pcapng"
    with grpc_server(handler=nonsense) as port:
        with proxy(tmp_path, f"127.0.0.1:{port}", "--record", str(recording)) as p:
            with plain_channel(p.port) as channel:
                with pytest.raises(ReflectionError, match="cannot be read"):
                    reflect_channel(channel)
                assert unary(channel, "still raw") == "hello still raw"
            p.wait_for(lambda r: sum(1 for f in r.frames() if f.get("role") == "trailers") >= 1)
            assert p.stop() == 0
    checked = _jsonl(h2inspect("check", str(recording), "--format", "jsonl").stdout)
    assert [f["rule"] for f in checked] == ["grpc.reflection-unreadable"]
    assert "a reflection response that cannot be read" in checked[0]["message"]
    verbose = h2inspect("rpcs", str(recording), "-v").stdout
    assert "'still raw'" in verbose and "h2inspect.demo.Request" not in verbose

