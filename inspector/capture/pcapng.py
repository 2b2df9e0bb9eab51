"""pcapng blocks, section by section (draft-ietf-opsawg-pcapng).

Each Section Header Block starts a section with its own byte order and its own
interfaces: interface 0 of the second section is that section's first
Interface Description Block, not the file's. tshark reads files like that
(`mergecap` of captures from a big- and a little-endian host makes them);
scapy 2.8 keeps one interface list for the whole file, so this module reads
the blocks itself with `struct`, and hands back where each packet's bytes lie
so they can be read back later.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import BinaryIO, NamedTuple, Protocol

SHB_MAGIC = b"\x0a\x0d\x0d\x0a"
_BYTE_ORDER = {b"\x1a\x2b\x3c\x4d": ">", b"\x4d\x3c\x2b\x1a": "<"}
_IDB, _PB, _SPB, _EPB = 1, 2, 3, 6
_DSB, _SECRETS_TLS_KEY_LOG = 0x0A, 0x544C534B  # Decryption Secrets Block holding a TLS key log
_OPT_TSRESOL, _OPT_TSOFFSET = 9, 14
MAX_BLOCK = 1 << 26  # a block bigger than this is damage, not a packet


class ForwardFile(Protocol):
    """What the block reader needs of a file: read forwards and say where it is."""

    def read(self, size: int, /) -> bytes: ...  # noqa: D102

    def tell(self) -> int: ...  # noqa: D102


class PcapngDamage(Exception):
    """A block that cannot be read: where the readable part of the file ends."""


class Interface(NamedTuple):
    """One Interface Description Block: link type, snap length, ticks per second, offset."""

    linktype: int
    snaplen: int
    resolution: int  # if_tsresol as ticks per second (default: microseconds)
    offset: int  # if_tsoffset: seconds added to every time stamp


class PcapngPacket(NamedTuple):
    """One packet block: time, link type, captured bytes, length on the wire, where the bytes start."""

    time: float
    linktype: int
    data: bytes
    original_length: int
    data_start: int  # position of data in the file


class _Section:
    __slots__ = ("order", "interfaces")

    def __init__(self, order: str) -> None:
        self.order = order
        self.interfaces: list[Interface] = []


class PcapngBlocks:
    """Iterates the packets of a pcapng file that starts at `f`'s position 0, SHB magic read."""

    def __init__(self, f: BinaryIO | ForwardFile) -> None:
        self.f = f
        self.sections = 0
        # Called with the key log text of each Decryption Secrets Block, as it is met (before the
        # packets it decrypts, where writers put it).
        self.on_secrets: Callable[[bytes], None] = lambda secrets: None
        self._section = self._read_section_header(b"")

    def _read_section_header(self, already: bytes) -> _Section:
        """The rest of an SHB whose type is read, and `already` the bytes read after it."""
        head = already + self.f.read(8 - len(already))
        order = _BYTE_ORDER.get(head[4:8])
        if len(head) < 8 or order is None:
            raise PcapngDamage("a section header without a byte-order magic")
        length = struct.unpack(order + "I", head[:4])[0]
        if length < 28 or length % 4 or length > MAX_BLOCK:
            raise PcapngDamage(f"a section header block of {length} bytes")
        rest = self.f.read(length - 12)
        if len(rest) < length - 12:
            raise PcapngDamage("a section header block cut short")
        major = struct.unpack_from(order + "H", rest)[0]
        if major != 1:
            raise PcapngDamage(f"a section of pcapng version {major}, not 1")
        if struct.unpack_from(order + "I", rest, len(rest) - 4)[0] != length:
            raise PcapngDamage("a section header block whose two lengths differ")
        self.sections += 1
        return _Section(order)

    def next_packet(self) -> PcapngPacket | None:
        """The next packet block, or None at the end of the file."""
        f = self.f
        while True:
            start = f.tell()
            head = f.read(8)
            if not head:
                return None
            if len(head) < 8:
                raise PcapngDamage(f"{len(head)} trailing bytes are not a whole block")
            if head[:4] == SHB_MAGIC:  # the same in both byte orders
                self._section = self._read_section_header(head[4:])
                continue
            order = self._section.order
            block_type, length = struct.unpack(order + "II", head)
            if length < 12 or length % 4 or length > MAX_BLOCK:
                raise PcapngDamage(f"a block of {length} bytes (type {block_type:#x})")
            body = f.read(length - 8)
            if len(body) < length - 8:
                raise PcapngDamage(f"a block cut short ({len(body) + 8} of {length} bytes)")
            if struct.unpack_from(order + "I", body, length - 12)[0] != length:
                raise PcapngDamage(f"a block whose two lengths differ (type {block_type:#x})")
            if block_type == _EPB:
                packet = self._packet(body, order, start, 20, struct.unpack_from(order + "IIIII", body))
            elif block_type == _PB:
                iface, _drops, high, low, caplen, wirelen = struct.unpack_from(order + "HHIIII", body)
                packet = self._packet(body, order, start, 20, (iface, high, low, caplen, wirelen))
            elif block_type == _SPB:
                packet = self._simple_packet(body, order, start)
            elif block_type == _IDB:
                self._section.interfaces.append(self._interface(body, order))
                continue
            elif block_type == _DSB and len(body) >= 12:
                kind, size = struct.unpack_from(order + "II", body)
                if kind == _SECRETS_TLS_KEY_LOG and 8 + size <= len(body) - 4:
                    self.on_secrets(body[8:8 + size])
                continue
            else:
                continue  # name resolution, statistics, custom blocks, decryption secrets
            if packet is not None:
                return packet

    def _interface(self, body: bytes, order: str) -> Interface:
        if len(body) < 12:
            raise PcapngDamage("an interface description block too short for its fields")
        linktype, snaplen = struct.unpack_from(order + "HxxI", body)
        resolution, offset = 1_000_000, 0
        for code, value in _options(body, 8, len(body) - 4, order):
            if code == _OPT_TSRESOL and len(value) == 1:
                exponent = value[0] & 0x7F
                resolution = 2 ** exponent if value[0] & 0x80 else 10 ** exponent
            elif code == _OPT_TSOFFSET and len(value) == 8:
                offset = struct.unpack(order + "q", value)[0]
        return Interface(linktype, snaplen, resolution, offset)

    def _lookup(self, iface: int) -> Interface:
        interfaces = self._section.interfaces
        if iface >= len(interfaces):
            raise PcapngDamage(f"a packet on interface {iface}, which its section does not describe "
                               f"({len(interfaces)} described)")
        return interfaces[iface]

    def _packet(self, body: bytes, order: str, start: int, head: int,
                fields: tuple[int, int, int, int, int]) -> PcapngPacket:
        iface, high, low, caplen, wirelen = fields
        if head + caplen > len(body) - 4:
            raise PcapngDamage(f"a packet block whose {caplen} captured bytes overrun the block")
        info = self._lookup(iface)
        time = ((high << 32) | low) / info.resolution
        if info.offset:
            time += info.offset
        return PcapngPacket(time, info.linktype, body[head:head + caplen], wirelen, start + 8 + head)

    def _simple_packet(self, body: bytes, order: str, start: int) -> PcapngPacket:
        info = self._lookup(0)
        wirelen = struct.unpack_from(order + "I", body)[0]
        room = len(body) - 8
        caplen = min(wirelen, info.snaplen or room, room)
        return PcapngPacket(0.0, info.linktype, body[4:4 + caplen], wirelen, start + 12)


def _options(body: bytes, pos: int, end: int, order: str) -> list[tuple[int, bytes]]:
    """(code, value) of each option in body[pos:end], stopping at opt_endofopt or the end."""
    out = []
    while pos + 4 <= end:
        code, length = struct.unpack_from(order + "HH", body, pos)
        if code == 0:
            break
        out.append((code, body[pos + 4:pos + 4 + length]))
        pos += 4 + length + (-length % 4)
    return out
