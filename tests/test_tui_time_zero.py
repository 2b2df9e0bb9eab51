"""One zero for every view: the capture's first packet (here the TCP handshake, which carries no
HTTP/2 frame), not the first frame, in the list, the ladder, the connection view and the detail;
a live proxy session's zero is its recording's first packet."""

from __future__ import annotations

import asyncio
import struct
import subprocess
from pathlib import Path

import pytest
from conftest import CAPTURES

from inspector.capture.load import CaptureLoader
from inspector.http2.frames import CLIENT_PREFACE as PREFACE
from inspector.proxy.live_source import LiveSource
from inspector.proxy.recorder import PcapngRecorder
from inspector.rpc.status import format_duration
from inspector.tls.keylog import KeyLog
from inspector.tui.app import App
from inspector.tui.describe import frame_detail

CLASSIC_PCAPS = sorted(p.name for p in CAPTURES.glob("*.pcap"))


def first_packet_time(path: Path) -> float:
    """The first record's timestamp, read from the pcap file's own bytes (not through h2inspect)."""
    data = path.read_bytes()
    magic = data[:4]
    order = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    seconds, fraction = struct.unpack_from(order + "II", data, 24)
    return seconds + fraction / (1e9 if nano else 1e6)


def _rows(widget) -> list[str]:  # type: ignore[no-untyped-def]
    return [widget.row_text(i) for i in range(widget.count)]


@pytest.mark.parametrize("name", CLASSIC_PCAPS)
def test_the_sessions_zero_is_the_first_packet_even_when_it_carries_no_frame(name):
    path = CAPTURES / name
    keys = CAPTURES / "curl-tls.keys"
    keylog = KeyLog.parse(keys.read_text()) if "tls" in name else None  # so that its frames are read
    session = CaptureLoader(str(path), keylog=keylog).load()
    start = first_packet_time(path)
    assert len(session.frames)
    assert session.start == pytest.approx(start, abs=1e-6)
    assert session.time_zero() == session.start
    assert session.frames.time[0] > session.start  # the handshake came first, and has no frame


def test_every_view_counts_from_the_first_packet():
    path = CAPTURES / "grpc-unary.pcap"
    start = first_packet_time(path)

    async def scenario() -> None:
        loader = CaptureLoader(str(path))
        app = App(loader.session, loader)
        async with app.run_test(size=(170, 45)) as pilot:
            while not app.loaded:
                await pilot.pause(0.05)
            await pilot.pause(0.1)
            log = app.session.frames
            first = log.time[0] - start
            assert first > 0.0005  # this capture's first frame comes well after its first packet

            app.jump(0, None)  # the connection view: its first row is the connection's first frame
            rows = _rows(app.frame_view)
            assert rows[0].split()[0] == f"{first:.6f}"
            assert all(not row.split()[0].startswith("0.000000") for row in rows)
            await pilot.press("l")  # the same zero on the connection's ladder
            assert app.ladder
            assert _rows(app.frame_view)[0].split()[0] == f"{first:.6f}"
            await pilot.press("l")

            app.jump(0, 1)  # a stream's view keeps the capture's zero, not the stream's
            frames = app.frame_view.frames
            assert _rows(app.frame_view)[0].split()[0] == f"{log.time[frames[0]] - start:.6f}"
            await pilot.press("l")
            assert _rows(app.frame_view)[-1].split()[0] == f"{log.time[frames[-1]] - start:.6f}"

            # the detail says when the frame under the cursor came, from the same zero
            frame = app.frame_view.current_frame()
            assert frame is not None
            assert f"time {log.time[frame] - start:.6f} s since capture start" in app.detail_text()
            stream_start = log.time[frames[0]]
            assert f"{log.time[frame] - stream_start:.6f} s into stream 1" in app.detail_text()

    asyncio.run(scenario())


def test_the_detail_of_a_frame_gives_its_time_since_capture_start_in_both_languages():
    path = CAPTURES / "grpc-errors.pcap"
    session = CaptureLoader(str(path)).load()
    start = first_packet_time(path)
    frame = session.frames[len(session.frames) - 1]
    since = f"{frame.time - start:.6f}"
    assert f"time {since} s since capture start" in frame_detail(session, frame).head[1]
    assert f"キャプチャ開始から {since} 秒" in frame_detail(session, frame, "ja").head[1]


@pytest.mark.peers
def test_the_time_column_equals_tsharks_time_since_the_first_packet():
    path = CAPTURES / "grpc-unary.pcap"
    out = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "frame.number",
                          "-e", "frame.time_relative"], capture_output=True, text=True, check=True).stdout
    relative = {int(n): float(t) for n, t in (line.split("\t") for line in out.splitlines())}

    async def scenario() -> None:
        loader = CaptureLoader(str(path))
        app = App(loader.session, loader)
        async with app.run_test(size=(170, 45)) as pilot:
            while not app.loaded:
                await pilot.pause(0.05)
            app.jump(0, None)
            await pilot.pause(0.1)
            log = app.session.frames
            rows = _rows(app.frame_view)
            assert len(rows) == len(log)
            for row, frame in zip(rows, app.frame_view.frames, strict=True):
                assert float(row.split()[0]) == pytest.approx(relative[log.packet[frame]], abs=2e-6), row

    asyncio.run(scenario())


def test_a_proxy_sessions_zero_is_its_recordings_first_packet(tmp_path):
    recording = tmp_path / "live.pcapng"
    source = LiveSource(PcapngRecorder.open(str(recording)), name="proxy")
    live = source.open(("127.0.0.1", 40000), ("127.0.0.1", 8080), time=1000.25)  # the handshake
    source.data(live, True, PREFACE + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00", 1000.75)  # SETTINGS
    while source.decode(1.0):
        pass
    source.recorder.close()
    assert source.session.start == 1000.25
    assert source.session.frames.time[0] == 1000.75
    again = CaptureLoader(str(recording)).load()  # the recording opened later: the same zero
    assert again.start == pytest.approx(1000.25, abs=1e-6)


def test_the_stream_lists_duration_runs_from_the_streams_first_frame_to_its_last():
    """A duration is a span on the same clock: the zero moves nothing in it (1.15 ms here: the
    request's HEADERS at 1.880 ms since capture start, the trailers at 3.035 ms)."""
    path = CAPTURES / "grpc-unary.pcap"

    async def scenario() -> None:
        session = CaptureLoader(str(path)).load()
        app = App(session, None)
        async with app.run_test(size=(200, 50)) as pilot:  # wide: the list shows its details
            await pilot.pause(0.1)
            log = session.frames
            own = session.stream_frames.of(0, 1)
            span = log.time[own[-1]] - log.time[own[0]]
            assert 0.001 < span < 0.0013
            streams = app.query_one("#streams")
            row = next(streams.row_text(i) for i in range(streams.count) if streams.entries[i] == (0, 1))
            assert row.rstrip().endswith(format_duration(span)), row
            start = first_packet_time(path)
            assert _rows(app.frame_view)[0].split()[0] == f"{log.time[own[0]] - start:.6f}"

    asyncio.run(scenario())
