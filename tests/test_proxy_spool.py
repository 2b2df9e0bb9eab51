"""The payload spool: what the relay keeps for reading back without --record."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.proxy.spool import BUFFER, PayloadSpool


def test_payloads_read_back_from_buffer_and_file_and_gaps_in_packet_numbers():
    spool = PayloadSpool(limit=8 * BUFFER)
    pieces = {1: b"a" * 10, 3: os.urandom(BUFFER - 5), 4: os.urandom(3 * BUFFER), 7: b"tail"}
    for packet, piece in pieces.items():
        spool.keep(packet, piece)
    for packet, piece in pieces.items():
        assert spool.read(packet, 0, len(piece)) == piece
        assert spool.read(packet, 2, min(5, len(piece) - 2)) == piece[2:7]
    assert spool.read(2, 0, 4) == b"" and spool.read(99, 0, 4) == b""  # never kept
    assert spool.flushed > 0 and spool.written - spool.flushed == 4  # the tail still in the buffer


def test_the_ring_keeps_the_newest_bytes_and_says_nothing_of_the_overwritten():
    spool = PayloadSpool(limit=3 * BUFFER)
    blocks = [os.urandom(BUFFER // 2 + 7) for _ in range(20)]
    for packet, block in enumerate(blocks, 1):
        spool.keep(packet, block)
    newest = [p for p in range(1, 21) if spool.read(p, 0, len(blocks[p - 1]))]
    assert newest == list(range(newest[0], 21)) and 4 <= len(newest) <= 7
    for p in newest:
        assert spool.read(p, 0, len(blocks[p - 1])) == blocks[p - 1]  # across the ring's end too
    assert spool.read(1, 0, 10) == b""


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3 * BUFFER), min_size=1, max_size=12), st.integers(1, 6))
def test_any_sizes_any_ring(sizes, ring_buffers):
    spool = PayloadSpool(limit=ring_buffers * BUFFER)
    data = [os.urandom(n) for n in sizes]
    for packet, piece in enumerate(data, 1):
        spool.keep(packet, piece)
    for packet, piece in enumerate(data, 1):
        got = spool.read(packet, 0, len(piece))
        start = sum(len(p) for p in data[:packet - 1])
        if start >= spool.written - spool.limit:
            assert got == piece
        else:
            assert got == b""
