"""One test per h2.* and grpc.* rule that no convenient real peer breaks: traffic from the decoder
harness (tests/decoderkit.py) that breaks it, and the finding's rule, stream and frame."""

from __future__ import annotations

import hpack
import pytest
from decoderkit import PREFACE, DecoderWire
from findingskit import by_rule
from hyperframe.frame import (
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

from inspector.model import Direction, Finding, Severity

GET = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "x")]
OK = [(":status", "200")]
GRPC = [(":method", "POST"), (":scheme", "http"), (":path", "/p.S/M"), (":authority", "x"),
        ("content-type", "application/grpc"), ("te", "trailers")]
GRPC_OK = [(":status", "200"), ("content-type", "application/grpc")]


class Peer:
    """A connection in the harness with encoders for both sides."""

    def __init__(self) -> None:
        self.wire = DecoderWire()
        self.c, self.s = hpack.Encoder(), hpack.Encoder()
        self.wire.client(PREFACE, SettingsFrame(0))
        self.wire.server(SettingsFrame(0), SettingsFrame(0, flags=["ACK"]))
        self.wire.client(SettingsFrame(0, flags=["ACK"]))

    def request(self, sid: int, headers=GET, end_stream: bool = True):
        return self.wire.client(HeadersFrame(sid, self.c.encode(headers),
                                             flags=["END_HEADERS"] + (["END_STREAM"] if end_stream else [])))[-1]

    def response(self, sid: int, headers=OK, end_stream: bool = False):
        return self.wire.server(HeadersFrame(sid, self.s.encode(headers),
                                             flags=["END_HEADERS"] + (["END_STREAM"] if end_stream else [])))[-1]

    def one(self, rule: str) -> Finding:
        self.wire.session.calls.update()
        found = by_rule(self.wire, rule)
        assert len(found) == 1, (rule, [f.one_line() for f in self.wire.findings])
        return found[0]


def test_data_after_end_stream():
    p = Peer()
    p.request(1)
    [data] = p.wire.client(DataFrame(1, b"late"))
    f = p.one("h2.frame-after-end-stream")
    assert (f.stream_id, f.frame, f.severity) == (1, data.index, Severity.ERROR)


def test_data_on_an_idle_stream():
    p = Peer()
    [data] = p.wire.client(DataFrame(5, b"x"))
    assert (p.one("h2.frame-on-idle-stream").frame, p.one("h2.frame-on-idle-stream").stream_id) == (data.index, 5)


def test_headers_reusing_a_closed_stream():
    p = Peer()
    p.request(1)
    p.response(1, end_stream=True)
    again = p.request(1)
    assert p.one("h2.stream-id-reuse").frame == again.index


def test_stream_ids_going_backwards_and_of_the_wrong_parity():
    p = Peer()
    p.request(5)
    back = p.request(3)
    even = p.request(8)
    assert p.one("h2.stream-id-backwards").frame == back.index
    assert p.one("h2.stream-id-parity").frame == even.index


def test_stream_zero_both_ways():
    p = Peer()
    [data] = p.wire.client((1).to_bytes(3, "big") + bytes([0, 0]) + bytes(4) + b"x")  # DATA on stream 0
    [ping] = p.wire.client((8).to_bytes(3, "big") + bytes([6, 0]) + (1).to_bytes(4, "big") + bytes(8))  # PING, stream 1
    assert p.one("h2.stream-zero").frame == data.index
    assert p.one("h2.connection-frame-on-stream").frame == ping.index


def test_frame_over_the_max_frame_size():
    p = Peer()
    p.request(1, end_stream=False)
    p.wire.server(WindowUpdateFrame(0, window_increment=100_000), WindowUpdateFrame(1, window_increment=100_000))
    [big, _] = p.wire.client(DataFrame(1, b"x" * 20_000), PingFrame(0, opaque_data=bytes(8)))
    assert p.one("h2.frame-size").frame == big.index


def test_padding_longer_than_the_payload():
    p = Peer()
    p.request(1, end_stream=False)
    raw = (3).to_bytes(3, "big") + bytes([0, 0x8]) + (1).to_bytes(4, "big") + bytes([9, 0, 0])  # pad 9 of 3
    [data] = p.wire.client(raw)
    assert p.one("h2.padding").frame == data.index


def test_priority_on_itself():
    p = Peer()
    [prio] = p.wire.client(PriorityFrame(3, depends_on=3, stream_weight=1))
    assert p.one("h2.priority-self").frame == prio.index


