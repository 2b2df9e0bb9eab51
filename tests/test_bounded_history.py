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
from clikit import h2inspect, h2inspect_here

from inspector.capture.live import LiveInput
from inspector.capture.load import CaptureLoader
from inspector.capture.reader import CaptureReader
from inspector.model import History, Session

sys.path.insert(0, str(Path(__file__).parent))
import hostile  # noqa: E402
import memkit  # noqa: E402

LIMIT, CHUNK, BATCH = 1000, 250, 40  # frames kept, dropped at a time; packets a batch
# the tests of the module's captures on one xdist worker: they are made once (a second of making)
CAPTURES_ONCE = pytest.mark.xdist_group("bounded-history")


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Traffic several times the limit: GETs with unique request ids; unary gRPC calls one after
    another; gRPC calls all opened before any is answered (findings, calls open across drops)."""
    where = tmp_path_factory.mktemp("history")
    made = {"ids": where / "ids.pcap", "grpc": where / "grpc.pcap", "interleaved": where / "interleaved.pcap",
            "connections": where / "connections.pcap"}
    memkit.write_pcap(str(made["ids"]), memkit.calls_with_request_ids(3000, unique=True))
    # two connections one after the other: the second begins after frames of the first were dropped
    first = memkit.write_pcap(str(where / "first.pcap"), memkit.calls_with_request_ids(1500, unique=True))
    second = memkit.write_pcap(str(where / "second.pcap"), memkit.calls_with_request_ids(1500, unique=True),
                               client_port=40001)
    made["connections"].write_bytes(Path(first).read_bytes() + Path(second).read_bytes()[24:])
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


@CAPTURES_ONCE
@pytest.mark.parametrize("name", ["ids", "grpc", "interleaved", "connections"])
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


@CAPTURES_ONCE
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


@CAPTURES_ONCE
@pytest.mark.parametrize(("name", "command"), [
    ("ids", ["dump", "--format", "jsonl"]),
    ("ids", ["dump"]),
    ("grpc", ["dump"]),
    ("grpc", ["rpcs", "--format", "jsonl"]),
    ("interleaved", ["rpcs", "--format", "jsonl"]),
    ("interleaved", ["check", "--format", "jsonl"]),  # (in batches of 5,000 packets: all of it is one)
    ("ids", ["check", "--format", "jsonl"]),
    ("connections", ["check", "--format", "jsonl"]),
    ("connections", ["dump", "--format", "jsonl"]),
    ("interleaved", ["dump", "--format", "jsonl"]),
])
def test_what_a_live_command_prints_is_the_same_with_a_bounded_history(captures, name, command):
    """(The command's main in this process, a pipe on its standard input: the real command's
    output and exit status with a bounded history are the next test's.)"""
    data = captures[name].read_bytes()
    kept_all = h2inspect_here(*command, "-", "--history", "all", stdin=data)
    bounded = h2inspect_here(*command, "-", "--history", str(LIMIT), stdin=data)
    assert kept_all.returncode == bounded.returncode and kept_all.returncode in (0, 1), bounded.stderr
    assert bounded.stdout == kept_all.stdout
    assert bounded.stdout or command[0] == "check"  # (a clean capture: no finding to print)
    said = [line for line in bounded.stderr.splitlines() if "history:" in line]
    if (name, command[0]) != ("interleaved", "check"):
        assert len(said) == 1 and "earlier dropped (--history 1000)" in said[0], bounded.stderr
    others = [line for line in bounded.stderr.splitlines() if "history:" not in line]
    assert others == kept_all.stderr.splitlines()


@CAPTURES_ONCE
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


@CAPTURES_ONCE
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


@CAPTURES_ONCE
def test_the_tui_on_a_live_source_says_what_it_dropped_and_never_stands_on_a_dropped_frame(captures):
    """The cursor's frame, its stream and the findings' frames are dropped while the user looks:
    the status line says so in words, Enter on such a finding and `:f` to such a frame say
    it was dropped, and the app goes on."""
    import asyncio
    import threading

    from inspector.tui.app import App

    data = captures["interleaved"].read_bytes()
    read_end, write_end = os.pipe()
    first_part = len(data) // 8
    os.write(write_end, data[:first_part])
    loader = CaptureLoader("stdin", reader=CaptureReader.streaming(LiveInput(read_end), "stdin"))
    loader.session.history = History(LIMIT, CHUNK)
    session = loader.session
    app = App(session, loader)
    closed: list[bool] = []

    def status() -> str:
        return str(app.query_one("#status").render())

    async def until(pilot, condition, what: str) -> None:  # type: ignore[no-untyped-def]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while not condition():
            assert loop.time() < deadline, f"timed out waiting for {what}: {status()}"
            await pilot.pause(0.05)

    async def scenario() -> None:
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: app.frame_view.count > 0, "the first rows")
            view = app.frame_view
            view.action_jump(0)
            looked_at = view.current_frame()
            assert looked_at is not None
            finding_frame = next(f.frame for f in session.findings if f.frame is not None)

            def rest() -> None:
                os.write(write_end, data[first_part:])
                os.close(write_end)
                closed.append(True)

            writer = threading.Thread(target=rest)
            writer.start()
            await until(pilot, lambda: app.loaded, "the end of the pipe")
            writer.join()
            base = session.frames.base
            assert base > looked_at and base > finding_frame
            await until(pilot, lambda: "earlier dropped" in status(), "the words on what was dropped")
            assert f"showing the last {len(session.frames) - base} frames, {base} earlier dropped" in status()
            current = app.frame_view.current_frame()
            assert current is None or current >= base
            assert app.detail_view.frame is None or app.detail_view.frame >= base
            await pilot.press("colon", *f"f{looked_at}", "enter")
            assert f"frame {looked_at} was dropped" in status()
            await pilot.press("p")
            await pilot.pause()
            problems = app.screen
            assert problems.__class__.__name__ == "ProblemsScreen"
            await pilot.press("enter")  # the group
            await pilot.press("enter")  # its first finding, on a dropped frame
            await until(pilot, lambda: app.screen is not problems, "the problems view to close")
            assert "dropped from the live history" in status()
            await pilot.press("q")
    try:
        asyncio.run(scenario())
        app.finish_live()
    finally:
        if not closed:
            os.close(write_end)
        os.close(read_end)


