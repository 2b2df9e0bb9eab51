"""A packed log's columns (cut out of the records with strided slices) equal the records' fields,
built whole or extended as the log grows, for every field of both logs."""

from __future__ import annotations

from conftest import CAPTURES

from inspector.capture.load import CaptureLoader
from inspector.model import FrameLog, HeaderBlockLog


def test_every_column_equals_the_field_of_every_record_whole_and_grown_in_pieces():
    session = CaptureLoader(str(CAPTURES / "grpc-concurrent.pcap")).load()
    for log in (session.frames, session.header_blocks):
        assert len(log) > 50
        records = list(log.RECORD.iter_unpack(bytes(log.buf)))
        grown = type(log)()
        size = log.RECORD.size
        for cut in (0, 1, 7, len(log) // 2, len(log)):  # the same records, added a few at a time
            grown.buf += log.buf[len(grown.buf):cut * size]
            if isinstance(grown, HeaderBlockLog):  # its length is its header lists'
                grown.headers[:] = session.header_blocks.headers[:cut]
            for k, name in enumerate(log.FIELDS):
                assert list(grown.column(name)) == [r[k] for r in records[:cut]], (type(log).__name__, name, cut)
        for k, name in enumerate(log.FIELDS):
            assert list(log.column(name)) == [r[k] for r in records], name


def test_columns_of_values_at_their_limits():
    log = FrameLog()
    log.append(2**32 - 1, 1, 2**32 - 1, 1.5e9 + 0.123456, 2**31 - 1, 255, 255, 2**24 - 1, 2**64 - 1, 7,
               -2**31, 2**31 - 1, -1, 0, -1, 2**32 - 1)
    log.append(0, 0, 1, -0.0, 0, 0, 0, 0, 0, 0, 5, -5, 2**40, -2**40, 12, 0)  # windows past 32 bits: at the limit
    records = list(log.RECORD.iter_unpack(bytes(log.buf)))
    for k, name in enumerate(FrameLog.FIELDS):
        assert list(log.column(name)) == [r[k] for r in records], name
    assert log.column("time")[0] == 1.5e9 + 0.123456 and log.column("conn_window_client")[0] == -2**31
    blocks = HeaderBlockLog()
    assert list(blocks.column("conn_index")) == []
