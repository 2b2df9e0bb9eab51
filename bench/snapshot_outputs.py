"""Write every view's output on every shipped capture into one folder, so two
checkouts can be compared byte for byte (`diff -r A B`) around a refactor.

    python bench/snapshot_outputs.py OUTDIR
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ("unary", "server-streaming", "client-streaming", "bidi-streaming", "errors", "flow-control")


def _commands(capture: Path) -> dict[str, list[str]]:
    c = str(capture)
    keylog = ["--keylog", str(ROOT / "captures/curl-tls.keys")] if "tls" in capture.name else []
    cmds = {
        "dump.txt": ["dump", c, *keylog],
        "dump.jsonl": ["dump", c, "--format", "jsonl", *keylog],
        "rpcs.txt": ["rpcs", c],
        "rpcs-v.txt": ["rpcs", c, "-v"],
        "rpcs.jsonl": ["rpcs", c, "--format", "jsonl"],
        "diagram.mmd": ["diagram", c],
        "diagram-ja.mmd": ["diagram", c, "--lang", "ja", "--window-updates"],
        "check.txt": ["check", c, "--severity", "info", *keylog],
        "check.jsonl": ["check", c, "--format", "jsonl", "--severity", "info", *keylog],
    }
    if capture.parent.name == "captures" and capture.parent.parent.name == "tutorials":
        lesson = capture.name.split(".")[0]
        if lesson in LESSONS:
            cmds["tutorial.txt"] = ["tutorial", lesson, "--headless", "--capture", c]
            cmds["tutorial-ja.txt"] = ["tutorial", lesson, "--headless", "--capture", c, "--lang", "ja"]
    return cmds


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    captures = (sorted((ROOT / "captures").glob("*.pcap*")) + sorted((ROOT / "captures/abuse").glob("*.pcap*"))
                + sorted((ROOT / "tutorials/captures").glob("*.pcap*")))
    for capture in captures:
        for name, args in _commands(capture).items():
            run = subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True, cwd=ROOT)
            target = out / f"{capture.parent.parent.name}-{capture.parent.name}-{capture.name}.{name}"
            trailer = f"\n--- exit {run.returncode}\n".encode()
            target.write_bytes(run.stdout + b"\n--- stderr ---\n" + run.stderr + trailer)
    print(f"{len(captures)} captures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
