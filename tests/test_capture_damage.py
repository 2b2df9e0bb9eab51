"""Damage in a capture is always said (issue 19): each hostile capture, built small by
tests/hostile.py, decodes what it can, exits 0, and gives a warning on stderr that names the
packet and what was lost; never an internal error."""

from __future__ import annotations

import json
import random
import subprocess

import hostile
import pytest
from clikit import h2inspect_here
from conftest import CAPTURES
from oracle import h2inspect_frames, tshark_frames

from inspector.capture.inflate import InflatedCapture
from inspector.capture.load import CaptureLoader, load_capture
from inspector.model import Severity

h2inspect = h2inspect_here  # each case runs the CLI's main here: the checks are on what it says


def _clean_run(*args: str) -> subprocess.CompletedProcess:
    """A run that exits 0 with no internal error and no traceback."""
    result = h2inspect(*args)
    assert result.returncode == 0, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    return result


def _warnings(path: str) -> list[str]:
    return [f.one_line() for f in load_capture(path).findings if f.severity == Severity.WARNING]


def _frames(stdout: str) -> list[tuple]:
    return [(r["packet"], r["stream_id"], r["type"], r["length"]) for r in map(json.loads, stdout.splitlines())]


# ---- pcapng sections in either byte order ------------------------------------------------------


@pytest.mark.peers  # tshark is the reference
@pytest.mark.parametrize("second_link", ["raw", "ethernet"])
def test_two_section_pcapng_in_both_byte_orders_decodes_like_tshark(tmp_path, second_link):
    path = hostile.two_section_pcapng(str(tmp_path / "two.pcapng"), calls=4, second_link=second_link)
    assert h2inspect_frames(path) == tshark_frames(path)
    session = load_capture(path)
    # The second section is big-endian raw IP in nanoseconds: its packets keep their times.
    times = [f.time for f in session.frames]
    assert times == sorted(times) and 1_699_999_999 < times[0] < times[-1] < 1_700_000_001


@pytest.mark.parametrize("second_link", ["raw", "ethernet"])
@pytest.mark.parametrize("command", [["dump", "--format", "text"], ["rpcs", "-v"], ["diagram"]])
def test_two_section_pcapng_reads_payloads_back_in_every_view(tmp_path, command, second_link):
    path = hostile.two_section_pcapng(str(tmp_path / "two.pcapng"), calls=4, second_link=second_link)
    result = _clean_run(command[0], path, *command[1:])
    if command[0] == "rpcs":
        assert result.stdout.count("/demo.Demo/Unary") == 4
        assert result.stdout.count("0a 05 68 65 6c 6c 6f") + result.stdout.count("hello") >= 4
    else:
        assert result.stdout


# ---- a gzip capture is inflated once ------------------------------------------------------------


def test_gzip_capture_reads_back_what_the_plain_one_does_inflating_once(tmp_path, monkeypatch):
    plain = hostile.capture(str(tmp_path / "calls.pcap"), hostile.exchange(
        *hostile.unary_calls(150, interleave=True), lockstep=False))
    packed = str(tmp_path / "calls.pcap.gz")
    with open(plain, "rb") as f, open(packed, "wb") as out:
        import gzip
        out.write(gzip.compress(f.read()))
    inflated = []
    real = InflatedCapture._inflate_some

    def counting(self):  # type: ignore[no-untyped-def]
        out = real(self)
        inflated.append(len(out))
        return out

    monkeypatch.setattr(InflatedCapture, "_inflate_some", counting)
    sessions = [CaptureLoader(p).load() for p in (plain, packed)]
    frames = [list(s.frames) for s in sessions]
    order = list(range(len(frames[0])))
    random.Random(3).shuffle(order)  # read payloads back in an order that jumps around the file
    payloads = [[s.frame_payload(fr[i]) for i in order] for s, fr in zip(sessions, frames, strict=True)]
    assert payloads[0] == payloads[1] and any(payloads[0])
    import os
    assert sum(inflated) == os.path.getsize(plain)  # every byte inflated exactly once


