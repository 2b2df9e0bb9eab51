"""Property tests: random valid HTTP/2 exchanges, encoded with hyperframe and hpack,
sent as TCP segments cut at random points, reordered and retransmitted, decode
back to exactly the frames and header lists that were sent."""

from __future__ import annotations

import hpack
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    SettingsFrame,
    WindowUpdateFrame,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pcapkit import PREFACE, Conversation, Segment, write_capture

from inspector.capture.load import load_capture
from inspector.model import Role

token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
value = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
# fields a well-behaved peer may send: no connection-specific ones, no content-length (RFC 9113 §8.2.2, §8.1.1)
_NOT_EXTRA = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "content-length"}
extra_headers = st.lists(st.tuples(token.filter(lambda t: t not in _NOT_EXTRA), value), max_size=5)


def _no_empty_before_last(bodies: list[bytes]) -> list[bytes]:
    return [b or b"x" for b in bodies[:-1]] + bodies[-1:]


@st.composite
def exchanges(draw):
    """(client frames, server frames, client header lists, server header lists)."""
    enc_c, enc_s = hpack.Encoder(), hpack.Encoder()
    if draw(st.booleans()):
        enc_s.header_table_size = 256  # the server shrinks its table: a size update goes out
    # windows stay within the RFC's range: the initial window plus a WINDOW_UPDATE stays under 2^31-1,
    # and is large enough for the server's DATA
    client = [SettingsFrame(0, settings={4: draw(st.integers(16_384, 2**30 - 1))})]
    server = [SettingsFrame(0, settings={3: 100}), SettingsFrame(0, flags=["ACK"])]
    client.append(SettingsFrame(0, flags=["ACK"]))
    sent_c, sent_s = [], []
    for sid in range(1, 2 * draw(st.integers(1, 4)), 2):
        request = [(":method", "POST"), (":scheme", "http"), (":authority", "example"),
                   (":path", "/" + draw(token))] + draw(extra_headers)
        # A well-behaved peer: an empty DATA only as the last (END_STREAM); three empty ones in a row
        # are the empty-frames flood (abuse.empty-data), which this test must not send.
        bodies = _no_empty_before_last(draw(st.lists(st.binary(max_size=2000), max_size=3)))
        client += _headers(sid, request, enc_c, end_stream=not bodies, split=draw(st.integers(0, 30)))
        sent_c.append((request, Role.REQUEST))
        for i, body in enumerate(bodies):
            client.append(DataFrame(sid, data=body, flags=["END_STREAM"] if i == len(bodies) - 1 else []))
        if draw(st.booleans()):
            client.append(WindowUpdateFrame(sid, window_increment=draw(st.integers(1, 2**30 - 1))))
        if draw(st.booleans()):
            opaque = draw(st.binary(min_size=8, max_size=8))
            client.append(PingFrame(0, opaque_data=opaque))
            server.append(PingFrame(0, flags=["ACK"], opaque_data=opaque))  # a peer answers every PING
        if draw(st.booleans()):
            client.append(PriorityFrame(sid, depends_on=0, stream_weight=draw(st.integers(0, 255))))
        response = [(":status", "200")] + draw(extra_headers)
        responses = _no_empty_before_last(draw(st.lists(st.binary(max_size=3000), max_size=3)))
        trailers = draw(st.one_of(st.none(), extra_headers.filter(bool)))
        server += _headers(sid, response, enc_s, end_stream=not responses and trailers is None,
                           split=draw(st.integers(0, 30)))
        sent_s.append((response, Role.RESPONSE))
        for i, body in enumerate(responses):
            last = i == len(responses) - 1 and trailers is None
            server.append(DataFrame(sid, data=body, flags=["END_STREAM"] if last else []))
        if trailers is not None:
            server += _headers(sid, trailers, enc_s, end_stream=True, split=0)
            sent_s.append((trailers, Role.TRAILERS))
        if draw(st.booleans()):
            server.append(_UnknownFrame(0xF0, 0x3, draw(st.binary(max_size=20))))
    return client, server, sent_c, sent_s


