"""`h2inspect tutorial STYLE --headless` with real grpcio peers through the real proxy:
the frame sequence a learner must see, per style, read from the printed timeline."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass

import pytest

pytestmark = pytest.mark.peers  # real peers or tools (tshark, nghttpd, curl, grpcio, tmux): see conftest.py

STEP = re.compile(r"^\s+(?:step|ステップ)\s+\d+\s+[+-][\d.]+ ms\s+(?P<dir>\S+ ──▶|◀── \S+)\s+(?P<type>[A-Z_]+)\s+"
                  r"(?:stream|ストリーム) (?P<stream>\d+)\s+(?:flags|フラグ) (?P<flags>.*?)\s+(?P<length>\d+) B$")
CALL = re.compile(r"^(?:call|呼び出し) (?P<number>\d+): (?P<method>\S+)")


@dataclass
class Frame:
    client: bool
    type: str
    stream: int
    flags: str
    length: int
    what: str  # the line saying what the frame is

    @property
    def end_stream(self) -> bool:
        return "END_STREAM" in self.flags


def tutorial(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "inspector", "tutorial", *args, "--headless"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


def calls(output: str) -> list[list[Frame]]:
    """The frames printed under each `call N:` heading (the connection preamble is skipped)."""
    out: list[list[Frame]] = []
    lines = output.splitlines()
    for n, line in enumerate(lines):
        if CALL.match(line):
            out.append([])
        m = STEP.match(line)
        if m and out:
            what = lines[n + 2].strip()  # step line, header bytes, then what it is
            out[-1].append(Frame(not m["dir"].startswith("◀"), m["type"], int(m["stream"]), m["flags"],
                                 int(m["length"]), what))
    return out


def work(frames: list[Frame]) -> list[Frame]:
    """HEADERS, DATA and RST_STREAM: the frames that carry the call (flow control aside)."""
    return [f for f in frames if f.type in ("HEADERS", "DATA", "RST_STREAM")]


def shape(frames: list[Frame]) -> list[str]:
    return [f"{'C' if f.client else 'S'} {f.type}{' ES' if f.end_stream else ''}" for f in work(frames)]


def test_unary_is_one_stream_with_five_frames():
    [call] = calls(tutorial("unary"))
    assert {f.stream for f in call} == {1}
    assert shape(call) == ["C HEADERS", "C DATA ES", "S HEADERS", "S DATA", "S HEADERS ES"]
    frames = work(call)
    assert frames[0].what.startswith("request headers")
    assert frames[2].what.startswith("response headers: :status 200")
    assert frames[4].what.startswith("trailers: grpc-status 0 (OK)")


def test_server_streaming_sends_several_data_frames_before_the_trailers():
    [call] = calls(tutorial("server-streaming"))
    assert {f.stream for f in call} == {1}
    frames = work(call)
    server_data = [f for f in frames if not f.client and f.type == "DATA"]
    assert len(server_data) >= 2
    assert not any(f.end_stream for f in server_data)
    assert shape(call)[-1] == "S HEADERS ES" and "grpc-status 0" in frames[-1].what
    assert frames.index(server_data[-1]) < len(frames) - 1
    assert [f.what for f in server_data][:3] == [f"DATA: response message #{n} ({server_data[n - 1].length - 5} B)"
                                                 for n in (1, 2, 3)]


def test_client_streaming_sets_end_stream_only_on_its_last_data_frame():
    [call] = calls(tutorial("client-streaming"))
    client_data = [f for f in work(call) if f.client and f.type == "DATA"]
    assert len(client_data) >= 3
    assert [f.end_stream for f in client_data] == [False] * (len(client_data) - 1) + [True]
    assert shape(call)[-3:] == ["S HEADERS", "S DATA", "S HEADERS ES"]
    # every request DATA frame comes before the server's one response message
    first_response = next(i for i, f in enumerate(work(call)) if not f.client and f.type == "DATA")
    assert all(work(call).index(f) < first_response for f in client_data)


def test_bidi_interleaves_request_and_response_data_on_one_stream():
    ping_pong, after_all = calls(tutorial("bidi-streaming"))
    assert {f.stream for f in ping_pong} == {1} and {f.stream for f in after_all} == {3}
    kinds = "".join(("C" if f.client else "S") for f in work(ping_pong) if f.type == "DATA" and f.length)
    assert sorted(kinds) == list("CCCSSS")
    assert re.search("C+S+C+S", kinds), kinds  # answers come back between requests
    # the server's HEADERS went out before any request DATA
    assert shape(ping_pong)[:3] == ["C HEADERS", "S HEADERS", "C DATA"]
    # answer after all: every response DATA after the client's END_STREAM
    frames = work(after_all)
    end = next(i for i, f in enumerate(frames) if f.client and f.end_stream)
    responses = [i for i, f in enumerate(frames) if not f.client and f.type == "DATA"]
    assert len(responses) == 3 and min(responses) > end
    assert shape(after_all)[-1] == "S HEADERS ES"


def test_errors_show_trailers_only_a_deadline_and_a_cancellation():
    trailers_only, deadline, cancel = calls(tutorial("errors"))
    assert shape(trailers_only) == ["C HEADERS", "C DATA ES", "S HEADERS ES"]
    assert work(trailers_only)[-1].what.startswith("Trailers-Only response: grpc-status 5 (NOT_FOUND)")
    resets = [f for f in work(deadline) if f.type == "RST_STREAM" and f.client]
    assert resets and resets[0].what.startswith("RST_STREAM CANCEL")
    frames = work(cancel)
    assert sum(1 for f in frames if not f.client and f.type == "DATA") >= 3
    assert any(f.client and f.type == "RST_STREAM" and "CANCEL" in f.what for f in frames)
    assert not any(f.what.startswith("trailers") for f in frames)


def test_flow_control_waits_for_window_update():
    output = tutorial("flow-control")
    [call] = calls(output)
    exhausted = output.index("window is used up")
    assert "WINDOW_UPDATE" in output[exhausted:]
    server_data = [f for f in call if not f.client and f.type == "DATA"]
    assert sum(f.length for f in server_data) > 300_000
    after = call.index(server_data[0])
    assert any(f.type == "WINDOW_UPDATE" and f.client for f in call[after:])


def test_japanese_shows_the_same_frames_in_japanese():
    [call] = calls(tutorial("unary", "--lang", "ja"))
    assert shape(call) == ["C HEADERS", "C DATA ES", "S HEADERS", "S DATA", "S HEADERS ES"]
    frames = work(call)
    assert frames[0].what.startswith("リクエストヘッダー")
    assert frames[-1].what.startswith("トレーラー：grpc-status 0")


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_phrase_exists_in_both_languages_with_the_same_placeholders(lang):
    from string import Formatter

    from inspector.tutorial.phrases import EN, PHRASES

    table = PHRASES[lang]
    assert table.keys() == EN.keys()
    for key, text in EN.items():
        fields = {f for _, f, _, _ in Formatter().parse(text) if f}
        assert {f for _, f, _, _ in Formatter().parse(table[key]) if f} == fields, key


@pytest.mark.parametrize("args", [["--record", "/nonexistent/dir/x.pcapng"], ["--capture", "/nonexistent.pcap"],
                                  ["--capture", "captures/grpc-unary.pcap", "--no-such-option"]])
def test_bad_tutorial_input_is_one_line_and_exit_2(args):
    proc = subprocess.run([sys.executable, "-m", "inspector", "tutorial", "unary", "--headless", *args],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
