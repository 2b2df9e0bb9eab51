"""The observer's HPACK decoder and the per-type field parser, from bytes."""

from __future__ import annotations

import hpack
from hyperframe.frame import (
    GoAwayFrame,
    PriorityFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.http2 import frames as F
from inspector.http2.hpack_decoder import HpackContext
from inspector.http2.payloads import header_block_fragment, parse_fields

header = st.tuples(st.text(alphabet="abcdefghij-", min_size=1, max_size=10),
                   st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30))


@settings(max_examples=200, deadline=None)
@given(blocks=st.lists(st.lists(header, max_size=6), min_size=1, max_size=8),
       table_size=st.sampled_from([0, 64, 256, 4096]))
def test_decodes_what_the_hpack_library_encodes(blocks, table_size):
    encoder = hpack.Encoder()
    encoder.header_table_size = table_size
    ctx = HpackContext()
    state = ctx.initial_state(partial=False)
    for headers in blocks:
        decoded = ctx.decode(state, encoder.encode(headers), 4096)
        assert decoded.error is None and not decoded.unknown_refs
        assert list(decoded.headers) == headers
        state = decoded.state_id


def test_table_size_update_is_reported_and_evicts():
    encoder = hpack.Encoder()
    ctx = HpackContext()
    state = ctx.initial_state(partial=False)
    state = ctx.decode(state, encoder.encode([("x-a", "1" * 50)]), 4096).state_id
    assert ctx.states[state].entries
    encoder.header_table_size = 0
    decoded = ctx.decode(state, encoder.encode([("x-b", "2")]), 4096)
    assert 0 in decoded.size_updates
    assert ctx.states[decoded.state_id].entries == ()


def test_size_update_above_the_settings_limit_is_an_error():
    encoder = hpack.Encoder()
    encoder.header_table_size = 8192
    ctx = HpackContext()
    decoded = ctx.decode(ctx.initial_state(partial=False), encoder.encode([("a", "b")]), 4096)
    assert decoded.error and "exceeds the SETTINGS_HEADER_TABLE_SIZE of 4096" in decoded.error


def test_unknown_dynamic_entries_mid_connection_show_their_index():
    encoder = hpack.Encoder()
    encoder.encode([("x-before", "seen-before-the-capture")])  # inserted at index 62
    block = encoder.encode([("x-before", "seen-before-the-capture"), (":path", "/p")])
    ctx = HpackContext()
    decoded = ctx.decode(ctx.initial_state(partial=True), block, 4096)
    assert decoded.error is None
    assert decoded.headers == (("<unknown dynamic entry 62>", "<unknown>"), (":path", "/p"))
    assert decoded.unknown_refs == (62,)


def test_same_block_against_same_table_is_decoded_once():
    encoder = hpack.Encoder()
    ctx = HpackContext()
    state = ctx.initial_state(partial=False)
    state = ctx.decode(state, encoder.encode([("a", "b")]), 4096).state_id
    block = encoder.encode([("a", "b")])
    first = ctx.decode(state, block, 4096)
    assert ctx.decode(state, block, 4096) is first  # a cache hit, not a new decode


def test_garbage_is_an_error_with_an_offset_not_an_exception():
    ctx = HpackContext()
    decoded = ctx.decode(ctx.initial_state(partial=False), b"\xff\xff\xff\xff\xff\xff", 4096)
    assert decoded.error and "at byte" in decoded.error
    assert ctx.states[decoded.state_id].partial  # what follows may refer to lost entries


def _payload(frame):
    return frame.serialize()[9:]


def test_fields_of_every_rfc_frame_type():
    s = SettingsFrame(0, settings={1: 4096, 4: 1 << 20, 0x99: 7})
    assert parse_fields(4, 0, _payload(s))["settings"] == [
        ("HEADER_TABLE_SIZE", 4096), ("INITIAL_WINDOW_SIZE", 1 << 20), ("UNKNOWN_SETTING_0x99", 7)]
    g = GoAwayFrame(0, last_stream_id=7, error_code=11, additional_data=b"slow down")
    assert parse_fields(7, 0, _payload(g)) == {"last_stream_id": 7, "error_code": 11,
                                                  "error": "ENHANCE_YOUR_CALM", "debug_data": "slow down"}
    assert parse_fields(3, 0, _payload(RstStreamFrame(1, error_code=8)))["error"] == "CANCEL"
    assert parse_fields(8, 0, _payload(WindowUpdateFrame(0, window_increment=1000))) == {
        "window_size_increment": 1000}
    p = PriorityFrame(3, depends_on=1, stream_weight=200, exclusive=True)
    assert parse_fields(2, 0, _payload(p)) == {"exclusive": True, "stream_dependency": 1, "weight": 201}
    pp = PushPromiseFrame(1, promised_stream_id=2, data=b"\x82", flags=["END_HEADERS", "PADDED"], pad_length=3)
    fields = parse_fields(5, pp.serialize()[4], _payload(pp))
    assert fields == {"pad_length": 3, "promised_stream_id": 2, "field_block_length": 1}
    assert header_block_fragment(5, pp.serialize()[4], _payload(pp)) == b"\x82"


def test_flag_names_show_undefined_bits_too():
    assert F.flag_names(1, 0x25) == ("END_STREAM", "END_HEADERS", "PRIORITY")
    assert F.flag_names(0, 0x41) == ("END_STREAM", "0x40")
    assert F.flag_names(0xF0, 0x3) == ("0x03",)
    assert F.type_name(0x10) == "PRIORITY_UPDATE" and F.type_name(0xF0) == "UNKNOWN"


def test_malformed_payload_is_described_not_raised():
    assert "malformed" in parse_fields(7, 0, b"\x00\x01")
    assert "malformed" in parse_fields(0, F.PADDED, b"\x09abc")
