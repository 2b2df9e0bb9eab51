"""tshark as the reference decoder: what it reads from a capture, frame by frame."""

from __future__ import annotations

import json
import subprocess
import sys

FrameKey = tuple[int, int, int, int, int]  # packet, stream_id, type_code, flags, length


def tshark_frames(path: str, ports: list[int] | tuple[int, ...] = (),
                  extra: list[str] | None = None) -> list[FrameKey]:
    """HTTP/2 frames as tshark reads them, in capture order."""
    # Reassemble segments that were captured out of order, as h2inspect does: tshark 4.0
    # leaves this off by default and then loses the rest of a TLS stream. A loopback
    # capture on a busy 2-core machine writes packets out of order now and then, which
    # is what made test_a_capture_of_both_tls_legs_decodes_with_the_proxys_key_log flaky.
    cmd = ["tshark", "-n", "-r", path, "-o", "tcp.reassemble_out_of_order:TRUE"]
    for port in ports:
        cmd += ["-d", f"tcp.port=={port},http2"]
    cmd += (extra or []) + ["-T", "fields", "-e", "frame.number", "-e", "http2.streamid",
                            "-e", "http2.type", "-e", "http2.flags", "-e", "http2.length",
                            "-E", "occurrence=a", "-E", "separator=/t"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    frames: list[FrameKey] = []
    for line in out.splitlines():
        number, sids, types, flags, lengths = (line.split("\t") + [""] * 5)[:5]
        if not types:
            continue
        for sid, t, fl, ln in zip(sids.split(","), types.split(","), flags.split(","), lengths.split(","),
                                  strict=True):
            frames.append((int(number), int(sid), int(t), int(fl, 16), int(ln)))
    return frames


def h2inspect_frames(path: str, ports: list[int] | tuple[int, ...] = (), keylog: str | None = None) -> list[FrameKey]:
    """The same five fields from `h2inspect dump --format jsonl`, run as a real command."""
    cmd = [sys.executable, "-m", "inspector", "dump", path, "--format", "jsonl"]
    if keylog:
        cmd += ["--keylog", keylog]
    for port in ports:
        cmd += ["--port", str(port)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    return [(r["packet"], r["stream_id"], r["type_code"], r["flags"], r["length"]) for r in rows]
