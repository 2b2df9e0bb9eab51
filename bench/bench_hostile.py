#!/usr/bin/env python3
"""Every hostile input of issue 19 at full size: wall time and peak memory of each command.

Builds each input with tests/hostile.py (the generators the tests use, small there), then runs
`dump --format jsonl`, `dump --format text`, `rpcs -v` and `diagram` on it, one fresh process
each, and prints seconds and peak RSS (the child's own, from wait4) per run. A run over
--timeout is killed and shown as TIMEOUT, so a hang costs a minute, not the afternoon. Each
input is deleted once measured (the gRPC stream is 800 MB on disk).
Targets (issue 19): every run under 20 s and 400 MB; the 16 MiB frame in 1448-byte segments
within 2x of 64 KB segments; 80,000 calls with unique request ids within 1.5x of the memory
without them.

The TUI (`h2inspect open`) runs in a real terminal (tmux, 170x45) on the inputs that froze it
(TUI_INPUTS): the seconds until its first screen (the status line naming the capture), whether
it was still decoding then, how long `q` pressed at that moment takes to end it, and in a
second run the seconds until it has loaded. Target: the first screen within a second.
`--tui-only` skips the commands, `--no-tui` the TUI.

    python bench/bench_hostile.py [--only NAME]... [--scale 0.1] [--timeout 60] [--list] [--no-tui]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

import hostile  # noqa: E402
from tmuxkit import keys, screen, terminal  # noqa: E402

# The inputs `open` froze on (issue 19), and the two-section pcapng it crashed on.
TUI_INPUTS = ("ff-after-preface", "settings-churn", "settings-churn-300k", "two-section-pcapng")

COMMANDS = {
    "jsonl": ["dump", "--format", "jsonl"],
    "text": ["dump", "--format", "text"],
    "rpcs-v": ["rpcs", "-v"],
    "diagram": ["diagram"],
}


class Run:
    """One command on one input: wall seconds, CPU seconds (user + system, steadier on a shared
    machine), peak RSS in MB, exit status (None: killed at the timeout)."""

    def __init__(self, seconds: float, cpu: float, peak_mb: float, status: int | None, last_error: str) -> None:
        self.seconds, self.cpu, self.peak_mb, self.status, self.last_error = seconds, cpu, peak_mb, status, last_error

    def cell(self) -> str:
        if self.status is None:
            return f"TIMEOUT ({self.peak_mb:.0f} MB+)"
        mark = "" if self.status == 0 else f" [{self.status}]"
        return f"{self.seconds:5.1f}s {self.cpu:5.1f}c {self.peak_mb:4.0f}MB{mark}"


def measure(capture: str, command: list[str], timeout: float) -> Run:
    """Run `python -m inspector COMMAND CAPTURE` in its own process group; wait4 gives its own peak."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "inspector", command[0], capture, *command[1:]],
                                stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        # Only the tail: a flood of findings can make stderr hundreds of MB, and reading it all
        # would grow this process, whose pages every later child starts with (fork, then exec).
        size = err.seek(0, os.SEEK_END)
        err.seek(max(0, size - 65536))
        lines = err.read().decode(errors="replace").strip().splitlines()
    peak_mb = usage.ru_maxrss / 1024  # KB on Linux
    cpu = usage.ru_utime + usage.ru_stime
    if killed.is_set():
        return Run(seconds, cpu, peak_mb, None, "")
    last = next((line for line in reversed(lines) if "internal error" in line), lines[-1] if lines else "")
    return Run(seconds, cpu, peak_mb, proc.returncode, last[:160])


class TuiRun:
    """`open` in tmux: seconds to the first screen, whether it was still loading then, seconds from
    q to the end of the process, and (second run) seconds until loaded; None where it never came."""

    def __init__(self, first: float | None, loading: bool, quit_after: float | None, loaded: float | None,
                 status: str) -> None:
        self.first, self.loading, self.quit_after, self.loaded, self.status = first, loading, quit_after, loaded, status

    def cells(self) -> str:
        def sec(value: float | None) -> str:
            return f"{value:6.2f} s" if value is not None else "   never"
        state = "loading" if self.loading else "loaded "
        return (f"first screen {sec(self.first)} ({state})  q to exit {sec(self.quit_after)} [{self.status}]"
                f"  loaded {sec(self.loaded)}")


def _poll(name: str, done: Path, wanted: str, timeout: float) -> tuple[float | None, str]:
    """Poll the terminal every 20 ms until `wanted` is on it: (when, the screen), or (None, the screen)."""
    deadline = time.perf_counter() + timeout
    shown = ""
    while time.perf_counter() < deadline and not done.exists():
        shown = screen(name)
        if wanted in shown:
            return time.perf_counter(), shown
        time.sleep(0.02)
    return None, shown


