"""gRPC message reassembly: random message sizes cut at random DATA frame
boundaries give back the same messages, with the frames and offsets they span."""

from __future__ import annotations

import gzip
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.model import Direction
from inspector.rpc.messages import split_messages
from inspector.rpc.status import decode_grpc_message, decode_status_details, parse_timeout


def _wire(messages: list[bytes], compressed: list[bool]) -> bytes:
    return b"".join(bytes([c]) + len(m).to_bytes(4, "big") + m for m, c in zip(messages, compressed, strict=True))


@settings(max_examples=300, deadline=None)
@given(messages=st.lists(st.binary(max_size=3000), min_size=1, max_size=8), data=st.data())
def test_any_cut_gives_back_the_same_messages(messages, data):
    stream = _wire(messages, [False] * len(messages))
    cuts = sorted(set(data.draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=10))))
    pieces, start = [], 0
    for i, end in enumerate([c for c in cuts if c < len(stream)] + [len(stream)]):
        pieces.append((100 + i, stream[start:end]))
        start = end
    got = split_messages(Direction.CLIENT, pieces)
    assert [m.data for m in got] == messages
    assert all(m.problem is None for m in got)
    # each message names the frames it spans, and where its prefix starts in the first
    starts, pos = {}, 0
    for frame, payload in pieces:
        starts[frame] = pos
        pos += len(payload)
    pos = 0
    for m, body in zip(got, messages, strict=True):
        assert starts[m.frames[0]] + m.offset == pos
        end = pos + 5 + len(body)
        assert all(starts[f] < end for f in m.frames)
        assert tuple(m.frames) == tuple(f for f, p in pieces if starts[f] < end and starts[f] + len(p) > pos)
        pos = end


def test_compressed_messages_are_decompressed_by_grpc_encoding():
    body = b"compress me " * 50
    gz = split_messages(Direction.SERVER, [(1, _wire([gzip.compress(body)], [True]))], "gzip")
    assert gz[0].compressed and gz[0].data == body
    df = split_messages(Direction.SERVER, [(1, _wire([zlib.compress(body)], [True]))], "deflate")
    assert df[0].data == body


def test_compressed_without_grpc_encoding_is_a_problem_not_a_crash():
    got = split_messages(Direction.CLIENT, [(1, _wire([b"\x1f\x8bxx"], [True]))], None)
    assert got[0].data is None and "no grpc-encoding" in got[0].problem


def test_message_longer_than_captured_is_marked():
    stream = _wire([b"x" * 100], [False])[:60]
    got = split_messages(Direction.CLIENT, [(7, stream)], complete=True)
    assert got[0].data is None and got[0].problem == "message of 100 bytes, only 55 captured"
    unfinished = split_messages(Direction.CLIENT, [(7, stream)], complete=False)
    assert unfinished[0].problem is None  # still arriving, not a problem


def test_status_headers():
    assert decode_grpc_message("caf%C3%A9 100%25 done") == "café 100% done"
    assert parse_timeout("100m") == 0.1 and parse_timeout("5S") == 5 and parse_timeout("1x") is None
    # google.rpc.Status{code: 5, message: "gone", details: [Any{type_url: "t", value: "\x01"}]}
    import base64
    raw = b"\x08\x05\x12\x04gone\x1a\x06\x0a\x01t\x12\x01\x01"
    details = decode_status_details(base64.b64encode(raw).decode().rstrip("="))
    assert details == {"code": 5, "message": "gone", "details": [{"type_url": "t", "value": "01"}]}
