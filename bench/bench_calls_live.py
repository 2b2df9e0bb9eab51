#!/usr/bin/env python3
"""Keeping a live session's gRPC calls current: the cost per batch must follow the batch,
not everything seen before it.

Feeds the proxy's live source (in-process, no sockets: the relay's side of it) with
gRPC unary calls on one connection, 100,000 frames in all, decodes them in batches of
1,000 frames and, after each batch, times `session.calls` catching up (what the TUI
and `proxy --headless` ask for). Prints the first and the last batches' times and
their ratio. Target: the last 1,000 frames within 2x of the first 1,000.

    python bench/bench_calls_live.py [--frames 100000] [--batch 1000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import hpack  # noqa: E402
from hyperframe.frame import DataFrame, HeadersFrame, SettingsFrame  # noqa: E402

from inspector.proxy.live_source import LiveSource  # noqa: E402
from inspector.proxy.recorder import PcapngRecorder  # noqa: E402

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
FRAMES_PER_CALL = 5  # request HEADERS, request DATA, response HEADERS, response DATA, trailers


def _call(sid: int, client: hpack.Encoder, server: hpack.Encoder) -> tuple[bytes, bytes]:
    request = HeadersFrame(sid, client.encode([(":method", "POST"), (":scheme", "http"), (":path", "/t.S/U"),
                                               (":authority", "bench"), ("content-type", "application/grpc"),
                                               ("te", "trailers"), ("x-request-id", f"req-{sid}")]),
                           flags=["END_HEADERS"]).serialize()
    request += DataFrame(sid, b"\x00\x00\x00\x00\x05hello", flags=["END_STREAM"]).serialize()
    response = HeadersFrame(sid, server.encode([(":status", "200"), ("content-type", "application/grpc")]),
                            flags=["END_HEADERS"]).serialize()
    response += DataFrame(sid, b"\x00\x00\x00\x00\x05world").serialize()
    response += HeadersFrame(sid, server.encode([("grpc-status", "0")]),
                             flags=["END_HEADERS", "END_STREAM"]).serialize()
    return request, response


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}")
    source = LiveSource(PcapngRecorder(None))
    live = source.open(("127.0.0.1", 40000), ("127.0.0.1", 50051), time=1.0)
    client, server = hpack.Encoder(), hpack.Encoder()
    source.data(live, True, PREFACE + SettingsFrame(0).serialize(), 1.0)
    source.data(live, False, SettingsFrame(0).serialize(), 1.0)
    session = source.session
    calls_needed = args.frames // FRAMES_PER_CALL
    per_batch = max(1, args.batch // FRAMES_PER_CALL)
    times: list[float] = []
    frames_at: list[int] = []
    sid = 1
    clock = 2.0
    for _ in range(0, calls_needed, per_batch):
        for _ in range(per_batch):
            request, response = _call(sid, client, server)
            source.data(live, True, request, clock)
            source.data(live, False, response, clock + 0.0001)
            sid += 2
            clock += 0.001
        while source.decode(10.0):
            pass
        start = time.perf_counter()
        calls = session.calls.calls  # what a view asks for after each batch
        times.append(time.perf_counter() - start)
        frames_at.append(len(session.frames))
    assert len(calls) == calls_needed - calls_needed % per_batch, (len(calls), calls_needed)
    assert all(c.grpc_status == 0 for c in calls[-per_batch:])
    first, last = statistics.median(times[:5]), statistics.median(times[-5:])
    print(f"{len(session.frames)} frames, {len(calls)} calls, batches of {per_batch * FRAMES_PER_CALL} frames")
    print(f"calls current after the first batches: {first * 1000:.2f} ms (median of 5)")
    print(f"calls current after the last batches:  {last * 1000:.2f} ms (median of 5)")
    print(f"last / first: {last / first:.2f} (target <= 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
