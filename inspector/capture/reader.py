"""Reading pcap and pcapng files with scapy's raw readers.

This is the one place that opens a capture. It yields packets, remembers
where each packet's bytes lie in the file (so payloads can be read back
later instead of being kept), and says plainly when a file is not a capture
or is cut short.
"""

from __future__ import annotations

import logging
import os
import struct
from array import array
from collections.abc import Iterator
from typing import NamedTuple

from inspector.errors import CaptureError

logging.getLogger("scapy").setLevel(logging.CRITICAL)  # we report problems ourselves

import scapy.data  # noqa: E402
from scapy.error import Scapy_Exception  # noqa: E402
from scapy.utils import RawPcapNgReader, RawPcapReader  # noqa: E402

# scapy loads Wireshark's MAC-vendor table on import (12 MB); we never show vendors.
scapy.data.MANUFDB.d.clear()

MAX_PACKET = 1 << 20  # scapy cuts packets at 64 KiB by default; loopback has bigger ones
_PCAPNG_DATA_OFFSET = {6: 28, 2: 28, 3: 12}  # EPB, obsolete PB, SPB: data start in the block


class CapturedPacket(NamedTuple):
    """One packet: 1-based number, epoch time, link type, bytes."""

    number: int
    time: float
    linktype: int
    data: bytes


class CaptureReader:
    """Iterates the packets of a pcap or pcapng file."""

    def __init__(self, path: str) -> None:
        self.path = path
        if not os.path.exists(path):
            raise CaptureError(path, "no such file")
        if os.path.isdir(path):
            raise CaptureError(path, "is a directory, not a capture")
        try:
            self.size = os.path.getsize(path)
        except OSError as exc:
            raise CaptureError(path, exc.strerror or str(exc)) from None
        if self.size == 0:
            raise CaptureError(path, "empty file, not a capture")
        try:
            self._reader = RawPcapReader(path)
        except (Scapy_Exception, EOFError, struct.error):
            raise CaptureError(path, "not a pcap or pcapng capture") from None
        except OSError as exc:
            raise CaptureError(path, exc.strerror or str(exc)) from None
        self.format = "pcapng" if isinstance(self._reader, RawPcapNgReader) else "pcap"
        self.compressed = not hasattr(self._reader.f, "raw") and type(self._reader.f).__name__ == "GzipFile"
        # Where each packet's data ends in the (decompressed) file, by packet number - 1.
        self.packet_ends = array("Q")
        self.packet_lengths = array("I")
        self.cut_short: str | None = None
        self.count = 0
        self.linktypes: set[int] = set()

    def __iter__(self) -> Iterator[CapturedPacket]:
        reader = self._reader
        f = reader.f
        read = reader._read_packet  # the raw readers' documented per-packet call
        tell = f.tell
        ends, lengths = self.packet_ends, self.packet_lengths
        pcapng = self.format == "pcapng"
        if not pcapng:
            linktype = reader.linktype
            scale = 1e-9 if reader.nano else 1e-6
            self.linktypes.add(linktype)
        number = 0
        try:
            while True:
                try:
                    data, meta = read(MAX_PACKET)
                except EOFError:
                    break
                number += 1
                ends.append(tell())
                lengths.append(len(data))
                if pcapng:
                    if meta.tshigh is None:  # simple packet block: no time stamp
                        time = 0.0
                    else:
                        time = ((meta.tshigh << 32) | meta.tslow) / meta.tsresol
                    self.linktypes.add(meta.linktype)
                    yield CapturedPacket(number, time, meta.linktype, data)
                else:
                    if len(data) < meta.caplen:
                        self.cut_short = (f"cut short inside packet {number} "
                                          f"({len(data)} of {meta.caplen} bytes)")
                    yield CapturedPacket(number, meta.sec + meta.usec * scale, linktype, data)
        except (Scapy_Exception, struct.error, OSError, ValueError) as exc:
            self.cut_short = f"unreadable after packet {number} ({exc})"
        finally:
            self.count = number
            self._check_end(number)
            reader.close()

    def _check_end(self, number: int) -> None:
        if self.cut_short or self.compressed:
            return
        end = self.packet_ends[-1] if self.packet_ends else 0
        if self.format == "pcap" and not end:
            end = 24
        if self.format == "pcapng" and not number:
            return
        if end < self.size:
            self.cut_short = (f"cut short after packet {number} "
                              f"({self.size - end} trailing bytes are not a whole record)")


class CapturePayloads:
    """Reads frame payloads back from the capture file (the model stores none)."""

    def __init__(self, path: str, reader: CaptureReader) -> None:
        self.path = path
        self.format = reader.format
        self.compressed = reader.compressed
        self.ends = reader.packet_ends
        self.lengths = reader.packet_lengths
        self.flows: dict[int, tuple[object, bool]] = {}  # conn index -> (TcpFlow, client is side A)
        # conn index -> decrypted bytes (client, server): a TLS connection's plaintext is not in the file
        self.plaintext: dict[int, tuple[bytearray, bytearray]] = {}
        self._starts: dict[int, int] = {}
        self._endian = "<"
        self._file = None

    def _open(self):  # type: ignore[no-untyped-def]
        if self._file is None:
            if self.compressed:
                import gzip
                self._file = gzip.open(self.path, "rb")
            else:
                self._file = open(self.path, "rb")
            if self.format == "pcapng":
                self._file.seek(8)
                magic = self._file.read(4)
                self._endian = ">" if magic == b"\x1a\x2b\x3c\x4d" else "<"
        return self._file

    def _data_start(self, packet: int) -> int:
        start = self._starts.get(packet)
        if start is None:
            end = self.ends[packet - 1]
            if self.format == "pcap":
                start = end - self.lengths[packet - 1]
            else:
                f = self._open()
                f.seek(end - 4)
                block_len = struct.unpack(self._endian + "I", f.read(4))[0]
                f.seek(end - block_len)
                block_type = struct.unpack(self._endian + "I", f.read(4))[0]
                start = end - block_len + _PCAPNG_DATA_OFFSET.get(block_type, 28)
            self._starts[packet] = start
        return start

    def read(self, conn: int, direction, offset: int, length: int) -> bytes:  # type: ignore[no-untyped-def]
        """`length` bytes at stream `offset` of one direction of connection `conn`."""
        decrypted = self.plaintext.get(conn)
        if decrypted is not None:
            return bytes(decrypted[0 if direction == 0 else 1][offset:offset + length])
        from bisect import bisect_right

        entry = self.flows.get(conn)
        if entry is None or length <= 0:
            return b""
        flow, client_is_a = entry
        side = flow.sides[0 if (direction == 0) == client_is_a else 1]  # type: ignore[attr-defined]
        offsets = side.seg_offset
        i = bisect_right(offsets, offset) - 1
        if i < 0:
            return b""
        f = self._open()
        out = []
        want_end = offset + length
        pos = offset
        while pos < want_end and i < len(offsets):
            seg_start, seg_len = offsets[i], side.seg_length[i]
            if seg_start > pos:  # a gap: the bytes were never captured
                break
            skip = pos - seg_start
            if skip < seg_len:
                take = min(seg_len - skip, want_end - pos)
                f.seek(self._data_start(side.seg_packet[i]) + side.seg_start[i] + skip)
                out.append(f.read(take))
                pos += take
            i += 1
        return b"".join(out)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
