"""tshark is the oracle: for every capture in captures/, the frames `dump --format
jsonl` prints equal tshark's reading, frame for frame (packet, stream id, type,
flags, length). tshark runs here on the capture itself; the stored reading
beside each capture must agree with it too."""

from __future__ import annotations

import pytest
from conftest import CAPTURES, load_manifest
from oracle import h2inspect_frames, tshark_frames

pytestmark = pytest.mark.peers  # real peers or tools (tshark, nghttpd, curl, grpcio, tmux): see conftest.py

ENTRIES = load_manifest()


def keylog_args(entry: dict) -> list[str]:
    return ["-o", f"tls.keylog_file:{CAPTURES / entry['keylog']}"] if entry.get("keylog") else []


def keylog_path(entry: dict) -> str | None:
    return str(CAPTURES / entry["keylog"]) if entry.get("keylog") else None


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_dump_equals_tshark(entry):
    path = str(CAPTURES / entry["file"])
    reference = tshark_frames(path, extra=entry["tshark_args"] + keylog_args(entry))
    assert len(reference) == entry["frames"] > 0
    assert h2inspect_frames(path, keylog=keylog_path(entry)) == reference


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_stored_reading_is_what_tshark_says(entry):
    path = CAPTURES / entry["file"]
    stored = (CAPTURES / (path.stem + ".tshark.tsv")).read_text().splitlines()
    frames = []
    for line in stored:
        number, sids, types, flags, lengths = line.split("\t")
        for sid, t, fl, ln in zip(sids.split(","), types.split(","), flags.split(","), lengths.split(","),
                                  strict=True):
            frames.append((int(number), int(sid), int(t), int(fl, 16), int(ln)))
    assert frames == tshark_frames(str(path), extra=entry["tshark_args"] + keylog_args(entry))


def test_the_sample_captures_cover_what_the_issue_names():
    files = {e["file"] for e in ENTRIES}
    assert {"curl-h2c-prior-knowledge.pcap", "nghttp-server-push.pcap", "curl-h2c-upgrade.pcap",
            "h2load-three-connections.pcap", "curl-ipv6.pcapng", "nghttp-any-sll2.pcap"} <= files
