"""Every capture.* and tls.* rule, on a capture that breaks it: a real capture from captures/ damaged the
way capturing goes wrong (tests/damagekit.py: packets lost, cut, repeated with other bytes, a file cut
short), or, where no real capture can show it, one built by tests/hostile.py. Each test asserts the
rule id and where it points (connection, stream, packet or frame)."""

from __future__ import annotations

import hostile
import hpack
import pcapkit
import pytest
from conftest import CAPTURES
from damagekit import Pcap
from findingskit import by_rule

from inspector.capture.load import CaptureLoader
from inspector.http2 import frames as F
from inspector.http2 import session_builder
from inspector.model import (
    DEFAULT_RULE_NOTE,
    DEFAULT_RULE_PROBLEM,
    Direction,
    Finding,
    Role,
    Session,
    Severity,
    StreamState,
)
from inspector.tls.keylog import KeyLog

UNARY = CAPTURES / "grpc-unary.pcap"  # grpcio both ends; its data packets, 1-based: 4 6 8 10 11 13 14 15 16 17
UNARY_PORT = 43189
KEYS = CAPTURES / "curl-tls.keys"


def _check(pcap: Pcap, tmp_path, name: str, *, ports: tuple[int, ...] = (), keylog: bool = False,
           cut: int = 0) -> Session:
    """`check`'s session of a damaged capture: every rule on, calls read."""
    loader = CaptureLoader(pcap.write(tmp_path / f"{name}.pcap", cut=cut), ports=ports)
    if keylog:
        loader.builder.keylog = KeyLog.load(str(KEYS))
    session = loader.load()
    session.calls.update()
    session.flush_findings()
    return session


def _one(session: Session, rule: str) -> Finding:
    found = by_rule(session, rule)
    assert len(found) == 1, (rule, [f.one_line() for f in session.findings])
    return found[0]


def _without(pcap: Pcap, *indexes: int) -> Pcap:
    return Pcap(pcap.header, [r for i, r in enumerate(pcap.records) if i not in indexes])


def _no_alarm_but(session: Session, *rules: str) -> None:
    """Damage is said by its capture.* rule, not taken for a protocol error."""
    assert not [f.one_line() for f in session.findings if f.severity >= Severity.WARNING and f.rule not in rules]


def test_a_lost_packet_is_a_gap_where_decoding_resumes(tmp_path):
    unary = Pcap.read(UNARY)
    lost = unary.data_packets()[3]  # the client's SETTINGS ACK (packet 10)
    damaged = _without(unary, lost)
    session = _check(damaged, tmp_path, "gap")
    gap = _one(session, "capture.gap")
    assert (gap.conn_index, gap.stream_id, gap.packet) == (0, None, damaged.next_data_from(40280, lost))
    assert "9 bytes from the client are missing" in gap.message
    assert [c.method for c in session.calls] == ["/h2inspect.demo.Demo/Unary"]  # the call is still read whole


def test_a_capture_that_starts_mid_connection_says_so_and_raises_no_alarm(tmp_path):
    unary = Pcap.read(UNARY)
    start = unary.data_packets()[2]  # after the preface and both SETTINGS
    session = _check(Pcap(unary.header, unary.records[start:]), tmp_path, "midstream", ports=(UNARY_PORT,))
    note = _one(session, "capture.midstream")
    assert (note.conn_index, note.stream_id, note.severity) == (0, None, Severity.INFO)
    # the client's two WINDOW_UPDATEs of the connection's start: no flood, whatever came before
    assert not [f.one_line() for f in session.findings if f.severity > Severity.INFO]


def test_a_capture_that_starts_inside_a_frame_skips_to_a_frame_boundary_and_raises_no_alarm(tmp_path):
    large = Pcap.read(CAPTURES / "grpc-large-messages.pcap")  # 300 kB messages: DATA frames over many packets
    start = large.data_packets()[7]  # inside the client's first big DATA frame
    session = _check(Pcap(large.header, large.records[start:]), tmp_path, "mid-frame", ports=(37735,))
    skipped = _one(session, "capture.unframed-bytes")
    assert (skipped.conn_index, skipped.stream_id) == (0, None)
    assert skipped.message.startswith("skipped 3081 bytes from the client that do not form HTTP/2 frames")
    first = next(f for f in session.frames if f.direction is Direction.CLIENT)
    assert first.packet == skipped.packet  # decoding resumed in that packet, at the frame that follows
    # the windows and the message boundaries before the capture are unknown: nothing is beyond a window,
    # no zero window is waited on, no message is cut (the first DATA is the middle of one)
    _no_alarm_but(session, "capture.unframed-bytes")
    assert not by_rule(session, "flow.blocked")


