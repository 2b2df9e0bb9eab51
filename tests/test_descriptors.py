"""A capture's file descriptors are let go: by the commands when they are done, by a session closed
or dropped. A test process that reads hundreds of captures (`pytest -n 0`) once ran past 1024 open
descriptors and failed in select(); these read /proc/self/fd, what the kernel says is open."""

from __future__ import annotations

import gc
import gzip
import os
from pathlib import Path

import pytest
from clikit import h2inspect_here
from conftest import CAPTURES

from inspector.capture.load import CaptureLoader


@pytest.fixture
def unary(tmp_path: Path) -> Path:
    """A copy of grpc-unary.pcap of this test's own: another test in this process may still hold
    the shipped file open (a session not yet collected), which is not this test's to count."""
    copy = tmp_path / "grpc-unary.pcap"
    copy.write_bytes((CAPTURES / "grpc-unary.pcap").read_bytes())
    return copy


def _open_on(path: Path) -> int:
    """How many of this process's descriptors point at `path`."""
    target = str(path.resolve())
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == target:
                count += 1
        except OSError:
            continue  # the descriptor listdir itself used, closed since
    return count


@pytest.mark.parametrize("args", [
    ["dump"], ["dump", "--format", "jsonl"], ["rpcs", "-v"], ["rpcs", "--format", "jsonl"],
    ["check", "--severity", "info"], ["diagram"],
], ids=lambda a: " ".join(a))
def test_a_command_leaves_no_descriptor_on_its_capture(args, unary):
    done = h2inspect_here(args[0], str(unary), *args[1:])
    assert done.returncode == 0 and done.stdout, done.stderr
    assert _open_on(unary) == 0


def test_export_leaves_no_descriptor_on_its_capture(tmp_path, unary):
    done = h2inspect_here("export", str(unary), "--har", str(tmp_path / "unary.har"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "unary.har").stat().st_size > 0
    assert _open_on(unary) == 0


def test_a_closed_session_lets_its_capture_go_and_opens_it_again_when_read(unary):
    with CaptureLoader(str(unary)) as loader:
        session = loader.load()
        data = [i for i in range(len(session.frames)) if session.frames[i].type_code == 0]
        first = session.frame_payload(session.frames[data[0]])
        assert first and _open_on(unary) == 1
    assert _open_on(unary) == 0
    assert session.frame_payload(session.frames[data[0]]) == first  # read back through a new descriptor
    session.close()
    assert _open_on(unary) == 0


def test_a_session_dropped_without_close_lets_its_capture_go(unary):
    """A library caller or a test that never closes: the descriptor goes with the session."""
    session = CaptureLoader(str(unary)).load()
    assert any(session.frame_payload(session.frames[i]) for i in range(len(session.frames)))
    assert _open_on(unary) == 1
    del session
    gc.collect()  # the session and its call log refer to each other: a cycle, freed by the collector
    assert _open_on(unary) == 0


def test_a_compressed_capture_lets_its_file_and_inflated_copy_go(tmp_path, unary):
    gz = tmp_path / "unary.pcap.gz"
    gz.write_bytes(gzip.compress(unary.read_bytes()))
    loader = CaptureLoader(str(gz))
    session = loader.load()
    assert any(session.frame_payload(session.frames[i]) for i in range(len(session.frames)))
    inflated = loader.reader.inflated
    assert inflated is not None and _open_on(gz) == 1  # the inflated copy is an unlinked temporary file
    loader.close()
    assert _open_on(gz) == 0 and inflated.read_at(0, 4) == b""