def _ended(done: Path, timeout: float) -> float | None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if done.exists() and done.read_text().strip():
            return time.perf_counter()
        time.sleep(0.02)
    return None


def measure_tui(capture: str, timeout: float) -> TuiRun:
    """Two runs of `open CAPTURE` in tmux: q at the first screen; then left to load, and q."""
    command = (f"PYTHONPATH={ROOT} {sys.executable} -m inspector open {capture}")
    marker = f" {os.path.basename(capture)} · "  # the status line, once the app has drawn
    with tempfile.TemporaryDirectory(prefix="h2inspect-tui-") as work:
        done = Path(work) / "status"
        with terminal(command, done, size=(170, 45)) as name:
            started = time.perf_counter()
            when, shown = _poll(name, done, marker, timeout)
            first = when - started if when is not None else None
            loading = " · loading" in (shown.splitlines() or [""])[0]
            keys(name, "q")
            pressed = time.perf_counter()
            ended = _ended(done, timeout)
            quit_after = ended - pressed if ended is not None else None
            status = done.read_text().strip() if done.exists() else "running"
        done2 = Path(work) / "status2"
        with terminal(command, done2, size=(170, 45)) as name:
            started = time.perf_counter()
            when, _ = _poll(name, done2, " · loaded", timeout)
            loaded = when - started if when is not None else None
            keys(name, "q")
            _ended(done2, timeout)
    return TuiRun(first, loading, quit_after, loaded, status)


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def build_in_child(name: str, stem: str, scale: float) -> str:
    """Build one input in its own process: a builder that grows this one would inflate every later
    run's peak, since a forked child starts with its parent's resident pages counted."""
    code = "import sys, hostile; print(hostile.build(sys.argv[1], sys.argv[2], float(sys.argv[3])))"
    done = subprocess.run([sys.executable, "-c", code, name, stem, repr(scale)], capture_output=True,
                          text=True, check=True, cwd=ROOT / "tests")
    return done.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", metavar="NAME", choices=sorted(hostile.BUILDERS),
                        help="only this input (repeatable); --list names them")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply each input's size (default 1)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a run is killed")
    parser.add_argument("--commands", default=",".join(COMMANDS),
                        help=f"comma-separated, of {', '.join(COMMANDS)}")
    parser.add_argument("--dir", help="where to build the inputs (default: a temporary directory)")
    parser.add_argument("--list", action="store_true", help="name every input and its full size, then stop")
    parser.add_argument("--no-tui", action="store_true", help="leave out the TUI in tmux")
    parser.add_argument("--tui-only", action="store_true", help="only the TUI in tmux, on TUI_INPUTS")
    args = parser.parse_args()
    if args.list:
        for name, spec in hostile.BUILDERS.items():
            print(f"{name:24} {spec.build.__name__}({', '.join(f'{k}={v}' for k, v in spec.full.items())})")
        return 0
    commands = [c for c in args.commands.split(",") if c]
    unknown = [c for c in commands if c not in COMMANDS]
    if unknown:
        parser.error(f"unknown command(s): {', '.join(unknown)}")
    names = args.only or list(hostile.BUILDERS)
    if args.tui_only:
        names = [n for n in names if n in TUI_INPUTS]
        commands = []
    tui = not args.no_tui and shutil.which("tmux") is not None
    print(f"# {platform.node()}: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"scale {args.scale}, timeout {args.timeout:.0f} s; [2]: exit status 2 (diagram: no gRPC call)")
    print(f"# load average at the start: {load_average()}; each cell: wall s, CPU s (c), peak RSS")
    if commands:
        print(f"{'input':24} {'size':>9} {'build':>7}  " + "  ".join(f"{c:>24}" for c in commands))
    with tempfile.TemporaryDirectory(prefix="h2inspect-hostile-", dir=args.dir) as work:
        notes, tui_lines = [], []
        for name in names:
            started = time.perf_counter()
            path = build_in_child(name, os.path.join(work, name), args.scale)
            built = time.perf_counter() - started
            size = os.path.getsize(path)
            cells = []
            for command in commands:
                run = measure(path, COMMANDS[command], args.timeout)
                cells.append(f"{run.cell():>24}")
                if "internal error" in run.last_error or run.status not in (0, 2, None):
                    notes.append(f"{name} {command}: {run.last_error}")
            if tui and name in TUI_INPUTS:
                tui_lines.append(f"{name:24} {size / 1e6:7.1f}MB  {measure_tui(path, args.timeout).cells()}"
                                 f"  (load {load_average()})")
            os.unlink(path)
            if commands:
                print(f"{name:24} {size / 1e6:7.1f}MB {built:6.1f}s  " + "  ".join(cells), flush=True)
        for note in notes:
            print(f"  {note}")
        if tui_lines:
            print("# open in tmux (170x45): first screen = the status line drawn; q pressed then")
            for line in tui_lines:
                print(line, flush=True)
    print(f"# load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
