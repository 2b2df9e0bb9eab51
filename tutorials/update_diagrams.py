"""Regenerate the sequence diagrams in the lessons from real captures.

Each diagram in a lesson sits between two markers; the first one holds the
command that draws it (`output:` markers quote a command's text the same way):

    <!-- diagram: h2inspect diagram tutorials/captures/unary.pcapng --stream 1 -->
    ```mermaid
    ...
    ```
    <!-- /diagram -->

    python tutorials/update_diagrams.py            # rewrite every diagram from its capture
    python tutorials/update_diagrams.py --check    # exit 1 if any committed diagram differs
    python tutorials/update_diagrams.py --record   # first re-record tutorials/captures/ live

--record runs `h2inspect tutorial LESSON --headless --record` for every lesson
(the demo server, the proxy and a grpcio client on loopback), so the captures,
and then the diagrams, come from what the tutorial really shows.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BLOCK = re.compile(r"(<!-- (?P<kind>diagram|output): (?P<command>h2inspect [^>]*?) -->\n)(?P<body>.*?)"
                   r"(<!-- /(?P=kind) -->)", re.S)
FENCE = {"diagram": "mermaid", "output": "text"}
LESSONS = ("unary", "server-streaming", "client-streaming", "bidi-streaming", "errors", "flow-control", "hpack",
           "multiplexing")


def run_h2inspect(command: str) -> str:
    """Run an `h2inspect ...` command line from the repository root; its stdout."""
    argv = shlex.split(command)
    proc = subprocess.run([sys.executable, "-m", "inspector", *argv[1:]], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    if proc.returncode != 0:
        raise SystemExit(f"update_diagrams: `{command}` failed: {proc.stderr.strip()}")
    return proc.stdout


def render(text: str) -> str:
    """The lesson with every diagram (and quoted output) block made afresh."""
    return BLOCK.sub(lambda m: f"{m.group(1)}```{FENCE[m['kind']]}\n{run_h2inspect(m['command'])}```\n"
                               f"{m.group(5)}", text)


def lessons() -> list[Path]:
    return sorted(HERE.glob("*/*.md"))


def record() -> None:
    for lesson in LESSONS:
        out = HERE / "captures" / f"{lesson}.pcapng"
        run_h2inspect(f"h2inspect tutorial {lesson} --headless --record {out.relative_to(ROOT)}")
        print(f"recorded {out.relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report stale diagrams, change nothing")
    parser.add_argument("--record", action="store_true", help="re-record tutorials/captures/ first")
    args = parser.parse_args()
    if args.record:
        record()
    stale = []
    for path in lessons():
        text = path.read_text(encoding="utf-8")
        fresh = render(text)
        if fresh != text:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(fresh, encoding="utf-8")
    verb = "stale" if args.check else "updated"
    for path in stale:
        print(f"{verb}: {path}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
