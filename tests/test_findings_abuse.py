"""Each abuse capture (captures/abuse/, made by make_abuse.py against real nghttpd, or curl against a
fake gRPC server) gives the finding of the rule it breaks, on the stream and at the frame that proves it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from findingskit import by_rule, check_capture

from inspector.http2.frames import FrameType
from inspector.model import Direction, Severity

ABUSE = Path(__file__).resolve().parent.parent / "captures" / "abuse"


def _frames(session, type_code, direction=None, stream_id=None):
    """Indexes of the frames of one type (from one side, on one stream)."""
    return [f.index for f in session.frames if f.type_code == type_code
            and (direction is None or f.direction == direction) and (stream_id is None or f.stream_id == stream_id)]


def test_rapid_reset_is_found_at_the_1001st_reset():
    session = check_capture(str(ABUSE / "rapid-reset.pcap"))
    [finding] = by_rule(session, "abuse.rapid-reset")
    resets = _frames(session, FrameType.RST_STREAM, Direction.CLIENT)
    assert finding.frame == resets[1000]  # the bucket holds 1000; they all came in one packet
    assert finding.count == len(resets) - 1000
    assert finding.threshold == ("rst_burst", 1000, "default")
    assert finding.severity is Severity.ERROR


@pytest.mark.parametrize("preset", ["envoy", "go"])
def test_rapid_reset_is_found_under_envoy_and_go_counting(preset):
    session = check_capture(str(ABUSE / "rapid-reset.pcap"), preset)
    [finding] = by_rule(session, "abuse.rapid-reset")
    resets = _frames(session, FrameType.RST_STREAM, Direction.CLIENT)
    # Envoy: the 500th stream reset within 1 s makes more than half of at least 500; Go: 4 x 100 streams running
    assert finding.frame == (resets[499] if preset == "envoy" else resets[400])


def test_rapid_reset_is_not_counted_under_haproxy():
    assert not by_rule(check_capture(str(ABUSE / "rapid-reset.pcap"), "haproxy"), "abuse.rapid-reset")


def test_continuation_flood_is_found_at_the_ninth_continuation():
    session = check_capture(str(ABUSE / "continuation-flood.pcap"))
    continuations = _frames(session, FrameType.CONTINUATION, Direction.CLIENT, 1)
    [flood] = by_rule(session, "abuse.continuation-flood")
    assert (flood.stream_id, flood.frame, flood.count) == (1, continuations[8], len(continuations) - 8)
    [small] = by_rule(session, "abuse.continuation-small-fragments")
    assert (small.stream_id, small.frame) == (1, continuations[3])  # the 5th fragment, HEADERS included
    [never] = by_rule(session, "abuse.header-block-unterminated")
    assert never.stream_id == 1 and "no END_HEADERS" in never.message


def test_hpack_bomb_is_found_with_its_ratio():
    session = check_capture(str(ABUSE / "hpack-bomb.pcap"))
    [bomb] = by_rule(session, "abuse.hpack-bomb")
    [headers] = _frames(session, FrameType.HEADERS, Direction.CLIENT)
    assert (bomb.stream_id, bomb.frame) == (1, headers)
    assert "decodes to a header list of 84" in bomb.message and "(21x)" in bomb.message


@pytest.mark.parametrize("name, rule", [("ping-flood", "abuse.ping-flood"), ("settings-flood", "abuse.settings-flood")])
def test_control_floods_are_found_at_the_1001st_ack_owed(name, rule):
    session = check_capture(str(ABUSE / f"{name}.pcap"))
    type_code = FrameType.PING if "ping" in name else FrameType.SETTINGS
    sent = [i for i in _frames(session, type_code, Direction.CLIENT) if not session.frames[i].flags & 1]
    [flood] = by_rule(session, rule)
    first = 0 if type_code == FrameType.PING else 1  # the SETTINGS of the preface is acknowledged first
    assert flood.frame == sent[1000 + first] and flood.stream_id is None
    assert flood.count == 500


def test_too_many_settings_in_one_frame():
    session = check_capture(str(ABUSE / "settings-many.pcap"))
    [finding] = by_rule(session, "abuse.settings-count")
    assert session.frames[finding.frame].type_code == FrameType.SETTINGS and "40 parameters" in finding.message


def test_empty_data_flood_is_found_at_the_third_empty_frame():
    session = check_capture(str(ABUSE / "empty-data.pcap"))
    data = _frames(session, FrameType.DATA, Direction.CLIENT, 1)
    [finding] = by_rule(session, "abuse.empty-data")
    assert (finding.stream_id, finding.frame, finding.count) == (1, data[2], 8)  # 10 empty, 2 allowed
    envoy = by_rule(check_capture(str(ABUSE / "empty-data.pcap"), "envoy"), "abuse.empty-data")
    assert envoy[0].frame == data[1] and envoy[0].count == 9


def test_priority_flood_is_found_past_100_per_stream():
    session = check_capture(str(ABUSE / "priority-flood.pcap"))
    priorities = _frames(session, FrameType.PRIORITY, Direction.CLIENT)
    [finding] = by_rule(session, "abuse.priority-flood")
    assert finding.frame == priorities[200]  # 100 x (1 + one stream opened)


def test_window_update_flood_is_found_past_envoys_formula():
    session = check_capture(str(ABUSE / "window-update-flood.pcap"))
    updates = _frames(session, FrameType.WINDOW_UPDATE, Direction.CLIENT)
    [finding] = by_rule(session, "abuse.window-update-flood")
    data_sent = len([i for i in _frames(session, FrameType.DATA, Direction.SERVER) if i < finding.frame])
    assert finding.frame == updates[1 + 2 * (1 + 10 * data_sent)]  # the first past 1 + 2 (streams + 10 DATA)


def test_zero_window_reader_blocks_the_server_and_is_slow_reading():
    session = check_capture(str(ABUSE / "zero-window.pcap"), zero_window_seconds=2)
    [blocked] = by_rule(session, "flow.blocked")
    first_data = _frames(session, FrameType.DATA, Direction.SERVER, 1)[0]
    released = _frames(session, FrameType.WINDOW_UPDATE, Direction.CLIENT, 1)[0]
    assert (blocked.stream_id, blocked.frame) == (1, first_data)
    assert f"until the WINDOW_UPDATE in frame {released}" in blocked.message
    waited = float(re.search(r"waited ([0-9.]+) ms", blocked.message).group(1))
    assert waited == pytest.approx((session.frames[released].time - session.frames[first_data].time) * 1000, abs=0.1)
    assert waited > 2000  # the client held it for about 2.5 s
    slow = by_rule(session, "abuse.slow-read")
    assert slow and slow[0].frame == first_data
    never = {f.stream_id for f in by_rule(session, "flow.window-never-reopens")}
    assert 3 in never
    assert not by_rule(check_capture(str(ABUSE / "zero-window.pcap")), "abuse.slow-read")  # 10 s by default


def test_data_beyond_the_window():
    session = check_capture(str(ABUSE / "data-beyond-window.pcap"))
    [finding] = by_rule(session, "h2.data-beyond-window")
    data = _frames(session, FrameType.DATA, Direction.CLIENT, 1)
    assert (finding.stream_id, finding.frame) == (1, data[4])  # 5 x 14,000 > 65,535
    assert "4465 bytes beyond the connection window" in finding.message


def test_made_you_reset_counts_the_resets_the_client_provoked():
    session = check_capture(str(ABUSE / "made-you-reset.pcap"))
    [finding] = by_rule(session, "abuse.made-you-reset")
    assert session.frames[finding.frame].type_code == FrameType.RST_STREAM
    assert session.frames[finding.frame].direction == Direction.SERVER
    assert "FLOW_CONTROL_ERROR" in finding.message
    provoked = [f for f in by_rule(session, "h2.window-overflow")]
    assert provoked and provoked[0].stream_id == 1


def test_a_grpc_request_without_te_trailers():
    session = check_capture(str(ABUSE / "no-te-trailers.pcap"))
    [finding] = by_rule(session, "grpc.te-trailers")
    [request] = _frames(session, FrameType.HEADERS, Direction.CLIENT, 1)
    assert (finding.stream_id, finding.frame) == (1, request)
    [status] = by_rule(session, "grpc.http-status")  # nghttpd is no gRPC server: 404
    assert "404" in status.message and "UNIMPLEMENTED" in status.message
    assert not by_rule(session, "grpc.message-truncated")  # its HTML page is not cut into gRPC messages


def test_a_server_that_omits_grpc_status():
    session = check_capture(str(ABUSE / "missing-grpc-status.pcap"))
    [finding] = by_rule(session, "grpc.missing-status")
    last = _frames(session, FrameType.DATA, Direction.SERVER, 1)[-1]
    assert (finding.stream_id, finding.frame) == (1, last) and "without grpc-status" in finding.message


# ---- h2.* rules broken against nghttpd (each capture's connections are told apart by `conn`) ---------------

def _one(session, rule):
    found = by_rule(session, rule)
    assert len(found) == 1, (rule, [f.one_line() for f in session.findings])
    return found[0]


def _goaways(session, error_name):
    """The server's GOAWAYs, each checked to carry `error_name` in its h2.goaway-error finding."""
    goaways = _frames(session, FrameType.GOAWAY, Direction.SERVER)
    found = by_rule(session, "h2.goaway-error")
    assert [f.frame for f in found] == goaways and goaways
    assert all(f"GOAWAY from the server with {error_name}" in f.message for f in found)
    return found


