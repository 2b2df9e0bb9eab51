"""`h2inspect rpcs` on real grpcio traffic captured here with tcpdump: what the
client saw is what rpcs must report (methods, styles, message counts, statuses,
how each call ended)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent import futures

import grpc
import pytest
from wirekit import start_capture, stop_capture

pytestmark = pytest.mark.peers  # real peers or tools (tshark, nghttpd, curl, grpcio, tmux): see conftest.py

PROTO = """
syntax = "proto3";
package t;
message Msg { int32 n = 1; string s = 2; bytes blob = 3; }
service S {
  rpc U (Msg) returns (Msg);
  rpc SS (Msg) returns (stream Msg);
  rpc CS (stream Msg) returns (Msg);
  rpc B (stream Msg) returns (stream Msg);
  rpc Fail (Msg) returns (Msg);
  rpc Slow (Msg) returns (Msg);
}
"""


def msg(n: int, s: str = "", blob: bytes = b"") -> bytes:
    """t.Msg on the wire, written by hand so the test needs no generated code."""
    out = bytes([0x08]) + _varint(n)
    if s:
        raw = s.encode()
        out += b"\x12" + _varint(len(raw)) + raw
    if blob:
        out += b"\x1a" + _varint(len(blob)) + blob
    return out


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _server():
    ident = lambda x: x  # noqa: E731

    def unary(req, ctx):
        return req

    def server_stream(req, ctx):
        for i in range(200):
            if not ctx.is_active():
                return
            yield msg(i, "reply")
            time.sleep(0.002 if i >= 3 else 0)
            if i == 3 and req == msg(0, "short"):
                return

    def client_stream(requests, ctx):
        return msg(sum(1 for _ in requests))

    def bidi(requests, ctx):
        yield from requests

    def fail(req, ctx):
        ctx.abort(grpc.StatusCode.NOT_FOUND, "no such thing: café 100%")

    def slow(req, ctx):
        time.sleep(0.4)
        return req

    handlers = {"U": grpc.unary_unary_rpc_method_handler(unary, ident, ident),
                "SS": grpc.unary_stream_rpc_method_handler(server_stream, ident, ident),
                "CS": grpc.stream_unary_rpc_method_handler(client_stream, ident, ident),
                "B": grpc.stream_stream_rpc_method_handler(bidi, ident, ident),
                "Fail": grpc.unary_unary_rpc_method_handler(fail, ident, ident),
                "Slow": grpc.unary_unary_rpc_method_handler(slow, ident, ident)}
    server = grpc.server(futures.ThreadPoolExecutor(8))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("t.S", handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


@pytest.fixture(scope="module")
def grpc_capture(tmp_path_factory):
    """One connection with every kind of call; returns (pcap, port, what the client saw)."""
    path = str(tmp_path_factory.mktemp("grpc") / "calls.pcap")
    server, port = _server()
    tcpdump = start_capture(path, port)
    seen = []
    ident = lambda x: x  # noqa: E731
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.enable_http_proxy", 0)]) as ch:
        ch.unary_unary("/t.S/U", ident, ident)(msg(1, "hello"))
        seen.append(("/t.S/U", "unary", 1, 1, 0, "trailers"))
        replies = list(ch.unary_stream("/t.S/SS", ident, ident)(msg(0, "short")))
        seen.append(("/t.S/SS", "server-streaming", 1, len(replies), 0, "trailers"))
        ch.stream_unary("/t.S/CS", ident, ident)(iter([msg(i) for i in range(4)]))
        seen.append(("/t.S/CS", "client-streaming", 4, 1, 0, "trailers"))
        # ping-pong: each request waits for its answer, so they interleave on the wire
        call = ch.stream_stream("/t.S/B", ident, ident)
        outbox: list[bytes] = []
        cond = threading.Condition()

        def requests():
            for i in range(3):
                with cond:
                    outbox.append(msg(i))
                    cond.notify()
                yield msg(i)
                time.sleep(0.05)

        answers = list(call(requests()))
        seen.append(("/t.S/B", "bidi-streaming", 3, len(answers), 0, "trailers"))
        with pytest.raises(grpc.RpcError) as err:
            ch.unary_unary("/t.S/Fail", ident, ident)(msg(9))
        seen.append(("/t.S/Fail", "unary", 1, 0, err.value.code().value[0], "trailers-only"))
        with pytest.raises(grpc.RpcError) as err:
            ch.unary_unary("/t.S/Slow", ident, ident)(msg(1), timeout=0.1)
        assert err.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        # The client gives up (RST_STREAM CANCEL) or the server's own deadline fires first
        # (Trailers-Only DEADLINE_EXCEEDED): a real race, both are right.
        seen.append(("/t.S/Slow", "unary", 1, 0, 4, ("rst_stream", "trailers-only")))
        stream = ch.unary_stream("/t.S/SS", ident, ident)(msg(1, "long"))
        got = [next(stream) for _ in range(3)]
        stream.cancel()
        seen.append(("/t.S/SS", "server-streaming", 1, None, 1, "rst_stream"))
        ch.unary_unary("/t.S/U", ident, ident)(msg(7, "zip " * 200), compression=grpc.Compression.Gzip)
        seen.append(("/t.S/U", "unary", 1, 1, 0, "trailers"))
        ch.unary_unary("/t.S/U", ident, ident)(msg(8, blob=b"\x01" * 300_000))
        seen.append(("/t.S/U", "unary", 1, 1, 0, "trailers"))
        assert len(got) == 3
    time.sleep(0.3)
    stop_capture(tcpdump)
    server.stop(None)
    return path, port, seen


def _same_call(call: dict, want: tuple) -> bool:
    """A call seen mid-connection matches what the client did: the :path when known,
    the ending, and the status unless it was indexed before the capture began."""
    method, _, _, _, status, ended_by = want
    endings = ended_by if isinstance(ended_by, tuple) else (ended_by,)
    if call["method"] not in (method, "<unknown :path>") or call["ended_by"] not in endings:
        return False
    if call["grpc_status"] is None:
        return any("grpc-status unknown" in p for p in call["problems"])
    return call["grpc_status"] == status


def rpcs(*args: str) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "inspector", "rpcs", *args, "--format", "jsonl"],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_every_call_is_reported_as_the_client_saw_it(grpc_capture):
    path, _, seen = grpc_capture
    calls = rpcs(path)
    assert len(calls) == len(seen)
    for call, (method, style, nreq, nresp, status, ended_by) in zip(calls, seen, strict=True):
        assert call["method"] == method
        assert call["ended_by"] in (ended_by if isinstance(ended_by, tuple) else (ended_by,)), call
        assert call["grpc_status"] == status, call
        assert call["request_messages"] == nreq
        if nresp is not None:
            assert call["response_messages"] == nresp
        if nreq > 1 or (nresp or 0) > 1:
            assert call["style"] == style  # traffic tells when a side sent several messages
        assert call["style_source"] == "traffic"
    failed = calls[4]
    assert failed["grpc_status_name"] == "NOT_FOUND" and failed["grpc_message"] == "no such thing: café 100%"
    cancelled = calls[6]
    assert cancelled["rst_error"] == "CANCEL from the client" and cancelled["grpc_status_name"] == "CANCELLED"
    assert calls[5]["grpc_status_name"] == "DEADLINE_EXCEEDED" and calls[5]["timeout"] is not None
    assert calls[7]["compressed"] and not calls[8]["compressed"]
    assert calls[8]["response_bytes"] > 300_000


def test_a_schema_gives_every_style_and_decodes_payloads(grpc_capture, tmp_path):
    path, _, seen = grpc_capture
    proto = tmp_path / "t.proto"
    proto.write_text(PROTO)
    calls = rpcs(path, "--proto", str(proto))
    assert [c["style"] for c in calls] == [s[1] for s in seen]
    assert {c["style_source"] for c in calls} == {"schema"}
    text = subprocess.run([sys.executable, "-m", "inspector", "rpcs", path, "--proto", str(proto), "-v"],
                          capture_output=True, text=True, check=True).stdout
    assert 't.Msg { n: 1 s: "hello" }' in text
    assert "zip zip" in text  # the gzip message, decompressed and decoded


def test_text_says_when_traffic_cannot_tell(grpc_capture):
    path, _, _ = grpc_capture
    text = subprocess.run([sys.executable, "-m", "inspector", "rpcs", path], capture_output=True, text=True,
                          check=True).stdout
    first = text.splitlines()[0]
    assert "/t.S/U" in first and "unary*" in first and "1 → 1" in first and "OK (0)" in first
    assert "one message each way looks unary" in text
    assert "every call, unary too, is one HTTP/2 stream" in text


def test_dump_shows_message_boundaries_under_data_frames(grpc_capture):
    path, _, _ = grpc_capture
    text = subprocess.run([sys.executable, "-m", "inspector", "dump", path], capture_output=True, text=True,
                          check=True).stdout
    assert "; gRPC request message #1 (9 bytes): whole at offset 0" in text
    assert "): starts at offset 0" in text and "): ends" in text  # the 300 kB message spans frames


def test_capture_starting_mid_connection_still_lists_the_calls_it_can_see(grpc_capture, tmp_path):
    from scapy.utils import rdpcap, wrpcap

    path, port, seen = grpc_capture
    packets = rdpcap(path)
    # drop everything before the client-streaming call: the preface, SETTINGS and 2 calls
    first = rpcs(path)[2]["start_time"]
    later = [p for p in packets if float(p.time) >= first - 1e-6]
    cut = str(tmp_path / "cut.pcap")
    wrpcap(cut, later)
    assert rpcs(cut) == []  # no preface, no --port: nothing to call HTTP/2
    calls = rpcs(cut, "--port", str(port))
    # Decoding starts at the first frame boundary it can prove: a call right after the
    # cut may be lost with the bytes before that boundary; the others are all listed,
    # in order (matched here as an ordered subsequence of what the client did).
    expected = seen[2:]
    assert len(calls) in (len(expected), len(expected) - 1)
    pending = list(expected)
    for call in calls:
        while pending and not _same_call(call, pending[0]):
            pending.pop(0)
        assert pending, f"{call} does not match what the client did"
        pending.pop(0)
    assert "<unknown :path>" in [c["method"] for c in calls]
    assert {c["grpc_status"] for c in calls} >= {5, 1}  # literal values sent after the cut are known
