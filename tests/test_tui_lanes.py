"""Swimlanes of the connection view, on real captures."""

from __future__ import annotations

from conftest import CAPTURES

from inspector.capture.load import CaptureLoader
from inspector.tui.lanes import assign_lanes


def _lanes(name: str, conn: int = 0):  # type: ignore[no-untyped-def]
    session = CaptureLoader(str(CAPTURES / name)).load()
    log = session.frames
    conns = log.column("conn_index")
    rows = [i for i in range(len(log)) if conns[i] == conn]
    return log, rows, assign_lanes(log, rows)


def test_sequential_calls_reuse_one_lane():
    log, rows, lanes = _lanes("grpc-bidi-streaming.pcap")
    assert lanes.width == 2  # the connection, and one call at a time
    streams = {log.stream_id[i]: lanes.lane[r] for r, i in enumerate(rows)}
    assert streams[0] == 0 and streams[1] == streams[3] == 1


def test_concurrent_calls_take_a_lane_each_and_draw_where_they_are_open():
    log, rows, lanes = _lanes("grpc-concurrent.pcap")
    assert lanes.width >= 6
    for r, i in enumerate(rows):
        cells = lanes.cells(r, log.type_code[i])
        lane = lanes.lane[r]
        assert cells[lane] in "DHWRSPGCU"  # the frame's own glyph, in its lane
        assert cells[0] != " "  # the connection lane is always drawn
    # streams whose lifetimes overlap never share a lane
    span: dict[int, list[int]] = {}
    for r, i in enumerate(rows):
        sid = log.stream_id[i]
        if sid:
            span.setdefault(sid, [r, r, lanes.lane[r]])[1] = r
    spans = sorted(span.values())
    for a, (_, last_a, lane_a) in enumerate(spans):
        for first_b, _, lane_b in spans[a + 1:]:
            if first_b <= last_a:
                assert lane_a != lane_b
    row = next(r for r, i in enumerate(rows) if log.stream_id[i] == 25)
    assert lanes.cells(row, log.type_code[rows[row]]).count("│") >= 5  # many calls in flight at once


def test_a_closed_streams_lane_is_free_on_the_next_row():
    log, rows, lanes = _lanes("grpc-unary.pcap")
    last = max(r for r, i in enumerate(rows) if log.stream_id[i] == 1)
    assert lanes.busy[last] & 0b10  # busy on the frame that closes it
    if last + 1 < len(rows):
        assert not lanes.busy[last + 1] & 0b10
