"""A live session's bounded history (`--history FRAMES`): past the limit the oldest frames go,
a chunk at a time, with the header blocks, closed streams and ended calls only they refer to;
frame numbers stay absolute, and what live commands print as frames arrive is the same as
with the whole history kept."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from clikit import h2inspect

from inspector.capture.live import LiveInput
from inspector.capture.load import CaptureLoader
from inspector.capture.reader import CaptureReader
from inspector.model import History, Session

sys.path.insert(0, str(Path(__file__).parent))
import hostile  # noqa: E402
import memkit  # noqa: E402

LIMIT, CHUNK, BATCH = 1000, 250, 40  # frames kept, dropped at a time; packets a batch


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Traffic several times the limit: GETs with unique request ids; unary gRPC calls one after
    another; gRPC calls all opened before any is answered (findings, calls open across drops)."""
    where = tmp_path_factory.mktemp("history")
    made = {"ids": where / "ids.pcap", "grpc": where / "grpc.pcap", "interleaved": where / "interleaved.pcap"}
    memkit.write_pcap(str(made["ids"]), memkit.calls_with_request_ids(3000, unique=True))
    hostile.capture(str(made["grpc"]), hostile.exchange(*hostile.unary_calls(2000, request_id=True)))
    hostile.capture(str(made["interleaved"]), hostile.exchange(*hostile.unary_calls(1200, interleave=True)))
    return made


def _live_loader(path: Path, history: History | None) -> CaptureLoader:
    """The capture read as a live source (standard input's path: spooled payloads, batches)."""
    fd = os.open(path, os.O_RDONLY)
    loader = CaptureLoader("stdin", reader=CaptureReader.streaming(LiveInput(fd), "stdin"))
    loader.session.history = history
    return loader


def _kept(session: Session) -> int:
    return len(session.frames) - session.frames.base


@pytest.mark.parametrize("name", ["ids", "grpc", "interleaved"])
def test_a_live_session_keeps_its_history_and_every_frame_keeps_its_number(captures, name):
    whole = CaptureLoader(str(captures[name])).load()
    loader = _live_loader(captures[name], History(LIMIT, CHUNK))
    session = loader.session
    before = 0
    most_streams = most_calls = 0
    for _ in loader.batches(batch=BATCH):
        added = len(session.frames) - before
        before = len(session.frames)
        # the limit, a chunk not dropped yet, and the frames of this batch (kept until views have seen them)
        assert _kept(session) <= LIMIT + CHUNK + added
        calls = session.calls  # the calls are read batch by batch, as `rpcs` and `check` do
        calls.update()
        most_streams = max(most_streams, sum(len(c.streams) for c in session.connections))
        most_calls = max(most_calls, len(calls._calls))
        assert all(i >= session.frames.base for i in calls.by_frame)
    assert len(session.frames) == len(whole.frames) > 5 * LIMIT
    assert session.frames.base > len(whole.frames) - 2 * LIMIT - CHUNK  # the oldest really went
    # each frame kept is the frame of that number in the whole capture (absolute numbers)
    for i in range(session.frames.base, len(session.frames)):
        assert session.frames[i] == whole.frames[i]
    blocks = session.header_blocks
    assert blocks.base > 0
    for i in range(blocks.base, len(blocks)):
        assert blocks[i] == whole.header_blocks[i]
    with pytest.raises(IndexError, match="dropped"):
        session.frames[session.frames.base - 1]  # noqa: B018  (a dropped frame is said to be one)
    # streams and calls kept: bounded by the history, not by what passed; open ones stay (the
    # interleaved calls are all open at once), and a closed one only while a frame of it is kept
    total_streams = sum(len(c.streams) for c in whole.connections)
    closed = [s for c in session.connections for s in c.streams.values() if s.state.label == "closed"]
    assert all(len(s.frames) for s in closed) and len(closed) <= _kept(session)
    if name != "interleaved":
        assert most_streams < total_streams / 2
    if name == "grpc":
        assert most_calls < len(whole.calls.calls) / 2


