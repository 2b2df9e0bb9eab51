"""Running h2inspect from a test: the real command in a new process, or its `main` here.

`h2inspect` is what a user runs (a new interpreter: the exit status, stderr, the imports);
`h2inspect_here` calls the CLI's `main` in the test process with the same arguments and
gives back the same kind of result, without the second or so a new interpreter spends
importing. Use it for the many runs that check what a command says about an input; keep
the real command for what only a process shows (memory, signals, pipes, a hang)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from inspector.cli import main

ROOT = Path(__file__).resolve().parent.parent


def h2inspect(*args: str, stdin: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command, run from this checkout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if stdin is None:
        return subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True, text=True,
                              env=env, timeout=timeout)
    done = subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True, input=stdin,
                          env=env, timeout=timeout)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def h2inspect_here(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI's main in this process: exit status, stdout and stderr as the command gives them.
    `stdin`: what a pipe on standard input carries (written by a thread as the command reads it,
    as `h2inspect(..., stdin=...)` gives it to the real command)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        if stdin is not None:
            stack.enter_context(_stdin_pipe(stdin))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        try:
            status = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            status = exc.code if isinstance(exc.code, int) else 2
    return subprocess.CompletedProcess(["h2inspect", *args], status, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _stdin_pipe(data: bytes) -> Iterator[None]:
    """sys.stdin is the read end of a pipe that a thread fills with `data`, then closes."""
    read_end, write_end = os.pipe()

    def write() -> None:
        try:
            with open(write_end, "wb") as pipe:
                pipe.write(data)
        except BrokenPipeError:  # the command stopped reading
            pass

    writer = threading.Thread(target=write, daemon=True)
    saved = sys.stdin
    with open(read_end, "rb") as pipe:
        sys.stdin = io.TextIOWrapper(pipe)
        writer.start()
        try:
            yield
        finally:
            sys.stdin = saved
    writer.join()
