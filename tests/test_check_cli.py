"""`h2inspect check` from the command line, findings in dump and rpcs, and no false alarms on the
captures of well-behaved peers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import h2inspect_here
from findingskit import check_capture

from inspector.findings.rules import RULES
from inspector.model import Severity

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
ABUSE = CAPTURES / "abuse"
CONTRACT_KEYS = ["rule", "severity", "message", "reference", "conn", "stream_id", "frame", "packet", "time",
                 "last_frame", "count", "threshold"]


h2inspect = h2inspect_here  # each case runs the CLI's main here: the checks are on what it says


@pytest.mark.parametrize("name", sorted(p.name for p in CAPTURES.glob("*.pcap*")))
def test_well_behaved_peers_give_no_error_or_warning(name):
    """grpcio, curl, nghttp/nghttpd and h2load: nothing a reader should worry about."""
    session = check_capture(str(CAPTURES / name))
    if "tls" in name:  # decrypted with its key log: the connections are listed as decrypted, nothing more
        from inspector.capture.load import CaptureLoader
        from inspector.tls.keylog import KeyLog

        loader = CaptureLoader(str(CAPTURES / name))
        loader.builder.keylog = KeyLog.load(str(CAPTURES / "curl-tls.keys"))
        session = loader.load()
        assert {f.rule for f in session.findings} == {"tls.decrypted"}
    assert not [f.one_line() for f in session.findings if f.severity >= Severity.WARNING]


def test_check_a_clean_capture_exits_0_and_says_so():
    got = h2inspect("check", str(CAPTURES / "grpc-unary.pcap"))
    assert got.returncode == 0, got.stderr
    assert got.stdout == f"{CAPTURES / 'grpc-unary.pcap'}: 0 errors, 0 warnings, 0 info\n"


def test_check_prints_a_linter_line_and_exits_1():
    got = h2inspect("check", str(ABUSE / "ping-flood.pcap"))
    assert got.returncode == 1
    [line] = [x for x in got.stdout.splitlines() if "abuse.ping-flood" in x]
    assert line.startswith("conn 0 frame 1004 packet ")
    assert ": error abuse.ping-flood: the server owes 1001 PING" in line
    assert "[x500 to frame 1503" in line and "{control_acks_owed=1000, default}" in line and "(CVE-2019-9512)" in line


def test_check_jsonl_has_the_contract_keys_and_groups_a_flood():
    got = h2inspect("check", str(ABUSE / "rapid-reset.pcap"), "--format", "jsonl")
    assert got.returncode == 1
    objects = [json.loads(line) for line in got.stdout.splitlines()]
    [flood] = [o for o in objects if o["rule"] == "abuse.rapid-reset"]
    assert list(flood)[:len(CONTRACT_KEYS)] == CONTRACT_KEYS
    assert flood["severity"] == "error" and flood["reference"] == "CVE-2023-44487" and flood["stream_id"] is None
    assert flood["count"] == 100 and flood["last_frame"] > flood["frame"]
    assert flood["threshold"] == {"name": "rst_burst", "value": 1000, "preset": "default"}
    assert isinstance(flood["time"], float) and isinstance(flood["packet"], int)


def test_severity_sets_what_fails_the_check():
    path = str(ABUSE / "zero-window.pcap")  # warnings and info, no error
    assert h2inspect("check", path).returncode == 0
    assert h2inspect("check", path, "--severity", "warning").returncode == 1
    info = h2inspect("check", path, "--severity", "info")
    assert "info flow.blocked" in info.stdout
    assert "info flow.blocked" not in h2inspect("check", path).stdout


def test_presets_and_limits_change_what_is_found():
    path = str(ABUSE / "empty-data.pcap")
    assert "abuse.empty-data" not in h2inspect("check", path, "--preset", "haproxy").stdout
    assert "{empty_data_frames=1, envoy}" in h2inspect("check", path, "--preset", "envoy").stdout
    lifted = h2inspect("check", path, "--limit", "empty_data_frames=10")
    assert lifted.returncode == 0 and "abuse.empty-data" not in lifted.stdout


def test_list_rules_shows_every_rule_with_its_limits():
    got = h2inspect("check", "--list-rules", "--preset", "envoy")
    assert got.returncode == 0
    ids = [line.split()[0] for line in got.stdout.splitlines() if line[:1] != " "]
    assert ids == list(RULES)
    [rapid] = [line for line in got.stdout.splitlines() if line.startswith("abuse.rapid-reset")]
    assert "premature_reset_streams=500" in rapid and "(envoy)" in rapid and "CVE-2023-44487" in rapid
    ja = h2inspect("check", "--list-rules", "--lang", "ja")
    assert "ストリーム" in ja.stdout


@pytest.mark.parametrize("args, words", [
    (["--limit", "nonsense=1"], "unknown limit 'nonsense'"),
    (["--limit", "rst_burst=lots"], "'lots' is not a number"),
    (["--limit", "rst_burst"], "NAME=VALUE"),
    (["--preset", "apache"], "invalid choice"),
])
def test_bad_options_are_one_line_and_exit_2(args, words):
    got = h2inspect("check", str(CAPTURES / "grpc-unary.pcap"), *args)
    assert got.returncode == 2 and words in got.stderr and len(got.stderr.strip().splitlines()) == 1
    assert "Traceback" not in got.stderr


def test_check_without_a_capture_or_of_a_non_capture_exits_2(tmp_path):
    assert h2inspect("check").returncode == 2
    bad = tmp_path / "x.pcap"
    bad.write_text("not a capture")
    got = h2inspect("check", str(bad))
    assert got.returncode == 2 and len(got.stderr.strip().splitlines()) == 1


def test_dump_text_prints_a_finding_under_its_frame():
    got = h2inspect("dump", str(ABUSE / "hpack-bomb.pcap"))
    lines = got.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "! error abuse.hpack-bomb" in line)
    frame_line = next(line for line in reversed(lines[:at]) if line.startswith("["))
    assert "client → server HEADERS frame" in frame_line and "stream_id=1>" in frame_line


def test_dump_jsonl_output_is_only_frames():
    got = h2inspect("dump", str(ABUSE / "hpack-bomb.pcap"), "--format", "jsonl")
    objects = [json.loads(line) for line in got.stdout.splitlines()]
    assert objects and all("type" in o and "rule" not in o for o in objects)
    assert "abuse.hpack-bomb" in got.stderr  # findings go to stderr, as before


def test_rpcs_show_a_calls_findings():
    path = str(ABUSE / "missing-grpc-status.pcap")
    [call] = [json.loads(line) for line in h2inspect("rpcs", path, "--format", "jsonl").stdout.splitlines()]
    assert [f["rule"] for f in call["findings"]] == ["grpc.missing-status"]
    verbose = h2inspect("rpcs", path, "-v").stdout
    assert "! error grpc.missing-status: the server ended /demo.Demo/Unary without grpc-status" in verbose


def test_check_with_a_schema_finds_unary_calls_with_the_wrong_number_of_messages():
    """grpcio calling a unary method of a fake server answering two replies, then none; curl sending it two
    requests. Only the schema says the method is unary: without --proto the traffic looks like streaming."""
    path = str(ABUSE / "grpc-message-count.pcap")
    proto = str(ROOT / "inspector" / "demo" / "demo.proto")
    got = h2inspect("check", path, "--proto", proto, "--format", "jsonl")
    assert got.returncode == 1, got.stderr
    found = [json.loads(line) for line in got.stdout.splitlines()]
    assert [f["rule"] for f in found] == ["grpc.message-count"] * 3
    session = check_capture(path)
    frames = session.frames

    def last_of(conn, stream_id, side, type_name):
        return [f.index for f in frames if (f.conn_index, f.stream_id, f.direction.label, f.type_name) ==
                (conn, stream_id, side, type_name)][-1]
    assert [(f["conn"], f["stream_id"], f["frame"]) for f in found] == [
        (0, 1, last_of(0, 1, "server", "HEADERS")),  # two replies: at the trailers that end the call
        (0, 3, last_of(0, 3, "server", "HEADERS")),  # none, and grpc-status 0
        (1, 1, last_of(1, 1, "client", "DATA")),  # two requests: at the client's END_STREAM
    ]
    assert "was answered with 2 response messages, not 1" in found[0]["message"]
    assert "was answered with 0 response messages, not 1" in found[1]["message"]
    assert "unary method /h2inspect.demo.Demo/Unary was sent 2 request messages, not 1" in found[2]["message"]
    assert all(f["severity"] == "error" for f in found)
    without = h2inspect("check", path)
    assert without.returncode == 0 and "grpc.message-count" not in without.stdout
