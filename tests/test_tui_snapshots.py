"""Snapshot tests: what a person sees is a reviewed change. Every main screen (streams and the
list timeline, the ladder, the connection view as a ladder and as a list, the frame detail, the
problems view, help) at 80x24, 120x40 and 200x50. Update with `pytest tests/test_tui_snapshots.py --snapshot-update`
and review the SVGs."""

from __future__ import annotations

from pathlib import Path

import pytest

APP = str(Path(__file__).parent / "snapshot_apps" / "open_capture.py")
SIZES = [(80, 24), (120, 40), (200, 50)]


@pytest.fixture
def capture(monkeypatch):
    def use(name: str) -> None:
        monkeypatch.setenv("H2INSPECT_SNAPSHOT_CAPTURE", name)
    return use


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_streams_and_list_timeline_of_a_unary_call(snap_compare, capture, size):
    capture("grpc-unary.pcap")
    assert snap_compare(APP, terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_ladder_of_a_bidi_streaming_call(snap_compare, capture, size):
    capture("grpc-bidi-streaming.pcap")
    assert snap_compare(APP, terminal_size=size, press=["l"])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_connection_view_as_a_ladder_with_server_push(snap_compare, capture, size):
    capture("nghttp-server-push.pcap")
    assert snap_compare(APP, terminal_size=size, press=["c", "l"])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_connection_view_as_a_list_of_concurrent_calls(snap_compare, capture, size):
    capture("grpc-concurrent.pcap")
    assert snap_compare(APP, terminal_size=size, press=["c"])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_frame_detail_of_trailers(snap_compare, capture, size):
    capture("grpc-errors.pcap")

    async def select(pilot):
        pilot.app.query_one("#frames").focus()
        await pilot.press("G")

    assert snap_compare(APP, terminal_size=size, run_before=select)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_problems_view(snap_compare, capture, size):
    capture("findings")
    assert snap_compare(APP, terminal_size=size, press=["p"])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help_screen(snap_compare, capture, size):
    capture("curl-h2c-upgrade.pcap")
    assert snap_compare(APP, terminal_size=size, press=["question_mark"])
