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
