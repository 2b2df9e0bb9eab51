"""Each frame type's payload parser (inspector/http2/payloads.py), fed real frames made by
hyperframe, and what the decoder keeps of them: fed through the decoder harness, bytes in,
records out. The fast path of DATA and HEADERS is checked against the handlers on every
shipped capture."""

from __future__ import annotations

from pathlib import Path

import hpack
import pytest
from decoderkit import PREFACE, DecoderWire
from hyperframe.frame import (
    AltSvcFrame,
    ContinuationFrame,
    DataFrame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

from inspector.capture.load import CaptureLoader
from inspector.http2 import payloads as P
from inspector.http2.decoder import ConnectionDecoder
from inspector.model import Role, StreamState

ROOT = Path(__file__).resolve().parent.parent
REQUEST = [(":method", "POST"), (":scheme", "http"), (":path", "/t.S/U"), (":authority", "x"),
           ("content-type", "application/grpc"), ("te", "trailers")]


def _body(frame) -> tuple[int, bytes]:
    raw = frame.serialize()
    return raw[4], raw[9:]


def test_data_padding_is_taken_off():
    flags, body = _body(DataFrame(1, b"hello", flags=["PADDED"], pad_length=4))
    parsed = P.parse_payload(0, flags, body)
    assert isinstance(parsed, P.DataPayload)
    assert (parsed.pad_length, parsed.data_length) == (4, 5)
    assert P.data_body(flags, body) == b"hello"


def test_headers_with_priority_and_padding():
    flags, body = _body(HeadersFrame(3, b"\x82\x86", flags=["END_HEADERS", "PADDED", "PRIORITY"], pad_length=2,
                                     depends_on=1, stream_weight=15, exclusive=True))
    parsed = P.parse_payload(1, flags, body)
    assert isinstance(parsed, P.HeadersPayload)
    assert (parsed.exclusive, parsed.stream_dependency, parsed.weight) == (True, 1, 16)
    assert parsed.fragment(body) == b"\x82\x86"
    assert parsed.fields() == {"pad_length": 2, "exclusive": True, "stream_dependency": 1, "weight": 16,
                               "field_block_length": 2}


@pytest.mark.parametrize("frame, cls, expected", [
    (PriorityFrame(5, depends_on=3, stream_weight=0), P.PriorityPayload, (False, 3, 1)),
    (RstStreamFrame(1, error_code=8), P.RstStreamPayload, (8,)),
    (SettingsFrame(0, settings={4: 1 << 20, 5: 32768}), P.SettingsPayload, (((4, 1 << 20), (5, 32768)),)),
    (PingFrame(0, opaque_data=b"12345678"), P.PingPayload, (b"12345678",)),
    (GoAwayFrame(0, last_stream_id=9, error_code=2, additional_data=b"bye"), P.GoawayPayload, (9, 2, b"bye")),
    (WindowUpdateFrame(3, window_increment=70000), P.WindowUpdatePayload, (70000, False)),
    (ContinuationFrame(1, b"\x82"), P.ContinuationPayload, (1,)),
    (AltSvcFrame(0, origin=b"example.com", field=b'h2=":443"'), P.AltsvcPayload, ("example.com", 'h2=":443"')),
])
def test_each_control_frame_type_parses_to_its_fields(frame, cls, expected):
    flags, body = _body(frame)
    parsed = P.parse_payload(frame.type, flags, body)
    assert isinstance(parsed, cls)
    assert tuple(parsed) == expected


def test_origin_priority_update_and_unknown_types():
    origins = b"\x00\x0bexample.com\x00\x05a.com"
    assert P.parse_payload(0xC, 0, origins) == P.OriginPayload(("example.com", "a.com"))
    assert P.parse_payload(0x10, 0, b"\x00\x00\x00\x05u=3") == P.PriorityUpdatePayload(5, "u=3")
    assert P.parse_payload(0xF3, 0, b"abc") == P.UnknownPayload(3)


def test_window_update_masks_the_reserved_bit():
    parsed = P.parse_payload(8, 0, (0x8000_0000 | 1000).to_bytes(4, "big"))
    assert parsed == P.WindowUpdatePayload(1000, True)
    assert P.control_value(8, 0, (0x8000_0000 | 1000).to_bytes(4, "big")) == 1000


@pytest.mark.parametrize("type_code, flags, payload", [
    (3, 0, b"\x00\x01"),  # RST_STREAM too short
    (7, 0, b"\x00" * 7),  # GOAWAY too short
    (0, 0x8, b"\x09abc"),  # pad longer than the payload
    (4, 0, b"\x00" * 7),  # SETTINGS not a multiple of 6
    (5, 0, b"\x00\x00"),  # PUSH_PROMISE without its promised stream
])
def test_malformed_payloads_raise_field_error(type_code, flags, payload):
    with pytest.raises(P.FieldError):
        P.parse_payload(type_code, flags, payload)
    assert "malformed" in P.parse_fields(type_code, flags, payload)


def _headers(sid: int, headers, encoder: hpack.Encoder, **kw) -> HeadersFrame:
    flags = ["END_HEADERS"] + (["END_STREAM"] if kw.get("end_stream") else [])
    return HeadersFrame(sid, encoder.encode(headers), flags=flags)


def test_the_harness_decodes_a_grpc_call_and_keeps_each_rows_value():
    wire, client = DecoderWire(), hpack.Encoder()
    wire.client(PREFACE, SettingsFrame(0))
    wire.server(SettingsFrame(0, settings={4: 1 << 20}), SettingsFrame(0, flags=["ACK"]))
    [request] = wire.client(_headers(1, REQUEST, client))
    assert wire.block(request).role is Role.REQUEST and request.stream_state is StreamState.OPEN
    [data] = wire.client(DataFrame(1, b"\x00\x00\x00\x00\x02hi", flags=["END_STREAM"]))
    assert data.stream_state is StreamState.HALF_CLOSED_LOCAL
    assert data.stream_window_client == (1 << 20) - 7  # the server's INITIAL_WINDOW_SIZE, less the DATA
    assert data.conn_window_client == 65535 - 7
    [update, reset, goaway] = wire.server(WindowUpdateFrame(0, window_increment=7), RstStreamFrame(1, error_code=8),
                                          GoAwayFrame(0, last_stream_id=1, error_code=0))
    assert update.control_value == 7 and update.conn_window_client == 65535
    assert reset.control_value == 8 and reset.stream_state is StreamState.CLOSED
    assert goaway.control_value == 1 and wire.conn.goaways[0].last_stream_id == 1
    assert not wire.findings


def test_push_promise_keeps_the_promised_stream():
    wire, client, server = DecoderWire(), hpack.Encoder(), hpack.Encoder()
    wire.client(PREFACE, SettingsFrame(0), _headers(1, [(":method", "GET"), (":scheme", "http"), (":path", "/"),
                                                        (":authority", "x")], client, end_stream=True))
    [promise] = wire.server(PushPromiseFrame(1, promised_stream_id=2, flags=["END_HEADERS"], data=server.encode(
        [(":method", "GET"), (":scheme", "http"), (":path", "/style.css"), (":authority", "x")])))
    assert promise.control_value == 2
    assert wire.block(promise).role is Role.PUSH_REQUEST
    assert wire.conn.streams[2].state is StreamState.RESERVED_REMOTE and wire.conn.streams[2].promised_by == 1


def test_continuation_joins_the_block():
    wire, client = DecoderWire(), hpack.Encoder()
    block = client.encode(REQUEST)
    wire.client(PREFACE, SettingsFrame(0))
    first, second = wire.client(HeadersFrame(1, block[:5]), ContinuationFrame(1, block[5:], flags=["END_HEADERS"]))
    assert first.header_block == -1
    assert wire.block(second).headers == tuple(REQUEST)


def test_a_settings_change_moves_every_open_streams_window():
    wire, client = DecoderWire(), hpack.Encoder()
    wire.client(PREFACE, SettingsFrame(0))
    for sid in (1, 3, 5):
        wire.client(_headers(sid, REQUEST, client))
    wire.server(SettingsFrame(0, settings={4: 100_000}))
    [data] = wire.client(DataFrame(3, b"x" * 10))
    assert data.stream_window_client == 100_000 - 10
    assert [wire.conn.stream_windows(wire.conn.streams[s])[0] for s in (1, 5)] == [100_000, 100_000]


def test_a_frame_cut_into_many_segments_decodes_once_whole():
    wire, client = DecoderWire(), hpack.Encoder()
    wire.client(PREFACE, SettingsFrame(0), _headers(1, REQUEST, client))
    # the client may send frames of up to 1 MiB, and the windows let it send one
    wire.server(SettingsFrame(0, settings={5: 1 << 20, 4: 1 << 20}), WindowUpdateFrame(0, window_increment=1 << 20))
    records = wire.client(DataFrame(1, b"\x00" * 1_000_000, flags=["END_STREAM"]), segment=1448)
    assert [(r.type_code, r.length, r.packet) for r in records] == [(0, 1_000_000, wire.packet)]
    assert not wire.findings


# The abuse captures too: their frames break rules the fast path must hand to the handlers
# (a stream id with the reserved bit set, on a header block the HPACK cache has not seen).
@pytest.mark.parametrize("name", sorted(str(p.relative_to(ROOT / "captures"))
                                        for p in [*(ROOT / "captures").glob("*.pcap*"),
                                                  *(ROOT / "captures" / "abuse").glob("*.pcap*")]))
def test_the_fast_path_gives_the_same_records_as_the_handlers(name, monkeypatch):
    path = str(ROOT / "captures" / name)
    keylog = ROOT / "captures" / "curl-tls.keys"

    def load() -> tuple[bytes, list, list]:
        loader = CaptureLoader(path)
        if "tls" in name:
            from inspector.tls.keylog import KeyLog

            loader.builder.keylog = KeyLog.load(str(keylog))
        session = loader.load()
        blocks = [(b.conn_index, b.stream_id, b.direction, b.role, b.headers, b.frame) for b in session.header_blocks]
        return bytes(session.frames.buf), blocks, [f.one_line() for f in session.findings]

    fast = load()
    monkeypatch.setattr(ConnectionDecoder, "FAST_PATH", False)
    slow = load()
    assert len(fast[0]) > 0
    assert fast == slow


def _count_calls(monkeypatch, owner, name: str) -> list[int]:
    calls = [0]
    original = getattr(owner, name)

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_resync_over_unframed_bytes_looks_at_each_byte_a_bounded_number_of_times(monkeypatch):
    """0xff after the preface, in 1448-byte segments: every candidate boundary is tried once
    (it rescanned up to 1 MiB on every segment before)."""
    wire = DecoderWire()
    wire.client(PREFACE, SettingsFrame(0))
    checks = _count_calls(monkeypatch, ConnectionDecoder, "_plausible")
    size = 300_000
    wire.client(b"\xff" * size, segment=1448)
    assert checks[0] <= 2 * size
    wire.client(SettingsFrame(0), PingFrame(0, opaque_data=b"12345678"), SettingsFrame(0, flags=["ACK"]))
    skipped = [m for m in wire.messages() if m.startswith("skipped")]
    assert skipped and f"skipped {size} bytes from the client" in skipped[0]


def test_a_big_frame_in_small_segments_is_copied_a_bounded_number_of_times(monkeypatch):
    """A 4 MB DATA frame in 1448-byte segments: what waits for the rest of a frame is appended
    to, not joined again on every segment."""
    wire, client = DecoderWire(), hpack.Encoder()
    wire.client(PREFACE, SettingsFrame(0), _headers(1, REQUEST, client))
    wire.server(SettingsFrame(0, settings={5: 16_777_215}))
    held = [0]
    from inspector.http2 import decoder as D

    original = D._Side.hold

    def counted(self, data, start, offset, need):  # type: ignore[no-untyped-def]
        held[0] += len(data) - start
        return original(self, data, start, offset, need)

    monkeypatch.setattr(D._Side, "hold", counted)
    size = 4_000_000
    [record] = wire.client(DataFrame(1, b"\x00" * size, flags=["END_STREAM"]), segment=1448)
    assert record.length == size
    assert held[0] <= 2 * 1448  # only the first piece is held by copying; the rest is appended


def test_a_header_block_past_the_limit_is_counted_not_kept():
    """A CONTINUATION flood: the block's bytes are kept up to HEADER_BLOCK_LIMIT, then only
    counted; the block is recorded with the sizes that matter and the table marked as lost."""
    from inspector.http2.decoder import HEADER_BLOCK_LIMIT

    wire = DecoderWire()
    wire.client(PREFACE, SettingsFrame(0))
    piece = b"\x40\x01a\x7f\x00" + b"\x00" * 1000  # a literal header, then filler a decoder must read
    count = HEADER_BLOCK_LIMIT // len(piece) + 10
    wire.client(HeadersFrame(1, piece))
    for _ in range(count - 1):
        wire.client(ContinuationFrame(1, piece))
    pending = wire.decoder.sides[0].pending
    assert pending is not None and pending.size == count * len(piece) and not pending.fragments
    [last] = wire.client(ContinuationFrame(1, b"", flags=["END_HEADERS"]))
    block = wire.block(last)
    assert block.headers == ()
    assert f"header block of {count * len(piece)} bytes in {count + 1} frames" in (block.error or "")
    assert wire.decoder.hpack.states[wire.decoder.sides[0].hpack_state].partial


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast path", "handlers"])
def test_a_reserved_bit_on_a_header_block_the_cache_knows_is_masked_and_said(fast_path):
    """The same block again (static-table fields only: the HPACK state does not move, so the
    decoder's cache has it) on a stream id with the reserved bit set: the stream is 3, not 2^31+3,
    and the bit is a finding, whichever path decodes it."""
    block = b"\x82\x86\x84\x01\x01x"  # GET, http, /, :authority x (a literal without indexing)
    wire = DecoderWire(fast_path=fast_path)
    wire.client(PREFACE, SettingsFrame(0))
    wire.server(SettingsFrame(0))
    for sid in (1, (1 << 31) | 3):
        header = len(block).to_bytes(3, "big") + bytes([1, 0x5]) + sid.to_bytes(4, "big")  # END_STREAM|END_HEADERS
        wire.client(header + block)
    frames = [f for f in wire.session.frames if f.type_code == 1]
    assert [f.stream_id for f in frames] == [1, 3]
    assert [f.rule for f in wire.findings] == ["h2.reserved-bit"]
    assert [b.stream_id for b in wire.session.header_blocks] == [1, 3]
