"""Link, IP and TCP headers: from a captured packet to a TCP segment.

Plain `struct` on bytes: scapy's dissectors are far too slow for a million
packets, and we need only a few fields. Link types: Ethernet (VLAN tags
stacked), Linux cooked v1 and v2, BSD loopback (NULL and LOOP), raw IP.
"""

from __future__ import annotations

import socket
import struct
from typing import NamedTuple

from inspector.capture.damage import MALFORMED_IP
from inspector.capture.fragments import Fragment

# LINKTYPE_* values from the tcpdump.org registry
ETHERNET = 1
NULL = 0
RAW = 101
RAW_OPENBSD = 14  # DLT_RAW on some systems
RAW_ALT = 12
LINUX_SLL = 113
LOOP = 108
LINUX_SLL2 = 276
IPV4 = 228
IPV6 = 229

SUPPORTED_LINKTYPES = {
    ETHERNET: "Ethernet", NULL: "BSD loopback", LOOP: "OpenBSD loopback", RAW: "raw IP",
    RAW_ALT: "raw IP", RAW_OPENBSD: "raw IP", LINUX_SLL: "Linux cooked v1",
    LINUX_SLL2: "Linux cooked v2", IPV4: "raw IPv4", IPV6: "raw IPv6",
}

_VLAN_TYPES = (0x8100, 0x88A8, 0x9100)
_IPV6_EXTENSIONS = (0, 43, 60, 51)  # hop-by-hop, routing, destination options, AH
_IPV6_FRAGMENT = 44
_TCP = struct.Struct(">HHIIBB")
_ETHERTYPE = struct.Struct(">H")

SYN, FIN, RST, ACK = 0x02, 0x01, 0x04, 0x10


class TcpSegment(NamedTuple):
    """The parts of a TCP segment that reassembly needs."""

    src: bytes  # packed IP address
    sport: int
    dst: bytes
    dport: int
    seq: int
    ack: int
    flags: int
    payload_start: int  # where the TCP payload starts in the packet data
    payload_end: int


def address(ip: bytes, port: int) -> str:
    """ "ip:port", with brackets for IPv6."""
    if len(ip) == 4:
        return f"{socket.inet_ntop(socket.AF_INET, ip)}:{port}"
    return f"[{socket.inet_ntop(socket.AF_INET6, ip)}]:{port}"


def _network_offset(linktype: int, data: bytes) -> tuple[int, int]:
    """(offset of the IP header, ethertype-like protocol) for a link type; (-1, 0) if not IP."""
    if linktype == ETHERNET:
        if len(data) < 14:
            return -1, 0
        pos = 12
        etype = _ETHERTYPE.unpack_from(data, pos)[0]
        while etype in _VLAN_TYPES and len(data) >= pos + 6:
            pos += 4
            etype = _ETHERTYPE.unpack_from(data, pos)[0]
        return pos + 2, etype
    if linktype == LINUX_SLL:
        if len(data) < 16:
            return -1, 0
        return 16, _ETHERTYPE.unpack_from(data, 14)[0]
    if linktype == LINUX_SLL2:
        if len(data) < 20:
            return -1, 0
        return 20, _ETHERTYPE.unpack_from(data, 0)[0]
    if linktype in (NULL, LOOP):
        if len(data) < 4:
            return -1, 0
        family = struct.unpack_from(">I" if linktype == LOOP else "<I", data)[0]
        if family > 0xFFFF:  # NULL is host byte order: the writer may differ from us
            family = struct.unpack_from(">I", data)[0]
        if family == 2:
            return 4, 0x0800
        if family in (10, 24, 28, 30):  # AF_INET6 on Linux, BSDs, macOS
            return 4, 0x86DD
        return -1, 0
    if linktype in (RAW, RAW_ALT, RAW_OPENBSD, IPV4, IPV6):
        if not data:
            return -1, 0
        version = data[0] >> 4
        return 0, 0x0800 if version == 4 else 0x86DD if version == 6 else 0
    return -1, 0


# Why `dissect` found no TCP segment, when that is not damage (ARP, UDP, ...).
NOT_IP = 1  # the link layer says it carries something else (or is too short to say)
NOT_TCP = 2  # IP, not TCP
CUT_HEADERS = 3  # TCP, but the packet ends inside the IP or TCP header


class SkippedPacket(NamedTuple):
    """A packet that holds TCP but cannot be read as a segment: the damage, for `CaptureDamage`."""

    rule: str  # a capture.* rule id from inspector.capture.damage
    detail: str  # what kind of header or fragment
    example: str  # this packet's numbers
    lost: int  # bytes of it that will not be decoded