def test_truncated_gzip_capture_decodes_up_to_the_cut_and_says_so(tmp_path):
    cut = hostile.truncated_gzip(str(tmp_path / "cut.pcap.gz"), keep=0.6)
    whole = _clean_run("dump", str(tmp_path / "cut.pcap.gz.whole.gz"), "--format", "jsonl")
    result = _clean_run("dump", cut, "--format", "jsonl")
    got, want = _frames(result.stdout), _frames(whole.stdout)
    assert got and len(got) < len(want) and got == want[:len(got)]
    assert "a gzip stream cut short" in result.stderr and "inflated bytes" in result.stderr


# ---- snap length --------------------------------------------------------------------------------


def test_snaplen_cut_packets_are_named_with_the_bytes_lost(tmp_path):
    path = hostile.snaplen_cut(str(tmp_path / "snap.pcap"), snaplen=80)
    result = _clean_run("dump", path, "--format", "jsonl")
    line = next(x for x in result.stderr.splitlines() if "snap length" in x)
    assert "packet 4" in line and "5 packets (4 to 9)" in line and "139 bytes never saved" in line
    assert "80 of 93 bytes saved" in line


def test_a_cut_preface_says_the_connection_is_not_decoded(tmp_path):
    path = hostile.snaplen_cut(str(tmp_path / "preface.pcap"), snaplen=60, preface=True)
    result = _clean_run("dump", path, "--format", "jsonl")
    assert result.stdout == ""
    assert ("packet 4: warning capture.snaplen-cut: cut by the capture's snap length, 33 bytes never saved "
            "(60 of 93 bytes saved)") in result.stderr
    assert "while h2inspect was still reading its first bytes: the connection is not decoded" in result.stderr


# ---- IP fragments -------------------------------------------------------------------------------


@pytest.mark.peers  # tshark is the reference
@pytest.mark.parametrize("ipv6", [False, True])
def test_ip_fragments_are_reassembled_as_tshark_does(tmp_path, ipv6):
    path = hostile.ip_fragments(str(tmp_path / "frag.pcap"), ipv6=ipv6)
    whole = hostile.capture(str(tmp_path / "whole.pcap"), hostile.simple_grpc(2),
                            **({"client": "fd00::1", "server": "fd00::2"} if ipv6 else {}))
    frames = h2inspect_frames(path)
    assert frames == tshark_frames(path)
    # The same frames as without fragments, each one packet later (the fragments are two packets).
    assert [(p - 1, *rest) for p, *rest in frames] == [tuple(f) for f in h2inspect_frames(whole)]
    result = _clean_run("rpcs", "-v", path)
    assert result.stdout.count("/demo.Demo/Unary") == 2 and result.stderr == ""
    # The client's first SETTINGS payload is read back from both fragments' packets.
    session = load_capture(path)
    first = session.frames[0]
    assert (first.packet, first.type_name, first.direction.label) == (5, "SETTINGS", "client")
    assert session.frame_payload(first) == b"\x00\x03\x00\x00\x00\x64"


@pytest.mark.parametrize("ipv6", [False, True])
def test_a_datagram_missing_a_fragment_is_said_to_be_skipped(tmp_path, ipv6):
    path = hostile.ip_fragments(str(tmp_path / "frag.pcap"), ipv6=ipv6, lose_last=True)
    result = _clean_run("dump", path, "--format", "jsonl")
    version = "IPv6" if ipv6 else "IPv4"
    line = next(x for x in result.stderr.splitlines() if "never made a whole datagram" in x)
    assert f"packet 4: warning capture.ip-fragment: {version} fragments of TCP that never made a whole datagram, " \
        "56 bytes" in line
    assert "identification 0x1234, packets 4" in line and "skipped" in line


# ---- impossible TCP sequence numbers -------------------------------------------------------------


