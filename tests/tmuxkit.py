"""The real command in a real terminal: tmux sessions, their screens, their exit status."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# A tmux server of this test run's own: sessions get this process's environment, not that of
# whichever process started the shared server (its COLUMNS, its TEXTUAL_* variables).
TMUX = ("tmux", "-L", f"h2inspect-tests-{os.getpid()}")


def screen(name: str) -> str:
    """What the terminal shows now."""
    return subprocess.run([*TMUX, "capture-pane", "-t", name, "-p"], capture_output=True, text=True).stdout


def window_size(name: str) -> tuple[int, int]:
    """The window's size in cells, as tmux keeps it."""
    shown = subprocess.run([*TMUX, "display-message", "-p", "-t", name, "#{window_width} #{window_height}"],
                           capture_output=True, text=True, check=True).stdout.split()
    return int(shown[0]), int(shown[1])


def wait_until(name: str, holds: Callable[[str], bool], what: str, timeout: float = 30) -> str:
    """The screen once `holds(screen)` is true (an AssertionError naming `what`, with the screen, if
    it never is): for a screen drawn in more than one write, wait for the whole of it."""
    deadline = time.time() + timeout
    shown = ""
    while time.time() < deadline:
        shown = screen(name)
        if holds(shown):
            return shown
        time.sleep(0.2)
    raise AssertionError(f"{what} never showed; the screen was:\n{shown}")


def wait_for(name: str, *texts: str, timeout: float = 30) -> str:
    """The screen once any of `texts` is on it (an AssertionError with the screen if none comes)."""
    deadline = time.time() + timeout
    shown = ""
    while time.time() < deadline:
        shown = screen(name)
        if any(text in shown for text in texts):
            return shown
        time.sleep(0.2)
    raise AssertionError(f"none of {texts!r} appeared; the screen was:\n{shown}")


def wait_gone(name: str, text: str, timeout: float = 30) -> str:
    """The screen once `text` has left it (an AssertionError with the screen if it stays)."""
    deadline = time.time() + timeout
    shown = screen(name)
    while text in shown and time.time() < deadline:
        time.sleep(0.1)
        shown = screen(name)
    if text in shown:
        raise AssertionError(f"{text!r} stayed on the screen:\n{shown}")
    return shown


def keys(name: str, *sequence: str) -> None:
    subprocess.run([*TMUX, "send-keys", "-t", name, *sequence], check=True)


@contextmanager
def terminal(command: str, status_file: Path, cwd: Path | None = None, size: tuple[int, int] = (170, 45)
             ) -> Iterator[str]:
    """Run `command` in a detached tmux session; its exit status goes to `status_file`."""
    name = f"h2i-{uuid.uuid4().hex[:8]}"
    # The terminal's size is the window's: a COLUMNS or LINES left in the environment (a test that
    # sized a console) would make the app draw at that size inside a bigger window.
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    width, height = size
    # The window keeps the size it was made with whatever clients attach (a person watching the
    # test with `tmux -L ... attach` would otherwise resize it to their own terminal): in the same
    # command that makes it, before the app inside has drawn once, its size becomes manual.
    status = f"echo $? > {status_file}.part && mv {status_file}.part {status_file}"  # whole when it appears
    subprocess.run([*TMUX, "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height),
                    *(["-c", str(cwd)] if cwd else []), f"{command}; {status}",
                    ";", "set-option", "-w", "-t", name, "window-size", "manual",
                    ";", "resize-window", "-t", name, "-x", str(width), "-y", str(height)], check=True, env=env)
    try:
        shown = window_size(name)
        assert shown == size, f"the tmux window is {shown}, not {size}"
        yield name
    finally:
        subprocess.run([*TMUX, "kill-session", "-t", name], capture_output=True)


def exit_status(status_file: Path, timeout: float = 15) -> str:
    """The command's exit status, once it has ended (the file appears whole: written aside, then renamed;
    `echo $? > file` alone made it empty for a moment, read as '' in a loaded run)."""
    deadline = time.time() + timeout
    while not status_file.exists() and time.time() < deadline:
        time.sleep(0.1)
    return status_file.read_text().strip() if status_file.exists() else "still running"
