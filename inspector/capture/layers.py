"""Link, IP and TCP headers: from a captured packet to a TCP segment.

Plain `struct` on bytes: scapy's dissectors are far too slow for a million
packets, and we need only a few fields. Link types: Ethernet (VLAN tags
stacked), Linux cooked v1 and v2, BSD loopback (NULL and LOOP), raw IP.
"""

from __future__ import annotations

import socket
import struct
from typing import NamedTuple

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


def tcp_segment(linktype: int, data: bytes) -> TcpSegment | None:
    """The TCP segment in a packet, or None for anything else (ARP, UDP, fragments...)."""
    pos, etype = _network_offset(linktype, data)
    if pos < 0:
        return None
    if etype == 0x0800:
        if len(data) < pos + 20 or data[pos] >> 4 != 4:
            return None
        ihl = (data[pos] & 0x0F) * 4
        total = _ETHERTYPE.unpack_from(data, pos + 2)[0]
        frag = _ETHERTYPE.unpack_from(data, pos + 6)[0]
        if data[pos + 9] != 6 or frag & 0x3FFF:  # not TCP, or a fragment
            return None
        src, dst = data[pos + 12:pos + 16], data[pos + 16:pos + 20]
        # total length trims Ethernet padding; 0 means TSO on the capturing host
        end = pos + total if total else len(data)
        tcp = pos + ihl
    elif etype == 0x86DD:
        if len(data) < pos + 40:
            return None
        plen = _ETHERTYPE.unpack_from(data, pos + 4)[0]
        nxt = data[pos + 6]
        src, dst = data[pos + 8:pos + 24], data[pos + 24:pos + 40]
        end = pos + 40 + plen if plen else len(data)
        tcp = pos + 40
        while nxt in _IPV6_EXTENSIONS and len(data) >= tcp + 2:
            hdr_len = (data[tcp + 1] + 2) * 4 if nxt == 51 else (data[tcp + 1] + 1) * 8
            nxt = data[tcp]
            tcp += hdr_len
        if nxt != 6:  # not TCP (fragments, 44, are not reassembled)
            return None
    else:
        return None
    if len(data) < tcp + 20:
        return None
    sport, dport, seq, ack, off, flags = _TCP.unpack_from(data, tcp)
    start = tcp + (off >> 4) * 4
    end = min(end, len(data))
    if start > end:
        return None
    return TcpSegment(src, sport, dst, dport, seq, ack, flags, start, end)
