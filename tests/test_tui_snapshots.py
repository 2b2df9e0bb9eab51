"""Snapshot tests: what a person sees is a reviewed change. Update with
`pytest tests/test_tui_snapshots.py --snapshot-update` and review the SVGs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

APP = str(Path(__file__).parent / "snapshot_apps" / "open_capture.py")


@pytest.fixture
def capture(monkeypatch):
    def use(name: str) -> None:
        monkeypatch.setenv("H2INSPECT_SNAPSHOT_CAPTURE", name)
    return use


def test_stream_list_and_timeline(snap_compare, capture):
    capture("curl-h2c-prior-knowledge.pcap")
    assert snap_compare(APP, terminal_size=(170, 45))


def test_frame_detail_of_response_headers(snap_compare, capture):
    capture("curl-h2c-prior-knowledge.pcap")

    async def select(pilot):
        pilot.app.query_one("#timeline").focus()
        await pilot.press("j")

    assert snap_compare(APP, terminal_size=(170, 45), run_before=select)


def test_connection_view_with_server_push(snap_compare, capture):
    capture("nghttp-server-push.pcap")

    async def connection(pilot):
        await pilot.press("c")

    assert snap_compare(APP, terminal_size=(170, 45), run_before=connection)


def test_unary_grpc_timeline(snap_compare, capture):
    capture("grpc-unary.pcap")
    assert snap_compare(APP, terminal_size=(170, 45))


def test_bidi_streaming_grpc_timeline(snap_compare, capture):
    capture("grpc-bidi-streaming.pcap")
    assert snap_compare(APP, terminal_size=(170, 45))


def test_help_screen(snap_compare, capture):
    capture("curl-h2c-upgrade.pcap")
    assert snap_compare(APP, terminal_size=(170, 45), press=["question_mark"])


assert os  # the env var above selects the capture in the app module