def test_continuation_misuse():
    p = Peer()
    [lone] = p.wire.client(ContinuationFrame(1, b"\x82", flags=["END_HEADERS"]))
    assert p.one("h2.continuation-without-block").frame == lone.index
    block = p.c.encode(GET)
    [_, ping] = p.wire.client(HeadersFrame(3, block, flags=["END_STREAM"]), PingFrame(0, opaque_data=bytes(8)))
    assert p.one("h2.continuation-interrupted").frame == ping.index


def test_settings_out_of_range_and_never_acknowledged():
    p = Peer()
    [bad] = p.wire.server(SettingsFrame(0, settings={5: 100, 2: 1}))
    p.request(1)
    p.wire.decoder.finish()
    found = by_rule(p.wire, "h2.settings-value")
    assert {f.frame for f in found} == {bad.index} and found[0].count == 2  # both values, one frame
    assert p.one("h2.settings-unacked").frame == bad.index


def test_window_update_of_zero_and_past_the_maximum():
    p = Peer()
    [zero, over] = p.wire.client(WindowUpdateFrame(0, window_increment=0),
                                 WindowUpdateFrame(0, window_increment=2**31 - 1))
    assert p.one("h2.window-update-zero").frame == zero.index
    assert p.one("h2.window-overflow").frame == over.index


def test_pseudo_header_rules():
    p = Peer()
    missing = p.request(1, [(":method", "GET"), (":path", "/"), (":authority", "x")])
    after = p.request(3, [(":method", "GET"), ("x-a", "1"), (":scheme", "http"), (":path", "/")])
    upper = p.request(5, GET + [("X-Upper", "1")])
    conn = p.request(7, GET + [("connection", "close")])
    te = p.request(9, GET + [("te", "gzip")])
    found = {(f.stream_id, f.frame) for f in by_rule(p.wire, "h2.pseudo-header")}
    assert found == {(1, missing.index), (3, after.index)}
    assert p.one("h2.header-uppercase").frame == upper.index
    assert {(f.stream_id, f.frame) for f in by_rule(p.wire, "h2.connection-header")} == {(7, conn.index),
                                                                                        (9, te.index)}


def test_content_length_not_equal_to_the_data():
    p = Peer()
    p.request(1)
    p.response(1, OK + [("content-length", "10")])
    [data] = p.wire.server(DataFrame(1, b"x" * 4, flags=["END_STREAM"]))
    f = p.one("h2.content-length")
    assert (f.stream_id, f.frame) == (1, data.index) and "6 bytes fewer" in f.message


def test_a_head_response_may_say_a_content_length_it_does_not_send():
    p = Peer()
    p.request(1, [(":method", "HEAD"), (":scheme", "http"), (":path", "/"), (":authority", "x")])
    p.response(1, OK + [("content-length", "10")], end_stream=True)
    assert not by_rule(p.wire, "h2.content-length")


def test_new_stream_above_goaways_last_stream_id():
    p = Peer()
    p.request(1)
    p.wire.server(GoAwayFrame(0, last_stream_id=1))
    late = p.request(3)
    assert p.one("h2.stream-after-goaway").frame == late.index


def test_push_promise_after_push_was_disabled():
    p = Peer()
    p.wire.client(SettingsFrame(0, settings={2: 0}))
    p.request(1)
    [promise] = p.wire.server(PushPromiseFrame(1, promised_stream_id=2, data=p.s.encode(GET), flags=["END_HEADERS"]))
    assert p.one("h2.push-disabled").frame == promise.index


def test_hpack_table_size_update_above_the_setting():
    p = Peer()
    [bad] = p.wire.client(HeadersFrame(1, bytes([0x3F, 0xE1, 0x3F]) + p.c.encode(GET), flags=["END_HEADERS"]))
    assert p.one("h2.hpack-table-size").frame == bad.index


def test_more_streams_than_max_concurrent_and_refused():
    p = Peer()
    p.wire.server(SettingsFrame(0, settings={3: 1}))
    p.request(1, end_stream=False)
    extra = p.request(3, end_stream=False)
    [refused] = p.wire.server(RstStreamFrame(3, error_code=7))
    assert p.one("h2.max-concurrent-streams").frame == extra.index
    f = p.one("flow.refused-stream")
    assert f.frame == refused.index and "1 other client stream open" in f.message


def test_ping_never_answered_and_stream_left_open():
    p = Peer()
    [ping] = p.wire.client(PingFrame(0, opaque_data=b"abcdefgh"))
    p.request(1, end_stream=False)
    p.response(1)
    p.wire.decoder.close(Direction.CLIENT, "FIN", p.wire.packet)
    p.wire.decoder.finish()
    assert p.one("flow.ping-unanswered").frame == ping.index
    assert p.one("flow.stream-open-at-close").stream_id == 1


