"""For every gRPC capture, `h2inspect rpcs` reports exactly what the client did and
saw: methods, styles, message counts each way, statuses, how each call ended. The
expectations are what the demo client recorded while the capture was made
(captures/manifest.json, written by captures/make_captures.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from clikit import h2inspect_here
from conftest import CAPTURES, load_manifest

GRPC = [e for e in load_manifest() if e.get("grpc_calls")]
PROTO = Path(__file__).resolve().parent.parent / "inspector" / "demo" / "demo.proto"


def rpcs(path: Path, *extra: str) -> list[dict]:
    run = h2inspect_here("rpcs", str(path), "--format", "jsonl", *extra)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    return [json.loads(line) for line in out.splitlines()]


def _key(call: dict) -> tuple:
    return (call["method"], call["request_messages"], call["response_messages"], call["grpc_status"])


def test_there_is_a_grpc_capture_of_every_style():
    styles = {c["style"] for e in GRPC for c in e["grpc_calls"]}
    assert styles == {"unary", "server-streaming", "client-streaming", "bidi-streaming"}


@pytest.mark.parametrize("entry", GRPC, ids=[e["file"] for e in GRPC])
def test_rpcs_reports_what_the_client_saw(entry):
    calls = rpcs(CAPTURES / entry["file"], "--proto", str(PROTO))
    expected = entry["grpc_calls"]
    assert len(calls) == len(expected)
    # concurrent calls finish in any order: compare as multisets, then each call's ending
    assert sorted(map(_key, calls)) == sorted(map(_key, expected))
    for call in calls:
        match = next(e for e in expected if _key(e) == _key(call))
        assert call["style"] == match["style"] and call["style_source"] == "schema"
        assert call["ended_by"] in match["ended_by"].split(" or ")


@pytest.mark.parametrize("entry", GRPC, ids=[e["file"] for e in GRPC])
def test_without_a_schema_traffic_gives_the_style_when_it_can(entry):
    for call in rpcs(CAPTURES / entry["file"]):
        assert call["style_source"] == "traffic"
        if call["request_messages"] > 1 and call["response_messages"] > 1:
            assert call["style"] == "bidi-streaming"
        elif call["request_messages"] > 1:
            assert call["style"] in ("client-streaming", "bidi-streaming")
        elif call["response_messages"] > 1:
            assert call["style"] in ("server-streaming", "bidi-streaming")


def test_compressed_and_large_messages_decode():
    gz = rpcs(CAPTURES / "grpc-gzip.pcap", "-v")
    assert gz[0]["compressed"] and gz[0]["problems"] == []
    text = subprocess.run([sys.executable, "-m", "inspector", "rpcs", str(CAPTURES / "grpc-gzip.pcap"), "-v",
                           "--proto", str(PROTO)], capture_output=True, text=True, check=True).stdout
    assert "compress me compress me" in text
    large = rpcs(CAPTURES / "grpc-large-messages.pcap")
    assert large[0]["request_bytes"] > 300_000 and large[0]["response_bytes"] > 300_000


def test_max_message_limits_what_a_compressed_message_may_inflate_to():
    out = subprocess.run([sys.executable, "-m", "inspector", "rpcs", str(CAPTURES / "grpc-gzip.pcap"), "-v",
                          "--max-message", "10"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "inflates past the 10 bytes limit (--max-message)" in out.stdout
    whole = subprocess.run([sys.executable, "-m", "inspector", "rpcs", str(CAPTURES / "grpc-gzip.pcap"), "-v"],
                           capture_output=True, text=True)
    assert "limit" not in whole.stdout
