"""A bounded mutation loop over captures/ (issue 19): bit flips, truncation, snap lengths,
shuffled and reversed records, pcapng block damage and cut gzip streams. Every run of
`dump --format jsonl`, `dump --format text` and `rpcs -v` must exit 0 or 2, print no internal
error or traceback, and finish within a time bound. The seed is fixed: a failure is the same
input every time, and its bytes are saved under the test's tmp_path to be replayed.

Most runs call the CLI's `main` in the test process (the captures are small, so importing
Python again per run would be most of the cost); a few go through a real subprocess."""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
import random
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable

import hostile
import pytest
from conftest import CAPTURES

from inspector.cli import main

SEED = 19
MUTATIONS_PER_CAPTURE = 60
SHARDS = 8  # the loop in pieces, so a parallel run (pytest -n) spreads it over its workers
RUN_SECONDS = 10  # one command on one mutated capture (each takes well under a second)
COMMANDS = (["dump", "--format", "jsonl"], ["dump", "--format", "text"], ["rpcs", "-v"])
Mutator = Callable[[bytes, random.Random], tuple[bytes, str]]


# ---- the containers, as records -------------------------------------------------------------------


def pcap_records(data: bytes) -> tuple[bytes, list[bytes]] | None:
    """(file header, records) of a little-endian microsecond pcap; None for anything else."""
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        return None
    records, pos = [], 24
    while pos + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, pos + 8)[0]
        records.append(data[pos:pos + 16 + caplen])
        pos += 16 + caplen
    return data[:24], records


def pcapng_blocks(data: bytes) -> list[bytes] | None:
    """The blocks of a little-endian pcapng; None for anything else."""
    if data[:4] != b"\x0a\x0d\x0d\x0a" or data[8:12] != b"\x4d\x3c\x2b\x1a":
        return None
    blocks, pos = [], 0
    while pos + 12 <= len(data):
        length = struct.unpack_from("<I", data, pos + 4)[0]
        if length < 12:
            break
        blocks.append(data[pos:pos + length])
        pos += length
    return blocks


def as_pcapng(data: bytes) -> bytes | None:
    """A pcap's packets as one little-endian pcapng section (so block damage has blocks to hit)."""
    parsed = pcap_records(data)
    if parsed is None:
        return None
    header, records = parsed
    linktype = struct.unpack_from("<I", header, 20)[0]
    packets = [(r[16:], struct.unpack_from("<I", r)[0] + struct.unpack_from("<I", r, 4)[0] * 1e-6)
               for r in records]
    return hostile.pcapng_section("<", linktype=linktype, tsresol=6, packets=packets)


# ---- mutations ------------------------------------------------------------------------------------


