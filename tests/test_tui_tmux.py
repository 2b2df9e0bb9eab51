"""The real `h2inspect open` in a terminal (tmux): read the screen, press keys, quit cleanly."""

from __future__ import annotations

import shlex
import sys

import pytest
from conftest import CAPTURES, ROOT
from tmuxkit import exit_status, keys, screen, terminal, wait_for, wait_gone

pytestmark = pytest.mark.peers  # real peers or tools (tshark, nghttpd, curl, grpcio, tmux): see conftest.py

# The worktree's code, whatever the installed package points at.
COMMAND = f"PYTHONPATH={shlex.quote(str(ROOT))} {shlex.quote(sys.executable)} -m inspector open"


def test_open_in_a_real_terminal_shows_streams_and_quits_on_q(tmp_path):
    done = tmp_path / "exit-status"
    capture = CAPTURES / "nghttp-server-push.pcap"
    with terminal(f"{COMMAND} {capture}", done, cwd=ROOT) as name:
        shown = wait_for(name, "loaded")
        assert "1 connections" in shown and "19 frames" in shown
        assert "GET /index.html" in shown and "pushed GET /style.css" in shown
        keys(name, "G")  # the last stream: 13
        shown = wait_for(name, "stream 13 of connection 0")
        assert "PUSH_PROMISE" in shown
        keys(name, "?")
        wait_for(name, "h2inspect — keys")
        keys(name, "Escape")
        wait_gone(name, "h2inspect — keys")
        keys(name, "q")
        assert exit_status(done) == "0"


def _stream_rows(shown: str) -> list[str]:
    """The rows of stream 1's frames (list or ladder), without its WINDOW_UPDATE."""
    marks = ("C▶ 1 ", "◀S 1 ", "│─ ", "│◀")  # a list row's direction and stream, a ladder's arrow
    return [line for line in shown.splitlines() if ("HEADERS" in line or "DATA" in line)
            and "WINDOW_UPDATE" not in line and any(mark in line for mark in marks)]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_a_unary_call_reads_request_data_trailers_and_end_stream_in_list_and_ladder(tmp_path, size):
    done = tmp_path / "exit-status"
    with terminal(f"{COMMAND} {CAPTURES / 'grpc-unary.pcap'}", done, cwd=ROOT, size=size) as name:
        shown = wait_for(name, "stream 1 of connection 0")
        rows = _stream_rows(shown)
        assert len(rows) == 5, shown
        request, data, response, body, trailers = rows
        assert "HEADERS" in request and "request" in request and "END_STREAM" not in request
        assert "DATA" in data and "END_STREAM" in data
        assert "HEADERS" in response and "response" in response and "END_STREAM" not in response
        assert "DATA" in body and "END_STREAM" not in body
        assert "HEADERS" in trailers and "trailers" in trailers and "END_STREAM" in trailers
        assert all(len(line) <= size[0] for line in shown.splitlines())
        keys(name, "l")
        shown = wait_for(name, "ladder (l)")
        rows = _stream_rows(shown)
        assert len(rows) == 5, shown
        request, data, response, body, trailers = rows
        assert "│─ HEADERS request" in request and "▶│" in request
        assert "DATA request #1 END_STREAM" in data and "▶│" in data
        assert "│◀" in response and "HEADERS response" in response
        assert "│◀" in trailers and "HEADERS trailers END_STREAM" in trailers
        keys(name, "C-c")  # Ctrl-C quits, as README says
        assert exit_status(done) == "0", screen(name)
