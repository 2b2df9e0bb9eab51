"""TCP reassembly edge cases and link types, with packets built by scapy.

Each test checks the decoded frames against what was sent, and, where the
capture is valid for it, against tshark reading the same file.
"""

from __future__ import annotations

import hpack
import pytest
from oracle import h2inspect_frames, tshark_frames
from pcapkit import (
    PREFACE,
    Conversation,
    DataFrame,
    PingFrame,
    SettingsFrame,
    frame_bytes,
    headers_frames,
    simple_exchange,
    write_capture,
)

from inspector.capture.load import load_capture
from inspector.model import Direction, Role, Severity, StreamState


def _kinds(session):
    return [(f.direction.label, f.type_name, f.stream_id) for f in session.frames]


EXPECTED_SIMPLE = [
    ("client", "SETTINGS", 0), ("client", "HEADERS", 1), ("client", "SETTINGS", 0),
    ("server", "SETTINGS", 0), ("server", "SETTINGS", 0), ("server", "HEADERS", 1), ("server", "DATA", 1),
]


@pytest.mark.peers
@pytest.mark.parametrize("link", ["ethernet", "vlan", "sll", "sll2", "null", "loop", "raw"])
@pytest.mark.parametrize("ipv6", [False, True])
def test_every_link_type_and_ip_version_decodes(tmp_capture, link, ipv6):
    c, s = simple_exchange()
    conv = Conversation(ipv6=ipv6, client="fd00::1" if ipv6 else "10.0.0.1",
                        server="fd00::2" if ipv6 else "10.0.0.2")
    conv.handshake().send(True, c, cuts=[5, 30]).send(False, s).fin(True).fin(False)
    write_capture(tmp_capture, conv.packets(link), link)
    session = load_capture(tmp_capture)
    assert _kinds(session) == EXPECTED_SIMPLE
    conn = session.connections[0]
    assert conn.server.endswith(":8080") and conn.client.endswith(":40000")
    if ipv6:
        assert conn.client.startswith("[fd00::1]")
    assert h2inspect_frames(tmp_capture) == tshark_frames(tmp_capture, [8080])


@pytest.mark.peers
def test_pcapng_is_read_like_pcap(tmp_path):
    c, s = simple_exchange()
    conv = Conversation().handshake().send(True, c).send(False, s)
    ng = write_capture(str(tmp_path / "a.pcapng"), conv.packets(), pcapng=True)
    session = load_capture(ng)
    assert _kinds(session) == EXPECTED_SIMPLE
    assert h2inspect_frames(ng) == tshark_frames(ng, [8080])
    # payloads are read back from inside pcapng blocks, not kept in memory
    data = [f for f in session.frames if f.type_name == "DATA"][0]
    assert session.frame_payload(data) == b"hello world"


def test_out_of_order_segments_are_put_back_in_order(tmp_capture):
    c, s = simple_exchange()
    conv = Conversation().handshake().send(True, c, cuts=[10, 20, 40]).send(False, s, cuts=[7, 30])
    segs = conv.segments
    # client segments 3..6 are at indexes 3,4,5,6: deliver 5 before 4
    segs[4], segs[5] = segs[5], segs[4]
    write_capture(tmp_capture, conv.packets(segments=segs))
    session = load_capture(tmp_capture)
    assert _kinds(session) == EXPECTED_SIMPLE
    assert not [f for f in session.findings if f.severity >= Severity.WARNING]


def test_retransmissions_and_overlaps_are_not_decoded_twice(tmp_capture):
    c, s = simple_exchange()
    conv = Conversation().handshake().send(True, c, cuts=[10, 30]).send(False, s)
    segs = list(conv.segments)
    # a retransmission of the second client segment, and an overlapping one
    second = segs[4]
    overlap = type(second)(True, second.seq - 4, c[6:40], "PA", second.ack)
    segs.insert(5, second)
    segs.insert(6, overlap)
    write_capture(tmp_capture, conv.packets(segments=segs))
    session = load_capture(tmp_capture)
    assert _kinds(session) == EXPECTED_SIMPLE
    block = session.header_blocks[0]
    assert block.role is Role.REQUEST and block.get(":path") == "/"


