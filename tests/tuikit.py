"""Captures for TUI tests that the shipped ones do not cover."""

from __future__ import annotations

import asyncio

import hpack
from pcapkit import (
    PREFACE,
    Conversation,
    DataFrame,
    GoAwayFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
    frame_bytes,
    headers_frames,
    write_capture,
)


def findings_capture(path: str) -> str:
    """A capture whose frames break rules: DATA on a closed stream, a reset, WINDOW_UPDATE of 0, GOAWAY."""
    ec, es = hpack.Encoder(), hpack.Encoder()
    request = [(":method", "GET"), (":scheme", "http"), (":authority", "api.example"), (":path", "/a")]
    conv = Conversation().handshake()
    conv.send(True, PREFACE + frame_bytes([SettingsFrame(0)] + headers_frames(1, request, ec, end_stream=True)))
    conv.send(False, frame_bytes([SettingsFrame(0), SettingsFrame(0, flags=["ACK"])]
                                 + headers_frames(1, [(":status", "200")], es)
                                 + [DataFrame(1, data=b"hello", flags=["END_STREAM"])]))
    conv.send(True, frame_bytes([SettingsFrame(0, flags=["ACK"])]
                                + headers_frames(3, request[:3] + [(":path", "/b")], ec, end_stream=True)))
    conv.send(False, frame_bytes([RstStreamFrame(3, error_code=8)]))
    conv.send(True, frame_bytes([DataFrame(1, data=b"late", flags=["END_STREAM"]), WindowUpdateFrame(0, 0)]))
    conv.send(False, frame_bytes([GoAwayFrame(0, last_stream_id=3, error_code=1)]))
    write_capture(path, conv.packets())
    return path


async def until(pilot, condition, what: str, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    """Let a Pilot app run until `condition()` holds (by the clock, not a count of pauses)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)
