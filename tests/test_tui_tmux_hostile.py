"""The real `h2inspect open` in a terminal (tmux) on hostile captures of issue 19.

On input that takes seconds to decode, the first screen comes while it decodes and
the keys are answered meanwhile (a key changes the screen and "loading" is still
shown after it), and `q` quits with exit 0 before the capture has loaded. On a
pcapng of two sections in different byte orders the calls of both are shown, and a
DATA frame of the second section reads its payload back. The inputs come from
tests/hostile.py, at sizes that froze the TUI before (bench/bench_hostile.py --tui
measures the time to the first screen on the same inputs).
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import hostile
import pytest
from conftest import ROOT
from proxykit import require
from tmuxkit import exit_status, keys, screen, terminal, wait_for

pytestmark = pytest.mark.peers  # tmux, a real terminal (see conftest.py)

COMMAND = f"PYTHONPATH={shlex.quote(str(ROOT))} {shlex.quote(sys.executable)} -m inspector open"
LOADING = re.compile(r"· loading \d+%")  # the status line while the capture decodes
# Big enough to take seconds to decode on any machine (the old TUI never drew on either):
# 16 MiB of unframed bytes in 1448-byte segments, and INITIAL_WINDOW_SIZE changed 300,000
# times with 10,000 streams open, in 64 KB segments (each batch of packets a flood of frames).
HOSTILE_INPUTS = {
    "ff-after-preface": lambda path: hostile.unframed_after_preface(path, size=16 << 20),
    "settings-churn": lambda path: hostile.settings_churn(path, changes=300_000, streams=10_000),
}


def _status(shown: str) -> str:
    return shown.splitlines()[0] if shown else ""


@pytest.mark.parametrize("name", sorted(HOSTILE_INPUTS))
def test_first_screen_and_keys_while_a_hostile_capture_decodes_then_q_quits(tmp_path: Path, name: str) -> None:
    require("tmux")
    capture = HOSTILE_INPUTS[name](str(tmp_path / f"{name}.pcap"))
    done = tmp_path / "exit-status"
    with terminal(f"{COMMAND} {capture}", done, cwd=ROOT) as term:
        shown = wait_for(term, "· loading ", timeout=60)
        assert f"{name}.pcap" in _status(shown) and LOADING.search(_status(shown)), shown
        assert "time since capture start" in shown
        keys(term, "t")  # the time column's mode: the frame view's header says which
        shown = wait_for(term, "time since the stream's first frame", timeout=60)
        assert LOADING.search(_status(shown)), f"the key was only answered once loading ended:\n{shown}"
        keys(term, "q")
        status = exit_status(done, timeout=60)
        last = screen(term)
        assert status == "0", last
        assert "· loaded" not in last


def test_two_section_pcapng_in_both_byte_orders_shows_its_calls(tmp_path: Path) -> None:
    require("tmux")
    # Little-endian Ethernet in microseconds, then big-endian raw IP in nanoseconds.
    capture = hostile.two_section_pcapng(str(tmp_path / "two-sections.pcapng"), calls=4, second_link="raw")
    done = tmp_path / "exit-status"
    with terminal(f"{COMMAND} {capture}", done, cwd=ROOT) as term:
        shown = wait_for(term, "· loaded", timeout=60)
        assert "1 connections · 24 frames · no findings" in _status(shown), shown
        rows = [line for line in shown.splitlines() if "/demo.Demo/Unary grpc OK" in line]
        assert [row.split()[0] for row in rows] == ["1", "3", "5", "7"], shown
        keys(term, ":")
        wait_for(term, "go to: a stream")
        keys(term, "f22", "Enter")  # the last call's response DATA, packet 13: in the big-endian section
        shown = wait_for(term, "went to frame 22")
        assert "DATA frame (type 0x00) from the server, stream 7, 12 bytes, packet 13, frame 22" in shown
        assert "response #1: 7 bytes, frames [22]" in shown and "1: 'hello'" in shown, shown
        assert "00 00 00 00 07 0a 05 68 65 6c 6c 6f" in shown, shown
        keys(term, "q")
        assert exit_status(done, timeout=30) == "0", screen(term)
