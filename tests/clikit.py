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


def h2inspect_here(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI's main in this process: exit status, stdout and stderr as the command gives them."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            status = exc.code if isinstance(exc.code, int) else 2
    return subprocess.CompletedProcess(["h2inspect", *args], status, out.getvalue(), err.getvalue())