@pytest.mark.peers
@pytest.mark.timeout(180)
def test_the_proxy_under_h2load_keeps_its_history_and_prints_every_frame(tmp_path, peers):
    """h2load through the proxy with a small --history: every frame is still printed as it passes
    (numbered as in the recording, which has everything), and what the model kept when it stopped
    (its closing line) is bounded by the history, not by the 6,000 requests."""
    import re

    from proxykit import nghttpd, proxy, require, run, stopped_cleanly

    require("h2load")
    www = tmp_path / "www"
    www.mkdir()
    (www / "small.bin").write_bytes(os.urandom(100))
    record = tmp_path / "run.pcapng"
    with nghttpd(www) as port, proxy(tmp_path, f"127.0.0.1:{port}", "--history", "300",
                                     "--record", str(record)) as p:
        out = run(["h2load", "-n", "6000", "-c", "2", "-m", "10", f"{p.url}/small.bin"]).stdout.decode()
        assert "6000 succeeded" in out, out
        p.wait_for(lambda r: sum(1 for f in r.frames() if f.get("role") == "response") >= 6000, timeout=90)
        p.stop()
    assert stopped_cleanly(p), p.stderr()
    printed = p.frames()
    said = re.search(r"history: showing the last (\d+) frames, (\d+) earlier dropped \(--history 300\); "
                     r"kept (\d+) streams, (\d+) header blocks, (\d+) gRPC calls", p.stderr())
    assert said, p.stderr()
    kept, dropped, streams, blocks, _ = map(int, said.groups())
    assert kept + dropped == len(printed) > 18_000
    assert kept <= 300 + 1000 + len(printed) // 20  # the limit, a chunk, and one decoding slice at most
    assert streams <= kept and blocks <= kept
    recorded = h2inspect("dump", str(record), "--format", "jsonl")
    assert recorded.returncode == 0, recorded.stderr
    keys = ("packet", "conn", "stream_id", "type", "flags", "length")
    assert [tuple(f[k] for k in keys) for f in printed] == \
        [tuple(json.loads(line)[k] for k in keys) for line in recorded.stdout.splitlines()]