def test_a_client_that_never_sends_the_preface():
    session = check_capture(str(ABUSE / "no-preface.pcap"))
    finding = _one(session, "h2.preface")
    first_of_client = next(f for f in session.frames if f.direction == Direction.CLIENT)
    # the finding points at what the client sent instead: its SETTINGS, after the server's
    assert (finding.conn_index, finding.stream_id, finding.frame) == (0, None, first_of_client.index)
    assert first_of_client.type_code == FrameType.SETTINGS and first_of_client.index == 1
    assert finding.severity is Severity.ERROR and finding.reference == "RFC 9113 §3.4"


def test_fixed_length_frames_of_the_wrong_length_are_each_found_and_the_server_says_frame_size_error():
    session = check_capture(str(ABUSE / "frame-length.pcap"))
    found = by_rule(session, "h2.frame-length")
    # one connection each: PRIORITY of 4 on stream 3, RST_STREAM of 3 on stream 1, WINDOW_UPDATE of 5 and
    # PING of 7 on stream 0
    want = [(FrameType.PRIORITY, 4, 3), (FrameType.RST_STREAM, 3, 1), (FrameType.WINDOW_UPDATE, 5, None),
            (FrameType.PING, 7, None)]
    assert [f.conn_index for f in found] == [0, 1, 2, 3]
    for finding, (type_code, length, stream_id) in zip(found, want, strict=True):
        frame = session.frames[finding.frame]
        assert (frame.type_code, frame.length, frame.direction) == (type_code, length, Direction.CLIENT)
        assert frame.conn_index == finding.conn_index
        assert finding.stream_id == stream_id
        assert f"of {length} bytes (it is " in finding.message
    goaways = _goaways(session, "FRAME_SIZE_ERROR")
    assert [g.conn_index for g in goaways] == [0, 1, 2, 3]
    assert all(g.frame > f.frame for g, f in zip(goaways, found, strict=True))  # nghttpd's answer comes after each