def test_capture_without_syn_starts_mid_connection_with_port(tmp_capture):
    enc_c, enc_s = hpack.Encoder(), hpack.Encoder()
    # The part of the connection before the capture began: primes both HPACK tables.
    simple_exchange(enc_c, enc_s)
    later_client = frame_bytes(headers_frames(3, [(":method", "GET"), (":scheme", "http"),
                                                  (":authority", "example"), (":path", "/next")],
                                              enc_c, end_stream=True))
    later_server = frame_bytes(headers_frames(3, [(":status", "200"), ("content-type", "text/plain")], enc_s)
                               + [DataFrame(3, data=b"again", flags=["END_STREAM"])])
    conv = Conversation(client_isn=77_000, server_isn=99_000)
    conv.send(True, later_client).send(False, later_server)
    write_capture(tmp_capture, conv.packets())
    # Without --port there is no preface: nothing to call HTTP/2.
    assert len(load_capture(tmp_capture).frames) == 0
    session = load_capture(tmp_capture, (8080,))
    assert [(f.direction.label, f.type_name, f.stream_id) for f in session.frames] == [
        ("client", "HEADERS", 3), ("server", "HEADERS", 3), ("server", "DATA", 3)]
    request = session.header_blocks[0]
    # Entries indexed before the capture began are unknown, with their index; the rest decodes.
    assert request.get(":method") == "GET"
    assert any(name.startswith("<unknown dynamic entry 6") for name, _ in request.headers)
    assert request.unknown_refs
    response = session.header_blocks[1]
    assert response.role is Role.RESPONSE
    assert session.connections[0].protocol == "h2-midstream"


def test_fin_and_rst_close_the_connection(tmp_capture):
    c, s = simple_exchange()
    conv = Conversation().handshake().send(True, c).send(False, s).fin(False).rst(True)
    write_capture(tmp_capture, conv.packets())
    session = load_capture(tmp_capture)
    assert session.connections[0].closed_by == "server FIN"
    assert _kinds(session) == EXPECTED_SIMPLE


@pytest.mark.peers
def test_new_syn_on_a_reused_port_starts_a_new_connection(tmp_capture):
    c, s = simple_exchange()
    first = Conversation().handshake().send(True, c).send(False, s).fin(True).fin(False)
    second = Conversation(client_isn=50_000, server_isn=60_000).handshake().send(True, c).send(False, s)
    write_capture(tmp_capture, first.packets() + second.packets())
    session = load_capture(tmp_capture)
    assert [conn.index for conn in session.connections] == [0, 1]
    assert [f.conn_index for f in session.frames] == [0] * 7 + [1] * 7
    assert h2inspect_frames(tmp_capture) == tshark_frames(tmp_capture, [8080])


def test_missing_segment_is_a_gap_and_decoding_resumes_at_a_proven_boundary(tmp_capture):
    enc = hpack.Encoder()
    pings = [PingFrame(0, opaque_data=bytes([i]) * 8) for i in range(6)]
    client = PREFACE + frame_bytes([SettingsFrame(0)]) + frame_bytes(
        headers_frames(1, [(":method", "POST"), (":scheme", "http"), (":authority", "x"), (":path", "/u")], enc)
    ) + frame_bytes([DataFrame(1, data=b"a" * 100)]) + frame_bytes(pings) + frame_bytes(
        [DataFrame(1, data=b"z" * 10, flags=["END_STREAM"])])
    body_at = client.index(b"a" * 100)
    conv = Conversation().handshake()
    # cut inside the DATA payload, and again mid-way through the PINGs
    conv.send(True, client, cuts=[body_at + 20, body_at + 60, body_at + 100 + 17 * 2 + 5])
    segs = list(conv.segments)
    lost = segs.pop(4)  # bytes body_at+20 .. body_at+60 never captured
    # the server acknowledges everything: the hole will never be filled
    segs.append(type(lost)(False, 5001, b"", "A", conv._next[0]))
    write_capture(tmp_capture, conv.packets(segments=segs))
    session = load_capture(tmp_capture)
    gaps = [f for f in session.findings if "missing from the capture" in f.message]
    assert len(gaps) == 1 and gaps[0].message.startswith("40 bytes from the client")
    assert gaps[0].packet == 5  # the packet right after the hole
    kinds = _kinds(session)
    assert kinds[:2] == [("client", "SETTINGS", 0), ("client", "HEADERS", 1)]
    # No garbage frames: after the gap only real frames, starting at a boundary we can prove.
    after = kinds[2:]
    assert all(k[1] in ("PING", "DATA") for k in after)
    assert after[-1] == ("client", "DATA", 1)
    assert any(k[1] == "PING" for k in after)
    assert session.stream(0, 1).state is StreamState.HALF_CLOSED_LOCAL


