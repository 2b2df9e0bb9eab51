"""The real `h2inspect open` in a terminal (tmux): read the screen, press keys, quit cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

from conftest import CAPTURES


def _screen(name: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-t", name, "-p"], capture_output=True, text=True).stdout


def _wait_for(name: str, text: str, timeout: float = 20) -> str:
    deadline = time.time() + timeout
    screen = ""
    while time.time() < deadline:
        screen = _screen(name)
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")


def test_open_in_a_real_terminal_shows_streams_and_quits_on_q(tmp_path):
    name = f"h2i-{uuid.uuid4().hex[:8]}"
    done = tmp_path / "exit-status"
    capture = CAPTURES / "nghttp-server-push.pcap"
    command = f"{sys.executable} -m inspector open {capture}; echo $? > {done}"
    env = dict(os.environ, TERM="xterm-256color")
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "170", "-y", "45", command], check=True, env=env)
    try:
        screen = _wait_for(name, "loaded")
        assert "1 connections" in screen and "19 frames" in screen
        assert "GET /index.html" in screen and "pushed GET /style.css" in screen
        subprocess.run(["tmux", "send-keys", "-t", name, "G"], check=True)  # the last stream: 13
        screen = _wait_for(name, "stream 13 of connection 0")
        assert "PUSH_PROMISE" in screen
        subprocess.run(["tmux", "send-keys", "-t", name, "?"], check=True)
        _wait_for(name, "h2inspect — keys")
        subprocess.run(["tmux", "send-keys", "-t", name, "Escape"], check=True)
        time.sleep(0.3)
        subprocess.run(["tmux", "send-keys", "-t", name, "q"], check=True)
        deadline = time.time() + 10
        while not done.exists() and time.time() < deadline:
            time.sleep(0.1)
        assert done.read_text().strip() == "0"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