def _malformed(what: str, example: str, lost: int) -> SkippedPacket:
    return SkippedPacket(MALFORMED_IP, what, example, lost)


def tcp_segment(linktype: int, data: bytes) -> TcpSegment | None:
    """The TCP segment in a packet, or None for anything else (ARP, UDP, fragments...)."""
    found = dissect(linktype, data)
    return found if type(found) is TcpSegment else None


def dissect(linktype: int, data: bytes) -> TcpSegment | Fragment | SkippedPacket | int:
    """The TCP segment in a packet, or a fragment of one; else why not: NOT_IP, NOT_TCP,
    CUT_HEADERS, or the damage."""
    pos, etype = _network_offset(linktype, data)
    if pos < 0:
        return NOT_IP
    if etype == 0x0800:
        if len(data) < pos + 20:
            return CUT_HEADERS if len(data) > pos + 9 and data[pos + 9] == 6 else NOT_IP
        if data[pos] >> 4 != 4:
            return NOT_IP  # an ethertype that lies (or a wrong link type): nothing to say per packet
        ihl = (data[pos] & 0x0F) * 4
        total = _ETHERTYPE.unpack_from(data, pos + 2)[0]
        frag = _ETHERTYPE.unpack_from(data, pos + 6)[0]
        if data[pos + 9] != 6:
            return NOT_TCP
        if ihl < 20 or (total and total < ihl):
            return _malformed("an IPv4 header", f"header length {ihl}, total length {total}",
                              max(0, len(data) - pos))
        src, dst = data[pos + 12:pos + 16], data[pos + 16:pos + 20]
        if frag & 0x3FFF:  # more fragments, or an offset: one piece of a TCP segment
            ident = _ETHERTYPE.unpack_from(data, pos + 4)[0]
            return Fragment((4, src, dst, 6, ident), src, dst, (frag & 0x1FFF) * 8, bool(frag & 0x2000),
                            pos + ihl, min(pos + total, len(data)) if total else len(data))
        # total length trims Ethernet padding; 0 means TSO on the capturing host
        end = pos + total if total else len(data)
        tcp = pos + ihl
    elif etype == 0x86DD:
        if len(data) < pos + 40:
            return CUT_HEADERS if len(data) > pos + 6 and data[pos + 6] == 6 else NOT_IP
        if data[pos] >> 4 != 6:
            return NOT_IP
        plen = _ETHERTYPE.unpack_from(data, pos + 4)[0]
        nxt = data[pos + 6]
        src, dst = data[pos + 8:pos + 24], data[pos + 24:pos + 40]
        end = pos + 40 + plen if plen else len(data)
        tcp = pos + 40
        while len(data) >= tcp + 8 and (nxt in _IPV6_EXTENSIONS or nxt == _IPV6_FRAGMENT):
            if nxt == _IPV6_FRAGMENT:
                offset_flags = _ETHERTYPE.unpack_from(data, tcp + 2)[0]
                if offset_flags & 0xFFF9 and data[tcp] == 6:  # not an atomic fragment (RFC 6946)
                    ident = int.from_bytes(data[tcp + 4:tcp + 8], "big")
                    return Fragment((6, src, dst, 6, ident), src, dst, offset_flags & 0xFFF8,
                                    bool(offset_flags & 1), tcp + 8, min(end, len(data)))
                hdr_len = 8
            else:
                hdr_len = (data[tcp + 1] + 2) * 4 if nxt == 51 else (data[tcp + 1] + 1) * 8
            nxt = data[tcp]
            tcp += hdr_len
        if nxt != 6:
            return NOT_TCP
    else:
        return NOT_IP
    return _tcp(src, dst, data, tcp, end)


def tcp_in_datagram(src: bytes, dst: bytes, payload: bytes) -> TcpSegment | SkippedPacket | int:
    """The TCP segment that a reassembled IP datagram's payload holds."""
    return _tcp(src, dst, payload, 0, len(payload))


def _tcp(src: bytes, dst: bytes, data: bytes, tcp: int, end: int) -> TcpSegment | SkippedPacket | int:
    if len(data) < tcp + 20:
        return CUT_HEADERS
    sport, dport, seq, ack, off, flags = _TCP.unpack_from(data, tcp)
    start = tcp + (off >> 4) * 4
    end = min(end, len(data))
    if off >> 4 < 5:
        return _malformed("a TCP header", f"data offset {off >> 4}, less than its 5 fixed words",
                          max(0, end - tcp - 20))
    if start > end:
        return CUT_HEADERS if end == len(data) else _malformed(
            "a TCP header", f"{(off >> 4) * 4} header bytes, more than the IP packet holds", 0)
    return TcpSegment(src, sport, dst, dport, seq, ack, flags, start, end)