def test_a_stream_id_with_the_reserved_bit_is_a_warning_and_read_without_it():
    session = check_capture(str(ABUSE / "reserved-bit.pcap"))
    finding = _one(session, "h2.reserved-bit")
    [headers] = _frames(session, FrameType.HEADERS, Direction.CLIENT)
    assert (finding.stream_id, finding.frame, finding.severity) == (1, headers, Severity.WARNING)
    # nghttpd ignores the bit too: it answers on stream 1
    assert [b.role.name for b in session.header_blocks if b.direction == Direction.SERVER] == ["RESPONSE"]
    assert _frames(session, FrameType.DATA, Direction.SERVER, 1)


def test_malformed_settings_and_a_settings_ack_with_a_payload():
    session = check_capture(str(ABUSE / "settings-length.pcap"))
    found = by_rule(session, "h2.settings-length")
    sent = [f for f in session.frames if f.type_code == FrameType.SETTINGS and f.direction == Direction.CLIENT]
    [seven] = [f.index for f in sent if f.length == 7]
    [ack] = [f.index for f in sent if f.length == 6 and f.flags & 1]
    assert [(f.conn_index, f.stream_id, f.frame) for f in found] == [(0, None, seven), (1, None, ack)]
    assert "SETTINGS length 7 is not a multiple of 6" in found[0].message
    assert "SETTINGS ACK with a payload of 6 bytes" in found[1].message
    assert [g.conn_index for g in _goaways(session, "FRAME_SIZE_ERROR")] == [0, 1]


def test_a_field_block_that_hpack_cannot_decode():
    session = check_capture(str(ABUSE / "hpack-error.pcap"))
    finding = _one(session, "h2.hpack")
    [headers] = _frames(session, FrameType.HEADERS, Direction.CLIENT)
    assert (finding.stream_id, finding.frame) == (1, headers)
    assert "index 0 is not allowed" in finding.message
    _goaways(session, "COMPRESSION_ERROR")


def test_data_on_a_stream_that_already_closed():
    session = check_capture(str(ABUSE / "closed-stream.pcap"))
    finding = _one(session, "h2.frame-on-closed-stream")
    late = _frames(session, FrameType.DATA, Direction.CLIENT, 1)
    server_end = _frames(session, FrameType.DATA, Direction.SERVER, 1)[-1]
    assert len(late) == 1 and late[0] > server_end  # the client's only DATA came after the response ended
    assert (finding.stream_id, finding.frame) == (1, late[0])
    _goaways(session, "STREAM_CLOSED")


def test_a_push_promise_from_the_client_is_not_allowed_in_its_streams_state():
    session = check_capture(str(ABUSE / "client-push-promise.pcap"))
    finding = _one(session, "h2.stream-state")
    [promise] = _frames(session, FrameType.PUSH_PROMISE, Direction.CLIENT)
    assert (finding.stream_id, finding.frame) == (1, promise)
    assert "PUSH_PROMISE from the client on a stream that is open" in finding.message
    _goaways(session, "PROTOCOL_ERROR")


def test_a_stream_still_open_when_the_capture_ends_is_info_not_a_close():
    session = check_capture(str(ABUSE / "open-at-end.pcap"))
    finding = _one(session, "flow.stream-open-at-end")
    last = [f.index for f in session.frames if f.stream_id == 1][-1]
    assert (finding.stream_id, finding.frame, finding.severity) == (1, last, Severity.INFO)
    assert session.frames[last].type_code == FrameType.DATA  # curl's body so far, no END_STREAM
    assert not by_rule(session, "flow.stream-open-at-close")
    assert not [f.one_line() for f in session.findings if f.severity >= Severity.WARNING]
