"""Writing what the proxy relayed as a pcapng file, with synthesised TCP/IP.

The proxy sees byte streams, not packets, so the recorder makes the packets
a capture of the client's connection would hold: a three-way handshake,
each relayed chunk as one or more segments with consistent sequence and
acknowledgement numbers, FIN and RST. tshark, Wireshark and `h2inspect open`
read the file like any capture. The recorder also remembers where each
packet's payload lies in the file, so the live model reads payloads back
from the recording instead of keeping them in memory.
"""

from __future__ import annotations

import ipaddress
import os
import struct
from array import array
from typing import BinaryIO

# Biggest payload per synthesised segment: fits an IPv4 total length (65535)
# and an IPv6 payload length with 20 bytes of TCP header to spare.
MAX_SEGMENT = 65000
LINKTYPE_RAW = 101  # raw IPv4/IPv6, no link header
FLUSH_AT = 1 << 20
PRIVATE_FILE_MODE = 0o600  # recordings and key logs hold secrets: their owner's eyes only

SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10

_SHB = struct.Struct("<IIIHHq")  # type, length, byte-order magic, version, section length
_IDB = struct.Struct("<IIHHI")  # type, length, link type, reserved, snap length
_EPB_HEAD = struct.Struct("<IIIIIII")  # type, total length, interface, ts high, ts low, caplen, len
_IPV4 = struct.Struct(">BBHHHBBH4s4s")
_IPV6 = struct.Struct(">IHBB16s16s")
_TCP = struct.Struct(">HHIIBBHHH")
_U32 = struct.Struct("<I")
DSB_TYPE = 0x0000000A  # pcapng Decryption Secrets Block
SECRETS_TLS_KEY_LOG = 0x544C534B  # "TLSK": NSS key log lines (SSLKEYLOGFILE format)
COPY_CHUNK = 1 << 20
_TRAILER = [b"\x00" * pad for pad in range(4)]