def test_a_ping_is_unanswered_when_its_sender_closes_first_not_when_the_peer_leaves():
    """The asker closing with its PING still owed gave up waiting (a keepalive's timeout): unanswered.
    The peer closing right after the PING (gRPC's BDP PING beside a last response, then the client
    closing its channel) was leaving anyway: the connection ended, nothing more."""
    gave_up = Peer()
    [ping] = gave_up.wire.client(PingFrame(0, opaque_data=b"keepaliv"))
    gave_up.wire.decoder.close(Direction.CLIENT, "FIN", gave_up.wire.packet)
    gave_up.wire.decoder.close(Direction.SERVER, "FIN", gave_up.wire.packet)
    gave_up.wire.decoder.finish()
    f = gave_up.one("flow.ping-unanswered")
    assert f.frame == ping.index and "the server never answered the client's PING" in f.message

    left = Peer()
    left.request(1)
    left.response(1, end_stream=True)
    left.wire.server(PingFrame(0, opaque_data=b"bdp-ping"))
    left.wire.decoder.close(Direction.CLIENT, "FIN", left.wire.packet)
    left.wire.decoder.close(Direction.SERVER, "FIN", left.wire.packet)
    left.wire.decoder.finish()
    assert by_rule(left.wire, "flow.ping-unanswered") == []


# ---- grpc.* ------------------------------------------------------------------------------------------

def _call(request=GRPC, response=GRPC_OK, trailers=(("grpc-status", "0"),), body=b"\x00\x00\x00\x00\x00"):
    p = Peer()
    p.request(1, list(request), end_stream=False)
    p.wire.client(DataFrame(1, b"\x00\x00\x00\x00\x00", flags=["END_STREAM"]))
    if response is not None:
        p.response(1, list(response), end_stream=False)
    if body is not None:
        p.wire.server(DataFrame(1, body, flags=[] if trailers is not None else ["END_STREAM"]))
    if trailers is not None:
        p.response(1, list(trailers), end_stream=True)
    p.wire.session.calls.update()
    return p


@pytest.mark.parametrize("rule, kwargs, words", [
    ("grpc.content-type", {"request": GRPC[:4] + [("content-type", "application/grpc-web"), ("te", "trailers")]},
     "application/grpc-web"),
    ("grpc.te-trailers", {"request": GRPC[:5]}, "no te: trailers"),
    ("grpc.method", {"request": [(":method", "PUT")] + GRPC[1:]}, "PUT, not POST"),
    ("grpc.missing-status", {"trailers": None}, "without grpc-status"),
    ("grpc.status-range", {"trailers": (("grpc-status", "17"),)}, "'17'"),
    ("grpc.message-encoding", {"trailers": (("grpc-status", "2"), ("grpc-message", "50% off"))}, "50% off"),
    ("grpc.http-status", {"response": [(":status", "503"), ("content-type", "text/html")], "trailers": None},
     "UNAVAILABLE (14)"),
    ("grpc.message-truncated", {"body": b"\x00\x00\x00\x00\x09abc", "trailers": None}, "declares 9 bytes"),
    ("grpc.compressed-without-encoding", {"body": b"\x01\x00\x00\x00\x00"}, "grpc-encoding is missing"),
    ("grpc.encoding-not-accepted", {"request": GRPC + [("grpc-accept-encoding", "deflate")],
                                    "response": GRPC_OK + [("grpc-encoding", "gzip")],
                                    "body": b"\x01\x00\x00\x00\x00"}, "gzip-compressed"),
])
def test_grpc_rule_is_found_on_the_call(rule, kwargs, words):
    p = _call(**kwargs)
    f = p.one(rule)
    assert f.stream_id == 1 and words in f.message and p.wire.session.frames[f.frame].stream_id == 1


def test_trailers_only_with_a_body():
    p = _call(response=None, body=None, trailers=None)
    p.response(1, [(":status", "200"), ("content-type", "application/grpc"), ("grpc-status", "0")])
    p.wire.session.calls.update()
    assert p.one("grpc.trailers-only-body").stream_id == 1


def test_a_call_past_its_grpc_timeout():
    p = Peer()
    p.request(1, GRPC + [("grpc-timeout", "100m")], end_stream=False)
    p.wire.client(DataFrame(1, b"\x00\x00\x00\x00\x00", flags=["END_STREAM"]))
    p.wire.time += 1.0
    p.response(1, GRPC_OK)
    p.response(1, [("grpc-status", "0")], end_stream=True)
    p.wire.session.calls.update()
    assert "grpc-timeout 0.1 s" in p.one("grpc.deadline").message


def test_a_clean_grpc_call_has_no_findings():
    p = _call()
    assert not [f.one_line() for f in p.wire.findings]