def test_open_calls_and_their_blocks_stay_while_their_old_frames_go(captures):
    """Every call of the interleaved capture opens before any is answered: the calls stay open
    while the frames of their requests are dropped, and each ends with its request's method."""
    loader = _live_loader(captures["interleaved"], History(LIMIT, CHUNK))
    session = loader.session
    ended: dict[int, str] = {}
    for _ in loader.batches(batch=BATCH):
        for call in session.calls.calls:
            if call.ended_by == "trailers":
                ended[call.stream_id] = call.method
    assert len(ended) == 1200
    assert set(ended.values()) == {"/demo.Demo/Unary"}


@pytest.mark.parametrize(("name", "command"), [
    ("ids", ["dump", "--format", "jsonl"]),
    ("ids", ["dump"]),
    ("grpc", ["dump"]),
    ("grpc", ["rpcs", "--format", "jsonl"]),
    ("interleaved", ["rpcs", "--format", "jsonl"]),
    ("interleaved", ["check", "--format", "jsonl"]),  # (in batches of 5,000 packets: all of it is one)
    ("ids", ["check", "--format", "jsonl"]),
    ("interleaved", ["dump", "--format", "jsonl"]),
])
def test_what_a_live_command_prints_is_the_same_with_a_bounded_history(captures, name, command):
    data = captures[name].read_bytes()
    kept_all = h2inspect(*command, "-", "--history", "all", stdin=data)
    bounded = h2inspect(*command, "-", "--history", str(LIMIT), stdin=data)
    assert kept_all.returncode == bounded.returncode and kept_all.returncode in (0, 1), bounded.stderr
    assert bounded.stdout == kept_all.stdout
    assert bounded.stdout or command[0] == "check"  # (a clean capture: no finding to print)
    said = [line for line in bounded.stderr.splitlines() if "history:" in line]
    if (name, command[0]) != ("interleaved", "check"):
        assert len(said) == 1 and "earlier dropped (--history 1000)" in said[0], bounded.stderr
    others = [line for line in bounded.stderr.splitlines() if "history:" not in line]
    assert others == kept_all.stderr.splitlines()


def test_the_last_frame_of_a_trimmed_dump_has_its_absolute_number(captures):
    data = captures["ids"].read_bytes()
    out = h2inspect("dump", "-", "--format", "jsonl", "--history", "1000", stdin=data)
    lines = out.stdout.splitlines()
    whole = CaptureLoader(str(captures["ids"])).load()
    assert len(lines) == len(whole.frames)
    said = next(line for line in out.stderr.splitlines() if "history:" in line)
    kept, dropped = (int(w) for w in said.split("showing the last ")[1].split(" earlier")[0]
                     .replace(" frames,", "").split())
    assert kept + dropped == len(whole.frames) and kept <= LIMIT + max(1000, LIMIT // 4)
    assert json.loads(lines[-1])["packet"] == whole.frames[len(whole.frames) - 1].packet


def test_history_on_a_capture_file_is_one_line_and_exit_2(captures):
    out = h2inspect("dump", str(captures["ids"]), "--history", "1000")
    assert out.returncode == 2
    assert out.stderr.splitlines() == ["h2inspect: --history is for a live source (-i, - or --follow); "
                                       "a capture file is read whole"]


@pytest.mark.parametrize("value", ["0", "-5", "lots"])
def test_a_history_that_is_not_a_count_is_one_line_and_exit_2(value):
    out = h2inspect("dump", "-", "--history", value, stdin=b"")
    assert out.returncode == 2
    assert len(out.stderr.splitlines()) == 1 and "--history" in out.stderr


def test_a_finished_capture_keeps_everything():
    session = CaptureLoader(str(Path(__file__).parent.parent / "captures" / "grpc-concurrent.pcap")).load()
    assert session.history is None and session.frames.base == 0 and session.header_blocks.base == 0
