"""Reading pcap and pcapng files, plain or gzip-compressed.

This is the one place that opens a capture. It yields packets, remembers
where each packet's bytes lie in the file (so payloads can be read back
later instead of being kept), and says plainly when a file is not a capture
or is cut short. The containers are read with `struct`: scapy's readers are
slow per packet, keep one set of interfaces for every pcapng section, and do
not say where a packet's bytes are.
"""

from __future__ import annotations

import os
import struct
import weakref
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator
from typing import BinaryIO, NamedTuple

from inspector.capture.inflate import InflatedCapture
from inspector.capture.live import LiveInput
from inspector.capture.pcapng import SHB_MAGIC, PcapngBlocks, PcapngDamage
from inspector.errors import CaptureError
from inspector.flows import TcpFlow
from inspector.model import Direction
from inspector.proxy.spool import PayloadSpool

MAX_PACKET = 1 << 24  # a pcap record longer than this is damage (loopback packets reach 256 KiB)
_PCAP_MAGIC = {  # magic -> (byte order, seconds per fraction unit)
    b"\xa1\xb2\xc3\xd4": (">", 1e-6), b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9), b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
}
_GZIP_MAGIC = b"\x1f\x8b"


class CapturedPacket(NamedTuple):
    """One packet: 1-based number, epoch time, link type, captured bytes, length on the wire."""

    number: int
    time: float
    linktype: int
    data: bytes
    original_length: int


class CaptureReader:
    """Iterates the packets of a pcap or pcapng file (gzip-compressed or not)."""

    def __init__(self, path: str) -> None:
        self.path = path
        if not os.path.exists(path):
            raise CaptureError(path, "no such file")
        if os.path.isdir(path):
            raise CaptureError(path, "is a directory, not a capture")
        try:
            self.size = os.path.getsize(path)
            with open(path, "rb") as f:
                start = f.read(4)
        except OSError as exc:
            raise CaptureError(path, exc.strerror or str(exc)) from None
        if self.size == 0:
            raise CaptureError(path, "empty file, not a capture")
        self.compressed = start.startswith(_GZIP_MAGIC)
        self.inflated: InflatedCapture | None = None
        self.live: LiveInput | None = None
        self._file: BinaryIO | InflatedCapture | LiveInput
        if self.compressed:
            self._file = self.inflated = InflatedCapture(path)
            start = self._file.read(4)
        else:
            self._file = open(path, "rb")  # noqa: SIM115 (closed when the iteration ends)
            self._file.read(4)
        self._container(start)

    @classmethod
    def streaming(cls, source: LiveInput, name: str) -> CaptureReader:
        """A reader of a capture still arriving (a pipe, a file being written): it never seeks."""
        self = cls.__new__(cls)
        self.path = name
        self.size = 0
        self.compressed = False
        self.inflated = None
        self.live = source
        self._file = source
        start = source.read(4)
        if not start:
            raise CaptureError(name, "empty input, not a capture")
        if start.startswith(_GZIP_MAGIC):
            raise CaptureError(name, "a gzip-compressed capture cannot be read as it arrives "
                               "(pipe it through gunzip first)")
        self._container(start)
        return self

    def _container(self, start: bytes) -> None:
        """Read the file header whose first four bytes are `start`."""
        path = self.path
        if start == SHB_MAGIC:
            self.format = "pcapng"
            try:
                self._blocks = PcapngBlocks(self._file)
            except PcapngDamage:
                raise CaptureError(path, "not a pcap or pcapng capture (its first section header "
                                   "is damaged)") from None
        elif start in _PCAP_MAGIC:
            self.format = "pcap"
            self._order, self._scale = _PCAP_MAGIC[start]
            header = self._file.read(20)
            if len(header) < 20:
                raise CaptureError(path, "not a pcap or pcapng capture (the file header is cut short)")
            # The upper bits of the link-type field carry FCS information (pcap-savefile(5)).
            self._linktype = struct.unpack(self._order + "I", header[16:20])[0] & 0x03FF_FFFF
        else:
            self._file.close()
            if self.compressed and self.inflated is not None and self.inflated.cut_short:
                raise CaptureError(path, f"not a readable capture: {self.inflated.cut_short}")
            raise CaptureError(path, "not a pcap or pcapng capture")
        # Where each packet's data ends and starts in the (inflated) file, by packet number - 1.
        self.packet_ends = array("Q")
        self.packet_starts = array("Q")
        self.cut_short: str | None = None
        self.count = 0
        self.linktypes: set[int] = set()

    def on_secrets(self, callback: Callable[[bytes], None]) -> None:
        """Have `callback` called with the TLS key log of each Decryption Secrets Block (pcapng)."""
        if self.format == "pcapng":
            self._blocks.on_secrets = callback

    def __iter__(self) -> Iterator[CapturedPacket]:
        number = 0
        try:
            packets = self._pcapng_packets() if self.format == "pcapng" else self._pcap_packets()
            for number, packet in enumerate(packets, 1):  # noqa: B007 (number is read in finally)
                yield packet
        except PcapngDamage as exc:
            self.cut_short = f"unreadable after packet {number} ({exc})"
        except OSError as exc:
            self.cut_short = f"unreadable after packet {number} ({exc.strerror or exc})"
        finally:
            self.count = number
            if self.inflated is not None and self.inflated.cut_short:
                where = self.cut_short or f"cut short after packet {number}"
                self.cut_short = f"{where}: {self.inflated.cut_short}"
            if not self.compressed:
                self._file.close()

    def _pcap_packets(self) -> Iterator[CapturedPacket]:
        read, tell = self._file.read, self._file.tell
        header = struct.Struct(self._order + "IIII")
        unpack = header.unpack
        scale, linktype = self._scale, self._linktype
        ends, starts = self.packet_ends, self.packet_starts
        self.linktypes.add(linktype)
        number = 0
        while True:
            head = read(16)
            if len(head) < 16:
                if head:
                    self.cut_short = (f"cut short after packet {number} "
                                      f"({len(head)} trailing bytes are not a whole record)")
                return
            sec, frac, caplen, wirelen = unpack(head)
            if caplen > MAX_PACKET:
                self.cut_short = (f"unreadable after packet {number} (a record of {caplen} bytes, "
                                  f"more than any packet)")
                return
            data = read(caplen)
            number += 1
            if len(data) < caplen:
                self.cut_short = f"cut short inside packet {number} ({len(data)} of {caplen} bytes)"
                wirelen -= caplen - len(data)  # what the file lost is said once, not as a snap length
            end = tell()
            ends.append(end)
            starts.append(end - len(data))
            yield CapturedPacket(number, sec + frac * scale, linktype, data, wirelen)
            if self.cut_short:
                return

    def _pcapng_packets(self) -> Iterator[CapturedPacket]:
        next_packet = self._blocks.next_packet
        ends, starts = self.packet_ends, self.packet_starts
        seen = self.linktypes
        number = 0
        while True:
            packet = next_packet()
            if packet is None:
                return
            number += 1
            time, linktype, data, wirelen, start = packet
            seen.add(linktype)
            starts.append(start)
            ends.append(start + len(data))
            yield CapturedPacket(number, time, linktype, data, wirelen)

    def close(self) -> None:
        """Release the file (and a compressed capture's inflated copy)."""
        self._file.close()