def test_a_capture_that_ends_inside_a_frame(tmp_path):
    large = Pcap.read(CAPTURES / "grpc-large-messages.pcap")
    end = large.data_packets()[6]  # the second packet of the client's first 300 kB DATA frame
    session = _check(Pcap(large.header, large.records[:end + 1]), tmp_path, "cut-frame")
    cut = _one(session, "capture.unfinished-frame")
    assert (cut.conn_index, cut.stream_id) == (0, None)
    assert "the capture ends inside a frame from the client (127763 bytes of it captured)" in cut.message
    assert _one(session, "flow.stream-open-at-end").stream_id == 1  # info: it may have finished later


def test_a_capture_that_ends_inside_a_header_block(tmp_path):
    flood = Pcap.read(CAPTURES / "abuse" / "continuation-flood.pcap")  # a block that never ends, then FIN
    last = flood.data_packets()[-1]
    session = _check(Pcap(flood.header, flood.records[:last + 1]), tmp_path, "cut-block")
    cut = _one(session, "capture.unfinished-header-block")
    assert (cut.conn_index, cut.stream_id) == (0, 1) and "no END_HEADERS" in cut.message
    # the connection did not close in the capture: no header block "never ends"
    assert not by_rule(session, "abuse.header-block-unterminated")


def test_bytes_lost_before_the_protocol_was_known(tmp_path):
    unary = Pcap.read(UNARY)
    preface = unary.data_packets()[0]
    damaged = _without(unary, preface)
    session = _check(damaged, tmp_path, "undecided")
    lost = _one(session, "capture.undecided-gap")
    assert (lost.conn_index, lost.packet) == (0, damaged.next_data_from(40280, preface))  # the client's next bytes
    assert "82 bytes from 127.0.0.1:40280 are missing" in lost.message
    assert not session.frames  # nothing is decoded from a connection whose start is lost


def test_a_retransmission_with_other_bytes_keeps_the_first(tmp_path):
    unary = Pcap.read(UNARY)
    i = unary.data_packets()[4]  # the client's request (packet 11)
    records = unary.records[:i + 1] + [unary.records[i].with_payload_byte(3, 0x55)] + unary.records[i + 1:]
    session = _check(Pcap(unary.header, records), tmp_path, "retransmission")
    differs = _one(session, "capture.tcp-retransmission-differs")
    assert (differs.conn_index, differs.packet) == (0, i + 2)  # the copy
    assert "127.0.0.1:40280 resends sequence numbers already seen, with other bytes" in differs.message
    assert [c.method for c in session.calls] == ["/h2inspect.demo.Demo/Unary"]


def test_impossible_sequence_numbers_and_acknowledgements(tmp_path):
    unary = Pcap.read(UNARY)
    data = unary.data_packets()
    seq, ack = data[5], data[6]  # packets 13 and 14
    records = list(unary.records)
    records[seq] = records[seq].with_seq((1 << 30) + (1 << 20))  # past any window
    records[ack] = records[ack].with_ack((1 << 30) + (1 << 20))
    session = _check(Pcap(unary.header, records), tmp_path, "impossible")
    sequence = _one(session, "capture.tcp-impossible-sequence")
    assert (sequence.conn_index, sequence.packet) == (0, seq + 1) and "127.0.0.1:43189" in sequence.message
    acknowledgement = _one(session, "capture.tcp-impossible-ack")
    assert (acknowledgement.conn_index, acknowledgement.packet) == (0, ack + 1)
    assert "127.0.0.1:40280 acknowledges bytes the other side could not have sent" in acknowledgement.message
    assert _one(session, "capture.gap").packet > seq + 1  # the skipped segment's bytes are a hole


def test_acknowledged_bytes_the_capture_never_holds(tmp_path):
    unary = Pcap.read(UNARY)
    last = unary.data_packets()[-1]  # the server's last segment (its PING ACK), acknowledged by the client
    session = _check(_without(unary, last), tmp_path, "acked-unseen")
    unseen = _one(session, "capture.tcp-acked-unseen")
    assert (unseen.conn_index, unseen.packet) == (0, 20)  # the client's ACK of it
    assert "acknowledged 18 bytes from its peer that the capture does not hold" in unseen.message


