"""The real `h2inspect open` in a terminal (tmux): read the screen, press keys, quit cleanly."""

from __future__ import annotations

import os
import pty
import re
import shlex
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import CAPTURES, ROOT
from tmuxkit import TMUX, exit_status, keys, screen, terminal, wait_for, wait_gone, wait_until, window_size

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


def _five_rows(shown: str) -> bool:
    return len(_stream_rows(shown)) == 5


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_a_unary_call_reads_request_data_trailers_and_end_stream_in_list_and_ladder(tmp_path, size):
    done = tmp_path / "exit-status"
    with terminal(f"{COMMAND} {CAPTURES / 'grpc-unary.pcap'}", done, cwd=ROOT, size=size) as name:
        # the rows, not only the title: a screen may be read between two writes of the app
        shown = wait_until(name, lambda s: "stream 1 of connection 0" in s and _five_rows(s), "stream 1's rows")
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
        shown = wait_until(name, lambda s: "ladder (l)" in s and _five_rows(s) and "▶│" in s, "the ladder's rows")
        rows = _stream_rows(shown)
        assert len(rows) == 5, shown
        request, data, response, body, trailers = rows
        assert "│─ HEADERS request" in request and "▶│" in request
        assert "DATA request #1 END_STREAM" in data and "▶│" in data
        assert "│◀" in response and "HEADERS response" in response
        assert "│◀" in trailers and "HEADERS trailers END_STREAM" in trailers
        keys(name, "C-c")  # Ctrl-C quits, as README says
        assert exit_status(done) == "0", screen(name)


def _status(shown: str) -> str:
    return shown.splitlines()[0] if shown else ""


def test_at_80x24_the_status_line_and_the_title_keep_the_deciding_words(tmp_path):
    done = tmp_path / "exit-status"
    capture = CAPTURES / "abuse" / "rapid-reset.pcap"
    with terminal(f"{COMMAND} {capture}", done, cwd=ROOT, size=(80, 24)) as name:
        shown = wait_for(name, "· loaded")
        status = _status(shown)
        assert "1 error, 1 warning (p)" in status and len(status) <= 80, shown
        keys(name, "Tab", "d", "e")  # the frames: from the client only, with END_STREAM only
        shown = wait_until(name, lambda s: "END_STREAM" in s and ("only" in s), "the filters in the title")
        title = next(line for line in shown.splitlines() if "of connection" in line or ", conn " in line)
        assert "filter: from client only, flag END_STREAM only" in title or "only client, ES" in title, shown
        assert re.search(r"\d+(/| of )\d+ frames", title), title
        keys(name, "Escape")  # clears the filters; waited for, or the next key would make it Alt+key
        wait_until(name, lambda s: not any("only" in line and "conn" in line for line in s.splitlines()),
                   "the filters cleared")
        keys(name, ":2001", "Enter")  # typed at once after the colon: it goes into the box
        shown = wait_for(name, "went to stream 2001")
        status = _status(shown)
        assert "loaded" in status and ("1 error, 1 warning" in status or "✖1 ▲1" in status), shown
        keys(name, "w")
        wait_for(name, "save stream 2001 of connection 0 as")
        # A binding (C-u) is run after the characters typed behind it (Textual): wait for the box to empty.
        keys(name, "C-u")
        wait_gone(name, "h2inspect-conn0-stream2001.pcapng")
        keys(name, f"{tmp_path}/saved-with-a-name-long-enough-to-be-cut-on-the-status-line.pcapng", "Enter")
        shown = wait_for(name, "pcapng)")  # the whole message, in a notification beside the cut line
        status = _status(shown)
        assert "loaded" in status and len(status) <= 80, shown
        assert status.endswith("…") or "saved" in status, shown
        assert (tmp_path / "saved-with-a-name-long-enough-to-be-cut-on-the-status-line.pcapng").exists()
        keys(name, "q")
        assert exit_status(done) == "0", screen(name)


def test_at_80x24_a_live_capture_says_live_and_its_drops(tmp_path):
    done = tmp_path / "exit-status"
    import contextlib
    import socket

    with socket.socket() as probe:  # a port nobody uses: the loopback's other traffic stays out
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with terminal(f"{COMMAND} -i lo -f 'tcp port {port}'", done, cwd=ROOT, size=(80, 24)) as name:
        def knock(shown: str) -> bool:
            """The drops are on the status line; until then, a refused connection to the port:
            tcpdump writes the capture's header (and the TUI starts) with the first packet."""
            if re.search(r"· (\d+|\?) drop", _status(shown)):
                return True
            with socket.socket() as client, contextlib.suppress(OSError):
                client.connect(("127.0.0.1", port))
            return False

        shown = wait_until(name, knock, "the drops on the status line")
        status = _status(shown)
        assert "· live ·" in status and len(status) <= 80, shown
        keys(name, "q")
        assert exit_status(done) == "0", screen(name)


@contextmanager
def _attached(name: str, size: tuple[int, int]) -> Iterator[None]:
    """A tmux client of another size attached to the session, as a person watching would be."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(TMUX[0], [*TMUX, "attach-session", "-t", name])
    termios.tcsetwinsize(fd, (size[1], size[0]))
    try:
        deadline = time.time() + 30
        while not subprocess.run([*TMUX, "list-clients", "-t", name], capture_output=True, text=True).stdout:
            assert time.time() < deadline, "the client never attached"
            os.read(fd, 65536) if _readable(fd) else time.sleep(0.05)
        yield
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)


def _readable(fd: int) -> bool:
    import select

    return bool(select.select([fd], [], [], 0.05)[0])


def test_the_window_keeps_its_size_when_a_client_of_another_size_attaches(tmp_path: Path):
    done = tmp_path / "exit-status"
    with terminal(f"{COMMAND} {CAPTURES / 'grpc-unary.pcap'}", done, cwd=ROOT, size=(80, 24)) as name:
        wait_for(name, "· loaded")
        with _attached(name, (132, 43)):
            assert window_size(name) == (80, 24)
            keys(name, "l")  # the app still draws at 80 columns after the client came
            shown = wait_for(name, "ladder (l)")
            assert all(len(line) <= 80 for line in shown.splitlines()) and len(shown.splitlines()) <= 24
        keys(name, "q")
        assert exit_status(done) == "0", screen(name)
