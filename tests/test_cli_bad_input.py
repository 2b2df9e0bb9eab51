"""Bad input through the real command: one line on stderr and exit 2, or, for
damage inside a valid capture, decoding goes on, says what it skipped, exit 0."""

from __future__ import annotations

import json
import subprocess

import pytest
from clikit import h2inspect_here
from pcapkit import Conversation, PingFrame, frame_bytes, simple_exchange, write_capture

h2inspect = h2inspect_here  # each case runs the CLI's main here; test_fuzz_captures runs the real command


def _one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


@pytest.fixture
def good_capture(tmp_path):
    c, s = simple_exchange()
    conv = Conversation().handshake().send(True, c).send(False, s).fin(True).fin(False)
    return write_capture(str(tmp_path / "good.pcap"), conv.packets())


@pytest.mark.parametrize("command", ["dump", "rpcs", "open"])
def test_missing_file(tmp_path, command):
    path = str(tmp_path / "nope.pcap")
    _one_line_error(h2inspect(command, path), path, "no such file")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.pcap"
    path.write_bytes(b"")
    _one_line_error(h2inspect("dump", str(path)), str(path), "empty")


def test_file_that_is_not_a_capture(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("this is not a capture\n" * 10)
    _one_line_error(h2inspect("dump", str(path)), str(path), "not a pcap or pcapng")


def test_directory_is_not_a_capture(tmp_path):
    _one_line_error(h2inspect("dump", str(tmp_path)), "directory")


def test_bad_arguments_are_one_line(good_capture):
    _one_line_error(h2inspect("dump", good_capture, "--port", "http"), "not a port number")
    _one_line_error(h2inspect("dump", good_capture, "--format", "xml"), "invalid choice")
    _one_line_error(h2inspect("dump", good_capture, "--stream", "-3"), "stream id")


def test_truncated_capture_decodes_up_to_the_cut_and_says_where(good_capture, tmp_path):
    data = open(good_capture, "rb").read()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:-30])  # inside the last packet
    whole = h2inspect("dump", good_capture, "--format", "jsonl")
    result = h2inspect("dump", str(cut), "--format", "jsonl")
    assert result.returncode == 0
    assert "cut short inside packet" in result.stderr
    assert "Traceback" not in result.stderr
    # every frame before the cut is there
    got = [json.loads(line) for line in result.stdout.splitlines()]
    want = [json.loads(line) for line in whole.stdout.splitlines()]
    assert got and got == want[:len(got)]


def test_capture_cut_inside_the_file_header(good_capture, tmp_path):
    cut = tmp_path / "head.pcap"
    cut.write_bytes(open(good_capture, "rb").read()[:10])
    _one_line_error(h2inspect("dump", str(cut)), str(cut))


def test_corrupted_payload_is_reported_and_skipped(tmp_path):
    c, s = simple_exchange()
    pings = frame_bytes([PingFrame(0, opaque_data=b"abcdefgh")] * 3)
    conv = Conversation().handshake().send(True, c + b"\xff" * 64 + pings).send(False, s)
    path = write_capture(str(tmp_path / "bad.pcap"), conv.packets())
    result = h2inspect("dump", path, "--format", "jsonl")
    assert result.returncode == 0
    assert "skipped 64 bytes from the client" in result.stderr
    types = [json.loads(line)["type"] for line in result.stdout.splitlines()]
    assert types.count("PING") == 3


def test_stream_filter_follows_one_stream(good_capture):
    result = h2inspect("dump", good_capture, "--format", "jsonl", "--stream", "1")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["from"], r["type"]) for r in rows] == [("client", "HEADERS"), ("server", "HEADERS"),
                                                      ("server", "DATA")]
    assert rows[0]["role"] == "request" and rows[1]["role"] == "response"
    assert rows[0]["headers"][0] == [":method", "GET"]


def test_jsonl_has_exactly_the_contract_keys(good_capture):
    result = h2inspect("dump", good_capture, "--format", "jsonl")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    base = {"packet", "time", "conn", "client", "server", "from", "stream_id", "type", "type_code",
            "flags", "flag_names", "length"}
    for row in rows:
        assert base <= set(row)
        assert ("headers" in row) == ("role" in row)
    data = [r for r in rows if r["type"] == "DATA"][0]
    assert data["flag_names"] == ["END_STREAM"] and data["flags"] == 1 and data["length"] == 11
    assert data["client"] == "10.0.0.1:40000" and data["server"] == "10.0.0.2:8080"


def test_text_dump_reads_like_nghttp(good_capture):
    result = h2inspect("dump", good_capture)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert any("client → server HEADERS frame <length=" in line and "stream_id=1>" in line for line in lines)
    assert any(line.strip() == "; END_STREAM | END_HEADERS" for line in lines)
    assert any(line.strip() == ":method: GET" for line in lines)
    assert any(line.strip() == "; response" for line in lines)
    assert any("MAX_CONCURRENT_STREAMS=100" in line for line in lines)


def test_a_keylog_with_nothing_to_decrypt_changes_nothing(good_capture, tmp_path):
    keys = tmp_path / "keys.log"
    keys.write_text("CLIENT_RANDOM 00 00\n")
    plain = h2inspect("dump", good_capture, "--format", "jsonl")
    with_keys = h2inspect("dump", good_capture, "--format", "jsonl", "--keylog", str(keys))
    assert with_keys.returncode == plain.returncode == 0
    assert with_keys.stdout == plain.stdout and with_keys.stdout
