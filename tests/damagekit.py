"""Damage a real capture the way real capturing goes wrong: packets lost, cut, duplicated with other
bytes, a file cut short. Classic pcap in, classic pcap out; each packet's bytes are kept as recorded."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

ETHERNET = 1
_IP_START = 14  # an Ethernet header (tcpdump on lo writes Ethernet)


@dataclass
class Record:
    """One packet of a pcap: its time, its bytes as saved, and its length on the wire."""

    seconds: int
    micros: int
    data: bytes
    wire: int

    @property
    def tcp_payload(self) -> bytes:
        """The TCP payload of an Ethernet/IPv4 packet (b"" for anything else)."""
        ip = self.data[_IP_START:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            return b""
        ihl = (ip[0] & 15) * 4
        total = int.from_bytes(ip[2:4], "big")
        tcp = ip[ihl:total]
        return tcp[(tcp[12] >> 4) * 4:]

    @property
    def source_port(self) -> int:
        """The TCP source port of an Ethernet/IPv4 packet."""
        ihl = (self.data[_IP_START] & 15) * 4
        return int.from_bytes(self.data[_IP_START + ihl:_IP_START + ihl + 2], "big")

    def _tcp_field(self, at: int, delta: int) -> Record:
        """The same packet with the 32-bit TCP field at `at` (4: sequence, 8: acknowledgement) moved by `delta`."""
        ihl = (self.data[_IP_START] & 15) * 4
        pos = _IP_START + ihl + at
        data = bytearray(self.data)
        value = (int.from_bytes(data[pos:pos + 4], "big") + delta) & 0xFFFF_FFFF
        data[pos:pos + 4] = value.to_bytes(4, "big")
        return Record(self.seconds, self.micros, bytes(data), self.wire)

    def with_seq(self, delta: int) -> Record:
        return self._tcp_field(4, delta)

    def with_ack(self, delta: int) -> Record:
        return self._tcp_field(8, delta)

    def with_ip_header_length(self, words: int) -> Record:
        """The same packet with another IPv4 header length (in 32-bit words), as a damaged capture has."""
        data = bytearray(self.data)
        data[_IP_START] = data[_IP_START] & 0xF0 | words
        return Record(self.seconds, self.micros, bytes(data), self.wire)

    def with_payload_byte(self, index: int, value: int) -> Record:
        """The same packet with one byte of its TCP payload changed (checksums are not checked)."""
        start = len(self.data) - len(self.tcp_payload)
        data = bytearray(self.data)
        data[start + index] = value
        return Record(self.seconds, self.micros, bytes(data), self.wire)


@dataclass
class Pcap:
    """A classic pcap, read whole: its header fields and its records, to change and write again."""

    header: bytes
    records: list[Record]

    @classmethod
    def read(cls, path: str | Path) -> Pcap:
        raw = Path(path).read_bytes()
        assert raw[:4] == b"\xd4\xc3\xb2\xa1", f"{path}: not a little-endian microsecond pcap"
        records, pos = [], 24
        while pos < len(raw):
            sec, usec, saved, wire = struct.unpack_from("<IIII", raw, pos)
            records.append(Record(sec, usec, raw[pos + 16:pos + 16 + saved], wire))
            pos += 16 + saved
        return cls(raw[:24], records)

    @property
    def linktype(self) -> int:
        return struct.unpack_from("<I", self.header, 20)[0]

    def with_linktype(self, linktype: int) -> Pcap:
        return Pcap(self.header[:20] + struct.pack("<I", linktype), list(self.records))

    def data_packets(self) -> list[int]:
        """0-based indexes of the packets that carry TCP payload."""
        return [i for i, r in enumerate(self.records) if r.tcp_payload]

    def server_ports(self) -> tuple[int, ...]:
        """The ports that answered a SYN (SYN and ACK set), in order: the servers'."""
        ports: list[int] = []
        for r in self.records:
            ihl = (r.data[_IP_START] & 15) * 4
            flags = r.data[_IP_START + ihl + 13] if len(r.data) > _IP_START + ihl + 13 else 0
            if flags & 0x12 == 0x12 and r.source_port not in ports:
                ports.append(r.source_port)
        return tuple(ports)

    def next_data_from(self, port: int, start: int) -> int:
        """The 1-based number of the first packet at or after index `start` with payload from `port`."""
        return next(i + 1 for i in range(start, len(self.records))
                    if self.records[i].tcp_payload and self.records[i].source_port == port)

    def file_bytes(self) -> bytes:
        return self.header + b"".join(struct.pack("<IIII", r.seconds, r.micros, len(r.data), r.wire) + r.data
                                      for r in self.records)

    def write(self, path: str | Path, cut: int = 0) -> str:
        """Write it (`cut`: that many bytes short, as a capture stopped while writing a record)."""
        data = self.file_bytes()
        Path(path).write_bytes(data[:len(data) - cut] if cut else data)
        return str(path)