def bit_flips(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    out = bytearray(data)
    count = rng.choice((1, 2, 8, 64))
    start = rng.choice((0, 24))  # the file header too, sometimes
    for _ in range(count):
        i = rng.randrange(start, len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out), f"{count} bit flips from byte {start}"


def truncation(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    cut = rng.randrange(1, len(data))
    return data[:cut], f"cut at byte {cut}"


def snap_length(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    parsed = pcap_records(data)
    if parsed is None:
        return bit_flips(data, rng)
    header, records = parsed
    snap = rng.choice((34, 54, 60, 68, 96, 128, 200))
    out = [header]
    for r in records:
        caplen = min(len(r) - 16, snap)
        out.append(r[:8] + struct.pack("<I", caplen) + r[12:16] + r[16:16 + caplen])
    return b"".join(out), f"snap length {snap}"


def shuffle(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    parsed = pcap_records(data)
    if parsed is None:
        return truncation(data, rng)
    header, records = parsed
    how = rng.choice(("reverse", "window", "swap", "drop", "duplicate"))
    if how == "reverse":
        records.reverse()
    elif how == "window":
        i = rng.randrange(len(records))
        window = records[i:i + 8]
        rng.shuffle(window)
        records[i:i + 8] = window
    elif how == "swap":
        i, j = rng.randrange(len(records)), rng.randrange(len(records))
        records[i], records[j] = records[j], records[i]
    elif how == "drop":
        del records[rng.randrange(len(records))]
    else:
        i = rng.randrange(len(records))
        records.insert(rng.randrange(len(records)), records[i])
    return header + b"".join(records), f"records: {how}"


def sequence_numbers(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """TCP sequence numbers zeroed or made random (Ethernet/IPv4 records only; others: bit flips)."""
    parsed = pcap_records(data)
    if parsed is None or struct.unpack_from("<I", parsed[0], 20)[0] != 1:
        return bit_flips(data, rng)
    header, records = parsed
    how = rng.choice(("zero", "random"))
    out = [header]
    for r in records:
        r = bytearray(r)
        if len(r) >= 16 + 42 and r[16 + 12:16 + 14] == b"\x08\x00":
            r[16 + 38:16 + 42] = b"\0\0\0\0" if how == "zero" else rng.getrandbits(32).to_bytes(4, "big")
        out.append(bytes(r))
    return b"".join(out), f"TCP sequence numbers: {how}"


def pcapng_damage(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    ng = data if pcapng_blocks(data) is not None else as_pcapng(data)
    blocks = pcapng_blocks(ng) if ng is not None else None
    if not blocks:
        return bit_flips(data, rng)
    how = rng.choice(("length", "tail length", "drop", "duplicate", "interface", "byte order", "type",
                      "second section"))
    i = rng.randrange(len(blocks))
    b = bytearray(blocks[i])
    if how == "length":
        struct.pack_into("<I", b, 4, rng.choice((0, 11, 13, len(b) + 4, 0xFFFF_FFFF)))
    elif how == "tail length":
        struct.pack_into("<I", b, len(b) - 4, len(b) + 8)
    elif how == "drop":
        b = bytearray()
    elif how == "duplicate":
        b = b + b
    elif how == "interface" and len(b) >= 12 and struct.unpack_from("<I", b)[0] == 6:
        struct.pack_into("<I", b, 8, rng.choice((1, 7, 0xFFFF)))
    elif how == "byte order":
        b = bytearray(blocks[0])
        b[8:12] = b"\x1a\x2b\x3c\x4d"  # a big-endian magic over little-endian fields
        i = 0
    elif how == "type":
        struct.pack_into("<I", b, 0, rng.choice((0, 5, 0x0A0D0D0A, 0x80000001)))
    else:  # the same packets again, as a second section in the other byte order
        return ng + hostile.two_section_pcapng_bytes(), "a second section appended"
    blocks[i] = bytes(b)
    return b"".join(blocks), f"pcapng block {i}: {how}"


def gzipped(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    inner, what = rng.choice((bit_flips, truncation, shuffle))(data, rng)
    packed = gzip.compress(inner, compresslevel=1)
    if rng.random() < 0.5:
        cut = rng.randrange(10, len(packed))
        return packed[:cut], f"gzip of ({what}), cut at byte {cut}"
    return packed, f"gzip of ({what})"


MUTATORS: tuple[Mutator, ...] = (bit_flips, bit_flips, truncation, snap_length, shuffle, sequence_numbers,
                                 pcapng_damage, pcapng_damage, gzipped)


# ---- running the CLI ------------------------------------------------------------------------------


class _RunTooLong(BaseException):
    """Raised by the alarm: a BaseException, so the CLI's catch-all does not turn it into a line."""


def _on_alarm(signum: int, frame: object) -> None:
    raise _RunTooLong


def run_in_process(argv: list[str]) -> tuple[int, str, float]:
    """(exit status, stderr, seconds) of the CLI's main, stdout and stderr captured."""
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(RUN_SECONDS)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(argv)
    except _RunTooLong:
        status = -1
    except SystemExit as exc:  # argparse
        status = int(exc.code or 0)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return status, err.getvalue(), time.monotonic() - started


@functools.cache
def mutated_inputs() -> list[tuple[str, str, bytes]]:
    """(name, what was done, bytes) for every mutation, the same ones every run."""
    rng = random.Random(SEED)
    sources = sorted(p for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng"))
    out = []
    for source in sources:
        data = source.read_bytes()
        for n in range(MUTATIONS_PER_CAPTURE):
            mutate = MUTATORS[n % len(MUTATORS)] if n < len(MUTATORS) else rng.choice(MUTATORS)
            damaged, what = mutate(data, rng)
            suffix = ".pcap.gz" if mutate is gzipped else source.suffix
            out.append((f"{source.stem}-{n}{suffix}", what, damaged))
    return out


def _problem(status: int, stderr: str, seconds: float) -> str | None:
    if status == -1 or seconds > RUN_SECONDS:
        return f"ran over {RUN_SECONDS} s"
    if status not in (0, 2):
        return f"exit {status}"
    if "internal error" in stderr or "Traceback" in stderr:
        return stderr.strip().splitlines()[-1]
    return None


@pytest.mark.parametrize("shard", range(SHARDS))
def test_mutated_captures_never_crash_hang_or_leave_bad_exit(tmp_path, shard):
    failures = []
    runs = 0
    for name, what, data in mutated_inputs()[shard::SHARDS]:
        path = tmp_path / name
        path.write_bytes(data)
        for command in COMMANDS:
            status, stderr, seconds = run_in_process([command[0], str(path), *command[1:]])
            runs += 1
            problem = _problem(status, stderr, seconds)
            if problem:
                failures.append(f"{' '.join(command)} {path} ({what}): {problem}")
    assert runs >= 500 // SHARDS
    assert not failures, "\n".join(failures[:20])


@pytest.mark.parametrize("index", [3, 40, 101, 150])
def test_mutated_captures_through_the_real_command(tmp_path, index):
    inputs = mutated_inputs()
    name, what, data = inputs[index % len(inputs)]
    path = tmp_path / name
    path.write_bytes(data)
    for command in COMMANDS:
        try:
            result = subprocess.run([sys.executable, "-m", "inspector", command[0], str(path), *command[1:]],
                                    capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{' '.join(command)} {path} ({what}): ran over 60 s")
        problem = _problem(result.returncode, result.stderr, 0.0)  # the timeout above bounds the time
        assert problem is None, f"{' '.join(command)} {path} ({what}): {problem}"
        if result.returncode == 2:  # bad input: exactly one line naming the file
            assert len(result.stderr.strip().splitlines()) == 1 and str(path) in result.stderr


def test_the_mutations_reach_every_kind_of_damage():
    whats = " | ".join(what for _, what, _ in mutated_inputs())
    for word in ("bit flips", "cut at byte", "snap length", "records: reverse", "TCP sequence numbers",
                 "pcapng block", "gzip of"):
        assert word in whats, word

