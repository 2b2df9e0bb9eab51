"""A gRPC call already under way when the capture began: listed with its messages each way,
its status and how it ended, the method shown as unknown (issue: hostile and partial captures)."""

from __future__ import annotations

import json
import subprocess
import sys

import hpack
from hyperframe.frame import DataFrame, HeadersFrame
from pcapkit import Conversation, write_capture


def _message(body: bytes) -> bytes:
    return b"\x00" + len(body).to_bytes(4, "big") + body


def test_a_bidi_call_that_began_before_the_capture_is_listed(tmp_path):
    conv = Conversation()  # no handshake, no preface: the capture starts mid-connection
    for i in range(4):
        conv.send(True, DataFrame(1, _message(b"ping %d" % i)).serialize())
        conv.send(False, DataFrame(1, _message(b"pong %d" % i)).serialize())
    conv.send(True, DataFrame(1, b"", flags=["END_STREAM"]).serialize())
    trailers = hpack.Encoder().encode([("grpc-status", "0")], huffman=False)
    conv.send(False, HeadersFrame(1, trailers, flags=["END_HEADERS", "END_STREAM"]).serialize())
    path = write_capture(str(tmp_path / "midstream.pcap"), conv.packets())
    out = subprocess.run([sys.executable, "-m", "inspector", "rpcs", path, "--port", "8080", "--format", "jsonl"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    [call] = [json.loads(line) for line in out.stdout.splitlines()]
    assert call["method"].startswith("<unknown method")
    assert (call["request_messages"], call["response_messages"]) == (4, 4)
    assert call["grpc_status"] == 0 and call["ended_by"] == "trailers"
    assert call["style"] == "bidi-streaming"