def test_a_link_type_h2inspect_cannot_read(tmp_path):
    session = _check(Pcap.read(UNARY).with_linktype(147), tmp_path, "linktype")
    skipped = _one(session, "capture.linktype-unsupported")
    assert (skipped.conn_index, skipped.packet) == (None, 1)
    assert "link type 147 is not supported: 21 packets skipped" in skipped.message


def test_an_ip_header_that_does_not_parse(tmp_path):
    unary = Pcap.read(UNARY)
    records = unary.records[:5] + [unary.records[5].with_ip_header_length(3)] + unary.records[5:]
    session = _check(Pcap(unary.header, records), tmp_path, "malformed")
    bad = _one(session, "capture.malformed-ip")
    assert (bad.conn_index, bad.packet) == (None, 6) and "header length 12" in bad.message
    assert [c.method for c in session.calls] == ["/h2inspect.demo.Demo/Unary"]  # the good copy is read


def test_a_capture_file_cut_short(tmp_path):
    session = _check(Pcap.read(UNARY), tmp_path, "cut", cut=7)
    cut = _one(session, "capture.cut-short")
    assert "the capture is cut short inside packet 21 (59 of 66 bytes)" in cut.message
    assert len(session.frames) == len(CaptureLoader(str(UNARY)).load().frames)  # packet 21 holds no frame


def test_an_upgrade_never_answered(tmp_path, monkeypatch):
    path = hostile.upgrade_unanswered(str(tmp_path / "upgrade.pcap"), segments=200)
    monkeypatch.setattr(session_builder, "MAX_UPGRADE_HELD", 100_000)
    session = CaptureLoader(path).load()
    finding = _one(session, "capture.upgrade-unanswered")
    assert (finding.conn_index, finding.severity) == (0, Severity.WARNING)
    assert session.connections[0].protocol == "http/1.1"


def test_tls_without_its_key_log_is_not_decrypted():
    session = CaptureLoader(str(CAPTURES / "curl-tls-keylog.pcap")).load()
    found = by_rule(session, "tls.not-decrypted")
    assert [f.conn_index for f in found] == [0, 1, 2, 3, 4] and all("give --keylog FILE" in f.message for f in found)
    assert not session.frames


def test_a_tls_record_lost_stops_decryption_of_that_direction(tmp_path):
    tls = Pcap.read(CAPTURES / "curl-tls-keylog.pcap")
    lost = tls.data_packets()[8]  # a record of the server's on connection 0 (packet 14)
    damaged = _without(tls, lost)
    session = _check(damaged, tmp_path, "tls-gap", keylog=True)
    gap = _one(session, "tls.gap")
    assert (gap.conn_index, gap.packet) == (0, damaged.next_data_from(tls.records[lost].source_port, lost))
    assert "79 bytes of a TLS stream from the server are missing" in gap.message
    assert [f.conn_index for f in by_rule(session, "tls.decrypted")] == [0, 1, 2, 3, 4]


def test_a_finding_made_without_a_rule_gets_the_default_ones():
    """Code that builds a Finding the old way (severity, message, ...) still gets a rule id."""
    assert Finding(Severity.WARNING, "something broke").rule == DEFAULT_RULE_PROBLEM == "capture.damage"
    assert Finding(Severity.ERROR, "worse").rule == "capture.damage"
    assert Finding(Severity.INFO, "for what it is worth").rule == DEFAULT_RULE_NOTE == "capture.note"


WELL_BEHAVED = sorted(p.name for p in CAPTURES.glob("*.pcap")
                      if "tls" not in p.name and Pcap.read(p).linktype == 1)


@pytest.mark.parametrize("share", [0.3, 0.5, 0.7])
@pytest.mark.parametrize("name", WELL_BEHAVED)
def test_a_well_behaved_capture_joined_mid_way_raises_no_alarm(tmp_path, name, share):
    """Cut where a capture started late would be (after 30%, 50%, 70% of its data packets), read with
    --port: what a capture does not hold (windows, message boundaries, requests, pings answered by a side
    never found) is not taken for a protocol error; only capture.* says what is missing."""
    whole = Pcap.read(CAPTURES / name)
    data = whole.data_packets()
    start = data[int(len(data) * share)]
    session = _check(Pcap(whole.header, whole.records[start:]), tmp_path, f"late-{name}",
                     ports=whole.server_ports())
    assert session.frames  # something was decoded
    assert not [f.one_line() for f in session.findings
                if f.severity >= Severity.WARNING and not f.rule.startswith("capture.")]


