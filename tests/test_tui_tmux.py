"""The real `h2inspect open` in a terminal (tmux): read the screen, press keys, quit cleanly."""

from __future__ import annotations

import sys
import time

import pytest
from conftest import CAPTURES
from tmuxkit import exit_status, keys, terminal, wait_for

pytestmark = pytest.mark.peers  # real peers or tools (tshark, nghttpd, curl, grpcio, tmux): see conftest.py


def test_open_in_a_real_terminal_shows_streams_and_quits_on_q(tmp_path):
    done = tmp_path / "exit-status"
    capture = CAPTURES / "nghttp-server-push.pcap"
    with terminal(f"{sys.executable} -m inspector open {capture}", done) as name:
        screen = wait_for(name, "loaded")
        assert "1 connections" in screen and "19 frames" in screen
        assert "GET /index.html" in screen and "pushed GET /style.css" in screen
        keys(name, "G")  # the last stream: 13
        screen = wait_for(name, "stream 13 of connection 0")
        assert "PUSH_PROMISE" in screen
        keys(name, "?")
        wait_for(name, "h2inspect — keys")
        keys(name, "Escape")
        time.sleep(0.3)
        keys(name, "q")
        assert exit_status(done) == "0"