class _UnknownFrame:
    """An extension frame type no RFC defines: it must be shown, never dropped.
    (hyperframe's ExtensionFrame.serialize writes a zero length, so build it here.)"""

    def __init__(self, type_code, flags, body):
        self.type, self.flags_byte, self.stream_id, self.body = type_code, flags, 0, body

    def serialize(self):
        return len(self.body).to_bytes(3, "big") + bytes([self.type, self.flags_byte]) + \
            (0).to_bytes(4, "big") + self.body


def _headers(sid, headers, encoder, *, end_stream, split):
    block = encoder.encode(headers)
    if not 0 < split < len(block):
        f = HeadersFrame(sid, data=block, flags=["END_HEADERS"] + (["END_STREAM"] if end_stream else []))
        return [f]
    first = HeadersFrame(sid, data=block[:split], flags=["END_STREAM"] if end_stream else [])
    return [first, ContinuationFrame(sid, data=block[split:], flags=["END_HEADERS"])]


def _wire(frames):
    return [(f.type, _flag_byte(f), f.stream_id, len(f.serialize()) - 9) for f in frames]


def _flag_byte(frame):
    raw = frame.serialize()
    return raw[4]


@st.composite
def deliveries(draw, n):
    """An order in which n segments reach the capture: some swapped, some sent twice."""
    order = list(range(n))
    for _ in range(draw(st.integers(0, 3))):
        if n > 1:
            i = draw(st.integers(0, n - 2))
            order[i], order[i + 1] = order[i + 1], order[i]
    for _ in range(draw(st.integers(0, 3))):
        if n:
            order.insert(draw(st.integers(0, len(order))), draw(st.integers(0, n - 1)))
    return order


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_exchanges_decode_to_what_was_sent(tmp_path, data):
    client, server, sent_c, sent_s = data.draw(exchanges())
    client_bytes = PREFACE + b"".join(f.serialize() for f in client)
    server_bytes = b"".join(f.serialize() for f in server)
    cuts_c = data.draw(st.lists(st.integers(1, max(1, len(client_bytes) - 1)), max_size=12))
    cuts_s = data.draw(st.lists(st.integers(1, max(1, len(server_bytes) - 1)), max_size=12))
    conv = Conversation().handshake()
    handshake = list(conv.segments)
    conv.segments = []
    conv.send(True, client_bytes, cuts=cuts_c)
    c_segs = conv.segments
    conv.segments = []
    conv.send(False, server_bytes, cuts=cuts_s)
    s_segs = conv.segments
    c_order = data.draw(deliveries(len(c_segs)))
    s_order = data.draw(deliveries(len(s_segs)))
    # The server answers what it was asked: its segments follow the requests,
    # but retransmissions of the client's may still turn up among them.
    merged: list[Segment] = [c_segs[i] for i in c_order]
    for i in s_order:
        merged.append(s_segs[i])
        if data.draw(st.integers(0, 9)) == 0:
            merged.append(c_segs[data.draw(st.integers(0, len(c_segs) - 1))])
    path = write_capture(str(tmp_path / "p.pcap"), conv.packets(segments=handshake + merged))
    session = load_capture(path)

    got_c = [(f.type_code, f.flags, f.stream_id, f.length) for f in session.frames if f.direction == 0]
    got_s = [(f.type_code, f.flags, f.stream_id, f.length) for f in session.frames if f.direction == 1]
    assert got_c == _wire(client)
    assert got_s == _wire(server)
    blocks_c = [(list(b.headers), b.role) for b in session.header_blocks if b.direction == 0]
    blocks_s = [(list(b.headers), b.role) for b in session.header_blocks if b.direction == 1]
    assert blocks_c == [(h, r) for h, r in sent_c]
    assert blocks_s == [(h, r) for h, r in sent_s]
    assert not [f for f in session.findings if f.severity > 0], [f.one_line() for f in session.findings]
    # payloads read back from the capture file are the bytes that were sent
    sent_data = [f.data for f in client if isinstance(f, DataFrame)]
    got_data = [session.frame_payload(f) for f in session.frames if f.direction == 0 and f.type_code == 0]
    assert got_data == sent_data