UPGRADE = CAPTURES / "curl-h2c-upgrade.pcap"  # curl --http2 against nghttpd; data packets 4 6 8 9 10 12:
# the Upgrade request, the server's 101, the client's preface, the server's SETTINGS and answer on stream 1


def _upgrade_cut_at(tmp_path, packet: int, ports: tuple[int, ...]) -> Session:
    """The real Upgrade capture as a capture started at `packet` (no TCP handshake, no request) would be."""
    whole = Pcap.read(UPGRADE)
    return _check(Pcap(whole.header, whole.records[packet - 1:]), tmp_path, f"upgrade-from-{packet}-{ports}",
                  ports=ports)


@pytest.mark.parametrize("ports", [(), (8080,)], ids=["any port", "--port 8080"])
@pytest.mark.parametrize("packet", [6, 8], ids=["from the 101", "from the preface"])
def test_a_capture_joined_after_the_upgrade_request_reads_stream_1_as_opened_before_it(tmp_path, packet, ports):
    """Stream 1 of an h2c Upgrade is the HTTP/1.1 request's (RFC 7540 §3.2): a capture that missed it
    sees the server answer on stream 1 with no request. That stream was opened before the capture, not
    an idle stream; the server's 101 head, when it was captured, is HTTP/1.1, not unframed bytes."""
    session = _upgrade_cut_at(tmp_path, packet, ports)
    assert not [f.one_line() for f in session.findings if f.severity >= Severity.WARNING]
    [conn] = session.connections
    assert conn.protocol == ("h2c-upgrade" if packet == 6 else "h2c")
    stream = conn.streams[1]
    assert stream.upgraded and stream.state is StreamState.CLOSED
    answer = [session.frames[i] for i in session.stream_frames.of(0, 1)]
    assert [(f.direction, F.type_name(f.type_code)) for f in answer] == [(Direction.SERVER, "HEADERS"),
                                                                         (Direction.SERVER, "DATA")]
    [block] = [session.header_blocks[i] for i in range(len(session.header_blocks))]
    assert (block.stream_id, block.role, block.get(":status")) == (1, Role.RESPONSE, "200")
    assert len(session.frames) == 7  # every frame of the connection's HTTP/2 part, as in the whole capture


def test_a_capture_with_the_upgrade_request_reads_as_before(tmp_path):
    """The whole capture: the request is the HTTP/1.1 one (a block with no frame), stream 1 answered."""
    session = _check(Pcap.read(UPGRADE), tmp_path, "upgrade-whole")
    assert not [f.one_line() for f in session.findings if f.severity >= Severity.INFO]
    [conn] = session.connections
    assert conn.protocol == "h2c-upgrade" and conn.streams[1].upgraded
    blocks = [session.header_blocks[i] for i in range(len(session.header_blocks))]
    assert [(b.frame, b.role, b.get(":path") or b.get(":status")) for b in blocks] == [
        (-1, Role.REQUEST, "/upgrade"), (3, Role.RESPONSE, "200")]
    assert len(session.frames) == 7


def test_stream_1_from_the_server_without_a_request_is_still_idle_when_the_connection_began_in_the_capture(
        tmp_path):
    """With the handshake and the preface seen and no Upgrade, a server's HEADERS on stream 1 is on an
    idle stream, as before: only a connection joined late may have had its stream 1 opened unseen."""
    conv = pcapkit.Conversation().handshake()
    conv.send(True, pcapkit.PREFACE + pcapkit.frame_bytes([pcapkit.SettingsFrame(0)]))
    conv.send(False, pcapkit.frame_bytes([pcapkit.SettingsFrame(0)] + pcapkit.headers_frames(
        1, [(":status", "200")], hpack.Encoder(), end_stream=True)))
    session = CaptureLoader(pcapkit.write_capture(str(tmp_path / "idle.pcap"), conv.packets())).load()
    [idle] = by_rule(session, "h2.frame-on-idle-stream")
    assert (idle.conn_index, idle.stream_id, idle.frame) == (0, 1, 2)
    assert not session.connections[0].streams[1].upgraded