@pytest.mark.parametrize("how, words", [
    ("zero", ["sequence number 0, before the connection's first byte at 1",
              "acknowledged 1198 bytes from its peer that the capture does not hold"]),
    ("shuffle", ["cannot be placed in its stream", "acknowledges bytes the other side could not have sent"]),
    ("reverse", ["before the first byte the capture holds", "reordered or reversed packets"]),
])
def test_impossible_sequence_numbers_are_said(tmp_path, how, words):
    path = hostile.damaged_sequence_numbers(str(tmp_path / f"{how}.pcap"), how)
    result = _clean_run("dump", path, "--format", "text")
    for word in words:
        assert word in result.stderr, result.stderr
    assert any(line.startswith(f"h2inspect: {path}: packet ") and "conn 0" in line
               for line in result.stderr.splitlines())


def test_sound_captures_give_no_capture_warnings():
    words = ("snap length", "fragment", "cannot be placed", "could not have sent", "does not hold",
             "other bytes", "link type", "does not parse", "the connection is not decoded")
    for path in sorted(CAPTURES.glob("*.pcap*")):
        for line in _warnings(str(path)):
            assert not any(w in line for w in words), (path.name, line)


# ---- link type ----------------------------------------------------------------------------------


def test_a_supported_but_wrong_link_type_is_said(tmp_path):
    path = hostile.wrong_linktype(str(tmp_path / "link.pcap"), linktype=101)
    result = _clean_run("dump", path)
    assert ("packet 1: warning capture.linktype-mismatch: none of the 11 packets of link type 101 (raw IP) "
            "holds IPv4 or IPv6 where that link type puts it") in result.stderr
    assert "the file's link type is probably wrong" in result.stderr


# ---- a short first HTTP/1.1 segment ---------------------------------------------------------------


@pytest.mark.peers  # tshark is the reference
@pytest.mark.parametrize("first", [1, 2, 20, 41])
def test_an_upgrade_whose_first_segment_is_shorter_than_its_request_line_is_decoded(tmp_path, first):
    path = hostile.short_first_segment(str(tmp_path / "up.pcap"), first=first)
    whole = hostile.short_first_segment(str(tmp_path / "whole.pcap"), first=0)
    frames = h2inspect_frames(path)
    assert [f[1:] for f in frames] == [f[1:] for f in h2inspect_frames(whole)]
    assert len(frames) == 5 and frames == tshark_frames(path)
    session = load_capture(path)
    assert session.connections[0].protocol == "h2c-upgrade"
    assert session.connections[0].streams[1].upgraded


def test_plain_http1_whose_first_segment_is_short_is_listed_as_http1(tmp_path):
    path = hostile.short_first_segment(str(tmp_path / "plain.pcap"), first=3, upgrade=False)
    session = load_capture(path)
    assert [c.protocol for c in session.connections] == ["http/1.1"]


def test_retransmissions_and_keepalive_probes_are_not_damage(tmp_path):
    packets = hostile.conversation_packets(hostile.simple_grpc(3))
    data_packets = [i for i, p in enumerate(packets) if len(p.data) > 54]
    again = packets[data_packets[2]]
    packets.insert(data_packets[2] + 1, hostile.Packet(again.data, again.time + 1e-7))  # a retransmission
    # A keep-alive probe from the server before it sent anything: one garbage byte at the
    # sequence number of its SYN, the one just before the next.
    syn_ack = packets[1]
    probe = bytearray(syn_ack.data[:54])
    probe[16:18] = (41).to_bytes(2, "big")  # IP total length: headers and one byte
    probe[47] = hostile.ACK
    packets.insert(3, hostile.Packet(bytes(probe) + b"\0", syn_ack.time + 1e-7))
    path = hostile.write_packets(str(tmp_path / "fine.pcap"), packets)
    result = _clean_run("dump", path, "--format", "jsonl")
    assert result.stderr == ""
    assert len(_frames(result.stdout)) == len(h2inspect_frames(hostile.capture(
        str(tmp_path / "plain.pcap"), hostile.simple_grpc(3))))