class CapturePayloads:
    """Reads frame payloads back from the capture file (the model stores none)."""

    def __init__(self, path: str, reader: CaptureReader) -> None:
        self.path = path
        self.format = reader.format
        self.compressed = reader.compressed
        self._starts = reader.packet_starts  # where each packet's data starts, by number - 1
        self._inflated = reader.inflated
        self.flows: dict[int, tuple[TcpFlow, bool]] = {}  # conn_index -> (TcpFlow, client is side A)
        # conn index -> decrypted bytes (client, server): a TLS connection's plaintext is not in the file
        self.plaintext: dict[int, tuple[bytearray, bytearray]] = {}
        self._fd: int | None = None
        # A raw descriptor has no finalizer of its own: a session dropped without close() (a test,
        # a library caller) must not keep its capture open for the life of the process.
        self._closer: weakref.finalize | None = None

    def _read_at(self, position: int, size: int) -> bytes:
        if self._inflated is not None:
            return self._inflated.read_at(position, size)
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
            self._closer = weakref.finalize(self, os.close, self._fd)
        return os.pread(self._fd, size, position)

    def _read_packet(self, packet: int, start: int, size: int) -> bytes:
        """`size` bytes from `start` in the data of packet number `packet`."""
        return self._read_at(self._starts[packet - 1] + start, size)

    def read(self, conn_index: int, direction: Direction, offset: int, length: int) -> bytes:
        """`length` bytes at stream `offset` of one direction of connection `conn_index`."""
        decrypted = self.plaintext.get(conn_index)
        if decrypted is not None:
            return bytes(decrypted[0 if direction == 0 else 1][offset:offset + length])
        entry = self.flows.get(conn_index)
        if entry is None or length <= 0:
            return b""
        flow, client_is_a = entry
        side = flow.sides[0 if (direction == 0) == client_is_a else 1]
        offsets = side.seg_offset
        i = bisect_right(offsets, offset) - 1
        if i < 0:
            return b""
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
                out.append(self._read_packet(side.seg_packet[i], side.seg_start[i] + skip, take))
                pos += take
            i += 1
        return b"".join(out)

    def close(self) -> None:
        """Let go of the capture: the descriptor payloads are read through (opened again if a
        payload is read after) and a compressed capture's inflated copy (gone for good)."""
        if self._closer is not None:
            self._closer()
            self._closer = None
        self._fd = None
        if self._inflated is not None:
            self._inflated.close()


class SpooledPayloads(CapturePayloads):
    """Payloads of a capture that cannot be read again (a pipe): each packet's data is kept
    in the proxy's spool as it passes (the newest in memory, the rest in a ring file), so
    memory stays flat however long the capture runs."""

    def __init__(self, path: str, reader: CaptureReader, spool: PayloadSpool | None = None) -> None:
        super().__init__(path, reader)
        self._reader = reader
        self.spool = spool or PayloadSpool()
        self.keep = self.spool.keep  # (packet number, data), called for every packet read

    def _read_packet(self, packet: int, start: int, size: int) -> bytes:
        return self.spool.read(packet, start, size)

    def forget(self, ends: dict[tuple[int, int], int], finished: set[int]) -> None:
        """A bounded history dropped frames (see `LivePayloads.forget`): the rows of the flows'
        maps before where each direction's last dropped frame ended (all of them for the closed
        connections in `finished`), and the spool's index of the packets no kept row names.
        Payloads come from the spool, so the reader's own index of where packets lie in the
        stream is not needed either."""
        for conn_index in finished:
            entry = self.flows.get(conn_index)
            if entry is not None:
                for side in entry[0].sides:
                    side.forget_all()
        for (conn_index, d), offset in ends.items():
            entry = self.flows.get(conn_index)
            if entry is not None:
                flow, client_is_a = entry
                flow.sides[0 if (d == 0) == client_is_a else 1].forget_before(offset)
        firsts = [p for flow, _ in self.flows.values() for side in flow.sides
                  if (p := side.first_packet()) is not None]
        if firsts:
            self.spool.forget_before(min(firsts))
        del self._reader.packet_starts[:]
        del self._reader.packet_ends[:]

    def close(self) -> None:
        """Let go of the spool's file."""
        self.spool.close()
