"""rpcs with a descriptor set instead of a .proto, and a call that a GOAWAY cut off."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import hpack
from conftest import CAPTURES
from grpc_tools import protoc
from pcapkit import (
    PREFACE,
    Conversation,
    DataFrame,
    GoAwayFrame,
    SettingsFrame,
    frame_bytes,
    headers_frames,
    write_capture,
)

DEMO = Path(__file__).resolve().parent.parent / "inspector" / "demo"


def rpcs(*args: str) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "inspector", "rpcs", *args, "--format", "jsonl"],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_a_descriptor_set_works_like_the_proto(tmp_path):
    descriptors = tmp_path / "demo.protoset"
    assert protoc.main(["protoc", f"-I{DEMO}", f"--descriptor_set_out={descriptors}", "--include_imports",
                        str(DEMO / "demo.proto")]) == 0
    capture = str(CAPTURES / "grpc-bidi-streaming.pcap")
    with_set = rpcs(capture, "--proto", str(descriptors))
    with_proto = rpcs(capture, "--proto", str(DEMO / "demo.proto"))
    assert with_set == with_proto
    assert [c["style_source"] for c in with_set] == ["schema", "schema"]


def test_a_file_that_is_no_schema_is_one_line_exit_2(tmp_path):
    bogus = tmp_path / "bogus.protoset"
    bogus.write_bytes(b"\xff\xfe not protobuf")
    result = subprocess.run([sys.executable, "-m", "inspector", "rpcs", str(CAPTURES / "grpc-unary.pcap"),
                             "--proto", str(bogus)], capture_output=True, text=True)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "not a .proto file or a descriptor set" in result.stderr


def test_a_call_cut_off_by_goaway_says_so(tmp_path):
    enc = hpack.Encoder()
    request = [(":method", "POST"), (":scheme", "http"), (":authority", "x"), (":path", "/pkg.S/M"),
               ("content-type", "application/grpc"), ("te", "trailers")]
    message = b"\x00\x00\x00\x00\x02\x08\x01"
    client = PREFACE + frame_bytes([SettingsFrame(0)] + headers_frames(1, request, enc) +
                                   [DataFrame(1, data=message, flags=["END_STREAM"])])
    server = frame_bytes([SettingsFrame(0), GoAwayFrame(0, last_stream_id=0, error_code=0)])
    conv = Conversation().handshake().send(True, client).send(False, server).fin(False)
    path = write_capture(str(tmp_path / "goaway.pcap"), conv.packets())
    calls = rpcs(path)
    assert len(calls) == 1
    assert calls[0]["ended_by"] == "goaway" and calls[0]["grpc_status"] is None
    assert calls[0]["method"] == "/pkg.S/M" and calls[0]["request_messages"] == 1
