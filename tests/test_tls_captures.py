"""TLS in captures: decrypted with a key log (curl's SSLKEYLOGFILE, TLS 1.2 and 1.3, AES-GCM and
ChaCha20), listed with the reason when it cannot be; tshark agrees frame for frame elsewhere
(test_captures_match_tshark). Here: payloads, partial and wrong key logs, damage, bad input."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from clikit import h2inspect_here
from conftest import CAPTURES

from inspector.capture.load import CaptureLoader
from inspector.tls.keylog import KeyLog

CAPTURE = CAPTURES / "curl-tls-keylog.pcap"
KEYS = CAPTURES / "curl-tls.keys"
BODY = bytes(range(256)) * 160  # what data.bin held


def dump(*args: str) -> subprocess.CompletedProcess:
    return h2inspect_here("dump", *map(str, args))


def load(keylog: KeyLog | None):  # type: ignore[no-untyped-def]
    loader = CaptureLoader(str(CAPTURE))
    loader.builder.keylog = keylog
    return loader.load()


def test_decrypted_bodies_are_the_bytes_the_server_sent():
    session = load(KeyLog.load(str(KEYS)))
    assert len(session.connections) == 5
    protocols = sorted(c.protocol for c in session.connections)
    assert all(p.startswith("h2 (TLS 1.") for p in protocols)
    assert sum("TLS 1.2" in p for p in protocols) == 2 and sum("TLS 1.3" in p for p in protocols) == 3
    assert {"CHACHA20" in p for p in protocols} == {True, False}
    for conn in session.connections:
        streams = {sid: s for sid, s in conn.streams.items() if sid}
        bodies = []
        for sid in sorted(streams):
            frames = [session.frames[i] for i in session.stream_frames.of(conn.index, sid)]
            body = b"".join(session.frame_payload(f) for f in frames if f.type_code == 0 and f.direction == 1)
            bodies.append(body)
        assert BODY in bodies and b"<html>hello over TLS</html>\n" in bodies


def test_without_a_key_log_every_tls_connection_is_listed_with_the_reason():
    proc = dump(CAPTURE, "--format", "jsonl")
    assert proc.returncode == 0 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 5 and all("TLS, not decoded: the traffic is encrypted and no key log was given" in line
                                   and "--keylog" in line for line in lines)
    session = load(None)
    assert [c.protocol.split(" ")[0] for c in session.connections] == ["tls"] * 5
    assert any("ALPN offered h2, http/1.1" in c.protocol for c in session.connections)


def test_a_key_log_with_some_connections_decodes_those_and_names_the_others(tmp_path):
    tls12_only = [line for line in KEYS.read_text().splitlines() if line.startswith("CLIENT_RANDOM ")]
    partial = tmp_path / "partial.keys"
    partial.write_text("# only the TLS 1.2 connections\n" + "\n".join(tls12_only) + "\n")
    proc = dump(CAPTURE, "--keylog", partial, "--format", "jsonl")
    assert proc.returncode == 0
    conns = {json.loads(line)["conn"] for line in proc.stdout.splitlines()}
    assert len(conns) == 2
    assert proc.stderr.count("no secrets for this connection in the key log") == 3


def test_wrong_secrets_are_reported_not_crashed_on(tmp_path):
    wrong = tmp_path / "wrong.keys"
    lines = []
    for line in KEYS.read_text().splitlines():
        label, random, secret = line.split()
        lines.append(f"{label} {random} {'00' * (len(secret) // 2)}")
    wrong.write_text("\n".join(lines) + "\n")
    proc = dump(CAPTURE, "--keylog", wrong)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert proc.stderr.count("would not decrypt with the logged secrets") == 5


def test_a_lost_segment_inside_tls_stops_that_direction_only(tmp_path):
    from scapy.all import TCP, rdpcap, wrpcap

    packets = rdpcap(str(CAPTURE))
    big = max(range(len(packets)), key=lambda i: len(bytes(packets[i][TCP].payload)) if TCP in packets[i] else 0)
    damaged = tmp_path / "damaged.pcap"
    wrpcap(str(damaged), [p for i, p in enumerate(packets) if i != big])
    proc = dump(damaged, "--keylog", KEYS, "--format", "jsonl")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert re.search(r"bytes of a TLS stream from the (server|client) are missing \(before packet \d+\): "
                     "decryption of that direction stops there", proc.stderr)
    assert len({json.loads(line)["conn"] for line in proc.stdout.splitlines()}) == 5  # the rest decode


def test_a_bad_key_log_is_one_line_and_exit_2(tmp_path):
    missing = dump(CAPTURE, "--keylog", tmp_path / "nope.keys")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "nope.keys" in missing.stderr
    empty = tmp_path / "empty.keys"
    empty.write_text("not a key log\n")
    proc = dump(CAPTURE, "--keylog", empty)
    assert proc.returncode == 2 and "no TLS secrets in it" in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.peers
def test_segments_captured_out_of_order_are_reassembled_before_decryption(tmp_path):
    """Two TLS segments of the server swapped in the file, as a loopback capture on a busy
    machine sometimes writes them: every frame still decodes, and tshark agrees once it
    reassembles out-of-order segments too (its 4.0 default does not, and loses frames)."""
    from oracle import h2inspect_frames, tshark_frames
    from scapy.layers.inet import TCP
    from scapy.utils import rdpcap, wrpcap

    packets = list(rdpcap(str(CAPTURES / "curl-tls-keylog.pcap")))
    server = min(p[TCP].sport for p in packets if TCP in p)
    pairs = [i for i in range(len(packets) - 1)
             if all(TCP in p and p[TCP].sport == server and len(p[TCP].payload) for p in packets[i:i + 2])]
    i = pairs[len(pairs) // 2]
    packets[i], packets[i + 1] = packets[i + 1], packets[i]
    path = str(tmp_path / "swapped.pcap")
    wrpcap(path, packets)
    keys = str(CAPTURES / "curl-tls.keys")
    ours = h2inspect_frames(path, keylog=keys)
    assert len(ours) == len(h2inspect_frames(str(CAPTURES / "curl-tls-keylog.pcap"), keylog=keys))
    assert ours == tshark_frames(path, extra=["-o", f"tls.keylog_file:{keys}"])