def _as_v6(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv6Address:
    if isinstance(ip, ipaddress.IPv6Address):
        return ip
    return ipaddress.IPv6Address("::ffff:" + str(ip))


class RecordedFlow:
    """The TCP state one recorded connection needs: addresses and sequence numbers."""

    __slots__ = ("src", "dst", "sport", "dport", "ipv6", "seq", "ident", "checksum_base")

    def __init__(self, client: tuple[str, int], server: tuple[str, int], isn: tuple[int, int]) -> None:
        client_ip = ipaddress.ip_address(client[0])
        server_ip = ipaddress.ip_address(server[0])
        if client_ip.version != server_ip.version:  # cannot mix in one packet: map to IPv6
            client_ip = _as_v6(client_ip)
            server_ip = _as_v6(server_ip)
        self.ipv6 = client_ip.version == 6
        self.src = client_ip.packed
        self.dst = server_ip.packed
        self.sport = client[1]
        self.dport = server[1]
        self.seq = [isn[0], isn[1]]  # next sequence number of client, server
        self.ident = 0
        # The IPv4 header checksum of every packet is this sum plus its length and id.
        words = struct.unpack(">4H", self.src + self.dst) if not self.ipv6 else (0,)
        self.checksum_base = 0x4500 + 0x4000 + 0x4006 + sum(words)


class PcapngRecorder:
    """Appends synthesised packets to a pcapng file; numbers them from 1 like tshark."""

    def __init__(self, file: BinaryIO | None, path: str | None = None) -> None:
        self.file = file  # None: number packets (and keep sequence numbers) without writing any
        self.path = path
        self.count = 0  # packets written (or buffered)
        self.data_offsets = array("Q", [0])  # by packet number: file offset of its TCP payload
        self._buf = bytearray()
        self._flushed = 0  # file offset where _buf starts
        self._closed = False
        shb_options = self._option(4, b"h2inspect proxy") + b"\x00\x00\x00\x00"
        shb_len = 28 + len(shb_options)
        self._buf += _SHB.pack(0x0A0D0D0A, shb_len, 0x1A2B3C4D, 1, 0, -1) + shb_options + \
            _U32.pack(shb_len)
        idb_options = self._option(2, b"h2inspect-proxy") + b"\x00\x00\x00\x00"
        idb_len = 20 + len(idb_options)
        self._buf += _IDB.pack(1, idb_len, LINKTYPE_RAW, 0, 0) + idb_options + _U32.pack(idb_len)
        self.header_length = len(self._buf)  # the section and interface blocks: packets start here

    @staticmethod
    def _option(code: int, value: bytes) -> bytes:
        pad = -len(value) % 4
        return struct.pack("<HH", code, len(value)) + value + b"\x00" * pad

    @classmethod
    def open(cls, path: str) -> PcapngRecorder:
        """A recorder writing a new file at `path`, readable by its owner only (it holds the
        decrypted traffic); opened for reading too, as payloads are read back from it."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        try:
            os.fchmod(fd, PRIVATE_FILE_MODE)  # a file that was already there keeps no wider mode
            return cls(os.fdopen(fd, "w+b"), path)
        except BaseException:
            os.close(fd)
            raise

    # ---- packets ---------------------------------------------------------------

    def _packet(self, flow: RecordedFlow, from_client: bool, flags: int, payload: bytes | memoryview,
                time: float, ack: bool = True) -> int:
        side = 0 if from_client else 1
        seq = flow.seq[side]
        n = len(payload)
        flow.seq[side] = (seq + n + (1 if flags & (SYN | FIN) else 0)) & 0xFFFF_FFFF
        self.count += 1
        if self.file is None:  # numbering only: nothing is written
            return self.count
        ack_no = flow.seq[1 - side] if ack else 0
        if from_client:
            src, dst, sport, dport = flow.src, flow.dst, flow.sport, flow.dport
        else:
            src, dst, sport, dport = flow.dst, flow.src, flow.dport, flow.sport
        if flow.ipv6:
            ip = _IPV6.pack(6 << 28, 20 + n, 6, 64, src, dst)
        else:
            ident = flow.ident = (flow.ident + 1) & 0xFFFF
            total = flow.checksum_base + 40 + n + ident
            total = (total & 0xFFFF) + (total >> 16)
            total = (total & 0xFFFF) + (total >> 16)
            ip = _IPV4.pack(0x45, 0, 40 + n, ident, 0x4000, 64, 6, ~total & 0xFFFF, src, dst)
        caplen = len(ip) + 20 + n
        pad = -caplen % 4
        block = 28 + caplen + pad + 4
        micros = int(time * 1_000_000)
        buf = self._buf
        buf += _EPB_HEAD.pack(6, block, 0, micros >> 32, micros & 0xFFFF_FFFF, caplen, caplen)
        buf += ip
        buf += _TCP.pack(sport, dport, seq, ack_no, 5 << 4, flags, 65535, 0, 0)
        self.data_offsets.append(self._flushed + len(buf))
        if n:
            buf += payload
        buf += _TRAILER[pad]
        buf += _U32.pack(block)
        if len(buf) >= FLUSH_AT:
            self.flush()
        return self.count

    def handshake(self, flow: RecordedFlow, time: float) -> None:
        """SYN, SYN-ACK, ACK: the connection opens."""
        self._packet(flow, True, SYN, b"", time, ack=False)
        self._packet(flow, False, SYN | ACK, b"", time)
        self._packet(flow, True, ACK, b"", time)

    def data(self, flow: RecordedFlow, from_client: bool, data: bytes, time: float) -> list[tuple[int, int, int]]:
        """Segments carrying `data`; returns (packet number, start in data, length) per segment."""
        if len(data) <= MAX_SEGMENT:
            return [(self._packet(flow, from_client, PSH | ACK, data, time), 0, len(data))]
        view = memoryview(data)
        out = []
        for start in range(0, len(data), MAX_SEGMENT):
            piece = view[start:start + MAX_SEGMENT]
            out.append((self._packet(flow, from_client, PSH | ACK if start + MAX_SEGMENT >= len(data)
                                     else ACK, piece, time), start, len(piece)))
        view.release()
        return out

    def fin(self, flow: RecordedFlow, from_client: bool, time: float) -> int:
        """One side closed its direction."""
        return self._packet(flow, from_client, FIN | ACK, b"", time)

    def rst(self, flow: RecordedFlow, from_client: bool, time: float) -> int:
        """One side reset the connection."""
        return self._packet(flow, from_client, RST | ACK, b"", time)

    # ---- reading back and closing --------------------------------------------------

    def read(self, file_offset: int, length: int) -> bytes:
        """Bytes at `file_offset` of the recording, buffered or already written."""
        if self._closed:
            if self.path is None:
                return b""  # a temporary recording is gone once closed
            with open(self.path, "rb") as f:
                f.seek(file_offset)
                return f.read(length)
        if file_offset >= self._flushed:
            start = file_offset - self._flushed
            return bytes(self._buf[start:start + length])
        end = file_offset + length
        assert self.file is not None, "only a recording that writes has flushed bytes"
        if end <= self._flushed:
            return os.pread(self.file.fileno(), length, file_offset)
        head = os.pread(self.file.fileno(), self._flushed - file_offset, file_offset)
        return head + bytes(self._buf[:end - self._flushed])

    def flush(self) -> None:
        """Write what is buffered to the file."""
        if self._buf and not self._closed and self.file is not None:
            self.file.write(self._buf)
            self.file.flush()
            self._flushed += len(self._buf)
            self._buf = bytearray()

    def close(self, secrets: bytes | None = None) -> None:
        """Flush and close the file; with `secrets` (a TLS key log), put them in a Decryption
        Secrets Block before the first packet, where Wireshark and tshark look for them."""
        if not self._closed:
            self.flush()
            self._closed = True
            if self.file is not None:
                if secrets and self.path is not None:
                    self._insert_secrets(secrets)
                self.file.close()

    def _insert_secrets(self, secrets: bytes) -> None:
        """Copy the recording with the secrets block after its header, then put the copy in its
        place (a reader of packets needs the secrets before them, and they are only known now)."""
        assert self.file is not None and self.path is not None
        folder = os.path.dirname(os.path.abspath(self.path))
        tmp = os.path.join(folder, f".{os.path.basename(self.path)}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as out:
                src = self.file.fileno()
                out.write(os.pread(src, self.header_length, 0))
                out.write(secrets_block(secrets))
                at = self.header_length
                while chunk := os.pread(src, COPY_CHUNK, at):
                    out.write(chunk)
                    at += len(chunk)
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


def secrets_block(secrets: bytes) -> bytes:
    """A pcapng Decryption Secrets Block holding a TLS key log."""
    pad = -len(secrets) % 4
    total = 20 + len(secrets) + pad
    return struct.pack("<IIII", DSB_TYPE, total, SECRETS_TLS_KEY_LOG, len(secrets)) + secrets + \
        b"\x00" * pad + _U32.pack(total)