def test_corrupted_bytes_inside_a_payload_are_skipped_and_reported(tmp_capture):
    c, s = simple_exchange()
    garbage = bytes(range(200, 256)) * 3
    pings = frame_bytes([PingFrame(0, opaque_data=b"12345678")] * 3)
    conv = Conversation().handshake().send(True, c + garbage + pings).send(False, s)
    write_capture(tmp_capture, conv.packets())
    session = load_capture(tmp_capture)
    kinds = _kinds(session)
    assert kinds.count(("client", "PING", 0)) == 3
    skipped = [f for f in session.findings if f.message.startswith("skipped")]
    assert len(skipped) == 1 and f"skipped {len(garbage)} bytes from the client" in skipped[0].message


@pytest.mark.peers
def test_upgrade_from_http1_makes_the_request_stream_1(tmp_capture):
    import base64

    enc = hpack.Encoder()
    settings = base64.urlsafe_b64encode(SettingsFrame(0, settings={3: 100}).serialize()[9:]).rstrip(b"=")
    request = (b"GET /hello HTTP/1.1\r\nHost: example\r\nConnection: Upgrade, HTTP2-Settings\r\n"
               b"Upgrade: h2c\r\nHTTP2-Settings: " + settings + b"\r\n\r\n")
    response = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
    server_frames = frame_bytes([SettingsFrame(0)] + headers_frames(1, [(":status", "200")], enc)
                                + [DataFrame(1, data=b"hi", flags=["END_STREAM"])])
    client_after = PREFACE + frame_bytes([SettingsFrame(0), SettingsFrame(0, flags=["ACK"])])
    conv = Conversation().handshake().send(True, request).send(False, response + server_frames)
    conv.send(True, client_after)
    write_capture(tmp_capture, conv.packets())
    session = load_capture(tmp_capture)
    conn = session.connections[0]
    assert conn.protocol == "h2c-upgrade"
    assert conn.settings_client == {3: 100}
    stream = session.stream(0, 1)
    assert stream.upgraded and stream.state is StreamState.CLOSED
    request_block = session.header_blocks[0]
    assert request_block.role is Role.REQUEST and request_block.frame == -1
    assert request_block.get(":path") == "/hello" and request_block.get(":authority") == "example"
    assert [b.role for b in session.header_blocks] == [Role.REQUEST, Role.RESPONSE]
    # tshark follows the Upgrade itself on 8080 (an HTTP port); decode-as would hide it
    assert h2inspect_frames(tmp_capture) == tshark_frames(tmp_capture, [])


def test_plain_http1_is_not_decoded_as_http2(tmp_capture):
    conv = Conversation().handshake().send(True, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    conv.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
    write_capture(tmp_capture, conv.packets())
    session = load_capture(tmp_capture)
    assert len(session.frames) == 0
    assert [c.protocol for c in session.connections] == ["http/1.1"]


def test_windows_and_states_after_each_frame(tmp_capture):
    c, s = simple_exchange(body=b"x" * 1000)
    conv = Conversation().handshake().send(True, c).send(False, s)
    write_capture(tmp_capture, conv.packets())
    session = load_capture(tmp_capture)
    frames = list(session.frames)
    request = frames[1]
    assert request.stream_state is StreamState.HALF_CLOSED_LOCAL
    data = frames[-1]
    assert data.direction is Direction.SERVER and data.stream_state is StreamState.CLOSED
    # the server sends into the client's windows: 65535 each, minus the 1000 bytes
    assert data.conn_window_server == 65535 - 1000
    assert data.stream_window_server == 65535 - 1000
    # the server's SETTINGS raised the client's initial stream window to 1 MiB
    assert data.stream_window_client == 1 << 20
