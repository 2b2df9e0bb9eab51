"""The decoder-side hostile inputs of the issue "Hostile captures", built small by tests/hostile.py:
each decodes to what it holds, says what it could not read, and gives no internal error.
(How the work grows is checked by counting in test_frame_payloads.py and timed by
bench/bench_hostile.py at full size; tests never time.)"""

from __future__ import annotations

import json

import hostile
import pytest
from clikit import h2inspect_here

from inspector.capture.load import CaptureLoader
from inspector.http2 import session_builder

_run = h2inspect_here  # the CLI's main, here: the checks are on what it says


def test_unframed_bytes_after_the_preface_are_skipped_and_said(tmp_path):
    path = hostile.unframed_after_preface(str(tmp_path / "ff.pcap"), size=200_000)
    got = _run("dump", path, "--format", "jsonl")
    assert got.returncode == 0 and "internal error" not in got.stderr
    assert "skipped 200000 bytes from the client that do not form HTTP/2 frames" in got.stderr, got.stderr


def test_a_big_data_frame_in_small_segments_is_one_frame_in_every_view(tmp_path):
    path = hostile.big_data_frame(str(tmp_path / "big.pcap"), size=2 << 20, mss=1448)
    rows = [json.loads(line) for line in _run("dump", path, "--format", "jsonl").stdout.splitlines()]
    assert [r["length"] for r in rows if r["type"] == "DATA"] == [2 << 20]
    for args in (("dump", path), ("rpcs", path, "-v")):
        got = _run(*args)
        assert got.returncode == 0 and "internal error" not in got.stderr, got.stderr


def test_an_upgrade_never_answered_lets_its_held_bytes_go(tmp_path, monkeypatch):
    path = hostile.upgrade_unanswered(str(tmp_path / "upgrade.pcap"), segments=400)
    monkeypatch.setattr(session_builder, "MAX_UPGRADE_HELD", 100_000)
    session = CaptureLoader(path).load()
    [finding] = [f for f in session.findings if "never answered the h2c Upgrade" in f.message]
    assert "were let go" in finding.message and session.connections[0].protocol == "http/1.1"


@pytest.mark.parametrize("command", [("rpcs", "-v"), ("dump",), ("diagram",)])
def test_many_unfinished_calls_and_goaways_end_by_goaway(tmp_path, command):
    path = hostile.unfinished_calls_goaways(str(tmp_path / "goaway.pcap"), calls=200)
    got = _run(command[0], path, *command[1:])
    assert got.returncode == 0 and "internal error" not in got.stderr, got.stderr
    if command[0] == "rpcs":
        assert "ended by goaway" in got.stdout


def test_settings_churn_keeps_the_windows_right(tmp_path):
    path = hostile.settings_churn(str(tmp_path / "churn.pcap"), changes=300, streams=100)
    session = CaptureLoader(path).load()
    conn = session.connections[0]
    last = conn.settings_server.get(4, conn.settings_client.get(4))
    assert last is not None
    assert {conn.initial_window_client, conn.initial_window_server} & {last}


def test_past_the_kept_messages_a_call_counts_the_rest(tmp_path, monkeypatch):
    """A DATA frame of zeros is a run of empty gRPC messages: past MESSAGES_KEPT they are
    counted, not kept, and the call says so."""
    from inspector.rpc import messages

    monkeypatch.setattr(messages, "MESSAGES_KEPT", 1000)
    path = hostile.big_data_frame(str(tmp_path / "zeros.pcap"), size=50_000, mss=1448)
    [call] = CaptureLoader(path).load().calls.calls
    assert call.request_count == 10_000 and len(call.requests) == 1000
    assert "9000 more request messages past the first 1,000 are counted, not kept" in call.problems
